-- A used authorization code is remembered for an hour: presented again, it
-- revokes the tokens already issued from it (RFC 6749 §4.1.2).
CREATE TABLE IF NOT EXISTS identity.oidc_spent_codes (
    code_hash       text        PRIMARY KEY,
    auth_request_id uuid        NOT NULL,
    client_id       text        NOT NULL,
    user_id         text        NOT NULL,
    spent_at        timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS oidc_spent_codes_expiry ON identity.oidc_spent_codes (expires_at);

-- The login (authorization request) a refresh-token family started from.
ALTER TABLE identity.oidc_refresh_tokens ADD COLUMN IF NOT EXISTS auth_request_id uuid;
CREATE INDEX IF NOT EXISTS oidc_refresh_tokens_auth_request ON identity.oidc_refresh_tokens (auth_request_id);
