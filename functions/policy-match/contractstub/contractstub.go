// Package contractstub stands in, in policy-match's own tests, for the
// registry's published read functions policy-match calls:
// registry.policy_subjects(), registry.policy_subject(code),
// registry.policy_figures() and registry.policy_figure(code) (registry
// migration 0103). Functions never import each other, so the tests cannot
// apply the registry's migrations; the stubs are the contracts themselves,
// answering from a table shaped as their results (registry.stub_policy_subjects),
// which the tests fill. No stub table has the name of a real one, so a
// statement of policy-match that read a registry table instead of its
// published functions would fail in its own tests.
//
// infra/local/platform's TestPolicyContractStubs proves, against a
// database migrated by the platform, that every stub has the published
// function's name, arguments, result columns, volatility and parallel
// safety, and that no stub table exists there.
package contractstub

import (
	"embed"

	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the stubs; apply them before policy-match's own.
func Migrations() []store.Migration {
	return []store.Migration{{Component: "policy-contract-stub", FS: migrations, Dir: "migrations"}}
}
