package policymatch

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// outboxEvents are the recorded events of a type, in order.
func (h harness) outboxEvents(t *testing.T, typ string) []event.Event {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT event FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, typ)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var e event.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func (h harness) deliver(t *testing.T, e event.Event) {
	t.Helper()
	if _, err := h.f.Receive(context.Background(), e); err != nil {
		t.Fatalf("receive %s: %v", e.Type(), err)
	}
}

func (h harness) bindUser(t *testing.T, user, code string) {
	t.Helper()
	if _, err := h.f.Bind(context.Background(), admin, authAll, BindInput{UserID: user, Username: user, CreditCode: code}); err != nil {
		t.Fatal(err)
	}
}

// FP-63: publishing fans the policy out to its matching entities in
// batches (policy.matched, up to POLICY_FANOUT_BATCH codes each), and the
// enterprise users bound to them get a notice with the way to apply
// (FP-64). Every delivery is idempotent.
func TestPublishFansOutInBatches(t *testing.T) {
	h := newHarness(t)
	h.f.cfg.FanoutBatch = 2
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	var codes []string
	for range 5 {
		codes = append(codes, h.addEntity(t, entity{industry: "6513", district: "130104"}))
	}
	h.addEntity(t, entity{industry: "1311"})
	h.bindUser(t, "u-ent-1", codes[0])
	p := h.createPolicy(t, bearer, map[string]any{"title": "软件企业研发投入奖补办法", "issuer": "石家庄市科学技术局",
		"apply_url": "https://kjj.sjz.example.gov.cn/apply", "apply_platform": "石家庄市科技业务综合管理平台",
		"condition": map[string]any{"industries": []string{"65"}}}, true)
	pub := h.outboxEvents(t, events.PolicyPublished)
	if len(pub) != 1 || pub[0].Subject() != strconv.FormatInt(p.ID, 10) {
		t.Fatalf("policy.published: %d", len(pub))
	}
	// Deliver the chain: each step announces a batch and emits the next.
	for i := 0; i < 10; i++ {
		evs := h.outboxEvents(t, events.PolicyPublished)
		if i >= len(evs) {
			break
		}
		h.deliver(t, evs[i])
		h.deliver(t, evs[i]) // a redelivery changes nothing
	}
	steps := h.outboxEvents(t, events.PolicyPublished)
	matched := h.outboxEvents(t, events.PolicyMatched)
	if len(steps) != 3 || len(matched) != 3 {
		t.Fatalf("%d steps and %d policy.matched events, want 3 and 3 (5 entities in batches of 2)", len(steps), len(matched))
	}
	seen := map[string]bool{}
	for _, e := range matched {
		d, err := events.Decode[events.PolicyMatchedData](e)
		if err != nil {
			t.Fatal(err)
		}
		if d.ApplyURL != "https://kjj.sjz.example.gov.cn/apply" || d.Reason != "publish" || len(d.CreditCodes) > 2 {
			t.Errorf("policy.matched %+v", d)
		}
		for _, c := range d.CreditCodes {
			if seen[c] {
				t.Errorf("%s announced twice", c)
			}
			seen[c] = true
		}
	}
	if len(seen) != 5 || tableCount(t, h.pool, "policy.matches") != 5 {
		t.Errorf("%d announced, %d matches recorded", len(seen), tableCount(t, h.pool, "policy.matches"))
	}
	notices := h.outboxEvents(t, events.NotifyNoticeRequested)
	if len(notices) != 1 {
		t.Fatalf("%d notices, want one for the one bound user", len(notices))
	}
	n, _ := events.Decode[events.NoticeRequestedData](notices[0])
	if n.Target.UserIDs[0] != "u-ent-1" || !strings.Contains(n.Body, "https://kjj.sjz.example.gov.cn/apply") ||
		n.Link != "/console/#/policy/mine?policy="+strconv.FormatInt(p.ID, 10) {
		t.Errorf("notice %+v", n)
	}

	// Withdrawn, a stale step does nothing.
	if rec := h.do(t, bearer, "PUT", "/policy/v1/policies/"+strconv.FormatInt(p.ID, 10)+"/status", map[string]string{"status": "withdrawn"}); rec.Code != 200 {
		t.Fatal(rec.Body)
	}
	stale := pub[0].Clone()
	stale.SetID("another-delivery")
	h.deliver(t, stale)
	if len(h.outboxEvents(t, events.PolicyMatched)) != 3 {
		t.Error("a withdrawn policy fanned out")
	}
}

