package qrgenerate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Batch job statuses.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

var jobStatusNames = map[string]string{JobQueued: "排队中", JobRunning: "执行中", JobDone: "已完成", JobFailed: "失败"}

// InlineBatchCodes is the largest list of credit codes issued within the
// POST itself (well under a second); anything larger, and every
// district / industry / type selection, is queued for the runner.
const InlineBatchCodes = 1000

// Defaults of the batch runner's Deps fields.
const (
	DefaultBatchLease = time.Minute
	DefaultBatchPoll  = 5 * time.Second
)

// maxJobAttempts bounds how often a job is claimed: one that keeps
// killing its runner (or outliving its lease) fails instead of looping.
const maxJobAttempts = 5

// BatchJob is one batch issuance (批量赋码任务) and its outcome.
type BatchJob struct {
	ID      int64  `json:"id"`
	BatchID string `json:"batch_id"`
	// Selection as submitted; list pages leave out its credit_codes (see
	// code_count) and the unknown codes, GET /batches/{id} has both.
	Selection     Selection  `json:"selection"`
	CodeCount     int        `json:"code_count"`
	OperatorID    string     `json:"operator_id"`
	Operator      string     `json:"operator"`
	Status        string     `json:"status"`
	StatusName    string     `json:"status_name"`
	Total         int64      `json:"total"`
	Target        int64      `json:"target"`
	Issued        int64      `json:"issued"`
	PendingReview int64      `json:"pending_review"`
	Skipped       int64      `json:"skipped"`
	UnknownCount  int        `json:"unknown_count"`
	Unknown       []string   `json:"unknown"`
	Events        int64      `json:"events"`
	Attempts      int        `json:"attempts"`
	Error         string     `json:"error"`
	CreatedAt     time.Time  `json:"created_at"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	scope         auth.Scope
}

// BatchJobPage is a page of batch jobs.
type BatchJobPage struct {
	Items    []BatchJob `json:"items"`
	Total    int        `json:"total"`
	Page     int        `json:"page"`
	PageSize int        `json:"page_size"`
}

const jobColumns = `id, batch_id, selection, code_count, operator_id, operator, scope, status, total, target, issued, pending_review,
	skipped, cardinality(unknown), unknown, events, attempts, error, created_at, started_at, finished_at`

// jobListColumns are jobColumns without the bulky lists (up to 10 000
// credit codes each) a page of jobs does not show.
var jobListColumns = strings.NewReplacer("selection,", "selection - 'credit_codes',", " unknown,", " '{}'::text[],").Replace(jobColumns)

func scanJob(row pgx.Row) (BatchJob, error) {
	var j BatchJob
	var sel, scope []byte
	err := row.Scan(&j.ID, &j.BatchID, &sel, &j.CodeCount, &j.OperatorID, &j.Operator, &scope, &j.Status, &j.Total, &j.Target,
		&j.Issued, &j.PendingReview, &j.Skipped, &j.UnknownCount, &j.Unknown, &j.Events, &j.Attempts, &j.Error,
		&j.CreatedAt, &j.StartedAt, &j.FinishedAt)
	if err != nil {
		return j, store.Classify(err)
	}
	if err := json.Unmarshal(sel, &j.Selection); err != nil {
		return j, fmt.Errorf("batch job %d selection: %w", j.ID, err)
	}
	if err := json.Unmarshal(scope, &j.scope); err != nil {
		return j, fmt.Errorf("batch job %d scope: %w", j.ID, err)
	}
	if j.Unknown == nil {
		j.Unknown = []string{}
	}
	if j.Selection.CreditCodes == nil {
		j.Selection.CreditCodes = []string{}
	}
	j.StatusName = jobStatusNames[j.Status]
	return j, nil
}

// jobRun is one claim of a job: every write of the running job names the
// attempt, so a runner whose lease another took over writes nothing.
type jobRun struct {
	id      int64
	attempt int
	batchID string
	lease   time.Duration
}

// errLeaseLost stops a run whose job another runner has claimed again.
var errLeaseLost = errors.New("qr-generate: batch job claimed again by another runner")

const leaseSQL = `now() + make_interval(secs => %s)`

func (r *jobRun) leaseSecs() float64 { return r.lease.Seconds() }

// fenced runs "UPDATE … SET set" on the job while this claim holds it
// (id is $1 and the attempt $2; set's own arguments start at $3) and
// reports errLeaseLost when it no longer does.
func (r *jobRun) fenced(ctx context.Context, q store.Querier, set string, args ...any) error {
	tag, err := q.Exec(ctx, `UPDATE qr.batch_jobs SET `+set+` WHERE id = $1 AND attempts = $2 AND status = 'running'`,
		append([]any{r.id, r.attempt}, args...)...)
	if err != nil {
		return fmt.Errorf("update batch job %d: %w", r.id, err)
	}
	if tag.RowsAffected() == 0 {
		return errLeaseLost
	}
	return nil
}

// progress adds a chunk's counts to the job inside the chunk's
// transaction: the codes and the counts commit together or not at all.
func (r *jobRun) progress(ctx context.Context, tx pgx.Tx, active, pending, evs int64) error {
	return r.fenced(ctx, tx, `issued = issued + $3::bigint, pending_review = pending_review + $4::bigint, events = events + $5::bigint,
		lease_until = `+fmt.Sprintf(leaseSQL, "$6"), active, pending, evs, r.leaseSecs())
}

// jobRunner is the state the batch runner shares with the POST handler.
type jobRunner struct {
	lease time.Duration
	poll  time.Duration
	wake  chan struct{} // a queued job: look now rather than at the next poll
}

func (f *Function) wakeRunner() {
	select {
	case f.jobs.wake <- struct{}{}:
	default:
	}
}

func normaliseCodes(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return slices.Compact(out)
}

// SubmitBatch records a batch issuance for the operator. A list of at most
// InlineBatchCodes credit codes is issued at once and the finished job
// returned (with the run's error, if it failed); any other selection is
// queued for the runner and returned queued. An identical selection by the
// same scope still queued or running is a conflict.
func (f *Function) SubmitBatch(ctx context.Context, sel Selection, op Operator) (BatchJob, error) {
	sel.CreditCodes = normaliseCodes(sel.CreditCodes)
	selJSON, err := json.Marshal(sel)
	if err != nil {
		return BatchJob{}, err
	}
	scopeJSON, err := json.Marshal(op.Scope)
	if err != nil {
		return BatchJob{}, err
	}
	sum := sha256.Sum256(append(append(selJSON, '\n'), scopeJSON...))
	fingerprint := hex.EncodeToString(sum[:])
	inline := len(sel.CreditCodes) > 0 && len(sel.CreditCodes) <= InlineBatchCodes
	status := JobQueued
	if inline {
		status = JobRunning // claimed by this request: a crash leaves it to the runners once the lease passes
	}
	total := int64(len(sel.CreditCodes))
	job, err := scanJob(f.pool.QueryRow(ctx, `INSERT INTO qr.batch_jobs (batch_id, selection, fingerprint, district_code, operator_id, operator,
			scope, status, total, code_count, attempts, lease_until, created_at, started_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $9::int,
			CASE WHEN $8 = 'running' THEN 1 ELSE 0 END,
			CASE WHEN $8 = 'running' THEN `+fmt.Sprintf(leaseSQL, "$10")+` END,
			$11, CASE WHEN $8 = 'running' THEN $11::timestamptz END)
		ON CONFLICT (fingerprint) WHERE status IN ('queued','running') DO NOTHING
		RETURNING `+jobColumns,
		uuid.NewString(), selJSON, fingerprint, sel.DistrictCode, op.ID, op.Name, scopeJSON, status, total,
		f.jobs.lease.Seconds(), f.now()))
	if errors.Is(err, errs.ErrNotFound) {
		var id int64
		if err := f.pool.QueryRow(ctx, `SELECT id FROM qr.batch_jobs WHERE fingerprint = $1 AND status IN ('queued','running')`,
			fingerprint).Scan(&id); err == nil {
			return BatchJob{}, errs.New(errs.Conflict, fmt.Sprintf("相同范围的批量赋码任务（编号 %d）正在进行，请等待其完成", id))
		}
		return BatchJob{}, errs.New(errs.Conflict, "相同范围的批量赋码任务正在进行，请稍后再试")
	}
	if err != nil {
		return BatchJob{}, err
	}
	if !inline {
		f.wakeRunner()
		return job, nil
	}
	// The caller going away must not cut a run short halfway.
	runErr := f.runJob(context.WithoutCancel(ctx), job, &jobRun{id: job.ID, attempt: 1, batchID: job.BatchID, lease: f.jobs.lease})
	done, err := f.jobByID(ctx, job.ID)
	if err != nil {
		return job, errors.Join(runErr, err)
	}
	return done, runErr
}

func (f *Function) jobByID(ctx context.Context, id int64) (BatchJob, error) {
	return scanJob(f.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM qr.batch_jobs WHERE id = $1`, id))
}

