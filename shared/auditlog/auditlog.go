// Package auditlog is how every function writes the audit logs (FP-7,
// FP-8): Record and RecordLogin put a CloudEvent into platform.outbox
// inside the caller's transaction, so the log row exists exactly when the
// change (or the login attempt) commits, and the audit function stores it
// once per event id. Nothing is lost while audit is down: the event waits
// in the outbox and the Broker.
//
//	err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
//	    … the change …
//	    return auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: p.UserID, Username: p.Username,
//	        IP: httpx.ClientIP(r), Action: "role.edit", ObjectType: "role", ObjectID: id, Before: old, After: new})
//	})
package auditlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Results of an operation or a login attempt.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// MaxState bounds the encoded before or after state of one operation. A
// larger state (a bulk change) is recorded as {"truncated":true,"bytes":N}
// rather than failing the change or filling the Broker with one event.
const MaxState = 64 << 10

// ErrInvalid reports an entry the log cannot hold.
var ErrInvalid = errors.New("auditlog: invalid entry")

// Operation is one operation log row (FP-8). Before and After are the
// object's state around the change (nil for none), with personal data
// already masked by the caller; json.RawMessage and []byte pass as they are.
type Operation struct {
	At                           time.Time // zero means now
	UserID, Username, IP         string
	Action, ObjectType, ObjectID string
	// DistrictCode and TownshipCode place an operation on a market entity,
	// so the auditor's data scope applies to its row.
	DistrictCode, TownshipCode string
	Before, After              any
	Result                     string // "" means ResultSuccess
}

// Login is one login attempt (FP-7). Username is what was typed, which may
// name no account.
type Login struct {
	At                                           time.Time // zero means now
	UserID, Username, IP, Device, Result, Reason string
}

// Record puts op into tx's outbox; it reaches the operation log only if tx
// commits. source is the producing function's CloudEvent source
// ("/functions/identity").
func Record(ctx context.Context, tx pgx.Tx, source string, op Operation) error {
	e, err := op.Event(source)
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, e)
}

// RecordLogin puts l into tx's outbox; it reaches the login log only if tx
// commits.
func RecordLogin(ctx context.Context, tx pgx.Tx, source string, l Login) error {
	e, err := l.Event(source)
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, e)
}

// Data is the event payload of op, bounded and validated.
func (op Operation) Data() (events.AuditOperationRecordedData, error) {
	d := events.AuditOperationRecordedData{At: op.At, UserID: clip(op.UserID, 100), Username: clip(op.Username, 200),
		IP: clip(op.IP, 100), Action: clip(strings.TrimSpace(op.Action), 200), ObjectType: clip(op.ObjectType, 100),
		ObjectID: clip(op.ObjectID, 200), DistrictCode: op.DistrictCode, TownshipCode: op.TownshipCode,
		Result: clip(strings.TrimSpace(op.Result), 100)}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	d.At = d.At.UTC()
	if d.Result == "" {
		d.Result = ResultSuccess
	}
	if d.Action == "" {
		return d, fmt.Errorf("%w: action is required", ErrInvalid)
	}
	if !digits(d.DistrictCode, 6) || !digits(d.TownshipCode, 9) {
		return d, fmt.Errorf("%w: district %q or township %q is not a division code", ErrInvalid, d.DistrictCode, d.TownshipCode)
	}
	var err error
	if d.Before, err = state(op.Before); err != nil {
		return d, fmt.Errorf("%w: before: %v", ErrInvalid, err)
	}
	if d.After, err = state(op.After); err != nil {
		return d, fmt.Errorf("%w: after: %v", ErrInvalid, err)
	}
	return d, nil
}

// Event is op as the CloudEvent Record stores; its subject is
// "<object type>/<object id>".
func (op Operation) Event(source string) (event.Event, error) {
	d, err := op.Data()
	if err != nil {
		return event.Event{}, err
	}
	subject := d.ObjectType
	if d.ObjectID != "" {
		subject += "/" + d.ObjectID
	}
	return outbox.NewEvent(source, events.AuditOperationRecorded, subject, d, d.At)
}

// Data is the event payload of l, bounded and validated.
func (l Login) Data() (events.AuditLoginRecordedData, error) {
	d := events.AuditLoginRecordedData{At: l.At, UserID: clip(l.UserID, 100), Username: clip(l.Username, 200),
		IP: clip(l.IP, 100), Device: clip(l.Device, 500), Result: l.Result, Reason: clip(l.Reason, 500)}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	d.At = d.At.UTC()
	if d.Result != ResultSuccess && d.Result != ResultFailure {
		return d, fmt.Errorf("%w: login result %q", ErrInvalid, d.Result)
	}
	return d, nil
}

// Event is l as the CloudEvent RecordLogin stores; its subject is the
// user id, when the attempt named an account.
func (l Login) Event(source string) (event.Event, error) {
	d, err := l.Data()
	if err != nil {
		return event.Event{}, err
	}
	return outbox.NewEvent(source, events.AuditLoginRecorded, d.UserID, d, d.At)
}

// state encodes a before/after state; raw JSON passes as it is.
func state(v any) (json.RawMessage, error) {
	var raw []byte
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		raw = x
	case []byte:
		raw = x
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("not valid JSON")
	}
	if len(raw) > MaxState {
		return json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(raw))), nil
	}
	return raw, nil
}

// clip bounds a field to n characters, keeping valid UTF-8 (a typed
// username may be anything).
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func digits(s string, n int) bool {
	if s == "" {
		return true
	}
	if len(s) != n {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
