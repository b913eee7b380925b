package qrgenerate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// load seeds qr.entities with n entities of typ in district.
func (e *env) load(n int, typ, district string) []events.Entity {
	e.t.Helper()
	var list []events.Entity
	for range n {
		list = append(list, entity(e.t, typ, district))
	}
	if _, err := e.f.LoadEntities(context.Background(), list); err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) job(p *auth.Principal, id int64) BatchJob {
	e.t.Helper()
	rec := e.do(p, "GET", fmt.Sprintf("/qr/v1/batches/%d", id), nil)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET batch %d: %d %s", id, rec.Code, rec.Body)
	}
	return decode[BatchJob](e.t, rec)
}

// submit posts a selection that must be queued and returns the job.
func (e *env) submit(p *auth.Principal, sel map[string]any) BatchJob {
	e.t.Helper()
	rec := e.do(p, "POST", "/qr/v1/batches", sel)
	j := decode[BatchJob](e.t, rec)
	if rec.Code != http.StatusAccepted || j.Status != JobQueued || rec.Header().Get("Location") != fmt.Sprintf("/qr/v1/batches/%d", j.ID) {
		e.t.Fatalf("POST batch %v: %d %v %s, want 202 queued with its Location", sel, rec.Code, rec.Header(), rec.Body)
	}
	return j
}

