package browser

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	entPW = "Corp#Docs2026xx"
	revPW = "Review#Docs2026x"
)

// docsUsers creates, as the system administrator, a 长安区 bureau with an
// enterprise user (企业用户) and a documents reviewer (文书审核员) in it,
// and returns their initial passwords.
func docsUsers(t *testing.T, s *stack, token string) (entInitial, revInitial string) {
	t.Helper()
	var tree []struct {
		ID string `json:"id"`
	}
	if st := s.api(t, "GET", "/identity/v1/departments", token, nil, &tree); st != 200 || len(tree) == 0 {
		t.Fatalf("departments: %d", st)
	}
	var dept struct {
		ID string `json:"id"`
	}
	if st := s.api(t, "POST", "/identity/v1/departments", token, map[string]any{"parent_id": tree[0].ID, "name": "长安区文书测试局",
		"level": "district", "district_codes": []string{"130102"}}, &dept); st != 201 {
		t.Fatalf("create department: %d", st)
	}
	var roles []struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if st := s.api(t, "GET", "/identity/v1/roles", token, nil, &roles); st != 200 {
		t.Fatalf("roles: %d", st)
	}
	roleID := map[string]string{}
	for _, r := range roles {
		roleID[r.Code] = r.ID
	}
	create := func(username, name, phone, role string) string {
		var c struct {
			InitialPassword string `json:"initial_password"`
		}
		if st := s.api(t, "POST", "/identity/v1/users", token, map[string]any{"username": username, "name": name, "phone": phone,
			"dept_id": dept.ID, "role_ids": []string{roleID[role]}}, &c); st != 201 || c.InitialPassword == "" {
			t.Fatalf("create user %s (role %s → %q): %d", username, role, roleID[role], st)
		}
		return c.InitialPassword
	}
	return create("qiye", "长安百货经办人", "13800138101", "enterprise"), create("shenhe", "长安区文书审核员", "13800138102", "docs_reviewer")
}

