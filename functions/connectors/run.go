package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Run is one run of a connector.
type Run struct {
	ID           int64      `json:"id"`
	Connector    string     `json:"connector"`
	Trigger      string     `json:"trigger"`
	Status       string     `json:"status"`
	CursorFrom   string     `json:"cursor_from"`
	CursorTo     string     `json:"cursor_to"`
	Pages        int        `json:"pages"`
	RowsRead     int        `json:"rows_read"`
	RowsWritten  int        `json:"rows_written"`
	RowsRejected int        `json:"rows_rejected"`
	Retries      int        `json:"retries"`
	Resumed      bool       `json:"resumed"`
	Error        string     `json:"error"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
}

var errRunning = errs.New(errs.Conflict, "该对接正在同步中，请稍后再试")

// connector finds a connector by name: a built-in one or a configured
// external database ("db-<id>").
func (f *Function) connector(ctx context.Context, name string) (Connector, error) {
	for _, c := range f.builtin {
		if c.Name == name {
			return c, nil
		}
	}
	if c, ok, err := f.databaseConnector(ctx, name); err != nil || ok {
		return c, err
	}
	return Connector{}, errs.New(errs.NotFound, "没有这个数据对接")
}

// RunConnector runs one connector to the end of what the remote side has.
// A session advisory lock makes a second run wait its turn out (it gets
// errRunning); the lock dies with the process, so a run that finds a run
// still marked running knows it was killed and resumes from the cursor,
// which only ever moves in the transaction that stored its rows.
func (f *Function) RunConnector(ctx context.Context, name, trigger string) (Run, error) {
	c, err := f.connector(ctx, name)
	if err != nil {
		return Run{}, err
	}
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		return Run{}, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('connectors:' || $1))`, name).Scan(&locked); err != nil {
		return Run{}, err
	}
	if !locked {
		return Run{}, errRunning
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('connectors:' || $1))`, name)

	var run Run
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connectors.state (connector) VALUES ($1) ON CONFLICT DO NOTHING`, name); err != nil {
			return err
		}
		var cursor string
		if err := tx.QueryRow(ctx, `SELECT cursor FROM connectors.state WHERE connector = $1 FOR UPDATE`, name).Scan(&cursor); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE connectors.runs SET status = 'interrupted', finished_at = $2,
			error = '进程中断：下次运行从已提交的游标处续传' WHERE connector = $1 AND status = 'running'`, name, f.now())
		if err != nil {
			return err
		}
		run, err = scanRun(tx.QueryRow(ctx, `INSERT INTO connectors.runs (connector, trigger, status, cursor_from, cursor_to, resumed, started_at)
			VALUES ($1, $2, 'running', $3, $3, $4, $5) RETURNING `+runColumns, name, trigger, cursor, tag.RowsAffected() > 0, f.now()))
		return err
	})
	if err != nil {
		return Run{}, store.Classify(err)
	}
	cl := &caller{http: f.http, timeout: f.cfg.Timeout, maxRetries: f.cfg.MaxRetries, backoff: f.cfg.Backoff, sleep: f.sleep,
		logf: func(x Exchange) { f.logExchange(name, run.ID, x) }}
	if c.pusher != nil {
		err = f.push(ctx, c, cl, &run)
	} else {
		err = f.pull(ctx, c, cl, &run)
	}
	run.Retries = cl.retries
	return f.finish(context.WithoutCancel(ctx), run, err)
}

// pull reads pages until the remote side has no more.
func (f *Function) pull(ctx context.Context, c Connector, cl *caller, run *Run) error {
	for {
		page, err := c.puller.pull(ctx, cl, run.CursorTo, f.cfg.PageSize)
		if err != nil {
			return err
		}
		if page.Next == run.CursorTo && len(page.Rows) > 0 {
			return refuse("远端重复返回同一页（游标未前进），已停止以免循环", nil)
		}
		if len(page.Rows) == 0 && page.More {
			return refuse("远端声明还有数据却返回空页，已停止", nil)
		}
		if err := f.commitPage(ctx, c.Name, run, page); err != nil {
			return err
		}
		f.afterPage()
		if !page.More || len(page.Rows) == 0 {
			return nil
		}
	}
}

// checkRecord is what the registry would refuse, refused here first so a
// bad row is logged with its reason instead of dead-lettered downstream.
func checkRecord(r Record) string {
	if err := codes.CheckCreditCode(r.CreditCode); err != nil {
		return "统一社会信用代码无效（" + r.CreditCode + "）"
	}
	if n := utf8.RuneCountInString(r.Title); n < 2 || n > 200 {
		return "标题长度应为 2 至 200 个字符"
	}
	if _, err := time.Parse(time.DateOnly, r.OccurredOn); err != nil {
		return "日期格式错误（" + r.OccurredOn + "）"
	}
	return ""
}

// commitPage stores a page's rows, announces the new or changed ones and
// advances the cursor, all in one transaction.
func (f *Function) commitPage(ctx context.Context, name string, run *Run, page Page) error {
	written, rejected := 0, 0
	var reasons []Exchange
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		written, rejected, reasons = 0, 0, nil
		var evs []pending
		for _, row := range page.Rows {
			if why := checkRecord(row.Record); why != "" {
				rejected++
				reasons = append(reasons, Exchange{Method: "ROW", URL: row.ExtID, Err: "记录被拒收：" + why})
				continue
			}
			payload, err := json.Marshal(row.Record)
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO connectors.items (connector, ext_id, credit_code, kind, content_hash, payload, run_id, received_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (connector, ext_id) DO UPDATE SET credit_code = excluded.credit_code, kind = excluded.kind,
					content_hash = excluded.content_hash, payload = excluded.payload, run_id = excluded.run_id, received_at = excluded.received_at
				WHERE connectors.items.content_hash <> excluded.content_hash`,
				name, row.ExtID, row.Record.CreditCode, row.Record.Kind, row.Hash, payload, run.ID, f.now())
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue // unchanged: nothing to write, nothing to announce
			}
			written++
			evs = append(evs, pending{name, row})
		}
		if err := f.announce(ctx, tx, evs); err != nil {
			return err
		}
		return f.advance(ctx, tx, name, run, page.Next, len(page.Rows), written, rejected)
	})
	if err != nil {
		return err
	}
	for _, x := range reasons {
		f.logExchange(name, run.ID, x)
	}
	return nil
}

