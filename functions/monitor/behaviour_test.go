package monitor

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

// behaviourWorld is a harness with online objects in three districts,
// through the contract stub of crawlershard.online_objects.
func behaviourWorld(t *testing.T) harness {
	t.Helper()
	h := newHarness(t)
	if _, err := h.f.pool.Exec(t.Context(), contractStub); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.pool.Exec(t.Context(), `INSERT INTO crawlershard.stub_online_objects VALUES
		(1, 'http://s1.farm.test/p/1', 'product', '有机绿茶礼盒', 99, '高山有机绿茶，明前采摘，礼盒装。', '长安茶行', '91130102100000011X', '长安区', '网店', true, '2026-11-20 10:00+08'),
		(2, 'http://s1.farm.test/p/2', 'product', '普洱茶饼', 260, '云南普洱茶，十年陈，收藏佳品。', '长安茶行', '91130102100000011X', '长安区', '网店', true, '2026-11-25 10:00+08'),
		(3, 'http://s2.farm.test/p/1', 'product', '绿茶袋泡茶', 19.9, '办公室袋泡绿茶，便捷冲泡。', '桥西茶社', '', '桥西区', '外卖平台', false, '2026-11-26 10:00+08'),
		(4, 'http://s3.farm.test/about', 'page', '关于我们', NULL, '本公司经营各类有机食品与绿茶。', '新华商贸', '', '新华区', '网站', true, '2026-10-01 10:00+08'),
		(5, 'http://s3.farm.test/p/9', 'product', '𠮷祥绿茶', 58, '𠮷祥牌有机绿茶。', '新华商贸', '', '新华区', '网站', true, '2026-11-27 10:00+08')`); err != nil {
		t.Fatal(err)
	}
	return h
}

type hitPage struct {
	Items []BehaviourHit `json:"items"`
	Total int            `json:"total"`
}

func (h harness) search(t *testing.T, bearer, query string) (hitPage, *http.Response) {
	t.Helper()
	rec := h.do(t, bearer, "GET", "/monitor/v1/behaviour?"+query, nil)
	var p hitPage
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
	}
	return p, rec.Result()
}

func ids(p hitPage) string {
	var s []string
	for _, h := range p.Items {
		s = append(s, strconv.FormatInt(h.ObjectID, 10))
	}
	return strings.Join(s, ",")
}

