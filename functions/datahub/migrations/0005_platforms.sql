-- Third-party platforms (FP-115 三方平台管理), their interface
-- configurations (FP-116 数据交互配置) and the log of every call
-- (FP-117 数据交互日志). Rows a configuration brings in land in
-- datahub.ingested_rows, keyed by (dataset, key), so a re-run changes
-- nothing; the BJ-TJ-HE exchange (FP-126, 0006) and, later, page collection
-- write there too.
CREATE TABLE datahub.platforms (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL CHECK (name <> ''),
    department  text        NOT NULL DEFAULT '',
    contact     text        NOT NULL DEFAULT '',
    phone       text        NOT NULL DEFAULT '',
    description text        NOT NULL DEFAULT '',
    state       text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX platforms_name ON datahub.platforms (lower(name));

-- One interface of a platform. The credential (API key, HMAC secret,
-- OAuth2 client secret) is sealed with DATAHUB_SECRET_KEYS
-- (shared/sealbox) and never leaves in an answer; auth holds only what
-- is not secret (header name, key id, token URL, client id).
CREATE TABLE datahub.platform_configs (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_id    bigint      NOT NULL REFERENCES datahub.platforms (id),
    name           text        NOT NULL CHECK (name <> ''),
    address        text        NOT NULL,
    method         text        NOT NULL CHECK (method IN ('GET', 'POST')),
    auth_kind      text        NOT NULL CHECK (auth_kind IN ('none', 'api_key', 'hmac', 'oauth2')),
    auth           jsonb       NOT NULL DEFAULT '{}',
    secret_sealed  bytea,
    params         jsonb       NOT NULL DEFAULT '{}',   -- query (GET) or JSON body (POST) sent
    records_path   text        NOT NULL DEFAULT '',     -- where the rows are in the answer: "data.items"
    page_param     text        NOT NULL DEFAULT '',     -- page number parameter, if the platform pages
    dataset        text        NOT NULL,
    mapping        jsonb       NOT NULL,                -- [{"source": "a.b", "target": "field"}]
    key_field      text        NOT NULL,
    schedule_kind  text        NOT NULL CHECK (schedule_kind IN ('manual', 'interval', 'cron')),
    schedule       text        NOT NULL DEFAULT '',
    state          text        NOT NULL DEFAULT 'untested' CHECK (state IN ('untested', 'testing', 'tested', 'disabled')),
    next_run_at    timestamptz,
    failures       int         NOT NULL DEFAULT 0,
    last_run_at    timestamptz,
    last_status    text        NOT NULL DEFAULT '',
    last_message   text        NOT NULL DEFAULT '',
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX platform_configs_name ON datahub.platform_configs (platform_id, lower(name));
CREATE INDEX platform_configs_due ON datahub.platform_configs (next_run_at) WHERE state <> 'disabled';

-- Every call a configuration made (a test, a run, a scheduled run, each
-- page), with secrets redacted before they are written.
CREATE TABLE datahub.platform_logs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    config_id     bigint      NOT NULL REFERENCES datahub.platform_configs (id),
    platform_id   bigint      NOT NULL REFERENCES datahub.platforms (id),
    at            timestamptz NOT NULL,
    trigger       text        NOT NULL CHECK (trigger IN ('test', 'manual', 'schedule')),
    method        text        NOT NULL,
    url           text        NOT NULL,
    request       text        NOT NULL DEFAULT '',     -- headers and body as sent, redacted
    status        int         NOT NULL DEFAULT 0,      -- the platform's HTTP status; 0: no answer
    response      text        NOT NULL DEFAULT '',     -- the first bytes of the answer, redacted
    rows_read     int         NOT NULL DEFAULT 0,
    rows_written  int         NOT NULL DEFAULT 0,
    duration_us   bigint      NOT NULL DEFAULT 0,
    ok            boolean     NOT NULL,
    error         text        NOT NULL DEFAULT '',
    operator      text        NOT NULL DEFAULT ''
);
CREATE INDEX platform_logs_config ON datahub.platform_logs (config_id, id DESC);
CREATE INDEX platform_logs_at ON datahub.platform_logs (at DESC);

-- Rows brought in from outside, per target dataset and key. data holds
-- only the dataset's fields, typed; an upsert that changes nothing
-- counts nothing (IS DISTINCT FROM).
CREATE TABLE datahub.ingested_rows (
    dataset      text        NOT NULL,
    key          text        NOT NULL,
    source_kind  text        NOT NULL CHECK (source_kind IN ('platform', 'collect', 'exchange')),
    source_id    bigint      NOT NULL,
    data         jsonb       NOT NULL,
    first_seen   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (dataset, key)
);
CREATE INDEX ingested_rows_source ON datahub.ingested_rows (source_kind, source_id);
