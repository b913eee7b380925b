package policymatch

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Actor is who makes a change, for the operation log.
type Actor struct {
	UserID, Username, IP string
}

func (f *Function) audit(ctx context.Context, tx pgx.Tx, a Actor, action string, id int64, before, after any) error {
	return auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: a.UserID, Username: a.Username, IP: a.IP,
		Action: action, ObjectType: "policy", ObjectID: strconv.FormatInt(id, 10), Before: before, After: after})
}

// prepare validates an input and works out what the rules say of it: its
// labels and, without a condition given, a draft suggested from the text.
func (f *Function) prepare(in *PolicyInput) (Condition, string, map[string]Label, error) {
	if err := in.Validate(); err != nil {
		return Condition{}, "", nil, err
	}
	p := Policy{Title: in.Title, Issuer: in.Issuer, Body: in.Body, ConditionsText: in.ConditionsText,
		PublishedOn: in.PublishedOn, EffectiveOn: in.EffectiveOn, ExpiresOn: in.ExpiresOn}
	labels := f.classify(&p, f.today())
	if in.Condition != nil {
		return *in.Condition, "edited", labels, nil
	}
	d := f.Draft(in.Issuer + "\n" + in.Title + "\n" + in.ConditionsText + "\n" + in.Body)
	return d.Condition, "draft", labels, nil
}

// Save creates a policy, or updates the one with the same title and
// number (FP-57: by hand in the console, and every import).
func (f *Function) Save(ctx context.Context, a Actor, kind string, in PolicyInput) (Policy, bool, error) {
	cond, from, labels, err := f.prepare(&in)
	if err != nil {
		return Policy{}, false, err
	}
	var out Policy
	var created bool
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		// A save onto an existing policy is an update: the log keeps what
		// it replaced.
		var before any
		var oldID int64
		switch err := tx.QueryRow(ctx, `SELECT id FROM policy.policies WHERE title = $1 AND doc_no = $2`, in.Title, in.DocNo).Scan(&oldID); {
		case err == nil:
			old, err := getPolicy(ctx, tx, oldID, true)
			if err != nil {
				return err
			}
			before = brief(old)
		case !errors.Is(err, pgx.ErrNoRows):
			return store.Classify(err)
		}
		var err error
		out, created, err = upsertPolicy(ctx, tx, in, kind, cond, from, labels, a.Username, f.now())
		if err != nil {
			return err
		}
		action := "policy.update"
		if created {
			action = "policy.create"
		}
		after := brief(out)
		after["source"] = kind + ":" + in.SourceRef
		return f.audit(ctx, tx, a, action, out.ID, before, after)
	})
	return out, created, err
}

// Update replaces a policy's fields by id (the console's edit form).
func (f *Function) Update(ctx context.Context, a Actor, id int64, in PolicyInput) (Policy, error) {
	cond, from, labels, err := f.prepare(&in)
	if err != nil {
		return Policy{}, err
	}
	var out Policy
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getPolicy(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if in.Condition == nil && old.ConditionFrom == "edited" {
			cond, from = old.Condition, "edited"
		}
		_, err = tx.Exec(ctx, `UPDATE policy.policies SET title = $2, doc_no = $3, issuer = $4, published_on = $5, effective_on = $6,
			expires_on = $7, body = $8, conditions_text = $9, apply_url = $10, apply_platform = $11, source_ref = $12, sample = $13,
			condition = $14, condition_from = $15, labels = $16, revision = revision + 1, updated_at = $17 WHERE id = $1`,
			id, in.Title, in.DocNo, in.Issuer, pgDate(in.PublishedOn), pgDate(in.EffectiveOn), pgDate(in.ExpiresOn), in.Body,
			in.ConditionsText, in.ApplyURL, in.ApplyPlatform, in.SourceRef, in.Sample, mustJSON(cond), from, mustJSON(labels), f.now())
		if err != nil {
			return store.Classify(err)
		}
		if out, err = getPolicy(ctx, tx, id, false); err != nil {
			return err
		}
		if err := f.audit(ctx, tx, a, "policy.update", id, brief(old), brief(out)); err != nil {
			return err
		}
		return f.republish(ctx, tx, out)
	})
	return out, err
}

// brief is what the operation log keeps of a policy (not its full text).
func brief(p Policy) map[string]any {
	return map[string]any{"title": p.Title, "doc_no": p.DocNo, "issuer": p.Issuer, "status": p.Status, "revision": p.Revision,
		"condition": p.Condition, "effective": p.Effective}
}