var (
	errJobNotFound   = errs.New(errs.NotFound, "批量赋码任务不存在")
	errJobOutOfScope = errs.New(errs.Forbidden, "该批量赋码任务不在您的数据权限范围内")
)

// jobVisible is the SQL condition of the jobs op may see: a city-wide
// operator every job, anyone else their own jobs and those whose selected
// district lies whole in their scope (like batch oplog rows, a job by
// credit codes alone has no place to filter on).
func jobVisible(op Operator, args *[]any) string {
	if op.Scope.Kind == auth.ScopeAll {
		return "TRUE"
	}
	*args = append(*args, op.ID)
	return fmt.Sprintf("(operator_id = $%d OR (district_code <> '' AND %s))", len(*args),
		op.Scope.Filter("district_code", "township_code", args))
}

// BatchJob returns one job the operator may see.
func (f *Function) BatchJob(ctx context.Context, id int64, op Operator) (BatchJob, error) {
	j, err := f.jobByID(ctx, id)
	if errors.Is(err, errs.ErrNotFound) {
		return j, errJobNotFound
	}
	if err != nil {
		return j, err
	}
	if op.Scope.Kind != auth.ScopeAll && j.OperatorID != op.ID && (j.Selection.DistrictCode == "" || !op.Scope.Allows(j.Selection.DistrictCode, "")) {
		return BatchJob{}, errJobOutOfScope
	}
	return j, nil
}

