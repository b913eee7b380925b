package datahub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/netguard"
	"github.com/sjzamr/smartreg/tests/sim/thirdparty"
)

var platformPerms = []string{"datahub.platform:view", "datahub.platform:edit", "datahub.platformlog:view", "datahub.platformlog:export"}

type platHarness struct {
	*harness
	sim   *thirdparty.Simulator
	url   string
	admin string
	waits []time.Duration
}

// newPlatHarness is datahub with the loopback simulator on its allow-list
// (the administrator's DATAHUB_PLATFORM_ALLOW_NETS) and the retry waits
// recorded instead of slept.
func newPlatHarness(t *testing.T, n int) *platHarness {
	h := &platHarness{harness: newHarness(t, auditlogtest.Migration())}
	h.sim = thirdparty.New("key-1234567890", "kid-1", "hmac-secret-abcdef", "client-1", "client-secret-xyz", simRecords(n)...)
	h.sim.Now = func() time.Time { return h.now }
	srv := httptest.NewServer(h.sim)
	t.Cleanup(srv.Close)
	h.url = srv.URL
	h.f.plat.allow = netguard.Allow{netip.MustParsePrefix("127.0.0.0/8")}
	h.f.plat.sleep = func(_ context.Context, d time.Duration) error { h.waits = append(h.waits, d); return nil }
	h.admin = h.iss.Bearer(authtest.InDistricts(append(platformPerms, allPerms...), "130102"))
	return h
}

func simCode(i int) string {
	c, err := codes.MakeCreditCode("91", "130102", fmt.Sprintf("MA%06d", i))
	if err != nil {
		panic(err)
	}
	return c
}

func simRecords(n int) []thirdparty.Record {
	var out []thirdparty.Record
	for i := range n {
		out = append(out, thirdparty.Record{USCC: simCode(i), Name: fmt.Sprintf("三方%02d食品有限公司", i), LegalPerson: "李四",
			RegDate: fmt.Sprintf("2021/0%d/15", i%9+1), Capital: fmt.Sprintf("%d.5", 100+i), District: "130102", Industry: "1411",
			Phone: "13800138000"})
	}
	return out
}

func (h *platHarness) json(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	rec := h.do(t, h.admin, method, path, body)
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v %s", method, path, err, rec.Body)
		}
	}
	return rec.Code
}

func (h *platHarness) platform(t *testing.T, name string) Platform {
	t.Helper()
	var p Platform
	if st := h.json(t, "POST", "/datahub/v1/platforms", PlatformInput{Name: name, Department: "市食品安全办", Contact: "王工", Phone: "0311-86000000"}, &p); st != 201 {
		t.Fatalf("create platform: %d", st)
	}
	return p
}

var simMapping = []Mapping{{Source: "uscc", Target: "credit_code"}, {Source: "ent_name", Target: "name"},
	{Source: "legal_person", Target: "legal_rep"}, {Source: "reg_date", Target: "established_on"},
	{Source: "capital", Target: "registered_capital"}, {Source: "district", Target: "district_code"},
	{Source: "industry", Target: "industry_code"}}

func (h *platHarness) config(t *testing.T, p Platform, in PlatformIfaceInput) PlatformIface {
	t.Helper()
	in.PlatformID = p.ID
	if in.Name == "" {
		in.Name = "企业名录 " + in.AuthKind
	}
	if in.Dataset == "" {
		in.Dataset, in.Mapping, in.RecordsPath = "entities", simMapping, "data.items"
	}
	rec := h.do(t, h.admin, "POST", "/datahub/v1/platform-interfaces", in)
	if rec.Code != 201 {
		t.Fatalf("create configuration: %d %s", rec.Code, rec.Body)
	}
	var c PlatformIface
	json.Unmarshal(rec.Body.Bytes(), &c)
	return c
}

func (h *platHarness) act(t *testing.T, id int64, what string) RunResult {
	t.Helper()
	var res RunResult
	if st := h.json(t, "POST", fmt.Sprintf("/datahub/v1/platform-interfaces/%d/%s", id, what), nil, &res); st != 200 {
		t.Fatalf("%s: %d", what, st)
	}
	return res
}

