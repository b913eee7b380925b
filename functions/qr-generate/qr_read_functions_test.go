package qrgenerate_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// The published read functions of migration 0003 (docs/architecture.md,
// "Published read functions") answer from the real qr tables, and the one
// on scan-resolve's cache-miss path is inlined into its caller. The
// migrations are read from this package's directory, so the test depends
// on nothing else of the package.
func TestReadFunctions(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, store.Migration{Component: "qr-generate", FS: os.DirFS("."), Dir: "migrations"})
	ctx := context.Background()

	var has bool
	if err := pool.QueryRow(ctx, `SELECT qr.has_codes()`).Scan(&has); err != nil || has {
		t.Fatalf("qr.has_codes() on an empty schema = %v, %v; want false", has, err)
	}
	for _, c := range []struct{ token, cc, name, status string }{
		{"tokB", "91130102MA0000002X", "乙商行", "active"},
		{"tokA", "91130102MA0000001X", "甲商行", "active"},
		{"tokP", "12130104MB0000003X", "丙中心", "pending"},
		{"tokI", "91130104MA0000004X", "丁商行", "invalid"},
	} {
		if _, err := pool.Exec(ctx, `INSERT INTO qr.codes (token, credit_code, entity_name, entity_type, status, issued_at)
			VALUES ($1, $2, $3, 'enterprise', $4, now())`, c.token, c.cc, c.name, c.status); err != nil {
			t.Fatal(err)
		}
	}
	if err := pool.QueryRow(ctx, `SELECT qr.has_codes()`).Scan(&has); err != nil || !has {
		t.Errorf("qr.has_codes() with codes = %v, %v; want true", has, err)
	}

	status := func(token string) (cc, st string, ok bool) {
		err := pool.QueryRow(ctx, `SELECT credit_code, status FROM qr.code_status($1)`, token).Scan(&cc, &st)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return cc, st, true
	}
	if cc, st, ok := status("tokA"); !ok || cc != "91130102MA0000001X" || st != "active" {
		t.Errorf("qr.code_status(tokA) = %q %q %v", cc, st, ok)
	}
	if _, st, ok := status("tokI"); !ok || st != "invalid" {
		t.Errorf("qr.code_status(tokI) status %q %v, want invalid", st, ok)
	}
	if _, _, ok := status("nobody"); ok {
		t.Error("qr.code_status of an unknown token returned a row")
	}

	rows, err := pool.Query(ctx, `SELECT token, credit_code, entity_name FROM qr.active_codes(10)`)
	if err != nil {
		t.Fatal(err)
	}
	type code struct{ Token, CC, Name string }
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[code])
	if err != nil {
		t.Fatal(err)
	}
	want := []code{{"tokA", "91130102MA0000001X", "甲商行"}, {"tokB", "91130102MA0000002X", "乙商行"}}
	if !slices.Equal(got, want) {
		t.Errorf("qr.active_codes(10) = %v, want only the active ones in token order %v", got, want)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM qr.active_codes(1)`).Scan(&n); err != nil || n != 1 {
		t.Errorf("qr.active_codes(1) gave %d rows (%v), want 1", n, err)
	}

	// Inlined: the caller's plan is the index probe itself, not a call.
	var plan strings.Builder
	prows, err := pool.Query(ctx, `EXPLAIN SELECT * FROM qr.code_status('tokA')`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(prows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan.WriteString(strings.Join(lines, "\n"))
	if !strings.Contains(plan.String(), "codes_pkey") || strings.Contains(plan.String(), "Function Scan") {
		t.Errorf("qr.code_status is not inlined into its caller:\n%s", plan.String())
	}
}
