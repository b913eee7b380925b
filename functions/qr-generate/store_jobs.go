package qrgenerate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
)

// The SQL of batch jobs (qr.batch_jobs).

const jobColumns = `id, batch_id, selection, code_count, operator_id, operator, scope, status, total, target, issued, pending_review,
	skipped, cardinality(unknown), unknown, events, attempts, error, created_at, started_at, finished_at`

// jobListColumns are jobColumns without the bulky lists (up to 10 000
// credit codes each) a page of jobs does not show.
var jobListColumns = strings.NewReplacer("selection,", "selection - 'credit_codes',", " unknown,", " '{}'::text[],").Replace(jobColumns)

// leaseSQL is a lease ending secs (a placeholder) from now, in database
// time, so replica clocks do not matter.
const leaseSQL = `now() + make_interval(secs => %s)`

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

func scanJobs(rows pgx.Rows, err error) ([]BatchJob, error) {
	if err != nil {
		return nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (BatchJob, error) { return scanJob(r) })
	if list == nil {
		list = []BatchJob{}
	}
	return list, store.Classify(err)
}

// newJob is a job as SubmitBatch records it.
type newJob struct {
	BatchID, Fingerprint, District string
	Selection, Scope               []byte // JSON
	Operator                       Operator
	Status                         string // queued, or running when the request runs it itself
	Total                          int64
	Lease                          time.Duration
	At                             time.Time
}

// insertJob records j; it is errs.ErrNotFound when an open job has the
// same fingerprint.
func insertJob(ctx context.Context, q store.Querier, j newJob) (BatchJob, error) {
	return scanJob(q.QueryRow(ctx, `INSERT INTO qr.batch_jobs (batch_id, selection, fingerprint, district_code, operator_id, operator,
			scope, status, total, code_count, attempts, lease_until, created_at, started_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::bigint, $9::int,
			CASE WHEN $8 = 'running' THEN 1 ELSE 0 END,
			CASE WHEN $8 = 'running' THEN `+fmt.Sprintf(leaseSQL, "$10")+` END,
			$11, CASE WHEN $8 = 'running' THEN $11::timestamptz END)
		ON CONFLICT (fingerprint) WHERE status IN ('queued','running') DO NOTHING
		RETURNING `+jobColumns,
		j.BatchID, j.Selection, j.Fingerprint, j.District, j.Operator.ID, j.Operator.Name, j.Scope, j.Status, j.Total,
		j.Lease.Seconds(), j.At))
}

// openJobID is the id of the open job with fingerprint.
func openJobID(ctx context.Context, q store.Querier, fingerprint string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM qr.batch_jobs WHERE fingerprint = $1 AND status IN ('queued','running')`, fingerprint).Scan(&id)
	return id, store.Classify(err)
}

func selectJob(ctx context.Context, q store.Querier, id int64) (BatchJob, error) {
	return scanJob(q.QueryRow(ctx, `SELECT `+jobColumns+` FROM qr.batch_jobs WHERE id = $1`, id))
}

// jobsWhere selects the jobs op may see, optionally of one status: a
// city-wide operator every job, anyone else their own jobs and those whose
// selected district lies whole in their scope (like batch oplog rows, a
// job by credit codes alone has no place to filter on).
func jobsWhere(op Operator, status string) *store.Where {
	w := &store.Where{}
	if op.Scope.Kind != auth.ScopeAll {
		w.AddWith(func(args *[]any) string {
			*args = append(*args, op.ID)
			return fmt.Sprintf("(operator_id = $%d OR (district_code <> '' AND %s))", len(*args),
				op.Scope.Filter("district_code", "township_code", args))
		})
	}
	if status != "" {
		w.Add("status = ?", status)
	}
	return w
}

// listJobs is a page of the jobs w selects, newest first, and their count.
func listJobs(ctx context.Context, q store.Querier, w *store.Where, limit, offset int) ([]BatchJob, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM qr.batch_jobs`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	sql := `SELECT ` + jobListColumns + ` FROM qr.batch_jobs` + w.SQL()
	sql += ` ORDER BY created_at DESC, id DESC LIMIT ` + w.Next(limit) + ` OFFSET ` + w.Next(offset)
	list, err := scanJobs(q.Query(ctx, sql, w.Args()...))
	return list, total, err
}

