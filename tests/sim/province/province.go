// Package province simulates the Hebei provincial metrology platform's
// data-exchange API (河北省计量监督管理平台数据交换接口), the other end of
// provincial-sync (FP-165, FP-166), as faithfully as its documented
// behaviour allows, with the faults a real one shows:
//
//   - POST /api/v1/auth/token {app_key, app_secret}: a bearer token valid
//     for TokenTTL; an expired or unknown token answers 401 code 40101;
//   - GET /api/v1/{enterprises|instruments|verifications}?updated_since=
//     RFC 3339&page_size=N&page_token=T: the records changed at or after
//     updated_since, ordered by (gxsj, id), N per page (at most 1000); the
//     page token is an opaque keyset position, so paging is stable while
//     records change and a client can resume from any token it was given;
//   - POST /api/v1/{resource}/batch {items}: local records pushed up; each
//     item must carry the resource's required fields, or it is rejected
//     with the field named (the others are accepted);
//   - POST /api/v1/certificates: a certificate's metadata and PDF (base64),
//     checked against its SHA-256; idempotent on (zsbh, bbh);
//   - faults: a rate limit (429 with Retry-After), every n-th data request
//     failing with 503, every n-th one slow, and schema drift (an added
//     field, a renamed field) on the records served.
//
// Every answer is {"code": "0" | error code, "msg": Chinese text, "data": …}.
// Standard library only.
package province

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resources served.
const (
	Enterprises   = "enterprises"
	Instruments   = "instruments"
	Verifications = "verifications"
)

// Record is one record in the province's field names; "id" is its source
// id and "gxsj" (更新时间) its last change, RFC 3339.
type Record map[string]any

// Required are the fields a pushed record must carry, per resource.
var Required = map[string][]string{
	Enterprises:   {"tyshxydm", "qymc", "xzqhdm", "sjly", "tbsj"},
	Instruments:   {"bdid", "tyshxydm", "qjmc", "ccbh", "qjzl", "syzt", "xzqhdm", "sjly", "tbsj"},
	Verifications: {"bdid", "zsbh", "qjid", "jdjg", "jdjl", "jdrq", "xzqhdm", "sjly", "tbsj"},
}

// Drift changes the shape of the records served for a resource.
type Drift struct {
	Added       string // a field every record gains (value "新增字段值")
	RenamedFrom string // a field served under another name…
	RenamedTo   string
}

// Certificate is an uploaded certificate.
type Certificate struct {
	ID            string
	CertificateNo string
	Version       int
	Kind          string
	CreditCode    string
	SHA256        string
	VerifyURL     string
	Size          int
}

// Simulator is the platform, in memory.
type Simulator struct {
	AppKey, AppSecret string
	TokenTTL          time.Duration
	// RateLimit is the requests per second allowed (0: no limit).
	RateLimit int
	// FailEvery makes every n-th data request answer 503 (0: never).
	FailEvery int
	// SlowEvery makes every n-th data request wait SlowDelay (0: never).
	SlowEvery int
	SlowDelay time.Duration
	// Now is the simulator's clock (time.Now when nil).
	Now func() time.Time

	mu       sync.Mutex
	index    map[string][]position // keyset order, rebuilt after a Put
	tokens   map[string]time.Time
	data     map[string]map[string]Record
	drift    map[string]Drift
	pushed   map[string]map[string]Record
	certs    map[string]Certificate
	second   int64
	inSecond int
	requests int
	pages    int
	refused  map[int]int // status → count
}

// New returns an empty simulator accepting key and secret.
func New(key, secret string) *Simulator {
	return &Simulator{AppKey: key, AppSecret: secret, TokenTTL: time.Hour, tokens: map[string]time.Time{},
		data:   map[string]map[string]Record{Enterprises: {}, Instruments: {}, Verifications: {}},
		drift:  map[string]Drift{},
		pushed: map[string]map[string]Record{Enterprises: {}, Instruments: {}, Verifications: {}},
		certs:  map[string]Certificate{}, refused: map[int]int{}}
}

func (s *Simulator) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Put stores records of resource; a record without "gxsj" gets the
// simulator's now.
func (s *Simulator) Put(resource string, recs ...Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		c := Record{}
		for k, v := range r {
			c[k] = v
		}
		if _, ok := c["gxsj"]; !ok {
			c["gxsj"] = s.now().UTC().Format(time.RFC3339Nano)
		}
		s.data[resource][fmt.Sprint(c["id"])] = c
	}
	delete(s.index, resource)
}

// keyTime formats positions so that they sort as the times do.
const keyTime = "2006-01-02T15:04:05.000000000Z"

