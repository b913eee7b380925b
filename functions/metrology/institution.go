package metrology

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Institution is a verification institution (检定机构).
type Institution struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	AuthorisationNo string    `json:"authorisation_no"`
	AuthorisedUntil *string   `json:"authorised_until"`
	Address         string    `json:"address"`
	Phone           string    `json:"phone"`
	Postcode        string    `json:"postcode"`
	CertPrefix      string    `json:"cert_prefix"`
	Usernames       []string  `json:"usernames"`
	Version         int       `json:"version"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func (i Institution) event() events.Institution {
	out := events.Institution{ID: i.ID, Name: i.Name, Authorisation: i.AuthorisationNo, Address: i.Address, Phone: i.Phone,
		Postcode: i.Postcode, Version: i.Version}
	if i.AuthorisedUntil != nil {
		out.AuthorisedUntil = *i.AuthorisedUntil
	}
	return out
}

// InstitutionInput registers or edits an institution; Usernames are the
// accounts (with the 检定机构 role) that act for it.
type InstitutionInput struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	AuthorisationNo string   `json:"authorisation_no"`
	AuthorisedUntil string   `json:"authorised_until"`
	Address         string   `json:"address"`
	Phone           string   `json:"phone"`
	Postcode        string   `json:"postcode"`
	CertPrefix      string   `json:"cert_prefix"`
	Usernames       []string `json:"usernames"`
	Version         int      `json:"version,omitempty"`
}

var (
	prefixPattern   = regexp.MustCompile(`^[A-Z]{1,6}$`)
	postcodePattern = regexp.MustCompile(`^[0-9]{6}$`)
)

// Validate normalises and checks an institution.
func (in *InstitutionInput) Validate() error {
	in.ID = strings.ToUpper(strings.TrimSpace(in.ID))
	for _, p := range []*string{&in.Name, &in.AuthorisationNo, &in.AuthorisedUntil, &in.Address, &in.Phone, &in.Postcode} {
		*p = strings.TrimSpace(*p)
	}
	in.CertPrefix = strings.ToUpper(strings.TrimSpace(in.CertPrefix))
	var fe []errs.FieldError
	if err := codes.CheckCreditCode(in.ID); err != nil {
		fe = append(fe, errs.FieldError{Field: "id", Message: "检定机构" + errs.As(err).Message})
	}
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "机构名称应为 2 至 100 个字"})
	}
	if n := utf8.RuneCountInString(in.AuthorisationNo); n < 2 || n > 64 {
		fe = append(fe, errs.FieldError{Field: "authorisation_no", Message: "请填写计量授权证书编号"})
	}
	if in.AuthorisedUntil != "" {
		if _, err := time.Parse(time.DateOnly, in.AuthorisedUntil); err != nil {
			fe = append(fe, errs.FieldError{Field: "authorised_until", Message: "日期格式应为 YYYY-MM-DD"})
		}
	}
	if utf8.RuneCountInString(in.Address) > 200 {
		fe = append(fe, errs.FieldError{Field: "address", Message: "地址不能超过 200 个字"})
	}
	if in.Phone != "" && !phonePattern.MatchString(in.Phone) {
		fe = append(fe, errs.FieldError{Field: "phone", Message: "联系电话应为 11 位手机号或带区号的固定电话"})
	}
	if in.Postcode != "" && !postcodePattern.MatchString(in.Postcode) {
		fe = append(fe, errs.FieldError{Field: "postcode", Message: "邮政编码应为 6 位数字"})
	}
	if !prefixPattern.MatchString(in.CertPrefix) {
		fe = append(fe, errs.FieldError{Field: "cert_prefix", Message: "证书编号前缀应为 1 至 6 位大写字母"})
	}
	for i, u := range in.Usernames {
		in.Usernames[i] = strings.TrimSpace(u)
		if in.Usernames[i] == "" || len(in.Usernames[i]) > 64 {
			fe = append(fe, errs.FieldError{Field: "usernames", Message: "关联账号不能为空"})
			break
		}
	}
	if in.Usernames == nil {
		in.Usernames = []string{}
	}
	return errs.Fields(fe)
}

// CreateInstitution registers an institution and binds its accounts.
func (f *Function) CreateInstitution(ctx context.Context, v viewer, in InstitutionInput) (Institution, error) {
	if v.kind != kindRegulator {
		return Institution{}, errs.New(errs.Forbidden, "检定机构由市场监管部门登记")
	}
	var out Institution
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := insertInstitution(ctx, tx, in, f.now()); err != nil {
			if errs.CodeOf(err) == errs.Conflict {
				return &errs.Error{Code: errs.Conflict, Message: "该检定机构已登记", Fields: []errs.FieldError{{Field: "id", Message: "已登记"}}}
			}
			return err
		}
		if err := bindMembers(ctx, tx, in.ID, in.Usernames, f.now()); err != nil {
			return err
		}
		var err error
		if out, err = getInstitution(ctx, tx, in.ID, false); err != nil {
			return err
		}
		return f.audit(ctx, tx, v, "metrology.institution.create", "institution", in.ID, "", "", nil, out)
	})
	return out, err
}

// UpdateInstitution edits an institution. When a field the certificates
// print changes, it emits metrology.institution.updated, and
// certificate-print issues new versions of the institution's
// certificates (FP-175).
func (f *Function) UpdateInstitution(ctx context.Context, v viewer, id string, in InstitutionInput) (Institution, error) {
	if in.Version < 1 {
		return Institution{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供读取时的版本号 version"}})
	}
	if !v.actsFor(id) {
		return Institution{}, errs.ErrNotFound
	}
	var out Institution
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getInstitution(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if old.Version != in.Version {
			return errs.New(errs.Conflict, "该机构信息已被他人修改，请刷新后重试")
		}
		if v.kind == kindInstitution && (in.AuthorisationNo != old.AuthorisationNo || in.CertPrefix != old.CertPrefix) {
			return errs.New(errs.Forbidden, "计量授权证书编号和证书编号前缀由市场监管部门维护")
		}
		in.ID = id
		if err := updateInstitution(ctx, tx, in, f.now()); err != nil {
			return err
		}
		if v.kind == kindRegulator {
			if err := bindMembers(ctx, tx, id, in.Usernames, f.now()); err != nil {
				return err
			}
		}
		if out, err = getInstitution(ctx, tx, id, false); err != nil {
			return err
		}
		if changed := printedChanges(old, out); len(changed) > 0 {
			ev, err := f.newEvent(events.MetrologyInstitutionUpdated, id, events.InstitutionUpdatedData{Institution: out.event(),
				Changed: changed, UpdatedAt: out.UpdatedAt})
			if err != nil {
				return err
			}
			if err := outbox.Record(ctx, tx, ev); err != nil {
				return err
			}
		}
		return f.audit(ctx, tx, v, "metrology.institution.edit", "institution", id, "", "", old, out)
	})
	return out, err
}

// printedChanges names the fields a certificate prints that differ.
func printedChanges(a, b Institution) []string {
	var out []string
	cmp := func(name, x, y string) {
		if x != y {
			out = append(out, name)
		}
	}
	cmp("name", a.Name, b.Name)
	cmp("authorisation_no", a.AuthorisationNo, b.AuthorisationNo)
	cmp("address", a.Address, b.Address)
	cmp("phone", a.Phone, b.Phone)
	cmp("postcode", a.Postcode, b.Postcode)
	return out
}

// Standard is a measurement standard (计量标准装置) with its certificates
// and main standard instruments (FP-174).
type Standard struct {
	ID              int64                        `json:"id"`
	InstitutionID   string                       `json:"institution_id"`
	InstitutionName string                       `json:"institution_name"`
	Name            string                       `json:"name"`
	Range           string                       `json:"range"`
	Accuracy        string                       `json:"accuracy"`
	Categories      []string                     `json:"categories"`
	CategoryNames   []string                     `json:"category_names"`
	Active          bool                         `json:"active"`
	Certificates    []events.StandardCertificate `json:"certificates"`
	Instruments     []events.StandardInstrument  `json:"instruments"`
	// Expired is the first lapsed certificate (of the standard or of a
	// main standard instrument) as of today; "" while all are valid.
	Expired   string    `json:"expired"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// StandardInput registers or replaces a standard.
