package documents

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

var (
	timeZero       time.Time
	bigTenThousand = big.NewRat(10000, 1)
)

func asError(err error, e **errs.Error) bool { return errors.As(err, e) }

// Access rights on one document (FP-42). Any of them lets the holder read.
const (
	AccessRead  = "read"
	AccessEdit  = "edit"
	AccessPrint = "print"
	AccessShare = "share"
)

var accessNames = map[string]string{AccessRead: "查看", AccessEdit: "编辑", AccessPrint: "打印下载", AccessShare: "分享转发"}

func actorOf(p *auth.Principal, ip string) actor {
	name := p.Name
	if name == "" {
		name = p.Username
	}
	return actor{ID: p.UserID, Name: name, Username: p.Username, DeptID: p.DeptID, IP: ip, Roles: p.Roles}
}

// accessOf is what p may do with d: nothing outside p's data scope, all
// of it as the owner, the granted rights (as a user, through a role or the
// department), and reading and printing for reviewers and publishers once
// the document has left the draft.
func accessOf(p *auth.Principal, d Document, grants []Grant) []string {
	if !p.Scope.Allows(d.DistrictCode, d.TownshipCode) {
		return nil
	}
	has := map[string]bool{}
	if d.OwnerID == p.UserID {
		has[AccessRead], has[AccessEdit], has[AccessPrint], has[AccessShare] = true, true, true, true
	}
	for _, g := range grants {
		if (g.Kind == "user" && g.ID == p.UserID) || (g.Kind == "role" && slices.Contains(p.Roles, g.ID)) ||
			(g.Kind == "dept" && p.DeptID != "" && g.ID == p.DeptID) {
			for _, perm := range g.Perms {
				has[perm] = true
			}
			has[AccessRead] = true
		}
	}
	if d.State != "draft" && (p.Can(PermDocument, "review") || p.Can(PermDocument, "publish")) {
		has[AccessRead], has[AccessPrint] = true, true
	}
	var out []string
	for _, a := range []string{AccessRead, AccessEdit, AccessPrint, AccessShare} {
		if has[a] {
			out = append(out, a)
		}
	}
	return out
}

// load reads a document p may read: one outside p's scope or without any
// right answers exactly like a missing one.
func (f *Function) load(ctx context.Context, q store.Querier, p *auth.Principal, id int64, lock bool) (Document, []Grant, error) {
	d, err := getDocument(ctx, q, id, lock)
	if err != nil {
		if errs.CodeOf(err) == errs.NotFound {
			return d, nil, errs.New(errs.NotFound, "文书不存在")
		}
		return d, nil, err
	}
	grants, err := docGrants(ctx, q, id)
	if err != nil {
		return d, nil, err
	}
	d.Access = accessOf(p, d, grants)
	if len(d.Access) == 0 {
		return Document{}, nil, errs.New(errs.NotFound, "文书不存在")
	}
	return d, grants, nil
}

// need refuses a right d's caller lacks.
func need(d Document, right string) error {
	if slices.Contains(d.Access, right) {
		return nil
	}
	return errs.New(errs.Forbidden, "您没有该文书的"+accessNames[right]+"权限")
}

func (f *Function) audit(ctx context.Context, tx pgx.Tx, a actor, action string, d Document, before, after any) error {
	return auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: a.ID, Username: a.Username, IP: a.IP,
		Action: action, ObjectType: "document", ObjectID: fmt.Sprint(d.ID), DistrictCode: d.DistrictCode,
		TownshipCode: d.TownshipCode, Before: before, After: after})
}

// auditRead records an access (read, download) in its own transaction:
// every access is audited, not only changes (FP-42).
func (f *Function) auditRead(ctx context.Context, a actor, action string, d Document, detail any) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error { return f.audit(ctx, tx, a, action, d, nil, detail) })
}

// auditExport records an export of documents.
func (f *Function) auditExport(ctx context.Context, a actor, query string, ids []int64) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: a.ID, Username: a.Username, IP: a.IP,
			Action: "document.export", ObjectType: "document", After: map[string]any{"query": query, "documents": ids}})
	})
}

