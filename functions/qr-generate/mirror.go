package qrgenerate

import (
	"context"

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
		var err error
		n, err = loadEntities(ctx, tx, list, f.now())
		return err
	})
	return n, store.Classify(err)
}

// SyncFromRegistry copies every entity of the registry into qr-generate's
// entity table in one set-based statement: the one-time backfill before a
// bulk issuance for entities loaded without events (the registry's seed).
// It reads the registry only through its published read function
// registry.entity_snapshot(), never its tables; a database without that
// function (qr-generate deployed alone) has nothing to sync.
func (f *Function) SyncFromRegistry(ctx context.Context) (int64, error) {
	n, _, err := syncFromRegistry(ctx, f.pool)
	return n, err
}
