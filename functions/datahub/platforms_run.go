package datahub

// The runner of third-party interface configurations (FP-116) and the
// interaction log it writes (FP-117): one call per page, each attempt
// logged with its secrets redacted, rows mapped onto the target
// dataset's fields and upserted on the key into datahub.ingested_rows.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/netguard"
	"github.com/sjzamr/smartreg/shared/store"
)

// PlatformPingTask is the PingSource's task that runs the due
// configurations (infra/knative/pingsources/datahub-platforms.yaml).
const PlatformPingTask = "datahub-platforms"

// receivePlatformPing runs the due configurations on the PingSource's
// tick. A redelivered tick finds nothing more due (next_run_at moved on).
func (f *Function) receivePlatformPing(ctx context.Context, data events.PingData) error {
	if data["task"] != PlatformPingTask {
		return nil
	}
	n, err := f.RunDuePlatforms(ctx)
	if n > 0 {
		f.log.InfoContext(ctx, "datahub: third-party configurations run", "count", n)
	}
	return err
}

// platformLockKey names the advisory locks of configurations: one run of
// a configuration at a time across replicas.
const platformLockKey = 0x706c6174 // "plat"

// RunResult is what one run (or test) of a configuration did.
type RunResult struct {
	ConfigID    int64   `json:"config_id"`
	Trigger     string  `json:"trigger"`
	OK          bool    `json:"ok"`
	Calls       int     `json:"calls"`
	RowsRead    int     `json:"rows_read"`
	RowsWritten int     `json:"rows_written"`
	Rejected    int     `json:"rows_rejected"`
	Message     string  `json:"message"`
	LogIDs      []int64 `json:"log_ids"`
	// Preview is a test's first mapped rows (a test writes nothing).
	Preview []map[string]any `json:"preview,omitempty"`
}

// RunDuePlatforms runs every configuration that is 已联调, scheduled,
// due, and whose platform is active; it returns how many ran.
func (f *Function) RunDuePlatforms(ctx context.Context) (int, error) {
	rows, err := f.pool.Query(ctx, `SELECT c.id FROM datahub.platform_configs c JOIN datahub.platforms p ON p.id = c.platform_id
		WHERE c.state = 'tested' AND p.state = 'active' AND c.schedule_kind <> 'manual' AND c.next_run_at <= $1
		ORDER BY c.next_run_at LIMIT 100`, f.now())
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		res, err := f.RunPlatformIface(ctx, id, "schedule", "定时任务")
		if err != nil && errs.CodeOf(err) != errs.Conflict {
			f.log.ErrorContext(ctx, "datahub: third-party run", "config", id, "err", err)
			continue
		}
		if err == nil {
			n++
			if !res.OK {
				f.log.WarnContext(ctx, "datahub: third-party run failed", "config", id, "message", res.Message)
			}
		}
	}
	return n, ctx.Err()
}

