package documents

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// FieldType is what a template field holds (FP-36): each type has its own
// input, validation and printed form.
type FieldType string

// The field types a template may use.
const (
	FieldText       FieldType = "text"
	FieldDate       FieldType = "date"
	FieldAmount     FieldType = "amount"
	FieldCreditCode FieldType = "credit_code"
	FieldChoice     FieldType = "choice"
	FieldSignature  FieldType = "signature"
)

// fieldTypes are the types with their Chinese names, in the editor's order.
var fieldTypes = []struct {
	Type FieldType
	Name string
}{
	{FieldText, "文本"}, {FieldDate, "日期"}, {FieldAmount, "金额"},
	{FieldCreditCode, "统一社会信用代码"}, {FieldChoice, "选项"}, {FieldSignature, "签章栏"},
}

func fieldTypeName(t FieldType) (string, bool) {
	for _, f := range fieldTypes {
		if f.Type == t {
			return f.Name, true
		}
	}
	return "", false
}

// Template kinds.
var templateKinds = map[string]string{
	"pledge":        "自律承诺书",
	"credit_repair": "信用修复申请书",
	"other":         "其他文书",
}

// Prefill sources: the registry fields (registry.document_prefill) a field
// may be filled from by credit code, with the types they suit.
var prefillSources = map[string][]FieldType{
	"credit_code":        {FieldCreditCode},
	"name":               {FieldText, FieldSignature},
	"legal_rep":          {FieldText, FieldSignature},
	"address":            {FieldText},
	"established_on":     {FieldDate},
	"registered_capital": {FieldAmount},
	// The record a 信用修复申请书 asks to repair, picked from the entity's
	// repairable records.
	"repairable.kind":        {FieldChoice},
	"repairable.ref_no":      {FieldText},
	"repairable.authority":   {FieldText},
	"repairable.occurred_on": {FieldDate},
}

// Limits of what a template and a document may hold. They keep one
// document printable and one request small; a longer paste is refused with
// its own message, never cut.
const (
	MaxBodyRunes   = 20000
	MaxFields      = 60
	MaxValueRunes  = 5000
	MaxOptions     = 50
	maxTitleRunes  = 100
	maxLabelRunes  = 40
	maxPromptRunes = 200
	maxOptionRunes = 100
	maxSummary     = 200
)

// Field is one typed blank of a template, with its prompt and validation.
type Field struct {
	Key       string    `json:"key"`
	Label     string    `json:"label"`
	Type      FieldType `json:"type"`
	Prompt    string    `json:"prompt"`
	Required  bool      `json:"required"`
	Multiline bool      `json:"multiline,omitempty"` // text: paragraphs allowed
	MinLen    int       `json:"min_len,omitempty"`   // text, signature: characters
	MaxLen    int       `json:"max_len,omitempty"`
	Options   []string  `json:"options,omitempty"` // choice
	// Min and Max bound an amount (decimal yuan) or a date (YYYY-MM-DD,
	// or "today").
	Min     string `json:"min,omitempty"`
	Max     string `json:"max,omitempty"`
	Prefill string `json:"prefill,omitempty"` // a prefillSources key
}

var (
	keyPattern    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	codePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)
	placeholderRe = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	amountPattern = regexp.MustCompile(`^[0-9]{1,13}(\.[0-9]{1,2})?$`)
)

