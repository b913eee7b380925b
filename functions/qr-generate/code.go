package qrgenerate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Code statuses.
const (
	StatusPending  = "pending"
	StatusActive   = "active"
	StatusRejected = "rejected"
	StatusInvalid  = "invalid"
)

var statusNames = map[string]string{StatusPending: "待审核", StatusActive: "有效", StatusRejected: "已驳回", StatusInvalid: "已失效"}

var entityTypeNames = map[string]string{
	"enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社",
	"institution": "事业单位", "non_enterprise": "民办非企业单位",
}

// needsReview reports whether codes for the entity type are issued only
// after a reviewer approves (FP-46 事业单位, FP-47 民非).
func needsReview(entityType string) bool {
	return entityType == "institution" || entityType == "non_enterprise"
}

// reviewTypesSQL is needsReview as an SQL list, for set-based issuance.
const reviewTypesSQL = `('institution','non_enterprise')`

// Code is one entity's QR code.
type Code struct {
	Token            string     `json:"token"`
	CreditCode       string     `json:"credit_code"`
	URL              string     `json:"url"`
	EntityName       string     `json:"entity_name"`
	EntityType       string     `json:"entity_type"`
	EntityTypeName   string     `json:"entity_type_name"`
	DistrictCode     string     `json:"district_code"`
	TownshipCode     string     `json:"township_code"`
	IndustryCode     string     `json:"industry_code"`
	Status           string     `json:"status"`
	StatusName       string     `json:"status_name"`
	Source           string     `json:"source"`
	IssuedAt         time.Time  `json:"issued_at"`
	ActivatedAt      *time.Time `json:"activated_at"`
	ReviewedBy       string     `json:"reviewed_by"`
	ReviewedAt       *time.Time `json:"reviewed_at"`
	RejectReason     string     `json:"reject_reason"`
	InvalidatedAt    *time.Time `json:"invalidated_at"`
	InvalidatedBy    string     `json:"invalidated_by"`
	InvalidateReason string     `json:"invalidate_reason"`
	Version          int        `json:"version"`
}

const codeColumns = `token, credit_code, entity_name, entity_type, district_code, township_code, industry_code, status, source,
	issued_at, activated_at, reviewed_by, reviewed_at, reject_reason, invalidated_at, invalidated_by, invalidate_reason, version`

func (f *Function) scanCode(row pgx.Row) (Code, error) {
	var c Code
	err := row.Scan(&c.Token, &c.CreditCode, &c.EntityName, &c.EntityType, &c.DistrictCode, &c.TownshipCode, &c.IndustryCode,
		&c.Status, &c.Source, &c.IssuedAt, &c.ActivatedAt, &c.ReviewedBy, &c.ReviewedAt, &c.RejectReason,
		&c.InvalidatedAt, &c.InvalidatedBy, &c.InvalidateReason, &c.Version)
	if err != nil {
		return c, store.Classify(err)
	}
	c.URL = f.URL(c.Token)
	c.EntityTypeName = entityTypeNames[c.EntityType]
	c.StatusName = statusNames[c.Status]
	return c, nil
}

// Operator is who performed an operation, for the log and the code's
// reviewed_by / invalidated_by.
type Operator struct {
	ID, Name string
	Scope    auth.Scope
}

// System is the operator of event-driven and scheduled work.
var System = Operator{Name: "system", Scope: auth.All()}

// OperatorFrom builds the operator of a request from its principal.
func OperatorFrom(ctx context.Context) Operator {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return Operator{Name: "anonymous"}
	}
	name := p.Username
	if p.Name != "" && p.Name != p.Username {
		name = p.Username + "（" + p.Name + "）"
	}
	return Operator{ID: p.UserID, Name: name, Scope: p.Scope}
}

// opEntry is one operation-log row.
type opEntry struct {
	Action, Token, CreditCode, District, Township, Result, Detail string
}

