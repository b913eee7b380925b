package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// row is one platform.outbox row as the relay reads it.
type row struct {
	id, typ, source, subject string
	raw                      []byte
	ev                       event.Event
}

func rows(t *testing.T, pool *pgxpool.Pool) []row {
	t.Helper()
	rs, err := pool.Query(context.Background(), `SELECT event_id::text, event_type, source, subject, event FROM platform.outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
		var x row
		if err := r.Scan(&x.id, &x.typ, &x.source, &x.subject, &x.raw); err != nil {
			return x, err
		}
		return x, json.Unmarshal(x.raw, &x.ev)
	})
	if err != nil {
		t.Fatalf("outbox rows do not decode as CloudEvents: %v", err)
	}
	return out
}

// strict decodes an event's data into T refusing fields T does not have,
// so a misspelt key in the SQL that built it cannot pass unnoticed.
func strict[T any](t *testing.T, e event.Event) T {
	t.Helper()
	v, err := events.Decode[T](e)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(e.Data()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(new(T)); err != nil {
		t.Fatalf("%s data %s: %v", e.Type(), e.Data(), err)
	}
	return v
}

func keys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}

// TestRecordSelectMatchesNewEvent records a set of qr.batch-issued and
// qr.issued events from SELECTs shaped like bulk issuance's, and checks
// that every row is the CloudEvent NewEvent would have built: the
// envelope's columns and attributes, the template's time to the
// nanosecond, and data that decodes strictly into the events structs.
func TestRecordSelectMatchesNewEvent(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 9, 30, 15, 123456789, time.FixedZone("CST", 8*3600))
	const source, base = "/functions/qr-generate", "http://localhost:8080/q/"
	ref, err := outbox.NewEvent(source, events.QRIssued, "91130102MA0A1B2C2T", events.QRIssuedData{
		Token: "AbCdEfGh12345678", CreditCode: "91130102MA0A1B2C2T", URL: base + "AbCdEfGh12345678", IssuedAt: at}, at)
	if err != nil {
		t.Fatal(err)
	}
	var batch, single int64
	err = store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := outbox.Record(ctx, tx, ref); err != nil {
			return err
		}
		// 2500 codes in groups of at most 1000: three events.
		if batch, err = outbox.RecordSelect(ctx, tx, outbox.Template{Source: source, Type: events.QRBatchIssued, Time: at},
			`SELECT 'b1-' || grp, jsonb_build_object('batch_id', 'b1', 'base_url', $1::text, 'issued_at', $2::text,
				'codes', jsonb_agg(jsonb_build_object('token', 'T' || lpad(i::text, 15, '0'), 'credit_code', 'C' || i) ORDER BY i))
			FROM (SELECT i, (i - 1) / 1000 AS grp FROM generate_series(1, 2500) i) s GROUP BY grp ORDER BY grp`,
			base, types.FormatTime(at)); err != nil {
			return err
		}
		single, err = outbox.RecordSelect(ctx, tx, outbox.Template{Source: source, Type: events.QRIssued, Time: at},
			`SELECT c, jsonb_build_object('token', tok, 'credit_code', c, 'url', $1::text || tok, 'issued_at', $2::text)
			FROM (VALUES ('91130102MA0A1B2C3U', 'ZyXwVuTs98765432'), (NULL, 'NoSubject0000000')) v (c, tok)`,
			base, types.FormatTime(at))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if batch != 3 || single != 2 {
		t.Fatalf("RecordSelect recorded %d batch and %d single events, want 3 and 2", batch, single)
	}
	all := rows(t, pool)
	if len(all) != 6 {
		t.Fatalf("%d outbox rows, want 6", len(all))
	}
	refKeys := keys(t, all[0].raw)
	ids := map[string]bool{}
	codes := 0
	for i, r := range all {
		e := r.ev
		if err := e.Validate(); err != nil {
			t.Errorf("row %d is not a valid CloudEvent: %v", i, err)
		}
		if e.ID() != r.id || e.Type() != r.typ || e.Source() != r.source || e.Subject() != r.subject || ids[r.id] {
			t.Errorf("row %d: columns (%s %s %s %q) disagree with the event (%s %s %s %q), or its id repeats",
				i, r.id, r.typ, r.source, r.subject, e.ID(), e.Type(), e.Source(), e.Subject())
		}
		ids[r.id] = true
		if e.SpecVersion() != event.CloudEventsVersionV1 || e.DataContentType() != event.ApplicationJSON || !e.Time().Equal(at) || e.Source() != source {
			t.Errorf("row %d: envelope %s", i, r.raw)
		}
		want := refKeys
		if r.subject == "" {
			want = slices.DeleteFunc(slices.Clone(refKeys), func(k string) bool { return k == "subject" })
		}
		if got := keys(t, r.raw); !slices.Equal(got, want) {
			t.Errorf("row %d has attributes %v, NewEvent's have %v", i, got, want)
		}
		switch {
		case i == 0:
		case r.typ == events.QRBatchIssued:
			d := strict[events.QRBatchIssuedData](t, e)
			if d.BatchID != "b1" || d.BaseURL != base || !d.IssuedAt.Equal(at) || len(d.Codes) == 0 || len(d.Codes) > 1000 ||
				r.subject != fmt.Sprintf("b1-%d", i-1) || d.Codes[0].Token == "" || d.Codes[0].CreditCode == "" {
				t.Errorf("row %d: batch event %s: %+v", i, r.subject, d)
			}
			codes += len(d.Codes)
		default:
			d := strict[events.QRIssuedData](t, e)
			if d.Token == "" || d.URL != base+d.Token || !d.IssuedAt.Equal(at) || d.CreditCode != r.subject {
				t.Errorf("row %d: issued event %+v, subject %q", i, d, r.subject)
			}
		}
	}
	if codes != 2500 {
		t.Errorf("batch events carry %d codes, want 2500", codes)
	}
	if all[5].subject != "" || all[4].subject != "91130102MA0A1B2C3U" {
		t.Errorf("subjects %q, %q: want the credit code, then none for a NULL", all[4].subject, all[5].subject)
	}
}

// Nothing is recorded unless the transaction commits, and a template or
// query that cannot make events is refused.
func TestRecordSelectRollsBackAndRefuses(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	tmpl := outbox.Template{Source: "/functions/test", Type: events.QRIssued, Time: time.Now()}
	err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		n, err := outbox.RecordSelect(ctx, tx, tmpl, `SELECT 's', '{}'::jsonb FROM generate_series(1, 5)`)
		if err != nil || n != 5 {
			t.Errorf("RecordSelect = %d, %v; want 5", n, err)
		}
		return fmt.Errorf("the command fails after recording")
	})
	if err == nil {
		t.Fatal("the failing transaction committed")
	}
	if n := len(rows(t, pool)); n != 0 {
		t.Errorf("%d events of a rolled-back transaction, want 0", n)
	}
	for name, c := range map[string]struct {
		tmpl  outbox.Template
		query string
	}{
		"no type":  {outbox.Template{Source: "/x", Time: time.Now()}, `SELECT 's', '{}'::jsonb`},
		"no time":  {outbox.Template{Source: "/x", Type: events.QRIssued}, `SELECT 's', '{}'::jsonb`},
		"no data":  {tmpl, `SELECT 's'`},
		"not json": {tmpl, `SELECT 's', 'not json'`},
	} {
		err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, err := outbox.RecordSelect(ctx, tx, c.tmpl, c.query)
			return err
		})
		if err == nil {
			t.Errorf("%s: RecordSelect accepted it", name)
		}
	}
	if n := len(rows(t, pool)); n != 0 {
		t.Errorf("%d events recorded by refused calls", n)
	}
}