// CreateInput starts a document.
type CreateInput struct {
	TemplateCode string            `json:"template_code"`
	CreditCode   string            `json:"credit_code"`
	Values       map[string]string `json:"values"`
	Summary      string            `json:"summary"`
}

// Create starts a draft from a template's current version for an entity
// in the caller's scope, its fields prefilled from the registry where the
// caller left them empty (FP-36, FP-37). It is version 1.0.0.
func (f *Function) Create(ctx context.Context, p *auth.Principal, a actor, in CreateInput) (Detail, error) {
	code, err := checkCode("credit_code", in.CreditCode)
	if err != nil {
		return Detail{}, err
	}
	if err := checkSummary(in.Summary); err != nil {
		return Detail{}, err
	}
	t, err := getTemplate(ctx, f.pool, strings.TrimSpace(in.TemplateCode), false)
	if err != nil || !t.Active {
		return Detail{}, errs.Fields([]errs.FieldError{{Field: "template_code", Message: "模板不存在或已停用"}})
	}
	e, _, err := lookupEntity(ctx, f.pool, p.Scope, code)
	if err != nil {
		return Detail{}, err
	}
	values := map[string]string{}
	for k, v := range in.Values {
		values[k] = v
	}
	for k, v := range fillFromEntity(t.Fields, e) {
		if strings.TrimSpace(values[k]) == "" {
			values[k] = v
		}
	}
	values, err = checkValues(t.Fields, values, false, f.now())
	if err != nil {
		return Detail{}, err
	}
	var id int64
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		now := f.now()
		d := Document{templateID: t.ID, CreditCode: e.CreditCode, EntityName: e.Name, DistrictCode: e.DistrictCode,
			TownshipCode: e.TownshipCode, Title: t.Title, OwnerID: a.ID, OwnerName: a.Name, ownerDept: a.DeptID}
		if id, err = insertDocument(ctx, tx, d, now); err != nil {
			return err
		}
		d.ID = id
		r := render(t.Title, t.Body, t.Fields, values)
		v := Version{1, 0, 0}
		if err := insertDocVersion(ctx, tx, id, versionRow{v: v, tv: t.version, values: values, text: r.Text, change: changeInitial,
			kind: "edit", summary: in.Summary, by: a, at: now}); err != nil {
			return err
		}
		if err := setCurrent(ctx, tx, id, v, searchText(e.Name, e.CreditCode, r.Text), now); err != nil {
			return err
		}
		if err := insertEvent(ctx, tx, id, "created", v, a, "", now); err != nil {
			return err
		}
		return f.audit(ctx, tx, a, "document.create", d, nil, map[string]any{"template": t.Code, "version": v.String(), "values": logValues(values)})
	})
	if err != nil {
		return Detail{}, err
	}
	return f.Get(ctx, p, a, id, false)
}

func searchText(name, code, text string) string { return name + "\n" + code + "\n" + text }

func checkSummary(s string) error {
	if n := utf8.RuneCountInString(s); n > maxSummary {
		return errs.Fields([]errs.FieldError{{Field: "summary", Message: fmt.Sprintf("修改说明不能超过 %d 字", maxSummary)}})
	}
	return nil
}

// Detail is a document with its current version rendered, the fields of
// its template version, and its grants (for those who may share it).
type Detail struct {
	Document
	Values     map[string]string `json:"values"`
	Fields     []Field           `json:"fields"`
	Rendered   Rendered          `json:"rendered"`
	Current    DocumentVersion   `json:"current"`
	Grants     []Grant           `json:"grants"`
	LatestTmpl string            `json:"latest_template_version"`
	// TemplateBody is the document's template version's text, for the
	// editor's live preview.
	TemplateBody string `json:"template_body"`
	Editable     bool   `json:"editable"`
}

