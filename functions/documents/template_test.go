package documents

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
)

func sampleTemplate() TemplateInput {
	return TemplateInput{Code: "sample_notice", Kind: "other", Title: "整改情况说明",
		Body: "单位名称：{{name}}\n统一社会信用代码：{{code}}\n　　整改日期：{{day}}，投入资金：{{money}}，整改类别：{{kind}}。\n>负责人：{{sign}}",
		Fields: []Field{
			{Key: "name", Label: "单位名称", Type: FieldText, Required: true, MaxLen: 60, Prefill: "name"},
			{Key: "code", Label: "统一社会信用代码", Type: FieldCreditCode, Required: true, Prefill: "credit_code"},
			{Key: "day", Label: "整改日期", Type: FieldDate, Max: "today"},
			{Key: "money", Label: "投入资金", Type: FieldAmount, Min: "0", Max: "1000000"},
			{Key: "kind", Label: "整改类别", Type: FieldChoice, Options: []string{"限期整改", "立即整改"}},
			{Key: "sign", Label: "负责人签字", Type: FieldSignature},
		}}
}

type apiError struct {
	Code    string
	Message string
	Fields  []struct{ Field, Message string }
}

func errorBody(t *testing.T, raw []byte) apiError {
	t.Helper()
	var e httpx.ErrorBody
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("error body %s: %v", raw, err)
	}
	out := apiError{Code: string(e.Error.Code), Message: e.Error.Message}
	for _, f := range e.Error.Fields {
		out.Fields = append(out.Fields, struct{ Field, Message string }{f.Field, f.Message})
	}
	return out
}

// FP-36. Bad templates are refused with a clear Chinese message naming
// the field, and nothing is saved: an unknown field type, fields that fail
// their own rules, a body naming no field, a 20 MB paste.
func TestTemplateBadInput(t *testing.T) {
	h := newHarness(t)
	author := h.bearer(authtest.CityWide(authorPerms...))
	before := h.count(t, `SELECT count(*) FROM docs.template_versions`)
	bad := func(name string, mut func(*TemplateInput), want string) {
		t.Run(name, func(t *testing.T) {
			in := sampleTemplate()
			mut(&in)
			rec := h.do(t, author, "POST", "/docs/v1/templates", in)
			if rec.Code != 400 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			e := errorBody(t, rec.Body.Bytes())
			all := e.Message
			for _, f := range e.Fields {
				all += " " + f.Field + ":" + f.Message
			}
			if e.Code != "invalid" || !strings.Contains(all, want) {
				t.Errorf("answer %+v, want a message with %q", e, want)
			}
		})
	}
	bad("unknown type", func(in *TemplateInput) { in.Fields[2].Type = "barcode" }, "fields[2].type:未知的字段类型“barcode”")
	bad("choice with one option", func(in *TemplateInput) { in.Fields[4].Options = []string{"限期整改"} }, "选项字段至少需要两个选项")
	bad("range on text", func(in *TemplateInput) { in.Fields[0].Min = "1" }, "只有金额和日期字段可以设置范围")
	bad("bad amount range", func(in *TemplateInput) { in.Fields[3].Min = "一百" }, "金额范围应为最多两位小数的数字")
	bad("inverted dates", func(in *TemplateInput) { in.Fields[2].Min, in.Fields[2].Max = "2026-01-02", "2025-01-01" }, "日期下限不能晚于上限")
	bad("duplicate key", func(in *TemplateInput) { in.Fields[1].Key = "name" }, "字段标识“name”重复")
	bad("placeholder without field", func(in *TemplateInput) { in.Body += "{{missing}}" }, "{{missing}} 没有对应的字段")
	bad("field not in body", func(in *TemplateInput) { in.Body = strings.ReplaceAll(in.Body, "{{sign}}", "") }, "未在正文中使用")
	bad("prefill for the wrong type", func(in *TemplateInput) { in.Fields[3].Prefill = "address" }, "不适用于金额字段")
	bad("kind", func(in *TemplateInput) { in.Kind = "memo" }, "模板类别应为")
	bad("code", func(in *TemplateInput) { in.Code = "Sample-1" }, "模板编码应为")
	bad("long body", func(in *TemplateInput) { in.Body += strings.Repeat("字", MaxBodyRunes) }, "模板正文不能超过 20000 字")

	// A 20 MB paste: refused before it is even decoded.
	paste := sampleTemplate()
	paste.Body += strings.Repeat("粘贴的内容", 20<<20/15)
	raw, _ := json.Marshal(paste)
	if len(raw) < 20<<20 {
		t.Fatalf("paste is %d bytes", len(raw))
	}
	rec := h.do(t, author, "POST", "/docs/v1/templates", raw)
	if e := errorBody(t, rec.Body.Bytes()); rec.Code != 400 || e.Message != MsgTooLarge {
		t.Errorf("20 MB paste: %d %+v", rec.Code, e)
	}
	if after := h.count(t, `SELECT count(*) FROM docs.template_versions`); after != before {
		t.Errorf("bad input saved versions: %d → %d", before, after)
	}
	if n := h.count(t, `SELECT count(*) FROM docs.templates WHERE code = 'sample_notice'`); n != 0 {
		t.Error("a refused template was saved")
	}
	// The same template, fixed, is accepted: the refusals were the faults'.
	var tp Template
	h.must(t, 201, author, "POST", "/docs/v1/templates", sampleTemplate(), &tp)
	if tp.Version != "1.0.0" {
		t.Errorf("new template version %s", tp.Version)
	}
}