// FP-86: keywords (all of them), conditions and the caller's scope decide
// what is found, newest first, with the text around the keyword.
func TestBehaviourSearchConditionsAndScope(t *testing.T) {
	h := behaviourWorld(t)
	city := h.iss.Bearer(authtest.CityWide(PermBehaviour+":view", PermBehaviour+":export"))
	for _, c := range []struct{ query, want string }{
		{"q=" + url.QueryEscape("绿茶"), "5,3,1,4"},
		{"q=" + url.QueryEscape("有机 绿茶"), "5,1,4"},
		{"q=" + url.QueryEscape("绿茶") + "&kind=product", "5,3,1"},
		{"q=" + url.QueryEscape("绿茶") + "&district=" + url.QueryEscape("长安区,桥西区"), "3,1"},
		{"platform=" + url.QueryEscape("外卖平台"), "3"},
		{"price_min=50&price_max=100", "5,1"},
		{"updated_from=2026-11-25&updated_to=2026-11-26", "3,2"},
		{"no_licence=true", "3"},
		{"entity=91130102100000011x", "2,1"},
		{"q=" + url.QueryEscape("𠮷祥"), "5"},
		{"q=" + url.QueryEscape("100%"), ""},
		{"q=" + url.QueryEscape("S1.FARM"), ""},
	} {
		p, res := h.search(t, city, c.query)
		if res.StatusCode != http.StatusOK || ids(p) != c.want || p.Total != len(p.Items) {
			t.Errorf("%s: %d got [%s] total %d, want [%s]", c.query, res.StatusCode, ids(p), p.Total, c.want)
		}
	}
	// Past the count's cap the page says "at least".
	defer func(m int) { maxCount = m }(maxCount)
	maxCount = 2
	rec := h.do(t, city, "GET", "/monitor/v1/behaviour?q="+url.QueryEscape("绿茶"), nil)
	var capped HitPage
	if json.Unmarshal(rec.Body.Bytes(), &capped); capped.Total != 2 || capped.TotalExact || len(capped.Items) != 4 {
		t.Errorf("capped: %s", rec.Body)
	}
	maxCount = 2000
	rec = h.do(t, city, "GET", "/monitor/v1/behaviour?q="+url.QueryEscape("绿茶"), nil)
	if json.Unmarshal(rec.Body.Bytes(), &capped); capped.Total != 4 || !capped.TotalExact {
		t.Errorf("exact: %s", rec.Body)
	}
	p, _ := h.search(t, city, "q="+url.QueryEscape("普洱"))
	if len(p.Items) != 1 || !strings.Contains(p.Items[0].Snippet, "普洱茶") || p.Items[0].Price == nil || *p.Items[0].Price != 260 {
		t.Errorf("hit: %+v", p.Items)
	}

	// A district user sees their district; a user narrowed to some
	// townships of it sees none of its objects (they carry no township).
	changan := h.iss.Bearer(authtest.InDistricts([]string{PermBehaviour + ":view"}, "130102"))
	if p, _ := h.search(t, changan, "q="+url.QueryEscape("茶")); ids(p) != "2,1" {
		t.Errorf("长安区 user found [%s]", ids(p))
	}
	if p, _ := h.search(t, changan, "district="+url.QueryEscape("新华区")); p.Total != 0 {
		t.Errorf("长安区 user asked for 新华区 and found [%s]", ids(p))
	}
	town := h.iss.Bearer(auth.Principal{UserID: "t", Perms: []string{PermBehaviour + ":view"},
		Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}, Townships: []string{"130102001"}}})
	if p, _ := h.search(t, town, ""); p.Total != 0 {
		t.Errorf("township user found [%s]", ids(p))
	}
	if _, res := h.search(t, "", "q=x"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", res.StatusCode)
	}
	if _, res := h.search(t, h.iss.Bearer(authtest.CityWide(PermClue+":view")), "q=x"); res.StatusCode != http.StatusForbidden {
		t.Errorf("no permission: %d", res.StatusCode)
	}

	// Bad conditions name the part at fault, in Chinese.
	for query, field := range map[string]string{
		"updated_from=2026-13-01":                       "updated_from",
		"updated_from=2026-11-02&updated_to=2026-11-01": "updated_to",
		"district=" + url.QueryEscape("火星区"):            "district",
		"kind=video":                          "kind",
		"price_min=abc":                       "price_min",
		"price_min=9&price_max=1":             "price_max",
		"q=" + url.QueryEscape("a b c d e f"): "q",
	} {
		rec := h.do(t, city, "GET", "/monitor/v1/behaviour?"+query, nil)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"`+field+`"`) {
			t.Errorf("%s: %d %s", query, rec.Code, rec.Body)
		}
	}

	// The export holds the same rows as the search.
	rec = h.do(t, city, "GET", "/monitor/v1/behaviour/export?format=csv&q="+url.QueryEscape("绿茶"), nil)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rec.Body.String(), "\ufeff"))).ReadAll()
	if rec.Code != http.StatusOK || err != nil || len(rows) != 5 || rows[1][1] != "𠮷祥绿茶" || rows[2][9] != "未公示" {
		t.Errorf("export: %d %v %q", rec.Code, err, rows)
	}
	if rec := h.do(t, changan, "GET", "/monitor/v1/behaviour/export?format=csv", nil); rec.Code != http.StatusForbidden {
		t.Errorf("export without the permission: %d", rec.Code)
	}
}

// FP-86: a saved search runs on the schedule in the scope its owner had,
// tells the owner of new hits only, once per tick; nobody else may run,
// read or delete it; saving and deleting are in the operation log.
func TestSavedSearchRunsOnSchedule(t *testing.T) {
	h := behaviourWorld(t)
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, cst)
	h.f.now = func() time.Time { return now }
	owner := h.iss.Bearer(authtest.InDistricts([]string{PermBehaviour + ":view"}, "130102"))
	other := h.iss.Bearer(authtest.CityWide(PermBehaviour + ":view"))
	if rec := h.do(t, owner, "POST", "/monitor/v1/behaviour/searches", map[string]any{"name": " ", "interval_hours": 1000}); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "interval_hours") {
		t.Fatalf("bad search: %d %s", rec.Code, rec.Body)
	}
	rec := h.do(t, owner, "POST", "/monitor/v1/behaviour/searches", map[string]any{"name": "茶叶", "interval_hours": 24,
		"conditions": map[string]any{"q": "茶"}})
	var s SavedSearch
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || rec.Code != http.StatusCreated || s.NextRunAt == nil {
		t.Fatalf("save: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, owner, "POST", "/monitor/v1/behaviour/searches", map[string]any{"name": "茶叶", "conditions": map[string]any{}}); rec.Code != http.StatusBadRequest {
		t.Errorf("same name twice: %d %s", rec.Code, rec.Body)
	}
	path := "/monitor/v1/behaviour/searches/" + itoa(s.ID)
	for _, m := range []string{"POST " + path + "/run", "GET " + path + "/runs", "DELETE " + path} {
		method, p, _ := strings.Cut(m, " ")
		if rec := h.do(t, other, method, p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("another user %s: %d", m, rec.Code)
		}
	}
	if rec := h.do(t, other, "GET", "/monitor/v1/behaviour/searches", nil); strings.Contains(rec.Body.String(), "茶叶") {
		t.Errorf("another user lists it: %s", rec.Body)
	}

	tick := func(id string) {
		t.Helper()
		e := event.New()
		e.SetID(id)
		e.SetSource("/apis/v1/namespaces/smartreg/pingsources/" + ScheduleTask)
		e.SetType(events.Ping)
		_ = e.SetData(event.ApplicationJSON, map[string]string{"task": ScheduleTask})
		if _, err := h.f.Receive(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	notices := func() []events.NoticeRequestedData {
		rows, err := h.f.pool.Query(t.Context(), `SELECT event->'data' FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, events.NotifyNoticeRequested)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []events.NoticeRequestedData
		for rows.Next() {
			var raw []byte
			var d events.NoticeRequestedData
			if err := rows.Scan(&raw); err != nil || json.Unmarshal(raw, &d) != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}

	tick("t1") // not due yet
	if n := notices(); len(n) != 0 {
		t.Fatalf("ran before it was due: %+v", n)
	}
	now = now.Add(25 * time.Hour)
	tick("t2")
	tick("t2") // redelivered
	n := notices()
	if len(n) != 1 || !strings.Contains(n[0].Title, "2 条新结果") || len(n[0].Target.UserIDs) != 1 || n[0].Target.UserIDs[0] != "district-user" {
		t.Fatalf("first scheduled run (the owner's 长安区 only): %+v", n)
	}
	now = now.Add(25 * time.Hour)
	tick("t3") // nothing new: no notice
	if _, err := h.f.pool.Exec(t.Context(), `INSERT INTO crawlershard.stub_online_objects VALUES
		(6, 'http://s1.farm.test/p/3', 'product', '红茶', 30, '祁门红茶。', '长安茶行', '', '长安区', '网店', true, $1),
		(7, 'http://s2.farm.test/p/3', 'product', '花茶', 30, '茉莉花茶。', '桥西茶社', '', '桥西区', '网店', true, $1)`, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(25 * time.Hour)
	tick("t4")
	if n := notices(); len(n) != 2 || !strings.Contains(n[1].Title, "1 条新结果") {
		t.Fatalf("after a new 长安区 object (and one outside the scope): %+v", n)
	}
	rec = h.do(t, owner, "GET", path+"/runs", nil)
	var runs []SearchRun
	if err := json.Unmarshal(rec.Body.Bytes(), &runs); err != nil || len(runs) != 3 || runs[0].Hits != 3 || runs[0].NewHits != 1 ||
		runs[0].Trigger != "schedule" || runs[2].NewHits != 2 {
		t.Fatalf("runs: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, owner, "POST", path+"/run", nil)
	var run SearchRun
	if err := json.Unmarshal(rec.Body.Bytes(), &run); err != nil || run.Trigger != "manual" || run.Hits != 3 || run.NewHits != 0 {
		t.Fatalf("manual run: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, owner, "DELETE", path, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	ops := auditlogtest.Ops(t, h.f.pool, itoa(s.ID))
	if len(ops) != 2 || ops[0].Action != "monitor.search.create" || ops[1].Action != "monitor.search.delete" ||
		auditlogtest.Field(ops[0].After, "name") != "茶叶" || auditlogtest.Field(ops[1].Before, "name") != "茶叶" || ops[0].UserID != "district-user" {
		t.Errorf("op log: %+v", ops)
	}
}