// Get returns a document the caller may read, and audits the access.
func (f *Function) Get(ctx context.Context, p *auth.Principal, a actor, id int64, audit bool) (Detail, error) {
	d, grants, err := f.load(ctx, f.pool, p, id, false)
	if err != nil {
		return Detail{}, err
	}
	tv, err := templateVersion(ctx, f.pool, d.templateID, d.tmplVersion)
	if err != nil {
		return Detail{}, err
	}
	cur, err := docVersion(ctx, f.pool, id, d.version)
	if err != nil {
		return Detail{}, err
	}
	t, err := getTemplateByID(ctx, f.pool, d.templateID)
	if err != nil {
		return Detail{}, err
	}
	f.decorate(&cur)
	out := Detail{Document: d, Values: d.values, Fields: tv.Fields, Rendered: render(tv.Title, tv.Body, tv.Fields, d.values),
		Current: cur, Grants: []Grant{}, LatestTmpl: t.Version, TemplateBody: tv.Body,
		Editable: editable(d.State) && slices.Contains(d.Access, AccessEdit)}
	if slices.Contains(d.Access, AccessShare) {
		out.Grants = grants
	}
	if audit {
		if err := f.auditRead(ctx, a, "document.read", d, map[string]string{"version": d.Version}); err != nil {
			return Detail{}, err
		}
	}
	return out, nil
}

func editable(state string) bool { return state == "draft" || state == "rejected" }

// decorate adds what a version's reader needs: its verification page.
func (f *Function) decorate(v *DocumentVersion) {
	if v.verifyCode != "" {
		v.VerifyURL = f.verifyURL(v.verifyCode)
	}
}

func (f *Function) verifyURL(code string) string { return f.cfg.URL() + "/docs/v1/verify/" + code }

// UpdateInput is a save of a document's values.
type UpdateInput struct {
	Values  map[string]string `json:"values"`
	Summary string            `json:"summary"`
	// Version is the version the user edited: a stale one is a conflict.
	Version string `json:"version"`
	// TemplateVersion moves the document to another version of its
	// template ("latest" for the current one); empty keeps it.
	TemplateVersion string `json:"template_version"`
}

// Update saves new values as the next version, numbered by
// documentChange (FP-39); a save that changes nothing makes no version.
// Only drafts and rejected documents can be edited, by their owner and
// those granted edit.
func (f *Function) Update(ctx context.Context, p *auth.Principal, a actor, id int64, in UpdateInput) (Detail, error) {
	read, err := ParseVersion(in.Version)
	if err != nil {
		return Detail{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供编辑时读取的版本号 version"}})
	}
	if err := checkSummary(in.Summary); err != nil {
		return Detail{}, err
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, _, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if err := need(d, AccessEdit); err != nil {
			return err
		}
		if !editable(d.State) {
			return errs.New(errs.Conflict, "文书"+d.StateName+"，不能修改")
		}
		if read != d.version {
			return errs.New(errs.Conflict, "该文书已被他人修改（当前版本 "+d.Version+"），请刷新后重试")
		}
		tv := d.tmplVersion
		switch in.TemplateVersion {
		case "":
		case "latest":
			t, err := getTemplateByID(ctx, tx, d.templateID)
			if err != nil {
				return err
			}
			tv = t.version
		default:
			if tv, err = ParseVersion(in.TemplateVersion); err != nil {
				return errs.Fields([]errs.FieldError{{Field: "template_version", Message: "模板版本号不正确"}})
			}
		}
		return f.saveVersion(ctx, tx, a, d, tv, in.Values, "edit", in.Summary, "", "edited")
	})
	if err != nil {
		return Detail{}, err
	}
	return f.Get(ctx, p, a, id, false)
}

// errUnchanged answers a save identical to the current version.
var errUnchanged = errs.New(errs.Conflict, "内容与当前版本相同，未生成新版本")