// FP-39, FP-40. A template's versions follow the rules: a text correction
// is a patch, a field added or removed a minor version, a change of what a
// field accepts a major one; nothing changed, no version. History lists
// who saved each and why; any two diff side by side; a restore is a new
// version.
func TestTemplateVersions(t *testing.T) {
	h := newHarness(t)
	author := h.bearer(authtest.CityWide(authorPerms...))
	var tp Template
	h.must(t, 201, author, "POST", "/docs/v1/templates", sampleTemplate(), &tp)
	save := func(want string, mut func(*TemplateInput)) {
		t.Helper()
		in := TemplateInput{Kind: tp.Kind, Title: tp.Title, Body: tp.Body, Fields: tp.Fields, Version: tp.Version, Summary: "修改"}
		in.Fields = append([]Field(nil), in.Fields...)
		mut(&in)
		h.must(t, 200, author, "PUT", "/docs/v1/templates/sample_notice", in, &tp)
		if tp.Version != want {
			t.Fatalf("version %s, want %s", tp.Version, want)
		}
	}
	save("1.0.1", func(in *TemplateInput) { in.Body = strings.Replace(in.Body, "整改日期", "完成整改日期", 1) })
	save("1.0.2", func(in *TemplateInput) { in.Fields[0].Prompt = "与营业执照一致" })
	save("1.1.0", func(in *TemplateInput) {
		in.Fields = append(in.Fields, Field{Key: "note", Label: "备注", Type: FieldText})
		in.Body += "\n备注：{{note}}"
	})
	save("2.0.0", func(in *TemplateInput) { in.Fields[3].Max = "500000" })
	save("2.0.0", func(in *TemplateInput) {}) // nothing changed
	save("2.1.0", func(in *TemplateInput) {
		in.Fields = in.Fields[:len(in.Fields)-1]
		in.Body = strings.TrimSuffix(in.Body, "\n备注：{{note}}")
	})
	save("3.0.0", func(in *TemplateInput) { in.Fields[0].Type = FieldSignature; in.Fields[0].MaxLen = 50 })

	// A stale version is a conflict, and saves nothing.
	stale := TemplateInput{Kind: tp.Kind, Title: "另一个标题", Body: tp.Body, Fields: tp.Fields, Version: "2.1.0"}
	if rec := h.do(t, author, "PUT", "/docs/v1/templates/sample_notice", stale); rec.Code != 409 {
		t.Errorf("stale save: %d %s", rec.Code, rec.Body)
	}

	var hist []TemplateVersion
	h.must(t, 200, author, "GET", "/docs/v1/templates/sample_notice/versions", nil, &hist)
	var got []string
	for _, v := range hist {
		got = append(got, v.Version+":"+v.Change)
	}
	if strings.Join(got, " ") != "3.0.0:major 2.1.0:minor 2.0.0:major 1.1.0:minor 1.0.2:patch 1.0.1:patch 1.0.0:initial" {
		t.Errorf("history %v", got)
	}
	if hist[0].SavedByName != "市局用户" || hist[0].Summary != "修改" {
		t.Errorf("history names %q %q", hist[0].SavedByName, hist[0].Summary)
	}

	var d Diff
	h.must(t, 200, author, "GET", "/docs/v1/templates/sample_notice/diff?from=1.0.0&to=1.1.0", nil, &d)
	changes := map[string]string{}
	for _, f := range d.Fields {
		changes[f.Key] = f.Change
	}
	if changes["note"] != "added" || changes["name"] != "changed" || changes["code"] != "same" {
		t.Errorf("field diff %+v", d.Fields)
	}
	var textChanged bool
	for _, l := range d.Text {
		if l.Op == "changed" && strings.Contains(l.From, "整改日期") && strings.Contains(l.To, "完成整改日期") {
			textChanged = true
		}
	}
	if !textChanged {
		t.Errorf("text diff lacks the reworded line: %+v", d.Text)
	}

	// Restoring 1.0.0 is a new version on top (the field types come back:
	// a major change), and 1.0.0 itself stays in the history.
	h.must(t, 200, author, "POST", "/docs/v1/templates/sample_notice/versions/1.0.0/restore", nil, &tp)
	if tp.Version != "4.0.0" || tp.Fields[0].Type != FieldText || !strings.Contains(tp.Body, "　　整改日期") {
		t.Errorf("restored: %s %+v", tp.Version, tp.Fields[0])
	}
	h.must(t, 200, author, "GET", "/docs/v1/templates/sample_notice/versions", nil, &hist)
	if len(hist) != 8 || hist[0].RestoredFrom != "1.0.0" || hist[len(hist)-1].Version != "1.0.0" {
		t.Errorf("history after restore: %d versions, newest restored from %q", len(hist), hist[0].RestoredFrom)
	}
	if rec := h.do(t, author, "POST", "/docs/v1/templates/sample_notice/versions/1.0.0/restore", nil); rec.Code != 409 {
		t.Errorf("restoring the current content again: %d", rec.Code)
	}
	// Only authors edit.
	if rec := h.do(t, h.bearer(enterprise("e1")), "PUT", "/docs/v1/templates/sample_notice", stale); rec.Code != 403 {
		t.Errorf("an enterprise user edited a template: %d", rec.Code)
	}
}