// Placeholders are the field keys the body names, in order of first use.
func Placeholders(body string) []string {
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(body, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

// TemplateInput is a template as an author saves it.
type TemplateInput struct {
	Code    string  `json:"code"` // on create only
	Kind    string  `json:"kind"`
	Title   string  `json:"title"`
	Body    string  `json:"body"`
	Fields  []Field `json:"fields"`
	Summary string  `json:"summary"`
	// Version is the version the author edited (on update): a stale one
	// is a conflict, so two authors cannot overwrite each other.
	Version string `json:"version"`
}

// normalize trims what an author typed around the words.
func (in *TemplateInput) normalize() {
	in.Code = strings.TrimSpace(in.Code)
	in.Kind = strings.TrimSpace(in.Kind)
	in.Title = strings.TrimSpace(in.Title)
	in.Body = strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
	in.Summary = strings.TrimSpace(in.Summary)
	for i := range in.Fields {
		f := &in.Fields[i]
		f.Key, f.Label, f.Prompt = strings.TrimSpace(f.Key), strings.TrimSpace(f.Label), strings.TrimSpace(f.Prompt)
		f.Min, f.Max, f.Prefill = strings.TrimSpace(f.Min), strings.TrimSpace(f.Max), strings.TrimSpace(f.Prefill)
		for j := range f.Options {
			f.Options[j] = strings.TrimSpace(f.Options[j])
		}
	}
}

// validate checks a template: every field's type, key, label, prompt and
// rules, and that the body names exactly its fields. Errors name the field
// ("fields[2].type") and say in Chinese what is wrong.
func (in TemplateInput) validate(create bool) error {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	if create && !codePattern.MatchString(in.Code) {
		add("code", "模板编码应为 2–40 位小写字母、数字或下划线，以字母开头")
	}
	if _, ok := templateKinds[in.Kind]; !ok {
		add("kind", "模板类别应为 自律承诺书（pledge）、信用修复申请书（credit_repair）或 其他文书（other）")
	}
	checkText(add, "title", "模板标题", in.Title, 1, maxTitleRunes)
	checkText(add, "summary", "修改说明", in.Summary, 0, maxSummary)
	switch n := utf8.RuneCountInString(in.Body); {
	case n == 0:
		add("body", "请填写模板正文")
	case n > MaxBodyRunes:
		add("body", fmt.Sprintf("模板正文不能超过 %d 字（当前 %d 字）", MaxBodyRunes, n))
	case !httpx.ValidText(in.Body):
		add("body", "模板正文包含无效字符")
	}
	if len(in.Fields) == 0 {
		add("fields", "模板至少需要一个字段")
	}
	if len(in.Fields) > MaxFields {
		add("fields", fmt.Sprintf("模板字段不能超过 %d 个", MaxFields))
	}
	keys := map[string]bool{}
	for i, f := range in.Fields {
		p := fmt.Sprintf("fields[%d].", i)
		name, known := fieldTypeName(f.Type)
		if !known {
			add(p+"type", fmt.Sprintf("未知的字段类型“%s”，可用的类型：文本（text）、日期（date）、金额（amount）、统一社会信用代码（credit_code）、选项（choice）、签章栏（signature）", clip(string(f.Type), 20)))
		}
		switch {
		case !keyPattern.MatchString(f.Key):
			add(p+"key", "字段标识应为 1–40 位小写字母、数字或下划线，以字母开头")
		case keys[f.Key]:
			add(p+"key", "字段标识“"+f.Key+"”重复")
		}
		keys[f.Key] = true
		checkText(add, p+"label", "字段名称", f.Label, 1, maxLabelRunes)
		checkText(add, p+"prompt", "填写提示", f.Prompt, 0, maxPromptRunes)
		if f.MinLen < 0 || f.MaxLen < 0 || f.MaxLen > MaxValueRunes || (f.MaxLen > 0 && f.MinLen > f.MaxLen) {
			add(p+"max_len", fmt.Sprintf("字数限制应满足 0 ≤ 最少字数 ≤ 最多字数 ≤ %d", MaxValueRunes))
		}
		if f.Multiline && f.Type != FieldText {
			add(p+"multiline", "只有文本字段可以多行")
		}
		if (f.MinLen > 0 || f.MaxLen > 0) && known && f.Type != FieldText && f.Type != FieldSignature {
			add(p+"max_len", name+"字段不设字数限制")
		}
		if f.Type == FieldChoice {
			checkOptions(add, p+"options", f.Options)
		} else if len(f.Options) > 0 {
			add(p+"options", "只有选项字段可以设置选项")
		}
		if f.Min != "" || f.Max != "" {
			switch f.Type {
			case FieldAmount:
				lo, hi := parseAmount(f.Min), parseAmount(f.Max)
				if (f.Min != "" && lo == nil) || (f.Max != "" && hi == nil) {
					add(p+"min", "金额范围应为最多两位小数的数字")
				} else if lo != nil && hi != nil && lo.Cmp(hi) > 0 {
					add(p+"min", "金额下限不能大于上限")
				}
			case FieldDate:
				lo, okLo := boundDate(f.Min, time.Time{})
				hi, okHi := boundDate(f.Max, time.Time{})
				if !okLo || !okHi {
					add(p+"min", "日期范围应为 YYYY-MM-DD 或 today")
				} else if !lo.IsZero() && !hi.IsZero() && f.Min != "today" && f.Max != "today" && lo.After(hi) {
					add(p+"min", "日期下限不能晚于上限")
				}
			default:
				add(p+"min", "只有金额和日期字段可以设置范围")
			}
		}
		if f.Prefill != "" {
			types, ok := prefillSources[f.Prefill]
			if !ok {
				add(p+"prefill", "未知的预填来源“"+clip(f.Prefill, 20)+"”")
			} else if known && !slices.Contains(types, f.Type) {
				add(p+"prefill", "预填来源“"+f.Prefill+"”不适用于"+name+"字段")
			}
		}
	}
	used := Placeholders(in.Body)
	for _, k := range used {
		if !keys[k] {
			add("body", "正文中的占位符 {{"+clip(k, 40)+"}} 没有对应的字段")
		}
	}
	for i, f := range in.Fields {
		if f.Key != "" && !slices.Contains(used, f.Key) {
			add(fmt.Sprintf("fields[%d].key", i), "字段“"+f.Label+"”未在正文中使用（在正文中写 {{"+f.Key+"}}）")
		}
	}
	return errs.Fields(fe)
}

func checkText(add func(string, string), field, name, s string, lo, hi int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n < lo && n == 0:
		add(field, "请填写"+name)
	case n < lo:
		add(field, fmt.Sprintf("%s至少 %d 字", name, lo))
	case n > hi:
		add(field, fmt.Sprintf("%s不能超过 %d 字（当前 %d 字）", name, hi, n))
	case !httpx.ValidText(s):
		add(field, name+"包含无效字符")
	}
}

func checkOptions(add func(string, string), field string, opts []string) {
	switch {
	case len(opts) < 2:
		add(field, "选项字段至少需要两个选项")
		return
	case len(opts) > MaxOptions:
		add(field, fmt.Sprintf("选项不能超过 %d 个", MaxOptions))
		return
	}
	seen := map[string]bool{}
	for _, o := range opts {
		switch {
		case o == "":
			add(field, "选项不能为空")
		case utf8.RuneCountInString(o) > maxOptionRunes:
			add(field, fmt.Sprintf("选项不能超过 %d 字", maxOptionRunes))
		case seen[o]:
			add(field, "选项“"+o+"”重复")
		}
		seen[o] = true
	}
}

// clip shortens s for echoing in a message.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if utf8.RuneCountInString(s) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

// parseAmount reads a decimal amount in yuan (at most two decimals); nil
// when it is not one.
func parseAmount(s string) *big.Rat {
	s = strings.ReplaceAll(s, ",", "")
	if !amountPattern.MatchString(s) {
		return nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil
	}
	return r
}

// boundDate reads a date bound: "" (none), "today" (today, as given) or
// YYYY-MM-DD.
func boundDate(s string, today time.Time) (time.Time, bool) {
	switch s {
	case "":
		return time.Time{}, true
	case "today":
		return today, true
	}
	d, err := time.Parse(time.DateOnly, s)
	return d, err == nil
}

// checkValues validates a document's values against the template's fields:
// formats always, and, when complete, that every required field is filled.
// It returns the values normalised as they are stored (credit codes upper
// case, amounts without thousands separators).
func checkValues(fields []Field, values map[string]string, complete bool, today time.Time) (map[string]string, error) {
	var fe []errs.FieldError
	out := map[string]string{}
	for k := range values {
		if !slices.ContainsFunc(fields, func(f Field) bool { return f.Key == k }) {
			fe = append(fe, errs.FieldError{Field: "values." + clip(k, 40), Message: "模板中没有字段“" + clip(k, 40) + "”"})
		}
	}
	for _, f := range fields {
		v, msg := checkValue(f, values[f.Key], today)
		if msg == "" && v == "" && f.Required && complete {
			msg = "请填写" + f.Label
		}
		if msg != "" {
			fe = append(fe, errs.FieldError{Field: "values." + f.Key, Message: msg})
			continue
		}
		if v != "" {
			out[f.Key] = v
		}
	}
	return out, errs.Fields(fe)
}

// checkValue normalises and checks one value; msg is "" when it is valid
// (an empty value is valid here: whether it must be filled is checked
// apart).
func checkValue(f Field, v string, today time.Time) (string, string) {
	v = strings.ReplaceAll(v, "\r\n", "\n")
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ""
	}
	if !httpx.ValidText(v) {
		return "", f.Label + "包含无效字符"
	}
	if n := utf8.RuneCountInString(v); n > MaxValueRunes {
		return "", fmt.Sprintf("%s不能超过 %d 字（当前 %d 字）", f.Label, MaxValueRunes, n)
	}
	switch f.Type {
	case FieldText, FieldSignature:
		if !f.Multiline && strings.ContainsAny(v, "\n\t") {
			return "", f.Label + "不能换行"
		}
		n := utf8.RuneCountInString(v)
		if f.MinLen > 0 && n < f.MinLen {
			return "", fmt.Sprintf("%s至少 %d 字（当前 %d 字）", f.Label, f.MinLen, n)
		}
		if f.MaxLen > 0 && n > f.MaxLen {
			return "", fmt.Sprintf("%s不能超过 %d 字（当前 %d 字）", f.Label, f.MaxLen, n)
		}
		if f.Type == FieldSignature && n > 50 {
			return "", f.Label + "不能超过 50 字"
		}
	case FieldDate:
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return "", f.Label + "应为有效日期（YYYY-MM-DD）"
		}
		// "Today" is the bureau's calendar day: at 01:55 in Shijiazhuang it
		// is already tomorrow, while UTC still says yesterday.
		local := today.In(shanghai)
		today = time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
		if lo, _ := boundDate(f.Min, today); !lo.IsZero() && d.Before(lo) {
			return "", f.Label + "不能早于 " + lo.Format(time.DateOnly)
		}
		if hi, _ := boundDate(f.Max, today); !hi.IsZero() && d.After(hi) {
			return "", f.Label + "不能晚于 " + hi.Format(time.DateOnly)
		}
	case FieldAmount:
		a := parseAmount(v)
		if a == nil {
			return "", f.Label + "应为金额（元，最多两位小数）"
		}
		if lo := parseAmount(f.Min); lo != nil && a.Cmp(lo) < 0 {
			return "", f.Label + "不能小于 " + f.Min + " 元"
		}
		if hi := parseAmount(f.Max); hi != nil && a.Cmp(hi) > 0 {
			return "", f.Label + "不能大于 " + f.Max + " 元"
		}
		v = a.FloatString(2)
	case FieldCreditCode:
		v = strings.ToUpper(v)
		if err := codes.CheckCreditCode(v); err != nil {
			var e *errs.Error
			msg := "统一社会信用代码无效"
			if errors.As(err, &e) {
				msg = e.Message
			}
			return "", f.Label + "：" + msg + "（GB 32100）"
		}
	case FieldChoice:
		if !slices.Contains(f.Options, v) {
			return "", f.Label + "应从给定选项中选择"
		}
	}
	return v, ""
}
