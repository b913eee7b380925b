package platform

import (
	"context"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// shared is what every function may use beside its own schema: the
// outbox and inbox (shared/store's platform schema) and PostGIS/pg_trgm,
// which live in public.
var sharedSchemas = []string{"platform", "public", "pg_catalog", "information_schema"}

var createSchema = regexp.MustCompile(`(?i)CREATE SCHEMA IF NOT EXISTS (\w+)`)

// owners maps each schema to the source directory whose migrations create it.
func owners(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("../../../functions/*/migrations/*.sql")
	more, _ := filepath.Glob("../../../functions/*/*/migrations/*.sql")
	out := map[string]string{}
	for _, f := range append(files, more...) {
		// A contract stub (scan-resolve's contractstub) stands in for
		// another schema in its function's own tests; it owns nothing.
		if strings.Contains(f, "stub") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fn := strings.Split(filepath.ToSlash(filepath.Clean(f)), "/")
		dir := strings.Join(fn[:slices.Index(fn, "functions")+2], "/")
		for _, m := range createSchema.FindAllStringSubmatch(string(b), -1) {
			if prev, ok := out[m[1]]; ok && prev != dir {
				t.Errorf("schema %s is created by both %s and %s", m[1], prev, dir)
			}
			out[m[1]] = dir
		}
	}
	return out
}

// TestNoFunctionReadsAnotherSchemasTables: a function reads another
// schema only through that schema's published SQL functions, never its
// tables or views. Checked two ways on the fully migrated database:
//   - pg_depend: views and SQL-standard function bodies of one schema that
//     depend on a relation of another;
//   - the SQL text: every function's Go code and migrations, and the
//     CLI's, searched for schema.relation names of relations owned by
//     another schema.
//
// The log lists each schema's cross-schema references, allowed or not.
func TestNoFunctionReadsAnotherSchemasTables(t *testing.T) {
	ctx := context.Background()
	pool := storetest.New(t)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	own := owners(t)
	// Every relation (table, partitioned table, view, materialised view,
	// sequence) of a function's schema.
	rows, err := pool.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r','p','v','m','S','f') AND n.nspname = ANY($1)`, keysOf(own))
	if err != nil {
		t.Fatal(err)
	}
	relations := map[string]bool{}
	for rows.Next() {
		var ns, rel string
		if err := rows.Scan(&ns, &rel); err != nil {
			t.Fatal(err)
		}
		relations[ns+"."+rel] = true
	}
	rows.Close()

	var bad, allowed []string
	// pg_depend: an object in schema A whose definition needs a relation of B.
	deps, err := pool.Query(ctx, `
		SELECT DISTINCT dn.nspname, coalesce(dc.relname, dp.proname), rn.nspname || '.' || rc.relname
		FROM pg_depend d
		JOIN pg_class rc ON rc.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass
		JOIN pg_namespace rn ON rn.oid = rc.relnamespace
		LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid
		LEFT JOIN pg_class dc ON dc.oid = rw.ev_class
		LEFT JOIN pg_proc dp ON d.classid = 'pg_proc'::regclass AND dp.oid = d.objid
		JOIN pg_namespace dn ON dn.oid = coalesce(dc.relnamespace, dp.pronamespace)
		WHERE dn.nspname <> rn.nspname AND dn.nspname = ANY($1) AND rn.nspname = ANY($1)`, keysOf(own))
	if err != nil {
		t.Fatal(err)
	}
	for deps.Next() {
		var ns, obj, ref string
		if err := deps.Scan(&ns, &obj, &ref); err != nil {
			t.Fatal(err)
		}
		bad = append(bad, fmt.Sprintf("pg_depend: %s.%s uses %s", ns, obj, ref))
	}
	deps.Close()

	// SQL text: function bodies stored as text (plpgsql, sql) are not in
	// pg_depend; nor is the Go code's SQL.
	name := regexp.MustCompile(`\b([a-z_]+)\.([a-z_][a-z0-9_]*)\b`)
	procs, err := pool.Query(ctx, `SELECT n.nspname, p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = ANY($1)`, keysOf(own))
	if err != nil {
		t.Fatal(err)
	}
	for procs.Next() {
		var ns, fn, src string
		if err := procs.Scan(&ns, &fn, &src); err != nil {
			t.Fatal(err)
		}
		for _, m := range name.FindAllStringSubmatch(sqlComment.ReplaceAllString(src, ""), -1) {
			ref := m[1] + "." + m[2]
			if m[1] != ns && relations[ref] {
				bad = append(bad, fmt.Sprintf("function %s.%s reads %s", ns, fn, ref))
			}
		}
	}
	procs.Close()

	readers := map[string]string{"infra/local/cmd": ""} // the CLI owns no schema
	for schema, dir := range own {
		readers[strings.TrimPrefix(dir, "../../../")] = schema
	}
	for dir, schema := range readers {
		err := filepath.WalkDir(filepath.Join("../../..", dir), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "web" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			// Migrations are history: what they leave behind is checked
			// in the database above. Go code is searched in its SQL strings.
			if d.IsDir() || strings.HasSuffix(p, "_test.go") || !strings.HasSuffix(p, ".go") {
				return nil
			}
			src, err := sqlStrings(p)
			if err != nil {
				return err
			}
			for _, m := range name.FindAllStringSubmatch(src, -1) {
				ref := m[1] + "." + m[2]
				switch {
				case m[1] == schema || slices.Contains(sharedSchemas, m[1]):
				case relations[ref]:
					bad = append(bad, fmt.Sprintf("%s reads %s", p, ref))
				case own[m[1]] != "":
					allowed = append(allowed, fmt.Sprintf("%s (%s) calls %s", dir, schema, ref))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(allowed)
	for _, a := range slices.Compact(allowed) {
		t.Log("published contract in use:", a)
	}
	sort.Strings(bad)
	for _, b := range slices.Compact(bad) {
		t.Error("cross-schema read of a table:", b)
	}
}

var (
	sqlComment = regexp.MustCompile(`--[^\n]*`)
	sqlWords   = regexp.MustCompile(`(?i)\b(select|insert|update|delete|from|join|into|copy|truncate)\b`)
)

// sqlStrings is the text of a Go file's string literals that read as SQL
// (comments and identifiers such as menu codes "qr.codes" are not SQL).
func sqlStrings(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	var sc scanner.Scanner
	sc.Init(fset.AddFile(path, -1, len(b)), b, nil, 0)
	var out strings.Builder
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.STRING && sqlWords.MatchString(lit) {
			out.WriteString(sqlComment.ReplaceAllString(lit, ""))
			out.WriteByte('\n')
		}
	}
	return out.String(), nil
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