// FP-36. The live preview renders a template under edit with sample
// values, printing each type its own way, and lists what is still wrong
// instead of refusing.
func TestPreview(t *testing.T) {
	h := newHarness(t)
	in := sampleTemplate()
	in.Body += "{{nope}}"
	var p Preview
	h.must(t, 200, h.bearer(authtest.CityWide(authorPerms...)), "POST", "/docs/v1/templates/preview", PreviewInput{Template: in,
		Values: map[string]string{"name": "石家庄𠮷祥超市", "day": "2026-01-05", "money": "500.3", "kind": "立即整改", "sign": "张三", "code": "bad"}}, &p)
	for _, want := range []string{"单位名称：石家庄𠮷祥超市", "整改日期：2026年1月5日", "人民币500.30元（大写：伍佰元叁角）",
		"整改类别：立即整改", "统一社会信用代码：________"} {
		if !strings.Contains(p.Rendered.Text, want) {
			t.Errorf("preview lacks %q:\n%s", want, p.Rendered.Text)
		}
	}
	if last := p.Rendered.Blocks[len(p.Rendered.Blocks)-1]; last.Align != "right" || last.Text != "负责人：张三（签字/盖章）{{nope}}" {
		t.Errorf("last block %+v", last)
	}
	var problems []string
	for _, f := range p.Problems {
		problems = append(problems, f.Field+":"+f.Message)
	}
	if s := strings.Join(problems, " "); !strings.Contains(s, "{{nope}}") || !strings.Contains(s, "values.code:统一社会信用代码") {
		t.Errorf("problems %v", problems)
	}
}

