package documents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// FP-37. A document's fields are prefilled from the registry by credit
// code, and the records a 信用修复申请书 may repair come with the values
// they fill in; an entity outside the caller's scope does not exist.
func TestPrefill(t *testing.T) {
	h := newHarness(t)
	ent := h.bearer(enterprise("e1"))
	var p PrefillResult
	h.must(t, 200, ent, "GET", "/docs/v1/prefill/"+strings.ToLower(h.changan)+"?template=credit_repair", nil, &p)
	if p.Values["entity_name"] != "石家庄长安诚信商贸有限公司" || p.Values["credit_code"] != h.changan || p.Values["legal_rep"] != "张建国" ||
		p.Values["signature"] != "张建国" || p.Values["address"] != "石家庄市测试路1号" {
		t.Errorf("prefilled %v", p.Values)
	}
	if len(p.Repairable) != 2 || p.Repairable[0].Kind != "penalty" || p.Repairable[0].Values["record_kind"] != "行政处罚信息公示" ||
		p.Repairable[0].Values["decision_no"] != "石市监罚〔2025〕12号" || p.Repairable[1].Values["decision_date"] != "2024-07-01" {
		t.Errorf("repairable %+v", p.Repairable)
	}
	if rec := h.do(t, ent, "GET", "/docs/v1/prefill/"+h.qiaoxi+"?template=credit_repair", nil); rec.Code != 404 {
		t.Errorf("an entity outside the scope: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, ent, "GET", "/docs/v1/prefill/91130102MA0D00019X?template=credit_repair", nil); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), "校验位") {
		t.Errorf("a bad credit code: %d %s", rec.Code, rec.Body)
	}
	// Capital is kept in 万元 by the registry and printed in yuan.
	v := fillFromEntity([]Field{{Key: "cap", Type: FieldAmount, Prefill: "registered_capital"}}, Entity{RegisteredCapital: "500.5000"})
	if v["cap"] != "5005000.00" {
		t.Errorf("capital %q", v["cap"])
	}
}

// FP-39, FP-40. A document's versions follow the rules: a changed value
// is a patch, a field filled in or cleared a minor version, a move to a
// template version of another major a major one; no change, no version.
// Any two versions diff side by side; a restore is a new version.
func TestDocumentVersions(t *testing.T) {
	h := newHarness(t)
	e1 := enterprise("e1")
	ent := h.bearer(e1)
	d := h.newRepair(t, e1, h.changan)
	if d.Version != "1.0.0" || d.State != "draft" || d.Values["entity_name"] != "石家庄长安诚信商贸有限公司" {
		t.Fatalf("created %s %s %v", d.Version, d.State, d.Values)
	}
	path := fmt.Sprintf("/docs/v1/documents/%d", d.ID)
	save := func(want string, mut func(map[string]string), extra ...string) {
		t.Helper()
		v := clone(d.Values)
		mut(v)
		in := UpdateInput{Values: v, Version: d.Version, Summary: "第" + want + "版"}
		if len(extra) > 0 {
			in.TemplateVersion = extra[0]
		}
		h.must(t, 200, ent, "PUT", path, in, &d)
		if d.Version != want {
			t.Fatalf("version %s, want %s", d.Version, want)
		}
	}
	save("1.0.1", func(v map[string]string) { v["reason"] = strings.Replace(v["reason"], "7月1日", "7月2日", 1) })
	save("1.1.0", func(v map[string]string) { delete(v, "fine_amount") })
	save("1.2.0", func(v map[string]string) { v["extra"] = "定期开展员工培训" })
	save("1.2.0", func(v map[string]string) {}) // unchanged: no version

	// The template gets a major version (a field's rules change); moving
	// the document onto it is a major version of the document.
	author := actor{ID: "author", Name: "模板作者"}
	tp := tp2(t, h, "credit_repair")
	fields := append([]Field(nil), tp.Fields...)
	for i := range fields {
		if fields[i].Key == "phone" {
			fields[i].MaxLen = 30
		}
	}
	if _, err := h.f.UpdateTemplate(context.Background(), author, "credit_repair", TemplateInput{Kind: tp.Kind, Title: tp.Title, Body: tp.Body,
		Fields: fields, Version: tp.Version}); err != nil {
		t.Fatal(err)
	}
	var det Detail
	h.must(t, 200, ent, "GET", path, nil, &det)
	if det.LatestTmpl != "2.0.0" || det.TemplateVersion != "1.0.0" {
		t.Errorf("template versions: latest %s, document's %s", det.LatestTmpl, det.TemplateVersion)
	}
	save("2.0.0", func(map[string]string) {}, "latest")

	var hist History
	h.must(t, 200, ent, "GET", path+"/history", nil, &hist)
	var got []string
	for _, v := range hist.Versions {
		got = append(got, v.Version+":"+v.Change+":"+v.TemplateVersion)
	}
	if strings.Join(got, " ") != "2.0.0:major:2.0.0 1.2.0:minor:1.0.0 1.1.0:minor:1.0.0 1.0.1:patch:1.0.0 1.0.0:initial:1.0.0" {
		t.Errorf("history %v", got)
	}
	if hist.Versions[1].SavedByName != "企业用户e1" || hist.Versions[1].Summary != "第1.2.0版" || hist.Versions[1].SavedAt.IsZero() {
		t.Errorf("who and why: %+v", hist.Versions[1])
	}

	// Diff of any two versions: fields and text side by side.
	var diff Diff
	h.must(t, 200, ent, "GET", path+"/diff?from=1.0.0&to=1.2.0", nil, &diff)
	byKey := map[string]FieldDiff{}
	for _, f := range diff.Fields {
		byKey[f.Key] = f
	}
	if byKey["fine_amount"].Change != "removed" || byKey["fine_amount"].From != "20000.00" || byKey["extra"].Change != "added" ||
		byKey["reason"].Change != "changed" || byKey["contact"].Change != "same" || byKey["reason"].Label != "申请理由及履行情况" {
		t.Errorf("field diff %+v", diff.Fields)
	}
	ops := map[string]int{}
	fine := false
	for _, l := range diff.Text {
		ops[l.Op]++
		if l.Op == "changed" && strings.HasPrefix(l.From, "　　罚款") {
			fine = strings.Contains(l.From, "人民币20000.00元（大写：贰万元整）") && strings.Contains(l.To, "________")
		}
	}
	if !fine || ops["changed"] != 3 || ops["same"] < 10 {
		t.Errorf("text diff: the fine line side by side %v, ops %v", fine, ops)
	}

	// Restore 1.0.1: a new version numbered by the rules against the
	// current one (template 2.0.0 back to 1.0.0: major).
	h.must(t, 200, ent, "POST", path+"/versions/1.0.1/restore", map[string]string{"summary": "恢复早先的理由"}, &d)
	if d.Version != "3.0.0" || d.TemplateVersion != "1.0.0" || d.Values["fine_amount"] != "20000.00" {
		t.Errorf("restored %s on template %s: %v", d.Version, d.TemplateVersion, d.Values)
	}
	h.must(t, 200, ent, "GET", path+"/history", nil, &hist)
	if len(hist.Versions) != 6 || hist.Versions[0].Kind != "restore" || hist.Versions[0].Summary != "恢复早先的理由" {
		t.Errorf("after restore: %d versions, newest %+v", len(hist.Versions), hist.Versions[0])
	}
	var one VersionView
	h.must(t, 200, ent, "GET", path+"/versions/1.1.0", nil, &one)
	if !strings.Contains(one.Rendered.Text, "罚款、没收违法所得金额（如有）：________") {
		t.Errorf("version 1.1.0 rendered:\n%s", one.Rendered.Text)
	}
	// A stale save is a conflict.
	if rec := h.do(t, ent, "PUT", path, UpdateInput{Values: d.Values, Version: "1.0.0"}); rec.Code != 409 {
		t.Errorf("stale save: %d", rec.Code)
	}
}

// FP-36. Values that fail their field's validation, unknown fields and a
// 20 MB paste are refused with a Chinese message, and nothing is saved.
func TestDocumentBadInput(t *testing.T) {
	h := newHarness(t)
	e1 := enterprise("e1")
	ent := h.bearer(e1)
	d := h.newRepair(t, e1, h.changan)
	path := fmt.Sprintf("/docs/v1/documents/%d", d.ID)
	versions := func() int { return h.count(t, `SELECT count(*) FROM docs.document_versions`) }
	before, docs := versions(), h.count(t, `SELECT count(*) FROM docs.documents`)
	for name, c := range map[string]struct {
		mut  func(map[string]string)
		want string
	}{
		"credit code": {func(v map[string]string) { v["credit_code"] = wrongCheck(h.changan) }, "统一社会信用代码：统一社会信用代码校验位错误（GB 32100）"},
		"date":        {func(v map[string]string) { v["decision_date"] = "2025-13-01" }, "列入（作出决定）日期应为有效日期"},
		"future":      {func(v map[string]string) { v["apply_date"] = "2026-03-03" }, "申请日期不能晚于 2026-03-02"},
		"amount":      {func(v map[string]string) { v["fine_amount"] = "-5" }, "罚款、没收违法所得金额应为金额"},
		"choice":      {func(v map[string]string) { v["record_kind"] = "黑名单" }, "失信信息类别应从给定选项中选择"},
		"too short":   {func(v map[string]string) { v["reason"] = "已缴" }, "申请理由及履行情况至少 10 字"},
		"unknown":     {func(v map[string]string) { v["bribe"] = "1" }, "模板中没有字段“bribe”"},
	} {
		v := clone(d.Values)
		c.mut(v)
		rec := h.do(t, ent, "PUT", path, UpdateInput{Values: v, Version: d.Version})
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d %s, want %q", name, rec.Code, rec.Body, c.want)
		}
	}
	v := clone(d.Values)
	v["reason"] = strings.Repeat("粘贴", 10<<20/3)
	raw, _ := json.Marshal(UpdateInput{Values: v, Version: d.Version})
	if rec := h.do(t, ent, "PUT", path, raw); rec.Code != 400 || errorBody(t, rec.Body.Bytes()).Message != MsgTooLarge {
		t.Errorf("20 MB paste: %d %s", rec.Code, rec.Body)
	}
	v["reason"] = strings.Repeat("长", MaxValueRunes+1)
	if rec := h.do(t, ent, "PUT", path, UpdateInput{Values: v, Version: d.Version}); rec.Code != 400 || !strings.Contains(rec.Body.String(), "不能超过 5000 字") {
		t.Errorf("a value over 5000 characters: %d %s", rec.Code, rec.Body)
	}
	bad := repairValues()
	bad["credit_code"] = "123"
	if rec := h.do(t, ent, "POST", "/docs/v1/documents", CreateInput{TemplateCode: "credit_repair", CreditCode: h.changan, Values: bad}); rec.Code != 400 {
		t.Errorf("create with a bad value: %d", rec.Code)
	}
	if rec := h.do(t, ent, "POST", "/docs/v1/documents", CreateInput{TemplateCode: "no_such", CreditCode: h.changan}); rec.Code != 400 {
		t.Errorf("create from a missing template: %d", rec.Code)
	}
	if versions() != before || h.count(t, `SELECT count(*) FROM docs.documents`) != docs {
		t.Error("refused input was saved")
	}
	if rec := h.do(t, ent, "POST", path+"/submit", nil); rec.Code != 200 {
		t.Fatalf("the untouched document could not be submitted: %d %s", rec.Code, rec.Body)
	}
}

