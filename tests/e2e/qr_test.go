package e2e

import (
	"bytes"
	"encoding/json"
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

	"github.com/sjzamr/smartreg/infra/local/platform"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/shared/testwait"
	"github.com/sjzamr/smartreg/tests/inspector"
)

// The first "Done when" item, end to end through the running
// platform: registry API → entity.registered → qr-generate (local broker)
// → code; records through the registry API; the public page through
// scan-resolve, its cache dropped by events; downloads decoded back to the
// URL; invalidation, re-activation, review and an inspector's record.
func TestCodeLifecycleThroughThePlatform(t *testing.T) {
	db := storetest.NewDatabase(t)
	r := start(t, db, newSubscriber(), platform.Options{})
	admin := r.token(t)
	base := publicBaseURL(t)

	credit := createEntity(t, r.url, admin, 31)
	name := "石家庄市测试商贸第31有限公司"
	code := waitForCode(t, r.url, admin, credit, "active")
	if code.URL != base+"/q/"+code.Token {
		t.Fatalf("code URL = %q, want %s/q/%s", code.URL, base, code.Token)
	}

	// Scanned before any record exists: the page is now cached, so the
	// records below can only appear through entity.updated invalidating it.
	status, page := get(t, r.url+"/q/"+code.Token, "")
	if status != 200 || !strings.Contains(page, name) || !strings.Contains(page, credit) || !strings.Contains(page, "暂无记录") {
		t.Fatalf("first scan: %d\n%s", status, page)
	}
	no := false
	for _, rec := range []map[string]any{
		{"kind": "licence", "ref_no": "JY11301020012345", "title": "食品经营许可证", "authority": "石家庄市长安区行政审批局",
			"occurred_on": "2023-05-06", "valid_until": "2028-05-05", "status": "有效"},
		{"kind": "penalty", "ref_no": "石长市监罚〔2024〕12号", "title": "销售过期食品", "authority": "石家庄市长安区市场监督管理局",
			"occurred_on": "2024-03-18", "details": map[string]any{"amount": 5000}},
		{"kind": "annual_report", "title": "2024年度报告", "authority": "石家庄市长安区市场监督管理局", "occurred_on": "2025-06-01",
			"details": map[string]any{"year": 2024, "items": []map[string]any{
				{"name": "从业人数", "value": "23", "public": true},
				{"name": "资产总额", "value": "8765432元", "public": false},
			}}},
		{"kind": "complaint", "title": "内部核查线索不予公示", "authority": "石家庄市长安区市场监督管理局", "occurred_on": "2024-07-01", "public": &no},
	} {
		post(t, r.url+"/registry/v1/entities/"+credit+"/records", admin, rec, nil)
	}
	testwait.For(t, "records on the public page", func() bool {
		_, page = get(t, r.url+"/q/"+code.Token, "")
		return strings.Contains(page, "2024年度报告")
	})
	for _, want := range []string{name, "食品经营许可证", "JY11301020012345", "销售过期食品", "从业人数：23"} {
		if !strings.Contains(page, want) {
			t.Errorf("public page lacks %q", want)
		}
	}
	for _, hidden := range []string{"资产总额", "8765432", "内部核查线索不予公示"} {
		if strings.Contains(page, hidden) {
			t.Errorf("public page shows the non-public %q", hidden)
		}
	}

	// Downloads decode back to the code's URL; the poster names the entity.
	dir := t.TempDir()
	png := download(t, r.url+"/qr/v1/codes/"+code.Token+".png?size=400", admin, filepath.Join(dir, "code.png"))
	if got := zbar(t, png); got != code.URL {
		t.Errorf("PNG decodes to %q, want %q", got, code.URL)
	}
	svg := download(t, r.url+"/qr/v1/codes/"+code.Token+".svg", admin, filepath.Join(dir, "code.svg"))
	svgPNG := filepath.Join(dir, "svg.png")
	if out, err := exec.Command("rsvg-convert", "-w", "400", "-b", "white", "-o", svgPNG, svg).CombinedOutput(); err != nil {
		t.Fatalf("rsvg-convert: %v\n%s", err, out)
	}
	if got := zbar(t, svgPNG); got != code.URL {
		t.Errorf("SVG decodes to %q, want %q", got, code.URL)
	}
	pdf := download(t, r.url+"/qr/v1/codes/"+code.Token+"/poster.pdf?paper=A4", admin, filepath.Join(dir, "poster.pdf"))
	text, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	if !strings.Contains(strings.ReplaceAll(string(text), " ", ""), name) {
		t.Errorf("A4 poster text lacks %q:\n%s", name, text)
	}

	// Invalidation hides the entity (qr.invalidated drops the cached page).
	post(t, r.url+"/qr/v1/codes/"+code.Token+"/invalidate", admin, map[string]string{"reason": "经营者申请停用"}, nil)
	testwait.For(t, "invalidated page", func() bool {
		status, page = get(t, r.url+"/q/"+code.Token, "")
		return status == http.StatusGone
	})
	if !strings.Contains(page, "该码已失效") || strings.Contains(page, name) || strings.Contains(page, credit) || strings.Contains(page, "销售过期食品") {
		t.Fatalf("invalid code's page:\n%s", page)
	}
	post(t, r.url+"/qr/v1/codes/"+code.Token+"/reactivate", admin, map[string]string{"reason": "恢复使用"}, nil)
	testwait.For(t, "re-activated page", func() bool {
		status, page = get(t, r.url+"/q/"+code.Token, "")
		return status == 200 && strings.Contains(page, name)
	})

	// A forged token (one character changed breaks its MAC) is not found.
	forged := []byte(code.Token)
	forged[3] = map[bool]byte{true: 'B', false: 'A'}[forged[3] == 'A']
	if status, _ := get(t, r.url+"/q/"+string(forged), ""); status != http.StatusNotFound {
		t.Errorf("forged token answered %d, want 404", status)
	}

	// 事业单位: pending until a reviewer approves it.
	inst := createInstitution(t, r.url, admin, 32)
	pending := waitForCode(t, r.url, admin, inst, "pending")
	status, page = get(t, r.url+"/q/"+pending.Token, "")
	if !strings.Contains(page, "该码尚未生效") || strings.Contains(page, "石家庄市第32测试中心") {
		t.Fatalf("pending code's page: %d\n%s", status, page)
	}
	post(t, r.url+"/qr/v1/codes/"+pending.Token+"/approve", admin, map[string]string{}, nil)
	testwait.For(t, "approved code's page", func() bool {
		status, page = get(t, r.url+"/q/"+pending.Token, "")
		return status == 200 && strings.Contains(page, "石家庄市第32测试中心")
	})

	// An inspector created through identity's API records an inspection on
	// the spot; it reaches the public page through scan.inspection.recorded
	// → registry → entity.updated → cache invalidation.
	inspectorToken := createInspector(t, r.url, admin)
	if _, page := get(t, r.url+"/q/"+code.Token, inspectorToken); !strings.Contains(page, "现场检查记录") {
		t.Fatalf("the inspector gets no form:\n%s", page)
	}
	// The app posts the H5 form's fields with a photo; the photo is linked
	// from the record on the public page and listed for the console.
	photo := inspector.PNG(t)
	var rec struct {
		ID         string   `json:"id"`
		CreditCode string   `json:"credit_code"`
		PhotoURLs  []string `json:"photo_urls"`
	}
	inspector.Record(t, r.url, inspectorToken, map[string]string{
		"token": code.Token, "kind": "inspection", "title": "食品安全日常监督检查", "authority": "石家庄市长安区市场监督管理局",
		"inspected_on": time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly),
		"item_name_0":  "证照公示", "item_result_0": "合格",
		"item_name_1": "计量器具检定", "item_result_1": "合理缺项", "item_reason_1": "店内不使用计量器具",
		"conclusion": "合格",
	}, photo, &rec)
	if rec.ID == "" || rec.CreditCode != credit || len(rec.PhotoURLs) != 1 {
		t.Fatalf("inspection answer = %+v", rec)
	}
	testwait.For(t, "inspection on the public page", func() bool {
		_, page = get(t, r.url+"/q/"+code.Token, "")
		return strings.Contains(page, "食品安全日常监督检查")
	})
	link := "/q/" + code.Token + "/photos/" + rec.ID + "/1"
	if !strings.Contains(page, `href="`+link+`"`) {
		t.Errorf("the public page has no link to the inspection's photo")
	}
	if status, body := get(t, r.url+link, ""); status != 200 || body != string(photo) {
		t.Errorf("public photo: %d, %d bytes (want %d)", status, len(body), len(photo))
	}
	var listed struct {
		Total int `json:"total"`
	}
	getJSON(t, r.url+"/scan/v1/inspections?credit_code="+credit, admin, &listed)
	if listed.Total != 1 {
		t.Errorf("the console lists %d inspections, want 1", listed.Total)
	}
	if status, body := get(t, r.url+rec.PhotoURLs[0], admin); status != 200 || body != string(photo) {
		t.Errorf("console photo: %d, %d bytes", status, len(body))
	}
	if !strings.Contains(page, "店内不使用计量器具") {
		t.Errorf("the 合理缺项 reason is missing from the public page")
	}
}