func TestUpperAmount(t *testing.T) {
	for in, want := range map[string]string{
		"0": "零元整", "0.5": "伍角", "0.05": "伍分", "1": "壹元整", "10": "壹拾元整", "100.07": "壹佰元零柒分",
		"1001": "壹仟零壹元整", "12000000": "壹仟贰佰万元整", "12000500": "壹仟贰佰万零伍佰元整",
		"100000001": "壹亿零壹元整", "1234.56": "壹仟贰佰叁拾肆元伍角陆分", "20000": "贰万元整", "105000": "壹拾万伍仟元整",
		"1000000000000": "壹万亿元整",
	} {
		r, _ := new(big.Rat).SetString(in)
		if got := upperAmount(r); got != want {
			t.Errorf("upperAmount(%s) = %s, want %s", in, got, want)
		}
	}
}

// FP-36. Each field type checks its value: the credit code by GB 32100,
// dates and amounts within their range, choices among the options.
func TestFieldValidation(t *testing.T) {
	today := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tp := sampleTemplate()
	for _, c := range []struct {
		key, value, want string // want "" for valid
	}{
		{"code", "91130102ma0d00012x", "校验位"},
		{"code", "91130102MA0D0001", "长度应为18位"},
		{"day", "2026-03-03", "不能晚于 2026-03-02"},
		{"day", "2026-02-30", "应为有效日期"},
		{"day", "2026-03-02", ""},
		{"money", "1000000.01", "不能大于 1000000 元"},
		{"money", "12.345", "应为金额"},
		{"money", "1,000.5", ""},
		{"kind", "择日整改", "应从给定选项中选择"},
		{"name", strings.Repeat("长", 61), "不能超过 60 字"},
		{"name", "石家庄\n超市", "不能换行"},
		{"sign", "张三", ""},
	} {
		_, msg := checkValue(fieldOf(t, tp, c.key), c.value, today)
		if (c.want == "") != (msg == "") || !strings.Contains(msg, c.want) {
			t.Errorf("%s=%q: %q, want %q", c.key, c.value, msg, c.want)
		}
	}
	if v, _ := checkValue(fieldOf(t, tp, "money"), "1,000.5", today); v != "1000.50" {
		t.Errorf("amount stored as %q", v)
	}
}

func fieldOf(t *testing.T, in TemplateInput, key string) Field {
	t.Helper()
	for _, f := range in.Fields {
		if f.Key == key {
			return f
		}
	}
	t.Fatalf("no field %s", key)
	return Field{}
}

func TestDiffLines(t *testing.T) {
	d := diffLines("甲\n乙\n丙\n丁", "甲\n乙二\n丙\n戊\n丁")
	var got []string
	for _, l := range d {
		got = append(got, l.Op+":"+l.From+">"+l.To)
	}
	if want := "same:甲>甲 changed:乙>乙二 same:丙>丙 added:>戊 same:丁>丁"; strings.Join(got, " ") != want {
		t.Errorf("diff\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	long := strings.Repeat("行\n", 3000)
	if d := diffLines(long+"甲", long+"乙"); len(d) != 3001 || d[3000].Op != "changed" {
		t.Errorf("long diff: %d rows", len(d))
	}
}

// After 16:00 UTC the bureau's calendar has turned: a date of "today" in
// Shijiazhuang is not in the future, and the bound names that day.
func TestTodayIsTheBureausDay(t *testing.T) {
	lateUTC := time.Date(2026, 3, 2, 17, 55, 0, 0, time.UTC) // 2026-03-03 01:55 in Shijiazhuang
	day := fieldOf(t, sampleTemplate(), "day")
	if _, msg := checkValue(day, "2026-03-03", lateUTC); msg != "" {
		t.Errorf("the bureau's today refused: %q", msg)
	}
	if _, msg := checkValue(day, "2026-03-04", lateUTC); !strings.Contains(msg, "不能晚于 2026-03-03") {
		t.Errorf("tomorrow: %q, want the bound 2026-03-03", msg)
	}
}
