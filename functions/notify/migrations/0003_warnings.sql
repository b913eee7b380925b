-- The warning board (预警信息, FP-129), apart from the message centre: a
-- notice event carrying warning_level is stored here. A warning names its
-- addressees as a notice does (users, departments, role codes, everyone),
-- matched against the reader's token; it is acknowledged (签收) and handled
-- once for all its addressees — the organisation it is for — with who did
-- it and their opinion, each step kept in warning_actions.
CREATE TABLE notify.warnings (
    id                bigserial PRIMARY KEY,
    event_id          text UNIQUE,
    created_at        timestamptz NOT NULL,
    title             text NOT NULL CHECK (title <> ''),
    body              text NOT NULL DEFAULT '',
    level             text NOT NULL CHECK (level IN ('red', 'orange', 'yellow', 'blue')),
    kind              text NOT NULL DEFAULT '',
    link              text NOT NULL DEFAULT '',
    producer          text NOT NULL DEFAULT '',
    target_all        boolean NOT NULL DEFAULT false,
    target_users      text[] NOT NULL DEFAULT '{}',
    target_depts      text[] NOT NULL DEFAULT '{}',
    target_roles      text[] NOT NULL DEFAULT '{}',
    state             text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'processing', 'done')),
    acknowledged_at   timestamptz,
    acknowledged_by   text NOT NULL DEFAULT '',
    acknowledged_name text NOT NULL DEFAULT '',
    handled_at        timestamptz,
    handled_by        text NOT NULL DEFAULT '',
    handled_name      text NOT NULL DEFAULT '',
    opinion           text NOT NULL DEFAULT ''
);
CREATE INDEX warnings_created ON notify.warnings (created_at DESC);
CREATE INDEX warnings_users ON notify.warnings USING gin (target_users);
CREATE INDEX warnings_depts ON notify.warnings USING gin (target_depts);
CREATE INDEX warnings_roles ON notify.warnings USING gin (target_roles);
-- The pop-up at login asks for the unacknowledged ones.
CREATE INDEX warnings_unacknowledged ON notify.warnings (created_at DESC) WHERE acknowledged_at IS NULL;

CREATE TABLE notify.warning_actions (
    id         bigserial PRIMARY KEY,
    warning_id bigint NOT NULL REFERENCES notify.warnings ON DELETE CASCADE,
    action     text NOT NULL CHECK (action IN ('acknowledge', 'processing', 'done')),
    user_id    text NOT NULL,
    user_name  text NOT NULL DEFAULT '',
    opinion    text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL
);
CREATE INDEX warning_actions_warning ON notify.warning_actions (warning_id, at);
