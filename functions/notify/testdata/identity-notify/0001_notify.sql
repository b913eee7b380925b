-- The identity-notify migration as it shipped before notify became its own
-- function (functions/identity/notify/migrations/0001_notify.sql), kept to
-- build an upgraded database in TestMoveFromIdentity.
-- Message centre (FP-128, FP-129). A notice names its targets (users,
-- departments, role codes, or everyone); who sees it is decided when it is
-- read, against the reader's token, so a user who joins a role later also
-- sees the role's standing notices and no per-user fan-out rows are written.
CREATE SCHEMA IF NOT EXISTS identity;

CREATE TABLE identity.notices (
    id           bigserial PRIMARY KEY,
    event_id     text UNIQUE,
    created_at   timestamptz NOT NULL,
    title        text NOT NULL CHECK (title <> ''),
    body         text NOT NULL DEFAULT '',
    level        text NOT NULL DEFAULT 'info' CHECK (level IN ('info', 'warning', 'alert')),
    kind         text NOT NULL DEFAULT '',
    link         text NOT NULL DEFAULT '',
    popup        boolean NOT NULL DEFAULT false,
    producer     text NOT NULL DEFAULT '',
    target_all   boolean NOT NULL DEFAULT false,
    target_users text[] NOT NULL DEFAULT '{}',
    target_depts text[] NOT NULL DEFAULT '{}',
    target_roles text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX notices_created ON identity.notices (created_at DESC);
CREATE INDEX notices_users ON identity.notices USING gin (target_users);
CREATE INDEX notices_depts ON identity.notices USING gin (target_depts);
CREATE INDEX notices_roles ON identity.notices USING gin (target_roles);

CREATE TABLE identity.notice_reads (
    user_id   text NOT NULL,
    notice_id bigint NOT NULL REFERENCES identity.notices ON DELETE CASCADE,
    read_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, notice_id)
);
