-- identity: departments, roles, users, registrations, sessions and tokens,
-- signing keys, SMS reset codes, external-login bindings, changelog.
-- Login and operation logs live in the identity-audit component's tables.
CREATE SCHEMA IF NOT EXISTS identity;

CREATE TABLE identity.departments (
    id             text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    parent_id      text REFERENCES identity.departments (id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    level          text NOT NULL CHECK (level IN ('city', 'district', 'station')),
    district_codes text[] NOT NULL DEFAULT '{}',
    township_codes text[] NOT NULL DEFAULT '{}',
    -- Materialised path "/root/…/id/" so a subtree is one prefix match.
    path           text NOT NULL,
    sort           int NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (parent_id, name)
);
CREATE INDEX departments_path ON identity.departments (path text_pattern_ops);

CREATE TABLE identity.roles (
    id             text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    code           text NOT NULL UNIQUE CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    builtin        boolean NOT NULL DEFAULT false,
    menus          text[] NOT NULL DEFAULT '{}',
    perms          text[] NOT NULL DEFAULT '{}',
    scope_kind     text NOT NULL CHECK (scope_kind IN ('all', 'dept_and_below', 'dept', 'self', 'custom')),
    scope_dept_ids text[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE TABLE identity.users (
    id                   text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    username             text NOT NULL UNIQUE CHECK (username ~ '^[a-zA-Z][a-zA-Z0-9_.-]{2,31}$'),
    name                 text NOT NULL,
    phone                text NOT NULL DEFAULT '',
    -- AES-GCM under IDENTITY_SECRET_KEY: the ID number is never stored in clear.
    id_number_enc        bytea,
    id_number_masked     text NOT NULL DEFAULT '',
    dept_id              text REFERENCES identity.departments (id),
    password_hash        text NOT NULL DEFAULT '',
    password_changed_at  timestamptz,
    must_change_password boolean NOT NULL DEFAULT true,
    status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
    frozen_reason        text NOT NULL DEFAULT '',
    frozen_at            timestamptz,
    failed_logins        int NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    last_login_at        timestamptz,
    last_login_ip        text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX users_dept ON identity.users (dept_id);
CREATE INDEX users_phone ON identity.users (phone);

CREATE TABLE identity.user_roles (
    user_id text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    role_id text NOT NULL REFERENCES identity.roles (id),
    PRIMARY KEY (user_id, role_id)
);

CREATE TABLE identity.registrations (
    id               text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    username         text NOT NULL,
    name             text NOT NULL,
    phone            text NOT NULL,
    id_number_enc    bytea NOT NULL,
    id_number_masked text NOT NULL,
    dept_id          text NOT NULL REFERENCES identity.departments (id),
    reason           text NOT NULL DEFAULT '',
    password_hash    text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected', 'needs_info')),
    review_note      text NOT NULL DEFAULT '',
    reviewed_by      text,
    reviewed_at      timestamptz,
    user_id          text,
    created_at       timestamptz NOT NULL
);
-- One open application per username.
CREATE UNIQUE INDEX registrations_open ON identity.registrations (username) WHERE status IN ('pending', 'needs_info');

CREATE TABLE identity.sessions (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    ip           text NOT NULL DEFAULT '',
    device       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user ON identity.sessions (user_id);

-- Refresh tokens are opaque; only their SHA-256 is kept. A used token is
-- kept (used_at) so presenting it again reveals theft and ends the session.
CREATE TABLE identity.refresh_tokens (
    hash       bytea PRIMARY KEY,
    session_id text NOT NULL REFERENCES identity.sessions (id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session ON identity.refresh_tokens (session_id);

-- Durable copy of revocations published to Redis, re-published so a Redis
-- flush cannot resurrect a frozen user's or a logged-out session's token.
CREATE TABLE identity.revocations (
    kind       text NOT NULL CHECK (kind IN ('user', 'session')),
    subject    text NOT NULL,
    at         timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (kind, subject)
);

CREATE TABLE identity.signing_keys (
    kid         text PRIMARY KEY,
    private_enc bytea NOT NULL,
    public_key  bytea NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL
);

CREATE TABLE identity.sms_codes (
    id         bigserial PRIMARY KEY,
    user_id    text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    phone      text NOT NULL,
    code_hash  bytea NOT NULL,
    attempts   int NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX sms_codes_user ON identity.sms_codes (user_id, created_at DESC);

CREATE TABLE identity.external_accounts (
    provider   text NOT NULL,
    subject    text NOT NULL,
    user_id    text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (provider, subject),
    UNIQUE (user_id, provider)
);

-- Passwords generated at install for the first accounts and demo users,
-- until each first login (the owner-only file mirrors it).
CREATE TABLE identity.initial_credentials (
    user_id    text PRIMARY KEY REFERENCES identity.users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL
);

CREATE TABLE identity.changelog (
    id          text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    version     text NOT NULL UNIQUE,
    released_on date NOT NULL,
    summary     text NOT NULL,
    features    text[] NOT NULL DEFAULT '{}',
    changes     text[] NOT NULL DEFAULT '{}',
    fixes       text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL
);

CREATE TABLE identity.changelog_seen (
    user_id  text NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
    entry_id text NOT NULL REFERENCES identity.changelog (id) ON DELETE CASCADE,
    seen_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, entry_id)
);
