package documents

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// dumpRows is every row of every backed-up table, in key order, as JSON.
func dumpRows(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range backupTables {
		rows, err := pool.Query(context.Background(), `SELECT to_jsonb(t)::text FROM docs.`+tb.name+` t ORDER BY `+tb.order)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out[tb.name] = append(out[tb.name], s)
		}
		rows.Close()
	}
	return out
}

// dumpObjects is every stored object under docs/ with its SHA-256.
func dumpObjects(t *testing.T, b *blob.Dir) map[string]string {
	t.Helper()
	list, err := b.List(context.Background(), objectPrefix, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range list {
		data, err := readAll(context.Background(), b, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[o.Key] = sha256Hex(data)
	}
	return out
}

// FP-41. A backup holds every document row and every stored file with a
// manifest of hashes, in a prefix of its own; restored into an empty
// database and an empty object store, every row and every object is
// exactly what was backed up, and the restored documents work.
func TestBackupRestore(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	e1 := enterprise("e1")
	rev := reviewer("r1", "130102")
	// Data of every kind: template versions, document versions, events,
	// grants, links, published files, a correction (two published PDFs).
	if _, err := h.f.UpdateTemplate(ctx, actor{ID: "a", Name: "作者"}, "pledge_data", func() TemplateInput {
		tp := tp2(t, h, "pledge_data")
		return TemplateInput{Kind: tp.Kind, Title: "数据保护承诺书", Body: tp.Body, Fields: tp.Fields, Version: tp.Version}
	}()); err != nil {
		t.Fatal(err)
	}
	d := h.newRepair(t, e1, h.changan)
	a, ra := actorOf(&e1, "10.0.0.1"), actorOf(&rev, "10.0.0.2")
	if _, err := h.f.AddGrant(ctx, &e1, a, d.ID, GrantInput{Kind: "role", ID: "inspector", Perms: []string{"read", "print"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.CreateLink(ctx, &e1, a, d.ID, LinkInput{Format: "pdf"}); err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { _, err := h.f.Submit(ctx, &e1, a, d.ID); return err },
		func() error { _, err := h.f.Review(ctx, &rev, ra, d.ID, ReviewInput{Decision: "approve"}); return err },
		func() error { _, err := h.f.Publish(ctx, &rev, ra, d.ID); return err },
		func() error {
			v := clone(d.Values)
			v["contact"] = "王强"
			_, err := h.f.Correct(ctx, &rev, ra, d.ID, CorrectInput{Values: v, Note: "联系人变更", Version: "1.0.0"})
			return err
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	h.newRepair(t, e1, h.changan) // a draft too

	var run BackupRun
	h.must(t, 201, h.bearer(authtest.CityWide(PermBackup+":create")), "POST", "/docs/v1/backups", nil, &run)
	if run.Status != "done" || run.Objects != 4 || run.Rows == 0 || !strings.HasPrefix(run.Prefix, "backups/docs/manual/20260302T090000Z-") ||
		len(run.ManifestSHA256) != 64 {
		t.Fatalf("backup %+v", run)
	}
	raw, err := readAll(ctx, h.blob, run.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if sha256Hex(raw) != run.ManifestSHA256 {
		t.Error("the manifest's hash is not the one recorded")
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Tables) != len(backupTables) || len(m.Objects) != 4 || !strings.HasPrefix(m.Objects[0].Key, "docs/") {
		t.Errorf("manifest %+v", m)
	}
	wantRows, wantObjects := dumpRows(t, h.pool), dumpObjects(t, h.blob)

	// Changes after the backup are not in it.
	h.newRepair(t, e1, h.changan)

	// An empty database (migrated, no documents) and an empty store.
	empty := storetest.New(t, append([]store.Migration{registryMigrations()}, Migrations()...)...)
	dst, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Restore(ctx, empty, h.blob, dst, run.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	if res.ManifestSHA256 != run.ManifestSHA256 || res.Objects != 4 || res.Rows["docs.documents"] != 2 {
		t.Errorf("restore result %+v", res)
	}
	gotRows, gotObjects := dumpRows(t, empty), dumpObjects(t, dst)
	for _, tb := range backupTables {
		w, g := wantRows[tb.name], gotRows[tb.name]
		if len(w) == 0 {
			t.Errorf("docs.%s had no rows to back up: the fixture misses a kind of data", tb.name)
		}
		if strings.Join(w, "\n") != strings.Join(g, "\n") {
			t.Errorf("docs.%s: %d rows restored of %d, or they differ", tb.name, len(g), len(w))
		}
	}
	if fmt.Sprint(wantObjects) != fmt.Sprint(gotObjects) {
		t.Errorf("objects differ:\n got %v\nwant %v", gotObjects, wantObjects)
	}

	// The restored platform works: the sequences moved on, the published
	// file is served and verified.
	f2, err := New(Deps{Logger: h.f.log, Pool: empty, Blob: dst, Now: h.clock.now, Verifier: h.iss.Verifier()}, h.f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p := e1
	file, err := f2.Download(ctx, &p, a, d.ID, nil, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f2.Check(ctx, codeOf(mustVerify(t, f2, &p, d.ID)), file.Data); err != nil {
		t.Fatal(err)
	}
	// The registry is restored on its own; its entity is here again.
	(&harness{pool: empty}).entity(t, "130102", 1, "石家庄长安诚信商贸有限公司")
	nd, err := f2.Create(ctx, &p, a, CreateInput{TemplateCode: "pledge_food", CreditCode: h.changan})
	if err != nil || nd.ID != 3 {
		t.Errorf("a new document after the restore: id %d, %v", nd.ID, err)
	}

	// A restore never merges into documents that exist.
	if _, err := Restore(ctx, empty, h.blob, dst, run.Manifest); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore over data: %v", err)
	}
	// A damaged backup file is refused before anything is written.
	again := storetest.New(t, append([]store.Migration{registryMigrations()}, Migrations()...)...)
	if _, err := h.blob.Put(ctx, run.Prefix+m.Objects[0].File, strings.NewReader("damaged"), "application/pdf"); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, again, h.blob, dst, run.Manifest); err == nil || !strings.Contains(err.Error(), "manifest hash") {
		t.Errorf("restore of a damaged backup: %v", err)
	}
	if n := len(dumpRows(t, again)["documents"]); n != 0 {
		t.Errorf("a refused restore wrote %d documents", n)
	}
}

func mustVerify(t *testing.T, f *Function, p *auth.Principal, id int64) string {
	t.Helper()
	d, err := f.Get(context.Background(), p, actorOf(p, ""), id, false)
	if err != nil {
		t.Fatal(err)
	}
	return d.Current.VerifyURL
}

// FP-41. The schedules' ticks run a backup each; a tick delivered twice
// backs up once; other ticks and events are ignored.
func TestBackupSchedules(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	tick := func(id string, data map[string]any) {
		t.Helper()
		e := event.New()
		e.SetID(id)
		e.SetType(events.Ping)
		e.SetSource("/apis/v1/namespaces/smartreg/pingsources/documents-backup-daily")
		if err := e.SetData("application/json", data); err != nil {
			t.Fatal(err)
		}
		if _, err := h.f.Receive(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tick("t1", map[string]any{"task": BackupTask, "schedule": "daily"})
	tick("t1", map[string]any{"task": BackupTask, "schedule": "daily"})
	h.clock.add(24 * time.Hour)
	tick("t2", map[string]any{"task": BackupTask, "schedule": "weekly"})
	tick("t3", map[string]any{"task": "identity-audit-maintain"})
	tick("t4", map[string]any{"task": BackupTask, "schedule": "yearly"})
	var list []BackupRun
	h.must(t, 200, h.bearer(authtest.CityWide(PermBackup+":view")), "GET", "/docs/v1/backups", nil, &list)
	if len(list) != 2 || list[0].Schedule != "weekly" || list[1].Schedule != "daily" || list[0].Status != "done" ||
		!strings.HasPrefix(list[0].Prefix, "backups/docs/weekly/20260303T090000Z-") {
		t.Fatalf("backups %+v", list)
	}
	objs, err := h.blob.List(ctx, list[1].Prefix, 0)
	if err != nil || len(objs) != len(backupTables)+1 {
		t.Errorf("daily backup files: %d, %v", len(objs), err)
	}
	// Retention: a schedule keeps its newest DOCS_BACKUP_KEEP_* backups;
	// older ones lose their files and are marked pruned.
	h.f.cfg.KeepDaily = 2
	for i := 5; i <= 7; i++ {
		h.clock.add(24 * time.Hour)
		tick(fmt.Sprintf("t%d", i), map[string]any{"task": BackupTask, "schedule": "daily"})
	}
	h.must(t, 200, h.bearer(authtest.CityWide(PermBackup+":view")), "GET", "/docs/v1/backups", nil, &list)
	var states []string
	for _, b := range list {
		states = append(states, b.Schedule+":"+b.Status)
		files, err := h.blob.List(ctx, b.Prefix, 0)
		if err != nil {
			t.Fatal(err)
		}
		if (b.Status == "pruned") != (len(files) == 0) {
			t.Errorf("backup %d (%s) has %d files", b.ID, b.Status, len(files))
		}
	}
	if got := strings.Join(states, " "); got != "daily:done daily:done daily:pruned weekly:done daily:pruned" {
		t.Errorf("after pruning: %s", got)
	}
}
