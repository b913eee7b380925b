package audit

import (
	"context"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// MaintainTask is the PingSource data task that runs Maintain.
const MaintainTask = "audit-maintain"

// Receive stores operation and login rows once per event id, raising the
// alerts a login row calls for, and runs Maintain on the daily tick. A row
// that can never be stored answers invalid (the Broker does not retry it);
// anything else fails so the Broker retries, and the event waits there.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.AuditOperationRecorded:
		d, err := events.Decode[events.AuditOperationRecordedData](e)
		if err != nil {
			return nil, err
		}
		if err := checkOp(d); err != nil {
			return nil, err
		}
		return nil, f.ingest(ctx, e, "op_log", d.At, func(tx pgx.Tx) error {
			return insertOp(ctx, tx, producer(e), e.ID(), d)
		})
	case events.AuditLoginRecorded:
		d, err := events.Decode[events.AuditLoginRecordedData](e)
		if err != nil {
			return nil, err
		}
		if err := checkLogin(d); err != nil {
			return nil, err
		}
		return nil, f.ingest(ctx, e, "login_log", d.At, func(tx pgx.Tx) error {
			if err := insertLogin(ctx, tx, producer(e), e.ID(), d); err != nil {
				return err
			}
			return f.watch(ctx, tx, d)
		})
	case events.Ping:
		data, err := events.Decode[events.PingData](e)
		if err != nil || data["task"] != MaintainTask {
			return nil, nil // another schedule's tick
		}
		// Maintain is idempotent and locks against other replicas, so a
		// redelivered tick is harmless.
		_, err = f.Maintain(ctx)
		return nil, err
	}
	return nil, nil
}

// ingest writes one row under the event's inbox mark: a redelivery is a
// no-op. The month's partition is made sure of first, outside the row's
// transaction; a partition archived since is made again.
func (f *Function) ingest(ctx context.Context, e event.Event, parent string, at time.Time, write func(pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		if err := f.ensurePartition(ctx, parent, at); err != nil {
			return err
		}
		_, err := outbox.Once(ctx, f.pool, Consumer, e, write)
		if err != nil && noPartition(err) && attempt == 0 {
			f.forget()
			continue
		}
		return err
	}
}

// producer is the function that recorded the event ("identity").
func producer(e event.Event) string { return path.Base(e.Source()) }

func checkOp(d events.AuditOperationRecordedData) error {
	var fe []errs.FieldError
	if d.At.IsZero() {
		fe = append(fe, errs.FieldError{Field: "at", Message: "缺少操作时间"})
	}
	if strings.TrimSpace(d.Action) == "" || utf8.RuneCountInString(d.Action) > 200 {
		fe = append(fe, errs.FieldError{Field: "action", Message: "操作名称应为 1 至 200 个字符"})
	}
	if strings.TrimSpace(d.Result) == "" || utf8.RuneCountInString(d.Result) > 100 {
		fe = append(fe, errs.FieldError{Field: "result", Message: "操作结果应为 1 至 100 个字符"})
	}
	for _, s := range []string{d.UserID, d.Username, d.IP, d.ObjectType, d.ObjectID, d.DistrictCode, d.TownshipCode} {
		if utf8.RuneCountInString(s) > 200 || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			fe = append(fe, errs.FieldError{Field: "data", Message: "字段过长或含无效字符"})
			break
		}
	}
	return invalid(fe)
}

func checkLogin(d events.AuditLoginRecordedData) error {
	var fe []errs.FieldError
	if d.At.IsZero() {
		fe = append(fe, errs.FieldError{Field: "at", Message: "缺少登录时间"})
	}
	if d.Result != ResultSuccess && d.Result != ResultFailure {
		fe = append(fe, errs.FieldError{Field: "result", Message: "登录结果应为 success 或 failure"})
	}
	for _, s := range []string{d.UserID, d.Username, d.IP, d.Device, d.Reason} {
		if utf8.RuneCountInString(s) > 500 || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			fe = append(fe, errs.FieldError{Field: "data", Message: "字段过长或含无效字符"})
			break
		}
	}
	return invalid(fe)
}

func invalid(fe []errs.FieldError) error {
	if len(fe) == 0 {
		return nil
	}
	return &errs.Error{Code: errs.Invalid, Message: "审计事件数据不完整，无法记录", Fields: fe}
}
