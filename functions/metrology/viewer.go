package metrology

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Kinds of callers.
const (
	kindRegulator   = "regulator"
	kindEnterprise  = "enterprise"
	kindInstitution = "institution"
)

// viewer is who is calling and what they may see. A regulator sees the
// enterprises of their data scope (auth.Scope); an enterprise user only
// its own enterprise; an institution's staff the enterprises that applied
// to it. The data scope confines all three: an entity outside it is not
// found, whatever the party.
type viewer struct {
	userID   string
	username string
	name     string
	ip       string
	scope    auth.Scope
	kind     string
	ref      string // the enterprise's credit code or the institution's id; "" when unbound
}

// viewerOf resolves the request's caller. An enterprise or institution
// account not yet bound to its party sees nothing of others.
func (f *Function) viewerOf(r *http.Request) (viewer, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return viewer{}, errs.New(errs.Unauthorized, auth.MsgLoginRequired)
	}
	v := viewer{userID: p.UserID, username: p.Username, name: p.Name, ip: httpx.ClientIP(r), scope: p.Scope, kind: kindRegulator}
	switch {
	case p.HasRole(RoleEnterprise):
		v.kind = kindEnterprise
	case p.HasRole(RoleInstitution):
		v.kind = kindInstitution
	default:
		return v, nil
	}
	var kind string
	err := f.pool.QueryRow(r.Context(), `SELECT kind, ref FROM metrology.parties WHERE username = $1`, p.Username).Scan(&kind, &v.ref)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return v, store.Classify(err)
	case kind != v.kind:
		v.ref = "" // bound as the other kind: a misconfiguration, sees nothing
	}
	return v, nil
}

// actor is the name written into records and the audit log.
func (v viewer) actor() string {
	if v.name != "" {
		return v.name
	}
	return v.username
}

// entFilter is an SQL predicate over an enterprises row aliased e that
// holds exactly for the enterprises v may see; its arguments are appended
// to *args.
func (v viewer) entFilter(args *[]any) string {
	scope := v.scope.Filter("e.district_code", "e.township_code", args)
	switch v.kind {
	case kindEnterprise:
		*args = append(*args, v.ref)
		return fmt.Sprintf("(%s AND e.credit_code = $%d)", scope, len(*args))
	case kindInstitution:
		*args = append(*args, v.ref)
		return fmt.Sprintf("(%s AND EXISTS (SELECT 1 FROM metrology.applications va WHERE va.credit_code = e.credit_code AND va.institution_id = $%d))",
			scope, len(*args))
	}
	return scope
}

// sees reports whether v may see enterprise code (located in
// district/township), for single-row reads and writes.
func (f *Function) sees(ctx context.Context, q store.Querier, v viewer, code, district, township string) (bool, error) {
	if !v.scope.Allows(district, township) {
		return false, nil
	}
	switch v.kind {
	case kindEnterprise:
		return v.ref != "" && v.ref == code, nil
	case kindInstitution:
		if v.ref == "" {
			return false, nil
		}
		var ok bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM metrology.applications WHERE credit_code = $1 AND institution_id = $2)`,
			code, v.ref).Scan(&ok)
		return ok, store.Classify(err)
	}
	return true, nil
}

// mustSee answers not found for an enterprise v may not see, so its
// existence does not leak.
func (f *Function) mustSee(ctx context.Context, q store.Querier, v viewer, code, district, township string) error {
	ok, err := f.sees(ctx, q, v, code, district, township)
	if err != nil {
		return err
	}
	if !ok {
		return errs.ErrNotFound
	}
	return nil
}

// institutionFor is the institution a command acts for: an institution's
// staff act for their own (given, when sent, must name it); anyone else
// holding the permission names one.
func (v viewer) institutionFor(given string) (string, error) {
	if v.kind == kindInstitution {
		if v.ref == "" {
			return "", errs.New(errs.Forbidden, "账号尚未关联检定机构，请联系市局管理员")
		}
		if given != "" && given != v.ref {
			return "", errs.New(errs.Forbidden, "只能操作本机构的数据")
		}
		return v.ref, nil
	}
	if v.kind == kindEnterprise {
		return "", errs.New(errs.Forbidden, "该操作仅限检定机构或监管部门人员")
	}
	if given == "" {
		return "", errs.Fields([]errs.FieldError{{Field: "institution_id", Message: "请选择检定机构"}})
	}
	return given, nil
}

// actsFor reports whether v may act as institution id (an institution's
// staff only for their own).
func (v viewer) actsFor(id string) bool {
	return v.kind == kindRegulator || (v.kind == kindInstitution && v.ref != "" && v.ref == id)
}