func (f *Function) logOp(ctx context.Context, q store.Querier, op Operator, e opEntry) error {
	if e.Result == "" {
		e.Result = "success"
	}
	_, err := q.Exec(ctx, `INSERT INTO qr.oplog (at, operator_id, operator, action, token, credit_code, district_code, township_code, result, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		f.now(), op.ID, op.Name, e.Action, e.Token, e.CreditCode, e.District, e.Township, e.Result, e.Detail)
	if err != nil {
		return fmt.Errorf("write operation log: %w", err)
	}
	return nil
}

// logFailure records a refused operation on an existing code outside the
// refused command's (rolled back) transaction.
func (f *Function) logFailure(ctx context.Context, op Operator, action string, c *Code, err error) {
	e := opEntry{Action: action, Result: "failure", Detail: err.Error()}
	if m := errs.As(err); m != nil {
		e.Detail = m.Message
	}
	if c != nil {
		e.Token, e.CreditCode, e.District, e.Township = c.Token, c.CreditCode, c.DistrictCode, c.TownshipCode
	}
	if lerr := f.logOp(context.WithoutCancel(ctx), f.pool, op, e); lerr != nil {
		f.log.WarnContext(ctx, "operation log failed", "err", lerr)
	}
}

var errCodeNotFound = errs.New(errs.NotFound, "二维码不存在")

// Get returns one code by token; a token with a bad MAC is not looked up.
func (f *Function) Get(ctx context.Context, token string) (Code, error) {
	if !f.tokens.Valid(token) {
		return Code{}, errCodeNotFound
	}
	c, err := f.scanCode(f.pool.QueryRow(ctx, `SELECT `+codeColumns+` FROM qr.codes WHERE token = $1`, token))
	if errors.Is(err, errs.ErrNotFound) {
		return c, errCodeNotFound
	}
	return c, err
}

func (f *Function) lockCode(ctx context.Context, tx pgx.Tx, token string) (Code, error) {
	if !f.tokens.Valid(token) {
		return Code{}, errCodeNotFound
	}
	c, err := f.scanCode(tx.QueryRow(ctx, `SELECT `+codeColumns+` FROM qr.codes WHERE token = $1 FOR UPDATE`, token))
	if errors.Is(err, errs.ErrNotFound) {
		return c, errCodeNotFound
	}
	return c, err
}

var errOutOfScope = errs.New(errs.Forbidden, "该二维码不在您的数据权限范围内")

// ReasonMax bounds reasons typed by reviewers and administrators.
const ReasonMax = 200

func checkReason(reason string, required bool, what string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case required && reason == "":
		return "", errs.Fields([]errs.FieldError{{Field: "reason", Message: "请填写" + what}})
	case utf8.RuneCountInString(reason) > ReasonMax:
		return "", errs.Fields([]errs.FieldError{{Field: "reason", Message: fmt.Sprintf("%s不能超过 %d 个字", what, ReasonMax)}})
	}
	return reason, nil
}

// command runs fn on the locked code in one transaction, checking the
// operator's scope, and logs a refusal as a failed operation.
func (f *Function) command(ctx context.Context, op Operator, action, token string, fn func(tx pgx.Tx, c *Code) error) (Code, error) {
	var out, seen Code
	found := false
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		c, err := f.lockCode(ctx, tx, token)
		if err != nil {
			return err
		}
		seen, found = c, true
		if !op.Scope.Allows(c.DistrictCode, c.TownshipCode) {
			return errOutOfScope
		}
		if err := fn(tx, &c); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil && found {
		f.logFailure(ctx, op, action, &seen, err)
	}
	return out, err
}

// Approve activates a pending (or previously rejected) code (赋码审核通过).
func (f *Function) Approve(ctx context.Context, token string, op Operator) (Code, error) {
	return f.command(ctx, op, "review", token, func(tx pgx.Tx, c *Code) error {
		if c.Status != StatusPending && c.Status != StatusRejected {
			return errs.New(errs.Conflict, "该二维码不是待审核状态，不能审核通过")
		}
		now := f.now()
		c2, err := f.scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = 'active', reviewed_by = $2, reviewed_at = $3,
			reject_reason = '', activated_at = COALESCE(activated_at, $3), version = version + 1, updated_at = $3
			WHERE token = $1 RETURNING `+codeColumns, c.Token, op.Name, now))
		if err != nil {
			return err
		}
		*c = c2
		if err := f.emitIssued(ctx, tx, c2, now); err != nil {
			return err
		}
		return f.logOp(ctx, tx, op, opEntry{Action: "review", Token: c.Token, CreditCode: c.CreditCode,
			District: c.DistrictCode, Township: c.TownshipCode, Detail: "审核通过"})
	})
}

