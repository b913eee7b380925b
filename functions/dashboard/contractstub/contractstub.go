// Package contractstub stands in, in dashboard's own tests and benchmarks
// without a registry, for the registry's published read functions
// registry.dashboard_entities() and registry.dashboard_records() (registry
// migration 0140). Functions never import each other, so the tests cannot
// apply the registry's migrations; the stubs have the published signatures
// and answer from tables the tests fill (registry.stub_dashboard_*).
package contractstub

import (
	"embed"

	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the stubs; apply them before dashboard's own.
func Migrations() []store.Migration {
	return []store.Migration{{Component: "dashboard-contract-stub", FS: migrations, Dir: "migrations"}}
}
