// Package legalperson simulates the city's legal-person base (法人库) and
// its register of persons in market business (涉市场经营人员库), in the
// style of the provincial government data-sharing gateway: an OAuth2
// client-credentials token (2 h, 401 when stale), then
// GET /api/v2/persons?sinceVersion=N&pageSize=M answering
// {"code":200,"msg":"成功","data":{"total","hasMore","list":[…]}}, each
// person carrying the version of its last change.
package legalperson

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"

	"github.com/sjzamr/smartreg/tests/sim/connect/simkit"
)

// Sim is the simulator.
type Sim struct {
	ID, Secret string
	Data       *simkit.Dataset
	Faults     simkit.Faults

	mu     sync.Mutex
	tokens map[string]bool
}

// New is an empty legal-person base accepting the client id and secret.
func New(id, secret string) *Sim {
	return &Sim{ID: id, Secret: secret, Data: simkit.NewDataset(), tokens: map[string]bool{}}
}

// Fields builds a person as the base sends it.
func Fields(personID, name, idNo, role, creditCode, orgName, updated string) map[string]string {
	return map[string]string{"personId": personID, "name": name, "idNo": idNo, "role": role,
		"uniscid": creditCode, "orgName": orgName, "updateTime": updated}
}

// Expire drops every token, as the gateway does at its 2-hour mark.
func (s *Sim) Expire() {
	s.mu.Lock()
	s.tokens = map[string]bool{}
	s.mu.Unlock()
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth/token":
		s.token(w, r)
	case "/api/v2/persons":
		s.persons(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" ||
		r.FormValue("client_id") != s.ID || r.FormValue("client_secret") != s.Secret {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"invalid_client","error_description":"客户端认证失败"}`))
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	simkit.WriteJSON(w, simkit.Fault{}, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": 7200}, false)
}

func (s *Sim) persons(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("Authorization")
	s.mu.Lock()
	ok := len(tok) > 7 && s.tokens[tok[7:]]
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"code":401,"msg":"令牌无效或已过期"}`))
		return
	}
	ft := s.Faults.Take()
	if simkit.WriteFault(w, ft, `{"code":500,"msg":"系统繁忙，请稍后重试"}`) {
		return
	}
	since := simkit.Int(r, "sinceVersion", 0)
	size := simkit.Int(r, "pageSize", 100)
	if size < 1 || size > 500 {
		simkit.WriteJSON(w, ft, map[string]any{"code": 400, "msg": "pageSize 取值 1-500"}, false)
		return
	}
	if ft.Repeat {
		since = 0
	}
	rows, more := s.Data.After(since, int(size))
	list := make([]map[string]string, 0, len(rows))
	for _, row := range rows {
		m := map[string]string{"version": strconv.FormatInt(row.Seq, 10)}
		for k, v := range row.Fields {
			m[k] = v
		}
		list = append(list, m)
	}
	simkit.WriteJSON(w, ft, map[string]any{"code": 200, "msg": "成功",
		"data": map[string]any{"total": s.Data.Len(), "hasMore": more, "list": list}}, false)
}
