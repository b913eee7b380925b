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

func TestValidate(t *testing.T) { // FP-129
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
		// FP-129: a warning's level is one of the four colours; a kind needs a level.
		"bad-warning-level": {Title: "t", All: true, WarningLevel: "purple"},
		"kind-no-level":     {Title: "t", All: true, WarningKind: "食品安全"},
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
	if len(got) != 1 || got[0].typ != events.NotifyNoticeRequested || got[0].source != "/functions/registry" || got[0].subject != "job-1" {
		t.Fatalf("outbox = %+v", got)
	}
	var d events.NoticeRequestedData
	if err := json.Unmarshal(got[0].data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Title != "导入完成" || !d.Popup || d.Target.DeptIDs[0] != "d1" || d.Producer != "registry" {
		t.Errorf("payload = %+v", d)
	}
}

// Notice links (issue 10): only a path of this site, or an https address
// whose origin is on the allow-list; javascript:, data:, protocol-relative
// and look-alike addresses are refused.
func TestCheckLink(t *testing.T) {
	allowed := []string{"https://amr.sjz.gov.cn", "https://12315.sjz.gov.cn/"}
	for _, ok := range []string{"", "/console/#/security/alerts", "/console/#/messages?id=3", "/q/AbCd",
		"https://amr.sjz.gov.cn/notice/1", "https://AMR.sjz.gov.cn", "https://12315.sjz.gov.cn/x?y=1#z"} {
		if err := CheckLink(ok, allowed); err != nil {
			t.Errorf("CheckLink(%q) = %v, want accepted", ok, err)
		}
	}
	for _, bad := range []string{"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
		"data:text/html,<script>alert(1)</script>", "vbscript:x", "//evil.example/console", "/\\evil.example", "\\\\evil.example",
		"https://evil.example/", "http://amr.sjz.gov.cn/", "https://amr.sjz.gov.cn.evil.example/", "https://amr.sjz.gov.cn@evil.example/",
		"https://user@amr.sjz.gov.cn/", "console/#/x", "ftp://amr.sjz.gov.cn/", "/console/\x00", "mailto:a@b.cn"} {
		if err := CheckLink(bad, allowed); !errors.Is(err, ErrLink) {
			t.Errorf("CheckLink(%q) = %v, want ErrLink", bad, err)
		}
	}
	// A producer's notice carries no allow-list: even an allowed address is
	// refused there, so an external link is a decision of notify's operator.
	if err := (Notice{Title: "t", All: true, Link: "https://amr.sjz.gov.cn/x"}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate with an absolute link = %v", err)
	}
	if err := (Notice{Title: "t", All: true, Link: "javascript:alert(1)"}).Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("Validate with javascript: = %v", err)
	}
}