type StandardInput struct {
	InstitutionID string                       `json:"institution_id"`
	Name          string                       `json:"name"`
	Range         string                       `json:"range"`
	Accuracy      string                       `json:"accuracy"`
	Categories    []string                     `json:"categories"`
	Active        *bool                        `json:"active"`
	Certificates  []events.StandardCertificate `json:"certificates"`
	Instruments   []events.StandardInstrument  `json:"instruments"`
}

var certKinds = map[string]string{"authorisation": "计量授权证书", "social_public": "社会公用计量标准证书", "assessment": "计量标准考核证书"}

// Validate checks a standard; catalogue membership of the categories is
// checked by the caller, which holds the catalogue.
func (in *StandardInput) Validate() error {
	in.InstitutionID = strings.ToUpper(strings.TrimSpace(in.InstitutionID))
	in.Name, in.Range, in.Accuracy = strings.TrimSpace(in.Name), strings.TrimSpace(in.Range), strings.TrimSpace(in.Accuracy)
	var fe []errs.FieldError
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "计量标准名称应为 2 至 100 个字"})
	}
	if len(in.Categories) == 0 {
		fe = append(fe, errs.FieldError{Field: "categories", Message: "请选择该计量标准可检定的器具种别"})
	}
	seen := map[string]bool{}
	for i := range in.Certificates {
		c := &in.Certificates[i]
		c.Number = strings.TrimSpace(c.Number)
		if _, ok := certKinds[c.Kind]; !ok || seen[c.Kind] {
			fe = append(fe, errs.FieldError{Field: "certificates", Message: "证书类别应为计量授权、社会公用计量标准或计量标准考核证书，且每类一份"})
			break
		}
		seen[c.Kind] = true
		if c.Number == "" || !isDate(c.ValidUntil) {
			fe = append(fe, errs.FieldError{Field: "certificates", Message: certKinds[c.Kind] + "需填写证书编号和有效期（YYYY-MM-DD）"})
		}
	}
	if !seen["assessment"] {
		fe = append(fe, errs.FieldError{Field: "certificates", Message: "请填写计量标准考核证书"})
	}
	if len(in.Instruments) == 0 {
		fe = append(fe, errs.FieldError{Field: "instruments", Message: "请至少填写一台主要标准器"})
	}
	for i := range in.Instruments {
		s := &in.Instruments[i]
		s.Name, s.CertificateNo = strings.TrimSpace(s.Name), strings.TrimSpace(s.CertificateNo)
		if s.Name == "" || s.CertificateNo == "" || !isDate(s.ValidUntil) {
			fe = append(fe, errs.FieldError{Field: "instruments", Message: fmt.Sprintf("第 %d 台主要标准器需填写名称、检定/校准证书编号和有效期", i+1)})
		}
	}
	if in.Certificates == nil {
		in.Certificates = []events.StandardCertificate{}
	}
	return errs.Fields(fe)
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func (f *Function) checkCategories(cats []string) ([]string, error) {
	var names []string
	for _, c := range cats {
		cat, ok := f.cat.Category(c)
		if !ok {
			return nil, errs.Fields([]errs.FieldError{{Field: "categories", Message: "器具种别 " + c + " 不在强检目录中"}})
		}
		names = append(names, cat.Name)
	}
	return names, nil
}

