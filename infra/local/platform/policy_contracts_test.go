package platform

import (
	"context"
	"testing"

	policystub "github.com/sjzamr/smartreg/functions/policy-match/contractstub"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// policy-match's tests run against stubs of the registry's read functions
// it calls (functions/policy-match/contractstub). As for scan-resolve's:
// in a database migrated as the platform migrates it, every stub function
// exists with the same arguments, result columns, volatility and parallel
// safety, no stub table exists, and the statements policy-match builds on
// the stubs run on the real functions.
func TestPolicyContractStubs(t *testing.T) {
	var real []store.Migration
	for _, b := range builders {
		real = append(real, b.migrations()...)
	}
	realDB := storetest.New(t, real...)
	stubDB := storetest.New(t, policystub.Migrations()...)
	published := signatures(t, realDB)
	stubs := signatures(t, stubDB)
	if len(stubs) != 4 {
		t.Fatalf("the contract stub defines %d functions, want 4", len(stubs))
	}
	for key, stub := range stubs {
		got, ok := published[key]
		switch {
		case !ok:
			t.Errorf("stub %s has no published function of that name and arguments", key)
		case got != stub:
			t.Errorf("stub %s = %+v, the published function is %+v", key, stub, got)
		}
	}
	realTables := tables(t, realDB)
	for name := range tables(t, stubDB) {
		if realTables[name] {
			t.Errorf("stub table %s has the name of a real table", name)
		}
	}
	var n int
	if err := realDB.QueryRow(context.Background(), `SELECT count(*) FROM registry.policy_subjects() s
		LEFT JOIN policy.entity_facts f ON f.credit_code = s.credit_code
		WHERE s.status = 'active' AND NOT s.abnormal AND (s.last_penalty_on IS NULL OR s.last_penalty_on < current_date)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a match statement on the real read functions: %d rows, %v", n, err)
	}
}
