package identity

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/store"
)

// The login log and the operation log belong to the audit function
// (functions/audit). identity records its rows there as events, in the
// transaction of the login attempt or of the change (shared/auditlog), so
// a row exists exactly when what it records does, and nothing is lost
// while audit is down: the event waits in the outbox and the Broker.

// loginEntry is one login attempt (FP-7).
type loginEntry = auditlog.Login

// opEntry is one operation log row (FP-8).
type opEntry = auditlog.Operation

// Login results.
const (
	loginSuccess = auditlog.ResultSuccess
	loginFailure = auditlog.ResultFailure
)

// recordLogin records a login attempt in q's transaction (a pool gets one
// of its own).
func (f *Function) recordLogin(ctx context.Context, q store.Querier, e loginEntry) error {
	return inTx(ctx, q, func(tx pgx.Tx) error { return auditlog.RecordLogin(ctx, tx, Source, e) })
}

// recordOp records an operation log row in q's transaction (a pool gets
// one of its own).
func (f *Function) recordOp(ctx context.Context, q store.Querier, e opEntry) error {
	return inTx(ctx, q, func(tx pgx.Tx) error { return auditlog.Record(ctx, tx, Source, e) })
}

// inTx runs fn in q when q is a transaction, else in a transaction of q's.
func inTx(ctx context.Context, q store.Querier, fn func(pgx.Tx) error) error {
	if tx, ok := q.(pgx.Tx); ok {
		return fn(tx)
	}
	b, ok := q.(interface {
		Begin(context.Context) (pgx.Tx, error)
	})
	if !ok {
		return fmt.Errorf("identity: %T can begin no transaction for the audit log", q)
	}
	return pgx.BeginFunc(ctx, b, fn)
}
