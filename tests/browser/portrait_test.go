package browser

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/codes"
)

// TestPortraitButton (FP-125): 一户一档's 企业画像报告 button downloads the
// entity's portrait; its text (pdftotext) holds the name with 𠮷, the
// controller and a record.
func TestPortraitButton(t *testing.T) { // FP-125
	s := startStack(t)
	pw := s.initialPasswords(t)
	browser := newBrowser(t)
	admin := openPage(t, browser, s.url, "admin")
	admin.login("admin", pw["admin"], adminPW)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("API login: %d", st)
	}
	code, err := codes.MakeCreditCode("91", "130102", "MA0PXRTR")
	if err != nil {
		t.Fatal(err)
	}
	const name = "石家庄𠮷祥画像实业有限公司"
	if st := s.api(t, "POST", "/registry/v1/entities", login.AccessToken, map[string]any{"credit_code": code, "name": name,
		"entity_type": "enterprise", "legal_rep": "赵六", "established_on": "2022-03-01", "address": "石家庄市长安区中山东路 18 号",
		"district_code": "130102", "industry_code": "5164", "business_scope": "建材销售"}, nil); st != 201 {
		t.Fatalf("register entity: %d", st)
	}
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO graph.parties (id, kind, name, district_code) VALUES ('` + code + `', 'entity', '` + name + `', '130102'),
			('PX', 'person', '周建国', '')`,
		`INSERT INTO graph.holdings (holder_id, held_id, pct) VALUES ('PX', '` + code + `', 80)`,
		`INSERT INTO registry.records (credit_code, kind, title, authority, occurred_on, status) VALUES
			('` + code + `', 'inspection', '日常监督检查', '长安区市场监督管理局', '2025-09-02', '合格')`,
	} {
		if _, err := s.p.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	admin.goTo("/market/profile/" + code)
	admin.waitFor("the portrait button", `all('[data-test=portrait-pdf]').length`)
	file := admin.download("the portrait", `all('[data-test=portrait-pdf]')[0]`)
	out, err := exec.Command("pdftotext", "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	txt := strings.NewReplacer(" ", "", "\u00a0", "").Replace(string(out))
	for _, want := range []string{name, "实际控制人：周建国（80%）", "日常监督检查", "国家企业数据"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the downloaded portrait lacks %q:\n%s", want, txt)
		}
	}
}
