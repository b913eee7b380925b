package notify

import (
	"embed"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	sharednotify "github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

//go:embed testdata/identity-notify/*.sql
var identityNotify embed.FS

const (
	noticeContent = `SELECT concat_ws('|', id, event_id, created_at, title, body, level, kind, link, popup, producer,
		target_all, target_users, target_depts, target_roles) FROM %s.notices ORDER BY id`
	readContent = `SELECT concat_ws('|', user_id, notice_id, read_at) FROM %s.notice_reads ORDER BY user_id, notice_id`
)

func rowsOf(t *testing.T, q store.Querier, sql string) []string {
	t.Helper()
	rows, err := q.Query(ctx, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Existing data moves (issue 23): an upgraded database's notices and read
// marks move into schema notify with their ids, counts and contents equal;
// the old tables and their stream's history are gone; a notice asked for
// before the move and delivered again after it is not stored twice; the
// read marks still count.
func TestMoveFromIdentity(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t, store.Migration{Component: "identity-notify", FS: identityNotify, Dir: "testdata/identity-notify"})
	var lastEvent string
	for i := range 30 {
		lastEvent = fmt.Sprintf("old-event-%d", i)
		if _, err := pool.Exec(ctx, `INSERT INTO identity.notices (event_id, created_at, title, body, level, kind, link, popup, producer,
			target_all, target_users, target_depts, target_roles) VALUES ($1, $2, $3, $4, $5, 'security_alert', '/console/#/security/alerts', $6, 'identity',
			$7, $8, '{}', $9)`, lastEvent, time.Date(2026, 11, 1+i%28, 9, 0, 0, 0, time.UTC), fmt.Sprintf("通知 %d 𠮷", i), "正文|"+fmt.Sprint(i),
			[]string{"info", "warning", "alert"}[i%3], i%2 == 0, i%5 == 0, []string{"u-clerk"}, []string{"secadmin"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO identity.notice_reads (user_id, notice_id, read_at) SELECT 'u-clerk', id, now() FROM identity.notices WHERE id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	notices, reads := rowsOf(t, pool, fmt.Sprintf(noticeContent, "identity")), rowsOf(t, pool, fmt.Sprintf(readContent, "identity"))
	if err := store.Migrate(ctx, pool, Migrations()...); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, pool, fmt.Sprintf(noticeContent, "notify")); strings.Join(got, "\n") != strings.Join(notices, "\n") || len(got) != 30 {
		t.Errorf("notices: %d before, %d after, contents differ", len(notices), len(got))
	}
	if got := rowsOf(t, pool, fmt.Sprintf(readContent, "notify")); strings.Join(got, "\n") != strings.Join(reads, "\n") || len(got) != 10 {
		t.Errorf("read marks: %d before, %d after, contents differ", len(reads), len(got))
	}
	var gone bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('identity.notices') IS NULL AND to_regclass('identity.notice_reads') IS NULL
		AND NOT EXISTS (SELECT 1 FROM public.schema_migrations WHERE component = 'identity-notify')`).Scan(&gone); err != nil || !gone {
		t.Errorf("old tables or their history remain: %v", err)
	}
	// The moved notices are read as before, new ones continue the ids, and
	// a redelivered old event is not stored again.
	e := &env{t: t, pool: pool, iss: authtest.NewIssuer(t), channel: "test:notify:" + uniq()}
	f := e.replica(nil)
	if n, _, err := f.Unread(ctx, clerk); err != nil || n != 20 {
		t.Errorf("clerk's unread after the move = %d, %v (want 20)", n, err)
	}
	redelivered := noticeEvent(t, events.IdentityNoticeRequested, sharednotify.Notice{Title: "通知 29 𠮷", UserIDs: []string{"u-clerk"}})
	redelivered.SetID(lastEvent)
	if _, err := f.Receive(ctx, redelivered); err != nil {
		t.Fatal(err)
	}
	receive(t, f, sharednotify.Notice{Title: "迁移后", UserIDs: []string{"u-clerk"}})
	var total, after int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE title = '迁移后' AND id > 30) FROM notify.notices`).Scan(&total, &after); err != nil || total != 31 || after != 1 {
		t.Errorf("after the move: %d notices, %d new after the moved ids (%v)", total, after, err)
	}
}