// claimJob takes the oldest runnable job (queued, or running with a
// lapsed lease, claimed fewer than maxAttempts times) for a run;
// errs.ErrNotFound when there is none. SKIP LOCKED hands each job to one
// replica.
func claimJob(ctx context.Context, q store.Querier, lease time.Duration, at time.Time, maxAttempts int) (BatchJob, error) {
	return scanJob(q.QueryRow(ctx, `UPDATE qr.batch_jobs SET status = 'running', attempts = attempts + 1,
			lease_until = `+fmt.Sprintf(leaseSQL, "$1")+`, started_at = COALESCE(started_at, $2)
		WHERE id = (SELECT id FROM qr.batch_jobs
			WHERE (status = 'queued' OR (status = 'running' AND lease_until < now())) AND attempts < $3
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobColumns, lease.Seconds(), at, maxAttempts))
}

// failExhaustedJobs fails the jobs claimed maxAttempts times whose last
// runner is gone too, and returns them.
func failExhaustedJobs(ctx context.Context, q store.Querier, at time.Time, maxAttempts int, msg string) ([]BatchJob, error) {
	return scanJobs(q.Query(ctx, `UPDATE qr.batch_jobs SET status = 'failed', lease_until = NULL, finished_at = $1, error = $3
		WHERE (status = 'queued' OR (status = 'running' AND lease_until < now())) AND attempts >= $2
		RETURNING `+jobColumns, at, maxAttempts, msg))
}

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

// renew extends the claim's lease.
func (r *jobRun) renew(ctx context.Context, q store.Querier) error {
	return r.fenced(ctx, q, `lease_until = `+fmt.Sprintf(leaseSQL, "$3"), r.lease.Seconds())
}

// progress adds a chunk's counts to the job inside the chunk's
// transaction: the codes and the counts commit together or not at all.
func (r *jobRun) progress(ctx context.Context, tx pgx.Tx, active, pending, evs int64) error {
	return r.fenced(ctx, tx, `issued = issued + $3::bigint, pending_review = pending_review + $4::bigint, events = events + $5::bigint,
		lease_until = `+fmt.Sprintf(leaseSQL, "$6"), active, pending, evs, r.lease.Seconds())
}

// counted records what the selection holds when a run starts (see countJob).
func (r *jobRun) counted(ctx context.Context, q store.Querier, total, unissued int64, unknown []string) error {
	return r.fenced(ctx, q, `total = $3::bigint, target = issued + pending_review + $4::bigint, unknown = $5::text[],
		skipped = GREATEST($3::bigint - cardinality($5::text[]) - issued - pending_review - $4::bigint, 0)`, total, unissued, unknown)
}

// finished marks the run done with the codes it did not know.
func (r *jobRun) finished(ctx context.Context, q store.Querier, at time.Time, unknown []string) error {
	return r.fenced(ctx, q, `status = 'done', finished_at = $3, lease_until = NULL, unknown = $4::text[],
		skipped = GREATEST(total - cardinality($4::text[]) - issued - pending_review, 0)`, at, unknown)
}

// requeued gives the job back to the queue (shutdown, database gone).
func (r *jobRun) requeued(ctx context.Context, q store.Querier) error {
	return r.fenced(ctx, q, `status = 'queued', lease_until = NULL`)
}

// failed marks the run failed with a message for the operator.
func (r *jobRun) failed(ctx context.Context, q store.Querier, at time.Time, msg string) error {
	return r.fenced(ctx, q, `status = 'failed', finished_at = $3, lease_until = NULL, error = $4`, at, msg)
}

// countSelection counts the active entities w (over qr.entities e)
// selects, and those of them without a code.
func countSelection(ctx context.Context, q store.Querier, w *store.Where) (matched, unissued int64, err error) {
	err = q.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE `+unissuedSQL+`) FROM qr.entities e`+w.SQL(), w.Args()...).
		Scan(&matched, &unissued)
	if err != nil {
		return 0, 0, store.Classify(fmt.Errorf("count selection: %w", err))
	}
	return matched, unissued, nil
}

// unknownCodes are the credit codes qr-generate holds no entity for.
func unknownCodes(ctx context.Context, q store.Querier, codes []string) ([]string, error) {
	if len(codes) == 0 {
		return []string{}, nil
	}
	rows, err := q.Query(ctx, `SELECT c FROM unnest($1::text[]) c
		WHERE NOT EXISTS (SELECT 1 FROM qr.entities e WHERE e.credit_code = c)`, codes)
	if err != nil {
		return nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if list == nil {
		list = []string{}
	}
	return list, store.Classify(err)
}

// entitiesOutside are the credit codes of entities held outside scope.
func entitiesOutside(ctx context.Context, q store.Querier, codes []string, scope auth.Scope) ([]string, error) {
	w := &store.Where{}
	w.Add("credit_code = ANY(?::text[])", codes)
	w.AddWith(func(args *[]any) string {
		return "NOT (" + scope.Filter("district_code", "township_code", args) + ")"
	})
	rows, err := q.Query(ctx, `SELECT credit_code FROM qr.entities`+w.SQL(), w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return list, store.Classify(err)
}