// qrCode is the part of qr-generate's code the test reads.
type qrCode struct {
	Token, URL, Status string
}

// waitForCode polls qr-generate's list until the entity has a code with
// the given status: the code comes through the event path, not the call.
func waitForCode(t *testing.T, base, token, credit, status string) qrCode {
	t.Helper()
	var found qrCode
	testwait.For(t, "a "+status+" code for "+credit, func() bool {
		var page struct {
			Items []struct {
				Token  string `json:"token"`
				URL    string `json:"url"`
				Status string `json:"status"`
			} `json:"items"`
		}
		code, body := get(t, base+"/qr/v1/codes?q="+url.QueryEscape(credit), token)
		if code != 200 {
			t.Fatalf("list codes: %d %s", code, body)
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Items) == 1 && page.Items[0].Status == status {
			found = qrCode{page.Items[0].Token, page.Items[0].URL, status}
			return true
		}
		return false
	})
	return found
}

func createInstitution(t *testing.T, base, token string, n int) string {
	t.Helper()
	code, err := codes.MakeCreditCode("12", "130102", fmt.Sprintf("PY%06d", n))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		CreditCode string `json:"credit_code"`
	}
	post(t, base+"/registry/v1/entities", token, map[string]any{"credit_code": code, "name": fmt.Sprintf("石家庄市第%d测试中心", n),
		"entity_type": "institution", "legal_rep": "王五", "established_on": "2001-09-01", "registered_capital": "50",
		"address": "石家庄市长安区建设北大街2号", "district_code": "130102", "industry_code": "9221"}, &out)
	if out.CreditCode != code {
		t.Fatalf("created %q, want %q", out.CreditCode, code)
	}
	return code
}

