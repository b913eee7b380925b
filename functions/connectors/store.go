package connectors

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// The SQL of runs and the interaction log; a page's writes are in run.go
// and push.go, where they share the page's transaction.

const runColumns = `id, connector, trigger, status, cursor_from, cursor_to, pages, rows_read, rows_written, rows_rejected,
	retries, resumed, error, started_at, finished_at`

func scanRun(row pgx.Row) (Run, error) {
	var r Run
	err := row.Scan(&r.ID, &r.Connector, &r.Trigger, &r.Status, &r.CursorFrom, &r.CursorTo, &r.Pages, &r.RowsRead,
		&r.RowsWritten, &r.RowsRejected, &r.Retries, &r.Resumed, &r.Error, &r.StartedAt, &r.FinishedAt)
	return r, store.Classify(err)
}

// advance moves the cursor and the run's counters in the page's transaction.
func (f *Function) advance(ctx context.Context, tx pgx.Tx, name string, run *Run, next string, read, written, rejected int) error {
	if _, err := tx.Exec(ctx, `UPDATE connectors.state SET cursor = $2, updated_at = $3 WHERE connector = $1`, name, next, f.now()); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE connectors.runs SET cursor_to = $2, pages = pages + 1, rows_read = rows_read + $3,
		rows_written = rows_written + $4, rows_rejected = rows_rejected + $5 WHERE id = $1`, run.ID, next, read, written, rejected); err != nil {
		return err
	}
	run.CursorTo = next
	run.Pages++
	run.RowsRead += read
	run.RowsWritten += written
	run.RowsRejected += rejected
	return nil
}

// logExchange writes one line of the interaction log. It is its own
// statement, not part of a page's transaction, so a failed request is
// logged even when its page rolls back.
func (f *Function) logExchange(name string, runID int64, x Exchange) {
	_, err := f.pool.Exec(context.Background(), `INSERT INTO connectors.log (connector, run_id, at, method, url, status, rows, duration_ms, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, name, runID, f.now(), x.Method, clip(x.URL, 500), x.Status, x.Rows,
		x.Duration.Milliseconds(), clip(x.Err, 1000))
	if err != nil {
		f.log.Warn("connectors: interaction log", "connector", name, "err", err)
	}
}

func listLog(ctx context.Context, q store.Querier, name string, p httpx.Page) ([]LogLine, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM connectors.log WHERE connector = $1`, name).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT id, nullif(run_id, 0), at, method, url, status, rows, duration_ms, error
		FROM connectors.log WHERE connector = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`, name, p.Size, p.Offset())
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	lines, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (LogLine, error) {
		var l LogLine
		return l, row.Scan(&l.ID, &l.RunID, &l.At, &l.Method, &l.URL, &l.Status, &l.Rows, &l.DurationMS, &l.Error)
	})
	return lines, total, store.Classify(err)
}

func listRuns(ctx context.Context, q store.Querier, name string, p httpx.Page) ([]Run, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM connectors.runs WHERE connector = $1`, name).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+runColumns+` FROM connectors.runs WHERE connector = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`,
		name, p.Size, p.Offset())
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Run, error) { return scanRun(row) })
	return items, total, err
}
