package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/store"
)

// shanghai is fixed UTC+8 (China has no daylight saving), so the package
// needs no tzdata.
func shanghai() *time.Location { return time.FixedZone("CST", 8*3600) }

// partitionName is the month partition of parent holding t.
func partitionName(parent string, t time.Time) string {
	return parent + "_p" + t.In(shanghai()).Format("200601")
}

// ensurePartition makes sure the month of t has its partition before a row
// goes in. The check runs in a transaction of its own (CREATE … PARTITION
// OF locks the parent, which must not wait for the insert's transaction),
// and is remembered, so the steady state costs nothing.
func (f *Function) ensurePartition(ctx context.Context, parent string, t time.Time) error {
	name := partitionName(parent, t)
	f.mu.Lock()
	known := f.parts[name]
	f.mu.Unlock()
	if known {
		return nil
	}
	if _, err := f.pool.Exec(ctx, `SELECT audit.ensure_partition($1, $2)`, parent, t); err != nil {
		return store.Classify(fmt.Errorf("ensure %s: %w", name, err))
	}
	f.mu.Lock()
	f.parts[name] = true
	f.mu.Unlock()
	return nil
}

// forget drops what ensurePartition remembered (after archiving, a month's
// partition is gone and a late row must create it again).
func (f *Function) forget() {
	f.mu.Lock()
	clear(f.parts)
	f.mu.Unlock()
}

// ensureAhead creates the current month's partitions and AheadMonths more.
func (f *Function) ensureAhead(ctx context.Context) error {
	if _, err := f.pool.Exec(ctx, `SELECT audit.ensure_ahead($1, $2)`, f.now(), f.cfg.AheadMonths); err != nil {
		return store.Classify(fmt.Errorf("create partitions ahead: %w", err))
	}
	return nil
}

// noPartition reports the error of a row whose month has no partition
// (archived and dropped since ensurePartition remembered it).
func noPartition(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23514" && strings.Contains(pg.Message, "no partition")
}

func insertOp(ctx context.Context, tx pgx.Tx, source, eventID string, d events.AuditOperationRecordedData) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit.op_log (at, user_id, username, ip, action, object_type, object_id, before, after, result,
		district_code, township_code, source, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		d.At, d.UserID, d.Username, d.IP, d.Action, d.ObjectType, d.ObjectID, jsonOrNil(d.Before), jsonOrNil(d.After), d.Result,
		d.DistrictCode, d.TownshipCode, source, eventID)
	if err != nil {
		return fmt.Errorf("insert op_log: %w", err)
	}
	return nil
}

func insertLogin(ctx context.Context, tx pgx.Tx, source, eventID string, d events.AuditLoginRecordedData) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit.login_log (at, user_id, username, ip, device, result, reason, location, source, event_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		d.At, d.UserID, d.Username, d.IP, d.Device, d.Result, d.Reason, Locate(d.IP), source, eventID)
	if err != nil {
		return fmt.Errorf("insert login_log: %w", err)
	}
	return nil
}

// jsonOrNil keeps an absent state SQL NULL rather than the JSON null.
func jsonOrNil(raw []byte) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return string(raw)
}
