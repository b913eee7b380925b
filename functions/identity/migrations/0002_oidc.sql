-- The OpenID Connect provider's tables, once the "identity-oidc" migration
-- stream and now part of identity's one stream. Databases that ran the old
-- stream already have them, so every statement here is idempotent.
CREATE SCHEMA IF NOT EXISTS identity;

-- Relying parties of the OpenID Connect provider (统一身份认证的接入应用).
-- A NULL secret_hash makes a public client, which must use PKCE with S256.
-- A redirect URI starting with "/" is relative to PUBLIC_BASE_URL, so the
-- platform's own clients need no per-deployment rows.
CREATE TABLE IF NOT EXISTS identity.oidc_clients (
    id                        text        PRIMARY KEY,
    name                      text        NOT NULL,
    secret_hash               text,                       -- hex SHA-256 of a random secret; secrets are high-entropy, so no KDF is needed
    redirect_uris             text[]      NOT NULL,
    post_logout_redirect_uris text[]      NOT NULL DEFAULT '{}',
    application_type          text        NOT NULL DEFAULT 'web' CHECK (application_type IN ('web','user_agent','native')),
    grant_types               text[]      NOT NULL DEFAULT '{authorization_code,refresh_token}',
    id_token_lifetime_s       int         NOT NULL DEFAULT 3600 CHECK (id_token_lifetime_s BETWEEN 60 AND 86400),
    disabled                  boolean     NOT NULL DEFAULT false,
    created_at                timestamptz NOT NULL DEFAULT now()
);

-- The admin console itself, a public single-page client.
INSERT INTO identity.oidc_clients (id, name, redirect_uris, post_logout_redirect_uris, application_type)
VALUES ('smartreg-console', '市场智慧监管平台管理端', '{/console/oidc/callback,/console/}', '{/console/}', 'user_agent')
ON CONFLICT (id) DO NOTHING;

-- Authorization requests between /authorize and the token exchange, kept
-- here rather than in memory so any replica can finish a flow.
CREATE TABLE IF NOT EXISTS identity.oidc_auth_requests (
    id              uuid        PRIMARY KEY,
    client_id       text        NOT NULL,
    request         jsonb       NOT NULL,                 -- the parsed oidc.AuthRequest
    user_id         text,
    auth_time       timestamptz,
    amr             text[]      NOT NULL DEFAULT '{}',
    done            boolean     NOT NULL DEFAULT false,
    code_hash       text        UNIQUE,                   -- SHA-256 of the code: a stolen table yields no usable code
    code_expires_at timestamptz,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_auth_requests_expiry ON identity.oidc_auth_requests (expires_at);

-- Refresh tokens, rotated on every use. Rows of one login share family_id;
-- presenting an already-rotated token revokes the family (reuse detection).
CREATE TABLE IF NOT EXISTS identity.oidc_refresh_tokens (
    token_hash  text        PRIMARY KEY,
    family_id   uuid        NOT NULL,
    client_id   text        NOT NULL,
    user_id     text        NOT NULL,
    scopes      text[]      NOT NULL,
    audience    text[]      NOT NULL,
    amr         text[]      NOT NULL DEFAULT '{}',
    auth_time   timestamptz NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS oidc_refresh_tokens_user ON identity.oidc_refresh_tokens (user_id, client_id);
CREATE INDEX IF NOT EXISTS oidc_refresh_tokens_family ON identity.oidc_refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS oidc_refresh_tokens_expiry ON identity.oidc_refresh_tokens (expires_at);

-- A login through the provincial system or WeChat in flight: the state
-- sent upstream, with what is needed to finish it on any replica.
CREATE TABLE IF NOT EXISTS identity.oidc_login_states (
    state_hash      text        PRIMARY KEY,
    provider        text        NOT NULL CHECK (provider IN ('upstream','wechat')),
    auth_request_id uuid,                                 -- NULL: a direct console login
    return_to       text        NOT NULL DEFAULT '',
    nonce           text        NOT NULL DEFAULT '',
    verifier        text        NOT NULL DEFAULT '',      -- PKCE code_verifier for the upstream provider
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_login_states_expiry ON identity.oidc_login_states (expires_at);

-- An external identity not yet bound to a local user: the person proves
-- who they are once with their password, then the binding is stored
-- (Accounts.BindExternal) and later logins go straight through.
CREATE TABLE IF NOT EXISTS identity.oidc_pending_binds (
    token_hash      text        PRIMARY KEY,
    provider        text        NOT NULL,
    subject         text        NOT NULL,
    display_name    text        NOT NULL DEFAULT '',
    auth_request_id uuid,
    return_to       text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_pending_binds_expiry ON identity.oidc_pending_binds (expires_at);