// outbox lists the payloads of the events of one type in the outbox.
func outbox[T any](t *testing.T, h *harness, typ string) []T {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT event->'data' FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func audited(t *testing.T, h *harness, action string) []events.AuditOperationRecordedData {
	t.Helper()
	var out []events.AuditOperationRecordedData
	for _, a := range outbox[events.AuditOperationRecordedData](t, h, events.AuditOperationRecorded) {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

// FP-43, FP-44, FP-45. draft → submitted → rejected with a reason → submitted
// → approved → published with a QR to the public verification page,
// which detects a tampered PDF; a correction is a new version with its
// note, the old one stays as 已更正, and every party is told.
func TestWorkflow(t *testing.T) {
	h := newHarness(t)
	e1 := enterprise("e1")
	ent, rev := h.bearer(e1), h.bearer(reviewer("r1", "130102"))
	d := h.newRepair(t, e1, h.changan)
	path := fmt.Sprintf("/docs/v1/documents/%d", d.ID)
	// The grantees who must hear of a correction.
	for _, g := range []GrantInput{{Kind: "user", ID: "u-legal", Perms: []string{"read"}}, {Kind: "role", ID: "inspector", Perms: []string{"read"}},
		{Kind: "dept", ID: "dept-changan", Perms: []string{"read", "print"}}} {
		h.must(t, 200, ent, "POST", path+"/grants", g, nil)
	}
	// Incomplete: the required fields are named.
	v := clone(d.Values)
	delete(v, "attachments")
	h.must(t, 200, ent, "PUT", path, UpdateInput{Values: v, Version: d.Version}, &d)
	if rec := h.do(t, ent, "POST", path+"/submit", nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "请填写附件材料") {
		t.Fatalf("submit incomplete: %d %s", rec.Code, rec.Body)
	}
	// A reviewer does not see drafts.
	if rec := h.do(t, rev, "GET", path, nil); rec.Code != 404 {
		t.Errorf("a reviewer saw a draft: %d", rec.Code)
	}
	v["attachments"] = "1. 守信承诺书\n2. 罚款缴款凭证"
	h.must(t, 200, ent, "PUT", path, UpdateInput{Values: v, Version: d.Version}, &d)
	h.must(t, 200, ent, "POST", path+"/submit", nil, &d)
	if d.State != "submitted" || d.Editable {
		t.Fatalf("after submit: %s editable=%v", d.State, d.Editable)
	}
	if rec := h.do(t, ent, "PUT", path, UpdateInput{Values: v, Version: d.Version}); rec.Code != 409 {
		t.Errorf("edit while submitted: %d", rec.Code)
	}
	if rec := h.do(t, ent, "POST", path+"/review", ReviewInput{Decision: "approve"}); rec.Code != 403 {
		t.Errorf("the enterprise reviewed: %d", rec.Code)
	}
	if rec := h.do(t, rev, "POST", path+"/review", ReviewInput{Decision: "reject"}); rec.Code != 400 || !strings.Contains(rec.Body.String(), "退回理由") {
		t.Errorf("reject without a reason: %d %s", rec.Code, rec.Body)
	}
	h.must(t, 200, rev, "POST", path+"/review", ReviewInput{Decision: "reject", Reason: "缺少缴款凭证原件扫描件"}, &d)
	if d.State != "rejected" || d.RejectReason != "缺少缴款凭证原件扫描件" {
		t.Fatalf("rejected: %s %q", d.State, d.RejectReason)
	}
	notices := outbox[events.NoticeRequestedData](t, h, events.NotifyNoticeRequested)
	if len(notices) != 1 || !slices.Equal(notices[0].Target.UserIDs, []string{"e1"}) || !strings.Contains(notices[0].Body, "缺少缴款凭证原件扫描件") {
		t.Fatalf("rejection notice %+v", notices)
	}
	v["attachments"] += "\n3. 缴款凭证原件扫描件"
	h.must(t, 200, ent, "PUT", path, UpdateInput{Values: v, Version: d.Version}, &d)
	h.must(t, 200, ent, "POST", path+"/submit", nil, &d)
	if rec := h.do(t, rev, "POST", path+"/publish", nil); rec.Code != 409 {
		t.Errorf("publish before approval: %d", rec.Code)
	}
	h.must(t, 200, rev, "POST", path+"/review", ReviewInput{Decision: "approve", Reason: "材料齐全"}, &d)
	h.must(t, 200, rev, "POST", path+"/publish", nil, &d)
	if d.State != "published" || d.Current.Publication != "published" || d.Current.VerifyURL == "" || len(d.Current.PDFSHA256) != 64 {
		t.Fatalf("published: %s %+v", d.State, d.Current)
	}
	published := d.Version

	// The published PDF is the stored one, its hash the one the page shows.
	pdf := h.do(t, ent, "GET", path+"/file?format=pdf", nil)
	if pdf.Code != 200 || pdf.Header().Get("X-Content-SHA256") != d.Current.PDFSHA256 || sha256Hex(pdf.Body.Bytes()) != d.Current.PDFSHA256 {
		t.Fatalf("published pdf: %d %s", pdf.Code, pdf.Header())
	}
	text := pdftotext(t, pdf.Body.Bytes())
	if !strings.Contains(squash(text), squash("验证码 "+codeOf(d.Current.VerifyURL))) {
		t.Errorf("the PDF does not print its verification code:\n%s", text)
	}
	if got := zbarPDF(t, pdf.Body.Bytes()); got != d.Current.VerifyURL {
		t.Errorf("the PDF's QR code reads %q, want %q", got, d.Current.VerifyURL)
	}
	code := codeOf(d.Current.VerifyURL)
	page := h.do(t, "", "GET", "/docs/v1/verify/"+code, nil)
	for _, want := range []string{d.Current.PDFSHA256, "已发布", published, "信用修复申请书", "石家庄长安诚信商贸有限公司"} {
		if page.Code != 200 || !strings.Contains(page.Body.String(), want) {
			t.Errorf("verification page lacks %q (%d)", want, page.Code)
		}
	}
	check := func(data []byte) CheckResult {
		t.Helper()
		var res CheckResult
		req := httptest.NewRequest("POST", "/docs/v1/verify/"+code+"/check", bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/pdf")
		rec := httptest.NewRecorder()
		h.h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("check: %d %s", rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := check(pdf.Body.Bytes()); !res.Match || res.Format != "pdf" || res.State != "published" || res.Version != published {
		t.Errorf("the genuine PDF: %+v", res)
	}
	// One byte of the page content changed, as an edit of the text would.
	tampered := bytes.Clone(pdf.Body.Bytes())
	tampered[len(tampered)/2] ^= 0x20
	if res := check(tampered); res.Match || res.SHA256 == d.Current.PDFSHA256 {
		t.Errorf("a tampered PDF passed: %+v", res)
	}
	// The page's form answers a page too.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "x.pdf")
	fw.Write(tampered)
	mw.Close()
	req := httptest.NewRequest("POST", "/docs/v1/verify/"+code+"/check", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "核验不一致") {
		t.Errorf("form check of a tampered file: %d", rec.Code)
	}

	// Correction: a new version with its note, published at once.
	if rec := h.do(t, rev, "POST", path+"/correct", CorrectInput{Values: v, Note: "x", Version: published}); rec.Code != 400 {
		t.Errorf("correction without a real note: %d", rec.Code)
	}
	if rec := h.do(t, rev, "POST", path+"/correct", CorrectInput{Values: d.Values, Note: "无实质修改", Version: published}); rec.Code != 409 {
		t.Errorf("a correction changing nothing: %d %s", rec.Code, rec.Body)
	}
	fixed := clone(d.Values)
	fixed["decision_date"] = "2025-06-02"
	h.must(t, 200, rev, "POST", path+"/correct", CorrectInput{Values: fixed, Note: "决定日期笔误，应为6月2日", Version: published}, &d)
	if d.Version == published || d.Current.Kind != "correction" || d.Current.Note != "决定日期笔误，应为6月2日" || d.Current.Publication != "published" {
		t.Fatalf("corrected: %s %+v", d.Version, d.Current)
	}
	var hist History
	h.must(t, 200, ent, "GET", path+"/history", nil, &hist)
	states := map[string]string{}
	for _, hv := range hist.Versions {
		states[hv.Version] = hv.PublicationName
	}
	if states[published] != "已更正" || states[d.Version] != "已发布" {
		t.Errorf("publication states %v", states)
	}
	old := h.do(t, "", "GET", "/docs/v1/verify/"+code, nil)
	if !strings.Contains(old.Body.String(), "已更正") || !strings.Contains(old.Body.String(), d.Current.VerifyURL) ||
		!strings.Contains(old.Body.String(), "决定日期笔误") {
		t.Errorf("the old version's page does not say it was corrected:\n%s", old.Body)
	}
	if res := check(pdf.Body.Bytes()); !res.Match || res.State != "corrected" || res.CurrentVersion != d.Version {
		t.Errorf("the old genuine PDF after the correction: %+v", res)
	}
	// Every party is told: the owner, the grantees, the reviewer.
	notices = outbox[events.NoticeRequestedData](t, h, events.NotifyNoticeRequested)
	last := notices[len(notices)-1]
	if last.Kind != "document_corrected" || !strings.Contains(last.Body, "决定日期笔误") ||
		!slices.Contains(last.Target.UserIDs, "e1") || !slices.Contains(last.Target.UserIDs, "u-legal") || !slices.Contains(last.Target.UserIDs, "r1") ||
		!slices.Equal(last.Target.Roles, []string{"inspector"}) || !slices.Equal(last.Target.DeptIDs, []string{"dept-changan"}) {
		t.Errorf("correction notice %+v", last)
	}
	// The workflow's steps are in the history, and every step is audited.
	var actions []string
	for _, e := range hist.Events {
		actions = append(actions, e.Action)
	}
	if want := "corrected published approved submitted edited rejected submitted edited edited created"; strings.Join(actions, " ") != want {
		t.Errorf("events %v", actions)
	}
	for _, a := range []string{"document.submit", "document.reject", "document.approve", "document.publish", "document.correct", "document.grant"} {
		if len(audited(t, h, a)) == 0 {
			t.Errorf("%s not audited", a)
		}
	}
}

func codeOf(verifyURL string) string { return verifyURL[strings.LastIndex(verifyURL, "/")+1:] }

// FP-42. Rights are enforced on every API and download: a grantee without
// print reads but cannot download; a grantee outside the data scope does
// not see the document at all; nobody grants what they lack; every grant
// and every access is audited.
func TestAccess(t *testing.T) {
	h := newHarness(t)
	e1 := enterprise("e1")
	ent := h.bearer(e1)
	d := h.newRepair(t, e1, h.changan)
	path := fmt.Sprintf("/docs/v1/documents/%d", d.ID)

	reader := enterprise("reader") // same district, granted read only
	outside := enterprise("outside")
	outside.Scope = auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130104"}}
	stranger := enterprise("stranger") // same district, no grant
	h.must(t, 200, ent, "POST", path+"/grants", GrantInput{Kind: "user", ID: "reader", Name: "读者", Perms: []string{"read"}}, nil)
	h.must(t, 200, ent, "POST", path+"/grants", GrantInput{Kind: "user", ID: "outside", Perms: []string{"read", "print"}}, nil)

	rd, out, str := h.bearer(reader), h.bearer(outside), h.bearer(stranger)
	var got Detail
	h.must(t, 200, rd, "GET", path, nil, &got)
	if !slices.Equal(got.Access, []string{"read"}) || len(got.Grants) != 0 || got.Editable {
		t.Errorf("reader's view: access %v, grants %d, editable %v", got.Access, len(got.Grants), got.Editable)
	}
	for _, format := range []string{"pdf", "docx"} {
		if rec := h.do(t, rd, "GET", path+"/file?format="+format, nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "打印下载") {
			t.Errorf("download %s without print: %d %s", format, rec.Code, rec.Body)
		}
	}
	if rec := h.do(t, rd, "PUT", path, UpdateInput{Values: d.Values, Version: d.Version}); rec.Code != 403 {
		t.Errorf("edit without edit: %d", rec.Code)
	}
	if rec := h.do(t, rd, "POST", path+"/links", LinkInput{Format: "pdf"}); rec.Code != 403 {
		t.Errorf("share without share: %d", rec.Code)
	}
	if rec := h.do(t, rd, "GET", path+"/grants", nil); rec.Code != 403 {
		t.Errorf("grants without share: %d", rec.Code)
	}
	// Outside the scope, the grant does not help: nothing is seen at all.
	for _, p := range []string{"", "/history", "/versions/1.0.0", "/file?format=pdf", "/diff?from=1.0.0&to=1.0.0", "/grants"} {
		if rec := h.do(t, out, "GET", path+p, nil); rec.Code != 404 || strings.Contains(rec.Body.String(), "长安") {
			t.Errorf("outside the scope GET %s: %d %s", p, rec.Code, rec.Body)
		}
		if rec := h.do(t, str, "GET", path+p, nil); rec.Code != 404 {
			t.Errorf("without a grant GET %s: %d", p, rec.Code)
		}
	}
	var page httpx.PageOf[Document]
	h.must(t, 200, out, "GET", "/docs/v1/documents", nil, &page)
	if page.Total != 0 {
		t.Errorf("outside the scope the list shows %d", page.Total)
	}
	h.must(t, 200, rd, "GET", "/docs/v1/documents", nil, &page)
	if page.Total != 1 || page.Items[0].ID != d.ID {
		t.Errorf("the reader's list: %+v", page)
	}
	h.must(t, 200, str, "GET", "/docs/v1/documents", nil, &page)
	if page.Total != 0 {
		t.Errorf("a stranger's list shows %d", page.Total)
	}
	// Print granted through the department: now the download works.
	h.must(t, 200, ent, "POST", path+"/grants", GrantInput{Kind: "dept", ID: "dept-ent", Name: "企业部门", Perms: []string{"print"}}, nil)
	if rec := h.do(t, rd, "GET", path+"/file?format=pdf", nil); rec.Code != 200 || !bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF")) {
		t.Errorf("download with print through the department: %d", rec.Code)
	}
	// A sharer cannot grant what it lacks.
	h.must(t, 200, ent, "POST", path+"/grants", GrantInput{Kind: "user", ID: "sharer", Perms: []string{"read", "share"}}, nil)
	sharer := h.bearer(enterprise("sharer"))
	if rec := h.do(t, sharer, "POST", path+"/grants", GrantInput{Kind: "user", ID: "x", Perms: []string{"edit"}}); rec.Code != 403 {
		t.Errorf("granting a right one lacks: %d %s", rec.Code, rec.Body)
	}
	h.must(t, 200, sharer, "POST", path+"/grants", GrantInput{Kind: "role", ID: "inspector", Perms: []string{"read"}}, nil)
	if rec := h.do(t, ent, "POST", path+"/grants", GrantInput{Kind: "group", ID: "x", Perms: []string{"fly"}}); rec.Code != 400 {
		t.Errorf("bad grant: %d", rec.Code)
	}
	if rec := h.do(t, ent, "DELETE", path+"/grants/user/reader", nil); rec.Code != 204 {
		t.Errorf("revoke: %d", rec.Code)
	}
	// Still in through the department's grant, until that goes too.
	h.must(t, 200, rd, "GET", path, nil, &got)
	if !slices.Equal(got.Access, []string{"read", "print"}) {
		t.Errorf("through the department: %v", got.Access)
	}
	if rec := h.do(t, ent, "DELETE", path+"/grants/dept/dept-ent", nil); rec.Code != 204 {
		t.Errorf("revoke: %d", rec.Code)
	}
	if rec := h.do(t, rd, "GET", path, nil); rec.Code != 404 {
		t.Errorf("after the revokes the reader still sees it: %d", rec.Code)
	}
	// Audited: every grant and revoke, every read and download, each with
	// the document's place so the auditor's scope applies.
	if g := audited(t, h, "document.grant"); len(g) != 5 || g[0].DistrictCode != "130102" || g[0].ObjectID != fmt.Sprint(d.ID) {
		t.Errorf("grants audited: %d %+v", len(g), g)
	}
	if len(audited(t, h, "document.revoke")) != 2 {
		t.Error("revoke not audited")
	}
	reads := audited(t, h, "document.read")
	if len(reads) < 2 || reads[0].UserID != "reader" {
		t.Errorf("reads audited: %+v", reads)
	}
	if dl := audited(t, h, "document.download"); len(dl) != 1 || dl[0].UserID != "reader" {
		t.Errorf("downloads audited: %+v", dl)
	}
	if len(audited(t, h, "document.history")) != 0 {
		t.Error("refused reads were audited as reads")
	}
}

// FP-38. A forward link downloads one version's file without signing in
// until it expires; every use is audited.
func TestForwardLink(t *testing.T) {
	h := newHarness(t)
	e1 := enterprise("e1")
	ent := h.bearer(e1)
	d := h.newRepair(t, e1, h.changan)
	path := fmt.Sprintf("/docs/v1/documents/%d", d.ID)
	if rec := h.do(t, ent, "POST", path+"/links", LinkInput{Format: "pdf", Hours: 10000}); rec.Code != 400 {
		t.Errorf("a link for 10000 hours: %d", rec.Code)
	}
	var l Link
	h.must(t, 201, ent, "POST", path+"/links", LinkInput{Format: "docx", Hours: 2}, &l)
	if !strings.HasPrefix(l.URL, "http://localhost:8080/docs/v1/links/") || l.Version != "1.0.0" || !l.ExpiresAt.Equal(h.clock.t.Add(2*time.Hour)) {
		t.Fatalf("link %+v", l)
	}
	u, _ := url.Parse(l.URL)
	rec := h.do(t, "", "GET", u.Path, nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != typeDOCX || !bytes.HasPrefix(rec.Body.Bytes(), []byte("PK")) {
		t.Fatalf("following the link: %d %s", rec.Code, rec.Header())
	}
	if rec := h.do(t, "", "GET", u.Path+"x", nil); rec.Code != 404 {
		t.Errorf("a wrong token: %d", rec.Code)
	}
	h.clock.add(2 * time.Hour)
	if rec := h.do(t, "", "GET", u.Path, nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "链接已过期") {
		t.Errorf("an expired link: %d %s", rec.Code, rec.Body)
	}
	if n := len(audited(t, h, "document.link.download")); n != 1 {
		t.Errorf("%d link downloads audited, want 1", n)
	}
	if n := h.count(t, `SELECT count(*) FROM docs.links WHERE token_sha256 = $1`, codeOf(u.Path)); n != 0 {
		t.Error("the token is stored in clear")
	}
}

// FP-45. Search by entity, type, state, dates and full text, within what
// the caller may read.
func TestSearch(t *testing.T) {
	h := newHarness(t)
	e1 := enterprise("e1")
	ent := h.bearer(e1)
	repair := h.newRepair(t, e1, h.changan)
	h.clock.add(48 * time.Hour)
	var pledge Detail
	h.must(t, 201, ent, "POST", "/docs/v1/documents", CreateInput{TemplateCode: "pledge_food", CreditCode: h.changan,
		Values: map[string]string{"extra": "每日公示进货台账", "valid_until": "2027-01-01", "sign_date": "2026-03-04"}}, &pledge)
	h.must(t, 200, ent, "POST", fmt.Sprintf("/docs/v1/documents/%d/submit", pledge.ID), nil, nil)
	city := auth.Principal{UserID: "city", Name: "市局", Perms: enterprisePerms, Scope: auth.All()}
	other := h.entity(t, "130102", 3, "石家庄长安明德书店")
	h.newRepair(t, city, other) // not the caller's: never found

	find := func(q string) []int64 {
		t.Helper()
		var page httpx.PageOf[Document]
		h.must(t, 200, ent, "GET", "/docs/v1/documents?"+q, nil, &page)
		var ids []int64
		for _, d := range page.Items {
			ids = append(ids, d.ID)
		}
		if len(ids) != page.Total {
			t.Errorf("%s: total %d, items %d", q, page.Total, len(ids))
		}
		return ids
	}
	both := []int64{pledge.ID, repair.ID}
	for q, want := range map[string][]int64{
		"":                         both,
		"credit_code=" + h.changan: both,
		"credit_code=" + other:     nil,
		"entity=" + url.QueryEscape("诚信商贸"): both,
		"kind=pledge":                  {pledge.ID},
		"template=credit_repair":       {repair.ID},
		"state=submitted":              {pledge.ID},
		"state=draft":                  {repair.ID},
		"from=2026-03-03":              {pledge.ID},
		"to=2026-03-02":                {repair.ID},
		"q=" + url.QueryEscape("进货台账"): {pledge.ID},
		"q=" + url.QueryEscape("石市监罚〔2025〕12号"): {repair.ID},
		"q=" + url.QueryEscape("100%_"):         nil,
		"mine=true&state=submitted":             {pledge.ID},
	} {
		if got := find(q); !slices.Equal(got, want) {
			t.Errorf("search %q: %v, want %v", q, got, want)
		}
	}
	var one httpx.PageOf[Document]
	h.must(t, 200, ent, "GET", "/docs/v1/documents?page_size=1&page=2", nil, &one)
	if one.Total != 2 || len(one.Items) != 1 || one.Items[0].ID != repair.ID {
		t.Errorf("page 2 of 1: %+v", one)
	}
	for _, q := range []string{"state=gone", "from=2026-13-01", "kind=memo", "sort=id"} {
		if rec := h.do(t, ent, "GET", "/docs/v1/documents?"+q, nil); rec.Code != 400 {
			t.Errorf("search %q: %d", q, rec.Code)
		}
	}
	// A reviewer sees the submitted one, not the drafts.
	var page httpx.PageOf[Document]
	h.must(t, 200, h.bearer(reviewer("r1", "130102")), "GET", "/docs/v1/documents", nil, &page)
	if page.Total != 1 || page.Items[0].ID != pledge.ID {
		t.Errorf("reviewer's list %+v", page.Items)
	}
	rec := h.do(t, ent, "GET", "/docs/v1/documents/export?format=csv", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "食品安全自律承诺书") || strings.Contains(rec.Body.String(), "明德书店") {
		t.Errorf("export: %d %s", rec.Code, rec.Body)
	}
	if ex := audited(t, h, "document.export"); len(ex) != 1 || ex[0].UserID != "e1" || !strings.Contains(string(ex[0].After), fmt.Sprint(repair.ID)) {
		t.Errorf("export audited: %+v", ex)
	}
	if rec := h.do(t, h.bearer(authtest.CityWide()), "GET", "/docs/v1/documents", nil); rec.Code != 403 {
		t.Errorf("no permission: %d", rec.Code)
	}
}

// wrongCheck is code with another check character: only GB 32100's last
// check fails.
func wrongCheck(code string) string {
	last := "0"
	if code[17] == '0' {
		last = "1"
	}
	return code[:17] + last
}
