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

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
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
type BatchJobPage = httpx.PageOf[BatchJob]

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

func (f *Function) wakeRunner() {
	select {
	case f.wake <- struct{}{}:
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

// SubmitBatch records a batch issuance for the operator (FP-22). A list
// of at most InlineBatchCodes credit codes is issued at once and the
// finished job returned (with the run's error, if it failed); any other
// selection is queued for the runner and returned queued. An identical
// selection by the same scope still queued or running is a conflict. A
// district, or a listed entity, outside the operator's scope is refused.
func (f *Function) SubmitBatch(ctx context.Context, sel Selection, op Operator) (BatchJob, error) {
	if err := f.checkSelectionScope(ctx, sel, op); err != nil {
		return BatchJob{}, err
	}
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
	job, err := insertJob(ctx, f.pool, newJob{BatchID: uuid.NewString(), Fingerprint: fingerprint, District: sel.DistrictCode,
		Selection: selJSON, Scope: scopeJSON, Operator: op, Status: status, Total: int64(len(sel.CreditCodes)),
		Lease: f.cfg.BatchLease, At: f.now()})
	if errors.Is(err, errs.ErrNotFound) {
		if id, err := openJobID(ctx, f.pool, fingerprint); err == nil {
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
	runErr := f.runJob(context.WithoutCancel(ctx), job, &jobRun{id: job.ID, attempt: 1, batchID: job.BatchID, lease: f.cfg.BatchLease})
	done, err := selectJob(ctx, f.pool, job.ID)
	if err != nil {
		return job, errors.Join(runErr, err)
	}
	return done, runErr
}

// checkSelectionScope refuses a selection reaching outside op's scope: a
// district neither whole nor in part in it, or listed credit codes of
// entities held elsewhere (named by their place in the list). The runner
// confines the issuance to the scope anyway; the refusal tells the
// operator, instead of silently skipping what they asked for.
func (f *Function) checkSelectionScope(ctx context.Context, sel Selection, op Operator) error {
	if op.Scope.Kind == auth.ScopeAll {
		return nil
	}
	if sel.DistrictCode != "" && !op.Scope.Allows(sel.DistrictCode, "") && !scopeTouches(op.Scope, sel.DistrictCode) {
		return &errs.Error{Code: errs.Forbidden, Message: "所选区县不在您的数据权限范围内",
			Fields: []errs.FieldError{{Field: "district_code", Message: "不在您的数据权限范围内"}}}
	}
	if len(sel.CreditCodes) == 0 {
		return nil
	}
	outside, err := entitiesOutside(ctx, f.pool, sel.CreditCodes, op.Scope)
	if err != nil || len(outside) == 0 {
		return err
	}
	var fe []errs.FieldError
	for i, c := range sel.CreditCodes {
		if slices.Contains(outside, c) && len(fe) < 20 {
			fe = append(fe, errs.FieldError{Field: fmt.Sprintf("credit_codes[%d]", i), Message: "该主体不在您的数据权限范围内"})
		}
	}
	return &errs.Error{Code: errs.Forbidden, Fields: fe,
		Message: fmt.Sprintf("所选统一社会信用代码中有 %d 个主体不在您的数据权限范围内，请删除后重新提交", len(outside))}
}

// scopeTouches reports whether some township of the scope lies in district.
func scopeTouches(s auth.Scope, district string) bool {
	for _, t := range s.Townships {
		if strings.HasPrefix(t, district) {
			return true
		}
	}
	return false
}

var (
	errJobNotFound   = errs.New(errs.NotFound, "批量赋码任务不存在")
	errJobOutOfScope = errs.New(errs.Forbidden, "该批量赋码任务不在您的数据权限范围内")
)

// BatchJob returns one job the operator may see.
func (f *Function) BatchJob(ctx context.Context, id int64, op Operator) (BatchJob, error) {
	j, err := selectJob(ctx, f.pool, id)
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
	return listJobs(ctx, f.pool, jobsWhere(op, status), limit, offset)
}

// runBatchJobs claims and runs queued batch jobs, one at a time, until ctx
// ends (Start and Stop): at once when this replica queued one, else every poll interval,
// which is also how a job left running by a crashed replica is found once
// its lease has passed. A job interrupted by ctx goes back to the queue.
// Every replica runs it; FOR UPDATE SKIP LOCKED hands each job to one.
func (f *Function) runBatchJobs(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
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
		t.Reset(f.cfg.BatchPoll)
	}
}

// runNextJob claims the oldest runnable job, if any, and runs it. It
// reports whether it ran one; a job that failed is recorded, not returned.
func (f *Function) runNextJob(ctx context.Context) (bool, error) {
	if err := f.failExhaustedJobs(ctx); err != nil {
		return false, err
	}
	job, err := claimJob(ctx, f.pool, f.cfg.BatchLease, f.now(), maxJobAttempts)
	if errors.Is(err, errs.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if job.Attempts > 1 {
		f.log.InfoContext(ctx, "batch job claimed again", "job", job.ID, "attempt", job.Attempts)
	}
	err = f.runJob(ctx, job, &jobRun{id: job.ID, attempt: job.Attempts, batchID: job.BatchID, lease: f.cfg.BatchLease})
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	return true, nil
}

// failExhaustedJobs gives up on jobs claimed maxJobAttempts times whose
// last runner is gone too.
func (f *Function) failExhaustedJobs(ctx context.Context) error {
	list, err := failExhaustedJobs(ctx, f.pool, f.now(), maxJobAttempts, "任务多次中断后已停止，请检查后重新提交")
	for _, j := range list {
		f.logJobFailure(ctx, j, j.Error)
	}
	return err
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
		if ferr := run.finished(wctx, f.pool, f.now(), res.Unknown); ferr != nil {
			return ferr
		}
		f.log.InfoContext(ctx, "batch job done", "job", job.ID, "issued", res.Issued, "pending", res.Pending, "seconds", res.Seconds)
		return nil
	case ctx.Err() != nil || errs.CodeOf(err) == errs.Unavailable:
		// Shutdown or the database going away: another run finishes it.
		if ferr := run.requeued(wctx, f.pool); ferr != nil {
			f.log.WarnContext(ctx, "batch job not requeued; its lease will lapse", "job", job.ID, "err", ferr)
		}
		return err
	}
	msg := "赋码过程中发生内部错误，请联系管理员"
	if e := errs.As(err); e != nil && e.Code != errs.Internal {
		msg = e.Message
	}
	f.log.ErrorContext(ctx, "batch job failed", "job", job.ID, "err", err)
	if ferr := run.failed(wctx, f.pool, f.now(), msg); ferr != nil {
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
			err := run.renew(ctx, f.pool)
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
	matched, unissued, err := countSelection(ctx, f.pool, selectionWhere(sel, op))
	if err != nil {
		return err
	}
	total := matched
	if len(sel.CreditCodes) > 0 {
		total = int64(len(sel.CreditCodes))
	}
	unknown, err := unknownCodes(ctx, f.pool, sel.CreditCodes)
	if err != nil {
		return err
	}
	return run.counted(ctx, f.pool, total, unissued, unknown)
}
