package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var platformMigrations embed.FS

// Migration is one component's set of versioned SQL files named
// NNNN_description.sql, applied in order, each in its own transaction.
type Migration struct {
	Component string // e.g. "platform", "registry"
	FS        fs.FS  // holds the .sql files at Dir
	Dir       string
}

// Platform is the migration every deployment applies first: extensions,
// outbox and inbox.
func Platform() Migration {
	return Migration{Component: "platform", FS: platformMigrations, Dir: "migrations"}
}

// migrateLockKey serialises migrators across replicas starting together.
const migrateLockKey = 7_210_000_001

// Migrate applies every migration not yet recorded, in the order given.
// It is safe to run from many processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, migrations ...Migration) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.schema_migrations (
		component text NOT NULL, version int NOT NULL, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		if err := apply(ctx, conn.Conn(), m); err != nil {
			return err
		}
	}
	return nil
}

type migrationFile struct {
	version int
	name    string
}

func files(m Migration) ([]migrationFile, error) {
	entries, err := fs.ReadDir(m.FS, m.Dir)
	if err != nil {
		return nil, fmt.Errorf("%s migrations: %w", m.Component, err)
	}
	var out []migrationFile
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s migration %q: name must be NNNN_description.sql", m.Component, e.Name())
		}
		out = append(out, migrationFile{v, e.Name()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("%s migrations %s and %s share a version", m.Component, out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

func apply(ctx context.Context, conn *pgx.Conn, m Migration) error {
	list, err := files(m)
	if err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM public.schema_migrations WHERE component = $1`, m.Component)
	if err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("read applied migrations: %w", err)
	}
	for _, v := range versions {
		applied[v] = true
	}
	for _, f := range list {
		if applied[f.version] {
			continue
		}
		sql, err := fs.ReadFile(m.FS, path.Join(m.Dir, f.name))
		if err != nil {
			return fmt.Errorf("read %s: %w", f.name, err)
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO public.schema_migrations (component, version, name) VALUES ($1, $2, $3)`,
				m.Component, f.version, f.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply %s/%s: %w", m.Component, f.name, err)
		}
	}
	return nil
}
