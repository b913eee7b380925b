package platform

import (
	"context"
	"testing"

	datahubstub "github.com/sjzamr/smartreg/functions/datahub/contractstub"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// TestDatahubContractStubs proves that the stubs datahub's tests run
// against (functions/datahub/contractstub) have the published read
// functions' names, arguments, result columns, volatility and parallel
// safety (registry migrations 0104 and 0144), that no stub table exists in the
// platform's database, and that the catalogue's datasets run on the real
// functions.
func TestDatahubContractStubs(t *testing.T) {
	var real []store.Migration
	for _, b := range builders {
		real = append(real, b.migrations()...)
	}
	realDB := storetest.New(t, real...)
	stubDB := storetest.New(t, datahubstub.Migrations()...)
	published := signatures(t, realDB)
	stubs := signatures(t, stubDB)
	if len(stubs) != 3 {
		t.Fatalf("the contract stub defines %d functions, want 3", len(stubs))
	}
	for key, stub := range stubs {
		if got, ok := published[key]; !ok {
			t.Errorf("stub %s has no published function of that name and arguments", key)
		} else if got != stub {
			t.Errorf("stub %s = %+v, the published function is %+v", key, stub, got)
		}
	}
	realTables := tables(t, realDB)
	for name := range tables(t, stubDB) {
		if realTables[name] {
			t.Errorf("stub table %s has the name of a real table", name)
		}
	}
	for _, sql := range []string{
		`SELECT count(*) FROM registry.datahub_entities() t WHERE "district_code" = ANY($1::text[])`,
		`SELECT count(*) FROM registry.datahub_records() t WHERE kind = 'penalty' AND "district_code" = ANY($1::text[])`,
		`SELECT count(*) FROM registry.datahub_persons() t WHERE "district_code" = ANY($1::text[])`,
	} {
		var n int
		if err := realDB.QueryRow(context.Background(), sql, []string{"130102"}).Scan(&n); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
}
