package browser

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestDatahubInterfaceFlow (FP-93, FP-95): the administrator generates a
// data interface from the catalogue's 市场主体基本信息 with the step guide,
// reads the access key from the dialog that shows it once, calls the
// endpoint with it from a plain HTTP client, and finds the call in the
// access log page.
func TestDatahubInterfaceFlow(t *testing.T) {
	s := startStack(t)
	p := adminPage(t, s)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("login after the password change: %d", st)
	}
	seedEntities(t, s, login.AccessToken)
	if menus := p.menuCodes(); !contains(menus, "datahub.catalogue") || !contains(menus, "datahub.interfaces") || !contains(menus, "datahub.access-log") {
		t.Fatalf("admin menu lacks the datahub pages: %v", menus)
	}

	// The catalogue: the entities dataset and its fields.
	p.goTo("/datahub/catalogue")
	p.waitFor("the catalogue", `all('[data-test=dh-datasets] .el-table__body td').some((td) => txt(td) === '市场主体基本信息')`)
	// A DOM click: the table's loading mask may still cover the row when it
	// first renders, and a mouse click would land on the mask.
	p.jsClick("fields of entities", `all('[data-detail=entities]')[0]`)
	p.waitFor("the field list", `all('[data-test=dh-fields] .el-table__body td').some((td) => txt(td) === 'credit_code')`)

	// The step guide.
	p.goTo("/datahub/interfaces")
	p.click("new interface", `all('[data-test=dh-new]')[0]`)
	p.typeInto("name", `all('input[data-test=dh-name]')[0]`, "浏览器测试主体接口")
	p.pick("数据集", "市场主体基本信息（基础信息）")
	p.click("next", `all('[data-test=dh-next]')[0]`)
	p.click("field credit_code", `all('[data-field=credit_code]')[0]`)
	p.click("field name", `all('[data-field=name]')[0]`)
	p.waitFor("two fields chosen", `all('[data-field].is-checked').length === 2`)
	p.click("next", `all('[data-test=dh-next]')[0]`)
	p.click("generate", `all('[data-test=dh-submit]')[0]`)
	p.waitFor("the key dialog", `all('[data-test=dh-key]').some((e) => txt(e).startsWith('dh_'))`)
	key := p.text(`txt(all('[data-test=dh-key]')[0])`)
	endpoint := p.text(`txt(all('[data-test=dh-endpoint]')[0])`)
	if warn := p.text(`txt(dialog('访问密钥'))`); !strings.Contains(warn, "将不再显示") || !strings.Contains(p.text(`txt(all('[data-test=dh-curl]')[0])`), "X-API-Key: "+key) {
		t.Fatalf("key dialog lacks the warning or the curl example: %s", warn)
	}
	p.click("close the key dialog", `all('[data-test=dh-key-close]')[0]`)
	p.waitFor("the key is gone", `!all('[data-test=dh-key]').length && all('[data-test=dh-interfaces] .el-table__body td').some((td) => txt(td) === '浏览器测试主体接口')`)

	// A consumer calls the interface with the key.
	req, err := http.NewRequest("GET", endpoint+"?limit=5", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	err = json.NewDecoder(resp.Body).Decode(&rows)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("call %s: %d %v", endpoint, resp.StatusCode, err)
	}
	for _, r := range rows {
		if _, extra := r["legal_rep"]; extra || len(r) > 2 {
			t.Fatalf("row carries fields beyond the chosen two: %v", r)
		}
	}

	// The call is in the access log.
	p.goTo("/datahub/access-log")
	p.waitFor("the call in the log", `all('[data-test=dh-log] .el-table__body tr').some((tr) => txt(tr).includes(`+jsString(key[:11])+`) && txt(tr).includes('limit=5') && txt(tr).includes('200'))`)
}
