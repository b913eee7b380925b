package connectors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Record is what a pulled row becomes in the entity's file (一户一档): the
// registry adds it through the connectors.record.received event.
type Record struct {
	CreditCode string         `json:"credit_code"`
	Kind       string         `json:"kind"`
	RefNo      string         `json:"ref_no"`
	Title      string         `json:"title"`
	Authority  string         `json:"authority"`
	OccurredOn string         `json:"occurred_on"`
	Status     string         `json:"status"`
	Public     bool           `json:"public"`
	Details    map[string]any `json:"details"`
}

// Row is one pulled row: the source's id and position, the hash of its
// fields as sent, and the record it maps to.
type Row struct {
	ExtID  string
	Seq    int64
	Hash   string
	Record Record
}

// Page is one page of a pull. Next is the cursor after it.
type Page struct {
	Rows []Row
	Next string
	More bool
}

// puller reads one page of changes after cursor ("" is the beginning).
type puller interface {
	pull(ctx context.Context, c *caller, cursor string, size int) (Page, error)
}

// contentHash is the hash of a row's fields as the source sent them:
// sha256 of their JSON with sorted keys (the simulators' Checksum uses
// the same, so checksums compare).
func contentHash(fields map[string]string) string {
	b, _ := json.Marshal(fields)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func seqOf(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n < 0 {
		return 0, refuse("游标格式错误："+cursor, err)
	}
	return n, nil
}

// takeSeq removes the source's position field from fields and checks it
// moves forward: a row at or before the cursor means the remote served a
// page again, which would loop forever if trusted.
func takeSeq(fields map[string]string, key string, after int64) (int64, error) {
	s, ok := fields[key]
	delete(fields, key)
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil {
		return 0, refuse("记录缺少有效的 "+key, err)
	}
	if n <= after {
		return 0, refuse(fmt.Sprintf("远端重复返回已读取的页（%s=%d 不大于游标 %d），已停止以免循环", key, n, after), nil)
	}
	return n, nil
}

func dateOf(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// maskID keeps the region and the last four characters of an ID number
// (GB 11643), as every list and log must.
func maskID(s string) string {
	if len(s) < 10 {
		return strings.Repeat("*", len(s))
	}
	return s[:6] + strings.Repeat("*", len(s)-10) + s[len(s)-4:]
}

func idHash(s string) string {
	h := sha256.Sum256([]byte("smartreg-person:" + s))
	return hex.EncodeToString(h[:16])
}

func countList(path string) func([]byte) int {
	parts := strings.Split(path, ".")
	return func(b []byte) int {
		raw := json.RawMessage(b)
		for _, p := range parts {
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return 0
			}
			raw = m[p]
		}
		var list []json.RawMessage
		json.Unmarshal(raw, &list)
		return len(list)
	}
}

// legalPerson is the client of the legal-person base (法人库) and its
// register of persons in market business (涉市场经营人员库, FP-14): an
// OAuth2 client-credentials token, renewed once on 401, then pages of
// persons changed after a version (tests/sim/connect/legalperson).
type legalPerson struct {
	base, id, secret string
	token            string
}

func (s *legalPerson) fetchToken(ctx context.Context, c *caller) error {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.id}, "client_secret": {s.secret}}
	body, err := c.do(ctx, request{method: "POST", logURL: s.base + "/oauth/token", build: func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/oauth/token", strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		return req, err
	}})
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := decode(body, &tok); err != nil {
		return err
	}
	if tok.AccessToken == "" {
		return refuse("法人库未返回访问令牌", nil)
	}
	s.token = tok.AccessToken
	return nil
}

func (s *legalPerson) pull(ctx context.Context, c *caller, cursor string, size int) (Page, error) {
	after, err := seqOf(cursor)
	if err != nil {
		return Page{}, err
	}
	u := fmt.Sprintf("%s/api/v2/persons?sinceVersion=%d&pageSize=%d", s.base, after, size)
	var body []byte
	for attempt := 0; attempt < 2; attempt++ {
		if s.token == "" {
			if err := s.fetchToken(ctx, c); err != nil {
				return Page{}, err
			}
		}
		body, err = c.do(ctx, request{method: "GET", logURL: u, rows: countList("data.list"), build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+s.token)
			}
			return req, err
		}})
		var se *statusError
		if err != nil && errors.As(err, &se) && se.status == http.StatusUnauthorized {
			s.token = "" // stale: fetch a new one once
			continue
		}
		break
	}
	if err != nil {
		return Page{}, err
	}
	var env struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
		Data struct {
			HasMore bool                `json:"hasMore"`
			List    []map[string]string `json:"list"`
		} `json:"data"`
	}
	if err := decode(body, &env); err != nil {
		return Page{}, err
	}
	if env.Code != 200 {
		return Page{}, refuse(fmt.Sprintf("法人库返回错误 %d：%s", env.Code, env.Msg), nil)
	}
	p := Page{Next: cursor, More: env.Data.HasMore}
	for _, f := range env.Data.List {
		seq, err := takeSeq(f, "version", after)
		if err != nil {
			return Page{}, err
		}
		hash := contentHash(f)
		p.Rows = append(p.Rows, Row{ExtID: f["personId"], Seq: seq, Hash: hash, Record: Record{
			CreditCode: f["uniscid"], Kind: "person", RefNo: f["personId"], Title: f["role"] + "：" + f["name"],
			Authority: "法人库", OccurredOn: dateOf(f["updateTime"]), Status: f["role"], Public: false,
			Details: map[string]any{"role": f["role"], "name": f["name"], "id_no": maskID(f["idNo"]), "id_hash": idHash(f["idNo"]),
				"org_name": f["orgName"], "source": "法人库"},
		}})
		p.Next = strconv.FormatInt(seq, 10)
	}
	return p, nil
}

