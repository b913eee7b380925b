package identity

import (
	"context"
	"time"

	"github.com/sjzamr/smartreg/shared/store"
)

// External identities bound to accounts (identity.external_accounts):
// upstream OIDC subjects, WeChat unionids.

// externalAccountUser is the account an external identity is bound to.
func externalAccountUser(ctx context.Context, q store.Querier, provider, subject string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT user_id FROM identity.external_accounts WHERE provider = $1 AND subject = $2`, provider, subject).Scan(&id)
	return id, store.Classify(err)
}

// insertExternalAccount binds an external identity; a conflict means the
// account has one of that provider already (or the identity is bound).
func insertExternalAccount(ctx context.Context, q store.Querier, provider, subject, userID string, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.external_accounts (provider, subject, user_id, created_at) VALUES ($1, $2, $3, $4)`,
		provider, subject, userID, now)
}
