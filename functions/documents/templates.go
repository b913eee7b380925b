package documents

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// actor is who makes a change, as the audit log and the history name them.
type actor struct {
	ID, Name, Username, DeptID, IP string
	Roles                          []string
}

func (f *Function) auditTemplate(ctx context.Context, tx pgx.Tx, a actor, action, code string, before, after any) error {
	return auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: a.ID, Username: a.Username, IP: a.IP,
		Action: action, ObjectType: "document_template", ObjectID: code, Before: before, After: after})
}

// ListTemplates lists the templates, active ones only unless all.
func (f *Function) ListTemplates(ctx context.Context, kind string, all bool) ([]Template, error) {
	if _, ok := templateKinds[kind]; kind != "" && !ok {
		return nil, errs.Fields([]errs.FieldError{{Field: "kind", Message: "模板类别不正确"}})
	}
	out, err := listTemplates(ctx, f.pool, kind, all)
	if out == nil {
		out = []Template{}
	}
	return out, err
}

// GetTemplate returns a template's current version.
func (f *Function) GetTemplate(ctx context.Context, code string) (Template, error) {
	return getTemplate(ctx, f.pool, code, false)
}

// CreateTemplate stores a new template as version 1.0.0 (FP-36).
func (f *Function) CreateTemplate(ctx context.Context, a actor, in TemplateInput) (Template, error) {
	in.normalize()
	if err := in.validate(true); err != nil {
		return Template{}, err
	}
	var out Template
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		now := f.now()
		id, err := insertTemplate(ctx, tx, in, a, now)
		if err != nil {
			if errs.CodeOf(err) == errs.Conflict {
				return &errs.Error{Code: errs.Conflict, Message: "模板编码“" + in.Code + "”已存在", Err: err,
					Fields: []errs.FieldError{{Field: "code", Message: "模板编码已存在"}}}
			}
			return err
		}
		if err := insertTemplateVersion(ctx, tx, id, Version{1, 0, 0}, in, changeInitial, "", a, now); err != nil {
			return err
		}
		if out, err = getTemplateByID(ctx, tx, id); err != nil {
			return err
		}
		return f.auditTemplate(ctx, tx, a, "document_template.create", in.Code, nil, out)
	})
	return out, err
}

// UpdateTemplate saves a template as a new version, numbered by
// templateChange (FP-39); a save that changes nothing makes no version.
func (f *Function) UpdateTemplate(ctx context.Context, a actor, code string, in TemplateInput) (Template, error) {
	in.normalize()
	if err := in.validate(false); err != nil {
		return Template{}, err
	}
	read, err := ParseVersion(in.Version)
	if err != nil {
		return Template{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供编辑时读取的版本号 version"}})
	}
	return f.saveTemplate(ctx, a, code, in, &read, "")
}

// saveTemplate writes in as the template's next version. read, when
// given, must be the current version.
func (f *Function) saveTemplate(ctx context.Context, a actor, code string, in TemplateInput, read *Version, restoredFrom string) (Template, error) {
	var out Template
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getTemplate(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if read != nil && *read != old.version {
			return errs.New(errs.Conflict, "该模板已被他人修改（当前版本 "+old.Version+"），请刷新后重试")
		}
		change := templateChange(old.Kind, old.Fields, old.Title, old.Body, in)
		if change == "" {
			out = old
			return nil
		}
		v := old.version.Next(change)
		now := f.now()
		if err := updateTemplate(ctx, tx, old.ID, in, v, a, now); err != nil {
			return err
		}
		if err := insertTemplateVersion(ctx, tx, old.ID, v, in, change, restoredFrom, a, now); err != nil {
			return err
		}
		if out, err = getTemplateByID(ctx, tx, old.ID); err != nil {
			return err
		}
		action := "document_template.edit"
		if restoredFrom != "" {
			action = "document_template.restore"
		}
		return f.auditTemplate(ctx, tx, a, action, code, old, out)
	})
	return out, err
}

// TemplateHistory lists a template's versions, newest first (FP-40).
func (f *Function) TemplateHistory(ctx context.Context, code string) ([]TemplateVersion, error) {
	t, err := getTemplate(ctx, f.pool, code, false)
	if err != nil {
		return nil, err
	}
	return templateVersions(ctx, f.pool, t.ID)
}

// TemplateVersionOf returns one version of a template.
func (f *Function) TemplateVersionOf(ctx context.Context, code string, v Version) (TemplateVersion, error) {
	t, err := getTemplate(ctx, f.pool, code, false)
	if err != nil {
		return TemplateVersion{}, err
	}
	return templateVersion(ctx, f.pool, t.ID, v)
}

// RestoreTemplate makes a past version the template's next version: the
// history is never rewritten (FP-40).
func (f *Function) RestoreTemplate(ctx context.Context, a actor, code string, v Version) (Template, error) {
	old, err := f.TemplateVersionOf(ctx, code, v)
	if err != nil {
		return Template{}, err
	}
	cur, err := f.GetTemplate(ctx, code)
	if err != nil {
		return Template{}, err
	}
	in := TemplateInput{Kind: cur.Kind, Title: old.Title, Body: old.Body, Fields: old.Fields, Summary: "恢复自版本 " + old.Version}
	out, err := f.saveTemplate(ctx, a, code, in, nil, old.Version)
	if err == nil && out.Version == cur.Version {
		return out, errs.New(errs.Conflict, "版本 "+old.Version+" 与当前版本内容相同，无需恢复")
	}
	return out, err
}

// TemplateDiff compares two versions of a template: the fields'
// definitions and the body, side by side (FP-40).
func (f *Function) TemplateDiff(ctx context.Context, code string, from, to Version) (Diff, error) {
	a, err := f.TemplateVersionOf(ctx, code, from)
	if err != nil {
		return Diff{}, err
	}
	b, err := f.TemplateVersionOf(ctx, code, to)
	if err != nil {
		return Diff{}, err
	}
	describe := func(fs []Field) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			m[f.Key] = describeField(f)
		}
		return m
	}
	d := Diff{From: a.Version, To: b.Version, Fields: diffFields(a.Fields, b.Fields, describe(a.Fields), describe(b.Fields)),
		Text: diffLines(a.Title+"\n"+a.Body, b.Title+"\n"+b.Body)}
	return d, nil
}

// PreviewInput is a template being edited and sample values: the live
// preview of the editor (FP-36).
type PreviewInput struct {
	Template TemplateInput     `json:"template"`
	Values   map[string]string `json:"values"`
}

// Preview is a rendered preview and what is still wrong with the template.
type Preview struct {
	Rendered Rendered          `json:"rendered"`
	Problems []errs.FieldError `json:"problems"`
}

// PreviewTemplate renders a template under edit with sample values; the
// template's problems are listed, not refused, so the preview follows the
// author's typing.
func (f *Function) PreviewTemplate(in PreviewInput) Preview {
	t := in.Template
	t.normalize()
	p := Preview{Problems: []errs.FieldError{}}
	var e *errs.Error
	if err := t.validate(false); err != nil && asError(err, &e) {
		p.Problems = e.Fields
	}
	values := map[string]string{}
	for _, fl := range t.Fields {
		if v, msg := checkValue(fl, in.Values[fl.Key], f.now()); msg == "" {
			if v != "" {
				values[fl.Key] = v
			}
		} else {
			p.Problems = append(p.Problems, errs.FieldError{Field: "values." + fl.Key, Message: msg})
		}
	}
	p.Rendered = render(t.Title, t.Body, slices.Clone(t.Fields), values)
	return p
}
