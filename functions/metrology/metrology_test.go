package metrology

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/httpx"
)

func TestCatalogueShipsSAMR2020(t *testing.T) {
	h := newHarness(t)
	cat := h.f.Catalogue()
	if len(cat.Items) < 20 {
		t.Fatalf("catalogue has %d items", len(cat.Items))
	}
	for code, want := range map[string]bool{"0401": true, "0501": true, "0502": true, "0101": false, "1101": false} {
		c, ok := cat.Category(code)
		if !ok || c.Nozzles != want {
			t.Errorf("category %s: %+v (per nozzle want %v)", code, c, want)
		}
	}
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM metrology.catalogue_categories`).Scan(&n); err != nil || n != len(cat.categories) {
		t.Fatalf("categories in the database: %d, %v; want %d", n, err, len(cat.categories))
	}
	// Start again changes nothing (and fails nothing).
	if err := h.f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	items := must[[]Item](t, h, 200, h.city(), "GET", "/metrology/v1/catalogue", nil)
	if items[0].Categories[0].Name == "" {
		t.Fatalf("catalogue answer %+v", items[0])
	}
}

func TestEnterpriseValidation(t *testing.T) {
	h := newHarness(t)
	city := h.city()
	ctx := context.Background()
	code := creditCode(t, "130102", 7)
	// The register knows this code in 长安区.
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on, address, district_code, industry_code)
		VALUES ($1, '石家庄恒信超市有限公司', 'enterprise', '李四', '2020-01-02', '长安区中山东路 1 号', '130102', '5211')`, code); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		body  map[string]any
		field string
	}{
		"create-400-check-digit":   {map[string]any{"credit_code": "91130102MA0000001X", "name": "某某公司", "district_code": "130102"}, "credit_code"},
		"create-400-district":      {map[string]any{"credit_code": creditCode(t, "130102", 8), "name": "某某公司", "district_code": "999999"}, "district_code"},
		"create-400-email":         {map[string]any{"credit_code": creditCode(t, "130102", 8), "name": "某某公司", "district_code": "130102", "email": "x@"}, "email"},
		"create-400-registry-area": {map[string]any{"credit_code": code, "district_code": "130104"}, "district_code"},
		"create-400-no-name":       {map[string]any{"credit_code": creditCode(t, "130102", 9), "district_code": "130102"}, "name"},
	} {
		rec := h.do(t, city, "POST", "/metrology/v1/enterprises", c.body)
		if f, msg := fieldOf(t, rec); rec.Code != 400 || f != c.field {
			t.Errorf("%s: %d %s %s", name, rec.Code, f, msg)
		}
	}
	// The register fills the name and address.
	e := must[Enterprise](t, h, 201, city, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": strings.ToLower(code), "district_code": "130102",
		"phone": "13912345678"})
	if e.Name != "石家庄恒信超市有限公司" || !e.InRegistry || e.Address == "" || e.Phone != "139****5678" {
		t.Fatalf("enterprise from the register: %+v", e)
	}
	if rec := h.do(t, city, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": code, "district_code": "130102"}); rec.Code != 409 {
		t.Fatalf("second registration: %d", rec.Code)
	}
	reg := must[RegistryEntity](t, h, 200, city, "GET", "/metrology/v1/registry/"+code, nil)
	if reg.DistrictName != "长安区" {
		t.Fatalf("registry lookup %+v", reg)
	}
	// An enterprise account registering itself is bound to it and then
	// sees only it.
	self := creditCode(t, "130104", 10)
	acct := h.party("qiye99", RoleEnterprise)
	must[Enterprise](t, h, 201, acct, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": self, "name": "桥西区自助登记有限公司", "district_code": "130104"})
	page := must[httpx.PageOf[Enterprise]](t, h, 200, acct, "GET", "/metrology/v1/enterprises", nil)
	if page.Total != 1 || page.Items[0].CreditCode != self {
		t.Fatalf("the enterprise account sees %+v", page)
	}
	if rec := h.do(t, acct, "GET", "/metrology/v1/enterprises/"+code, nil); rec.Code != 404 {
		t.Fatalf("another enterprise: %d", rec.Code)
	}
	if rec := h.do(t, acct, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": creditCode(t, "130104", 11), "name": "再登记一家公司", "district_code": "130104"}); rec.Code != 409 {
		t.Fatalf("a bound account registered a second enterprise: %d", rec.Code)
	}
}