// SaveStandard registers a standard (id 0) or replaces one.
func (f *Function) SaveStandard(ctx context.Context, v viewer, id int64, in StandardInput) (Standard, error) {
	if _, err := f.checkCategories(in.Categories); err != nil {
		return Standard{}, err
	}
	inst, err := v.institutionFor(in.InstitutionID)
	if err != nil {
		return Standard{}, err
	}
	in.InstitutionID = inst
	var out Standard
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := getInstitution(ctx, tx, inst, false); err != nil {
			if errs.CodeOf(err) == errs.NotFound {
				return errs.Fields([]errs.FieldError{{Field: "institution_id", Message: "检定机构不存在"}})
			}
			return err
		}
		var before any
		if id != 0 {
			old, err := getStandard(ctx, tx, f.today(), id)
			if err != nil {
				return err
			}
			if !v.actsFor(old.InstitutionID) || old.InstitutionID != inst {
				return errs.ErrNotFound
			}
			before = old
		}
		var err error
		if id, err = saveStandard(ctx, tx, id, in, f.now()); err != nil {
			return err
		}
		if out, err = getStandard(ctx, tx, f.today(), id); err != nil {
			return err
		}
		action := "metrology.standard.create"
		if before != nil {
			action = "metrology.standard.edit"
		}
		return f.audit(ctx, tx, v, action, "standard", itoa(id), "", "", before, out)
	})
	return out, err
}

// expiry is the first certificate of s that has lapsed on day, "" when
// none has (a certificate is valid through its valid-until date).
func expiry(s Standard, day time.Time) string {
	d := day.Format(time.DateOnly)
	for _, c := range s.Certificates {
		if c.ValidUntil < d {
			return fmt.Sprintf("计量标准「%s」的%s（%s）已于 %s 到期", s.Name, certKinds[c.Kind], c.Number, c.ValidUntil)
		}
	}
	for _, i := range s.Instruments {
		if i.ValidUntil < d {
			return fmt.Sprintf("计量标准「%s」的主要标准器「%s」检定/校准证书（%s）已于 %s 到期", s.Name, i.Name, i.CertificateNo, i.ValidUntil)
		}
	}
	return ""
}

// drawStandards picks the institution's active standards for a category
// (FP-174: drawn automatically through the instrument's item and
// category). An expired one blocks the certificate: the institution must
// renew it or take it out of use first.
func drawStandards(ctx context.Context, q store.Querier, institution, category string, day time.Time) ([]events.StandardUsed, error) {
	stds, err := standardsFor(ctx, q, day, institution, category)
	if err != nil {
		return nil, err
	}
	if len(stds) == 0 {
		return nil, &errs.Error{Code: errs.Conflict, Message: "本机构没有可检定该器具种别的在用计量标准，不能出具检定证书",
			Fields: []errs.FieldError{{Field: "standards", Message: "请先登记计量标准"}}}
	}
	out := make([]events.StandardUsed, 0, len(stds))
	for _, s := range stds {
		if msg := expiry(s, day); msg != "" {
			return nil, &errs.Error{Code: errs.Conflict, Message: msg + "，不能出具检定证书；请更新证书或停用该计量标准",
				Fields: []errs.FieldError{{Field: "standards", Message: msg}}}
		}
		out = append(out, events.StandardUsed{ID: s.ID, Name: s.Name, Range: s.Range, Accuracy: s.Accuracy,
			Certificates: slices.Clone(s.Certificates), Instruments: slices.Clone(s.Instruments)})
	}
	return out, nil
}
