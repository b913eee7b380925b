package notify

import (
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

func TestValidate(t *testing.T) {
	ok := Notice{Title: "标题", Roles: []string{"secadmin"}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]Notice{
		"no-title":   {Title: "  ", All: true},
		"long-title": {Title: strings.Repeat("长", 201), All: true},
		"long-body":  {Title: "t", Body: strings.Repeat("x", 4001), All: true},
		"no-target":  {Title: "t"},
		"bad-level":  {Title: "t", All: true, Level: "urgent"},
	} {
		if err := n.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
	d := Notice{Title: " 标题 ", UserIDs: []string{"u1"}, At: time.Date(2026, 1, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))}.Data("/functions/registry")
	if d.Level != LevelInfo || d.Title != "标题" || d.Producer != "registry" || d.RequestedAt.Location() != time.UTC {
		t.Errorf("Data = %+v", d)
	}
}

func TestPostRecordsEventInTransaction(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	n := Notice{Title: "导入完成", Body: "共 3 条", Kind: "import", Popup: true, DeptIDs: []string{"d1"}, Subject: "job-1"}
	// Rolled back: nothing goes out.
	errRollback := errors.New("rollback")
	err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := Post(ctx, tx, "/functions/registry", n); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if err := store.InTx(ctx, pool, func(tx pgx.Tx) error { return Post(ctx, tx, "/functions/registry", n) }); err != nil {
		t.Fatal(err)
	}
	if err := store.InTx(ctx, pool, func(tx pgx.Tx) error { return Post(ctx, tx, "/functions/registry", Notice{Title: "x"}) }); !errors.Is(err, ErrInvalid) {
		t.Errorf("Post without target = %v", err)
	}
	rows, err := pool.Query(ctx, `SELECT event_type, source, subject, event->'data' FROM platform.outbox`)
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
	if len(got) != 1 || got[0].typ != events.IdentityNoticeRequested || got[0].source != "/functions/registry" || got[0].subject != "job-1" {
		t.Fatalf("outbox = %+v", got)
	}
	var d events.IdentityNoticeRequestedData
	if err := json.Unmarshal(got[0].data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title != "导入完成" || !d.Popup || d.Target.DeptIDs[0] != "d1" || d.Producer != "registry" {
		t.Errorf("payload = %+v", d)
	}
}