// publicitySource is the client of the enterprise credit publicity system
// (公示系统, FP-15): HMAC-SHA256-signed GETs of three incremental streams
// (penalties, the abnormal list, compliance records). The cursor is the
// JSON of each stream's last id; a page reads one page of every stream.
type publicitySource struct {
	base, appID, secret string
	now                 func() time.Time
}

var publicityStreams = []string{"penalty", "abnormal", "compliance"}

func (s *publicitySource) pull(ctx context.Context, c *caller, cursor string, size int) (Page, error) {
	pos := map[string]int64{}
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &pos); err != nil {
			return Page{}, refuse("游标格式错误："+cursor, err)
		}
	}
	var p Page
	for _, st := range publicityStreams {
		after := pos[st]
		path := fmt.Sprintf("/openapi/v1/%s/incremental?fromId=%d&size=%d", st, after, size)
		body, err := c.do(ctx, request{method: "GET", logURL: s.base + path, rows: countList("result.items"), build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
			if err != nil {
				return nil, err
			}
			ts := strconv.FormatInt(s.now().Unix(), 10)
			m := hmac.New(sha256.New, []byte(s.secret))
			m.Write([]byte(s.appID + "\n" + ts + "\n" + path)) // the path under the interface root, as the gateway sees it
			req.Header.Set("X-Gsxt-AppId", s.appID)
			req.Header.Set("X-Gsxt-Timestamp", ts)
			req.Header.Set("X-Gsxt-Sign", hex.EncodeToString(m.Sum(nil)))
			return req, nil
		}})
		if err != nil {
			return Page{}, err
		}
		var env struct {
			Success  bool   `json:"success"`
			ErrorMsg string `json:"errorMsg"`
			Result   struct {
				Items []map[string]string `json:"items"`
				More  bool                `json:"more"`
			} `json:"result"`
		}
		if err := decode(body, &env); err != nil {
			return Page{}, err
		}
		if !env.Success {
			return Page{}, refuse("公示系统返回错误："+env.ErrorMsg, nil)
		}
		for _, f := range env.Result.Items {
			seq, err := takeSeq(f, "id", after)
			if err != nil {
				return Page{}, err
			}
			pos[st] = max(pos[st], seq)
			p.Rows = append(p.Rows, Row{ExtID: st + "/" + f["recordNo"], Seq: seq, Hash: contentHash(f), Record: publicityRecord(st, f)})
		}
		p.More = p.More || env.Result.More
	}
	next, _ := json.Marshal(pos)
	p.Next = string(next)
	return p, nil
}

func publicityRecord(stream string, f map[string]string) Record {
	r := Record{CreditCode: f["uniscid"], RefNo: f["recordNo"], Authority: f["authority"], Public: true}
	switch stream {
	case "penalty":
		r.Kind, r.Title, r.OccurredOn, r.Status = "penalty", "行政处罚："+f["penaltyType"], dateOf(f["decisionDate"]), f["executionStatus"]
		r.RefNo = f["decisionNo"]
		r.Details = map[string]any{"penalty_type": f["penaltyType"], "amount": f["amount"], "legal_basis": f["basis"],
			"execution_status": f["executionStatus"], "illegal_fact": f["illegalFact"], "record_no": f["recordNo"], "source": "公示系统"}
	case "abnormal":
		r.Kind, r.Title, r.OccurredOn, r.Status = "abnormal_list", "列入经营异常名录："+f["reason"], dateOf(f["listedDate"]), f["status"]
		r.Details = map[string]any{"reason": f["reason"], "removed_on": f["removedDate"], "removal_reason": f["removalReason"], "source": "公示系统"}
	default:
		r.Kind, r.Title, r.OccurredOn, r.Status = "compliance", f["title"], dateOf(f["date"]), f["result"]
		r.Details = map[string]any{"result": f["result"], "source": "公示系统"}
	}
	return r
}

// spotCheck is the client of the spot-check data platform (抽查数据平台,
// FP-19): an API key, pages after a sequence number, GBK bodies.
type spotCheck struct{ base, key string }