// TestDocumentsFlow (FP-36–45): an enterprise user drafts a 信用修复申请书
// prefilled from the registry, picks the penalty to repair, fills and
// submits it; a reviewer approves and publishes it; it is corrected, the
// diff of the two versions is shown side by side, the old version is
// 已更正, and its public verification page says so.
func TestDocumentsFlow(t *testing.T) {
	s := startStack(t)
	pw := s.initialPasswords(t)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": pw["admin"]}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st := s.api(t, "POST", "/identity/v1/password/change", login.AccessToken, map[string]string{"old_password": pw["admin"], "new_password": adminPW}, &login); st != 200 {
		t.Fatalf("change password: %d", st)
	}
	changan, _ := seedEntities(t, s, login.AccessToken)
	code := changan[0]
	if st := s.api(t, "POST", "/registry/v1/entities/"+code+"/records", login.AccessToken, map[string]any{"kind": "penalty",
		"ref_no": "石长市监罚〔2025〕8号", "title": "行政处罚决定书", "authority": "石家庄市长安区市场监督管理局", "occurred_on": "2025-06-01"}, nil); st != 201 {
		t.Fatalf("penalty record: %d", st)
	}
	var pre struct {
		Repairable []struct {
			KindName   string `json:"kind_name"`
			RefNo      string `json:"ref_no"`
			OccurredOn string `json:"occurred_on"`
		} `json:"repairable"`
	}
	if st := s.api(t, "GET", "/docs/v1/prefill/"+code+"?template=credit_repair", login.AccessToken, nil, &pre); st != 200 || len(pre.Repairable) != 1 {
		t.Fatalf("prefill: %d %+v", st, pre)
	}
	entInitial, revInitial := docsUsers(t, s, login.AccessToken)
	browser := newBrowser(t)
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)

	// 1. The enterprise user drafts the 信用修复申请书 by credit code.
	ent := openPage(t, browser, s.url, "qiye")
	ent.login("qiye", entInitial, entPW)
	if menus := ent.menuCodes(); !contains(menus, "docs.documents") || contains(menus, "docs.review") {
		t.Fatalf("enterprise menu %v", menus)
	}
	ent.goTo("/docs/documents")
	ent.click("new document", `all('[data-test=doc-new]')[0]`)
	ent.pick("文书模板", "信用修复申请书")
	ent.typeInto("credit code", `all('input[data-input=doc-credit-code]')[0]`, code)
	ent.click("draft", `all('[data-test=doc-create]')[0]`)
	ent.expectToast("drafted", "已起草")
	ent.waitFor("document page", `all('[data-test=doc-state]').some((e) => txt(e) === '草稿')`)
	// Prefilled from the registry: the name and the legal representative.
	ent.waitFor("prefilled name", `all('input[data-input=entity_name]').some((e) => e.value === '石家庄市长安区建设北大街福瑞祥百货商贸有限责任公司第一分公司') && all('input[data-input=legal_rep]').some((e) => e.value === '王五')`)
	ent.waitFor("the record picker", `!all('.el-loading-mask').length && field('从本主体的记录中选择要修复的失信信息')`)
	ent.pick("从本主体的记录中选择要修复的失信信息", "行政处罚信息公示 · 石长市监罚〔2025〕8号 · 2025-06-01")
	ent.waitFor("record applied", `all('input[data-input=decision_no]').some((e) => e.value === '石长市监罚〔2025〕8号')`)
	ent.typeInto("contact", `all('input[data-input=contact]')[0]`, "李娜")
	ent.typeInto("phone", `all('input[data-input=phone]')[0]`, "0311-86001234")
	ent.typeInto("authority", `all('input[data-input=authority]')[0]`, "石家庄市长安区市场监督管理局")
	ent.typeInto("reason", `all('textarea[data-input=reason]')[0]`, "本单位已全额缴纳罚款并完成整改，建立了进货查验制度。")
	ent.typeInto("attachments", `all('textarea[data-input=attachments]')[0]`, "1. 守信承诺书；2. 罚款缴款凭证")
	ent.typeInto("apply date", `field('申请日期').querySelector('input')`, today)
	ent.run("confirm the date", chromedp.KeyEvent("\r"))
	// The live preview follows the typing.
	ent.waitFor("live preview", `all('[data-test=doc-preview]').some((e) => txt(e).includes('联系人：李娜') && txt(e).includes('决定文书号：石长市监罚〔2025〕8号'))`)
	ent.click("submit", `all('[data-test=doc-submit]')[0]`)
	ent.expectToast("submitted", "已提交审核")
	ent.waitFor("submitted", `all('[data-test=doc-state]').some((e) => txt(e) === '已提交')`)
	var docPath string
	if err := ent.eval(`location.hash`, &docPath); err != nil {
		t.Fatal(err)
	}

	// 2. The reviewer approves and publishes it.
	rev := openPage(t, browser, s.url, "shenhe")
	rev.login("shenhe", revInitial, revPW)
	rev.goTo("/docs/review")
	rev.waitFor("the review queue", `all('.el-table__body tr').length && !all('.el-loading-mask').length`)
	rev.click("the submitted document", `all('.el-table__body td').find((td) => txt(td) === '石家庄市长安区建设北大街福瑞祥百货商贸有限责任公司第一分公司')`)
	rev.waitFor("the document loaded", `all('[data-test=doc-approve]').length && !all('.el-loading-mask').length`)
	rev.click("approve", `all('[data-test=doc-approve]')[0]`)
	rev.jsClick("confirm approve", `all('.el-message-box__btns .el-button--primary')[0]`)
	rev.expectToast("approved", "已审核通过")
	// The first box fades out before the next one opens.
	rev.waitFor("box closed", `!all('.el-message-box').length && all('[data-test=doc-publish]').length`)
	rev.click("publish", `all('[data-test=doc-publish]')[0]`)
	rev.jsClick("confirm publish", `all('.el-message-box__btns .el-button--primary')[0]`)
	rev.expectToast("published", "已发布")
	rev.waitFor("verification link", `all('[data-test=doc-verify]').length && all('[data-test=doc-state]').some((e) => txt(e) === '已发布')`)
	published := rev.text(`txt(all('[data-test=doc-version]')[0])`)
	oldVerify := rev.text(`all('[data-test=doc-verify]')[0].href`)

	// 3. A correction: a new version with its note; the diff is shown.
	// The publish box fades out first; a click on its overlay is tried again.
	rev.waitFor("publish box closed", `!all('.el-message-box').length`)
	rev.clickUntil("correct", `all('[data-test=doc-correct]')[0]`, `dialog('更正已发布文书')`)
	rev.typeInto("corrected contact", `dialog('更正已发布文书').querySelector('input[data-input=contact]')`, "王强")
	rev.typeInto("correction note", `dialog('更正已发布文书').querySelector('textarea[data-input=correct-note]')`, "联系人变更为王强")
	rev.click("save correction", `all('[data-test=correct-save]')[0]`)
	rev.expectToast("corrected", "已更正并发布")
	rev.waitFor("diff shown", `all('[data-test=doc-diff]').length && all('[data-test=doc-diff] tr').some((tr) => txt(tr).includes('联系人') && txt(tr).includes('李娜') && txt(tr).includes('王强') && txt(tr).includes('修改'))`)
	rev.waitFor("text diff side by side", `all('[data-test=doc-diff] [data-op=changed]').some((r) => txt(r).includes('联系人：李娜') && txt(r).includes('联系人：王强'))`)
	rev.waitFor("old version 已更正", fmt.Sprintf(`all('[data-publication]').some((e) => e.getAttribute('data-publication') === %s && txt(e) === '已更正')`, jsString(published)))
	if v := rev.text(`txt(all('[data-test=doc-version]')[0])`); v == published {
		t.Fatalf("the correction kept version %s", v)
	}

	// 4. The owner sees the corrected document (and was told, in the
	// message centre); the old version's public page says 已更正.
	ent.goTo("/docs/documents")
	ent.waitFor("the list", `all('.el-table__body td').some((td) => txt(td) === '已发布')`)
	ent.goTo(strings.TrimPrefix(docPath, "#"))
	ent.waitFor("owner sees the correction", `all('[data-test=doc-state]').some((e) => txt(e) === '已发布') && all('input[data-input=contact]').some((e) => e.value === '王强')`)
	pub := openPage(t, browser, s.url, "public")
	pub.run("open the old verification page", chromedp.Navigate(oldVerify))
	pub.waitFor("verification page", `all('[data-test=verify-state]').some((e) => txt(e) === '已更正') && all('[data-test=verify-version]').some((e) => txt(e) === `+jsString(published)+`)`)
}