// RunPlatformIface runs a configuration now (trigger "manual" or
// "schedule"), or tests it ("test": one call, first page, nothing
// written). A failed run moves a scheduled configuration's next run back
// by the backoff, doubling with each failure in a row.
func (f *Function) RunPlatformIface(ctx context.Context, id int64, trigger, operator string) (RunResult, error) {
	res := RunResult{ConfigID: id, Trigger: trigger}
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		return res, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, platformLockKey, int32(id)).Scan(&locked); err != nil {
		return res, err
	}
	if !locked {
		return res, errs.New(errs.Conflict, "该接口正在执行，请稍后再试")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, $2)`, platformLockKey, int32(id))

	c, err := getPIface(ctx, f.pool, id)
	if err != nil {
		return res, err
	}
	pl, err := getPlatform(ctx, f.pool, c.PlatformID)
	if err != nil {
		return res, err
	}
	switch {
	case pl.State != "active":
		return res, errs.New(errs.Conflict, "平台“"+pl.Name+"”已停用，不能调用其接口")
	case c.State == "disabled":
		return res, errs.New(errs.Conflict, "接口配置已停用")
	case trigger != "test" && c.State == "untested":
		return res, errs.New(errs.Conflict, "接口尚未联调，请先“测试连接”")
	}
	ds := f.catalogue[c.Dataset]
	if ds == nil {
		return res, errs.New(errs.Conflict, "目标数据集“"+c.Dataset+"”已不在数据目录中")
	}
	var secret string
	if c.AuthKind != AuthNone {
		sealed, err := pIfaceSecret(ctx, f.pool, id)
		if err != nil {
			return res, err
		}
		plain, err := f.plat.box.Open(sealed)
		if err != nil {
			return res, errs.Wrap(errs.Internal, "接口凭据无法解密（DATAHUB_SECRET_KEYS 是否更换过？）", err)
		}
		secret = string(plain)
	}
	cl := &caller{f: f, c: c, secret: secret, trigger: trigger, operator: operator, res: &res}
	runErr := cl.run(ctx, ds)
	res.OK = runErr == nil
	if runErr != nil {
		res.Message = runErr.Error()
	} else if res.Message == "" {
		res.Message = fmt.Sprintf("读取 %d 行，写入 %d 行", res.RowsRead, res.RowsWritten)
		if res.Rejected > 0 {
			res.Message += fmt.Sprintf("，%d 行不合格未写入", res.Rejected)
		}
	}
	return res, f.afterRun(context.WithoutCancel(ctx), c, res)
}

// afterRun records a run's outcome on its configuration and schedules
// the next: on time after a success, backed off after a failure.
func (f *Function) afterRun(ctx context.Context, c PlatformIface, res RunResult) error {
	now := f.now()
	status := "ok"
	if !res.OK {
		status = "failed"
	}
	if res.Trigger == "test" {
		state := c.State
		if res.OK && state == "untested" {
			state = "testing"
		}
		_, err := f.pool.Exec(ctx, `UPDATE datahub.platform_configs SET state = $2, last_run_at = $3, last_status = $4, last_message = $5
			WHERE id = $1`, c.ID, state, now, "test_"+status, res.Message)
		return err
	}
	failures := 0
	next := nextRun(c.ScheduleKind, c.Schedule, now)
	if !res.OK {
		failures = c.Failures + 1
		if next != nil {
			back := float64(f.cfg.PlatformBackoff) * math.Pow(2, float64(failures-1))
			d := time.Duration(math.Min(back, float64(f.cfg.PlatformMaxBack)))
			t := now.Add(d)
			next = &t
		}
	}
	_, err := f.pool.Exec(ctx, `UPDATE datahub.platform_configs SET failures = $2, next_run_at = $3, last_run_at = $4, last_status = $5,
		last_message = $6 WHERE id = $1`, c.ID, failures, next, now, status, res.Message)
	return err
}

// caller makes one run's calls.
type caller struct {
	f        *Function
	c        PlatformIface
	secret   string
	trigger  string
	operator string
	res      *RunResult
	token    string // the OAuth2 access token in use, redacted in logs
}

func (cl *caller) run(ctx context.Context, ds *Dataset) error {
	u, err := url.Parse(cl.c.Address)
	if err != nil {
		return fmt.Errorf("接口地址格式错误")
	}
	if _, err := cl.f.plat.allow.Check(ctx, u.Hostname()); err != nil {
		msg := refusal(err, u.Hostname())
		cl.log(ctx, logEntry{method: cl.c.Method, url: cl.c.Address, err: msg})
		return errors.New(msg)
	}
	for page := 1; ; page++ {
		body, err := cl.call(ctx, page)
		if err != nil {
			return err
		}
		recs, err := records(body, cl.c.RecordsPath)
		if err != nil {
			cl.noteLast(0, 0, err.Error())
			return err
		}
		rows, rejected, why := mapRecords(ds, cl.c, recs)
		cl.res.RowsRead += len(recs)
		cl.res.Rejected += rejected
		written := 0
		if cl.trigger == "test" {
			cl.res.Preview = append(cl.res.Preview, rows[:min(len(rows), 10)]...)
		} else if written, err = ingest(ctx, cl.f.pool, ds.ID, "platform", cl.c.ID, cl.c.KeyField, rows, cl.f.now()); err != nil {
			cl.noteLast(len(recs), 0, "写入数据失败")
			return fmt.Errorf("写入数据失败：%w", err)
		}
		cl.res.RowsWritten += written
		note := ""
		if rejected > 0 {
			note = fmt.Sprintf("%d 行不合格未写入：%s", rejected, why)
		}
		cl.noteLast(len(recs), written, note)
		if cl.trigger == "test" || cl.c.PageParam == "" || len(recs) == 0 {
			return nil
		}
		if page >= cl.f.cfg.PlatformMaxPages {
			cl.res.Message = fmt.Sprintf("已读取 %d 页（上限 DATAHUB_PLATFORM_MAX_PAGES），读取 %d 行，写入 %d 行", page, cl.res.RowsRead, cl.res.RowsWritten)
			return nil
		}
	}
}

func refusal(err error, host string) string {
	var ref *netguard.Refused
	if errors.As(err, &ref) {
		return "拒绝访问内部网络地址 " + ref.Addr + "（如确需访问，请管理员将其加入 DATAHUB_PLATFORM_ALLOW_NETS）"
	}
	return "无法解析接口地址的域名 " + host
}

// call fetches one page, retrying network errors, 429 and 5xx answers
// (DATAHUB_PLATFORM_RETRIES attempts, waiting DATAHUB_PLATFORM_RETRY_DELAY
// doubled, or the platform's Retry-After up to a minute). Every attempt
// is a log row.
func (cl *caller) call(ctx context.Context, page int) ([]byte, error) {
	cfg := cl.f.cfg
	var lastErr error
	for attempt := 1; attempt <= cfg.PlatformRetries; attempt++ {
		body, status, wait, err := cl.attempt(ctx, page)
		if err == nil {
			return body, nil
		}
		lastErr = err
		transient := status == 0 || status == 429 || status >= 500 || (status == 401 && cl.c.AuthKind == AuthOAuth2 && attempt == 1)
		var ref *netguard.Refused
		if !transient || errors.As(err, &ref) || attempt == cfg.PlatformRetries || ctx.Err() != nil {
			break
		}
		if wait == 0 && status != 401 {
			wait = cfg.PlatformRetryGap * time.Duration(1<<(attempt-1))
		}
		if err := cl.f.plat.sleep(ctx, min(wait, time.Minute)); err != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

// attempt is one HTTP exchange; wait is the platform's Retry-After.
func (cl *caller) attempt(ctx context.Context, page int) (body []byte, status int, wait time.Duration, err error) {
	c := cl.c
	start := time.Now()
	le := logEntry{method: c.Method}
	defer func() {
		le.duration = time.Since(start)
		le.status = status
		if err != nil {
			le.err = err.Error()
		}
		cl.log(ctx, le)
	}()
	params := url.Values{}
	for k, v := range c.Params {
		params.Set(k, v)
	}
	if c.PageParam != "" {
		params.Set(c.PageParam, strconv.Itoa(page))
	}
	u, _ := url.Parse(c.Address)
	var reqBody []byte
	if c.Method == "GET" {
		q := u.Query()
		for k, vs := range params {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	} else {
		m := map[string]any{}
		for k := range params {
			m[k] = params.Get(k)
		}
		if c.PageParam != "" {
			m[c.PageParam] = page
		}
		reqBody, _ = json.Marshal(m)
	}
	le.url = u.String()
	req, rerr := http.NewRequestWithContext(ctx, c.Method, u.String(), bytes.NewReader(reqBody))
	if rerr != nil {
		return nil, 0, 0, fmt.Errorf("请求无法构造：%v", rerr)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "SmartReg-DataHub/1 (石家庄市市场监督管理局)")
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.AuthKind {
	case AuthAPIKey:
		req.Header.Set(c.Auth.Header, cl.secret)
	case AuthHMAC:
		signRequest(req, c.Auth.KeyID, cl.secret, reqBody, cl.f.now())
	case AuthOAuth2:
		tok, terr := cl.f.plat.tokens.get(ctx, cl.f, c, cl.secret)
		if terr != nil {
			return nil, 0, 0, terr
		}
		cl.token = tok
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	le.request = cl.redact(dumpRequest(req, reqBody, c.Auth.Header))
	resp, derr := cl.f.plat.client(cl.f.cfg.PlatformTimeout).Do(req)
	if derr != nil {
		var ref *netguard.Refused
		if errors.As(derr, &ref) {
			return nil, 0, 0, errors.New(refusal(ref, u.Hostname()))
		}
		return nil, 0, 0, fmt.Errorf("调用失败（网络）：%s", shortErr(derr))
	}
	defer resp.Body.Close()
	body, rerr = io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	le.response = cl.redact(excerpt(body))
	status = resp.StatusCode
	if rerr != nil {
		return nil, status, 0, fmt.Errorf("读取应答失败：%s", shortErr(rerr))
	}
	if status == 401 && c.AuthKind == AuthOAuth2 {
		cl.f.plat.tokens.drop(c.ID) // expired or revoked early: the next attempt fetches a new one
	}
	if status >= 300 {
		if s, e := strconv.Atoi(resp.Header.Get("Retry-After")); e == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return nil, status, wait, fmt.Errorf("对方平台答复 HTTP %d：%s", status, clipText(string(body), 200))
	}
	return body, status, 0, nil
}

// client is the SSRF-checked HTTP client (built per timeout once).
func (s *platformState) client(timeout time.Duration) *http.Client {
	s.once.Do(func() { s.http = s.allow.Client(timeout) })
	return s.http
}

func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clipText(err.Error(), 200)
}

func clipText(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}

func excerpt(b []byte) string {
	const max = 4000
	if len(b) > max {
		return strings.ToValidUTF8(string(b[:max]), "") + "…（共 " + strconv.Itoa(len(b)) + " 字节）"
	}
	return strings.ToValidUTF8(string(b), "")
}

// secretHeaders are always written as *** in the log.
var secretHeaders = []string{"Authorization", "X-Api-Key", HeaderSignature, "Cookie", "Proxy-Authorization"}

func dumpRequest(req *http.Request, body []byte, keyHeader string) string {
	var b strings.Builder
	b.WriteString(req.Method + " " + req.URL.String() + "\n")
	hide := append([]string{http.CanonicalHeaderKey(keyHeader)}, secretHeaders...)
	for k, vs := range req.Header {
		v := strings.Join(vs, ", ")
		for _, h := range hide {
			if strings.EqualFold(k, h) {
				v = "***"
			}
		}
		b.WriteString(k + ": " + v + "\n")
	}
	if len(body) > 0 {
		b.WriteString("\n" + excerpt(body))
	}
	return b.String()
}

// redact replaces the run's secrets wherever they appear (a platform may
// echo a key or a token back).
func (cl *caller) redact(s string) string {
	for _, sec := range []string{cl.secret, cl.token} {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// logEntry is one attempt's log row before it is written.
type logEntry struct {
	method, url, request, response, err string
	status                              int
	duration                            time.Duration
}

func (cl *caller) log(ctx context.Context, le logEntry) {
	var id int64
	err := cl.f.pool.QueryRow(context.WithoutCancel(ctx), `INSERT INTO datahub.platform_logs (config_id, platform_id, at, trigger, method, url,
		request, status, response, duration_us, ok, error, operator) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		cl.c.ID, cl.c.PlatformID, cl.f.now(), cl.trigger, le.method, cl.redact(le.url), le.request, le.status, le.response,
		le.duration.Microseconds(), le.err == "", cl.redact(le.err), cl.operator).Scan(&id)
	if err != nil {
		cl.f.log.ErrorContext(ctx, "datahub: platform log", "err", err)
		return
	}
	cl.res.Calls++
	cl.res.LogIDs = append(cl.res.LogIDs, id)
}