// saveVersion validates values against template version tv and writes them
// as d's next version.
func (f *Function) saveVersion(ctx context.Context, tx pgx.Tx, a actor, d Document, tv Version, raw map[string]string,
	kind, summary, note, event string) error {
	t, err := templateVersion(ctx, tx, d.templateID, tv)
	if err != nil {
		if errs.CodeOf(err) == errs.NotFound {
			return errs.Fields([]errs.FieldError{{Field: "template_version", Message: "模板版本 " + tv.String() + " 不存在"}})
		}
		return err
	}
	values, err := checkValues(t.Fields, raw, kind == "correction", f.now())
	if err != nil {
		return err
	}
	change := documentChange(d.tmplVersion, tv, d.values, values)
	if change == "" {
		if kind == "edit" {
			return nil // nothing to save: the document stays as it is
		}
		return errUnchanged
	}
	v := d.version.Next(change)
	now := f.now()
	r := render(t.Title, t.Body, t.Fields, values)
	if err := insertDocVersion(ctx, tx, d.ID, versionRow{v: v, tv: tv, values: values, text: r.Text, change: change, kind: kind,
		summary: summary, note: note, by: a, at: now}); err != nil {
		return err
	}
	if err := setCurrent(ctx, tx, d.ID, v, searchText(d.EntityName, d.CreditCode, r.Text), now); err != nil {
		return err
	}
	if err := insertEvent(ctx, tx, d.ID, event, v, a, note, now); err != nil {
		return err
	}
	return f.audit(ctx, tx, a, auditActions[event], d,
		map[string]any{"version": d.Version, "values": logValues(d.values)},
		map[string]any{"version": v.String(), "template_version": tv.String(), "values": logValues(values), "change": change, "note": note})
}

// logValues is a document's values as the operation log keeps them: a
// field whose key names a phone or an ID number is masked, since the log
// is read far more widely than the document.
func logValues(values map[string]string) map[string]string {
	out := make(map[string]string, len(values))
	for k, v := range values {
		switch {
		case strings.Contains(k, "phone") || strings.Contains(k, "mobile"):
			v = codes.MaskPhone(v)
		case strings.Contains(k, "id_number") || strings.Contains(k, "id_card"):
			v = codes.MaskIDNumber(v)
		}
		out[k] = v
	}
	return out
}

// History is a document's versions and workflow steps, newest first
// (FP-40): who saved each version, when, and a summary.
type History struct {
	Versions []DocumentVersion `json:"versions"`
	Events   []HistoryEvent    `json:"events"`
}

// History returns a document's history and audits the access.
func (f *Function) History(ctx context.Context, p *auth.Principal, a actor, id int64) (History, error) {
	d, _, err := f.load(ctx, f.pool, p, id, false)
	if err != nil {
		return History{}, err
	}
	vs, err := docVersions(ctx, f.pool, id)
	if err != nil {
		return History{}, err
	}
	evs, err := docEvents(ctx, f.pool, id)
	if err != nil {
		return History{}, err
	}
	for i := range vs {
		f.decorate(&vs[i])
	}
	return History{Versions: vs, Events: evs}, f.auditRead(ctx, a, "document.history", d, nil)
}

// VersionOf returns one version of a document, rendered.
func (f *Function) VersionOf(ctx context.Context, p *auth.Principal, a actor, id int64, v Version) (DocumentVersion, Rendered, error) {
	d, _, err := f.load(ctx, f.pool, p, id, false)
	if err != nil {
		return DocumentVersion{}, Rendered{}, err
	}
	dv, r, err := f.renderVersion(ctx, f.pool, d, v)
	if err != nil {
		return dv, r, err
	}
	return dv, r, f.auditRead(ctx, a, "document.read", d, map[string]string{"version": dv.Version})
}

func (f *Function) renderVersion(ctx context.Context, q store.Querier, d Document, v Version) (DocumentVersion, Rendered, error) {
	dv, err := docVersion(ctx, q, d.ID, v)
	if err != nil {
		if errs.CodeOf(err) == errs.NotFound {
			return dv, Rendered{}, errs.New(errs.NotFound, "版本 "+v.String()+" 不存在")
		}
		return dv, Rendered{}, err
	}
	tv, err := templateVersion(ctx, q, d.templateID, dv.tv)
	if err != nil {
		return dv, Rendered{}, err
	}
	f.decorate(&dv)
	return dv, render(tv.Title, tv.Body, tv.Fields, dv.Values), nil
}

