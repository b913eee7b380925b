package qrgenerate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/store"
)

// LoadEntities COPYs entity snapshots into qr-generate's own entity table
// (replacing older snapshots), the way a backfill or a benchmark seeds
// what entity events would otherwise have delivered one by one.
func (f *Function) LoadEntities(ctx context.Context, list []events.Entity) (int64, error) {
	var n int64
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE load_ent (LIKE qr.entities) ON COMMIT DROP`); err != nil {
			return err
		}
		now := f.now()
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"load_ent"},
			[]string{"credit_code", "name", "entity_type", "district_code", "township_code", "industry_code", "status", "version", "updated_at"},
			pgx.CopyFromSlice(len(list), func(i int) ([]any, error) {
				e := list[i]
				return []any{e.CreditCode, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, e.Status, e.Version, now}, nil
			})); err != nil {
			return fmt.Errorf("copy entities: %w", err)
		}
		tag, err := tx.Exec(ctx, upsertEntitiesFrom("load_ent"))
		n = tag.RowsAffected()
		return err
	})
	return n, store.Classify(err)
}

// SyncFromRegistry copies every entity of the registry into qr-generate's
// entity table in one set-based statement: the one-time backfill before a
// bulk issuance for entities loaded without events (the registry's seed).
// It reads the registry only through its published read function
// registry.entity_snapshot() (registry migration 0006), never its tables;
// a database without that function (qr-generate deployed alone) has
// nothing to sync.
func (f *Function) SyncFromRegistry(ctx context.Context) (int64, error) {
	var exists bool
	if err := f.pool.QueryRow(ctx, `SELECT to_regprocedure('registry.entity_snapshot()') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, store.Classify(err)
	}
	if !exists {
		return 0, nil
	}
	// updated_at is when qr-generate recorded the snapshot, as on the event path.
	tag, err := f.pool.Exec(ctx, upsertEntitiesFrom(`(SELECT credit_code, name, entity_type, district_code, township_code,
		industry_code, status, version, now() AS updated_at FROM registry.entity_snapshot())`))
	return tag.RowsAffected(), store.Classify(err)
}

func upsertEntitiesFrom(rel string) string {
	return `INSERT INTO qr.entities (credit_code, name, entity_type, district_code, township_code, industry_code, status, version, updated_at)
		SELECT credit_code, name, entity_type, district_code, township_code, industry_code, status, version, updated_at FROM ` + rel + ` s
		ON CONFLICT (credit_code) DO UPDATE SET name = EXCLUDED.name, entity_type = EXCLUDED.entity_type,
			district_code = EXCLUDED.district_code, township_code = EXCLUDED.township_code, industry_code = EXCLUDED.industry_code,
			status = EXCLUDED.status, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
		WHERE qr.entities.version < EXCLUDED.version`
}