// FP-170: 工作中 needs a usage location; without any, the refusal says so.
func TestStatusNeedsLocation(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	ent := h.party("qiye01", RoleEnterprise)
	// The foreign enterprise has no location at all.
	city := h.city()
	other := must[Instrument](t, h, 201, city, "POST", "/metrology/v1/instruments", map[string]any{"credit_code": fx.foreign, "category_code": "0101", "serial_no": "QX-1"})
	if other.Status != "idle" {
		t.Fatalf("new instrument status %q", other.Status)
	}
	rec := h.do(t, city, "POST", fmt.Sprintf("/metrology/v1/instruments/%d/status", other.ID), map[string]any{"status": "in_use"})
	if f, msg := fieldOf(t, rec); rec.Code != 400 || f != FieldLocationID || msg != MsgNeedsLocation {
		t.Fatalf("in_use without any location: %d %s %s", rec.Code, f, msg)
	}
	// The water meter has none chosen, but the enterprise has one.
	rec = h.do(t, ent, "POST", fmt.Sprintf("/metrology/v1/instruments/%d/status", fx.water), map[string]any{"status": "in_use"})
	if f, msg := fieldOf(t, rec); rec.Code != 400 || f != FieldLocationID || msg != MsgChooseLocation {
		t.Fatalf("in_use without a chosen location: %d %s %s", rec.Code, f, msg)
	}
	in := must[Instrument](t, h, 200, ent, "POST", fmt.Sprintf("/metrology/v1/instruments/%d/status", fx.water), map[string]any{"status": "in_use", "location_id": fx.location})
	if in.Status != "in_use" || in.LocationName != "一号加油岛" {
		t.Fatalf("in use: %+v", in)
	}
	// A location of another enterprise is refused.
	loc := must[Location](t, h, 201, city, "POST", "/metrology/v1/enterprises/"+fx.foreign+"/locations", map[string]any{"name": "桥西仓库"})
	if rec := h.do(t, ent, "POST", fmt.Sprintf("/metrology/v1/instruments/%d/status", fx.scale), map[string]any{"status": "in_use", "location_id": loc.ID}); rec.Code != 400 {
		t.Fatalf("someone else's location: %d", rec.Code)
	}
	must[Instrument](t, h, 200, ent, "POST", fmt.Sprintf("/metrology/v1/instruments/%d/status", fx.water), map[string]any{"status": "scrapped"})
	if rec := h.do(t, ent, "POST", fmt.Sprintf("/metrology/v1/instruments/%d/status", fx.water), map[string]any{"status": "idle"}); rec.Code != 409 {
		t.Fatalf("a scrapped instrument revived: %d", rec.Code)
	}
	d := must[InstrumentDetail](t, h, 200, ent, "GET", fmt.Sprintf("/metrology/v1/instruments/%d", fx.water), nil)
	if len(d.Changes) != 3 || d.Changes[0].ToStatus != "scrapped" {
		t.Fatalf("history %+v", d.Changes)
	}
	// FP-176: from the instrument to its enterprise.
	o := must[InstrumentOwner](t, h, 200, ent, "GET", fmt.Sprintf("/metrology/v1/instruments/%d/enterprise", fx.dispenser), nil)
	if o.Enterprise.CreditCode != fx.ent || len(o.Locations) != 1 {
		t.Fatalf("owner %+v", o)
	}
}

func resultBody(nozzles ...string) map[string]any {
	b := map[string]any{"result": "pass", "class": "合格", "verified_on": "2026-03-09", "verifier": "张检定", "checker": "李核验", "approver": "王批准",
		"environment": map[string]any{"temperature": "18.5℃", "humidity": "42%RH", "place": "现场"},
		"data":        []map[string]any{{"name": "示值误差", "value": "+0.12%", "limit": "±0.30%", "result": "合格"}}}
	if len(nozzles) > 0 {
		var ns []map[string]any
		for i, s := range nozzles {
			res := "pass"
			if strings.HasSuffix(s, "!") {
				res, s = "fail", strings.TrimSuffix(s, "!")
			}
			ns = append(ns, map[string]any{"serial": s, "result": res, "error": fmt.Sprintf("+0.%d%%", i+1)})
		}
		b["nozzle_count"], b["nozzles"] = len(nozzles), ns
	}
	return b
}

