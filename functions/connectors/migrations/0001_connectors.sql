-- The connectors schema, owned by functions/connectors (数据对接): the state
-- of each connector to an outside system (cursor, health), its runs, the
-- interaction log of every request, and what arrived or was sent. Only
-- connectors writes here; others read it only through published functions.
CREATE SCHEMA IF NOT EXISTS connectors;

-- One row per connector: the built-in systems (FP-14/15/16/19/20/21) and
-- each external database an administrator configured (FP-13, "db-<id>").
-- cursor is the source's own position (a version, an id, a JSON of
-- per-stream ids), advanced in the same transaction as the rows it covers,
-- so a crash resumes exactly after the last committed page.
CREATE TABLE connectors.state (
    connector     text PRIMARY KEY,
    cursor        text        NOT NULL DEFAULT '',
    last_run_id   bigint,
    last_run_at   timestamptz,
    last_status   text        NOT NULL DEFAULT '',
    last_error    text        NOT NULL DEFAULT '',
    health        text        NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown','ok','degraded','error')),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE connectors.runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector     text        NOT NULL,
    trigger       text        NOT NULL,            -- schedule, manual, test
    status        text        NOT NULL CHECK (status IN ('running','done','failed','interrupted')),
    cursor_from   text        NOT NULL,
    cursor_to     text        NOT NULL,
    pages         int         NOT NULL DEFAULT 0,
    rows_read     int         NOT NULL DEFAULT 0,
    rows_written  int         NOT NULL DEFAULT 0,
    rows_rejected int         NOT NULL DEFAULT 0,
    retries       int         NOT NULL DEFAULT 0,
    resumed       boolean     NOT NULL DEFAULT false, -- the previous run died mid-way
    error         text        NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX runs_connector ON connectors.runs (connector, id DESC);

-- The interaction log: every request to the remote side, with what came
-- back. url never carries a secret (signatures and keys go in headers or
-- bodies, which are not logged).
CREATE TABLE connectors.log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connector   text        NOT NULL,
    run_id      bigint,
    at          timestamptz NOT NULL,
    method      text        NOT NULL,
    url         text        NOT NULL,
    status      int         NOT NULL DEFAULT 0, -- 0: no answer (network, timeout)
    rows        int         NOT NULL DEFAULT 0,
    duration_ms int         NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT ''
);
CREATE INDEX log_connector ON connectors.log (connector, id DESC);

-- What each connector holds: a pulled record (mapped, personal data
-- masked) or a record sent back, keyed by the source's id. content_hash
-- is the hash of the source's fields, so an unchanged record is never
-- written (nor announced) again.
CREATE TABLE connectors.items (
    connector    text        NOT NULL,
    ext_id       text        NOT NULL,
    credit_code  text        NOT NULL,
    kind         text        NOT NULL,
    content_hash text        NOT NULL,
    payload      jsonb       NOT NULL,
    run_id       bigint      NOT NULL,
    received_at  timestamptz NOT NULL,
    PRIMARY KEY (connector, ext_id)
);

-- External databases an administrator configured for exchange (FP-13).
-- The password is kept in dsn and never answered (the API masks it).
CREATE TABLE connectors.databases (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE CHECK (name <> ''),
    kind        text        NOT NULL CHECK (kind IN ('postgres','mysql','mongodb')),
    dsn         text        NOT NULL,
    table_name  text        NOT NULL,
    enabled     boolean     NOT NULL DEFAULT true,
    health      text        NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown','ok','error')),
    latency_ms  int,
    checked_at  timestamptz,
    check_error text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