// runAll runs queued jobs until none is left.
func (e *env) runAll() {
	e.t.Helper()
	for {
		ran, err := e.f.runNextJob(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// batchTokens returns every code of the job's qr.batch-issued events,
// failing on a token announced twice or under another batch id.
func (e *env) batchTokens(batchID string) map[string]bool {
	e.t.Helper()
	seen := map[string]bool{}
	for _, ev := range e.outboxEvents(events.QRBatchIssued) {
		var d events.QRBatchIssuedData
		if err := ev.DataAs(&d); err != nil {
			e.t.Fatal(err)
		}
		if d.BatchID != batchID {
			continue
		}
		for _, m := range d.Codes {
			if seen[m.Token] {
				e.t.Fatalf("token %s announced twice in batch %s", m.Token, batchID)
			}
			seen[m.Token] = true
		}
	}
	return seen
}

func TestBatchJobLifecycle(t *testing.T) {
	t.Parallel()
	// Only a wake-up from POST (or the runner's first look) starts a job.
	e := newEnv(t, func(_ *Deps, c *Config) { c.BatchPoll = time.Hour })
	ctx := context.Background()
	e.load(20, "enterprise", "130102")
	e.load(3, "institution", "130102")
	gone := entity(t, "enterprise", "130102")
	gone.Status = "deregistered"
	if _, err := e.f.LoadEntities(ctx, []events.Entity{gone}); err != nil {
		t.Fatal(err)
	}
	e.load(5, "enterprise", "130104")
	pre := e.register(entity(t, "enterprise", "130102"))
	p := admin()

	job := e.submit(&p, map[string]any{"district_code": "130102"})
	if job.StartedAt != nil || job.Operator == "" || job.Selection.DistrictCode != "130102" || job.StatusName != "排队中" {
		t.Errorf("queued job = %+v", job)
	}
	// The same request while it is open is refused; nothing is queued twice.
	rec := e.do(&p, "POST", "/qr/v1/batches", map[string]any{"district_code": "130102"})
	if rec.Code != http.StatusConflict || !strings.Contains(errorOf(t, rec).Error.Message, fmt.Sprintf("编号 %d", job.ID)) {
		t.Fatalf("same batch while queued: %d %s", rec.Code, rec.Body)
	}
	if got := e.job(&p, job.ID); got.Status != JobQueued {
		t.Fatalf("job before the runner: %+v", got)
	}

	// The runner is the function's background work: Start begins it.
	if err := e.f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.f.Start(ctx); err == nil {
		t.Error("a second Start was accepted")
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.f.Stop(sctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	var done BatchJob
	testwait.For(t, "the district job to finish", func() bool {
		done = e.job(&p, job.ID)
		return done.Status == JobDone
	})
	// 24 active entities in 130102, one already coded: 20 issued, 3 pending review.
	if done.Total != 24 || done.Target != 23 || done.Issued != 20 || done.PendingReview != 3 || done.Skipped != 1 ||
		done.UnknownCount != 0 || done.Attempts != 1 || done.Events != 1 || done.StartedAt == nil || done.FinishedAt == nil || done.Error != "" {
		t.Fatalf("finished job = %+v", done)
	}
	if n := e.count(`SELECT count(*) FROM qr.codes WHERE district_code = '130102' AND source = 'batch'`); n != 23 {
		t.Errorf("%d batch codes in 130102, want 23", n)
	}
	if c := e.codeOf(pre.CreditCode); c.Token != pre.Token || c.Source != "event" {
		t.Errorf("the job replaced an existing code: %+v", c)
	}
	if got := e.batchTokens(done.BatchID); len(got) != 20 {
		t.Errorf("qr.batch-issued of the job carries %d codes, want the 20 active ones", len(got))
	}
	if n := e.count(`SELECT count(*) FROM qr.oplog WHERE action = 'issue' AND result = 'success' AND operator_id = $1
		AND detail LIKE '%' || $2 || '%生效 20 个，待审核 3 个'`, p.UserID, done.BatchID); n != 1 {
		t.Errorf("%d oplog rows for the job's chunk, want 1", n)
	}

	// A second job is picked up at once: the runner polls only hourly here.
	second := e.submit(&p, map[string]any{"district_code": "130104"})
	testwait.For(t, "the second job to finish", func() bool { return e.job(&p, second.ID).Status == JobDone })
	if got := e.job(&p, second.ID); got.Issued != 5 || got.Total != 5 {
		t.Errorf("second job = %+v", got)
	}
	// Submitted again once done, the district has nothing left to issue.
	again := e.submit(&p, map[string]any{"district_code": "130102"})
	testwait.For(t, "the repeated job to finish", func() bool { return e.job(&p, again.ID).Status == JobDone })
	if got := e.job(&p, again.ID); got.Issued+got.PendingReview != 0 || got.Skipped != 24 {
		t.Errorf("repeated job = %+v, want nothing issued and 24 skipped", got)
	}

	rec = e.do(&p, "GET", "/qr/v1/batches?page_size=2", nil)
	page := decode[BatchJobPage](t, rec)
	if rec.Code != http.StatusOK || page.Total != 3 || len(page.Items) != 2 || page.Items[0].ID != again.ID || page.Items[1].ID != second.ID {
		t.Fatalf("job list: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(&p, "GET", "/qr/v1/batches?status=queued", nil)
	if page := decode[BatchJobPage](t, rec); page.Total != 0 {
		t.Errorf("queued jobs after the runs: %s", rec.Body)
	}
}

// claim marks a queued job as taken by a runner (attempt 1) that then
// dies, as a crashed replica leaves it.
func (e *env) claim(job BatchJob, lease string) *jobRun {
	e.t.Helper()
	if _, err := e.pool.Exec(context.Background(), `UPDATE qr.batch_jobs SET status = 'running', attempts = attempts + 1,
		lease_until = now() + $2::interval, started_at = $3 WHERE id = $1`, job.ID, lease, e.clock); err != nil {
		e.t.Fatal(err)
	}
	var attempts int
	if err := e.pool.QueryRow(context.Background(), `SELECT attempts FROM qr.batch_jobs WHERE id = $1`, job.ID).Scan(&attempts); err != nil {
		e.t.Fatal(err)
	}
	return &jobRun{id: job.ID, attempt: attempts, batchID: job.BatchID, lease: time.Minute}
}

func TestBatchJobCrashRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	list := append(e.load(26, "enterprise", "130102"), e.load(4, "institution", "130102")...)
	p := admin()
	job := e.submit(&p, map[string]any{"district_code": "130102"})

	// A runner claims the job, commits one chunk of ten codes, and dies.
	dead := e.claim(job, "1 hour")
	var first []string
	for _, ent := range list[:10] {
		first = append(first, ent.CreditCode)
	}
	if _, err := e.f.IssueBulk(ctx, Selection{DistrictCode: "130102", CreditCodes: first},
		BulkOptions{Operator: System, Source: "batch", job: dead}); err != nil {
		t.Fatal(err)
	}
	if got := e.job(&p, job.ID); got.Issued != 10 || got.Status != JobRunning {
		t.Fatalf("after the first chunk: %+v", got)
	}
	// While its lease holds, nobody takes the job over.
	if ran, err := e.f.runNextJob(ctx); ran || err != nil {
		t.Fatalf("runNextJob under a live lease = %v, %v; want nothing run", ran, err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE qr.batch_jobs SET lease_until = now() - interval '1 second' WHERE id = $1`, job.ID); err != nil {
		t.Fatal(err)
	}
	if ran, err := e.f.runNextJob(ctx); !ran || err != nil {
		t.Fatalf("runNextJob after the lease passed = %v, %v", ran, err)
	}
	got := e.job(&p, job.ID)
	if got.Status != JobDone || got.Attempts != 2 || got.Issued != 26 || got.PendingReview != 4 || got.Target != 30 || got.Skipped != 0 {
		t.Fatalf("recovered job = %+v, want done on attempt 2 with 26 + 4 codes counted once", got)
	}
	if n := e.count(`SELECT count(*) FROM qr.codes`); n != 30 {
		t.Errorf("%d codes for 30 entities", n)
	}
	if toks := e.batchTokens(job.BatchID); len(toks) != 26 {
		t.Errorf("the job's events announce %d codes, want each of the 26 active ones once", len(toks))
	}
	// The dead runner, were it to wake, can no longer write to the job.
	err := store.InTx(ctx, e.pool, func(tx pgx.Tx) error { return dead.progress(ctx, tx, 1, 0, 0) })
	if !errors.Is(err, errLeaseLost) {
		t.Errorf("progress by the superseded attempt: %v, want errLeaseLost", err)
	}
	if got := e.job(&p, job.ID); got.Issued != 26 {
		t.Errorf("superseded attempt changed the counts: %+v", got)
	}
}

func TestBatchJobRequeuedOnShutdownAndGivenUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.load(3, "enterprise", "130102")
	p := admin()
	job := e.submit(&p, map[string]any{"district_code": "130102"})
	run := e.claim(job, "1 hour")
	claimed, err := selectJob(context.Background(), e.pool, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The replica shuts down while the job runs: it goes back to the queue.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.f.runJob(ctx, claimed, run); err == nil {
		t.Fatal("runJob with an ended context reported success")
	}
	if got := e.job(&p, job.ID); got.Status != JobQueued || got.Issued != 0 {
		t.Fatalf("job after shutdown = %+v, want queued again", got)
	}
	e.runAll()
	if got := e.job(&p, job.ID); got.Status != JobDone || got.Issued != 3 || got.Attempts != 2 {
		t.Fatalf("requeued job = %+v", got)
	}

	// A job whose runners keep dying is given up, not claimed forever.
	e.load(2, "enterprise", "130104")
	stuck := e.submit(&p, map[string]any{"district_code": "130104"})
	if _, err := e.pool.Exec(context.Background(), `UPDATE qr.batch_jobs SET status = 'running', attempts = $2,
		lease_until = now() - interval '1 second' WHERE id = $1`, stuck.ID, maxJobAttempts); err != nil {
		t.Fatal(err)
	}
	e.runAll()
	got := e.job(&p, stuck.ID)
	if got.Status != JobFailed || !strings.Contains(got.Error, "多次中断") || got.FinishedAt == nil {
		t.Fatalf("exhausted job = %+v, want failed", got)
	}
	if n := e.count(`SELECT count(*) FROM qr.codes WHERE district_code = '130104'`); n != 0 {
		t.Errorf("the given-up job issued %d codes", n)
	}
	if n := e.count(`SELECT count(*) FROM qr.oplog WHERE action = 'issue' AND result = 'failure' AND detail LIKE '%多次中断%'`); n != 1 {
		t.Errorf("%d failure log rows for the given-up job, want 1", n)
	}
	// A failed job no longer blocks the same request.
	e.submit(&p, map[string]any{"district_code": "130104"})
}

func TestBatchJobScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	perms := []string{"qr.code:create", "qr.code:view"}
	districtA := auth.Principal{UserID: "u-a", Username: "a", Perms: perms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}}}
	districtB := auth.Principal{UserID: "u-b", Username: "b", Perms: perms, Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130104"}}}
	street := auth.Principal{UserID: "u-t", Username: "t", Perms: perms,
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}, Townships: []string{"130102001"}}}
	city := admin()
	inStreet := e.load(3, "enterprise", "130102") // township 130102001
	var elsewhere []events.Entity
	for range 2 {
		ent := entity(t, "enterprise", "130102")
		ent.TownshipCode = "130102002"
		elsewhere = append(elsewhere, ent)
	}
	if _, err := e.f.LoadEntities(context.Background(), elsewhere); err != nil {
		t.Fatal(err)
	}
	inB := e.load(2, "enterprise", "130104")

	// The street's job for its district issues within the street only.
	jt := e.submit(&street, map[string]any{"district_code": "130102"})
	e.runAll()
	if got := e.job(&street, jt.ID); got.Issued != 3 || got.Total != 3 {
		t.Fatalf("street job = %+v, want the street's 3 entities", got)
	}
	if n := e.count(`SELECT count(*) FROM qr.codes WHERE township_code = '130102002'`); n != 0 {
		t.Fatalf("the street's job issued %d codes outside the street", n)
	}
	ja := e.submit(&districtA, map[string]any{"district_code": "130102"})
	e.runAll()
	if got := e.job(&districtA, ja.ID); got.Issued != 2 || got.Skipped != 3 {
		t.Fatalf("district job = %+v, want the other street's 2", got)
	}
	// B's list naming an entity of A's district is refused whole.
	rec := e.do(&districtB, "POST", "/qr/v1/batches", map[string]any{"credit_codes": []string{inB[0].CreditCode, inStreet[0].CreditCode}})
	if rec.Code != http.StatusForbidden || errorOf(t, rec).Error.Fields[0].Field != "credit_codes[1]" {
		t.Fatalf("B's list batch reaching into 130102: %d %s", rec.Code, rec.Body)
	}
	// A street user cannot list an entity of its district outside its street either.
	if rec := e.do(&street, "POST", "/qr/v1/batches", map[string]any{"credit_codes": []string{elsewhere[0].CreditCode}}); rec.Code != http.StatusForbidden {
		t.Errorf("street's list batch of another street's entity: %d %s", rec.Code, rec.Body)
	}
	rec = e.do(&districtB, "POST", "/qr/v1/batches", map[string]any{"credit_codes": []string{inB[0].CreditCode, inB[1].CreditCode}})
	jb := decode[BatchJob](t, rec)
	if rec.Code != http.StatusCreated || jb.Issued != 2 || jb.Skipped != 0 {
		t.Fatalf("B's list batch: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do(&districtB, "POST", "/qr/v1/batches", map[string]any{"district_code": "130102"}); rec.Code != http.StatusForbidden {
		t.Errorf("B's batch for 130102: %d", rec.Code)
	}

	for _, c := range []struct {
		who  string
		p    *auth.Principal
		want []int64
	}{
		{"city", &city, []int64{jb.ID, ja.ID, jt.ID}},
		{"district A", &districtA, []int64{ja.ID, jt.ID}}, // its own, and the street job of its district
		{"street", &street, []int64{jt.ID}},               // not the job over the whole district
		{"district B", &districtB, []int64{jb.ID}},        // a list job is its creator's (and the city's)
	} {
		rec := e.do(c.p, "GET", "/qr/v1/batches", nil)
		page := decode[BatchJobPage](t, rec)
		var ids []int64
		for _, j := range page.Items {
			ids = append(ids, j.ID)
			if len(j.Selection.CreditCodes) != 0 || len(j.Unknown) != 0 {
				t.Errorf("%s: list item %d carries its code lists", c.who, j.ID)
			}
		}
		if page.Total != len(c.want) || fmt.Sprint(ids) != fmt.Sprint(c.want) {
			t.Errorf("%s sees jobs %v (total %d), want %v", c.who, ids, page.Total, c.want)
		}
	}
	for _, c := range []struct {
		p    *auth.Principal
		id   int64
		code int
	}{
		{&districtB, ja.ID, http.StatusForbidden}, {&districtA, jb.ID, http.StatusForbidden}, {&street, ja.ID, http.StatusForbidden},
		{&districtA, jt.ID, http.StatusOK}, {&city, jb.ID, http.StatusOK},
	} {
		if rec := e.do(c.p, "GET", fmt.Sprintf("/qr/v1/batches/%d", c.id), nil); rec.Code != c.code {
			t.Errorf("%s GET batch %d: %d, want %d", c.p.Username, c.id, rec.Code, c.code)
		}
	}
	if got := e.job(&districtB, jb.ID); len(got.Selection.CreditCodes) != 2 {
		t.Errorf("job detail selection = %+v, want its two credit codes", got.Selection)
	}
}

func TestBatchJobBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := admin()
	for path, want := range map[string]struct {
		code int
		msg  string
	}{
		"/qr/v1/batches/abc":              {http.StatusNotFound, "批量赋码任务不存在"},
		"/qr/v1/batches/0":                {http.StatusNotFound, "批量赋码任务不存在"},
		"/qr/v1/batches/424242":           {http.StatusNotFound, "批量赋码任务不存在"},
		"/qr/v1/batches?status=paused":    {http.StatusBadRequest, "任务状态"},
		"/qr/v1/batches?page_size=100000": {http.StatusBadRequest, "每页条数"},
	} {
		rec := e.do(&p, "GET", path, nil)
		if rec.Code != want.code || !strings.Contains(errorOf(t, rec).Error.Message, want.msg) {
			t.Errorf("GET %s: %d %s, want %d with %q", path, rec.Code, rec.Body, want.code, want.msg)
		}
	}
	many := make([]string, MaxBatchCodes+1)
	for i := range many {
		many[i] = "91130102MA0000000X"
	}
	rec := e.do(&p, "POST", "/qr/v1/batches", map[string]any{"credit_codes": many})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), fmt.Sprintf("单次最多提交 %d 个", MaxBatchCodes)) {
		t.Errorf("batch over the list cap: %d %.200s", rec.Code, rec.Body)
	}
	if n := e.count(`SELECT count(*) FROM qr.batch_jobs`); n != 0 {
		t.Errorf("refused requests left %d jobs", n)
	}
	viewer := auth.Principal{UserID: "v", Username: "v", Perms: []string{"qr.oplog:view"}, Scope: auth.All()}
	if rec := e.do(&viewer, "GET", "/qr/v1/batches", nil); rec.Code != http.StatusForbidden {
		t.Errorf("job list without qr.code:view: %d", rec.Code)
	}
}
