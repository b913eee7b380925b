package store_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

func testMigration() store.Migration {
	return store.Migration{Component: "storetest", Dir: "m", FS: fstest.MapFS{
		"m/0001_items.sql": {Data: []byte(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL CHECK (name <> ''))`)},
		"m/0002_more.sql":  {Data: []byte(`ALTER TABLE items ADD COLUMN note text NOT NULL DEFAULT ''`)},
	}}
}

func TestMigrateIsIdempotentAndEnablesPostGIS(t *testing.T) {
	pool := storetest.New(t, testMigration())
	ctx := context.Background()
	if err := store.Migrate(ctx, pool, store.Platform(), testMigration()); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE component = 'storetest'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("applied storetest migrations = %d, %v; want 2", n, err)
	}
	var wkt string
	if err := pool.QueryRow(ctx, `SELECT ST_AsText(ST_MakePoint(114.5, 38.0))`).Scan(&wkt); err != nil || wkt != "POINT(114.5 38)" {
		t.Fatalf("PostGIS not usable: %q %v", wkt, err)
	}
}

func TestMigrateRejectsBadNames(t *testing.T) {
	pool := storetest.New(t)
	bad := store.Migration{Component: "bad", Dir: "m", FS: fstest.MapFS{"m/first.sql": {Data: []byte(`SELECT 1`)}}}
	if err := store.Migrate(context.Background(), pool, bad); err == nil {
		t.Fatal("a migration without a version number was accepted")
	}
}

func TestFailedMigrationLeavesNothing(t *testing.T) {
	pool := storetest.New(t)
	broken := store.Migration{Component: "broken", Dir: "m", FS: fstest.MapFS{
		"m/0001_x.sql": {Data: []byte(`CREATE TABLE half (id int); SELECT no_such_function();`)},
	}}
	if err := store.Migrate(context.Background(), pool, broken); err == nil {
		t.Fatal("broken migration reported success")
	}
	var exists bool
	_ = pool.QueryRow(context.Background(), `SELECT to_regclass('half') IS NOT NULL`).Scan(&exists)
	if exists {
		t.Fatal("a failed migration left its table behind")
	}
}

func TestInTxRollsBackAndClassifies(t *testing.T) {
	pool := storetest.New(t, testMigration())
	ctx := context.Background()
	err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO items (id, name) VALUES (1, 'a')`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO items (id, name) VALUES (1, 'b')`)
		return store.Classify(err)
	})
	if errs.CodeOf(err) != errs.Conflict || !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("duplicate key: got %v, want conflict", err)
	}
	var n int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM items`).Scan(&n)
	if n != 0 {
		t.Fatalf("rolled-back transaction left %d rows", n)
	}
	err = store.Classify(pool.QueryRow(ctx, `SELECT name FROM items WHERE id = 9`).Scan(new(string)))
	if !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("no rows: got %v, want not found", err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO items (id, name) VALUES (2, '')`)
	if errs.CodeOf(store.Classify(err)) != errs.Invalid {
		t.Fatalf("check violation: got %v, want invalid", err)
	}
}
