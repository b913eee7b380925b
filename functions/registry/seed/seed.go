// Package seed loads realistic synthetic market entities and their records
// into registry.entities and registry.records, for development, demos and
// load tests: 1.3 million entities, Shijiazhuang's real count, with 3.9
// million records load in about a minute and a half on two cores.
//
// Rows are deterministic for a seed. Credit codes are structured like real
// ones (authority and kind, a Shijiazhuang county code, an organisation code
// with its check character, the overall check character) and unique within
// a load. Load appends: loading the same seed twice fails on the first
// duplicate credit code and leaves the tables as they were; loads whose seeds
// differ modulo 1375 never share a credit code, so they add up.
//
// A load of 50 000 entities or more drops the tables' secondary indexes and
// the records foreign key and rebuilds them before it commits; the registry
// tables are locked until then.
package seed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Options say what to generate.
type Options struct {
	Count            int     // entities to generate, 1 … MaxCount
	Seed             int64   // the same seed gives the same rows
	RecordsPerEntity float64 // mean records per entity; 0 means DefaultRecordsPerEntity
}

// Stats report what a load wrote.
type Stats struct {
	Entities, Records int64
	Elapsed           time.Duration
}

const (
	DefaultRecordsPerEntity = 3.0
	MaxCount                = 20_000_000
	// bulkThreshold: at this size it is cheaper to drop the secondary
	// indexes and the records foreign key and build them once afterwards
	// than to maintain them row by row.
	bulkThreshold = 50_000
)

// Load generates opts.Count entities with their records and loads them with
// COPY, all in one transaction: on any error nothing is written.
func Load(ctx context.Context, pool *pgxpool.Pool, opts Options) (Stats, error) {
	return load(ctx, pool, opts, opts.Count >= bulkThreshold)
}

func load(ctx context.Context, pool *pgxpool.Pool, opts Options, bulk bool) (Stats, error) {
	start := time.Now()
	if opts.Count < 1 || opts.Count > MaxCount {
		return Stats{}, errs.New(errs.Invalid, fmt.Sprintf("生成数量应在1到%d之间", MaxCount))
	}
	if opts.RecordsPerEntity < 0 {
		return Stats{}, errs.New(errs.Invalid, "每个主体的平均记录数不能为负数")
	}
	if opts.RecordsPerEntity == 0 {
		opts.RecordsPerEntity = DefaultRecordsPerEntity
	}

	var st Stats
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var restore []string
		if bulk {
			var err error
			if restore, err = dropForBulk(ctx, tx); err != nil {
				return err
			}
			// Index builds sort in memory; the default 64 MB spills to disk.
			if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '1GB'"); err != nil {
				return fmt.Errorf("set maintenance_work_mem: %w", err)
			}
		}

		gen := newGenerator(opts.Seed)
		gen.sums = make([]summary, 0, opts.Count)
		var err error
		st.Entities, err = copyStream(ctx, tx, "entities", entityColumns, entityValues, func(slot func() (*entityRow, error)) error {
			for range opts.Count {
				row, err := slot()
				if err != nil {
					return err
				}
				if err := gen.next(row); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}

		// Records go out in credit-code order: records_entity and the foreign
		// key check then read presorted input, and an entity's records sit
		// together on disk for the profile query.
		slices.SortFunc(gen.sums, func(a, b summary) int { return strings.Compare(a.code, b.code) })
		rg := newRecordGen(opts.Seed, gen.places, opts.RecordsPerEntity)
		st.Records, err = copyStream(ctx, tx, "records", recordColumns, recordValues, func(slot func() (*recordRow, error)) error {
			for i := range gen.sums {
				if err := rg.forEntity(&gen.sums[i], slot); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}

		for _, stmt := range restore {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("restore %q: %w", stmt, err)
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, classify(err)
	}
	// Fresh statistics, or the planner keeps treating the tables as empty.
	if _, err := pool.Exec(ctx, "ANALYZE registry.entities, registry.records"); err != nil {
		return st, fmt.Errorf("analyze: %w", err)
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// copyStream COPYs the rows produce emits into registry.<table> while
// produce runs in its own goroutine.
func copyStream[T any](ctx context.Context, tx pgx.Tx, table string, cols []string, fill func(*T, []any), produce func(slot func() (*T, error)) error) (int64, error) {
	src, stop := newStream(ctx, len(cols), fill, produce)
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"registry", table}, cols, src)
	stop()
	if err != nil {
		return 0, fmt.Errorf("copy registry.%s: %w", table, err)
	}
	return n, nil
}

// dropForBulk drops the secondary indexes of registry.entities and
// registry.records and the foreign keys of records, returning the statements
// that recreate them. The definitions are read from the catalog, so the
// migration stays their only source.
func dropForBulk(ctx context.Context, tx pgx.Tx) (restore []string, err error) {
	rows, err := tx.Query(ctx, `
		SELECT format('%I.%I', n.nspname, i.relname), pg_get_indexdef(i.oid)
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = 'registry' AND t.relname IN ('entities', 'records')
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)
		ORDER BY t.relname, i.relname`)
	if err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	var drops []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			return nil, err
		}
		drops = append(drops, "DROP INDEX "+name)
		restore = append(restore, def)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexes: %w", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT format('%s', c.conrelid::regclass), quote_ident(c.conname), pg_get_constraintdef(c.oid)
		FROM pg_constraint c
		WHERE c.contype = 'f' AND c.conrelid = 'registry.records'::regclass
		ORDER BY c.conname`)
	if err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	for rows.Next() {
		var table, name, def string
		if err := rows.Scan(&table, &name, &def); err != nil {
			return nil, err
		}
		drops = append(drops, "ALTER TABLE "+table+" DROP CONSTRAINT "+name)
		// Re-adding validates every row with one join instead of a trigger
		// call per copied row.
		restore = append(restore, "ALTER TABLE "+table+" ADD CONSTRAINT "+name+" "+def)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list foreign keys: %w", err)
	}
	for _, stmt := range drops {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return restore, nil
}

// classify turns a duplicate credit code into a clear conflict; other
// errors keep their cause.
func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		key := pgErr.Detail
		if _, rest, ok := strings.Cut(key, ")=("); ok {
			key, _, _ = strings.Cut(rest, ")")
		}
		return errs.Wrap(errs.Conflict,
			fmt.Sprintf("统一社会信用代码 %s 已存在：数据只追加不覆盖，同一种子不能重复导入，本次导入已全部回滚", key), err)
	}
	if e := errs.As(err); e != nil {
		return err
	}
	return errs.Wrap(errs.Internal, "生成数据导入失败", err)
}