type pending struct {
	connector string
	row       Row
}

func (f *Function) announce(ctx context.Context, tx pgx.Tx, evs []pending) error {
	out := make([]event.Event, 0, len(evs))
	for _, e := range evs {
		r := e.row.Record
		ce, err := outbox.NewEvent(Source, events.ConnectorRecordReceived, r.CreditCode, events.ConnectorRecordReceivedData{
			Connector: e.connector, SourceKey: e.connector + "/" + e.row.ExtID, CreditCode: r.CreditCode, Kind: r.Kind, RefNo: r.RefNo,
			Title: r.Title, Authority: r.Authority, OccurredOn: r.OccurredOn, Status: r.Status, Public: r.Public, Details: r.Details,
			ReceivedAt: f.now()}, f.now())
		if err != nil {
			return err
		}
		out = append(out, ce)
	}
	if len(out) == 0 {
		return nil
	}
	return outbox.Record(ctx, tx, out...)
}

// finish records how the run ended and the connector's health.
func (f *Function) finish(ctx context.Context, run Run, runErr error) (Run, error) {
	run.Status, run.Error = "done", ""
	health := "ok"
	if run.Retries > 0 || run.RowsRejected > 0 {
		health = "degraded"
	}
	if runErr != nil {
		run.Status, run.Error, health = "failed", Reason(runErr), "error"
		f.logExchange(run.Connector, run.ID, Exchange{Method: "RUN", URL: run.Connector, Err: "同步失败：" + run.Error})
	}
	now := f.now()
	run.FinishedAt = &now
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE connectors.runs SET status = $2, error = $3, retries = $4, finished_at = $5 WHERE id = $1`,
			run.ID, run.Status, run.Error, run.Retries, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE connectors.state SET last_run_id = $2, last_run_at = $3, last_status = $4, last_error = $5,
			health = $6, updated_at = $3 WHERE connector = $1`, run.Connector, run.ID, now, run.Status, run.Error, health)
		return err
	})
	if err != nil {
		return run, fmt.Errorf("connectors: finishing run %d: %w", run.ID, err)
	}
	if runErr != nil && errors.Is(runErr, context.Canceled) {
		return run, runErr
	}
	return run, nil
}