// sorted is a resource's keyset index, built when a Put changed it; the
// caller holds s.mu.
func (s *Simulator) sorted(resource string) []position {
	if keys, ok := s.index[resource]; ok {
		return keys
	}
	keys := make([]position, 0, len(s.data[resource]))
	for id, rec := range s.data[resource] {
		t, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["gxsj"]))
		keys = append(keys, position{At: t.UTC().Format(keyTime), ID: id})
	}
	sort.Slice(keys, func(a, b int) bool { return less(keys[a], keys[b]) })
	if s.index == nil {
		s.index = map[string][]position{}
	}
	s.index[resource] = keys
	return keys
}

// Records returns copies of a resource's records, by id.
func (s *Simulator) Records(resource string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, 0, len(s.data[resource]))
	for _, r := range s.data[resource] {
		c := Record{}
		for k, v := range r {
			c[k] = v
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]["id"]) < fmt.Sprint(out[j]["id"]) })
	return out
}

// SetDrift changes how a resource's records are served.
func (s *Simulator) SetDrift(resource string, d Drift) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drift[resource] = d
}

// Pushed returns the records pushed to a resource, by their local id
// ("bdid"; "tyshxydm" for enterprises).
func (s *Simulator) Pushed(resource string) map[string]Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Record{}
	for k, v := range s.pushed[resource] {
		out[k] = v
	}
	return out
}

// Certificates returns the uploaded certificates by "zsbh/bbh".
func (s *Simulator) Certificates() map[string]Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Certificate{}
	for k, v := range s.certs {
		out[k] = v
	}
	return out
}

// Stats reports the data requests served, the pages among them, and the
// refusals by status.
func (s *Simulator) Stats() (requests, pages int, refused map[int]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := map[int]int{}
	for k, v := range s.refused {
		r[k] = v
	}
	return s.requests, s.pages, r
}

type answer struct {
	Code string `json:"code"`
	Msg  string `json:"msg"`
	Data any    `json:"data,omitempty"`
}

