-- Platform-wide objects every function relies on: extensions, the outbox
-- that makes "change data + emit event" one transaction, and the inbox that
-- makes at-least-once delivery idempotent.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE SCHEMA IF NOT EXISTS platform;

CREATE TABLE platform.outbox (
    seq          bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    source       text        NOT NULL,
    subject      text        NOT NULL DEFAULT '',
    event        jsonb       NOT NULL, -- the whole CloudEvent, structured JSON
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     int         NOT NULL DEFAULT 0,
    last_error   text        NOT NULL DEFAULT ''
);
-- The relay only ever scans what is still pending.
CREATE INDEX outbox_pending ON platform.outbox (seq) WHERE published_at IS NULL;

CREATE TABLE platform.inbox (
    consumer    text        NOT NULL,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
