-- The alarmintake schema, owned by functions/alarm-intake: only it writes here,
-- and other functions read it only through published SQL functions.
CREATE SCHEMA IF NOT EXISTS alarmintake;

-- One-key alarms (FP-146, FP-163). (raised_by, idempotency_key) is unique:
-- a phone that queued an alarm offline and sends it again (or twice) gets
-- the first one back, so the centre sees it once.
CREATE TABLE alarmintake.alarms (
    id              uuid PRIMARY KEY,
    idempotency_key text        NOT NULL CHECK (idempotency_key <> ''),
    level           text        NOT NULL CHECK (level IN ('紧急', '重要紧急')),
    text            text        NOT NULL DEFAULT '',
    lat             double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng             double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    accuracy        double precision NOT NULL CHECK (accuracy >= 0),
    attachments     text[]      NOT NULL DEFAULT '{}',
    raised_by       text        NOT NULL,
    raised_name     text        NOT NULL DEFAULT '',
    dept_id         text        NOT NULL DEFAULT '',
    district        text        NOT NULL DEFAULT '',
    township        text        NOT NULL DEFAULT '',
    raised_at       timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    UNIQUE (raised_by, idempotency_key)
);
CREATE INDEX alarms_received ON alarmintake.alarms (received_at DESC);

-- Signed uploads: a phone asks for one (kind, type, size), gets an
-- unguessable token, and PUTs the bytes; the row is the signature, so
-- every replica can check it without a shared secret.
CREATE TABLE alarmintake.uploads (
    id           uuid PRIMARY KEY,
    token        text        NOT NULL,
    owner        text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('photo', 'voice')),
    content_type text        NOT NULL,
    max_size     bigint      NOT NULL,
    size         bigint,
    expires_at   timestamptz NOT NULL,
    done_at      timestamptz
);