// tested takes a configuration through 测试连接 to 已联调.
func (h *platHarness) tested(t *testing.T, c PlatformIface) PlatformIface {
	t.Helper()
	if res := h.act(t, c.ID, "test"); !res.OK {
		t.Fatalf("test: %+v", res)
	}
	in := inputOf(c)
	in.State = "tested"
	var out PlatformIface
	if st := h.json(t, "PUT", fmt.Sprintf("/datahub/v1/platform-interfaces/%d", c.ID), in, &out); st != 200 || out.State != "tested" {
		t.Fatalf("mark tested: %d %+v", st, out)
	}
	return out
}

func inputOf(c PlatformIface) PlatformIfaceInput {
	return PlatformIfaceInput{PlatformID: c.PlatformID, Name: c.Name, Address: c.Address, Method: c.Method, AuthKind: c.AuthKind,
		Auth: c.Auth, Params: c.Params, RecordsPath: c.RecordsPath, PageParam: c.PageParam, Dataset: c.Dataset, Mapping: c.Mapping,
		KeyField: c.KeyField, ScheduleKind: c.ScheduleKind, Schedule: c.Schedule, State: c.State}
}

func fieldErrors(t *testing.T, body *bytes.Buffer) map[string]string {
	t.Helper()
	var e struct {
		Error struct {
			Fields []struct{ Field, Message string }
		}
	}
	json.Unmarshal(body.Bytes(), &e)
	out := map[string]string{}
	for _, f := range e.Error.Fields {
		out[f.Field] = f.Message
	}
	return out
}