func (s *spotCheck) pull(ctx context.Context, c *caller, cursor string, size int) (Page, error) {
	after, err := seqOf(cursor)
	if err != nil {
		return Page{}, err
	}
	u := fmt.Sprintf("%s/ccpt/api/results?startSeq=%d&rows=%d", s.base, after, size)
	body, err := c.do(ctx, request{method: "GET", logURL: u, rows: countList("rows"), build: func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err == nil {
			req.Header.Set("X-Api-Key", s.key)
		}
		return req, err
	}})
	if err != nil {
		return Page{}, err
	}
	var env struct {
		Status  string              `json:"status"`
		Message string              `json:"message"`
		Rows    []map[string]string `json:"rows"`
		Remain  int                 `json:"remain"`
	}
	if err := decode(body, &env); err != nil {
		return Page{}, err
	}
	if env.Status != "0" {
		return Page{}, refuse("抽查数据平台返回错误："+env.Message, nil)
	}
	p := Page{Next: cursor, More: env.Remain > 0}
	for _, f := range env.Rows {
		seq, err := takeSeq(f, "seq", after)
		if err != nil {
			return Page{}, err
		}
		p.Rows = append(p.Rows, Row{ExtID: f["taskNo"] + "/" + f["checkedUniscid"], Seq: seq, Hash: contentHash(f), Record: Record{
			CreditCode: f["checkedUniscid"], Kind: "spot_check", RefNo: f["taskNo"], Title: f["taskName"], Authority: f["checkOrg"],
			OccurredOn: dateOf(f["checkDate"]), Status: f["result"], Public: true,
			Details: map[string]any{"task_no": f["taskNo"], "result": f["result"], "source": "抽查数据平台"},
		}})
		p.Next = strconv.FormatInt(seq, 10)
	}
	return p, nil
}

// shiExchange is the client of the city's simple exchange for 石i企
// (FP-20) and 石i民 (FP-21): a signed JSON POST per page, errors in
// errcode with HTTP 200.
type shiExchange struct {
	base, appID, secret, dataset string
	now                          func() time.Time
}

func (s *shiExchange) pull(ctx context.Context, c *caller, cursor string, size int) (Page, error) {
	after, err := seqOf(cursor)
	if err != nil {
		return Page{}, err
	}
	u := s.base + "/exchange/v1/pull"
	body, err := c.do(ctx, request{method: "POST", logURL: fmt.Sprintf("%s?dataset=%s&offset=%d", u, s.dataset, after), rows: countList("data.items"),
		build: func(ctx context.Context) (*http.Request, error) {
			ts := strconv.FormatInt(s.now().Unix(), 10)
			nb := make([]byte, 8)
			rand.Read(nb)
			nonce := hex.EncodeToString(nb)
			sum := md5.Sum([]byte(s.appID + ts + nonce + s.secret))
			b, _ := json.Marshal(map[string]any{"app_id": s.appID, "timestamp": ts, "nonce": nonce, "sign": hex.EncodeToString(sum[:]),
				"dataset": s.dataset, "offset": after, "limit": size})
			req, err := http.NewRequestWithContext(ctx, "POST", u, bytes.NewReader(b))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		}})
	if err != nil {
		return Page{}, err
	}
	var env struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
		Data    struct {
			Items []map[string]string `json:"items"`
			End   bool                `json:"end"`
		} `json:"data"`
	}
	if err := decode(body, &env); err != nil {
		return Page{}, err
	}
	if env.ErrCode != 0 {
		return Page{}, refuse(fmt.Sprintf("交换接口返回错误 %d：%s", env.ErrCode, env.ErrMsg), nil)
	}
	p := Page{Next: cursor, More: !env.Data.End}
	for _, f := range env.Data.Items {
		seq, err := takeSeq(f, "seq", after)
		if err != nil {
			return Page{}, err
		}
		p.Rows = append(p.Rows, Row{ExtID: f["itemNo"], Seq: seq, Hash: contentHash(f), Record: s.record(f)})
		p.Next = strconv.FormatInt(seq, 10)
	}
	return p, nil
}

func (s *shiExchange) record(f map[string]string) Record {
	if s.dataset == "shimin" {
		// The citizen's phone stays in 石i民: the file keeps the matter only.
		return Record{CreditCode: f["uniscid"], Kind: "complaint", RefNo: f["itemNo"], Title: f["category"] + "：" + clip(f["summary"], 150),
			Authority: "石i民", OccurredOn: dateOf(f["submitDate"]), Status: f["status"], Public: true,
			Details: map[string]any{"category": f["category"], "summary": f["summary"], "source": "石i民"}}
	}
	return Record{CreditCode: f["uniscid"], Kind: "licence", RefNo: f["itemNo"], Title: f["type"] + "：" + f["title"],
		Authority: "石i企", OccurredOn: dateOf(f["submitDate"]), Status: f["status"], Public: true,
		Details: map[string]any{"type": f["type"], "source": "石i企"}}
}
