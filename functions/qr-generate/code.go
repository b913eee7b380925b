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
	"github.com/sjzamr/smartreg/shared/auditlog"
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

// link gives c its content URL.
func (f *Function) link(c Code, err error) (Code, error) {
	if err == nil {
		c.URL = f.URL(c.Token)
	}
	return c, err
}

func (f *Function) links(list []Code) []Code {
	for i := range list {
		list[i].URL = f.URL(list[i].Token)
	}
	return list
}

// Operator is who performed an operation, for the log and the code's
// reviewed_by / invalidated_by.
type Operator struct {
	ID, Name string
	Scope    auth.Scope
	IP       string // the client address, for the audit log; "" off a request
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

// opEntry is one operation-log row. Before and After are the code's
// state around the change (nil for none), for the platform's operation log.
type opEntry struct {
	Action, Token, CreditCode, District, Township, Result, Detail string
	Before, After                                                 any
}

// entryOf is an operation-log row about code c, now in state c.
func entryOf(action string, c Code, detail string) opEntry {
	return opEntry{Action: action, Token: c.Token, CreditCode: c.CreditCode, District: c.DistrictCode, Township: c.TownshipCode, Detail: detail,
		After: c}
}

// was sets the state before the change.
func (e opEntry) was(before Code) opEntry { e.Before = before; return e }

// logOp writes the row of qr-generate's own log (the 赋码 history page)
// and, inside a transaction, the platform operation-log row (FP-8) with
// the before and after state, so both exist exactly when the change
// commits. A refusal (logged outside the rolled-back transaction) goes to
// the platform log too, as a failed operation without state.
func (f *Function) logOp(ctx context.Context, q store.Querier, op Operator, e opEntry) error {
	if e.Result == "" {
		e.Result = "success"
	}
	if err := insertOpLog(ctx, q, f.now(), op, e); err != nil {
		return err
	}
	rec := auditlog.Operation{At: f.now(), UserID: op.ID, Username: op.Name, IP: op.IP, Action: "qr." + e.Action,
		ObjectType: "qr_code", ObjectID: e.Token, DistrictCode: e.District, TownshipCode: e.Township, Result: e.Result}
	if e.Token == "" {
		rec.ObjectType = "qr_batch"
	}
	if e.Result == "success" {
		rec.Before, rec.After = e.Before, e.After
	}
	if rec.After == nil && e.Detail != "" {
		rec.After = map[string]string{"detail": e.Detail}
	}
	if tx, ok := q.(pgx.Tx); ok {
		return auditlog.Record(ctx, tx, Source, rec)
	}
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error { return auditlog.Record(ctx, tx, Source, rec) })
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

var (
	errCodeNotFound = errs.New(errs.NotFound, "二维码不存在")
	errOutOfScope   = errs.New(errs.Forbidden, "该二维码不在您的数据权限范围内")
)

// Get returns one code by token; a token with a bad MAC is not looked up.
func (f *Function) Get(ctx context.Context, token string) (Code, error) {
	return f.code(ctx, f.pool, token, false)
}

// Code returns one code of the operator's scope (FP-22).
func (f *Function) Code(ctx context.Context, token string, op Operator) (Code, error) {
	c, err := f.Get(ctx, token)
	if err == nil && !op.Scope.Allows(c.DistrictCode, c.TownshipCode) {
		return Code{}, errOutOfScope
	}
	return c, err
}

func (f *Function) code(ctx context.Context, q store.Querier, token string, lock bool) (Code, error) {
	if !f.tokens.Valid(token) {
		return Code{}, errCodeNotFound
	}
	c, err := f.link(selectCode(ctx, q, token, lock))
	if errors.Is(err, errs.ErrNotFound) {
		return c, errCodeNotFound
	}
	return c, err
}

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
		c, err := f.code(ctx, tx, token, true)
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

// Approve activates a pending (or previously rejected) code (赋码审核通过, FP-46, FP-47).
func (f *Function) Approve(ctx context.Context, token string, op Operator) (Code, error) {
	return f.command(ctx, op, "review", token, func(tx pgx.Tx, c *Code) error {
		if c.Status != StatusPending && c.Status != StatusRejected {
			return errs.New(errs.Conflict, "该二维码不是待审核状态，不能审核通过")
		}
		now := f.now()
		c2, err := f.link(approveCode(ctx, tx, c.Token, op.Name, now))
		if err != nil {
			return err
		}
		before := *c
		*c = c2
		if err := f.emitIssued(ctx, tx, c2, now); err != nil {
			return err
		}
		return f.logOp(ctx, tx, op, entryOf("review", c2, "审核通过").was(before))
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
		c2, err := f.link(rejectCode(ctx, tx, c.Token, op.Name, reason, f.now()))
		if err != nil {
			return err
		}
		before := *c
		*c = c2
		return f.logOp(ctx, tx, op, entryOf("review", c2, "审核驳回："+reason).was(before))
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
		c2, err := f.invalidateLocked(ctx, tx, *c, reason, op)
		*c = c2
		return err
	})
}

// invalidateLocked invalidates a code the transaction holds, emitting
// qr.invalidated and logging it.
func (f *Function) invalidateLocked(ctx context.Context, tx pgx.Tx, before Code, reason string, op Operator) (Code, error) {
	now := f.now()
	c, err := f.link(invalidateCode(ctx, tx, before.Token, op.Name, reason, now))
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
	return c, f.logOp(ctx, tx, op, entryOf("invalidate", c, reason).was(before))
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
		status, err := entityStatus(ctx, tx, c.CreditCode)
		if err != nil {
			return err
		}
		if status != "" && status != "active" {
			return errs.New(errs.Conflict, "该主体已吊销或注销，不能恢复二维码")
		}
		next := StatusActive
		if c.ActivatedAt == nil && needsReview(c.EntityType) {
			next = StatusPending
		}
		now := f.now()
		c2, err := f.link(reactivateCode(ctx, tx, c.Token, next, now))
		if err != nil {
			return err
		}
		before := *c
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
		return f.logOp(ctx, tx, op, entryOf("reactivate", c2, detail).was(before))
	})
}

