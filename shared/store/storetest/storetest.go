// Package storetest gives each test its own real PostgreSQL database: the
// migrations are applied once into a template database (named by a hash of
// their content, so a changed migration builds a new one), and every test
// clones it with CREATE DATABASE … TEMPLATE, which takes milliseconds.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/store"
)

// AdminURL is the server tests use; TEST_DATABASE_URL overrides it.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// URLFor returns AdminURL with the database name replaced.
func URLFor(db string) string {
	u := AdminURL()
	base, query, _ := strings.Cut(u, "?")
	i := strings.LastIndex(base, "/")
	out := base[:i+1] + db
	if query != "" {
		out += "?" + query
	}
	return out
}

// New returns a pool on a fresh database with the platform migration and
// the given ones applied. The database is dropped when the test ends.
func New(t testing.TB, migrations ...store.Migration) *pgxpool.Pool {
	t.Helper()
	name := NewDatabase(t, migrations...)
	pool, err := store.Connect(context.Background(), URLFor(name), 8)
	if err != nil {
		t.Fatalf("connect to test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewDatabase is New without the pool: it returns the database name, for
// tests that start a whole platform against it.
func NewDatabase(t testing.TB, migrations ...store.Migration) string {
	t.Helper()
	ctx := context.Background()
	all := append([]store.Migration{store.Platform()}, migrations...)
	tpl, err := template(ctx, all)
	if err != nil {
		t.Fatalf("build template database (is PostgreSQL with PostGIS running at %s?): %v", AdminURL(), err)
	}
	name := "t_" + randomSuffix()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("connect to PostgreSQL at %s: %v", AdminURL(), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tpl)); err != nil {
		t.Fatalf("clone template: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminURL())
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return name
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func contentHash(migrations []store.Migration) (string, error) {
	h := sha256.New()
	for _, m := range migrations {
		fmt.Fprintf(h, "component:%s\n", m.Component)
		err := fs.WalkDir(m.FS, m.Dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(m.FS, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\n%s\n", p, b)
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// template returns the name of a database holding the migrations, building
// it under an advisory lock so parallel test binaries do not race.
func template(ctx context.Context, migrations []store.Migration) (string, error) {
	sum, err := contentHash(migrations)
	if err != nil {
		return "", err
	}
	name := "tpl_" + sum
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(7210000002)`); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), `SELECT pg_advisory_unlock(7210000002)`) //nolint:errcheck
	var ready bool
	err = admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datallowconn)`, name).Scan(&ready)
	if err != nil || ready {
		return name, err
	}
	// A half-built template from a crashed run is rebuilt from scratch.
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+"_build WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+"_build"); err != nil {
		return "", err
	}
	pool, err := store.Connect(ctx, URLFor(name+"_build"), 2)
	if err != nil {
		return "", err
	}
	err = store.Migrate(ctx, pool, migrations...)
	pool.Close()
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+"_build RENAME TO "+name); err != nil {
		return "", err
	}
	return name, nil
}
