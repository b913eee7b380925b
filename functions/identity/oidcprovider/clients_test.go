package oidcprovider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// guarded is the provider as identity mounts it: behind the access-token
// middleware, so the admin API sees its callers.
func (e *env) guarded() http.Handler { return e.p.Handler(e.verifier.Middleware) }

func (e *env) call(h http.Handler, method, path, token, body string) (int, map[string]any) {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestClientAdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	h := e.guarded()
	ctx := context.Background()
	admin, _, err := e.issuer.Issue(auth.Principal{UserID: "u-admin", Username: "sysadmin",
		Perms: []string{"identity.client:view", "identity.client:create", "identity.client:edit"}})
	if err != nil {
		t.Fatal(err)
	}
	viewer, _, _ := e.issuer.Issue(auth.Principal{UserID: "u-view", Username: "viewer", Perms: []string{"identity.client:view"}})

	if code, _ := e.call(h, "GET", "/identity/v1/oidc/clients", "", ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous list: %d, want 401", code)
	}
	newClient := `{"id":"market-portal","name":"企业服务门户","redirect_uris":["https://portal.example/cb","/portal/cb"]}`
	if code, _ := e.call(h, "POST", "/identity/v1/oidc/clients", viewer, newClient); code != http.StatusForbidden {
		t.Errorf("create without permission: %d, want 403", code)
	}
	if code, out := e.call(h, "POST", "/identity/v1/oidc/clients", admin, `{"id":"bad id","name":"","redirect_uris":["javascript:alert(1)"]}`); code != http.StatusBadRequest ||
		len(out["error"].(map[string]any)["fields"].([]any)) != 3 {
		t.Errorf("invalid client: %d %v, want 400 with three field errors", code, out)
	}
	code, out := e.call(h, "POST", "/identity/v1/oidc/clients", admin, newClient)
	secret, _ := out["client_secret"].(string)
	if code != http.StatusCreated || len(secret) < 40 {
		t.Fatalf("create: %d %v", code, out)
	}
	if err := e.p.store.AuthorizeClientIDSecret(ctx, "market-portal", secret); err != nil {
		t.Errorf("the issued secret does not authenticate: %v", err)
	}
	if code, _ := e.call(h, "POST", "/identity/v1/oidc/clients", admin, newClient); code != http.StatusConflict {
		t.Errorf("duplicate: %d, want 409", code)
	}

	code, out = e.call(h, "GET", "/identity/v1/oidc/clients?page_size=10", viewer, "")
	if code != http.StatusOK || out["total"] != float64(2) {
		t.Fatalf("list: %d %v, want the console seed and the new client", code, out)
	}

	code, out = e.call(h, "POST", "/identity/v1/oidc/clients/market-portal/secret", admin, "")
	rotated, _ := out["client_secret"].(string)
	if code != http.StatusOK || rotated == "" || rotated == secret {
		t.Fatalf("rotate: %d %v", code, out)
	}
	if e.p.store.AuthorizeClientIDSecret(ctx, "market-portal", secret) == nil || e.p.store.AuthorizeClientIDSecret(ctx, "market-portal", rotated) != nil {
		t.Error("after rotation the old secret must fail and the new one work")
	}
	if code, _ := e.call(h, "POST", "/identity/v1/oidc/clients/smartreg-console/secret", admin, ""); code != http.StatusNotFound {
		t.Errorf("rotate a public client: %d, want 404", code)
	}

	if code, _ := e.call(h, "POST", "/identity/v1/oidc/clients/market-portal/disable", admin, ""); code != http.StatusOK {
		t.Fatalf("disable: %d", code)
	}
	if _, err := e.p.store.GetClientByClientID(ctx, "market-portal"); err == nil {
		t.Error("a disabled client is still served")
	}
	if code, _ := e.call(h, "POST", "/identity/v1/oidc/clients/market-portal/enable", admin, ""); code != http.StatusOK {
		t.Fatalf("enable: %d", code)
	}
	c, err := e.p.store.client(ctx, "market-portal")
	if err != nil || !strings.HasPrefix(c.RedirectURIs()[1], e.srv.URL+"/portal/cb") {
		t.Errorf("enabled client: %v %v", c, err)
	}
	if code, _ := e.call(h, "POST", "/identity/v1/oidc/clients/nobody/disable", admin, ""); code != http.StatusNotFound {
		t.Errorf("disable unknown: %d, want 404", code)
	}

	var ops int
	if err := e.p.pool.QueryRow(ctx, `SELECT count(*) FROM recorded.op_log WHERE object_type = 'oidc_client' AND object_id = 'market-portal'
		AND username = 'sysadmin' AND action IN ('oidc_client.create','oidc_client.rotate_secret','oidc_client.disable','oidc_client.enable')`).Scan(&ops); err != nil || ops != 4 {
		t.Errorf("operation log rows = %d (%v), want 4", ops, err)
	}
	var leaked int
	_ = e.p.pool.QueryRow(ctx, `SELECT count(*) FROM recorded.op_log WHERE coalesce(after::text, '') LIKE '%' || $1 || '%'`, rotated).Scan(&leaked)
	if leaked != 0 {
		t.Error("a client secret reached the operation log")
	}
}

// TestClientSearchIsLiteral (issue 10, LIKE patterns): % and _ in the
// search text match themselves, not any text.
func TestClientSearchIsLiteral(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{})
	for _, c := range []ClientInput{{ID: "app_one", Name: "一号应用", RedirectURIs: []string{"https://one.example/cb"}},
		{ID: "apptwo", Name: "二号应用 100%", RedirectURIs: []string{"https://two.example/cb"}}} {
		if _, err := e.p.RegisterClient(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{"app_": 1, "%": 1, "app": 2, "_": 1} {
		items, total, err := e.p.listClients(context.Background(), httpx.Page{Page: 1, Size: 20}, q)
		if err != nil {
			t.Fatal(err)
		}
		if total != want || len(items) != want {
			t.Errorf("q=%q: %d clients (%v), want %d", q, total, items, want)
		}
	}
}