func (s *Simulator) reply(w http.ResponseWriter, status int, code, msg string, data any) {
	if status >= 400 {
		s.mu.Lock()
		s.refused[status]++
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(answer{Code: code, Msg: msg, Data: data})
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v1/")
	if path == "auth/token" && r.Method == http.MethodPost {
		s.token(w, r)
		return
	}
	if !s.authorized(r) {
		s.reply(w, http.StatusUnauthorized, "40101", "访问令牌无效或已过期", nil)
		return
	}
	if n, status := s.admit(); status != 0 {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			s.reply(w, status, "42900", "请求过于频繁，请稍后再试", nil)
			return
		}
		s.reply(w, status, "50300", "服务暂不可用", nil)
		return
	} else if s.SlowEvery > 0 && n%s.SlowEvery == 0 {
		select {
		case <-time.After(s.SlowDelay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && isResource(path):
		s.page(w, r, path)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/batch") && isResource(strings.TrimSuffix(path, "/batch")):
		s.batch(w, r, strings.TrimSuffix(path, "/batch"))
	case r.Method == http.MethodPost && path == "certificates":
		s.certificate(w, r)
	default:
		s.reply(w, http.StatusNotFound, "40400", "接口不存在", nil)
	}
}

func isResource(p string) bool { return p == Enterprises || p == Instruments || p == Verifications }

func (s *Simulator) token(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AppKey    string `json:"app_key"`
		AppSecret string `json:"app_secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.AppKey != s.AppKey || in.AppSecret != s.AppSecret {
		s.reply(w, http.StatusUnauthorized, "40100", "应用标识或密钥错误", nil)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = s.now().Add(s.TokenTTL)
	s.mu.Unlock()
	s.reply(w, http.StatusOK, "0", "成功", map[string]any{"access_token": tok, "expires_in": int(s.TokenTTL.Seconds())})
}

// ExpireTokens makes every issued token expire now.
func (s *Simulator) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

func (s *Simulator) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.tokens[tok]
	return ok && known && s.now().Before(exp)
}

// admit counts a data request against the rate limit and the fault
// schedule: it returns the request's number, or the status refusing it.
func (s *Simulator) admit() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.now().Unix()
	if sec != s.second {
		s.second, s.inSecond = sec, 0
	}
	s.inSecond++
	if s.RateLimit > 0 && s.inSecond > s.RateLimit {
		return 0, http.StatusTooManyRequests
	}
	s.requests++
	if s.FailEvery > 0 && s.requests%s.FailEvery == 0 {
		return s.requests, http.StatusServiceUnavailable
	}
	return s.requests, 0
}

// position is a keyset position (gxsj, id), the page token's content.
type position struct {
	At string `json:"t"`
	ID string `json:"i"`
}

func less(a, b position) bool { return a.At < b.At || (a.At == b.At && a.ID < b.ID) }

func (s *Simulator) page(w http.ResponseWriter, r *http.Request, resource string) {
	q := r.URL.Query()
	since := time.Time{}
	if v := q.Get("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.reply(w, http.StatusBadRequest, "40001", "updated_since 格式错误，应为 RFC 3339", nil)
			return
		}
		since = t
	}
	size := 100
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.reply(w, http.StatusBadRequest, "40002", "page_size 应为 1–1000", nil)
			return
		}
		size = n
	}
	var after *position
	if v := q.Get("page_token"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		var p position
		if err != nil || json.Unmarshal(raw, &p) != nil {
			s.reply(w, http.StatusBadRequest, "40003", "page_token 无效", nil)
			return
		}
		after = &p
	}
	s.mu.Lock()
	drift := s.drift[resource]
	keys := s.sorted(resource)
	from := position{At: since.UTC().Format(keyTime)}
	i := sort.Search(len(keys), func(i int) bool { return !less(keys[i], from) })
	if after != nil {
		if j := sort.Search(len(keys), func(i int) bool { return less(*after, keys[i]) }); j > i {
			i = j
		}
	}
	total := len(keys) - i
	out := make([]Record, 0, size)
	next := ""
	for n := i; n < len(keys) && len(out) < size; n++ {
		out = append(out, served(s.data[resource][keys[n].ID], drift))
		if len(out) == size && n+1 < len(keys) {
			raw, _ := json.Marshal(keys[n])
			next = base64.RawURLEncoding.EncodeToString(raw)
		}
	}
	s.pages++
	s.mu.Unlock()
	s.reply(w, http.StatusOK, "0", "成功", map[string]any{"items": out, "next_page_token": next, "total": total})
}

// served is a record as the drifted schema shows it.
func served(r Record, d Drift) Record {
	c := Record{}
	for k, v := range r {
		if d.RenamedFrom != "" && k == d.RenamedFrom {
			k = d.RenamedTo
		}
		c[k] = v
	}
	if d.Added != "" {
		c[d.Added] = "新增字段值"
	}
	return c
}

type rejection struct {
	Index int    `json:"index"`
	Field string `json:"field"`
	Msg   string `json:"msg"`
}

func (s *Simulator) batch(w http.ResponseWriter, r *http.Request, resource string) {
	var in struct {
		Items []Record `json:"items"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20)).Decode(&in); err != nil || len(in.Items) > 1000 {
		s.reply(w, http.StatusBadRequest, "40004", "请求体无效或超过 1000 条", nil)
		return
	}
	var rejected []rejection
	accepted := 0
	s.mu.Lock()
	for i, it := range in.Items {
		missing := ""
		for _, f := range Required[resource] {
			if v, ok := it[f]; !ok || v == nil || fmt.Sprint(v) == "" {
				missing = f
				break
			}
		}
		if missing != "" {
			rejected = append(rejected, rejection{Index: i, Field: missing, Msg: "缺少必填字段 " + missing})
			continue
		}
		key := fmt.Sprint(it["bdid"])
		if resource == Enterprises {
			key = fmt.Sprint(it["tyshxydm"])
		}
		s.pushed[resource][key] = it
		accepted++
	}
	s.mu.Unlock()
	if rejected == nil {
		rejected = []rejection{}
	}
	s.reply(w, http.StatusOK, "0", "成功", map[string]any{"accepted": accepted, "rejected": rejected})
}

func (s *Simulator) certificate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CertificateNo string `json:"zsbh"`
		Version       int    `json:"bbh"`
		Kind          string `json:"lx"`
		CreditCode    string `json:"tyshxydm"`
		SHA256        string `json:"sha256"`
		VerifyURL     string `json:"yzdz"`
		PDF           string `json:"pdf"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20)).Decode(&in); err != nil || in.CertificateNo == "" || in.Version < 1 {
		s.reply(w, http.StatusBadRequest, "40005", "证书编号、版本号必填", nil)
		return
	}
	pdf, err := base64.StdEncoding.DecodeString(in.PDF)
	sum := sha256.Sum256(pdf)
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF") || hex.EncodeToString(sum[:]) != in.SHA256 {
		s.reply(w, http.StatusBadRequest, "40006", "证书文件与校验值不符", nil)
		return
	}
	key := fmt.Sprintf("%s/%d", in.CertificateNo, in.Version)
	s.mu.Lock()
	c, ok := s.certs[key]
	if !ok {
		c = Certificate{ID: "SJZ-" + strconv.Itoa(len(s.certs)+1), CertificateNo: in.CertificateNo, Version: in.Version, Kind: in.Kind,
			CreditCode: in.CreditCode, SHA256: in.SHA256, VerifyURL: in.VerifyURL, Size: len(pdf)}
		s.certs[key] = c
	}
	s.mu.Unlock()
	s.reply(w, http.StatusOK, "0", "成功", map[string]any{"id": c.ID})
}