// FP-169: accept, partial return (reasons, picked instruments), full
// return, county review, then results including a four-nozzle dispenser
// (FP-173), each emitting verification.completed.
func TestPartialReturnFlow(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	ent := h.party("qiye01", RoleEnterprise)
	inst := h.party("jdjg01", RoleInstitution)
	county := h.county("130102")
	app := must[Application](t, h, 201, ent, "POST", "/metrology/v1/applications", map[string]any{"credit_code": fx.ent, "institution_id": fx.inst,
		"instrument_ids": []int64{fx.dispenser, fx.scale, fx.water}, "note": "年度周期检定"})
	if app.Status != "submitted" || len(app.Items) != 3 || app.Overdue {
		t.Fatalf("application %+v", app)
	}
	if rec := h.do(t, ent, "POST", "/metrology/v1/applications", map[string]any{"credit_code": fx.ent, "institution_id": fx.inst,
		"instrument_ids": []int64{fx.scale}}); rec.Code != 409 {
		t.Fatalf("an instrument in two open applications: %d", rec.Code)
	}
	path := fmt.Sprintf("/metrology/v1/applications/%d/decision", app.ID)
	for name, body := range map[string]map[string]any{
		"decide-400-no-reason":     {"action": "partial_return", "instrument_ids": []int64{fx.water}},
		"decide-400-no-pick":       {"action": "partial_return", "reason": "器具铭牌不清"},
		"decide-400-pick-all":      {"action": "partial_return", "instrument_ids": []int64{fx.dispenser, fx.scale, fx.water}, "reason": "都不行"},
		"decide-400-not-in-app":    {"action": "partial_return", "instrument_ids": []int64{999}, "reason": "器具铭牌不清"},
		"decide-400-bad-action":    {"action": "maybe"},
		"decide-400-full-noreason": {"action": "full_return"},
	} {
		if rec := h.do(t, inst, "POST", path, body); rec.Code != 400 {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	// The enterprise cannot decide; another institution does not see it.
	if rec := h.do(t, ent, "POST", path, map[string]any{"action": "accept"}); rec.Code != 404 {
		t.Fatalf("the enterprise decided: %d", rec.Code)
	}
	app = must[Application](t, h, 200, inst, "POST", path, map[string]any{"action": "partial_return", "instrument_ids": []int64{fx.water},
		"reason": "水表只作首次强制检定，到期轮换，不属周期检定范围"})
	if app.Status != "partially_returned" || app.StatusName != "部分退回" {
		t.Fatalf("after partial return: %+v", app)
	}
	byInst := map[int64]ApplicationItem{}
	for _, it := range app.Items {
		byInst[it.InstrumentID] = it
	}
	if byInst[fx.water].Status != "returned" || byInst[fx.water].Review != "pending" || byInst[fx.dispenser].Status != "accepted" || byInst[fx.scale].Status != "accepted" {
		t.Fatalf("items after partial return: %+v", app.Items)
	}
	if rec := h.do(t, inst, "POST", path, map[string]any{"action": "accept"}); rec.Code != 409 {
		t.Fatalf("decided twice: %d", rec.Code)
	}
	// The county bureau sees the return and upholds it.
	rets := must[httpx.PageOf[ReturnedItem]](t, h, 200, county, "GET", "/metrology/v1/returns?review=pending", nil)
	if rets.Total != 1 || rets.Items[0].InstrumentID != fx.water || !strings.Contains(rets.Items[0].ReturnReason, "首次强制检定") {
		t.Fatalf("returned list %+v", rets)
	}
	if rec := h.do(t, h.county("130104"), "GET", "/metrology/v1/returns", nil); !strings.Contains(rec.Body.String(), `"total":0`) {
		t.Fatalf("another county sees the return: %s", rec.Body)
	}
	reviewPath := fmt.Sprintf("/metrology/v1/returns/%d/review", rets.Items[0].ID)
	if rec := h.do(t, county, "POST", reviewPath, map[string]any{"decision": "overturned"}); rec.Code != 400 {
		t.Fatalf("overturned without a note: %d", rec.Code)
	}
	if rec := h.do(t, inst, "POST", reviewPath, map[string]any{"decision": "upheld"}); rec.Code != 403 {
		t.Fatalf("the institution reviewed its own return: %d", rec.Code)
	}
	rv := must[ApplicationItem](t, h, 200, county, "POST", reviewPath, map[string]any{"decision": "upheld", "note": "符合规定"})
	if rv.Review != "upheld" || rv.ReviewedBy == "" {
		t.Fatalf("review %+v", rv)
	}
	// Results: the scale, then the four-nozzle dispenser.
	resultPath := func(iid int64) string { return fmt.Sprintf("/metrology/v1/items/%d/result", byInst[iid].ID) }
	v := must[Verification](t, h, 201, inst, "POST", resultPath(fx.scale), resultBody())
	if v.Certificate.CertificateNo != "JD2026-000001" || v.Certificate.ValidUntil != "2027-03-08" || len(v.Certificate.Standards) != 1 ||
		v.Certificate.Standards[0].Instruments[0].CertificateNo != "JL2025-0101" {
		t.Fatalf("scale verification %+v", v.Certificate)
	}
	if rec := h.do(t, inst, "POST", resultPath(fx.dispenser), resultBody()); rec.Code != 400 || !strings.Contains(rec.Body.String(), "枪数") {
		t.Fatalf("dispenser without nozzles: %d %s", rec.Code, rec.Body)
	}
	v = must[Verification](t, h, 201, inst, "POST", resultPath(fx.dispenser), resultBody("1号枪", "2号枪", "3号枪", "4号枪"))
	if len(v.Certificate.Nozzles) != 4 || v.Certificate.Nozzles[3].Serial != "4号枪" || v.Certificate.ValidUntil != "2026-09-08" {
		t.Fatalf("dispenser verification %+v", v.Certificate)
	}
	ev := lastEvent[events.VerificationCompletedData](t, h.pool, events.MetrologyVerificationCompleted)
	if ev.VerificationID != v.ID || len(ev.Nozzles) != 4 || ev.Client.CreditCode != fx.ent || ev.Institution.Authorisation != "(冀)法计(2024)01001号" ||
		ev.Standards[0].Certificates[0].Number == "" {
		t.Fatalf("event %+v", ev)
	}
	app = must[Application](t, h, 200, ent, "GET", fmt.Sprintf("/metrology/v1/applications/%d", app.ID), nil)
	if app.Status != "completed" {
		t.Fatalf("application after all results: %s", app.Status)
	}
	in := must[InstrumentDetail](t, h, 200, ent, "GET", fmt.Sprintf("/metrology/v1/instruments/%d", fx.dispenser), nil).Instrument
	if in.LastResult != "pass" || *in.ValidUntil != "2026-09-08" || strings.Join(in.NozzleSerials, ",") != "1号枪,2号枪,3号枪,4号枪" {
		t.Fatalf("dispenser after verification %+v", in)
	}
	if got := outboxTypes(t, h.pool); slices.Index(got, events.MetrologyVerificationCompleted) < 0 {
		t.Fatalf("outbox %v", got)
	}
}

func TestFullReturnAndOverturn(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	ent, inst, county := h.party("qiye01", RoleEnterprise), h.party("jdjg01", RoleInstitution), h.county("130102")
	app := must[Application](t, h, 201, ent, "POST", "/metrology/v1/applications", map[string]any{"credit_code": fx.ent, "institution_id": fx.inst,
		"instrument_ids": []int64{fx.dispenser, fx.scale}})
	app = must[Application](t, h, 200, inst, "POST", fmt.Sprintf("/metrology/v1/applications/%d/decision", app.ID), map[string]any{"action": "full_return",
		"reason": "检定设备维护中"})
	if app.Status != "returned" || app.Items[0].Status != "returned" || app.Items[1].Status != "returned" {
		t.Fatalf("full return %+v", app)
	}
	// Overturning one return puts it back for the institution to verify.
	it := must[ApplicationItem](t, h, 200, county, "POST", fmt.Sprintf("/metrology/v1/returns/%d/review", app.Items[1].ID),
		map[string]any{"decision": "overturned", "note": "设备维护不是退回理由，请安排检定"})
	if it.Status != "accepted" || it.Review != "overturned" {
		t.Fatalf("overturned item %+v", it)
	}
	app = must[Application](t, h, 200, inst, "GET", fmt.Sprintf("/metrology/v1/applications/%d", app.ID), nil)
	if app.Status != "partially_returned" {
		t.Fatalf("after overturn: %s", app.Status)
	}
	must[Verification](t, h, 201, inst, "POST", fmt.Sprintf("/metrology/v1/items/%d/result", it.ID), resultBody())
	if app = must[Application](t, h, 200, inst, "GET", fmt.Sprintf("/metrology/v1/applications/%d", app.ID), nil); app.Status != "completed" {
		t.Fatalf("after result: %s", app.Status)
	}
}

// FP-173: nozzle count first, one serial and result per nozzle.
func TestDispenserNozzles(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	ent, inst := h.party("qiye01", RoleEnterprise), h.party("jdjg01", RoleInstitution)
	app := must[Application](t, h, 201, ent, "POST", "/metrology/v1/applications", map[string]any{"credit_code": fx.ent, "institution_id": fx.inst,
		"instrument_ids": []int64{fx.dispenser, fx.scale}})
	app = must[Application](t, h, 200, inst, "POST", fmt.Sprintf("/metrology/v1/applications/%d/decision", app.ID), map[string]any{"action": "accept"})
	var disp, scale int64
	for _, it := range app.Items {
		if it.InstrumentID == fx.dispenser {
			disp = it.ID
		} else {
			scale = it.ID
		}
	}
	path := fmt.Sprintf("/metrology/v1/items/%d/result", disp)
	bad := map[string]map[string]any{
		"count-mismatch": func() map[string]any { b := resultBody("A", "B"); b["nozzle_count"] = 3; return b }(),
		"duplicate":      resultBody("A", "A"),
		"fail-but-pass":  resultBody("A", "B!"),
		"no-result": func() map[string]any {
			b := resultBody("A")
			b["nozzles"] = []map[string]any{{"serial": "A"}}
			return b
		}(),
		"same-people": func() map[string]any { b := resultBody("A"); b["checker"] = "张检定"; return b }(),
		"future":      func() map[string]any { b := resultBody("A"); b["verified_on"] = "2026-03-11"; return b }(),
	}
	for name, b := range bad {
		if rec := h.do(t, inst, "POST", path, b); rec.Code != 400 {
			t.Errorf("result-400-%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	if rec := h.do(t, inst, "POST", fmt.Sprintf("/metrology/v1/items/%d/result", scale), resultBody("A")); rec.Code != 400 {
		t.Errorf("nozzles on a scale: %d", rec.Code)
	}
	// A failed nozzle: the instrument fails and stops.
	b := resultBody("A", "B!", "C", "D")
	b["result"], b["failure_reason"] = "fail", "2号枪示值误差超出最大允许误差"
	v := must[Verification](t, h, 201, inst, "POST", path, b)
	if v.Certificate.Result != "fail" || v.Certificate.ValidUntil != "" || v.Certificate.Nozzles[1].Result != "fail" {
		t.Fatalf("failed dispenser %+v", v.Certificate)
	}
	in := must[InstrumentDetail](t, h, 200, ent, "GET", fmt.Sprintf("/metrology/v1/instruments/%d", fx.dispenser), nil).Instrument
	if in.Status != "stopped" || in.LastResult != "fail" {
		t.Fatalf("failed dispenser still %s/%s", in.Status, in.LastResult)
	}
}

// FP-174: an expired standard blocks certificates until renewed.
func TestExpiredStandardBlocks(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	ent, inst := h.party("qiye01", RoleEnterprise), h.party("jdjg01", RoleInstitution)
	app := must[Application](t, h, 201, ent, "POST", "/metrology/v1/applications", map[string]any{"credit_code": fx.ent, "institution_id": fx.inst,
		"instrument_ids": []int64{fx.scale}})
	app = must[Application](t, h, 200, inst, "POST", fmt.Sprintf("/metrology/v1/applications/%d/decision", app.ID), map[string]any{"action": "accept"})
	// The main standard instrument's certificate lapsed on 2026-03-01.
	std := map[string]any{"name": "燃油加油机检定装置", "categories": []string{"0401", "0501", "0502", "0101"},
		"certificates": []map[string]any{{"kind": "assessment", "number": "[2024]冀量标石证字第001号", "valid_until": "2028-06-30"}},
		"instruments":  []map[string]any{{"name": "标准金属量器", "certificate_no": "JL2024-0001", "valid_until": "2026-03-01"}}}
	s := must[Standard](t, h, 200, inst, "PUT", fmt.Sprintf("/metrology/v1/standards/%d", fx.standard), std)
	if !strings.Contains(s.Expired, "JL2024-0001") {
		t.Fatalf("standard not shown expired: %+v", s)
	}
	path := fmt.Sprintf("/metrology/v1/items/%d/result", app.Items[0].ID)
	rec := h.do(t, inst, "POST", path, resultBody())
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "不能出具检定证书") || !strings.Contains(rec.Body.String(), "JL2024-0001") {
		t.Fatalf("expired standard: %d %s", rec.Code, rec.Body)
	}
	var n int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM metrology.verifications`).Scan(&n)
	if n != 0 || slices.Contains(outboxTypes(t, h.pool), events.MetrologyVerificationCompleted) {
		t.Fatalf("a blocked result left %d verifications or an event", n)
	}
	// Renewed: the certificate is issued.
	std["instruments"] = []map[string]any{{"name": "标准金属量器", "certificate_no": "JL2026-0001", "valid_until": "2027-03-01"}}
	must[Standard](t, h, 200, inst, "PUT", fmt.Sprintf("/metrology/v1/standards/%d", fx.standard), std)
	v := must[Verification](t, h, 201, inst, "POST", path, resultBody())
	if v.Certificate.Standards[0].Instruments[0].CertificateNo != "JL2026-0001" {
		t.Fatalf("drawn standard %+v", v.Certificate.Standards)
	}
	// Another institution's staff cannot touch this standard.
	if rec := h.do(t, h.party("other", RoleInstitution), "PUT", fmt.Sprintf("/metrology/v1/standards/%d", fx.standard), std); rec.Code != 403 {
		t.Fatalf("an unbound institution account edited a standard: %d", rec.Code)
	}
}

func ping(task string) event.Event {
	e := event.New()
	e.SetID("tick-" + task)
	e.SetSource("/apis/v1/namespaces/smartreg/pingsources/metrology-overdue")
	e.SetType(events.Ping)
	_ = e.SetData(event.ApplicationJSON, map[string]any{"task": task})
	return e
}

// FP-172: the daily sweep raises one alarm per overdue instrument; the
// statistics count per user and year and sort ascending; a count's link
// marks its alarms read. Applying for an overdue instrument needs approval.
func TestOverdueAlarmsAndStatistics(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	ctx := context.Background()
	city := h.city()
	ent := h.party("qiye01", RoleEnterprise)
	// Two overdue instruments at the fixture's enterprise, one at another.
	third := creditCode(t, "130102", 3)
	must[Enterprise](t, h, 201, city, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": third, "name": "长安区第三计量用户有限公司", "district_code": "130102"})
	loc := must[Location](t, h, 201, city, "POST", "/metrology/v1/enterprises/"+third+"/locations", map[string]any{"name": "门店"})
	must[Instrument](t, h, 201, city, "POST", "/metrology/v1/instruments", map[string]any{"credit_code": third, "category_code": "1101", "serial_no": "YL-1",
		"location_id": loc.ID, "valid_until": "2026-01-31"})
	for _, id := range []int64{fx.dispenser, fx.scale} {
		if _, err := h.pool.Exec(ctx, `UPDATE metrology.instruments SET valid_until = '2026-02-28' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.f.Receive(ctx, ping(OverdueTask)); err != nil {
		t.Fatal(err)
	}
	var n int
	_ = h.pool.QueryRow(ctx, `SELECT count(*) FROM metrology.alarms`).Scan(&n)
	if n != 3 {
		t.Fatalf("alarms after the sweep: %d", n)
	}
	// A redelivered tick, and the next day's tick, raise nothing new.
	if _, err := h.f.Receive(ctx, ping(OverdueTask)); err != nil {
		t.Fatal(err)
	}
	next := ping(OverdueTask)
	next.SetID("tick-2")
	h.clock.t = h.clock.t.AddDate(0, 0, 1)
	if _, err := h.f.Receive(ctx, next); err != nil {
		t.Fatal(err)
	}
	_ = h.pool.QueryRow(ctx, `SELECT count(*) FROM metrology.alarms`).Scan(&n)
	if n != 3 {
		t.Fatalf("alarms after re-runs: %d", n)
	}
	if !slices.Contains(outboxTypes(t, h.pool), events.NotifyNoticeRequested) {
		t.Fatal("no notice to the supervisors")
	}
	st := must[AlarmStats](t, h, 200, city, "GET", "/metrology/v1/alarms/stats?year=2026", nil)
	if st.Title != "2026年度强检计量器具超期告警统计" || len(st.Items) != 2 || st.Items[0].Total != 1 || st.Items[1].Total != 2 ||
		st.Items[1].CreditCode != fx.ent || st.Items[1].Unread != 2 {
		t.Fatalf("stats ascending %+v", st)
	}
	// The unread count's link opens both and marks them read.
	op := must[OpenedAlarms](t, h, 200, city, "POST", "/metrology/v1/alarms/open", map[string]any{"credit_code": fx.ent, "year": 2026, "state": "unread"})
	if len(op.Items) != 2 || op.Marked != 2 {
		t.Fatalf("opened %+v", op)
	}
	st = must[AlarmStats](t, h, 200, city, "GET", "/metrology/v1/alarms/stats?year=2026&sort=unread", nil)
	if st.Items[0].CreditCode != fx.ent || st.Items[0].Unread != 0 || st.Items[0].Read != 2 || st.Items[1].Unread != 1 {
		t.Fatalf("stats by unread after opening %+v", st)
	}
	if rec := h.do(t, city, "GET", "/metrology/v1/alarms/stats?sort=colour", nil); rec.Code != 400 {
		t.Fatalf("bad sort: %d", rec.Code)
	}
	if st := must[AlarmStats](t, h, 200, h.county("130104"), "GET", "/metrology/v1/alarms/stats?year=2026", nil); len(st.Items) != 0 {
		t.Fatalf("another county sees %+v", st.Items)
	}
	// Applying for an overdue instrument waits for the county's approval,
	// and the institution does not see it meanwhile.
	app := must[Application](t, h, 201, ent, "POST", "/metrology/v1/applications", map[string]any{"credit_code": fx.ent, "institution_id": fx.inst,
		"instrument_ids": []int64{fx.scale}})
	if app.Status != "pending_approval" || !app.Overdue {
		t.Fatalf("overdue application %+v", app)
	}
	inst := h.party("jdjg01", RoleInstitution)
	if rec := h.do(t, inst, "POST", fmt.Sprintf("/metrology/v1/applications/%d/decision", app.ID), map[string]any{"action": "accept"}); rec.Code != 404 {
		t.Fatalf("institution acted before approval: %d", rec.Code)
	}
	if rec := h.do(t, ent, "POST", fmt.Sprintf("/metrology/v1/applications/%d/approval", app.ID), map[string]any{"approve": true}); rec.Code != 403 {
		t.Fatalf("the enterprise approved itself: %d", rec.Code)
	}
	app = must[Application](t, h, 200, h.county("130102"), "POST", fmt.Sprintf("/metrology/v1/applications/%d/approval", app.ID), map[string]any{"approve": true, "note": "同意"})
	if app.Status != "submitted" {
		t.Fatalf("approved: %s", app.Status)
	}
	must[Application](t, h, 200, inst, "POST", fmt.Sprintf("/metrology/v1/applications/%d/decision", app.ID), map[string]any{"action": "accept"})
}

// FP-168, FP-171: a plan picks users and shows their statistics; a field
// record with photos from the phone is evidence of a penalty whose overdue
// time is computed.
func TestInspectionAndPenalty(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	county := h.county("130102")
	plan := must[Plan](t, h, 201, county, "POST", "/metrology/v1/plans", map[string]any{"name": "2026年一季度加油站计量专项检查",
		"district_code": "130102", "starts_on": "2026-03-01", "ends_on": "2026-03-31", "credit_codes": []string{fx.ent}})
	if len(plan.Targets) != 1 || plan.Targets[0].Instruments != 3 || plan.Targets[0].InUse != 2 || len(plan.Targets[0].Plans) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	if rec := h.do(t, county, "POST", "/metrology/v1/plans", map[string]any{"name": "越权计划", "district_code": "130102", "starts_on": "2026-03-01",
		"ends_on": "2026-03-31", "credit_codes": []string{fx.foreign}}); rec.Code != 404 {
		t.Fatalf("a plan with an enterprise outside the scope: %d", rec.Code)
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	key := must[PhotoKey](t, h, 201, county, "POST", "/metrology/v1/photos", png).Key
	if rec := h.do(t, county, "POST", "/metrology/v1/photos", []byte("not an image")); rec.Code != 400 {
		t.Fatalf("a text upload: %d", rec.Code)
	}
	// Someone else's photo key is refused.
	other := must[PhotoKey](t, h, 201, h.county("130104"), "POST", "/metrology/v1/photos", png).Key
	if rec := h.do(t, county, "POST", "/metrology/v1/field-records", map[string]any{"credit_code": fx.ent, "text": "现场检查", "photos": []string{other}}); rec.Code != 400 {
		t.Fatalf("a foreign photo key: %d", rec.Code)
	}
	fr := must[FieldRecord](t, h, 201, county, "POST", "/metrology/v1/field-records", map[string]any{"credit_code": fx.ent, "plan_id": plan.ID,
		"instrument_id": fx.dispenser, "text": "加油机检定标志已过期，仍在使用", "photos": []string{key}, "longitude": 114.52, "latitude": 38.05})
	if fr.Photos != 1 || fr.PlanName == "" {
		t.Fatalf("field record %+v", fr)
	}
	rec := h.do(t, h.city(), "GET", fmt.Sprintf("/metrology/v1/field-records/%d/photos/1", fr.ID), nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || rec.Body.Len() != len(png) {
		t.Fatalf("photo: %d %s", rec.Code, rec.Header())
	}
	if rec := h.do(t, h.county("130104"), "GET", fmt.Sprintf("/metrology/v1/field-records/%d/photos/1", fr.ID), nil); rec.Code != 404 {
		t.Fatalf("photo outside the scope: %d", rec.Code)
	}
	city := must[httpx.PageOf[FieldRecord]](t, h, 200, h.city(), "GET", "/metrology/v1/field-records", nil)
	if city.Total != 1 {
		t.Fatalf("the city's view %+v", city)
	}
	// The dispenser lapsed on 2026-02-28; the decision is on 2026-03-09.
	if _, err := h.pool.Exec(context.Background(), `UPDATE metrology.instruments SET valid_until = '2026-02-28' WHERE id = $1`, fx.dispenser); err != nil {
		t.Fatal(err)
	}
	pen := must[Penalty](t, h, 201, county, "POST", "/metrology/v1/penalties", map[string]any{"credit_code": fx.ent, "instrument_id": fx.dispenser,
		"evidence": []int64{fr.ID}, "result": "责令限期改正，并处罚款 2000 元", "decided_on": "2026-03-09"})
	if pen.OverdueDays != 9 || len(pen.Evidence) != 1 {
		t.Fatalf("penalty %+v", pen)
	}
	if rec := h.do(t, county, "POST", "/metrology/v1/penalties", map[string]any{"credit_code": fx.ent, "instrument_id": fx.scale,
		"result": "责令改正", "decided_on": "2026-03-09"}); rec.Code != 400 {
		t.Fatalf("a penalty for an instrument never overdue: %d", rec.Code)
	}
	plan = must[Plan](t, h, 200, county, "GET", fmt.Sprintf("/metrology/v1/plans/%d", plan.ID), nil)
	kinds := map[string]bool{}
	for _, e := range plan.Targets[0].History {
		kinds[e.Kind] = true
	}
	if !kinds["field_record"] || !kinds["penalty"] || plan.Targets[0].Overdue != 1 {
		t.Fatalf("plan target history %+v", plan.Targets[0])
	}
}

// FP-178: a county user sees only its jurisdiction, in every list.
func TestCountyScope(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	must[Instrument](t, h, 201, h.city(), "POST", "/metrology/v1/instruments", map[string]any{"credit_code": fx.foreign, "category_code": "0101", "serial_no": "QX-9"})
	changan, qiaoxi := h.county("130102"), h.county("130104")
	for token, want := range map[string]string{changan: fx.ent, qiaoxi: fx.foreign} {
		ents := must[httpx.PageOf[Enterprise]](t, h, 200, token, "GET", "/metrology/v1/enterprises", nil)
		if ents.Total != 1 || ents.Items[0].CreditCode != want {
			t.Errorf("enterprises seen: %+v", ents.Items)
		}
		ins := must[httpx.PageOf[Instrument]](t, h, 200, token, "GET", "/metrology/v1/instruments", nil)
		for _, in := range ins.Items {
			if in.CreditCode != want {
				t.Errorf("instrument of %s seen by the other county", in.CreditCode)
			}
		}
	}
	if rec := h.do(t, qiaoxi, "GET", fmt.Sprintf("/metrology/v1/instruments/%d", fx.dispenser), nil); rec.Code != 404 {
		t.Fatalf("an instrument outside the county: %d", rec.Code)
	}
	if rec := h.do(t, qiaoxi, "POST", "/metrology/v1/enterprises", map[string]any{"credit_code": creditCode(t, "130102", 50), "name": "越区登记有限公司",
		"district_code": "130102"}); rec.Code != 403 {
		t.Fatalf("registering outside the county: %d", rec.Code)
	}
	st := must[Statistics](t, h, 200, changan, "GET", "/metrology/v1/stats?weeks=4", nil)
	if len(st.Counties) != 1 || st.Counties[0].DistrictCode != "130102" || st.Counties[0].InUse != 2 || len(st.Weeks) != 4 || st.Weeks[3].Entries != 3 {
		t.Fatalf("statistics %+v", st)
	}
}

// FP-175 upstream: an institution's printed data changing emits
// institution.updated; other edits do not.
func TestInstitutionUpdateEmitsEvent(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	city := h.city()
	body := map[string]any{"name": "石家庄市计量检定测试所", "authorisation_no": "(冀)法计(2024)01001号", "address": "石家庄市长安区建设北大街 88 号",
		"phone": "0311-86000000", "postcode": "050000", "cert_prefix": "JD", "usernames": []string{"jdjg01", "jdjg02"}, "version": 1}
	inst := must[Institution](t, h, 200, city, "PUT", "/metrology/v1/institutions/"+fx.inst, body)
	if slices.Contains(outboxTypes(t, h.pool), events.MetrologyInstitutionUpdated) || len(inst.Usernames) != 2 {
		t.Fatalf("a members-only edit: %+v", inst)
	}
	body["name"], body["version"] = "石家庄市计量检定测试院", 2
	must[Institution](t, h, 200, city, "PUT", "/metrology/v1/institutions/"+fx.inst, body)
	ev := lastEvent[events.InstitutionUpdatedData](t, h.pool, events.MetrologyInstitutionUpdated)
	if ev.Institution.Name != "石家庄市计量检定测试院" || !slices.Equal(ev.Changed, []string{"name"}) {
		t.Fatalf("event %+v", ev)
	}
	if rec := h.do(t, city, "PUT", "/metrology/v1/institutions/"+fx.inst, body); rec.Code != 409 {
		t.Fatalf("stale version: %d", rec.Code)
	}
	// Its staff may not change the authorisation number.
	body["version"], body["authorisation_no"] = 3, "(冀)法计(2099)99999号"
	if rec := h.do(t, h.party("jdjg01", RoleInstitution), "PUT", "/metrology/v1/institutions/"+fx.inst, body); rec.Code != 403 {
		t.Fatalf("staff changed the authorisation: %d", rec.Code)
	}
}

// FP-177, FP-180: the hints are public; the mobile page shows the
// enterprise its own.
func TestHintsAndMine(t *testing.T) {
	h := newHarness(t)
	fx := h.setup(t)
	hints := must[Hints](t, h, 200, "", "GET", "/metrology/v1/registration-hints", nil)
	if !strings.Contains(strings.Join(hints.Items, ""), "区分大小写") || !strings.Contains(hints.Email, "邮箱") {
		t.Fatalf("hints %+v", hints)
	}
	m := must[Mine](t, h, 200, h.party("qiye01", RoleEnterprise), "GET", "/metrology/v1/mine", nil)
	if !m.Bound || m.Enterprise.CreditCode != fx.ent || len(m.Instruments) != 3 {
		t.Fatalf("mine %+v", m)
	}
	if m := must[Mine](t, h, 200, h.city(), "GET", "/metrology/v1/mine", nil); m.Bound || len(m.Instruments) != 0 {
		t.Fatalf("a regulator's mine %+v", m)
	}
	// FP-179: visits count by party, week by week.
	for _, b := range []string{h.city(), h.party("qiye01", RoleEnterprise), h.party("qiye01", RoleEnterprise)} {
		if rec := h.do(t, b, "POST", "/metrology/v1/visits", map[string]any{"page": "mobile"}); rec.Code != 204 {
			t.Fatalf("visit: %d", rec.Code)
		}
	}
	st := must[Statistics](t, h, 200, h.city(), "GET", "/metrology/v1/stats?weeks=1", nil)
	if w := st.Weeks[0]; w.Visits != 3 || w.RegulatorVisits != 1 || w.EnterpriseVisits != 2 || w.InstitutionVisits != 0 {
		t.Fatalf("weekly visits %+v", w)
	}
}

// The demo set loads once and fills the pages.
func TestSeedDemo(t *testing.T) {
	h := newHarness(t)
	for i, want := range []bool{true, false} {
		if loaded, err := h.f.SeedDemo(context.Background()); err != nil || loaded != want {
			t.Fatalf("seed %d: loaded %v, %v", i, loaded, err)
		}
	}
	page := must[httpx.PageOf[Instrument]](t, h, 200, h.city(), "GET", "/metrology/v1/instruments?overdue=true", nil)
	st := must[AlarmStats](t, h, 200, h.city(), "GET", "/metrology/v1/alarms/stats", nil)
	if page.Total != 3 || len(st.Items) != 3 {
		t.Fatalf("demo overdue instruments %d, alarm users %d", page.Total, len(st.Items))
	}
}