// ListBatchJobs returns a page of the jobs the operator may see, newest
// first, optionally of one status.
func (f *Function) ListBatchJobs(ctx context.Context, status string, op Operator, limit, offset int) ([]BatchJob, int, error) {
	var args []any
	conds := []string{jobVisible(op, &args)}
	if status != "" {
		args = append(args, status)
		conds = append(conds, fmt.Sprintf("status = $%d", len(args)))
	}
	where := strings.Join(conds, " AND ")
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM qr.batch_jobs WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	args = append(args, limit, offset)
	rows, err := f.pool.Query(ctx, `SELECT `+jobListColumns+` FROM qr.batch_jobs WHERE `+where+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BatchJob, error) { return scanJob(r) })
	if list == nil {
		list = []BatchJob{}
	}
	return list, total, store.Classify(err)
}

// RunBatchJobs claims and runs queued batch jobs, one at a time, until ctx
// ends: at once when this replica queued one, else every poll interval,
// which is also how a job left running by a crashed replica is found once
// its lease has passed. A job interrupted by ctx goes back to the queue.
// Every replica runs it; FOR UPDATE SKIP LOCKED hands each job to one.
func (f *Function) RunBatchJobs(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.jobs.wake:
		case <-t.C:
		}
		for ctx.Err() == nil {
			ran, err := f.runNextJob(ctx)
			if err != nil {
				if ctx.Err() == nil {
					f.log.WarnContext(ctx, "batch job runner", "err", err)
				}
				break
			}
			if !ran {
				break
			}
		}
		t.Reset(f.jobs.poll)
	}
}

