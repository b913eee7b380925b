// Package auditlogtest lets a function's tests read what it recorded for
// the audit function (shared/auditlog) as if it were the log: views
// recorded.login_log and recorded.op_log over the audit events in
// platform.outbox, with the columns of audit's own tables. Add Migration
// to the test database:
//
//	pool := storetest.New(t, append(Migrations(), auditlogtest.Migration())...)
//	… SELECT after->>'status' FROM recorded.op_log WHERE action = 'user.freeze' …
package auditlogtest

import (
	"embed"

	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migration creates the recorded views; tests only.
func Migration() store.Migration {
	return store.Migration{Component: "auditlogtest", FS: migrations, Dir: "migrations"}
}
