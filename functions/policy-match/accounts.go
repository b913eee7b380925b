package policymatch

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// BindInput binds an enterprise user (an identity account holding the
// 企业用户 role) to the entity it acts for.
type BindInput struct {
	UserID     string `json:"user_id"`
	Username   string `json:"username"`
	CreditCode string `json:"credit_code"`
}

// Bind records which entity an enterprise user acts for. The entity must
// lie in the binder's data scope; a user is bound to one entity, and
// binding again moves it.
func (f *Function) Bind(ctx context.Context, a Actor, scope auth.Scope, in BindInput) (Account, error) {
	in.UserID, in.Username = strings.TrimSpace(in.UserID), strings.TrimSpace(in.Username)
	in.CreditCode = strings.ToUpper(strings.TrimSpace(in.CreditCode))
	var fe []errs.FieldError
	if in.UserID == "" || utf8.RuneCountInString(in.UserID) > 100 {
		fe = append(fe, errs.FieldError{Field: "user_id", Message: "请填写用户编号"})
	}
	if utf8.RuneCountInString(in.Username) > 100 {
		fe = append(fe, errs.FieldError{Field: "username", Message: "用户名过长"})
	}
	if err := codes.CheckCreditCode(in.CreditCode); err != nil {
		fe = append(fe, errs.FieldError{Field: "credit_code", Message: errs.As(err).Message})
	}
	if len(fe) > 0 {
		return Account{}, errs.Fields(fe)
	}
	var out Account
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		s, _, err := loadSubject(ctx, tx, in.CreditCode)
		if err != nil {
			return err
		}
		if !scope.Allows(s.DistrictCode, s.TownshipCode) {
			return errs.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `INSERT INTO policy.accounts (user_id, username, credit_code, district_code, township_code, bound_by, bound_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (user_id) DO UPDATE SET username = EXCLUDED.username, credit_code = EXCLUDED.credit_code,
				district_code = EXCLUDED.district_code, township_code = EXCLUDED.township_code, bound_by = EXCLUDED.bound_by, bound_at = EXCLUDED.bound_at`,
			in.UserID, in.Username, in.CreditCode, s.DistrictCode, s.TownshipCode, a.Username, f.now()); err != nil {
			return store.Classify(err)
		}
		out = Account{UserID: in.UserID, Username: in.Username, CreditCode: in.CreditCode, EntityName: s.Name, DistrictCode: s.DistrictCode,
			BoundBy: a.Username, BoundAt: f.now()}
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: a.UserID, Username: a.Username, IP: a.IP,
			Action: "policy.account.bind", ObjectType: "policy_account", ObjectID: in.UserID, DistrictCode: s.DistrictCode,
			TownshipCode: s.TownshipCode, After: map[string]string{"credit_code": in.CreditCode, "username": in.Username}})
	})
	return out, err
}

// Mine is an enterprise user's page (FP-62, FP-64): its entity's profile
// and the published policies it matches, each with its reasons and the
// way to apply. The entity is the one bound to the user, whatever the
// user's data scope.
func (f *Function) Mine(ctx context.Context, userID string) (EntityMatches, error) {
	acc, err := accountOf(ctx, f.pool, userID)
	if errors.Is(err, errs.ErrNotFound) {
		return EntityMatches{}, errs.New(errs.Forbidden, "您的账号尚未关联市场主体，请联系属地市场监管部门绑定")
	}
	if err != nil {
		return EntityMatches{}, err
	}
	p, err := f.profile(ctx, f.pool, acc.CreditCode)
	if err != nil {
		return EntityMatches{}, err
	}
	pols, err := f.published(ctx)
	if err != nil {
		return EntityMatches{}, err
	}
	return f.matchEntity(p, pols, false), nil
}
