package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// dataDirs keeps one identity data directory per database, so a platform
// restarted on the same database finds the first start's credentials.
var dataDirs sync.Map

func dataDirFor(db string) string {
	d, _ := dataDirs.LoadOrStore(db, filepath.Join(os.TempDir(), "smartreg-e2e-identity-"+db))
	return d.(string)
}

// tokens caches the admin token per platform address and database: the
// first login must change the generated password, so it happens once.
var tokens sync.Map

// adminToken logs in as the generated first administrator the way a person
// does on a new installation: the password from the owner-only file, the
// forced change, then the token the change answers with.
func adminToken(t *testing.T, base, dataDir string) string {
	t.Helper()
	if tok, ok := tokens.Load(dataDir); ok {
		return tok.(string)
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "initial-passwords.txt"))
	if err != nil {
		t.Fatalf("initial credentials: %v", err)
	}
	var password string
	for _, line := range strings.Split(string(b), "\n") {
		if user, pw, ok := strings.Cut(line, "\t"); ok && user == "admin" {
			password = pw
		}
	}
	if password == "" {
		t.Fatalf("no admin line in %s", b)
	}
	var login struct {
		AccessToken        string `json:"access_token"`
		MustChangePassword bool   `json:"must_change_password"`
	}
	post(t, base+"/identity/v1/login", "", map[string]string{"username": "admin", "password": password}, &login)
	tok := login.AccessToken
	if login.MustChangePassword {
		var changed struct {
			AccessToken string `json:"access_token"`
		}
		post(t, base+"/identity/v1/password/change", tok,
			map[string]string{"old_password": password, "new_password": "E2e-Test-Passw0rd!"}, &changed)
		tok = changed.AccessToken
	}
	if tok == "" {
		t.Fatal("no access token after login")
	}
	tokens.Store(dataDir, tok)
	return tok
}

func post(t *testing.T, url, token string, body, out any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e bytes.Buffer
		_, _ = e.ReadFrom(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, e.String())
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}
