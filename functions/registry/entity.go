package registry

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
)

// Entity types and statuses as stored; the Chinese labels are for people.
var (
	entityTypes = map[string]string{
		"enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社",
		"institution": "事业单位", "non_enterprise": "民办非企业单位",
	}
	statuses = map[string]string{"active": "存续", "revoked": "吊销", "deregistered": "注销"}
	// creditPrefix is positions 1–2 of the credit code each type must carry
	// (registering authority + kind, GB 32100 appendix).
	creditPrefix = map[string]string{
		"enterprise": "91", "individual": "92", "cooperative": "93", "institution": "12", "non_enterprise": "52",
	}
)

// Entity is a market entity (市场主体) as the API shows it.
type Entity struct {
	CreditCode        string    `json:"credit_code"`
	Name              string    `json:"name"`
	EntityType        string    `json:"entity_type"`
	EntityTypeName    string    `json:"entity_type_name"`
	LegalRep          string    `json:"legal_rep"`
	EstablishedOn     string    `json:"established_on"`
	RegisteredCapital string    `json:"registered_capital"`
	BusinessScope     string    `json:"business_scope"`
	Address           string    `json:"address"`
	DistrictCode      string    `json:"district_code"`
	DistrictName      string    `json:"district_name"`
	TownshipCode      string    `json:"township_code"`
	TownshipName      string    `json:"township_name"`
	IndustryCode      string    `json:"industry_code"`
	IndustryName      string    `json:"industry_name"`
	Status            string    `json:"status"`
	StatusName        string    `json:"status_name"`
	Longitude         *float64  `json:"longitude,omitempty"`
	Latitude          *float64  `json:"latitude,omitempty"`
	Version           int       `json:"version"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// label fills the Chinese names from the code tables.
func (e *Entity) label() {
	e.EntityTypeName = entityTypes[e.EntityType]
	e.StatusName = statuses[e.Status]
	if d, ok := codes.Divisions().Lookup(e.DistrictCode); ok {
		e.DistrictName = d.Name
	}
	if d, ok := codes.Divisions().Lookup(e.TownshipCode); ok {
		e.TownshipName = d.Name
	}
	if i, ok := codes.Industries().Lookup(e.IndustryCode); ok {
		e.IndustryName = i.Name
	}
}

func (e Entity) event() events.Entity {
	out := events.Entity{
		CreditCode: e.CreditCode, Name: e.Name, EntityType: e.EntityType, LegalRep: e.LegalRep,
		EstablishedOn: e.EstablishedOn, RegisteredCapital: e.RegisteredCapital, Address: e.Address,
		DistrictCode: e.DistrictCode, TownshipCode: e.TownshipCode, IndustryCode: e.IndustryCode,
		Status: e.Status, Version: e.Version,
	}
	if e.Longitude != nil && e.Latitude != nil {
		out.Longitude, out.Latitude = *e.Longitude, *e.Latitude
	}
	return out
}

// Decimal accepts a JSON number or string, so clients may send 100 or "100.5".
type Decimal string

func (d *Decimal) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	*d = Decimal(strings.TrimSpace(s))
	return nil
}

// maxNameLen is the longest name an entity may have, in characters; a
// search keyword may be as long (a whole name).
const maxNameLen = 100

// EntityInput is what create, update and import accept.
type EntityInput struct {
	CreditCode        string   `json:"credit_code"`
	Name              string   `json:"name"`
	EntityType        string   `json:"entity_type"`
	LegalRep          string   `json:"legal_rep"`
	EstablishedOn     string   `json:"established_on"`
	RegisteredCapital Decimal  `json:"registered_capital"`
	BusinessScope     string   `json:"business_scope"`
	Address           string   `json:"address"`
	DistrictCode      string   `json:"district_code"`
	TownshipCode      string   `json:"township_code"`
	IndustryCode      string   `json:"industry_code"`
	Status            string   `json:"status"`
	Longitude         *float64 `json:"longitude"`
	Latitude          *float64 `json:"latitude"`
	Version           int      `json:"version"` // required on update: the version read
}

// normalize trims spaces and upper-cases codes, so a pasted value is accepted.
func (in *EntityInput) normalize() {
	trim := func(s *string) { *s = strings.TrimSpace(*s) }
	for _, s := range []*string{&in.Name, &in.EntityType, &in.LegalRep, &in.EstablishedOn, &in.BusinessScope,
		&in.Address, &in.DistrictCode, &in.TownshipCode, &in.IndustryCode, &in.Status} {
		trim(s)
	}
	in.CreditCode = strings.ToUpper(strings.TrimSpace(in.CreditCode))
	if in.Status == "" {
		in.Status = "active"
	}
	if in.RegisteredCapital == "" {
		in.RegisteredCapital = "0"
	}
}

// Validate checks every field and returns all problems at once, each
// naming its field in Chinese, so a form or import row is fixed in one go.
func (in *EntityInput) Validate() error { return errs.Fields(in.check(0)) }

func (in *EntityInput) check(row int) []errs.FieldError {
	in.normalize()
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg, Row: row}) }
	if err := codes.CheckCreditCode(in.CreditCode); err != nil {
		add("credit_code", errs.As(err).Message)
	}
	if _, ok := entityTypes[in.EntityType]; !ok {
		add("entity_type", "主体类型应为 enterprise（企业）、individual（个体工商户）、cooperative（农民专业合作社）、institution（事业单位）或 non_enterprise（民办非企业单位）")
	} else if len(in.CreditCode) == 18 && in.CreditCode[:2] != creditPrefix[in.EntityType] {
		add("credit_code", fmt.Sprintf("统一社会信用代码前两位应为 %s（%s）", creditPrefix[in.EntityType], entityTypes[in.EntityType]))
	}
	lengthCheck := func(field, label, v string, lo, hi int) {
		n := utf8.RuneCountInString(v)
		switch {
		case n == 0 && lo > 0:
			add(field, label+"不能为空")
		case n < lo || n > hi:
			add(field, fmt.Sprintf("%s长度应为 %d 至 %d 个字符", label, lo, hi))
		}
	}
	lengthCheck("name", "主体名称", in.Name, 2, maxNameLen)
	lengthCheck("legal_rep", "法定代表人（负责人）", in.LegalRep, 2, 50)
	lengthCheck("address", "住所（经营场所）", in.Address, 5, 200)
	lengthCheck("business_scope", "经营范围", in.BusinessScope, 0, 4000)
	if d, err := time.Parse(time.DateOnly, in.EstablishedOn); err != nil {
		add("established_on", "成立日期格式应为 YYYY-MM-DD")
	} else if d.Before(time.Date(1949, 10, 1, 0, 0, 0, 0, time.UTC)) || d.After(time.Now().AddDate(0, 0, 1)) {
		add("established_on", "成立日期应在 1949-10-01 至今之间")
	}
	if msg := checkCapital(string(in.RegisteredCapital)); msg != "" {
		add("registered_capital", msg)
	}
	if err := codes.CheckDistrict(in.DistrictCode); err != nil {
		add("district_code", errs.As(err).Message)
	} else if err := codes.CheckTownship(in.DistrictCode, in.TownshipCode); err != nil {
		add("township_code", errs.As(err).Message)
	}
	if err := codes.CheckIndustry(in.IndustryCode); err != nil {
		add("industry_code", errs.As(err).Message)
	}
	if _, ok := statuses[in.Status]; !ok {
		add("status", "登记状态应为 active（存续）、revoked（吊销）或 deregistered（注销）")
	}
	switch {
	case (in.Longitude == nil) != (in.Latitude == nil):
		add("longitude", "经度和纬度须同时填写")
	case in.Longitude != nil && (*in.Longitude < 113 || *in.Longitude > 120 || *in.Latitude < 36 || *in.Latitude > 43):
		add("longitude", "经纬度不在河北省范围内")
	}
	return fe
}

// checkCapital accepts a non-negative decimal of at most 4 places in 万元.
func checkCapital(s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "eE/") {
		return "注册资本应为数字（单位：万元）"
	}
	if r.Sign() < 0 {
		return "注册资本不能为负数"
	}
	if r.Cmp(big.NewRat(1e12, 1)) > 0 {
		return "注册资本超出允许范围"
	}
	if _, frac, ok := strings.Cut(s, "."); ok && len(frac) > 4 {
		return "注册资本最多保留 4 位小数"
	}
	return ""
}

// NormalizeName is the form of a name that search compares (FP-17): NFKC
// (full-width letters, digits, brackets and spaces become ASCII), ASCII
// letters lower-cased, every bracket variant ([ 【 〔 〖 〘 ⦅ and their
// closers) written ( ), every middle-dot variant (• ・ ‧ ∙ ⋅ ꞏ ⸱ and the
// period people type for them in 买买提.艾力) written ·, and whitespace and
// zero-width characters removed, so "石家庄 恒达（中国）" and "石家庄恒达(中国)"
// are one name.
//
// The column registry.entities.name_norm is generated by the SQL function
// registry.norm_name (migrations/0008_name_norm.sql), which must do exactly
// this: TestNormalizeNameMatchesSQL compares the two on every BMP character
// and on a list of real names. Change both or neither, and when the SQL
// changes, re-generate the column in the same migration.
func NormalizeName(s string) string {
	return strings.Map(foldNameRune, norm.NFKC.String(s))
}

func foldNameRune(r rune) rune {
	switch {
	case 'A' <= r && r <= 'Z':
		return r + 'a' - 'A'
	case unicode.IsSpace(r):
		return -1
	}
	switch r {
	case '[', '【', '〔', '〖', '〘', '⦅':
		return '('
	case ']', '】', '〕', '〗', '〙', '⦆':
		return ')'
	case '•', '・', '‧', '∙', '⋅', 'ꞏ', '⸱', '.':
		return '·'
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff': // zero-width space, (non-)joiner, word joiner, BOM
		return -1
	}
	return r
}