func (f *Function) newEvent(typ, subject string, data any) (event.Event, error) {
	return outbox.NewEvent(Source, typ, subject, data, f.now())
}

func (f *Function) emitIssued(ctx context.Context, tx pgx.Tx, c Code, at time.Time) error {
	ev, err := f.newEvent(events.QRIssued, c.CreditCode, events.QRIssuedData{Token: c.Token, CreditCode: c.CreditCode, URL: c.URL, IssuedAt: at})
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, ev)
}

// issueOne gives an entity its code (FP-22): active at once, or pending
// review for institutions and 民非. A unique credit_code makes a concurrent
// or repeated issue a no-op.
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
		c, err := f.link(insertCode(ctx, tx, token, e, status, now))
		if errors.Is(err, errs.ErrNotFound) {
			// Either the entity already has a code (a repeated or racing
			// issue: done) or the token collided (2^-64 per pair: mint another).
			has, err := entityHasCode(ctx, tx, e.CreditCode)
			if err != nil || has {
				return err
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
		return f.logOp(ctx, tx, System, entryOf("issue", c, detail))
	}
}

var errSweepNotCityWide = errs.New(errs.Forbidden, "全市清理只能由市级管理员执行")

// Sweep runs the nightly sweep now for a city-wide operator and reports
// how many codes it invalidated.
func (f *Function) Sweep(ctx context.Context, op Operator) (int, error) {
	if op.Scope.Kind != auth.ScopeAll {
		return 0, errSweepNotCityWide
	}
	var n int
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		n, err = f.sweep(ctx, tx)
		return err
	})
	return n, err
}

// sweep invalidates every code still active or pending whose entity is no
// longer active (a missed or failed entity.deregistered), set-based.
func (f *Function) sweep(ctx context.Context, tx pgx.Tx) (int, error) {
	now := f.now()
	list, err := sweepCodes(ctx, tx, now)
	if err != nil {
		return 0, err
	}
	evs := make([]event.Event, 0, len(list))
	for _, v := range list {
		ev, err := f.newEvent(events.QRInvalidated, v.creditCode, events.QRInvalidatedData{Token: v.token, CreditCode: v.creditCode,
			Reason: v.reason, InvalidatedAt: now})
		if err != nil {
			return 0, err
		}
		evs = append(evs, ev)
		if err := f.logOp(ctx, tx, System, opEntry{Action: "invalidate", Token: v.token, CreditCode: v.creditCode,
			District: v.district, Township: v.township, Detail: v.reason,
			After: map[string]string{"status": StatusInvalid, "invalidate_reason": v.reason}}); err != nil {
			return 0, err
		}
	}
	if len(list) > 0 {
		f.log.InfoContext(ctx, "qr sweep invalidated codes", "count", len(list))
	}
	return len(list), outbox.Record(ctx, tx, evs...)
}
