CREATE SCHEMA IF NOT EXISTS qr;

-- The entities qr-generate knows, kept from entity.registered / updated /
-- deregistered events (never written in another schema, never read from
-- registry tables on the hot path). The sweep and bulk issuance select from it.
CREATE TABLE qr.entities (
    credit_code   text        COLLATE "C" PRIMARY KEY,
    name          text        NOT NULL,
    entity_type   text        NOT NULL,
    district_code text        NOT NULL DEFAULT '',
    township_code text        NOT NULL DEFAULT '',
    industry_code text        NOT NULL DEFAULT '',
    status        text        NOT NULL DEFAULT 'active',
    version       int         NOT NULL DEFAULT 0, -- the registry's version of the last event applied
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX entities_inactive ON qr.entities (credit_code) WHERE status <> 'active';

-- One code per entity. Other functions (scan-resolve) read token,
-- credit_code and status through qr's published read functions
-- (docs/architecture.md), never this table. Entity fields are copied for
-- statistics and batch selection.
CREATE TABLE qr.codes (
    -- Byte-order ("C") collation: tokens and credit codes are ASCII, and
    -- comparing them byte-wise makes the two unique indexes markedly
    -- cheaper to maintain during a 1.5 M-code bulk issuance.
    token              text        COLLATE "C" PRIMARY KEY,
    credit_code        text        COLLATE "C" NOT NULL UNIQUE,
    entity_name        text        NOT NULL,
    entity_type        text        NOT NULL,
    district_code      text        NOT NULL DEFAULT '',
    township_code      text        NOT NULL DEFAULT '',
    industry_code      text        NOT NULL DEFAULT '',
    status             text        NOT NULL CHECK (status IN ('pending','active','rejected','invalid')),
    source             text        NOT NULL DEFAULT 'event' CHECK (source IN ('event','batch','bulk')),
    issued_at          timestamptz NOT NULL,          -- when the code was created (pending or active)
    activated_at       timestamptz,                   -- when it first became active
    reviewed_by        text        NOT NULL DEFAULT '',
    reviewed_at        timestamptz,
    reject_reason      text        NOT NULL DEFAULT '',
    invalidated_at     timestamptz,
    invalidated_by     text        NOT NULL DEFAULT '',
    invalidate_reason  text        NOT NULL DEFAULT '',
    version            int         NOT NULL DEFAULT 1,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Few secondary indexes: each one slows bulk issuance. Batch selections
-- are by district (and industry); the review queue is small (partial index);
-- statistics range over issued_at.
CREATE INDEX codes_district ON qr.codes (district_code, industry_code);
CREATE INDEX codes_not_active ON qr.codes (status, issued_at) WHERE status <> 'active';
CREATE INDEX codes_issued ON qr.codes (issued_at);

-- Operation log (FP-25): every issue, review, download, invalidate and
-- re-activate, searchable by time, operator, action, result, code.
CREATE TABLE qr.oplog (
    id            bigserial   PRIMARY KEY,
    at            timestamptz NOT NULL,
    operator_id   text        NOT NULL DEFAULT '',
    operator      text        NOT NULL, -- username (name), or "system" for events and the sweep
    action        text        NOT NULL CHECK (action IN ('issue','review','download','invalidate','reactivate')),
    token         text        NOT NULL DEFAULT '',
    credit_code   text        NOT NULL DEFAULT '',
    district_code text        NOT NULL DEFAULT '', -- for data-scope filtering
    township_code text        NOT NULL DEFAULT '',
    result        text        NOT NULL CHECK (result IN ('success','failure')),
    detail        text        NOT NULL DEFAULT ''
);
CREATE INDEX oplog_at ON qr.oplog (at DESC);
CREATE INDEX oplog_action ON qr.oplog (action, at DESC);
CREATE INDEX oplog_operator ON qr.oplog (operator, at DESC);
CREATE INDEX oplog_code ON qr.oplog (credit_code, at DESC);
CREATE INDEX oplog_token ON qr.oplog (token, at DESC) WHERE token <> '';

-- Download counters per code, format and day (FP-50 "download counts per document").
CREATE TABLE qr.downloads (
    day    date   NOT NULL,
    token  text   NOT NULL,
    format text   NOT NULL CHECK (format IN ('png','svg','poster_a4','poster_a5','zip')),
    count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, format, token)
);