// Diff compares any two versions of a document: the fields' values and
// the text, side by side (FP-40).
func (f *Function) Diff(ctx context.Context, p *auth.Principal, a actor, id int64, from, to Version) (Diff, error) {
	d, _, err := f.load(ctx, f.pool, p, id, false)
	if err != nil {
		return Diff{}, err
	}
	va, err := docVersion(ctx, f.pool, id, from)
	if err != nil {
		return Diff{}, errs.New(errs.NotFound, "版本 "+from.String()+" 不存在")
	}
	vb, err := docVersion(ctx, f.pool, id, to)
	if err != nil {
		return Diff{}, errs.New(errs.NotFound, "版本 "+to.String()+" 不存在")
	}
	ta, err := templateVersion(ctx, f.pool, d.templateID, va.tv)
	if err != nil {
		return Diff{}, err
	}
	tb, err := templateVersion(ctx, f.pool, d.templateID, vb.tv)
	if err != nil {
		return Diff{}, err
	}
	show := func(fs []Field, vals map[string]string) map[string]string {
		m := map[string]string{}
		for _, fl := range fs {
			if v := vals[fl.Key]; v != "" {
				m[fl.Key] = v
			}
		}
		return m
	}
	out := Diff{From: va.Version, To: vb.Version, Fields: diffFields(ta.Fields, tb.Fields, show(ta.Fields, va.Values), show(tb.Fields, vb.Values)),
		Text: diffLines(va.Text, vb.Text)}
	return out, f.auditRead(ctx, a, "document.diff", d, map[string]string{"from": out.From, "to": out.To})
}

// Restore makes a past version the document's next version (FP-40): the
// history is never rewritten.
func (f *Function) Restore(ctx context.Context, p *auth.Principal, a actor, id int64, v Version, summary string) (Detail, error) {
	if err := checkSummary(summary); err != nil {
		return Detail{}, err
	}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, _, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if err := need(d, AccessEdit); err != nil {
			return err
		}
		if !editable(d.State) {
			return errs.New(errs.Conflict, "文书"+d.StateName+"，不能恢复历史版本；已发布的文书请使用更正")
		}
		old, err := docVersion(ctx, tx, id, v)
		if err != nil {
			return errs.New(errs.NotFound, "版本 "+v.String()+" 不存在")
		}
		if summary == "" {
			summary = "恢复自版本 " + old.Version
		}
		err = f.saveVersion(ctx, tx, a, d, old.tv, old.Values, "restore", summary, "", "restored")
		if errors.Is(err, errUnchanged) {
			return errs.New(errs.Conflict, "版本 "+old.Version+" 与当前版本内容相同，无需恢复")
		}
		return err
	})
	if err != nil {
		return Detail{}, err
	}
	return f.Get(ctx, p, a, id, false)
}

// Submit sends a draft (or a rejected document) to review (FP-43); every
// required field must be filled.
func (f *Function) Submit(ctx context.Context, p *auth.Principal, a actor, id int64) (Detail, error) {
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, _, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if err := need(d, AccessEdit); err != nil {
			return err
		}
		if !editable(d.State) {
			return errs.New(errs.Conflict, "文书"+d.StateName+"，不能提交")
		}
		tv, err := templateVersion(ctx, tx, d.templateID, d.tmplVersion)
		if err != nil {
			return err
		}
		if _, err := checkValues(tv.Fields, d.values, true, f.now()); err != nil {
			return err
		}
		return f.transition(ctx, tx, a, d, "submitted", "submitted", "")
	})
	if err != nil {
		return Detail{}, err
	}
	return f.Get(ctx, p, a, id, false)
}

