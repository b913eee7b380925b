package provincialsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// table is a resource's table; names come from the mapping, never input.
func table(r Resource) string { return "province." + r.Name }

func storedHashes(ctx context.Context, q store.Querier, resource string, ids []string) (map[string]string, error) {
	r, _ := resourceNamed(resource)
	rows, err := q.Query(ctx, `SELECT source_id, content_hash FROM `+table(r)+` WHERE source_id = ANY($1::text[])`, ids)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := make(map[string]string, len(ids))
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, store.Classify(err)
		}
		out[id] = h
	}
	return out, store.Classify(rows.Err())
}

// writePage upserts the changed rows of a page through a staging table
// (COPY, then one INSERT … ON CONFLICT) and logs each row written. The
// columns of drifted (missing) fields keep their stored values.
func writePage(ctx context.Context, tx pgx.Tx, r Resource, runID int64, rows []Mapped, missing []string, now time.Time) (ins, upd int64, err error) {
	cols := []string{"source_id"}
	for _, f := range r.Fields {
		cols = append(cols, f.Column)
	}
	cols = append(cols, "content_hash", "source_updated_at", "synced_at", "run_id")
	stage := "stage_" + r.Name
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE `+stage+` (LIKE `+table(r)+`) ON COMMIT DROP`); err != nil {
		return 0, 0, store.Classify(err)
	}
	src := make([][]any, len(rows))
	for i, m := range rows {
		row := append([]any{m.SourceID}, m.Values...)
		src[i] = append(row, m.Hash, m.UpdatedAt, now, runID)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stage}, cols, pgx.CopyFromRows(src)); err != nil {
		return 0, 0, store.Classify(err)
	}
	var set []string
	for _, c := range cols[1:] {
		keep := false
		for _, f := range r.Fields {
			if f.Column == c && slices.Contains(missing, f.Province) {
				keep = true
			}
		}
		if keep {
			set = append(set, c+" = t."+c)
		} else {
			set = append(set, c+" = EXCLUDED."+c)
		}
	}
	list := strings.Join(cols, ", ")
	res, err := tx.Query(ctx, `INSERT INTO `+table(r)+` AS t (`+list+`) SELECT `+list+` FROM `+stage+`
		ON CONFLICT (source_id) DO UPDATE SET `+strings.Join(set, ", ")+`
		WHERE t.content_hash IS DISTINCT FROM EXCLUDED.content_hash
		RETURNING t.source_id, t.xmax = 0, COALESCE(t.district_code, '')`)
	if err != nil {
		return 0, 0, store.Classify(err)
	}
	var log [][]any
	for res.Next() {
		var id, district string
		var inserted bool
		if err := res.Scan(&id, &inserted, &district); err != nil {
			res.Close()
			return 0, 0, store.Classify(err)
		}
		action := "update"
		if inserted {
			action, ins = "insert", ins+1
		} else {
			upd++
		}
		log = append(log, []any{runID, r.Name, id, district, action, "", "", now})
	}
	res.Close()
	if err := res.Err(); err != nil {
		return 0, 0, store.Classify(err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"province", "log"},
		[]string{"run_id", "resource", "source_id", "district_code", "action", "field", "message", "at"}, pgx.CopyFromRows(log)); err != nil {
		return 0, 0, store.Classify(err)
	}
	return ins, upd, nil
}

// logEntry is one line of the interaction log.
type logEntry struct {
	Resource, SourceID, District, Action, Field, Message string
}

func writeLog(ctx context.Context, tx pgx.Tx, runID int64, entries []logEntry, now time.Time) error {
	var run any = runID
	if runID == 0 {
		run = nil
	}
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{run, e.Resource, e.SourceID, e.District, e.Action, e.Field, e.Message, now}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"province", "log"},
		[]string{"run_id", "resource", "source_id", "district_code", "action", "field", "message", "at"}, pgx.CopyFromRows(rows))
	return store.Classify(err)
}

type watermark struct {
	HighWater, Since, MaxSeen *time.Time
	Cursor                    string
	RunID                     int64
}

func loadWatermark(ctx context.Context, q store.Querier, resource string) (watermark, error) {
	var w watermark
	var run *int64
	err := q.QueryRow(ctx, `SELECT high_water, since, cursor, max_seen, run_id FROM province.watermarks WHERE resource = $1`, resource).
		Scan(&w.HighWater, &w.Since, &w.Cursor, &w.MaxSeen, &run)
	if errors.Is(err, pgx.ErrNoRows) {
		return watermark{}, nil
	}
	if run != nil {
		w.RunID = *run
	}
	return w, store.Classify(err)
}

func saveWatermark(ctx context.Context, q store.Querier, resource string, w watermark, now time.Time) error {
	_, err := q.Exec(ctx, `INSERT INTO province.watermarks (resource, high_water, since, cursor, max_seen, run_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (resource) DO UPDATE SET high_water = EXCLUDED.high_water, since = EXCLUDED.since, cursor = EXCLUDED.cursor,
			max_seen = EXCLUDED.max_seen, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at`,
		resource, w.HighWater, w.Since, w.Cursor, w.MaxSeen, w.RunID, now)
	return store.Classify(err)
}

func insertRun(ctx context.Context, q store.Querier, r Run) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO province.runs (trigger, started_at, status) VALUES ($1, $2, $3) RETURNING id`,
		r.Trigger, r.StartedAt, r.Status).Scan(&id)
	return id, store.Classify(err)
}

