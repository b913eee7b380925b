package metrology

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Enterprise is an instrument user (计量器具使用单位).
type Enterprise struct {
	CreditCode   string    `json:"credit_code"`
	Name         string    `json:"name"`
	DistrictCode string    `json:"district_code"`
	DistrictName string    `json:"district_name"`
	TownshipCode string    `json:"township_code"`
	TownshipName string    `json:"township_name"`
	Address      string    `json:"address"`
	Contact      string    `json:"contact"`
	Phone        string    `json:"phone"` // masked
	Email        string    `json:"email"`
	InRegistry   bool      `json:"in_registry"`
	Instruments  int       `json:"instruments"`
	InUse        int       `json:"in_use"`
	Overdue      int       `json:"overdue"`
	Version      int       `json:"version"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`

	phone string
}

func (e *Enterprise) label() {
	e.DistrictName, e.TownshipName = divisionName(e.DistrictCode), divisionName(e.TownshipCode)
	e.Phone = codes.MaskPhone(e.phone)
}

func divisionName(code string) string {
	if d, ok := codes.Divisions().Lookup(code); ok {
		return d.Name
	}
	return ""
}

// EnterpriseInput registers or edits an enterprise.
type EnterpriseInput struct {
	CreditCode   string `json:"credit_code"`
	Name         string `json:"name"`
	DistrictCode string `json:"district_code"`
	TownshipCode string `json:"township_code"`
	Address      string `json:"address"`
	Contact      string `json:"contact"`
	Phone        string `json:"phone"`
	Email        string `json:"email"`
	Version      int    `json:"version,omitempty"`
}