func entityEvent(t *testing.T, typ, code string) event.Event {
	t.Helper()
	ent := events.Entity{CreditCode: code, Name: "x", EntityType: "enterprise", Status: "active", Version: 2}
	var data any = events.EntityUpdatedData{Entity: ent, Changed: []string{"industry_code"}, UpdatedAt: testNow}
	if typ == events.EntityRegistered {
		data = events.EntityRegisteredData{Entity: ent, RegisteredAt: testNow}
	}
	e, err := outbox.NewEvent("/functions/registry", typ, code, data, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// FP-62: entity.registered and entity.updated rematch that entity: it is
// announced once for each policy it newly matches, its bound user is told
// why, and its derived facts are refreshed.
func TestEntityEventsRematch(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	p := h.createPolicy(t, bearer, map[string]any{"title": "餐饮企业纾困补贴", "issuer": "石家庄市商务局",
		"condition": map[string]any{"industries": []string{"62"}, "sizes": []string{"small", "micro"}}}, true)
	code := h.addEntity(t, entity{industry: "1311", year: 2024, employees: 5, revenue: 50})
	h.bindUser(t, "u-ent-2", code)

	h.deliver(t, entityEvent(t, events.EntityRegistered, code))
	if n := len(h.outboxEvents(t, events.PolicyMatched)); n != 0 {
		t.Fatalf("a food manufacturer matched a catering policy: %d", n)
	}
	var size string
	if err := h.pool.QueryRow(context.Background(), `SELECT size FROM policy.entity_facts WHERE credit_code = $1`, code).Scan(&size); err != nil || size != "micro" {
		t.Fatalf("facts: %q %v", size, err)
	}
	// The entity changes trade: it now matches.
	if _, err := h.pool.Exec(context.Background(), `UPDATE registry.stub_policy_subjects SET industry_code = '6210' WHERE credit_code = $1`, code); err != nil {
		t.Fatal(err)
	}
	upd := entityEvent(t, events.EntityUpdated, code)
	h.deliver(t, upd)
	h.deliver(t, upd)
	again := entityEvent(t, events.EntityUpdated, code) // another change, same match
	h.deliver(t, again)
	matched := h.outboxEvents(t, events.PolicyMatched)
	if len(matched) != 1 {
		t.Fatalf("%d policy.matched, want 1", len(matched))
	}
	d, _ := events.Decode[events.PolicyMatchedData](matched[0])
	if d.PolicyID != p.ID || d.Reason != "entity.updated" || d.CreditCodes[0] != code {
		t.Errorf("%+v", d)
	}
	notices := h.outboxEvents(t, events.NotifyNoticeRequested)
	if len(notices) != 1 {
		t.Fatalf("%d notices", len(notices))
	}
	n, _ := events.Decode[events.NoticeRequestedData](notices[0])
	if !strings.Contains(n.Body, "行业 H62 符合；小微企业") {
		t.Errorf("notice body %q", n.Body)
	}
	// An unknown entity is acknowledged.
	h.deliver(t, entityEvent(t, events.EntityUpdated, "91130100MA0000ZZZZ"))
}

// policy → entities reads policy.subjects, the copy the entity events
// keep: each change of the registry reaches the counts with its event,
// and an entity the registry no longer answers for leaves them.
func TestEntityEventsKeepTheMatchCopy(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	p := h.createPolicy(t, bearer, map[string]any{"title": "长安区小微企业补贴", "issuer": "石家庄市长安区人民政府",
		"condition": map[string]any{"districts": []string{"130102"}, "sizes": []string{"small", "micro"}, "not_abnormal": true, "not_blacklisted": true}}, true)
	a := h.addEntity(t, entity{industry: "5212", district: "130102", year: 2024, employees: 5, revenue: 50})
	b := h.addEntity(t, entity{industry: "5212", district: "130102", year: 2024, employees: 6, revenue: 60})
	total := func() int64 {
		t.Helper()
		res, err := h.f.MatchPolicy(ctx, auth.All(), p.ID, 1, 20)
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	if n := total(); n != 2 {
		t.Fatalf("%d matches, want 2", n)
	}
	change := func(sql, code string, want int64, why string) {
		t.Helper()
		if _, err := h.pool.Exec(ctx, `UPDATE registry.stub_policy_subjects SET `+sql+` WHERE credit_code = $1`, code); err != nil {
			t.Fatal(err)
		}
		h.deliver(t, entityEvent(t, events.EntityUpdated, code))
		if n := total(); n != want {
			t.Errorf("%s: %d matches, want %d", why, n, want)
		}
	}
	change(`abnormal = true`, a, 1, "a put on the abnormal list")
	change(`abnormal = false, district_code = '130104'`, a, 1, "a removed from the list, moved to 桥西区")
	change(`district_code = '130102', employees = 400, revenue = 50000`, a, 1, "a back in 长安区 but grown large")
	change(`employees = 5, revenue = 50`, a, 2, "a small again")
	// A blacklist entry counts until its last day, with no event when it ends.
	today := h.f.today()
	change(`blacklisted_until = '`+today.Format(time.DateOnly)+`'`, b, 1, "b blacklisted until today")
	change(`blacklisted_until = '`+today.AddDate(0, 0, -1).Format(time.DateOnly)+`'`, b, 2, "b's blacklist ended yesterday")
	change(`status = 'revoked'`, b, 1, "b revoked")
	if _, err := h.pool.Exec(ctx, `DELETE FROM registry.stub_policy_subjects WHERE credit_code = $1`, a); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, entityEvent(t, events.EntityUpdated, a))
	if n := total(); n != 0 {
		t.Errorf("a gone from the registry: %d matches, want 0", n)
	}
}

// FP-59: the daily tick recomputes the timeliness labels from today.
func TestDailyTickRecomputesTimeliness(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	p := h.createPolicy(t, bearer, map[string]any{"title": "某奖补政策", "effective_on": "2025-01-01", "expires_on": "2025-08-15"}, false)
	if p.Effective[DimTimeliness] != "已生效" {
		t.Fatalf("timeliness %s", p.Effective[DimTimeliness])
	}
	h.f.now = func() time.Time { return testNow.AddDate(0, 0, 20) }
	tick, _ := outbox.NewEvent("/apis/v1/namespaces/smartreg/pingsources/policy-match-daily", events.Ping, "", events.PingData{"task": "policy-daily"}, testNow)
	h.deliver(t, tick)
	got, _ := h.f.Get(context.Background(), p.ID)
	if got.Effective[DimTimeliness] != "即将过期" || !strings.Contains(got.Labels[DimTimeliness].Reason, "还剩 26 天") {
		t.Errorf("after 20 days: %+v", got.Labels[DimTimeliness])
	}
	h.f.now = func() time.Time { return testNow.AddDate(0, 2, 0) }
	tick2, _ := outbox.NewEvent("/apis/v1/namespaces/smartreg/pingsources/policy-match-daily", events.Ping, "", events.PingData{"task": "policy-daily"}, testNow)
	h.deliver(t, tick2)
	got, _ = h.f.Get(context.Background(), p.ID)
	if got.Effective[DimTimeliness] != "已过期" {
		t.Errorf("after two months: %s", got.Effective[DimTimeliness])
	}
	other, _ := outbox.NewEvent("/x", events.Ping, "", events.PingData{"task": "refresh-stats"}, testNow)
	h.deliver(t, other)
}

// FP-62, FP-64: the enterprise user sees its own entity's matches with
// reasons and the application link; an unbound user is told to get bound;
// binding needs the entity in the binder's scope.
func TestEnterpriseSeesItsMatches(t *testing.T) {
	h := newHarness(t)
	bearer := h.iss.Bearer(authtest.CityWide(allPerms...))
	code := h.addEntity(t, entity{typ: "individual", industry: "6291", district: "130104", name: "桥西区老王面馆"})
	h.createPolicy(t, bearer, map[string]any{"title": "个体工商户房租补贴", "apply_url": "https://hqzc.sjz.example.gov.cn/fz",
		"condition": map[string]any{"entity_types": []string{"individual"}}}, true)
	ent := authtest.CityWide(PermMine + ":view")
	ent.UserID, ent.Username = "u-ent-3", "laowang"
	ent.Scope.Kind, ent.Scope.Districts = "self", nil
	if rec := h.do(t, h.iss.Bearer(ent), "GET", "/policy/v1/mine", nil); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "尚未关联") {
		t.Fatalf("unbound: %d %s", rec.Code, rec.Body)
	}
	changan := h.iss.Bearer(authtest.InDistricts(allPerms, "130102"))
	if rec := h.do(t, changan, "POST", "/policy/v1/accounts", map[string]string{"user_id": "u-ent-3", "username": "laowang", "credit_code": code}); rec.Code != 404 {
		t.Errorf("binding outside the scope: %d", rec.Code)
	}
	if rec := h.do(t, bearer, "POST", "/policy/v1/accounts", map[string]string{"user_id": "u-ent-3", "username": "laowang", "credit_code": "bad"}); rec.Code != 400 {
		t.Errorf("a bad credit code: %d", rec.Code)
	}
	if rec := h.do(t, bearer, "POST", "/policy/v1/accounts", map[string]string{"user_id": "u-ent-3", "username": "laowang", "credit_code": code}); rec.Code != 201 {
		t.Fatalf("bind: %d %s", rec.Code, rec.Body)
	}
	rec := h.do(t, h.iss.Bearer(ent), "GET", "/policy/v1/mine", nil)
	if rec.Code != 200 {
		t.Fatalf("mine: %d %s", rec.Code, rec.Body)
	}
	m := decode[EntityMatches](t, body(rec.Body.Bytes()))
	if m.Profile.Subject.CreditCode != code || m.Matched != 1 || m.Items[0].Summary != "个体工商户" || m.Items[0].Policy.ApplyURL != "https://hqzc.sjz.example.gov.cn/fz" {
		t.Errorf("mine: %+v", m)
	}
	list := h.do(t, changan, "GET", "/policy/v1/accounts", nil)
	if strings.Contains(list.Body.String(), code) {
		t.Error("a binding outside the scope is listed")
	}
}
