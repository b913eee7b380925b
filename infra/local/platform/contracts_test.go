package platform

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/functions/scan-resolve/contractstub"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// signature is what a caller relies on of a published read function.
type signature struct {
	Schema, Name, Args, Result string
	Volatile, Parallel         string
	ReturnsSet                 bool
}

func signatures(t *testing.T, pool *pgxpool.Pool) map[string]signature {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
			pg_get_function_result(p.oid), p.provolatile::text, p.proparallel::text, p.proretset
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname IN ('registry', 'qr')`)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[signature])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]signature{}
	for _, s := range list {
		out[s.Schema+"."+s.Name+"("+s.Args+")"] = s
	}
	return out
}

func tables(t *testing.T, pool *pgxpool.Pool) map[string]bool {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema IN ('registry', 'qr')`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// scan-resolve's tests run against stubs of the read functions it calls in
// the registry and qr schemas (functions/scan-resolve/contractstub), since
// functions never import each other. The stubs are worth what they match:
// in a database migrated as the platform migrates it, every stub function
// exists with the same arguments, result columns, volatility and parallel
// safety; no stub table exists (so scan-resolve's own tests would fail on
// a statement reading a real table); and scan.pages, written against the
// stubs, runs against the real functions.
func TestScanContractStubs(t *testing.T) {
	var real []store.Migration
	for _, b := range builders {
		real = append(real, b.migrations()...)
	}
	realDB := storetest.New(t, real...)
	stubDB := storetest.New(t, contractstub.Migrations()...)

	published := signatures(t, realDB)
	stubs := signatures(t, stubDB)
	if len(stubs) == 0 {
		t.Fatal("the contract stub defines no function")
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
			t.Errorf("stub table %s has the name of a real table: scan-resolve's tests could read it directly", name)
		}
	}
	var n int
	if err := realDB.QueryRow(context.Background(), `SELECT count(*) FROM scan.pages(ARRAY['AAAAAAAAAAAAAAAA'])`).Scan(&n); err != nil || n != 0 {
		t.Errorf("scan.pages on the real read functions: %d rows, %v", n, err)
	}
}
