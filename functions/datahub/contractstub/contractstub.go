// Package contractstub stands in, in datahub's own tests, for the
// registry's published read functions the catalogue is built on:
// registry.datahub_entities() and registry.datahub_records() (registry
// migration 0104). Functions never import each other, so the tests cannot
// apply the registry's migrations; the stubs have the published signatures
// and answer from tables shaped as their results (registry.stub_datahub_*),
// which the tests fill. No stub table has a real table's name, so a
// statement of datahub that read a registry table directly would fail in
// its own tests.
package contractstub

import (
	"embed"

	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the stubs; apply them before datahub's own.
func Migrations() []store.Migration {
	return []store.Migration{{Component: "datahub-contract-stub", FS: migrations, Dir: "migrations"}}
}