// Reject refuses a pending code with a reason; reviewer and time are kept.
func (f *Function) Reject(ctx context.Context, token, reason string, op Operator) (Code, error) {
	reason, err := checkReason(reason, true, "驳回原因")
	if err != nil {
		return Code{}, err
	}
	return f.command(ctx, op, "review", token, func(tx pgx.Tx, c *Code) error {
		if c.Status != StatusPending {
			return errs.New(errs.Conflict, "该二维码不是待审核状态，不能驳回")
		}
		now := f.now()
		c2, err := f.scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = 'rejected', reviewed_by = $2, reviewed_at = $3,
			reject_reason = $4, version = version + 1, updated_at = $3 WHERE token = $1 RETURNING `+codeColumns, c.Token, op.Name, now, reason))
		if err != nil {
			return err
		}
		*c = c2
		return f.logOp(ctx, tx, op, opEntry{Action: "review", Token: c.Token, CreditCode: c.CreditCode,
			District: c.DistrictCode, Township: c.TownshipCode, Detail: "审核驳回：" + reason})
	})
}

// Invalidate makes an active or pending code invalid with a reason (FP-24).
func (f *Function) Invalidate(ctx context.Context, token, reason string, op Operator) (Code, error) {
	reason, err := checkReason(reason, true, "失效原因")
	if err != nil {
		return Code{}, err
	}
	return f.command(ctx, op, "invalidate", token, func(tx pgx.Tx, c *Code) error {
		if c.Status == StatusInvalid {
			return errs.New(errs.Conflict, "该二维码已失效")
		}
		if c.Status == StatusRejected {
			return errs.New(errs.Conflict, "该二维码审核未通过，无需作废")
		}
		c2, err := f.invalidateLocked(ctx, tx, c.Token, reason, op)
		*c = c2
		return err
	})
}

func (f *Function) invalidateLocked(ctx context.Context, tx pgx.Tx, token, reason string, op Operator) (Code, error) {
	now := f.now()
	c, err := f.scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = 'invalid', invalidated_at = $2, invalidated_by = $3,
		invalidate_reason = $4, version = version + 1, updated_at = $2 WHERE token = $1 RETURNING `+codeColumns, token, now, op.Name, reason))
	if err != nil {
		return c, err
	}
	ev, err := f.newEvent(events.QRInvalidated, c.CreditCode, events.QRInvalidatedData{
		Token: c.Token, CreditCode: c.CreditCode, Reason: reason, InvalidatedAt: now})
	if err != nil {
		return c, err
	}
	if err := outbox.Record(ctx, tx, ev); err != nil {
		return c, err
	}
	return c, f.logOp(ctx, tx, op, opEntry{Action: "invalidate", Token: c.Token, CreditCode: c.CreditCode,
		District: c.DistrictCode, Township: c.TownshipCode, Detail: reason})
}

// Reactivate restores an invalid code (FP-24). A code never approved goes
// back to review instead; an entity no longer active cannot be restored.
func (f *Function) Reactivate(ctx context.Context, token, reason string, op Operator) (Code, error) {
	reason, err := checkReason(reason, false, "恢复原因")
	if err != nil {
		return Code{}, err
	}
	return f.command(ctx, op, "reactivate", token, func(tx pgx.Tx, c *Code) error {
		if c.Status != StatusInvalid {
			return errs.New(errs.Conflict, "只有已失效的二维码可以恢复")
		}
		var entityStatus string
		err := tx.QueryRow(ctx, `SELECT status FROM qr.entities WHERE credit_code = $1`, c.CreditCode).Scan(&entityStatus)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if entityStatus != "" && entityStatus != "active" {
			return errs.New(errs.Conflict, "该主体已吊销或注销，不能恢复二维码")
		}
		next := StatusActive
		if c.ActivatedAt == nil && needsReview(c.EntityType) {
			next = StatusPending
		}
		now := f.now()
		c2, err := f.scanCode(tx.QueryRow(ctx, `UPDATE qr.codes SET status = $2, invalidated_at = NULL, invalidated_by = '',
			invalidate_reason = '', version = version + 1, updated_at = $3 WHERE token = $1 RETURNING `+codeColumns, c.Token, next, now))
		if err != nil {
			return err
		}
		*c = c2
		if next == StatusActive {
			ev, err := f.newEvent(events.QRReactivated, c.CreditCode, events.QRReactivatedData{
				Token: c.Token, CreditCode: c.CreditCode, ReactivatedAt: now})
			if err != nil {
				return err
			}
			if err := outbox.Record(ctx, tx, ev); err != nil {
				return err
			}
		}
		detail := "恢复有效"
		if next == StatusPending {
			detail = "恢复为待审核"
		}
		if reason != "" {
			detail += "：" + reason
		}
		return f.logOp(ctx, tx, op, opEntry{Action: "reactivate", Token: c.Token, CreditCode: c.CreditCode,
			District: c.DistrictCode, Township: c.TownshipCode, Detail: detail})
	})
}

