package browser

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sjzamr/smartreg/shared/codes"
)

const (
	metroEntPW = "Qiye#Metro2026x"
	instPW     = "Jdjg#Metro2026x"
)

// apiAdmin signs the generated administrator in through the API (changing
// the forced first password) and returns his token.
func apiAdmin(t *testing.T, s *stack) string {
	t.Helper()
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
	return login.AccessToken
}

// createUser adds an account with one built-in role and returns its
// generated password.
func createUser(t *testing.T, s *stack, token, username, name, phone, role string) string {
	t.Helper()
	var roles []struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	if st := s.api(t, "GET", "/identity/v1/roles", token, nil, &roles); st != 200 {
		t.Fatalf("roles: %d", st)
	}
	var me struct {
		User struct {
			DeptID string `json:"dept_id"`
		} `json:"user"`
	}
	s.api(t, "GET", "/identity/v1/me", token, nil, &me)
	var roleID string
	for _, r := range roles {
		if r.Code == role {
			roleID = r.ID
		}
	}
	if roleID == "" {
		t.Fatalf("no built-in role %s", role)
	}
	var created struct {
		InitialPassword string `json:"initial_password"`
	}
	if st := s.api(t, "POST", "/identity/v1/users", token, map[string]any{"username": username, "name": name, "phone": phone,
		"dept_id": me.User.DeptID, "role_ids": []string{roleID}}, &created); st != 201 && st != 200 {
		t.Fatalf("create user %s: %d", username, st)
	}
	return created.InitialPassword
}