// transition moves d to state and records the step.
func (f *Function) transition(ctx context.Context, tx pgx.Tx, a actor, d Document, state, event, reason string) error {
	now := f.now()
	sql := `UPDATE docs.documents SET state = $2, updated_at = $3`
	args := []any{d.ID, state, now}
	switch state {
	case "approved", "rejected":
		sql += `, reviewed_by = $4, reviewed_at = $3, reject_reason = $5`
		args = append(args, a.Name, reason)
	case "published":
		sql += `, published_at = $3`
	case "submitted":
		sql += `, reject_reason = ''`
	}
	if _, err := tx.Exec(ctx, sql+` WHERE id = $1`, args...); err != nil {
		return store.Classify(err)
	}
	if err := insertEvent(ctx, tx, d.ID, event, d.version, a, reason, now); err != nil {
		return err
	}
	return f.audit(ctx, tx, a, auditActions[event], d, map[string]string{"state": d.State},
		map[string]string{"state": state, "version": d.Version, "reason": reason})
}

// ReviewInput is a reviewer's decision.
type ReviewInput struct {
	Decision string `json:"decision"` // approve | reject
	Reason   string `json:"reason"`   // required when rejecting
}

// Review approves or rejects a submitted document (FP-43); nobody
// reviews their own. The owner is told the outcome.
func (f *Function) Review(ctx context.Context, p *auth.Principal, a actor, id int64, in ReviewInput) (Detail, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	var state string
	switch in.Decision {
	case "approve":
		state = "approved"
	case "reject":
		state = "rejected"
		if n := utf8.RuneCountInString(in.Reason); n < 2 || n > 500 {
			return Detail{}, errs.Fields([]errs.FieldError{{Field: "reason", Message: "退回时请填写 2–500 字的退回理由"}})
		}
	default:
		return Detail{}, errs.Fields([]errs.FieldError{{Field: "decision", Message: "审核结论应为 approve（通过）或 reject（退回）"}})
	}
	if utf8.RuneCountInString(in.Reason) > 500 {
		return Detail{}, errs.Fields([]errs.FieldError{{Field: "reason", Message: "审核意见不能超过 500 字"}})
	}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, _, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if d.State != "submitted" {
			return errs.New(errs.Conflict, "文书"+d.StateName+"，不在待审核状态")
		}
		if d.OwnerID == p.UserID {
			return errs.New(errs.Forbidden, "不能审核自己起草的文书")
		}
		if err := f.transition(ctx, tx, a, d, state, state, in.Reason); err != nil {
			return err
		}
		body := fmt.Sprintf("您起草的《%s》（%s，版本 %s）已审核通过，待发布。", d.Title, d.EntityName, d.Version)
		level := notify.LevelInfo
		if state == "rejected" {
			body = fmt.Sprintf("您起草的《%s》（%s，版本 %s）被退回，理由：%s", d.Title, d.EntityName, d.Version, in.Reason)
			level = notify.LevelWarning
		}
		return notify.Post(ctx, tx, Source, notify.Notice{Title: "文书审核结果：" + stateNames[state], Body: body, Level: level,
			Kind: "document_review", Link: documentLink(d.ID), UserIDs: []string{d.OwnerID}, Subject: fmt.Sprint(d.ID), At: f.now()})
	})
	if err != nil {
		return Detail{}, err
	}
	return f.Get(ctx, p, a, id, false)
}

// auditActions are the operation-log actions of the workflow's steps.
var auditActions = map[string]string{
	"created": "document.create", "edited": "document.edit", "restored": "document.restore", "submitted": "document.submit",
	"approved": "document.approve", "rejected": "document.reject", "published": "document.publish", "corrected": "document.correct",
}

func documentLink(id int64) string { return fmt.Sprintf("/console/#/docs/documents/%d", id) }

// Publish publishes an approved document (FP-43): its PDF and DOCX are
// made once, stored with their SHA-256, and the PDF carries a QR code to
// the version's public verification page.
func (f *Function) Publish(ctx context.Context, p *auth.Principal, a actor, id int64) (Detail, error) {
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, _, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if d.State != "approved" {
			return errs.New(errs.Conflict, "文书"+d.StateName+"，审核通过后才能发布")
		}
		if err := f.publishCurrent(ctx, tx, d, d.version); err != nil {
			return err
		}
		return f.transition(ctx, tx, a, d, "published", "published", "")
	})
	if err != nil {
		return Detail{}, err
	}
	return f.Get(ctx, p, a, id, false)
}