// createInspector creates a user with the built-in inspector role in the
// city bureau as the administrator, then logs in as that user (first
// login changes the generated password) and returns the access token.
func createInspector(t *testing.T, base, admin string) string {
	t.Helper()
	var roles []struct{ ID, Code string }
	getJSON(t, base+"/identity/v1/roles", admin, &roles)
	var depts []struct{ ID, Level string }
	getJSON(t, base+"/identity/v1/departments", admin, &depts)
	var roleID, deptID string
	for _, r := range roles {
		if r.Code == "inspector" {
			roleID = r.ID
		}
	}
	for _, d := range depts {
		if d.Level == "city" {
			deptID = d.ID
		}
	}
	if roleID == "" || deptID == "" {
		t.Fatalf("inspector role %q, city bureau %q", roleID, deptID)
	}
	var created struct {
		InitialPassword string `json:"initial_password"`
	}
	post(t, base+"/identity/v1/users", admin, map[string]any{"username": "e2e_inspector", "name": "检查员甲",
		"phone": "13912345678", "dept_id": deptID, "role_ids": []string{roleID}}, &created)
	var login struct {
		AccessToken        string `json:"access_token"`
		MustChangePassword bool   `json:"must_change_password"`
	}
	post(t, base+"/identity/v1/login", "", map[string]string{"username": "e2e_inspector", "password": created.InitialPassword}, &login)
	if !login.MustChangePassword {
		return login.AccessToken
	}
	var changed struct {
		AccessToken string `json:"access_token"`
	}
	post(t, base+"/identity/v1/password/change", login.AccessToken,
		map[string]string{"old_password": created.InitialPassword, "new_password": "Inspector-Passw0rd!"}, &changed)
	if changed.AccessToken == "" {
		t.Fatal("no inspector token after the password change")
	}
	return changed.AccessToken
}

// get answers status and body; token, when set, is sent as Bearer.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func getJSON(t *testing.T, url, token string, out any) {
	t.Helper()
	status, body := get(t, url, token)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// download writes the answer of url to path.
func download(t *testing.T, url, token, path string) string {
	t.Helper()
	status, body := get(t, url, token)
	if status != 200 || len(body) == 0 {
		t.Fatalf("GET %s: %d %.200s", url, status, body)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func zbar(t *testing.T, png string) string {
	t.Helper()
	out, err := exec.Command("zbarimg", "--raw", "-q", png).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v", png, err)
	}
	return string(bytes.TrimSpace(out))
}

// publicBaseURL is the platform's default PUBLIC_BASE_URL, which start
// leaves unset.
func publicBaseURL(t *testing.T) string {
	var cfg platform.Config
	if err := config.Load(&cfg, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	return cfg.Public.URL()
}