// TestMetrologyFlow (issue 19): an enterprise registers its instruments
// (工作中 leads to adding a usage location) and applies; the institution
// returns part of the application and verifies the rest, a dispenser with
// four nozzles among them; the certificate PDF shows the standards and the
// nozzles, and its QR opens a page that confirms it.
func TestMetrologyFlow(t *testing.T) {
	s := startStack(t)
	admin := apiAdmin(t, s)
	entInitial := createUser(t, s, admin, "qiye01", "恒达加油站", "13800138101", "metrology_enterprise")
	instInitial := createUser(t, s, admin, "jdjg01", "检定员张三", "13800138102", "metrology_institution")
	instID, err := codes.MakeCreditCode("12", "130100", "MB0C0001")
	if err != nil {
		t.Fatal(err)
	}
	if st := s.api(t, "POST", "/metrology/v1/institutions", admin, map[string]any{"id": instID, "name": "石家庄市计量检定测试所",
		"authorisation_no": "(冀)法计(2024)01001号", "address": "石家庄市长安区建设北大街 88 号", "phone": "0311-86000000", "postcode": "050000",
		"cert_prefix": "JD", "usernames": []string{"jdjg01"}}, nil); st != 201 {
		t.Fatalf("institution: %d", st)
	}
	if st := s.api(t, "POST", "/metrology/v1/standards", admin, map[string]any{"institution_id": instID, "name": "燃油加油机检定装置",
		"range": "(0～150)L/min", "accuracy": "0.05级", "categories": []string{"0401", "0101"},
		"certificates": []map[string]any{{"kind": "assessment", "number": "[2024]冀量标石证字第001号", "valid_until": "2029-06-30"}},
		"instruments": []map[string]any{{"name": "标准金属量器", "model": "20L", "serial_no": "BZ-2001", "accuracy": "二等",
			"certificate_no": "JL2025-0101", "valid_until": "2029-01-31"}}}, nil); st != 201 {
		t.Fatalf("standard: %d", st)
	}
	entCode, err := codes.MakeCreditCode("91", "130102", "MA0C0001")
	if err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)

	// 1. The enterprise registers itself and three instruments.
	ent := openPage(t, browser, s.url, "qiye01")
	ent.login("qiye01", entInitial, metroEntPW)
	ent.goTo("/metrology/enterprises")
	ent.waitFor("registration hints", `all('[data-test=hints]').some((e) => txt(e).includes('区分大小写'))`)
	ent.click("register my enterprise", `all('[data-test=enterprise-new]')[0]`)
	ent.typeInto("credit code", inp(`[data-test=enterprise-code]`), entCode)
	ent.typeInto("name", inp(`[data-test=enterprise-name]`), "长安区恒达加油站有限公司")
	ent.pick("行政区划", "长安区（130102）")
	ent.click("save enterprise", `all('[data-test=enterprise-save]')[0]`)
	ent.expectToast("enterprise saved", "已保存")
	ent.goTo("/metrology/instruments")
	for _, in := range []struct{ item, category, serial string }{
		{"04 燃油加油机", "燃油加油机", "JYJ-001"}, {"01 非自动衡器", "数字指示秤（电子计价秤、电子台案秤）", "CZ-001"}, {"06 水表", "冷水水表（DN≤50）", "SB-001"},
	} {
		ent.click("register instrument", `all('[data-test=instrument-new]')[0]`)
		ent.click("category", `all('.el-dialog .el-cascader')[0]`)
		ent.jsClick("item "+in.item, fmt.Sprintf(`byText('.el-cascader-node__label', %s) && byText('.el-cascader-node__label', %s).closest('.el-cascader-node')`,
			jsString(in.item), jsString(in.item)))
		ent.jsClick("category "+in.category, fmt.Sprintf(`(() => { const m = all('.el-cascader-menu')[1]; const l = m && [...m.querySelectorAll('.el-cascader-node__label')].find((e) => txt(e) === %s); return l && l.closest('.el-cascader-node'); })()`,
			jsString(in.category)))
		ent.typeInto("serial", inp(`[data-test=instrument-serial]`), in.serial)
		ent.click("save instrument", `all('[data-test=instrument-save]')[0]`)
		ent.expectToast("instrument "+in.serial, "已登记")
		ent.waitFor("dialog closed", `!dialog('登记强检计量器具')`)
	}
	// FP-170: 工作中 without any usage location leads to adding one.
	ent.waitFor("instrument rows", `all('[data-test=instrument-table] .el-table__body tr').length === 3`)
	ent.waitFor("instruments loaded", `!all('.el-loading-mask').length`)
	ent.jsClick("change status", `[...all('[data-test=instrument-table] .el-table__body tr')].find((tr) => txt(tr).includes('JYJ-001')).querySelector('[data-test=instrument-status]')`)
	ent.click("工作中", `[...dialog('变更器具状态').querySelectorAll('.el-radio')].find((e) => txt(e) === '工作中')`)
	ent.click("save status", `all('[data-test=status-save]')[0]`)
	ent.waitFor("needs a location", `dialog('变更器具状态') && txt(dialog('变更器具状态')).includes('请先新增使用地点')`)
	ent.typeInto("location name", inp(`[data-test=location-name]`), "一号加油岛")
	ent.click("add location", `all('[data-test=location-add]')[0]`)
	ent.expectToast("location added", "已新增使用地点")
	ent.click("save status", `all('[data-test=status-save]')[0]`)
	ent.expectToast("status changed", "状态已变更")

	// 2. It applies for all three.
	ent.goTo("/metrology/applications")
	ent.click("apply", `all('[data-test=app-new]')[0]`)
	for _, serial := range []string{"JYJ-001", "CZ-001", "SB-001"} {
		ent.click("pick "+serial, fmt.Sprintf(`all('[data-serial=%s]')[0]`, jsString(serial)))
	}
	ent.click("submit application", `all('[data-test=app-submit]')[0]`)
	ent.expectToast("applied", "申请已提交")

	// 3. The institution returns the water meter and verifies the rest.
	inst := openPage(t, browser, s.url, "jdjg01")
	inst.login("jdjg01", instInitial, instPW)
	inst.goTo("/metrology/applications")
	inst.waitFor("applications loaded", `all('[data-partial]').length && !all('.el-loading-mask').length`)
	inst.jsClick("partial return", `all('[data-partial]')[0]`)
	inst.click("pick the water meter", `dialog('部分退回') && dialog('部分退回').querySelector('[data-serial="SB-001"]')`)
	inst.typeInto("reason", inp(`[data-test=return-reason]`), "水表只作首次强制检定，到期轮换")
	inst.click("return", `all('[data-test=return-submit]')[0]`)
	inst.expectToast("returned", "已退回")
	inst.waitFor("partially returned", `all('[data-app-status]').some((e) => txt(e) === '部分退回')`)
	record := func(serial string, nozzles []string) {
		var shown bool
		if err := inst.eval(fmt.Sprintf(`all('[data-result=%s]').length > 0`, jsString(serial)), &shown); err != nil || !shown {
			inst.jsClick("expand", `all('.el-table__expand-icon')[0]`)
		}
		inst.waitFor("loaded", `!all('.el-loading-mask').length`)
		inst.jsClick("record "+serial, fmt.Sprintf(`all('[data-result=%s]')[0]`, jsString(serial)))
		if len(nozzles) > 0 {
			for range len(nozzles) - 1 {
				inst.click("one more nozzle", `(() => { const e = all('[data-test=nozzle-count]')[0]; return e && (e.closest('.el-input-number') || e).querySelector('.el-input-number__increase'); })()`)
			}
			for i, n := range nozzles {
				inst.typeInto(fmt.Sprintf("nozzle %d", i+1), inp(fmt.Sprintf(`[data-nozzle-serial="%d"]`, i)), n)
				inst.typeInto(fmt.Sprintf("nozzle %d error", i+1), inp(fmt.Sprintf(`[data-nozzle-error="%d"]`, i)), fmt.Sprintf("+0.%d%%", i+1))
			}
		}
		inst.typeInto("verifier", inp(`[data-test=verifier]`), "张检定")
		inst.typeInto("checker", inp(`[data-test=checker]`), "李核验")
		inst.typeInto("approver", inp(`[data-test=approver]`), "王批准")
		inst.typeInto("temperature", inp(`[data-test=temperature]`), "18.5℃")
		inst.typeInto("humidity", inp(`[data-test=humidity]`), "42%RH")
		inst.click("save result", `all('[data-test=result-save]')[0]`)
		inst.expectToast("result "+serial, "证书编号")
		inst.waitFor("result dialog closed", `!dialog('录入检定结果')`)
	}
	record("CZ-001", nil)
	record("JYJ-001", []string{"1号枪", "2号枪", "3号枪", "4号枪"})
	inst.waitFor("completed", `all('[data-app-status]').some((e) => txt(e) === '已完成')`)

	// 4. The certificate (issued through verification.completed) shows the
	// standards and the nozzles; its QR opens the authenticity page.
	var certs struct {
		Items []struct {
			ID            int64  `json:"id"`
			CertificateNo string `json:"certificate_no"`
			SerialNo      string `json:"serial_no"`
			VerifyURL     string `json:"verify_url"`
		} `json:"items"`
	}
	var certID int64
	var verifyURL string
	for i := 0; certID == 0; i++ {
		if i == 100 {
			t.Fatal("the dispenser's certificate was never issued")
		}
		s.api(t, "GET", "/certs/v1/certificates?q=燃油加油机", admin, nil, &certs)
		for _, c := range certs.Items {
			if c.SerialNo == "JYJ-001" {
				certID, verifyURL = c.ID, c.VerifyURL
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	inst.goTo("/metrology/certificates")
	inst.waitFor("the certificate listed", `all('[data-pdf]').length === 2`)
	pdf := s.raw(t, fmt.Sprintf("/certs/v1/certificates/%d/pdf", certID), admin)
	dir := t.TempDir()
	path := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.ReplaceAll(string(out), " ", "")
	for _, want := range []string{"检定证书", "燃油加油机检定装置", "[2024]冀量标石证字第001号", "JL2025-0101", "按枪检定结果（共4枪）",
		"1号枪", "2号枪", "3号枪", "4号枪", "长安区恒达加油站有限公司", "(冀)法计(2024)01001号"} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate lacks %q", want)
		}
	}
	if _, err := exec.Command("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", path, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	qr, err := exec.Command("zbarimg", "--quiet", "--raw", pngs[0]).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	decoded := strings.TrimSpace(string(qr))
	if decoded != verifyURL {
		t.Fatalf("QR %q, want %q", decoded, verifyURL)
	}
	u, _ := url.Parse(decoded)
	pub := openPage(t, browser, s.url, "public")
	pub.run("open the QR's page", chromedp.Navigate(s.url+u.Path))
	pub.waitFor("genuine", `all('[data-verdict=genuine]').some((e) => txt(e) === '该证书真实有效') && txt(document.body).includes('JYJ-001')`)
}

// raw GETs path with a bearer token and returns the body.
func (s *stack) raw(t *testing.T, path, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// inp is the input or textarea of an Element Plus field marked with sel
// (the attribute lands on the native element or on its wrapper).
func inp(sel string) string {
	return fmt.Sprintf("(() => { const e = all(%s)[0]; return e && (e.matches('input, textarea') ? e : e.querySelector('input, textarea')); })()", jsString(sel))
}
