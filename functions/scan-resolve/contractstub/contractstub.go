// Package contractstub stands in, in scan-resolve's own tests, for the
// published read functions scan-resolve calls in other schemas:
// qr.code_status (qr-generate) and registry.public_page (registry).
// Functions never import each other, so the tests cannot apply the real
// migrations; and a copy of the owners' tables would drift from them. The
// stubs are instead the contracts themselves: functions with the published
// signatures, answering from tables shaped as their results
// (qr.stub_codes, registry.stub_pages), which the tests fill. No stub
// table has the name of a real one, so a statement of scan-resolve that
// read another schema's table instead of its published function would fail
// in its own tests.
//
// infra/local/platform's TestScanContractStubs proves, against a database
// migrated by the platform, that every stub function has the published
// function's name, arguments, result columns and volatility, and that no
// stub table exists there.
package contractstub

import (
	"embed"

	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the stubs; apply them before scan-resolve's own.
func Migrations() []store.Migration {
	return []store.Migration{{Component: "scan-contract-stub", FS: migrations, Dir: "migrations"}}
}