// FP-115: platforms are created, listed with filters and pages, updated
// and deleted; bad input is refused with Chinese messages naming the field.
func TestPlatformCRUD(t *testing.T) {
	h := newPlatHarness(t, 0)
	rec := h.do(t, h.admin, "POST", "/datahub/v1/platforms", PlatformInput{Name: " ", Phone: "abc", State: "paused"})
	fe := fieldErrors(t, rec.Body)
	if rec.Code != 400 || fe["name"] != "请填写平台名称（不超过 100 字）" || !strings.Contains(fe["phone"], "联系电话格式不正确") || !strings.Contains(fe["state"], "停用") {
		t.Fatalf("bad platform: %d %v", rec.Code, fe)
	}
	a := h.platform(t, "食品安全追溯平台")
	h.platform(t, "特种设备监管平台")
	if rec := h.do(t, h.admin, "POST", "/datahub/v1/platforms", PlatformInput{Name: "食品安全追溯平台"}); rec.Code != 400 || fieldErrors(t, rec.Body)["name"] != "平台名称已存在" {
		t.Errorf("duplicate name: %d %s", rec.Code, rec.Body)
	}
	var page struct {
		Items []Platform
		Total int
	}
	if st := h.json(t, "GET", "/datahub/v1/platforms?name=追溯&page_size=1", nil, &page); st != 200 || page.Total != 1 || page.Items[0].ID != a.ID {
		t.Fatalf("filter by name: %d %+v", st, page)
	}
	if st := h.json(t, "GET", "/datahub/v1/platforms?page_size=1&page=2", nil, &page); st != 200 || page.Total != 2 || len(page.Items) != 1 || page.Items[0].ID != a.ID {
		t.Fatalf("page 2: %+v", page)
	}
	var up Platform
	if st := h.json(t, "PUT", fmt.Sprintf("/datahub/v1/platforms/%d", a.ID), PlatformInput{Name: a.Name, Contact: "赵工", State: "disabled"}, &up); st != 200 ||
		up.Contact != "赵工" || up.State != "disabled" {
		t.Fatalf("update: %d %+v", st, up)
	}
	if st := h.json(t, "GET", "/datahub/v1/platforms?state=disabled", nil, &page); st != 200 || page.Total != 1 {
		t.Errorf("filter by state: %+v", page)
	}
	n := 0
	for _, o := range auditlogtest.Ops(t, h.pool, "") {
		if strings.HasPrefix(o.Action, "datahub.platform.") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("operation log rows %d, want 3 (two creations, one update)", n)
	}
	h.config(t, up, PlatformIfaceInput{Address: h.url + "/open/enterprises"})
	if rec := h.do(t, h.admin, "DELETE", fmt.Sprintf("/datahub/v1/platforms/%d", a.ID), nil); rec.Code != 409 || !strings.Contains(rec.Body.String(), "还有 1 个接口配置") {
		t.Errorf("delete with configurations: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, h.admin, "GET", "/datahub/v1/platforms/99999", nil); rec.Code != 404 {
		t.Errorf("unknown: %d", rec.Code)
	}
	viewer := h.iss.Bearer(authtest.InDistricts([]string{"datahub.platform:view"}, "130102"))
	if rec := h.do(t, viewer, "POST", "/datahub/v1/platforms", PlatformInput{Name: "x"}); rec.Code != 403 {
		t.Errorf("a viewer created a platform: %d", rec.Code)
	}
}

// FP-116: a configuration is validated against the catalogue; its
// secret is sealed and never answered; lists filter by name, platform
// and state.
func TestPlatformIfaceValidationAndSecret(t *testing.T) {
	h := newPlatHarness(t, 0)
	p := h.platform(t, "食品安全追溯平台")
	rec := h.do(t, h.admin, "POST", "/datahub/v1/platform-interfaces", PlatformIfaceInput{PlatformID: p.ID, Name: "x", Address: "ftp://a/b",
		Method: "PUT", AuthKind: AuthHMAC, Dataset: "entities", Mapping: []Mapping{{Source: "a", Target: "nope"}}, KeyField: "credit_code",
		ScheduleKind: "cron", Schedule: "61 * * * *"})
	fe := fieldErrors(t, rec.Body)
	for field, want := range map[string]string{
		"address":           "接口地址应为 http:// 或 https:// 开头的完整网址",
		"method":            "请求方式只能是 GET 或 POST",
		"auth.key_id":       "HMAC 签名需要填写密钥编号",
		"secret":            "请填写认证密钥",
		"mapping[0].target": "目标字段“nope”不在数据集“市场主体基本信息”中",
		"key_field":         "去重键“credit_code”必须是已映射的目标字段",
		"schedule":          "cron 表达式不正确",
	} {
		if !strings.Contains(fe[field], want) {
			t.Errorf("%s: %q, want %q", field, fe[field], want)
		}
	}
	if rec.Code != 400 {
		t.Fatalf("bad configuration: %d", rec.Code)
	}
	rec = h.do(t, h.admin, "POST", "/datahub/v1/platform-interfaces", PlatformIfaceInput{PlatformID: 9999, Name: "x", Address: h.url,
		AuthKind: "basic", Dataset: "nope", ScheduleKind: "interval", Schedule: "0"})
	fe = fieldErrors(t, rec.Body)
	if !strings.Contains(fe["auth_kind"], "认证方式只能是") || !strings.Contains(fe["dataset"], "请选择目标数据集") || !strings.Contains(fe["schedule"], "1 至 10080") {
		t.Errorf("second set: %v", fe)
	}
	rec = h.do(t, h.admin, "POST", "/datahub/v1/platform-interfaces", PlatformIfaceInput{PlatformID: 9999, Name: "x", Address: h.url,
		Dataset: "entities", Mapping: simMapping})
	if fe := fieldErrors(t, rec.Body); rec.Code != 400 || fe["platform_id"] != "所属平台不存在" {
		t.Errorf("unknown platform: %d %v", rec.Code, fe)
	}

	c := h.config(t, p, PlatformIfaceInput{Address: h.url + "/apikey/enterprises", AuthKind: AuthAPIKey, Secret: "key-1234567890",
		ScheduleKind: "interval", Schedule: "30"})
	if !c.HasSecret || c.Auth.Header != "X-API-Key" || c.State != "untested" || c.StateName != "未联调" || c.KeyField != "credit_code" ||
		c.NextRunAt == nil || !c.NextRunAt.Equal(h.now.Add(30*time.Minute)) {
		t.Fatalf("created: %+v", c)
	}
	if b, _ := json.Marshal(c); bytes.Contains(b, []byte("key-1234567890")) {
		t.Fatal("the secret is in the answer")
	}
	var sealed []byte
	h.pool.QueryRow(context.Background(), `SELECT secret_sealed FROM datahub.platform_configs WHERE id = $1`, c.ID).Scan(&sealed)
	if len(sealed) == 0 || bytes.Contains(sealed, []byte("key-1234567890")) {
		t.Fatal("the secret is not sealed")
	}
	if plain, err := h.f.plat.box.Open(sealed); err != nil || string(plain) != "key-1234567890" {
		t.Fatalf("sealed secret: %v", err)
	}
	// 已联调 only after a successful test.
	in := inputOf(c)
	in.State = "tested"
	if rec := h.do(t, h.admin, "PUT", fmt.Sprintf("/datahub/v1/platform-interfaces/%d", c.ID), in); rec.Code != 400 ||
		!strings.Contains(fieldErrors(t, rec.Body)["state"], "尚未测试成功") {
		t.Errorf("tested without a test: %d %s", rec.Code, rec.Body)
	}
	// An update without a secret keeps the stored one.
	in.State, in.Name = "untested", "企业名录（改）"
	if st := h.json(t, "PUT", fmt.Sprintf("/datahub/v1/platform-interfaces/%d", c.ID), in, &c); st != 200 || !c.HasSecret || c.Name != "企业名录（改）" {
		t.Fatalf("update: %d %+v", st, c)
	}
	q := h.platform(t, "特种设备监管平台")
	h.config(t, q, PlatformIfaceInput{Name: "气瓶名录", Address: h.url + "/open/enterprises", State: "disabled"})
	var page struct {
		Items []PlatformIface
		Total int
	}
	for query, want := range map[string]int{"": 2, "?name=气瓶": 1, fmt.Sprintf("?platform_id=%d", p.ID): 1, "?state=disabled": 1,
		"?state=untested&name=企业": 1, "?page_size=1&page=2": 2} {
		if st := h.json(t, "GET", "/datahub/v1/platform-interfaces"+query, nil, &page); st != 200 || page.Total != want {
			t.Errorf("list %q: %d total %d, want %d", query, st, page.Total, want)
		}
	}
	if rec := h.do(t, h.admin, "GET", "/datahub/v1/platform-interfaces?state=nope", nil); rec.Code != 400 {
		t.Errorf("bad state filter: %d", rec.Code)
	}
}

func ingestedCount(t *testing.T, h *platHarness) int {
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM datahub.ingested_rows WHERE dataset = 'entities'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// FP-116: each auth kind is spoken as the simulator checks it; a test
// writes nothing; a run pages through and writes every row; a re-run
// writes nothing; a changed record is the only row written next.
func TestRunnerAuthKindsPagingIdempotent(t *testing.T) {
	h := newPlatHarness(t, 5)
	p := h.platform(t, "食品安全追溯平台")
	for _, in := range []PlatformIfaceInput{
		{Address: h.url + "/open/enterprises"},
		{Address: h.url + "/apikey/enterprises", AuthKind: AuthAPIKey, Secret: "key-1234567890"},
		{Address: h.url + "/hmac/enterprises", AuthKind: AuthHMAC, Auth: AuthParams{KeyID: "kid-1"}, Secret: "hmac-secret-abcdef"},
		{Address: h.url + "/hmac/enterprises", Method: "POST", Name: "签名 POST", AuthKind: AuthHMAC, Auth: AuthParams{KeyID: "kid-1"}, Secret: "hmac-secret-abcdef"},
		{Address: h.url + "/oauth/enterprises", AuthKind: AuthOAuth2, Auth: AuthParams{TokenURL: h.url + "/oauth/token", ClientID: "client-1"}, Secret: "client-secret-xyz"},
	} {
		t.Run(in.AuthKind+in.Method, func(t *testing.T) {
			h.pool.Exec(context.Background(), `DELETE FROM datahub.ingested_rows`)
			h.sim.SetRecords(simRecords(5))
			in.PageParam, in.Params = "page", map[string]string{"page_size": "2"}
			c := h.config(t, p, in)
			test := h.act(t, c.ID, "test")
			if !test.OK || test.Calls != 1 || len(test.Preview) != 2 || test.RowsWritten != 0 || ingestedCount(t, h) != 0 {
				t.Fatalf("test: %+v", test)
			}
			if test.Preview[0]["established_on"] != "2021-01-15" || test.Preview[0]["registered_capital"] != 100.5 {
				t.Errorf("mapped types: %v", test.Preview[0])
			}
			c = h.tested(t, c)
			res := h.act(t, c.ID, "run")
			// pages 1–3 hold 2, 2 and 1 rows; page 4 is empty and ends the run.
			if !res.OK || res.RowsRead != 5 || res.RowsWritten != 5 || res.Calls != 4 || ingestedCount(t, h) != 5 {
				t.Fatalf("run: %+v", res)
			}
			if again := h.act(t, c.ID, "run"); !again.OK || again.RowsRead != 5 || again.RowsWritten != 0 {
				t.Fatalf("re-run wrote: %+v", again)
			}
			recs := simRecords(5)
			recs[3].Capital = "999"
			h.sim.SetRecords(recs)
			if next := h.act(t, c.ID, "run"); next.RowsWritten != 1 {
				t.Fatalf("one changed record: %+v", next)
			}
			var capital float64
			h.pool.QueryRow(context.Background(), `SELECT (data->>'registered_capital')::float FROM datahub.ingested_rows WHERE key = $1`, simCode(3)).Scan(&capital)
			if capital != 999 {
				t.Errorf("changed row: %v", capital)
			}
			for _, call := range h.sim.Calls() {
				if strings.HasSuffix(call.Path, "/enterprises") && call.Status != 200 {
					t.Errorf("the simulator refused a call: %+v", call.Reason)
				}
			}
		})
	}
	// A record with a bad credit code or without its key is not written, and the log says why.
	recs := simRecords(3)
	recs[1].USCC = "91130102MA0000011X"
	recs[2].USCC = ""
	h.sim.SetRecords(recs)
	h.pool.Exec(context.Background(), `DELETE FROM datahub.ingested_rows`)
	c := h.tested(t, h.config(t, p, PlatformIfaceInput{Name: "校验", Address: h.url + "/open/enterprises"}))
	res := h.act(t, c.ID, "run")
	if !res.OK || res.RowsWritten != 1 || res.Rejected != 2 || !strings.Contains(res.Message, "2 行不合格") {
		t.Fatalf("rejected rows: %+v", res)
	}
	var msg string
	h.pool.QueryRow(context.Background(), `SELECT error FROM datahub.platform_logs WHERE id = $1`, res.LogIDs[0]).Scan(&msg)
	if !strings.Contains(msg, "统一社会信用代码") || !strings.Contains(msg, "不合规") {
		t.Errorf("log note: %q", msg)
	}
}

// FP-116: simulator errors are retried with a doubling wait (or the
// platform's Retry-After); a run that still fails backs its schedule off,
// doubling per failure in a row; a success puts it back on time.
func TestRunnerRetriesAndBackoff(t *testing.T) {
	h := newPlatHarness(t, 2)
	p := h.platform(t, "食品安全追溯平台")
	c := h.tested(t, h.config(t, p, PlatformIfaceInput{Address: h.url + "/apikey/enterprises", AuthKind: AuthAPIKey, Secret: "key-1234567890",
		ScheduleKind: "interval", Schedule: "60"}))
	h.waits = nil
	h.sim.FailNext(0, 503, 502)
	res := h.act(t, c.ID, "run")
	gap := h.f.cfg.PlatformRetryGap
	if !res.OK || res.Calls != 3 || res.RowsWritten != 2 || len(h.waits) != 2 || h.waits[0] != gap || h.waits[1] != 2*gap {
		t.Fatalf("retried run: %+v waits %v", res, h.waits)
	}
	h.waits = nil
	h.sim.FailNext(7, 429)
	if res := h.act(t, c.ID, "run"); !res.OK || len(h.waits) != 1 || h.waits[0] != 7*time.Second {
		t.Fatalf("Retry-After: %+v %v", res, h.waits)
	}
	back := h.f.cfg.PlatformBackoff
	for i, want := range []time.Duration{back, 2 * back, 4 * back} {
		h.sim.FailNext(0, 503, 503, 503)
		res := h.act(t, c.ID, "run")
		var got PlatformIface
		h.json(t, "GET", fmt.Sprintf("/datahub/v1/platform-interfaces/%d", c.ID), nil, &got)
		if res.OK || res.Calls != 3 || !strings.Contains(res.Message, "HTTP 503") || got.Failures != i+1 || !got.NextRunAt.Equal(h.now.Add(want)) || got.LastStatus != "failed" {
			t.Fatalf("failure %d: %+v next %v failures %d", i+1, res, got.NextRunAt, got.Failures)
		}
	}
	// A 401 is not retried: the credential is wrong, waiting will not help.
	h.sim.APIKey = "rotated"
	if res := h.act(t, c.ID, "run"); res.OK || res.Calls != 1 {
		t.Errorf("401 retried: %+v", res)
	}
	h.sim.APIKey = "key-1234567890"
	h.act(t, c.ID, "run")
	var got PlatformIface
	h.json(t, "GET", fmt.Sprintf("/datahub/v1/platform-interfaces/%d", c.ID), nil, &got)
	if got.Failures != 0 || !got.NextRunAt.Equal(h.now.Add(time.Hour)) {
		t.Errorf("after a success: failures %d next %v", got.Failures, got.NextRunAt)
	}
}

func pingEvent(t *testing.T, task string) event.Event {
	e := event.New()
	e.SetID("ping-" + task)
	e.SetType(events.Ping)
	e.SetSource("/apis/v1/namespaces/smartreg/pingsources/datahub-platforms")
	if err := e.SetData("application/json", map[string]string{"task": task}); err != nil {
		t.Fatal(err)
	}
	return e
}

// FP-116: the PingSource tick runs the configurations that are 已联调,
// scheduled and due, and no others; a second tick at the same time runs
// nothing (the next run moved on).
func TestPingRunsDueConfigurations(t *testing.T) {
	h := newPlatHarness(t, 3)
	p := h.platform(t, "食品安全追溯平台")
	due := h.tested(t, h.config(t, p, PlatformIfaceInput{Name: "定时", Address: h.url + "/open/enterprises", ScheduleKind: "cron", Schedule: "*/10 * * * *"}))
	h.tested(t, h.config(t, p, PlatformIfaceInput{Name: "手动", Address: h.url + "/open/enterprises"}))
	h.config(t, p, PlatformIfaceInput{Name: "未联调", Address: h.url + "/open/enterprises", ScheduleKind: "interval", Schedule: "1"})
	if _, err := h.f.Receive(context.Background(), pingEvent(t, PlatformPingTask)); err != nil {
		t.Fatal(err)
	}
	if n := ingestedCount(t, h); n != 0 {
		t.Fatalf("ran before due: %d rows", n)
	}
	h.now = h.now.Add(10 * time.Minute)
	if _, err := h.f.Receive(context.Background(), pingEvent(t, PlatformPingTask)); err != nil {
		t.Fatal(err)
	}
	var scheduled, runs int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE trigger = 'schedule'), count(DISTINCT config_id) FILTER (WHERE trigger = 'schedule')
		FROM datahub.platform_logs`).Scan(&scheduled, &runs)
	if ingestedCount(t, h) != 3 || scheduled != 1 || runs != 1 {
		t.Fatalf("tick: rows %d, scheduled calls %d of %d configurations", ingestedCount(t, h), scheduled, runs)
	}
	if _, err := h.f.Receive(context.Background(), pingEvent(t, PlatformPingTask)); err != nil {
		t.Fatal(err)
	}
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM datahub.platform_logs WHERE trigger = 'schedule' AND config_id = $1`, due.ID).Scan(&scheduled)
	if scheduled != 1 {
		t.Errorf("a second tick ran again: %d", scheduled)
	}
	if _, err := h.f.Receive(context.Background(), pingEvent(t, "something-else")); err != nil {
		t.Errorf("another task: %v", err)
	}
}