func finishRun(ctx context.Context, q store.Querier, r Run) error {
	_, err := q.Exec(ctx, `UPDATE province.runs SET finished_at = $2, status = $3, pages = $4, fetched = $5, inserted = $6, updated = $7,
			unchanged = $8, pushed = $9, rejected = $10, retries = $11, drift = $12, message = $13 WHERE id = $1`,
		r.ID, r.FinishedAt, r.Status, r.Pages, r.Fetched, r.Inserted, r.Updated, r.Unchanged, r.Pushed, r.Rejected, r.Retries, r.Drift, r.Message)
	return store.Classify(err)
}

const runColumns = `id, trigger, started_at, finished_at, status, pages, fetched, inserted, updated, unchanged, pushed, rejected, retries, drift, message`

func scanRun(row pgx.Row) (Run, error) {
	var r Run
	err := row.Scan(&r.ID, &r.Trigger, &r.StartedAt, &r.FinishedAt, &r.Status, &r.Pages, &r.Fetched, &r.Inserted, &r.Updated, &r.Unchanged,
		&r.Pushed, &r.Rejected, &r.Retries, &r.Drift, &r.Message)
	r.StatusName = runStatusNames[r.Status]
	if r.Drift == nil {
		r.Drift = []string{}
	}
	return r, store.Classify(err)
}

func listRuns(ctx context.Context, q store.Querier, p httpx.Page) ([]Run, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM province.runs`).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+runColumns+` FROM province.runs ORDER BY id DESC LIMIT $1 OFFSET $2`, p.Size, p.Offset())
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Run, error) { return scanRun(r) })
	return out, total, store.Classify(err)
}

func getRun(ctx context.Context, q store.Querier, id int64) (Run, error) {
	return scanRun(q.QueryRow(ctx, `SELECT `+runColumns+` FROM province.runs WHERE id = $1`, id))
}

// LogEntry is a line of the interaction log as the API shows it.
type LogEntry struct {
	ID           int64     `json:"id"`
	RunID        *int64    `json:"run_id"`
	Resource     string    `json:"resource"`
	SourceID     string    `json:"source_id"`
	DistrictCode string    `json:"district_code"`
	Action       string    `json:"action"`
	Field        string    `json:"field"`
	Message      string    `json:"message"`
	At           time.Time `json:"at"`
}

// listLog reads a run's log within the caller's scope: a record's line
// shows where its district is visible; lines about no record (drift,
// errors of a page) show to everyone who may see the run.
func listLog(ctx context.Context, q store.Querier, run int64, action string, scopeFilter func(*[]any) string, p httpx.Page) ([]LogEntry, int, error) {
	var w store.Where
	w.Add("l.run_id = ?", run)
	w.AddWith(func(a *[]any) string { return "(l.source_id = '' OR " + scopeFilter(a) + ")" })
	if action != "" {
		w.Add("l.action = ?", action)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM province.log l`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT l.id, l.run_id, l.resource, l.source_id, l.district_code, l.action, l.field, l.message, l.at
		FROM province.log l`+w.SQL()+` ORDER BY l.id LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LogEntry, error) {
		var e LogEntry
		return e, r.Scan(&e.ID, &e.RunID, &e.Resource, &e.SourceID, &e.DistrictCode, &e.Action, &e.Field, &e.Message, &e.At)
	})
	return out, total, store.Classify(err)
}

// ProvinceRow is a pulled record in our columns, for the lists.
type ProvinceRow struct {
	SourceID        string            `json:"source_id"`
	Values          map[string]string `json:"values"`
	DistrictCode    string            `json:"district_code"`
	SourceUpdatedAt time.Time         `json:"source_updated_at"`
	SyncedAt        time.Time         `json:"synced_at"`
}

func listRows(ctx context.Context, q store.Querier, r Resource, text string, scopeFilter func(*[]any) string, p httpx.Page) ([]ProvinceRow, int, error) {
	var w store.Where
	w.AddWith(scopeFilter)
	var cols []string
	for _, f := range r.Fields {
		cols = append(cols, "COALESCE("+f.Column+"::text, '')")
	}
	if text != "" {
		w.Add("concat_ws(' ', "+strings.Join(cols, ", ")+") ILIKE ?", store.Contains(text))
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM `+table(r)+` d`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT source_id, ARRAY[%s], COALESCE(district_code, ''), source_updated_at, synced_at FROM %s d%s
		ORDER BY source_updated_at DESC, source_id LIMIT %s OFFSET %s`, strings.Join(cols, ", "), table(r), w.SQL(), w.Next(p.Size), w.Next(p.Offset())),
		w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ProvinceRow, error) {
		var pr ProvinceRow
		var vals []string
		err := row.Scan(&pr.SourceID, &vals, &pr.DistrictCode, &pr.SourceUpdatedAt, &pr.SyncedAt)
		pr.Values = map[string]string{}
		for i, f := range r.Fields {
			if i < len(vals) {
				pr.Values[f.Column] = vals[i]
			}
		}
		return pr, err
	})
	return out, total, store.Classify(err)
}
