package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// Access-token signing keys (identity.signing_keys, seeds sealed) and the
// durable copy of token revocations (identity.revocations).

// activeSigningKey is the newest active key: its id and sealed seed.
func activeSigningKey(ctx context.Context, q store.Querier) (kid string, sealed []byte, err error) {
	err = q.QueryRow(ctx, `SELECT kid, private_enc FROM identity.signing_keys WHERE active ORDER BY created_at DESC LIMIT 1`).Scan(&kid, &sealed)
	return kid, sealed, store.Classify(err)
}

func insertSigningKey(ctx context.Context, q store.Querier, kid string, sealed, public []byte, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.signing_keys (kid, private_enc, public_key, created_at) VALUES ($1, $2, $3, $4)`,
		kid, sealed, public, now)
}

// revocation refuses the tokens of a user or a session issued at or
// before at.
type revocation struct {
	kind, subject string
	at            time.Time
}

// upsertRevocation stores a revocation; one already stored keeps the
// later time and expiry.
func upsertRevocation(ctx context.Context, q store.Querier, kind, subject string, at, expires time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.revocations (kind, subject, at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, subject) DO UPDATE SET at = GREATEST(identity.revocations.at, EXCLUDED.at),
		expires_at = GREATEST(identity.revocations.expires_at, EXCLUDED.expires_at)`,
		kind, subject, at, expires)
}

// pruneRevocations drops the revocations expired by now.
func pruneRevocations(ctx context.Context, q store.Querier, now time.Time) error {
	return exec(ctx, q, `DELETE FROM identity.revocations WHERE expires_at <= $1`, now)
}

// liveRevocations lists the revocations not expired by now.
func liveRevocations(ctx context.Context, q store.Querier, now time.Time) ([]revocation, error) {
	rows, err := q.Query(ctx, `SELECT kind, subject, at FROM identity.revocations WHERE expires_at > $1`, now)
	return collect(rows, err, func(r pgx.Row) (revocation, error) {
		var v revocation
		return v, r.Scan(&v.kind, &v.subject, &v.at)
	})
}