// noteLast puts a page's row counts (and a note) on its successful call's log row.
func (cl *caller) noteLast(read, written int, note string) {
	if len(cl.res.LogIDs) == 0 {
		return
	}
	id := cl.res.LogIDs[len(cl.res.LogIDs)-1]
	_, _ = cl.f.pool.Exec(context.Background(), `UPDATE datahub.platform_logs SET rows_read = $2, rows_written = $3,
		error = CASE WHEN $4 = '' THEN error ELSE $4 END, ok = ok AND ($4 = '' OR $2 > 0) WHERE id = $1`, id, read, written, note)
}

// records finds the rows of an answer at path ("data.items"; "" is the
// answer itself).
func records(body []byte, path string) ([]map[string]any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("对方平台的应答不是 JSON")
	}
	if path != "" {
		var ok bool
		if v, ok = dig(v, path); !ok {
			return nil, fmt.Errorf("应答中没有数据路径“%s”", path)
		}
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("应答中数据路径“%s”处不是数组", path)
	}
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// dig walks a dotted path of object keys and array indexes.
func dig(v any, path string) (any, bool) {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// mapRecords maps records onto the dataset's fields, typed and checked
// (credit codes, divisions and industry codes by their national rules);
// a record without its key or with a bad value is rejected, and why is
// the first reason.
func mapRecords(ds *Dataset, c PlatformIface, recs []map[string]any) (rows []map[string]any, rejected int, why string) {
	for i, rec := range recs {
		row := map[string]any{}
		var bad string
		for _, m := range c.Mapping {
			fd, _ := ds.field(m.Target)
			raw, ok := dig(rec, m.Source)
			if !ok || raw == nil {
				continue
			}
			v, err := convert(fd, raw)
			if err != nil {
				bad = fmt.Sprintf("第 %d 行字段“%s”（来自 %s）%s", i+1, fd.Title, m.Source, err.Error())
				break
			}
			row[m.Target] = v
		}
		if bad == "" {
			if k, _ := row[c.KeyField].(string); k == "" && row[c.KeyField] == nil {
				bad = fmt.Sprintf("第 %d 行缺少去重键“%s”", i+1, c.KeyField)
			}
		}
		if bad != "" {
			rejected++
			if why == "" {
				why = bad
			}
			continue
		}
		rows = append(rows, row)
	}
	return rows, rejected, why
}

func convert(fd Field, raw any) (any, error) {
	s := ""
	switch x := raw.(type) {
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		return nil, errors.New("不是单个值")
	}
	switch fd.Type {
	case TypeInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errors.New("应为整数：" + clipText(s, 30))
		}
		return n, nil
	case TypeNumber:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, errors.New("应为数值：" + clipText(s, 30))
		}
		return n, nil
	case TypeDate:
		for _, layout := range []string{"2006-01-02", "2006/01/02", "20060102", "2006年01月02日", "2006年1月2日", time.RFC3339} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.Format("2006-01-02"), nil
			}
		}
		return nil, errors.New("日期格式不正确：" + clipText(s, 30))
	case TypeTime:
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
		if t, err := time.ParseInLocation("2006-01-02 15:04:05", s, beijing); err == nil {
			return t.UTC().Format(time.RFC3339), nil
		}
		return nil, errors.New("时间格式不正确：" + clipText(s, 30))
	}
	var err error
	switch fd.Name {
	case "credit_code":
		err = codes.CheckCreditCode(s)
	case "district_code":
		err = codes.CheckDistrict(s)
	case "industry_code":
		err = codes.CheckIndustry(s)
	}
	if err != nil {
		return nil, errors.New("不合规：" + clipText(s, 30))
	}
	return s, nil
}

