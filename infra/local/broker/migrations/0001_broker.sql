-- The local broker's dead-letter store: deliveries whose retries ran out or
-- that a subscriber rejected as permanently bad. Operators list and replay
-- them (smartreg dlq list / replay); rows are kept, never deleted, as a record.
CREATE SCHEMA IF NOT EXISTS broker;

CREATE TABLE broker.dead_letters (
    id           bigserial   PRIMARY KEY,
    trigger_name text        NOT NULL,
    subscriber   text        NOT NULL,
    event_id     text        NOT NULL,
    event_type   text        NOT NULL,
    event        jsonb       NOT NULL,
    attempts     int         NOT NULL,
    last_status  int         NOT NULL DEFAULT 0, -- HTTP status, 0 when no answer
    last_error   text        NOT NULL DEFAULT '',
    failed_at    timestamptz NOT NULL DEFAULT now(),
    replayed_at  timestamptz,
    replay_count int         NOT NULL DEFAULT 0
);
CREATE INDEX dead_letters_pending ON broker.dead_letters (failed_at DESC) WHERE replayed_at IS NULL;
