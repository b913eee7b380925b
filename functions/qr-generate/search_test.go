package qrgenerate

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

// TestSearchMatchesWildcardsLiterally: % and _ typed into the code search
// and the operation log's operator search are text, not LIKE wildcards
// (issue 10). Unescaped, "100%" would also find "1000家居用品店", "A_" also
// "AXB文具店", and "wang%" every operator starting with "wang".
func TestSearchMatchesWildcardsLiterally(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pct := entity(t, "enterprise", "130102")
	pct.Name = "百分百100%便利店"
	plain := entity(t, "enterprise", "130102")
	plain.Name = "1000家居用品店"
	under := entity(t, "enterprise", "130102")
	under.Name = "A_B文具店"
	other := entity(t, "enterprise", "130102")
	other.Name = "AXB文具店"
	pc, uc := e.register(pct), e.register(under)
	e.register(plain)
	e.register(other)
	want := map[string]Code{"100%": pc, "%": pc, "A_B": uc, "A_": uc, "_": uc}
	p := admin()
	for q, c := range want {
		rec := e.do(&p, "GET", "/qr/v1/codes?q="+url.QueryEscape(q), nil)
		page := decode[CodePage](t, rec)
		if rec.Code != http.StatusOK || page.Total != 1 || page.Items[0].Token != c.Token {
			var names []string
			for _, x := range page.Items {
				names = append(names, x.EntityName)
			}
			t.Errorf("search %q: %d, found %v, want only %s", q, rec.Code, names, c.EntityName)
		}
	}
	if page := decode[CodePage](t, e.do(&p, "GET", "/qr/v1/codes?q="+url.QueryEscape("100_"), nil)); page.Total != 0 {
		t.Errorf("search \"100_\" found %d codes, want none (no name holds it)", page.Total)
	}

	// Two operators invalidate a code each; searching the log for the
	// literal "wang%" finds only the first.
	a := e.register(entity(t, "enterprise", "130102"))
	b := e.register(entity(t, "enterprise", "130102"))
	pctOp := auth.Principal{UserID: "u-pct", Username: "wang%", Name: "王某", Perms: allPerms, Scope: auth.All()}
	wangwu := auth.Principal{UserID: "u-ww", Username: "wangwu", Name: "王五", Perms: allPerms, Scope: auth.All()}
	for c, who := range map[string]*auth.Principal{a.Token: &pctOp, b.Token: &wangwu} {
		if rec := e.do(who, "POST", "/qr/v1/codes/"+c+"/invalidate", map[string]string{"reason": "测试"}); rec.Code != http.StatusOK {
			t.Fatalf("invalidate as %s: %d %s", who.Username, rec.Code, rec.Body)
		}
	}
	for op, wantToken := range map[string]string{"wang%": a.Token, "wangw": b.Token} {
		rec := e.do(&p, "GET", "/qr/v1/oplog?operator="+url.QueryEscape(op), nil)
		page := decode[OpLogPage](t, rec)
		if rec.Code != http.StatusOK || page.Total != 1 || page.Items[0].Token != wantToken {
			t.Errorf("oplog operator %q: %d, %d rows, want the one row of %s", op, rec.Code, page.Total, wantToken)
		}
	}
	if page := decode[OpLogPage](t, e.do(&p, "GET", "/qr/v1/oplog?operator="+url.QueryEscape("wang_"), nil)); page.Total != 0 {
		t.Errorf("oplog operator \"wang_\" found %d rows, want none", page.Total)
	}
}