// ingest upserts rows on (dataset, key) in one transaction; it returns
// how many were inserted or changed (an unchanged row counts nothing).
func ingest(ctx context.Context, pool *pgxpool.Pool, dataset, kind string, sourceID int64, keyField string, rows []map[string]any, now time.Time) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	written := 0
	err := store.InTx(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range rows {
			b.Queue(`INSERT INTO datahub.ingested_rows (dataset, key, source_kind, source_id, data, first_seen, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6)
				ON CONFLICT (dataset, key) DO UPDATE SET data = EXCLUDED.data, source_kind = EXCLUDED.source_kind,
					source_id = EXCLUDED.source_id, updated_at = EXCLUDED.updated_at
				WHERE datahub.ingested_rows.data IS DISTINCT FROM EXCLUDED.data`,
				dataset, fmt.Sprint(r[keyField]), kind, sourceID, jsonOf(r), now)
		}
		br := tx.SendBatch(ctx, b)
		for range rows {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return err
			}
			written += int(tag.RowsAffected())
		}
		return br.Close()
	})
	return written, err
}

// token is a cached OAuth2 access token.
type token struct {
	value   string
	expires time.Time
}

// tokenCache keeps each configuration's access token until shortly
// before it expires.
type tokenCache struct {
	mu sync.Mutex
	m  map[int64]token
}

