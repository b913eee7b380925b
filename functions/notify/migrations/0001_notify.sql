-- The message centre and warning board (FP-128, FP-129). A notice names
-- its targets (users, departments, role codes, or everyone); who sees it is
-- decided when it is read, against the claims of the reader's access token
-- (user id, department id, role codes), so notify never reads identity's
-- tables, a user who joins a role later also sees the role's standing
-- notices, and no per-user fan-out rows are written.
CREATE SCHEMA IF NOT EXISTS notify;

CREATE TABLE notify.notices (
    id           bigserial PRIMARY KEY,
    -- The CloudEvent that asked for it: a second guard beside the inbox,
    -- so a notice asked for before the move and redelivered after it is
    -- still stored once.
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
CREATE INDEX notices_created ON notify.notices (created_at DESC);
CREATE INDEX notices_users ON notify.notices USING gin (target_users);
CREATE INDEX notices_depts ON notify.notices USING gin (target_depts);
CREATE INDEX notices_roles ON notify.notices USING gin (target_roles);

CREATE TABLE notify.notice_reads (
    user_id   text NOT NULL,
    notice_id bigint NOT NULL REFERENCES notify.notices ON DELETE CASCADE,
    read_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, notice_id)
);
