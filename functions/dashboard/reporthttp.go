package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

// ReportTask is the report PingSource's task
// (infra/knative/pingsources/dashboard-reports.yaml): deliver every
// subscription's last complete period.
const ReportTask = "dashboard-reports"

func (f *Function) reportRoutes(m *httpx.Mux) {
	// FP-121: custom topic reports, defined by the back office and rendered to PDF in the reader's scope.
	m.Handle("GET /dashboard/v1/reports", httpx.Endpoint(f.listReports), auth.Requires(PermKPI, "view"), httpx.NoEntity())
	m.Handle("POST /dashboard/v1/reports", httpx.Body(f.postReport), auth.Requires(PermKPI, "manage"), httpx.NoEntity())
	m.Handle("GET /dashboard/v1/reports/{id}/pdf", http.HandlerFunc(f.reportPDF), auth.Requires(PermKPI, "view"),
		httpx.EntityListing(), httpx.Params("from", "to"))
	// FP-138: subscriptions, each recipient in person with their own scope, and the deliveries.
	m.Handle("PUT /dashboard/v1/reports/{id}/subscription", httpx.Endpoint(f.subscribe), auth.Requires(PermKPI, "view"), httpx.NoEntity())
	m.Handle("DELETE /dashboard/v1/reports/{id}/subscription", httpx.Endpoint(f.unsubscribe), auth.Requires(PermKPI, "view"), httpx.NoEntity())
	m.Handle("GET /dashboard/v1/deliveries", httpx.Endpoint(f.listDeliveries), auth.Requires(PermKPI, "view"), httpx.NoEntity())
	m.Handle("GET /dashboard/v1/deliveries/{id}/pdf", http.HandlerFunc(f.deliveryPDF), auth.Requires(PermKPI, "view"), httpx.EntityListing())
}

const reportCols = `r.id, r.title, r.dimensions, r.districts, r.period, r.created_by, r.created_at`

func scanReport(r pgx.Row, extra ...any) (Report, error) {
	var x Report
	err := r.Scan(append([]any{&x.ID, &x.Title, &x.Dimensions, &x.Districts, &x.Period, &x.CreatedBy, &x.CreatedAt}, extra...)...)
	return x, err
}

func (f *Function) listReports(r *http.Request) (any, error) {
	p := principal(r)
	if err := f.renewScope(r.Context(), p); err != nil {
		return nil, err
	}
	rows, err := f.pool.Query(r.Context(), `SELECT `+reportCols+`, EXISTS (SELECT 1 FROM dashboard.subscriptions s
		WHERE s.report_id = r.id AND s.user_id = $1) FROM dashboard.reports r ORDER BY r.id`, p.UserID)
	if err != nil {
		return nil, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Report, error) {
		var sub bool
		x, err := scanReport(row, &sub)
		x.Subscribed = sub
		return x, err
	})
	if items == nil {
		items = []Report{}
	}
	return map[string]any{"items": items}, store.Classify(err)
}

func (f *Function) postReport(r *http.Request, in ReportInput) (any, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	who := auditlog.ActorOf(r)
	var x Report
	err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		var err error
		x, err = scanReport(tx.QueryRow(r.Context(), `INSERT INTO dashboard.reports (title, dimensions, districts, period, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, title, dimensions, districts, period, created_by, created_at`,
			in.Title, in.Dimensions, in.Districts, in.Period, who.Username, f.now()))
		if pgCode(err) == "23505" {
			return errs.New(errs.Conflict, "已有同名报告")
		} else if err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, who, auditlog.Operation{At: f.now(), Action: "dashboard.report.create",
			ObjectType: "report", ObjectID: itoa(int(x.ID)), After: in})
	})
	if err != nil {
		return nil, classify(err)
	}
	return httpx.Created(x, ""), nil
}