// runNextJob claims the oldest runnable job, if any, and runs it. It
// reports whether it ran one; a job that failed is recorded, not returned.
func (f *Function) runNextJob(ctx context.Context) (bool, error) {
	if err := f.failExhaustedJobs(ctx); err != nil {
		return false, err
	}
	job, err := scanJob(f.pool.QueryRow(ctx, `UPDATE qr.batch_jobs SET status = 'running', attempts = attempts + 1,
			lease_until = `+fmt.Sprintf(leaseSQL, "$1")+`, started_at = COALESCE(started_at, $2)
		WHERE id = (SELECT id FROM qr.batch_jobs
			WHERE (status = 'queued' OR (status = 'running' AND lease_until < now())) AND attempts < $3
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobColumns, f.jobs.lease.Seconds(), f.now(), maxJobAttempts))
	if errors.Is(err, errs.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if job.Attempts > 1 {
		f.log.InfoContext(ctx, "batch job claimed again", "job", job.ID, "attempt", job.Attempts)
	}
	err = f.runJob(ctx, job, &jobRun{id: job.ID, attempt: job.Attempts, batchID: job.BatchID, lease: f.jobs.lease})
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	return true, nil
}

// failExhaustedJobs gives up on jobs claimed maxJobAttempts times whose
// last runner is gone too.
func (f *Function) failExhaustedJobs(ctx context.Context) error {
	rows, err := f.pool.Query(ctx, `UPDATE qr.batch_jobs SET status = 'failed', lease_until = NULL, finished_at = $1,
			error = '任务多次中断后已停止，请检查后重新提交'
		WHERE (status = 'queued' OR (status = 'running' AND lease_until < now())) AND attempts >= $2
		RETURNING `+jobColumns, f.now(), maxJobAttempts)
	if err != nil {
		return store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BatchJob, error) { return scanJob(r) })
	for _, j := range list {
		f.logJobFailure(ctx, j, j.Error)
	}
	return store.Classify(err)
}

// runJob issues the job's codes under its claim: counts what the
// selection holds, runs IssueBulk (whose chunks add to the job's counts),
// and records the outcome. A heartbeat keeps the lease while it runs.
// IssueBulk only issues to entities without a code, chunk by chunk, so a
// job claimed again after a crash carries on where the last committed
// chunk left it.
func (f *Function) runJob(ctx context.Context, job BatchJob, run *jobRun) error {
	op := Operator{ID: job.OperatorID, Name: job.Operator, Scope: job.scope}
	jctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { f.heartbeat(jctx, run, cancel) })
	err := f.countJob(jctx, job.Selection, op, run)
	var res BulkResult
	if err == nil {
		res, err = f.IssueBulk(jctx, job.Selection, BulkOptions{Operator: op, Source: "batch", job: run})
	}
	lost := errors.Is(err, errLeaseLost) || errors.Is(context.Cause(jctx), errLeaseLost)
	cancel(nil)
	wg.Wait()
	// The outcome is written even when ctx has just ended (shutdown).
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer wcancel()
	switch {
	case lost:
		f.log.WarnContext(ctx, "batch job claimed by another runner; this run stops", "job", job.ID, "attempt", run.attempt)
		return errLeaseLost
	case err == nil:
		if ferr := run.fenced(wctx, f.pool, `status = 'done', finished_at = $3, lease_until = NULL, unknown = $4::text[],
				skipped = GREATEST(total - cardinality($4::text[]) - issued - pending_review, 0)`, f.now(), res.Unknown); ferr != nil {
			return ferr
		}
		f.log.InfoContext(ctx, "batch job done", "job", job.ID, "issued", res.Issued, "pending", res.Pending, "seconds", res.Seconds)
		return nil
	case ctx.Err() != nil || errs.CodeOf(err) == errs.Unavailable:
		// Shutdown or the database going away: another run finishes it.
		if ferr := run.fenced(wctx, f.pool, `status = 'queued', lease_until = NULL`); ferr != nil {
			f.log.WarnContext(ctx, "batch job not requeued; its lease will lapse", "job", job.ID, "err", ferr)
		}
		return err
	}
	msg := "赋码过程中发生内部错误，请联系管理员"
	if e := errs.As(err); e != nil && e.Code != errs.Internal {
		msg = e.Message
	}
	f.log.ErrorContext(ctx, "batch job failed", "job", job.ID, "err", err)
	if ferr := run.fenced(wctx, f.pool, `status = 'failed', finished_at = $3, lease_until = NULL, error = $4`, f.now(), msg); ferr != nil {
		return errors.Join(err, ferr)
	}
	f.logJobFailure(wctx, job, msg)
	return err
}

func (f *Function) logJobFailure(ctx context.Context, job BatchJob, msg string) {
	op := Operator{ID: job.OperatorID, Name: job.Operator}
	if err := f.logOp(ctx, f.pool, op, opEntry{Action: "issue", Result: "failure",
		Detail: fmt.Sprintf("批量赋码（批次 %s，任务 %d）失败：%s", job.BatchID, job.ID, msg)}); err != nil {
		f.log.WarnContext(ctx, "operation log failed", "err", err)
	}
}

// heartbeat extends the lease until ctx ends, and stops the run when the
// job was claimed by another runner (this one looked dead).
func (f *Function) heartbeat(ctx context.Context, run *jobRun, stop context.CancelCauseFunc) {
	t := time.NewTicker(run.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := run.fenced(ctx, f.pool, `lease_until = `+fmt.Sprintf(leaseSQL, "$3"), run.leaseSecs())
			switch {
			case errors.Is(err, errLeaseLost):
				stop(errLeaseLost)
				return
			case err != nil && ctx.Err() == nil:
				f.log.WarnContext(ctx, "batch job heartbeat failed", "job", run.id, "err", err)
			}
		}
	}
}

// countJob records what the selection holds when a run starts: total
// (credit codes requested, or active entities the filter selects in
// scope), target (the ones this job issues to: already issued by it plus
// those still without a code), skipped, and the unknown codes.
func (f *Function) countJob(ctx context.Context, sel Selection, op Operator, run *jobRun) error {
	conds, args := selectionConds(sel, op)
	var matched, unissued int64
	if err := f.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE `+unissuedSQL+`)
		FROM qr.entities e WHERE `+strings.Join(conds, " AND "), args...).Scan(&matched, &unissued); err != nil {
		return store.Classify(fmt.Errorf("count selection: %w", err))
	}
	total, unknown := matched, []string{}
	if len(sel.CreditCodes) > 0 {
		total = int64(len(sel.CreditCodes))
		rows, err := f.pool.Query(ctx, `SELECT c FROM unnest($1::text[]) c
			WHERE NOT EXISTS (SELECT 1 FROM qr.entities e WHERE e.credit_code = c)`, sel.CreditCodes)
		if err != nil {
			return store.Classify(err)
		}
		if unknown, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return store.Classify(err)
		}
		if unknown == nil {
			unknown = []string{}
		}
	}
	return run.fenced(ctx, f.pool, `total = $3::bigint, target = issued + pending_review + $4::bigint, unknown = $5::text[],
		skipped = GREATEST($3::bigint - cardinality($5::text[]) - issued - pending_review - $4::bigint, 0)`, total, unissued, unknown)
}

// Start runs RunBatchJobs in the background until Stop: batch issuance
// works off in every replica beside the server.
func (f *Function) Start(ctx context.Context) error {
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stopJobs = cancel
	f.jobsDone = make(chan struct{})
	go func() {
		defer close(f.jobsDone)
		_ = f.RunBatchJobs(jctx)
	}()
	return nil
}

// Stop ends the runner; the job it was running goes back to the queue for
// another replica.
func (f *Function) Stop(ctx context.Context) error {
	if f.stopJobs == nil {
		return nil
	}
	f.stopJobs()
	select {
	case <-f.jobsDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
