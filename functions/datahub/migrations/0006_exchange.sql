-- The Beijing–Tianjin–Hebei exchange of key-industry enterprise data
-- (FP-126, docs/jjj-exchange.md). A partner is one district regulator
-- of Beijing or Tianjin: it calls our side with its key id and the shared
-- secret (sealed with DATAHUB_SECRET_KEYS), and we pull its side from
-- base_url with the same key. industries are the key industries it may
-- read of ours.
CREATE TABLE datahub.exchange_partners (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text        NOT NULL CHECK (name <> ''),
    region_code    text        NOT NULL CHECK (region_code ~ '^(11|12)[0-9]{4}$'),
    key_id         text        NOT NULL UNIQUE,
    secret_sealed  bytea       NOT NULL,
    base_url       text        NOT NULL DEFAULT '',
    industries     text[]      NOT NULL,
    state          text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    watermark      timestamptz,            -- the newest updated_at pulled from the partner
    last_pull_at   timestamptz,
    last_message   text        NOT NULL DEFAULT '',
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL
);

-- Nonces seen per key within the clock-skew window: a second use is a
-- replay and is refused. Older ones are deleted as requests arrive.
CREATE TABLE datahub.exchange_nonces (
    key_id  text        NOT NULL,
    nonce   text        NOT NULL,
    at      timestamptz NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX exchange_nonces_at ON datahub.exchange_nonces (at);

-- Every exchange call, both directions.
CREATE TABLE datahub.exchange_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partner_id  bigint REFERENCES datahub.exchange_partners (id),
    key_id      text        NOT NULL DEFAULT '',
    direction   text        NOT NULL CHECK (direction IN ('serve', 'pull')),
    at          timestamptz NOT NULL,
    path        text        NOT NULL,
    status      int         NOT NULL,
    code        text        NOT NULL,
    rows        int         NOT NULL DEFAULT 0,
    message     text        NOT NULL DEFAULT '',
    client_ip   text        NOT NULL DEFAULT ''
);
CREATE INDEX exchange_log_at ON datahub.exchange_log (at DESC);
