package auditlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// FP-8: the operation row is an outbox event of the caller's
// transaction: rolled back, nothing goes out; committed, exactly one event
// with the before and after state.
func TestRecordIsPartOfTheTransaction(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 23, 59, 59, 0, time.FixedZone("CST", 8*3600))
	op := Operation{At: at, UserID: "u1", Username: "admin", IP: "10.0.0.1", Action: "role.edit", ObjectType: "role", ObjectID: "r1",
		Before: map[string]any{"perms": []string{"a"}}, After: json.RawMessage(`{"perms":["a","b"]}`)}
	rollback := errors.New("rollback")
	if err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := Record(ctx, tx, "/functions/identity", op); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := Record(ctx, tx, "/functions/identity", op); err != nil {
			return err
		}
		return RecordLogin(ctx, tx, "/functions/identity", Login{At: at, Username: "13812345678", IP: "1.2.3.4", Result: ResultFailure, Reason: "用户不存在"})
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT event_type, source, subject, event->'data' FROM platform.outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		typ, source, subject string
		data                 []byte
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.typ, &x.source, &x.subject, &x.data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].typ != events.AuditOperationRecorded || got[0].subject != "role/r1" || got[0].source != "/functions/identity" ||
		got[1].typ != events.AuditLoginRecorded || got[1].subject != "" {
		t.Fatalf("outbox = %+v", got)
	}
	var d events.AuditOperationRecordedData
	if err := json.Unmarshal(got[0].data, &d); err != nil {
		t.Fatal(err)
	}
	if !d.At.Equal(at) || d.Result != ResultSuccess || compact(d.Before) != `{"perms":["a"]}` || compact(d.After) != `{"perms":["a","b"]}` {
		t.Errorf("operation data = %+v (before %s, after %s)", d, d.Before, d.After)
	}
	var l events.AuditLoginRecordedData
	if err := json.Unmarshal(got[1].data, &l); err != nil || l.Username != "13812345678" || l.Result != ResultFailure {
		t.Errorf("login data = %+v, %v", l, err)
	}
}

// compact drops the whitespace jsonb adds.
func compact(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

func TestEntriesAreBoundedAndChecked(t *testing.T) {
	for name, op := range map[string]Operation{
		"no-action":    {Action: "  "},
		"bad-json":     {Action: "x", Before: json.RawMessage(`{`)},
		"bad-district": {Action: "x", DistrictCode: "13010"},
		"unencodable":  {Action: "x", After: func() {}},
	} {
		if _, err := op.Data(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Data = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := (Login{Result: "maybe"}).Data(); !errors.Is(err, ErrInvalid) {
		t.Errorf("login with result maybe: %v", err)
	}
	d, err := Operation{Action: "bulk", After: map[string]string{"x": strings.Repeat("a", MaxState)},
		Username: strings.Repeat("长", 300) + "\xff"}.Data()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(d.After), `"truncated":true`) || len([]rune(d.Username)) != 200 || d.At.IsZero() || d.At.Location() != time.UTC {
		t.Errorf("bounded data: after %.60s, username %d runes, at %v", d.After, len([]rune(d.Username)), d.At)
	}
	if d, _ := (Operation{Action: "x", Before: nil, After: []byte("null")}).Data(); d.Before != nil || d.After != nil {
		t.Errorf("empty states: %s %s", d.Before, d.After)
	}
}