func (f *Function) report(ctx context.Context, r *http.Request) (Report, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return Report{}, errs.New(errs.NotFound, "报告不存在")
	}
	x, err := scanReport(f.pool.QueryRow(ctx, `SELECT `+reportCols+` FROM dashboard.reports r WHERE r.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return x, errs.New(errs.NotFound, "报告不存在")
	}
	return x, store.Classify(err)
}

// reportPDF renders a report now, for the caller's own scope, over the
// period asked for (default: the report's last complete period).
func (f *Function) reportPDF(w http.ResponseWriter, r *http.Request) {
	if err := f.writeReportPDF(w, r); err != nil {
		httpx.Fail(w, r, err)
	}
}

func (f *Function) writeReportPDF(w http.ResponseWriter, r *http.Request) error {
	x, err := f.report(r.Context(), r)
	if err != nil {
		return err
	}
	from, to := lastPeriod(x.Period, f.now())
	q := r.URL.Query()
	var fe []errs.FieldError
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				fe = append(fe, errs.FieldError{Field: p.name, Message: "日期应为 YYYY-MM-DD"})
				continue
			}
			*p.t = t
		}
	}
	if err := errs.Fields(fe); err != nil {
		return err
	}
	if to.Before(from) {
		return errs.Fields([]errs.FieldError{{Field: "to", Message: "结束日期不能早于开始日期"}})
	}
	if to.Sub(from) > 366*24*time.Hour {
		return errs.Fields([]errs.FieldError{{Field: "to", Message: "统计周期最长一年"}})
	}
	p := principal(r)
	d, err := reportData(r.Context(), f.pool, x, p.Scope, from, to, f.now())
	if err != nil {
		return err
	}
	pdf, err := renderReport(d)
	if err != nil {
		return err
	}
	if err := store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(),
			Action: "dashboard.report.render", ObjectType: "report", ObjectID: itoa(int(x.ID)),
			After: map[string]any{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "rows": len(d.Roster)}})
	}); err != nil {
		return err
	}
	servePDF(w, fmt.Sprintf("%s_%s_%s.pdf", x.Title, from.Format("20060102"), to.Format("20060102")), bytes.NewReader(pdf), int64(len(pdf)))
	return nil
}

func servePDF(w http.ResponseWriter, name string, body io.Reader, size int64) {
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = io.Copy(w, body)
}

// renewScope keeps the scope stored with a user's subscriptions the one
// identity last resolved for them: every visit of theirs renews it.
func (f *Function) renewScope(ctx context.Context, p *auth.Principal) error {
	scope, _ := json.Marshal(p.Scope)
	_, err := f.pool.Exec(ctx, `UPDATE dashboard.subscriptions SET scope = $2, scope_at = $3
		WHERE user_id = $1 AND scope <> $2::jsonb`, p.UserID, scope, f.now())
	return store.Classify(err)
}

func (f *Function) subscribe(r *http.Request) (any, error) {
	x, err := f.report(r.Context(), r)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	scope, _ := json.Marshal(p.Scope)
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(r.Context(), `INSERT INTO dashboard.subscriptions (report_id, user_id, username, scope, scope_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (report_id, user_id) DO UPDATE SET scope = EXCLUDED.scope, scope_at = EXCLUDED.scope_at`,
			x.ID, p.UserID, p.Username, scope, f.now()); err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(),
			Action: "dashboard.report.subscribe", ObjectType: "report", ObjectID: itoa(int(x.ID)),
			After: map[string]any{"subscriber": p.UserID, "subscribed": true}})
	})
	if err != nil {
		return nil, classify(err)
	}
	x.Subscribed = true
	return x, nil
}

func (f *Function) unsubscribe(r *http.Request) (any, error) {
	x, err := f.report(r.Context(), r)
	if err != nil {
		return nil, err
	}
	p := principal(r)
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(r.Context(), `DELETE FROM dashboard.subscriptions WHERE report_id = $1 AND user_id = $2`, x.ID, p.UserID)
		if err != nil || tag.RowsAffected() == 0 {
			return err // nothing was subscribed: nothing changed, nothing to log
		}
		return auditlog.RecordBy(r.Context(), tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(),
			Action: "dashboard.report.unsubscribe", ObjectType: "report", ObjectID: itoa(int(x.ID)),
			Before: map[string]any{"subscriber": p.UserID, "subscribed": true}, After: map[string]any{"subscriber": p.UserID, "subscribed": false}})
	})
	if err != nil {
		return nil, classify(err)
	}
	return httpx.NoContent(), nil
}

// Delivery is one period's report delivered to one recipient.
type Delivery struct {
	ID          int64     `json:"id"`
	ReportTitle string    `json:"report_title"`
	PeriodFrom  string    `json:"period_from"`
	PeriodTo    string    `json:"period_to"`
	Bytes       int64     `json:"bytes"`
	Rows        int64     `json:"rows"`
	DeliveredAt time.Time `json:"delivered_at"`
}

func (f *Function) listDeliveries(r *http.Request) (any, error) {
	p := principal(r)
	if err := f.renewScope(r.Context(), p); err != nil {
		return nil, err
	}
	rows, err := f.pool.Query(r.Context(), `SELECT id, report_title, period_from::text, period_to::text, bytes, rows, delivered_at
		FROM dashboard.deliveries WHERE user_id = $1 ORDER BY delivered_at DESC, id DESC LIMIT 200`, p.UserID)
	if err != nil {
		return nil, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		return d, row.Scan(&d.ID, &d.ReportTitle, &d.PeriodFrom, &d.PeriodTo, &d.Bytes, &d.Rows, &d.DeliveredAt)
	})
	if items == nil {
		items = []Delivery{}
	}
	return map[string]any{"items": items}, store.Classify(err)
}

// deliveryPDF serves a delivered report to its recipient only: it was
// rendered with their scope, so nobody else may read it.
func (f *Function) deliveryPDF(w http.ResponseWriter, r *http.Request) {
	if err := f.writeDeliveryPDF(w, r); err != nil {
		httpx.Fail(w, r, err)
	}
}

func (f *Function) writeDeliveryPDF(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return errs.New(errs.NotFound, "报告不存在")
	}
	var key, title, from string
	err = f.pool.QueryRow(r.Context(), `SELECT object_key, report_title, period_from::text FROM dashboard.deliveries
		WHERE id = $1 AND user_id = $2`, id, principal(r).UserID).Scan(&key, &title, &from)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.New(errs.NotFound, "报告不存在")
	} else if err != nil {
		return store.Classify(err)
	}
	body, info, err := f.blob.Get(r.Context(), key)
	if err != nil {
		return err
	}
	defer body.Close()
	servePDF(w, title+"_"+from+".pdf", body, info.Size)
	return nil
}

// subscription is one due delivery's inputs.
type subscription struct {
	id     int64
	userID string
	scope  auth.Scope
	report Report
}

// Deliver sends every subscription its report's last complete period,
// rendered with the recipient's own scope, as a platform notice linking
// the PDF. A period already delivered is skipped, so a redelivered tick
// sends nothing twice. It returns how many reports went out.
func (f *Function) Deliver(ctx context.Context) (int, error) {
	rows, err := f.pool.Query(ctx, `SELECT s.id, s.user_id, s.scope, `+reportCols+`
		FROM dashboard.subscriptions s JOIN dashboard.reports r ON r.id = s.report_id ORDER BY s.id`)
	if err != nil {
		return 0, store.Classify(err)
	}
	subs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (subscription, error) {
		var s subscription
		var scope []byte
		x := &s.report
		err := row.Scan(&s.id, &s.userID, &scope, &x.ID, &x.Title, &x.Dimensions, &x.Districts, &x.Period, &x.CreatedBy, &x.CreatedAt)
		if err == nil {
			err = json.Unmarshal(scope, &s.scope)
		}
		return s, err
	})
	if err != nil {
		return 0, store.Classify(err)
	}
	sent := 0
	for _, s := range subs {
		ok, err := f.deliver(ctx, s)
		if err != nil {
			return sent, fmt.Errorf("dashboard: subscription %d: %w", s.id, err)
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

func (f *Function) deliver(ctx context.Context, s subscription) (bool, error) {
	now := f.now()
	from, to := lastPeriod(s.report.Period, now)
	var done bool
	if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dashboard.deliveries WHERE subscription_id = $1 AND period_from = $2)`,
		s.id, from).Scan(&done); err != nil || done {
		return false, store.Classify(err)
	}
	d, err := reportData(ctx, f.pool, s.report, s.scope, from, to, now)
	if err != nil {
		return false, err
	}
	pdf, err := renderReport(d)
	if err != nil {
		return false, err
	}
	// The object first, then the row and the notice in one transaction: a
	// crash between leaves an unreferenced object the next tick overwrites.
	key := fmt.Sprintf("dashboard/reports/%d/%s.pdf", s.id, from.Format("20060102"))
	if _, err := f.blob.Put(ctx, key, bytes.NewReader(pdf), "application/pdf"); err != nil {
		return false, err
	}
	sent := false
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO dashboard.deliveries (subscription_id, user_id, report_title, period_from, period_to,
			object_key, bytes, rows, delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (subscription_id, period_from) DO NOTHING RETURNING id`,
			s.id, s.userID, s.report.Title, from, to, key, len(pdf), len(d.Roster), now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // delivered meanwhile by another replica
		} else if err != nil {
			return err
		}
		sent = true
		body := fmt.Sprintf("%s（%s 至 %s）已按您的数据范围（%s）生成：现有市场主体 %d 户，本期新登记 %d 户。点击查看并下载 PDF。",
			s.report.Title, from.Format(time.DateOnly), to.Format(time.DateOnly), scopeText(d.Scope), d.Stock, d.NewInPeriod)
		if d.Notice != "" {
			body += d.Notice + "。"
		}
		return notify.Post(ctx, tx, Source, notify.Notice{
			Title: fmt.Sprintf("【订阅报告】%s %s", s.report.Title, from.Format(time.DateOnly)),
			Body:  body, Kind: "dashboard_report", UserIDs: []string{s.userID}, At: now,
			Link:    fmt.Sprintf("/console/#/dashboard/reports?delivery=%d", id),
			Subject: strconv.FormatInt(id, 10),
		})
	})
	return sent, classify(err)
}