func (f *Function) emitIssued(ctx context.Context, tx pgx.Tx, c Code, at time.Time) error {
	ev, err := f.newEvent(events.QRIssued, c.CreditCode, events.QRIssuedData{Token: c.Token, CreditCode: c.CreditCode, URL: c.URL, IssuedAt: at})
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, ev)
}

// Receive handles entity.registered (issue), entity.updated (keep copied
// fields current, issue if missed), entity.deregistered (invalidate) and
// the nightly "qr-sweep" tick. Each event is handled once (outbox.Once).
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.EntityRegistered:
		var d events.EntityRegisteredData
		if err := e.DataAs(&d); err != nil {
			return nil, errs.Wrap(errs.Invalid, "主体登记事件数据无法解析", err)
		}
		_, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error { return f.applyEntity(ctx, tx, d.Entity) })
		return nil, err
	case events.EntityUpdated:
		var d events.EntityUpdatedData
		if err := e.DataAs(&d); err != nil {
			return nil, errs.Wrap(errs.Invalid, "主体变更事件数据无法解析", err)
		}
		_, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error { return f.applyEntity(ctx, tx, d.Entity) })
		return nil, err
	case events.EntityDeregistered:
		var d events.EntityDeregisteredData
		if err := e.DataAs(&d); err != nil {
			return nil, errs.Wrap(errs.Invalid, "主体注销事件数据无法解析", err)
		}
		_, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error { return f.applyDeregistered(ctx, tx, d) })
		return nil, err
	case events.Ping:
		var d events.PingData
		if err := e.DataAs(&d); err != nil {
			return nil, errs.Wrap(errs.Invalid, "定时任务数据无法解析", err)
		}
		if d["task"] != SweepTask {
			return nil, nil
		}
		_, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
			_, err := f.sweep(ctx, tx)
			return err
		})
		return nil, err
	}
	return nil, nil
}

// applyEntity records the entity's latest snapshot (ignoring one older
// than what we hold, since events may arrive out of order), keeps the
// code's copied fields current, issues a code to an active entity without
// one, and invalidates the code of an entity that left the active state.
func (f *Function) applyEntity(ctx context.Context, tx pgx.Tx, e events.Entity) error {
	now := f.now()
	tag, err := tx.Exec(ctx, `INSERT INTO qr.entities (credit_code, name, entity_type, district_code, township_code, industry_code, status, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (credit_code) DO UPDATE SET name = EXCLUDED.name, entity_type = EXCLUDED.entity_type,
			district_code = EXCLUDED.district_code, township_code = EXCLUDED.township_code, industry_code = EXCLUDED.industry_code,
			status = EXCLUDED.status, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
		WHERE qr.entities.version <= EXCLUDED.version`,
		e.CreditCode, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, e.Status, e.Version, now)
	if err != nil {
		return fmt.Errorf("record entity %s: %w", e.CreditCode, err)
	}
	if tag.RowsAffected() == 0 {
		return nil // stale event: a newer snapshot is already applied
	}
	c, err := f.scanCode(tx.QueryRow(ctx, `SELECT `+codeColumns+` FROM qr.codes WHERE credit_code = $1 FOR UPDATE`, e.CreditCode))
	switch {
	case errors.Is(err, errs.ErrNotFound):
		if e.Status != "active" {
			return nil
		}
		return f.issueOne(ctx, tx, e)
	case err != nil:
		return err
	}
	if c.EntityName != e.Name || c.EntityType != e.EntityType || c.DistrictCode != e.DistrictCode ||
		c.TownshipCode != e.TownshipCode || c.IndustryCode != e.IndustryCode {
		if _, err := tx.Exec(ctx, `UPDATE qr.codes SET entity_name = $2, entity_type = $3, district_code = $4,
			township_code = $5, industry_code = $6, version = version + 1, updated_at = $7 WHERE token = $1`,
			c.Token, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, now); err != nil {
			return fmt.Errorf("update code of %s: %w", e.CreditCode, err)
		}
	}
	if e.Status != "active" && (c.Status == StatusActive || c.Status == StatusPending) {
		_, err := f.invalidateLocked(ctx, tx, c.Token, deregReason(e.Status), System)
		return err
	}
	return nil
}

func deregReason(status string) string {
	if status == "revoked" {
		return "主体已被吊销营业执照"
	}
	return "主体已注销"
}

