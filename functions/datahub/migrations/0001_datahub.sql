-- The datahub schema, owned by functions/datahub: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS datahub;

-- A generated data interface (FP-95): a dataset, the fields chosen from
-- what the creator may read, their filters, and the creator's data scope
-- and unmasking right frozen at creation (the interface serves what its
-- creator could see then, never more). The access key is shown once; only
-- its SHA-256 is kept, with a short prefix to name it in lists and logs.
CREATE TABLE datahub.interfaces (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text        NOT NULL CHECK (name <> ''),
    dataset        text        NOT NULL,
    fields         text[]      NOT NULL,
    filter         text        NOT NULL DEFAULT '',
    scope          jsonb       NOT NULL,
    unmask         boolean     NOT NULL DEFAULT false,
    owner_id       text        NOT NULL,
    owner_name     text        NOT NULL DEFAULT '',
    dept_id        text        NOT NULL DEFAULT '',
    key_prefix     text        NOT NULL,
    key_hash       bytea       NOT NULL UNIQUE,
    rate_per_min   int         NOT NULL CHECK (rate_per_min > 0),
    quota_per_day  int         NOT NULL CHECK (quota_per_day > 0),
    status         text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at     timestamptz NOT NULL,
    rotated_at     timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX interfaces_owner ON datahub.interfaces (owner_id, id DESC);

-- Every call of a generated interface, answered or refused.
CREATE TABLE datahub.access_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interface_id bigint,
    key_prefix   text        NOT NULL DEFAULT '',
    dataset      text        NOT NULL DEFAULT '',
    query        text        NOT NULL DEFAULT '',
    status       int         NOT NULL,
    rows         int         NOT NULL DEFAULT 0,
    duration_us  bigint      NOT NULL DEFAULT 0,
    client_ip    text        NOT NULL DEFAULT '',
    message      text        NOT NULL DEFAULT '',
    at           timestamptz NOT NULL
);
CREATE INDEX access_log_interface ON datahub.access_log (interface_id, at DESC);
CREATE INDEX access_log_at ON datahub.access_log (at DESC);
