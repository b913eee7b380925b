package notify

import (
	"net/http"
	"testing"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
)

// FP-8: publishing an announcement leaves an operation-log row naming the
// person, the requested notice and what was published.
func TestOpLogNoticeCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := e.serve(e.replica(nil))
	publisher := *secadmin
	publisher.Perms = []string{"notify.notice:create"}
	if code, body := call(t, srv.URL, "POST", "/notify/v1/notices", e.iss.Token(publisher),
		`{"title":"系统维护通知","body":"今晚 22 时维护","level":"info","all":true}`); code != http.StatusAccepted {
		t.Fatalf("create: %d %s", code, body)
	}
	var noticeID string
	if err := e.pool.QueryRow(ctx, `SELECT event->>'id' FROM platform.outbox WHERE event_type = $1`, events.NotifyNoticeRequested).Scan(&noticeID); err != nil {
		t.Fatal(err)
	}
	ops := auditlogtest.Ops(t, e.pool, noticeID)
	if len(ops) != 1 {
		t.Fatalf("want one create; got %+v", ops)
	}
	o := ops[0]
	if o.Action != "notify.notice.create" || o.ObjectType != "notice" || o.UserID != "u-sec" || o.Before != nil ||
		auditlogtest.Field(o.After, "title") != "系统维护通知" || auditlogtest.Field(o.After, "all") != "true" {
		t.Errorf("create: %+v %s", o, o.After)
	}
}
