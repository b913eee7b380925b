package identity

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// identity's SQL lives in this file and in store_*.go, by resource
// (users, accounts, roles, departments, login, reset, keys, changelog).
// Each store function holds one statement, takes a store.Querier — the
// pool, or the transaction of the domain method calling it — and
// classifies its error (store.Classify: no row is errs.ErrNotFound, a
// unique violation errs.Conflict). The domain files keep the rules: the
// validation, the scope checks, the throttle, the transactions and the
// audit records written inside them.

// Advisory lock keys serialising replicas that start together.
const (
	lockSigningKey int64 = 7210000101
	lockBootstrap  int64 = 7210000102
)

// xactLock takes an advisory lock held until q's transaction ends.
func xactLock(ctx context.Context, q store.Querier, key int64) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, key)
	return store.Classify(err)
}

// collect scans every row of a query with scan, classifying the driver's
// errors.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	return out, store.Classify(err)
}

// exec runs a statement that answers no rows.
func exec(ctx context.Context, q store.Querier, sql string, args ...any) error {
	_, err := q.Exec(ctx, sql, args...)
	return store.Classify(err)
}
