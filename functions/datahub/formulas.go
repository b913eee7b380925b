package datahub

// Saved smart-search formulas (FP-136): per user, or shared with every
// user of the search. A formula holds no rights: it runs with the
// runner's permissions and data scope, like any search, so a shared one
// never shows anyone more than they may see.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Formula is a saved search.
type Formula struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Spec        SearchSpec `json:"spec"`
	Shared      bool       `json:"shared"`
	OwnerID     string     `json:"owner_id"`
	OwnerName   string     `json:"owner_name"`
	Mine        bool       `json:"mine"`
	// Variables are the $variables a run fills in (with the runner's
	// rights; empty when the runner may not run it, see Problem).
	Variables []Variable `json:"variables"`
	Problem   string     `json:"problem,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// FormulaInput saves a formula.
type FormulaInput struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Shared      bool       `json:"shared"`
	Spec        SearchSpec `json:"spec"`
}

// FormulaRun runs a saved formula: its variables' values and a page.
type FormulaRun struct {
	Vars     map[string]string `json:"vars,omitempty"`
	Page     int               `json:"page,omitempty"`
	PageSize int               `json:"page_size,omitempty"`
	Format   string            `json:"format,omitempty"`
}

const formulaCols = `id, name, description, spec, shared, owner_id, owner_name, created_at, updated_at`

func scanFormula(r pgx.Row) (Formula, error) {
	var x Formula
	var spec []byte
	err := r.Scan(&x.ID, &x.Name, &x.Description, &spec, &x.Shared, &x.OwnerID, &x.OwnerName, &x.CreatedAt, &x.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return x, errs.New(errs.NotFound, "公式不存在")
	}
	if err == nil {
		err = json.Unmarshal(spec, &x.Spec)
	}
	return x, store.Classify(err)
}

// formulaFor is formula id if user may see it (theirs, or shared).
func formulaFor(ctx context.Context, q store.Querier, id int64, user string) (Formula, error) {
	return scanFormula(q.QueryRow(ctx, `SELECT `+formulaCols+` FROM datahub.formulas WHERE id = $1 AND (owner_id = $2 OR shared)`, id, user))
}

func listFormulas(ctx context.Context, q store.Querier, user, dataset string) ([]Formula, error) {
	rows, err := q.Query(ctx, `SELECT `+formulaCols+` FROM datahub.formulas WHERE (owner_id = $1 OR shared)
		AND ($2 = '' OR dataset = $2) ORDER BY (owner_id = $1) DESC, id DESC LIMIT 500`, user, dataset)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Formula, error) { return scanFormula(r) })
	return out, store.Classify(err)
}

func (in FormulaInput) validate() (string, error) {
	name := strings.TrimSpace(in.Name)
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(name); n == 0 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写公式名称（不超过 100 字）"})
	}
	if utf8.RuneCountInString(in.Description) > 500 {
		fe = append(fe, errs.FieldError{Field: "description", Message: "说明不超过 500 字"})
	}
	return name, errs.Fields(fe)
}

func (f *Function) saveFormula(r *http.Request, id int64, in FormulaInput) (Formula, error) {
	p, _ := auth.FromContext(r.Context())
	name, err := in.validate()
	if err != nil {
		return Formula{}, err
	}
	// Saved only if the saver may run it: the conditions type-check
	// against their own fields.
	c, err := f.compileSearch(p, in.Spec, nil)
	if err != nil {
		return Formula{}, err
	}
	in.Spec.Expr = c.expr
	if in.Spec.Builder != nil {
		in.Spec.Expr = "" // the builder's tree is the formula; its text is derived
	}
	spec, err := json.Marshal(in.Spec)
	if err != nil {
		return Formula{}, err
	}
	var out Formula
	now := f.now()
	err = f.change(r, map[bool]string{true: "datahub.formula.create", false: "datahub.formula.update"}[id == 0], "datahub_formula",
		func(tx pgx.Tx) (string, any, any, error) {
			var before any
			if id == 0 {
				out, err = scanFormula(tx.QueryRow(r.Context(), `INSERT INTO datahub.formulas (name, description, dataset, spec, shared,
					owner_id, owner_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING `+formulaCols,
					name, in.Description, in.Spec.Dataset, spec, in.Shared, p.UserID, p.Name, now))
			} else {
				old, err := scanFormula(tx.QueryRow(r.Context(), `SELECT `+formulaCols+` FROM datahub.formulas WHERE id = $1 AND owner_id = $2
					FOR UPDATE`, id, p.UserID))
				if err != nil {
					return "", nil, nil, err
				}
				before = old
				out, err = scanFormula(tx.QueryRow(r.Context(), `UPDATE datahub.formulas SET name = $3, description = $4, dataset = $5,
					spec = $6, shared = $7, updated_at = $8 WHERE id = $1 AND owner_id = $2 RETURNING `+formulaCols,
					id, p.UserID, name, in.Description, in.Spec.Dataset, spec, in.Shared, now))
			}
			return strconv.FormatInt(out.ID, 10), before, out, err
		})
	if err != nil {
		return Formula{}, err
	}
	out.Mine, out.Variables = true, nonNilVars(c.vars)
	return out, nil
}

// describe fills what the runner needs: whether it is theirs, its
// variables as they would run it, or why they cannot.
func (f *Function) describe(p *auth.Principal, x *Formula) {
	x.Mine = x.OwnerID == p.UserID
	x.Variables = []Variable{}
	c, err := f.compileSearch(p, x.Spec, nil)
	if err != nil {
		x.Problem = errs.As(err).Message
		return
	}
	x.Variables = nonNilVars(c.vars)
	if x.Spec.Builder != nil {
		x.Spec.Expr = c.expr
	}
}

func (f *Function) listFormulasH(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	items, err := listFormulas(r.Context(), f.pool, p.UserID, r.URL.Query().Get("dataset"))
	for i := range items {
		f.describe(p, &items[i])
	}
	if items == nil {
		items = []Formula{}
	}
	return map[string]any{"items": items}, err
}

func formulaID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, errs.New(errs.NotFound, "公式不存在")
	}
	return id, nil
}

func (f *Function) getFormula(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := formulaID(r)
	if err != nil {
		return nil, err
	}
	x, err := formulaFor(r.Context(), f.pool, id, p.UserID)
	if err != nil {
		return nil, err
	}
	f.describe(p, &x)
	return x, nil
}

func (f *Function) createFormula(r *http.Request, in FormulaInput) (any, error) {
	x, err := f.saveFormula(r, 0, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(x, "/datahub/v1/search/formulas/"+strconv.FormatInt(x.ID, 10)), nil
}

func (f *Function) updateFormula(r *http.Request, in FormulaInput) (any, error) {
	id, err := formulaID(r)
	if err != nil {
		return nil, err
	}
	return f.saveFormula(r, id, in)
}

func (f *Function) deleteFormula(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := formulaID(r)
	if err != nil {
		return nil, err
	}
	err = f.change(r, "datahub.formula.delete", "datahub_formula", func(tx pgx.Tx) (string, any, any, error) {
		old, err := scanFormula(tx.QueryRow(r.Context(), `DELETE FROM datahub.formulas WHERE id = $1 AND owner_id = $2 RETURNING `+formulaCols,
			id, p.UserID))
		return strconv.FormatInt(id, 10), old, nil, err
	})
	if err != nil {
		return nil, err
	}
	return httpx.NoContent(), nil
}

// runFormula runs a saved formula (one's own or a shared one) with the
// runner's rights and the variables' values.
func (f *Function) runFormula(r *http.Request, in FormulaRun) (any, error) {
	p, _ := auth.FromContext(r.Context())
	id, err := formulaID(r)
	if err != nil {
		return nil, err
	}
	x, err := formulaFor(r.Context(), f.pool, id, p.UserID)
	if err != nil {
		return nil, err
	}
	if in.Format != "" {
		return nil, bad("format", "导出请使用 /datahub/v1/search/formulas/{id}/export")
	}
	return f.search(r, SearchInput{SearchSpec: x.Spec, Vars: in.Vars, Page: in.Page, PageSize: in.PageSize}, &x.ID)
}

// serveFormulaExport exports every row of a saved formula's run.
func (f *Function) serveFormulaExport(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var in FormulaRun
	if err := httpx.Decode(r, &in); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	id, err := formulaID(r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	x, err := formulaFor(r.Context(), f.pool, id, p.UserID)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	f.exportSearch(w, r, SearchInput{SearchSpec: x.Spec, Vars: in.Vars, Format: in.Format}, &x.ID)
}