// SetCondition replaces the structured condition (the console's editor);
// it is kept over later drafts and re-imports.
func (f *Function) SetCondition(ctx context.Context, a Actor, id int64, c Condition) (Policy, error) {
	if fe := c.check(); len(fe) > 0 {
		return Policy{}, errs.Fields(fe)
	}
	var out Policy
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getPolicy(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE policy.policies SET condition = $2, condition_from = 'edited', revision = revision + 1, updated_at = $3 WHERE id = $1`,
			id, mustJSON(c), f.now()); err != nil {
			return store.Classify(err)
		}
		if out, err = getPolicy(ctx, tx, id, false); err != nil {
			return err
		}
		if err := f.audit(ctx, tx, a, "policy.condition", id, old.Condition, out.Condition); err != nil {
			return err
		}
		return f.republish(ctx, tx, out)
	})
	return out, err
}

// OverrideInput sets (value) or clears (empty value) a person's label.
type OverrideInput struct {
	Value string `json:"value"`
	Note  string `json:"note"`
}

// Override sets a person's label for one dimension, kept beside the rules'
// (FP-57–61); an empty value removes it, so the rules' label applies again.
func (f *Function) Override(ctx context.Context, a Actor, id int64, dim string, in OverrideInput) (Policy, error) {
	if _, ok := dimensionNames[dim]; !ok {
		return Policy{}, errs.New(errs.NotFound, "没有这个分类维度")
	}
	in.Value, in.Note = strings.TrimSpace(in.Value), strings.TrimSpace(in.Note)
	if allowed := allowedValues(dim); in.Value != "" && allowed != nil && !slices.Contains(allowed, in.Value) {
		return Policy{}, errs.Fields([]errs.FieldError{{Field: "value", Message: dimensionNames[dim] + "应为：" + strings.Join(allowed, "、")}})
	}
	if utf8.RuneCountInString(in.Value) > 100 || utf8.RuneCountInString(in.Note) > 500 {
		return Policy{}, errs.Fields([]errs.FieldError{{Field: "note", Message: "内容过长"}})
	}
	var out Policy
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getPolicy(ctx, tx, id, true)
		if err != nil {
			return err
		}
		sql := `UPDATE policy.policies SET overrides = overrides - $2::text, updated_at = $4 WHERE id = $1 AND $3::jsonb IS NULL`
		var val any
		if in.Value != "" {
			val = mustJSON(Override{Value: in.Value, Note: in.Note, By: a.Username, At: f.now()})
			sql = `UPDATE policy.policies SET overrides = jsonb_set(overrides, ARRAY[$2::text], $3::jsonb), updated_at = $4 WHERE id = $1`
		}
		if _, err := tx.Exec(ctx, sql, id, dim, val, f.now()); err != nil {
			return store.Classify(err)
		}
		if out, err = getPolicy(ctx, tx, id, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, a, "policy.override", id, map[string]any{dim: old.Overrides[dim]}, map[string]any{dim: out.Overrides[dim]})
	})
	return out, err
}

// SetStatus publishes or withdraws a policy. Publishing emits
// policy.published, which starts the fan-out to its matching entities.
func (f *Function) SetStatus(ctx context.Context, a Actor, id int64, status string) (Policy, error) {
	if status != "published" && status != "withdrawn" && status != "draft" {
		return Policy{}, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 published、withdrawn 或 draft"}})
	}
	var out Policy
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getPolicy(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if old.Status == status {
			out = old
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE policy.policies SET status = $2, updated_at = $3,
			published_at = CASE WHEN $2 = 'published' THEN $3 ELSE published_at END WHERE id = $1`, id, status, f.now()); err != nil {
			return store.Classify(err)
		}
		if out, err = getPolicy(ctx, tx, id, false); err != nil {
			return err
		}
		if err := f.audit(ctx, tx, a, "policy."+status, id, map[string]string{"status": old.Status}, map[string]string{"status": status}); err != nil {
			return err
		}
		return f.republish(ctx, tx, out)
	})
	return out, err
}

// republish starts a fan-out when a published policy is published or its
// condition may have changed; matches of the old revision stay recorded.
func (f *Function) republish(ctx context.Context, tx pgx.Tx, p Policy) error {
	if p.Status != "published" {
		return nil
	}
	e, err := outbox.NewEvent(Source, events.PolicyPublished, strconv.FormatInt(p.ID, 10), events.PolicyPublishedData{
		PolicyID: p.ID, Revision: p.Revision, Title: p.Title, PublishedAt: f.now()}, f.now())
	if err != nil {
		return err
	}
	return outbox.Record(ctx, tx, e)
}

// RefreshTimeliness recomputes every policy's timeliness label for today
// (the daily PingSource policy-match-daily); it reports how many changed.
func (f *Function) RefreshTimeliness(ctx context.Context, tx pgx.Tx) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id, published_on, effective_on, expires_on, labels -> 'timeliness' ->> 'value' FROM policy.policies`)
	if err != nil {
		return 0, store.Classify(err)
	}
	type upd struct {
		id    int64
		label Label
	}
	var ups []upd
	today := f.today()
	for rows.Next() {
		var id int64
		var cur *string
		var pp, pe, px pgtype.Date
		if err := rows.Scan(&id, &pp, &pe, &px, &cur); err != nil {
			rows.Close()
			return 0, err
		}
		pub, eff, exp := fromPG(pp), fromPG(pe), fromPG(px)
		l := timelinessOf(eff.ptr(), exp.ptr(), pub.ptr(), today, f.thresholds())
		if cur == nil || *cur != l.Value {
			ups = append(ups, upd{id, l})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, store.Classify(err)
	}
	for _, u := range ups {
		if _, err := tx.Exec(ctx, `UPDATE policy.policies SET labels = jsonb_set(labels, '{timeliness}', $2::jsonb), updated_at = $3 WHERE id = $1`,
			u.id, mustJSON(u.label), f.now()); err != nil {
			return 0, store.Classify(err)
		}
	}
	return len(ups), nil
}

// Get returns one policy with its full text.
func (f *Function) Get(ctx context.Context, id int64) (Policy, error) {
	return getPolicy(ctx, f.pool, id, false)
}