func (f *Function) applyDeregistered(ctx context.Context, tx pgx.Tx, d events.EntityDeregisteredData) error {
	if _, err := tx.Exec(ctx, `UPDATE qr.entities SET status = $2, version = $3, updated_at = $4
		WHERE credit_code = $1 AND version <= $3`, d.CreditCode, d.Status, d.Version, f.now()); err != nil {
		return fmt.Errorf("record deregistration %s: %w", d.CreditCode, err)
	}
	var token string
	err := tx.QueryRow(ctx, `SELECT token FROM qr.codes WHERE credit_code = $1 AND status IN ('active','pending') FOR UPDATE`, d.CreditCode).Scan(&token)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	reason := deregReason(d.Status)
	if d.Reason != "" {
		reason += "：" + d.Reason
	}
	_, err = f.invalidateLocked(ctx, tx, token, reason, System)
	return err
}

// issueOne gives an entity its code: active at once, or pending review for
// institutions and 民非. A unique credit_code makes a concurrent or repeated
// issue a no-op.
func (f *Function) issueOne(ctx context.Context, tx pgx.Tx, e events.Entity) error {
	status := StatusActive
	if needsReview(e.EntityType) {
		status = StatusPending
	}
	now := f.now()
	for attempt := 0; ; attempt++ {
		token, err := f.tokens.Mint()
		if err != nil {
			return err
		}
		var activated *time.Time
		if status == StatusActive {
			activated = &now
		}
		c, err := f.scanCode(tx.QueryRow(ctx, `INSERT INTO qr.codes (token, credit_code, entity_name, entity_type, district_code,
				township_code, industry_code, status, source, issued_at, activated_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'event', $9, $10, $9)
			ON CONFLICT DO NOTHING RETURNING `+codeColumns,
			token, e.CreditCode, e.Name, e.EntityType, e.DistrictCode, e.TownshipCode, e.IndustryCode, status, now, activated))
		if errors.Is(err, errs.ErrNotFound) {
			// Either the entity already has a code (a repeated or racing
			// issue: done) or the token collided (2^-64 per pair: mint another).
			var has bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM qr.codes WHERE credit_code = $1)`, e.CreditCode).Scan(&has); err != nil {
				return err
			}
			if has {
				return nil
			}
			if attempt >= 3 {
				return errors.New("qr-generate: could not mint a unique token")
			}
			continue
		}
		if err != nil {
			return err
		}
		detail := "自动赋码"
		if status == StatusPending {
			detail = "自动赋码，待审核（" + entityTypeNames[e.EntityType] + "）"
		} else if err := f.emitIssued(ctx, tx, c, now); err != nil {
			return err
		}
		return f.logOp(ctx, tx, System, opEntry{Action: "issue", Token: c.Token, CreditCode: c.CreditCode,
			District: c.DistrictCode, Township: c.TownshipCode, Detail: detail})
	}
}

// sweep invalidates every code still active or pending whose entity is no
// longer active (a missed or failed entity.deregistered), set-based.
func (f *Function) sweep(ctx context.Context, tx pgx.Tx) (int, error) {
	now := f.now()
	rows, err := tx.Query(ctx, `UPDATE qr.codes c SET status = 'invalid', invalidated_at = $1, invalidated_by = 'system',
			invalidate_reason = CASE e.status WHEN 'revoked' THEN '主体已被吊销营业执照（定时清理）' ELSE '主体已注销（定时清理）' END,
			version = c.version + 1, updated_at = $1
		FROM qr.entities e
		WHERE e.credit_code = c.credit_code AND e.status <> 'active' AND c.status IN ('active','pending')
		RETURNING c.token, c.credit_code, c.district_code, c.township_code, c.invalidate_reason`, now)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	type inv struct{ token, code, district, township, reason string }
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (inv, error) {
		var v inv
		return v, r.Scan(&v.token, &v.code, &v.district, &v.township, &v.reason)
	})
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	evs := make([]event.Event, 0, len(list))
	for _, v := range list {
		ev, err := f.newEvent(events.QRInvalidated, v.code, events.QRInvalidatedData{Token: v.token, CreditCode: v.code, Reason: v.reason, InvalidatedAt: now})
		if err != nil {
			return 0, err
		}
		evs = append(evs, ev)
		if err := f.logOp(ctx, tx, System, opEntry{Action: "invalidate", Token: v.token, CreditCode: v.code,
			District: v.district, Township: v.township, Detail: v.reason}); err != nil {
			return 0, err
		}
	}
	if len(list) > 0 {
		f.log.InfoContext(ctx, "qr sweep invalidated codes", "count", len(list))
	}
	return len(list), outbox.Record(ctx, tx, evs...)
}

// Sweep runs the nightly sweep now and reports how many codes it invalidated.
func (f *Function) Sweep(ctx context.Context) (int, error) {
	var n int
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		n, err = f.sweep(ctx, tx)
		return err
	})
	return n, err
}
