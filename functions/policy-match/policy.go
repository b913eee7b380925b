package policymatch

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Date is a calendar day written YYYY-MM-DD in JSON; empty means none.
type Date struct {
	time.Time
	Valid bool
}

func (d Date) MarshalJSON() ([]byte, error) {
	if !d.Valid {
		return []byte(`""`), nil
	}
	return json.Marshal(d.Format(time.DateOnly))
}

func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errs.New(errs.Invalid, "日期应为字符串 YYYY-MM-DD")
	}
	v, err := parseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d Date) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.Time
	return &t
}

func (d Date) String() string {
	if !d.Valid {
		return ""
	}
	return d.Format(time.DateOnly)
}

// dateLayouts are the ways documents write a date.
var dateLayouts = []string{time.DateOnly, "2006/1/2", "2006.1.2", "2006年1月2日", "2006-1-2"}

// parseDate reads a date in any of the layouts documents use; "" is no date.
func parseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1949 || t.Year() > 2100 {
				break
			}
			return Date{Time: t, Valid: true}, nil
		}
	}
	return Date{}, errs.New(errs.Invalid, "无法识别的日期格式“"+s+"”，应为 YYYY-MM-DD 或 YYYY年M月D日")
}

// Policy is one policy of the library.
type Policy struct {
	ID             int64               `json:"id"`
	Title          string              `json:"title"`
	DocNo          string              `json:"doc_no"`
	Issuer         string              `json:"issuer"`
	PublishedOn    Date                `json:"published_on"`
	EffectiveOn    Date                `json:"effective_on"`
	ExpiresOn      Date                `json:"expires_on"`
	Body           string              `json:"body,omitempty"`
	ConditionsText string              `json:"conditions_text"`
	ApplyURL       string              `json:"apply_url"`
	ApplyPlatform  string              `json:"apply_platform"`
	SourceKind     string              `json:"source_kind"`
	SourceRef      string              `json:"source_ref"`
	Sample         bool                `json:"sample"`
	Condition      Condition           `json:"condition"`
	ConditionFrom  string              `json:"condition_from"` // none | draft | edited
	Labels         map[string]Label    `json:"labels"`
	Overrides      map[string]Override `json:"overrides"`
	Effective      map[string]string   `json:"effective"` // the label in force per dimension
	Status         string              `json:"status"`
	Revision       int                 `json:"revision"`
	PublishedAt    *time.Time          `json:"published_at"`
	CreatedBy      string              `json:"created_by"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
}

// effective fills Effective from the labels and overrides.
func (p *Policy) effective() {
	p.Effective = map[string]string{}
	for _, d := range Dimensions {
		if o, ok := p.Overrides[d]; ok {
			p.Effective[d] = o.Value
		} else if l, ok := p.Labels[d]; ok {
			p.Effective[d] = l.Value
		}
	}
}

// PolicyInput is what the console form, an import and the demo data give.
type PolicyInput struct {
	Title          string     `json:"title"`
	DocNo          string     `json:"doc_no"`
	Issuer         string     `json:"issuer"`
	PublishedOn    Date       `json:"published_on"`
	EffectiveOn    Date       `json:"effective_on"`
	ExpiresOn      Date       `json:"expires_on"`
	Body           string     `json:"body"`
	ConditionsText string     `json:"conditions_text"`
	ApplyURL       string     `json:"apply_url"`
	ApplyPlatform  string     `json:"apply_platform"`
	SourceRef      string     `json:"source_ref"`
	Sample         bool       `json:"sample"`
	Condition      *Condition `json:"condition"` // nil: a draft is suggested from the text
}

func (in *PolicyInput) normalize() {
	for _, s := range []*string{&in.Title, &in.DocNo, &in.Issuer, &in.Body, &in.ConditionsText, &in.ApplyURL, &in.ApplyPlatform, &in.SourceRef} {
		*s = strings.TrimSpace(*s)
	}
	in.Title = strings.Join(strings.Fields(in.Title), " ")
}

// check returns every problem of the input at once, each naming its field.
func (in *PolicyInput) check() []errs.FieldError {
	in.normalize()
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	length := func(field, label, v string, lo, hi int) {
		switch n := utf8.RuneCountInString(v); {
		case n == 0 && lo > 0:
			add(field, "请填写"+label)
		case n < lo || n > hi:
			add(field, label+"长度超出范围")
		}
	}
	length("title", "政策标题", in.Title, 2, 300)
	length("doc_no", "文号", in.DocNo, 0, 100)
	length("issuer", "发文机关", in.Issuer, 0, 300)
	length("body", "政策全文", in.Body, 0, 200_000)
	length("conditions_text", "申报条件", in.ConditionsText, 0, 20_000)
	length("apply_platform", "申报平台", in.ApplyPlatform, 0, 200)
	length("source_ref", "来源", in.SourceRef, 0, 1000)
	if in.ApplyURL != "" {
		if u, err := url.Parse(in.ApplyURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || utf8.RuneCountInString(in.ApplyURL) > 1000 {
			add("apply_url", "申报链接应为 http:// 或 https:// 开头的网址")
		}
	}
	if in.EffectiveOn.Valid && in.ExpiresOn.Valid && in.ExpiresOn.Before(in.EffectiveOn.Time) {
		add("expires_on", "截止日期不能早于生效日期")
	}
	if in.Condition != nil {
		fe = append(fe, in.Condition.check()...)
	}
	return fe
}

// Validate checks the input.
func (in *PolicyInput) Validate() error { return errs.Fields(in.check()) }
