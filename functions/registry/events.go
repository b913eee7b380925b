package registry

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Receive handles the events the registry's Triggers route to it: the
// nightly PingSource refreshes the statistics snapshot, and inspections
// recorded by scanning join the entity's file. Others are acknowledged
// and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.ScanInspectionRecorded:
		return nil, f.receiveInspection(ctx, e)
	case events.ConnectorRecordReceived:
		return nil, f.receiveConnectorRecord(ctx, e)
	case events.Ping:
		data, err := events.Decode[events.PingData](e)
		if err != nil || data["task"] != "refresh-stats" {
			return nil, err
		}
		_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error { return refreshStats(ctx, tx, f.now()) })
		return nil, err
	}
	return nil, nil
}

// receiveInspection adds an inspection recorded on the spot by scan-resolve
// (FP-30, FP-32) to the entity's file, once per event, and emits
// entity.updated in the same transaction so cached public pages refresh.
func (f *Function) receiveInspection(ctx context.Context, e event.Event) error {
	d, err := events.Decode[events.ScanInspectionRecordedData](e)
	if err != nil {
		return err
	}
	in, err := inspectionRecord(d)
	if err != nil {
		return err
	}
	code := strings.ToUpper(d.CreditCode)
	_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
		old, err := getEntity(ctx, tx, code, true)
		if errors.Is(err, errs.ErrNotFound) {
			// Never succeeds on retry: answer 400 so the broker dead-letters it.
			return errs.Wrap(errs.Invalid, "检查记录对应的市场主体不存在", err)
		}
		if err != nil {
			return err
		}
		rec, err := insertRecord(ctx, tx, code, in, f.now())
		if err != nil {
			return err
		}
		ent, err := scanEntity(tx.QueryRow(ctx, `UPDATE registry.entities SET version = version + 1, updated_at = $2
			WHERE credit_code = $1 RETURNING `+entityColumns, code, f.now()))
		if err != nil {
			return err
		}
		if err := f.audit(ctx, tx, auditlog.System(Name), "registry.record.create", ent, nil, rec); err != nil {
			return err
		}
		return f.recordUpdate(ctx, tx, old, ent, []string{"records." + in.Kind})
	})
	return err
}

// inspectionRecord maps the event to a record. The details keep what the
// public page shows (items, conclusion, remarks, photo count) and the
// inspection id; the inspector's identity stays in scan-resolve.
func inspectionRecord(d events.ScanInspectionRecordedData) (RecordInput, error) {
	details, err := json.Marshal(map[string]any{
		"inspection_id": d.InspectionID, "items": d.Items, "conclusion": d.Conclusion,
		"remarks": d.Remarks, "photos": len(d.Photos), "source": "scan",
	})
	if err != nil {
		return RecordInput{}, err
	}
	in := RecordInput{Kind: d.Kind, RefNo: d.InspectionID, Title: d.Title, Authority: d.Authority,
		OccurredOn: d.InspectedOn, Status: d.Conclusion, Details: details}
	if in.Kind != "inspection" && in.Kind != "spot_check" {
		return in, errs.New(errs.Invalid, "检查记录类型应为 inspection 或 spot_check")
	}
	if err := in.Validate(); err != nil {
		return in, err
	}
	return in, nil
}

// receiveConnectorRecord adds a record a connector pulled from an outside
// system (FP-14, 15, 19–21) to the entity's file, or replaces the one the
// same remote record made before (source_key), once per event, with the
// operation log row and entity.updated in the same transaction.
func (f *Function) receiveConnectorRecord(ctx context.Context, e event.Event) error {
	d, err := events.Decode[events.ConnectorRecordReceivedData](e)
	if err != nil {
		return err
	}
	details, err := json.Marshal(d.Details)
	if err != nil {
		return err
	}
	public := d.Public
	in := RecordInput{Kind: d.Kind, RefNo: d.RefNo, Title: d.Title, Authority: d.Authority, OccurredOn: d.OccurredOn,
		Status: d.Status, Public: &public, Details: details}
	if err := in.Validate(); err != nil {
		return err // 400: dead-lettered, a retry cannot fix it
	}
	if d.SourceKey == "" {
		return errs.New(errs.Invalid, "对接记录缺少来源标识")
	}
	code := strings.ToUpper(d.CreditCode)
	_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
		old, err := getEntity(ctx, tx, code, true)
		if errors.Is(err, errs.ErrNotFound) {
			return errs.Wrap(errs.Invalid, "对接记录对应的市场主体不存在", err)
		}
		if err != nil {
			return err
		}
		var before any
		if prev, err := scanRecord(tx.QueryRow(ctx, `SELECT `+recordColumns+` FROM registry.records WHERE source_key = $1 FOR UPDATE`, d.SourceKey)); err == nil {
			before = prev
			if _, err := tx.Exec(ctx, `DELETE FROM registry.records WHERE id = $1`, prev.ID); err != nil {
				return err
			}
		} else if !errors.Is(err, errs.ErrNotFound) {
			return err
		}
		rec, err := insertRecord(ctx, tx, code, in, f.now())
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE registry.records SET source_key = $2 WHERE id = $1`, rec.ID, d.SourceKey); err != nil {
			return err
		}
		ent, err := scanEntity(tx.QueryRow(ctx, `UPDATE registry.entities SET version = version + 1, updated_at = $2
			WHERE credit_code = $1 RETURNING `+entityColumns, code, f.now()))
		if err != nil {
			return err
		}
		action := "registry.record.create"
		if before != nil {
			action = "registry.record.update"
		}
		if err := f.audit(ctx, tx, auditlog.System(Name+":"+d.Connector), action, ent, before, rec); err != nil {
			return err
		}
		return f.recordUpdate(ctx, tx, old, ent, []string{"records." + in.Kind})
	})
	return err
}