var (
	phonePattern = regexp.MustCompile(`^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$`)
	emailPattern = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$`)
)

// Validate normalises and checks the input (GB 32100 for the code,
// GB/T 2260 for the divisions).
func (in *EnterpriseInput) Validate() error {
	in.CreditCode = strings.ToUpper(strings.TrimSpace(in.CreditCode))
	in.Name, in.Address, in.Contact = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address), strings.TrimSpace(in.Contact)
	in.Phone, in.Email = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Email)
	var fe []errs.FieldError
	if err := codes.CheckCreditCode(in.CreditCode); err != nil {
		fe = append(fe, errs.FieldError{Field: "credit_code", Message: errs.As(err).Message})
	}
	if n := utf8.RuneCountInString(in.Name); n != 0 && (n < 2 || n > 100) {
		fe = append(fe, errs.FieldError{Field: "name", Message: "单位名称应为 2 至 100 个字"})
	}
	if err := codes.CheckDistrict(in.DistrictCode); err != nil {
		fe = append(fe, errs.FieldError{Field: "district_code", Message: errs.As(err).Message})
	} else if err := codes.CheckTownship(in.DistrictCode, in.TownshipCode); err != nil {
		fe = append(fe, errs.FieldError{Field: "township_code", Message: errs.As(err).Message})
	}
	if utf8.RuneCountInString(in.Address) > 200 {
		fe = append(fe, errs.FieldError{Field: "address", Message: "地址不能超过 200 个字"})
	}
	if utf8.RuneCountInString(in.Contact) > 50 {
		fe = append(fe, errs.FieldError{Field: "contact", Message: "联系人不能超过 50 个字"})
	}
	if in.Phone != "" && !phonePattern.MatchString(in.Phone) {
		fe = append(fe, errs.FieldError{Field: "phone", Message: "联系电话应为 11 位手机号或带区号的固定电话"})
	}
	if in.Email != "" && (!emailPattern.MatchString(in.Email) || len(in.Email) > 100) {
		fe = append(fe, errs.FieldError{Field: "email", Message: "电子邮箱格式不正确（用于接收检定到期提醒）"})
	}
	return errs.Fields(fe)
}

// errOutsideScope refuses a write that would place an enterprise where the
// caller may not see it.
var errOutsideScope = &errs.Error{Code: errs.Forbidden, Message: "无权登记或变更到您的数据权限范围以外的行政区划",
	Fields: []errs.FieldError{{Field: "district_code", Message: "不在您的数据权限范围内"}}}

// RegistryEntity is what the market-entity register holds of a code
// (registry.metrology_entity, a published read function).
type RegistryEntity struct {
	CreditCode   string `json:"credit_code"`
	Name         string `json:"name"`
	Address      string `json:"address"`
	DistrictCode string `json:"district_code"`
	DistrictName string `json:"district_name"`
	TownshipCode string `json:"township_code"`
	Status       string `json:"status"`
}

// CreateEnterprise registers an instrument user. The register's data
// wins where it knows the code: the district must agree, and an empty
// name is taken from it. An enterprise account registering its own
// enterprise is bound to it.
func (f *Function) CreateEnterprise(ctx context.Context, v viewer, in EnterpriseInput) (Enterprise, error) {
	if v.kind == kindInstitution {
		return Enterprise{}, errs.New(errs.Forbidden, "检定机构不能登记使用单位")
	}
	if v.kind == kindEnterprise && v.ref != "" {
		return Enterprise{}, errs.New(errs.Conflict, "您的账号已关联使用单位，不能再登记其他单位")
	}
	if !v.scope.Allows(in.DistrictCode, in.TownshipCode) {
		return Enterprise{}, errOutsideScope
	}
	reg, found, err := registryEntity(ctx, f.pool, in.CreditCode)
	if err != nil {
		return Enterprise{}, err
	}
	if found {
		if err := checkAgainstRegistry(&in, reg); err != nil {
			return Enterprise{}, err
		}
	}
	if in.Name == "" {
		return Enterprise{}, errs.Fields([]errs.FieldError{{Field: "name", Message: "请填写单位名称"}})
	}
	var out Enterprise
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := insertEnterprise(ctx, tx, in, found, f.now())
		if err != nil {
			if errs.CodeOf(err) == errs.Conflict {
				return &errs.Error{Code: errs.Conflict, Message: "该统一社会信用代码已登记为使用单位", Err: err,
					Fields: []errs.FieldError{{Field: "credit_code", Message: "已登记"}}}
			}
			return err
		}
		if v.kind == kindEnterprise {
			if err := bindParty(ctx, tx, v.username, kindEnterprise, e.CreditCode, f.now()); err != nil {
				return err
			}
		}
		out = e
		return f.audit(ctx, tx, v, "metrology.enterprise.create", "enterprise", e.CreditCode, e.DistrictCode, e.TownshipCode, nil, e)
	})
	return out, err
}

func checkAgainstRegistry(in *EnterpriseInput, reg RegistryEntity) error {
	if reg.Status != "active" {
		return errs.Fields([]errs.FieldError{{Field: "credit_code", Message: "该主体在市场主体库中已吊销或注销，不能登记为使用单位"}})
	}
	if reg.DistrictCode != in.DistrictCode {
		return errs.Fields([]errs.FieldError{{Field: "district_code",
			Message: "与市场主体库登记的行政区划（" + divisionName(reg.DistrictCode) + "）不一致"}})
	}
	if in.Name == "" {
		in.Name = reg.Name
	}
	if in.Address == "" {
		in.Address = reg.Address
	}
	return nil
}

// UpdateEnterprise edits an enterprise; the caller sends the version it
// read. An empty phone keeps the stored one (lists show it masked, so an
// edit form cannot send it back).
func (f *Function) UpdateEnterprise(ctx context.Context, v viewer, code string, in EnterpriseInput) (Enterprise, error) {
	if in.Version < 1 {
		return Enterprise{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供读取时的版本号 version"}})
	}
	if in.Name == "" {
		return Enterprise{}, errs.Fields([]errs.FieldError{{Field: "name", Message: "请填写单位名称"}})
	}
	var out Enterprise
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getEnterprise(ctx, tx, f.today(), code, true)
		if err != nil {
			return err
		}
		if err := f.mustSee(ctx, tx, v, old.CreditCode, old.DistrictCode, old.TownshipCode); err != nil {
			return err
		}
		if !v.scope.Allows(in.DistrictCode, in.TownshipCode) {
			return errOutsideScope
		}
		if old.Version != in.Version {
			return errs.New(errs.Conflict, "该单位信息已被他人修改，请刷新后重试")
		}
		if old.InRegistry && in.DistrictCode != old.DistrictCode {
			return errs.Fields([]errs.FieldError{{Field: "district_code", Message: "该单位的行政区划以市场主体库为准，不能在此修改"}})
		}
		if out, err = updateEnterprise(ctx, tx, code, in, f.now()); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.enterprise.edit", "enterprise", code, out.DistrictCode, out.TownshipCode, old, out)
	})
	return out, err
}

// GetEnterprise reads one enterprise the caller sees.
func (f *Function) GetEnterprise(ctx context.Context, v viewer, code string) (Enterprise, error) {
	e, err := getEnterprise(ctx, f.pool, f.today(), code, false)
	if err != nil {
		return Enterprise{}, err
	}
	return e, f.mustSee(ctx, f.pool, v, e.CreditCode, e.DistrictCode, e.TownshipCode)
}

// LookupRegistry reads the register's entry of code for the registration
// form, within the caller's scope.
func (f *Function) LookupRegistry(ctx context.Context, v viewer, code string) (RegistryEntity, error) {
	reg, found, err := registryEntity(ctx, f.pool, code)
	if err != nil {
		return RegistryEntity{}, err
	}
	if !found || !v.scope.Allows(reg.DistrictCode, reg.TownshipCode) || v.kind == kindInstitution {
		return RegistryEntity{}, errs.New(errs.NotFound, "市场主体库中没有该统一社会信用代码")
	}
	reg.DistrictName = divisionName(reg.DistrictCode)
	return reg, nil
}

// Location is a usage location (使用地点) of an enterprise's instruments.
type Location struct {
	ID         int64     `json:"id"`
	CreditCode string    `json:"credit_code"`
	Name       string    `json:"name"`
	Address    string    `json:"address"`
	CreatedAt  time.Time `json:"created_at"`
}

// LocationInput adds a usage location.
type LocationInput struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Validate checks a location.
func (in *LocationInput) Validate() error {
	in.Name, in.Address = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address)
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "使用地点名称应为 2 至 100 个字"})
	}
	if utf8.RuneCountInString(in.Address) > 200 {
		fe = append(fe, errs.FieldError{Field: "address", Message: "地址不能超过 200 个字"})
	}
	return errs.Fields(fe)
}

// AddLocation adds a usage location to an enterprise.
func (f *Function) AddLocation(ctx context.Context, v viewer, code string, in LocationInput) (Location, error) {
	var out Location
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := getEnterprise(ctx, tx, f.today(), code, true)
		if err != nil {
			return err
		}
		if err := f.mustSee(ctx, tx, v, e.CreditCode, e.DistrictCode, e.TownshipCode); err != nil {
			return err
		}
		if out, err = insertLocation(ctx, tx, code, in, f.now()); err != nil {
			if errs.CodeOf(err) == errs.Conflict {
				return &errs.Error{Code: errs.Conflict, Message: "该单位已有同名使用地点",
					Fields: []errs.FieldError{{Field: "name", Message: "已存在"}}}
			}
			return err
		}
		return f.audit(ctx, tx, v, "metrology.location.create", "enterprise", code, e.DistrictCode, e.TownshipCode, nil, out)
	})
	return out, err
}

// Locations lists an enterprise's usage locations.
func (f *Function) Locations(ctx context.Context, v viewer, code string) ([]Location, error) {
	if _, err := f.GetEnterprise(ctx, v, code); err != nil {
		return nil, err
	}
	return listLocations(ctx, f.pool, code)
}

// audit records a user's change in the operation log, in tx.
func (f *Function) audit(ctx context.Context, tx pgx.Tx, v viewer, action, objType, objID, district, township string, before, after any) error {
	return auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: v.userID, Username: v.username, IP: v.ip,
		Action: action, ObjectType: objType, ObjectID: objID, DistrictCode: district, TownshipCode: township, Before: before, After: after})
}
