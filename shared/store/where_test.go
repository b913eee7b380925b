package store_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

func TestWhereNumbersArguments(t *testing.T) {
	var w store.Where
	if w.SQL() != "" || w.And() != "TRUE" || !w.Empty() {
		t.Fatalf("empty Where: %q %q", w.SQL(), w.And())
	}
	w.Add("a = ?", 1)
	w.AddWith(func(args *[]any) string { *args = append(*args, "x"); return "b = $2" })
	w.Add("c BETWEEN ? AND ?", 3, 4)
	if got, want := w.SQL(), " WHERE a = $1 AND b = $2 AND c BETWEEN $3 AND $4"; got != want {
		t.Errorf("SQL %q, want %q", got, want)
	}
	if next := w.Next(10); next != "$5" {
		t.Errorf("Next = %s", next)
	}
	if !reflect.DeepEqual(w.Args(), []any{1, "x", 3, 4, 10}) {
		t.Errorf("args %v", w.Args())
	}
}

// The escaped pattern matches the text literally in real PostgreSQL: a
// search for "100%" or "a_b" finds only those strings.
func TestLikePatternsMatchLiterally(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (s text); INSERT INTO t VALUES ('100%'), ('1000'), ('a_b'), ('axb'), ('c\d'), ('cxd')`); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"100%": {"100%"}, "a_b": {"a_b"}, `c\d`: {`c\d`}, "%": {"100%"}, "_": {"a_b"}} {
		var w store.Where
		w.Add("s LIKE ?", store.Contains(q))
		rows, err := pool.Query(ctx, "SELECT s FROM t"+w.SQL()+" ORDER BY s", w.Args()...)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			got = append(got, s)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("search %q found %v, want %v", q, got, want)
		}
	}
	var w store.Where
	w.Add("s LIKE ?", store.Prefix("a_"))
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM t"+w.SQL(), w.Args()...).Scan(&n); err != nil || n != 1 {
		t.Errorf("prefix a_: %d rows, %v", n, err)
	}
}