// publishCurrent makes and stores version v's files and marks it
// published.
func (f *Function) publishCurrent(ctx context.Context, tx pgx.Tx, d Document, v Version) error {
	dv, r, err := f.renderVersion(ctx, tx, d, v)
	if err != nil {
		return err
	}
	code, err := randomToken(16)
	if err != nil {
		return err
	}
	now := f.now()
	out, err := f.storeOutputs(ctx, d, dv, r, code, now)
	if err != nil {
		return err
	}
	return publishVersion(ctx, tx, d.ID, v, code, out, now)
}

// CorrectInput is a correction of a published document.
type CorrectInput struct {
	Values  map[string]string `json:"values"`
	Note    string            `json:"note"`
	Version string            `json:"version"` // the published version read
}

// Correct corrects a published document (FP-44): the correction is a new
// version with its note, published at once; the version it replaces stays
// visible and verifiable as 已更正; every party (the owner, the grantees,
// the reviewer) is told through the message centre.
func (f *Function) Correct(ctx context.Context, p *auth.Principal, a actor, id int64, in CorrectInput) (Detail, error) {
	in.Note = strings.TrimSpace(in.Note)
	if n := utf8.RuneCountInString(in.Note); n < 2 || n > 500 {
		return Detail{}, errs.Fields([]errs.FieldError{{Field: "note", Message: "请填写 2–500 字的更正说明"}})
	}
	read, err := ParseVersion(in.Version)
	if err != nil {
		return Detail{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供更正所依据的版本号 version"}})
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, grants, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if d.State != "published" {
			return errs.New(errs.Conflict, "文书"+d.StateName+"，只有已发布的文书可以更正")
		}
		if read != d.version {
			return errs.New(errs.Conflict, "该文书已被更正（当前版本 "+d.Version+"），请刷新后重试")
		}
		if err := f.saveVersion(ctx, tx, a, d, d.tmplVersion, in.Values, "correction", "更正："+clip(in.Note, 100), in.Note, "corrected"); err != nil {
			return err
		}
		nd, err := getDocument(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE docs.document_versions SET publication = 'corrected'
			WHERE document_id = $1 AND publication = 'published'`, id); err != nil {
			return store.Classify(err)
		}
		if err := f.publishCurrent(ctx, tx, nd, nd.version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE docs.documents SET published_at = $2 WHERE id = $1`, id, f.now()); err != nil {
			return store.Classify(err)
		}
		return f.notifyParties(ctx, tx, d, nd, grants, in.Note)
	})
	if err != nil {
		return Detail{}, err
	}
	return f.Get(ctx, p, a, id, false)
}

// notifyParties tells everyone a correction concerns: the owner, every
// grantee (users, roles, departments) and the reviewer.
func (f *Function) notifyParties(ctx context.Context, tx pgx.Tx, old, d Document, grants []Grant, note string) error {
	n := notify.Notice{Title: "文书已更正：" + d.Title, Level: notify.LevelWarning, Kind: "document_corrected",
		Body: fmt.Sprintf("《%s》（%s）已由版本 %s 更正为版本 %s。更正说明：%s", d.Title, d.EntityName, old.Version, d.Version, note),
		Link: documentLink(d.ID), UserIDs: []string{d.OwnerID}, Subject: fmt.Sprint(d.ID), At: f.now()}
	for _, g := range grants {
		switch g.Kind {
		case "user":
			n.UserIDs = append(n.UserIDs, g.ID)
		case "role":
			n.Roles = append(n.Roles, g.ID)
		case "dept":
			n.DeptIDs = append(n.DeptIDs, g.ID)
		}
	}
	// The reviewers of the document: those who approved it.
	rows, err := tx.Query(ctx, `SELECT DISTINCT actor_id FROM docs.document_events WHERE document_id = $1 AND action IN ('approved', 'published')`, d.ID)
	if err != nil {
		return store.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return store.Classify(err)
	}
	for _, id := range ids {
		if !slices.Contains(n.UserIDs, id) {
			n.UserIDs = append(n.UserIDs, id)
		}
	}
	return notify.Post(ctx, tx, Source, n)
}