// FP-116: without an allow-list entry the runner refuses loopback and
// private addresses (by name too), before anything is sent, and logs why.
func TestRunnerRefusesInternalAddresses(t *testing.T) {
	h := newPlatHarness(t, 1)
	h.f.plat.allow = nil // the production default
	p := h.platform(t, "内网平台")
	for _, addr := range []string{h.url + "/open/enterprises", strings.Replace(h.url, "127.0.0.1", "localhost", 1) + "/open/enterprises",
		"http://10.1.2.3/api", "http://169.254.169.254/latest/meta-data"} {
		c := h.config(t, p, PlatformIfaceInput{Name: addr, Address: addr})
		res := h.act(t, c.ID, "test")
		if res.OK || !strings.Contains(res.Message, "拒绝访问内部网络地址") || !strings.Contains(res.Message, "DATAHUB_PLATFORM_ALLOW_NETS") || res.Calls != 1 {
			t.Errorf("%s: %+v", addr, res)
		}
	}
	if n := len(h.sim.Calls()); n != 0 {
		t.Errorf("the simulator was reached %d times", n)
	}
	var n int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM datahub.platform_logs WHERE NOT ok AND error LIKE '拒绝访问内部网络地址%'`).Scan(&n)
	if n != 4 {
		t.Errorf("refusals logged: %d", n)
	}
}

// FP-117: every call is logged with its request and answer, secrets
// redacted even where the platform echoes them; the log is searched by
// platform, configuration, result and text, and exported.
func TestInteractionLogRedactedSearchExport(t *testing.T) {
	h := newPlatHarness(t, 2)
	h.sim.EchoKey = true
	p := h.platform(t, "食品安全追溯平台")
	q := h.platform(t, "特种设备监管平台")
	key := h.tested(t, h.config(t, p, PlatformIfaceInput{Address: h.url + "/apikey/enterprises", AuthKind: AuthAPIKey, Secret: "key-1234567890"}))
	oauth := h.tested(t, h.config(t, q, PlatformIfaceInput{Address: h.url + "/oauth/enterprises", AuthKind: AuthOAuth2,
		Auth: AuthParams{TokenURL: h.url + "/oauth/token", ClientID: "client-1"}, Secret: "client-secret-xyz"}))
	h.act(t, key.ID, "run")
	h.act(t, oauth.ID, "run")
	h.sim.FailNext(0, 500, 500, 500)
	h.act(t, key.ID, "run")
	var dump string
	h.pool.QueryRow(context.Background(), `SELECT string_agg(url || request || response || error, '|') FROM datahub.platform_logs`).Scan(&dump)
	var tokens []string
	for _, c := range h.sim.Calls() {
		if tok, ok := strings.CutPrefix(c.Headers.Get("Authorization"), "Bearer "); ok {
			tokens = append(tokens, tok)
		}
	}
	if len(tokens) == 0 {
		t.Fatal("no bearer call reached the simulator")
	}
	for _, secret := range append(tokens, "key-1234567890", "client-secret-xyz") {
		if strings.Contains(dump, secret) {
			t.Fatalf("a secret is in the log: %s", secret)
		}
	}
	if !strings.Contains(dump, "X-Api-Key: ***") || !strings.Contains(dump, "Authorization: ***") || !strings.Contains(dump, `"x_api_key":"***"`) {
		t.Fatalf("redaction marks missing: %s", dump)
	}
	var page struct {
		Items []PlatformLog
		Total int
	}
	for query, want := range map[string]int{"": 7, fmt.Sprintf("?platform_id=%d", q.ID): 2, fmt.Sprintf("?config_id=%d", key.ID): 5,
		"?ok=false": 3, "?q=HTTP 500": 3, "?from=2026-12-02&to=2026-12-02": 7, "?from=2026-12-03": 0} {
		if st := h.json(t, "GET", "/datahub/v1/platform-logs"+strings.ReplaceAll(query, " ", "%20"), nil, &page); st != 200 || page.Total != want {
			t.Errorf("log %q: %d total %d, want %d", query, st, page.Total, want)
		}
	}
	var one PlatformLog
	h.json(t, "GET", "/datahub/v1/platform-logs?ok=true&page_size=1", nil, &page)
	if st := h.json(t, "GET", fmt.Sprintf("/datahub/v1/platform-logs/%d", page.Items[0].ID), nil, &one); st != 200 || one.Status != 200 || one.RowsRead != 2 ||
		!strings.Contains(one.Response, "三方00食品有限公司") || one.Request == "" {
		t.Errorf("one log row: %d %+v", st, one)
	}
	rec := h.do(t, h.admin, "GET", "/datahub/v1/platform-logs?format=csv&ok=false", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "耗时（毫秒）") || strings.Count(rec.Body.String(), "HTTP 500") != 3 || strings.Contains(rec.Body.String(), "key-1234567890") {
		t.Errorf("export: %d %s", rec.Code, rec.Body)
	}
	viewer := h.iss.Bearer(authtest.InDistricts([]string{"datahub.platformlog:view"}, "130102"))
	if rec := h.do(t, viewer, "GET", "/datahub/v1/platform-logs?format=csv", nil); rec.Code != 403 {
		t.Errorf("export without the right: %d", rec.Code)
	}
	if rec := h.do(t, h.admin, "GET", "/datahub/v1/platform-logs?ok=maybe&from=2026-13-01", nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "日期格式不正确") {
		t.Errorf("bad filters: %d %s", rec.Code, rec.Body)
	}
	// A configuration with logs cannot be deleted: the trail stays.
	if rec := h.do(t, h.admin, "DELETE", fmt.Sprintf("/datahub/v1/platform-interfaces/%d", key.ID), nil); rec.Code != 409 {
		t.Errorf("delete with logs: %d", rec.Code)
	}
}
