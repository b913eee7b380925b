package provincialsync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// lockKey is the advisory lock one run holds: a tick arriving while a
// run is under way (or a second replica's) finds it taken and does
// nothing. PostgreSQL releases it when the holder's connection ends, so a
// killed run does not block the next.
const lockKey = 0x70726f76 // "prov"

// Run is one sync run's record (the interaction log per run).
type Run struct {
	ID         int64      `json:"id"`
	Trigger    string     `json:"trigger"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Status     string     `json:"status"` // running | ok | partial | failed | skipped
	StatusName string     `json:"status_name"`
	Pages      int        `json:"pages"`
	Fetched    int64      `json:"fetched"`
	Inserted   int64      `json:"inserted"`
	Updated    int64      `json:"updated"`
	Unchanged  int64      `json:"unchanged"`
	Pushed     int64      `json:"pushed"`
	Rejected   int64      `json:"rejected"`
	Retries    int64      `json:"retries"`
	Drift      []string   `json:"drift"` // "resource.field" that drifted
	Message    string     `json:"message"`
}

var runStatusNames = map[string]string{"running": "进行中", "ok": "成功", "partial": "部分成功（有字段漂移或被拒记录）",
	"failed": "失败", "skipped": "跳过（已有同步在运行）"}

// Sync pulls every resource from the province, then pushes local changes.
// A run already under way (here or in another replica) makes it a no-op
// that reports "skipped".
func (f *Function) Sync(ctx context.Context, trigger string) (Run, error) {
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		return Run{}, store.Classify(err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&got); err != nil {
		return Run{}, store.Classify(err)
	}
	if !got {
		return Run{Trigger: trigger, Status: "skipped", StatusName: runStatusNames["skipped"], Drift: []string{}}, nil
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey) }()
	run := &Run{Trigger: trigger, StartedAt: f.now(), Status: "running", Drift: []string{}}
	if run.ID, err = insertRun(ctx, f.pool, *run); err != nil {
		return Run{}, err
	}
	retries := f.client.Retries()
	for _, r := range resources {
		if err = f.pull(ctx, run, r); err != nil {
			err = fmt.Errorf("pull %s: %w", r.Name, err)
			break
		}
	}
	if err == nil {
		if err = f.pushAll(ctx, run); err != nil {
			err = fmt.Errorf("push: %w", err)
		}
	}
	run.Retries = f.client.Retries() - retries
	now := f.now()
	run.FinishedAt = &now
	switch {
	case err != nil:
		run.Status, run.Message = "failed", err.Error()
	case len(run.Drift) > 0 || run.Rejected > 0:
		run.Status = "partial"
	default:
		run.Status = "ok"
	}
	run.StatusName = runStatusNames[run.Status]
	if ferr := finishRun(context.WithoutCancel(ctx), f.pool, *run); ferr != nil {
		err = errors.Join(err, ferr)
	}
	return *run, err
}

// pull pages through one resource's changes since the watermark (less
// the overlap window), or, when the last run was interrupted, from the
// page it had committed last.
func (f *Function) pull(ctx context.Context, run *Run, r Resource) error {
	wm, err := loadWatermark(ctx, f.pool, r.Name)
	if err != nil {
		return err
	}
	since, token, maxSeen := time.Time{}, "", wm.HighWater
	switch {
	case wm.Cursor != "" && wm.Since != nil: // resume the interrupted run
		since, token = *wm.Since, wm.Cursor
		if wm.MaxSeen != nil && (maxSeen == nil || wm.MaxSeen.After(*maxSeen)) {
			maxSeen = wm.MaxSeen
		}
	case wm.HighWater != nil:
		since = wm.HighWater.Add(-f.cfg.Overlap)
	}
	missing, unknown, bad := map[string]bool{}, map[string]bool{}, 0
	for {
		page, err := f.client.Fetch(ctx, r.Name, since, token, f.cfg.PageSize)
		if err != nil {
			return err
		}
		run.Pages++
		rows := make([]Mapped, 0, len(page.Items))
		pageMissing := map[string]bool{}
		for _, rec := range page.Items {
			m, err := mapRecord(r, rec)
			if err != nil {
				bad++
				continue
			}
			for _, fld := range m.Missing {
				missing[fld], pageMissing[fld] = true, true
			}
			for _, fld := range m.Unknown {
				unknown[fld] = true
			}
			bad += len(m.Bad)
			if maxSeen == nil || m.UpdatedAt.After(*maxSeen) {
				t := m.UpdatedAt
				maxSeen = &t
			}
			rows = append(rows, m)
		}
		run.Fetched += int64(len(rows))
		changed, err := f.changedRows(ctx, r, rows)
		if err != nil {
			return err
		}
		run.Unchanged += int64(len(rows) - len(changed))
		if len(changed) > 0 {
			// The rows and the position they bring commit together: a kill
			// after this resumes at page.Next and loses nothing.
			err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
				ins, upd, err := writePage(ctx, tx, r, run.ID, changed, keys(pageMissing), f.now())
				if err != nil {
					return err
				}
				run.Inserted, run.Updated = run.Inserted+ins, run.Updated+upd
				return saveWatermark(ctx, tx, r.Name, watermark{HighWater: wm.HighWater, Since: &since, Cursor: page.Next, MaxSeen: maxSeen,
					RunID: run.ID}, f.now())
			})
			if err != nil {
				return err
			}
		}
		token = page.Next
		if token == "" {
			break
		}
	}
	// Done: the watermark moves to the newest change seen. Unchanged, and
	// with no run to finish, nothing is written.
	if wm.Cursor != "" || wm.Since != nil || (maxSeen != nil && (wm.HighWater == nil || maxSeen.After(*wm.HighWater))) {
		if err := saveWatermark(ctx, f.pool, r.Name, watermark{HighWater: maxSeen, RunID: run.ID}, f.now()); err != nil {
			return err
		}
	}
	return f.recordDrift(ctx, run, r, missing, unknown, bad)
}

// recordDrift says loudly, once per run and field, which fields drifted:
// a missing (renamed) field is not synced and keeps its values; an added
// one is ignored; everything else of the records was synced.
func (f *Function) recordDrift(ctx context.Context, run *Run, r Resource, missing, unknown map[string]bool, bad int) error {
	var entries []logEntry
	for _, fld := range keys(missing) {
		run.Drift = append(run.Drift, r.Name+"."+fld)
		entries = append(entries, logEntry{Resource: r.Name, Action: "drift", Field: fld,
			Message: fmt.Sprintf("省平台%s数据缺少已映射字段 %s（可能已更名）：该字段本次未同步，保留原值；其他字段已同步", r.Label, fld)})
	}
	for _, fld := range keys(unknown) {
		run.Drift = append(run.Drift, r.Name+"."+fld)
		entries = append(entries, logEntry{Resource: r.Name, Action: "drift", Field: fld,
			Message: fmt.Sprintf("省平台%s数据新增字段 %s，未在字段映射中，已忽略", r.Label, fld)})
	}
	if bad > 0 {
		entries = append(entries, logEntry{Resource: r.Name, Action: "error",
			Message: fmt.Sprintf("省平台%s数据中有 %d 处字段值无法解析（编号或更新时间缺失、日期格式错误），已跳过", r.Label, bad)})
	}
	if len(entries) == 0 {
		return nil
	}
	f.log.WarnContext(ctx, "province schema drift", "resource", r.Name, "missing", keys(missing), "added", keys(unknown), "bad", bad)
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error { return writeLog(ctx, tx, run.ID, entries, f.now()) })
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// changedRows keeps the rows whose hash differs from what is stored.
func (f *Function) changedRows(ctx context.Context, r Resource, rows []Mapped) ([]Mapped, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, m := range rows {
		ids[i] = m.SourceID
	}
	stored, err := storedHashes(ctx, f.pool, r.Name, ids)
	if err != nil {
		return nil, err
	}
	var out []Mapped
	for _, m := range rows {
		if h, ok := stored[m.SourceID]; !ok || h != m.Hash {
			out = append(out, m)
		}
	}
	return out, nil
}