func (tc *tokenCache) drop(id int64) {
	tc.mu.Lock()
	delete(tc.m, id)
	tc.mu.Unlock()
}

// get answers a valid token, fetching one with the client credentials
// grant (RFC 6749 §4.4, client authenticated by HTTP Basic) when needed.
func (tc *tokenCache) get(ctx context.Context, f *Function, c PlatformIface, secret string) (string, error) {
	now := f.now()
	tc.mu.Lock()
	t, ok := tc.m[c.ID]
	tc.mu.Unlock()
	if ok && now.Before(t.expires) {
		return t.value, nil
	}
	u, err := url.Parse(c.Auth.TokenURL)
	if err != nil {
		return "", errors.New("令牌地址格式错误")
	}
	if _, err := f.plat.allow.Check(ctx, u.Hostname()); err != nil {
		return "", errors.New("获取令牌：" + refusal(err, u.Hostname()))
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if c.Auth.Scope != "" {
		form.Set("scope", c.Auth.Scope)
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", c.Auth.TokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.Auth.ClientID), url.QueryEscape(secret))
	resp, err := f.plat.client(f.cfg.PlatformTimeout).Do(req)
	if err != nil {
		var ref *netguard.Refused
		if errors.As(err, &ref) {
			return "", errors.New("获取令牌：" + refusal(ref, u.Hostname()))
		}
		return "", fmt.Errorf("获取令牌失败（网络）：%s", shortErr(err))
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil || resp.StatusCode != 200 || tr.AccessToken == "" {
		return "", fmt.Errorf("获取令牌失败：HTTP %d %s", resp.StatusCode, tr.Error)
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 300
	}
	exp := now.Add(time.Duration(tr.ExpiresIn)*time.Second - 30*time.Second)
	tc.mu.Lock()
	tc.m[c.ID] = token{value: tr.AccessToken, expires: exp}
	tc.mu.Unlock()
	return tr.AccessToken, nil
}
