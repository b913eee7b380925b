package metrology

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/conformance"
)

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reaches an enterprise outside the
// caller's data scope. The fixture has, in 长安区 (inside) and 桥西区
// (outside), an enterprise with data of every kind the routes serve:
// instruments, an application with an accepted and a returned item, a
// verification, a plan, a field record with a photo, alarms and a penalty.
func TestConformance(t *testing.T) {
	h := newHarness(t)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.h)

	fx := h.setup(t)
	ctx := context.Background()
	city, ent, inst := h.city(), h.party("qiye01", RoleEnterprise), h.party("jdjg01", RoleInstitution)
	for _, e := range []struct{ code, district, name string }{{fx.ent, "130102", "长安区恒达加油站有限公司"}, {fx.foreign, "130104", "桥西区顺发商贸有限公司"}} {
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on, address, district_code, industry_code)
			VALUES ($1, $2, 'enterprise', '张三', '2020-01-02', '石家庄市测试路 1 号', $3, '5211')`, e.code, e.name, e.district); err != nil {
			t.Fatal(err)
		}
	}
	type world struct {
		instrument, application, item, verification, plan, record int64
	}
	build := func(code string, locationID, dispenser, scale, water int64) world {
		var w world
		w.instrument = dispenser
		// A verified dispenser.
		a := must[Application](t, h, 201, city, "POST", "/metrology/v1/applications", map[string]any{"credit_code": code, "institution_id": fx.inst,
			"instrument_ids": []int64{dispenser}})
		a = must[Application](t, h, 200, inst, "POST", fmt.Sprintf("/metrology/v1/applications/%d/decision", a.ID), map[string]any{"action": "accept"})
		w.verification = must[Verification](t, h, 201, inst, "POST", fmt.Sprintf("/metrology/v1/items/%d/result", a.Items[0].ID), resultBody("1号枪", "2号枪")).ID
		// An application with an accepted scale and a returned water meter.
		a = must[Application](t, h, 201, city, "POST", "/metrology/v1/applications", map[string]any{"credit_code": code, "institution_id": fx.inst,
			"instrument_ids": []int64{scale, water}})
		a = must[Application](t, h, 200, inst, "POST", fmt.Sprintf("/metrology/v1/applications/%d/decision", a.ID), map[string]any{"action": "partial_return",
			"instrument_ids": []int64{water}, "reason": "水表到期轮换"})
		w.application = a.ID
		for _, it := range a.Items {
			if it.InstrumentID == scale {
				w.item = it.ID
			}
		}
		district := code[2:8]
		w.plan = must[Plan](t, h, 201, city, "POST", "/metrology/v1/plans", map[string]any{"name": "专项检查计划", "district_code": district,
			"starts_on": "2026-03-01", "ends_on": "2026-03-31", "credit_codes": []string{code}}).ID
		key := must[PhotoKey](t, h, 201, city, "POST", "/metrology/v1/photos", tinyPNG).Key
		w.record = must[FieldRecord](t, h, 201, city, "POST", "/metrology/v1/field-records", map[string]any{"credit_code": code, "text": "现场检查记录",
			"photos": []string{key}}).ID
		if _, err := h.pool.Exec(ctx, `UPDATE metrology.instruments SET valid_until = '2026-02-28', status = 'in_use', location_id = $2 WHERE id = $1`,
			dispenser, locationID); err != nil {
			t.Fatal(err)
		}
		must[Penalty](t, h, 201, city, "POST", "/metrology/v1/penalties", map[string]any{"credit_code": code, "instrument_id": dispenser,
			"evidence": []int64{w.record}, "result": "责令限期改正", "decided_on": "2026-03-09"})
		return w
	}
	inside := build(fx.ent, fx.location, fx.dispenser, fx.scale, fx.water)
	floc := must[Location](t, h, 201, city, "POST", "/metrology/v1/enterprises/"+fx.foreign+"/locations", map[string]any{"name": "桥西门店"})
	var fIDs []int64
	for _, in := range []map[string]any{
		{"credit_code": fx.foreign, "category_code": "0401", "serial_no": "QX-JYJ", "location_id": floc.ID},
		{"credit_code": fx.foreign, "category_code": "0101", "serial_no": "QX-CZ", "location_id": floc.ID},
		{"credit_code": fx.foreign, "category_code": "0601", "serial_no": "QX-SB"},
	} {
		fIDs = append(fIDs, must[Instrument](t, h, 201, city, "POST", "/metrology/v1/instruments", in).ID)
	}
	foreign := build(fx.foreign, floc.ID, fIDs[0], fIDs[1], fIDs[2])
	if err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error { _, err := h.f.RaiseOverdue(ctx, tx); return err }); err != nil {
		t.Fatal(err)
	}
	_ = ent
	id := func(n int64) string { return fmt.Sprint(n) }
	result, _ := json.Marshal(resultBody())
	conformance.Scope(t, h.h, conformance.ScopeFixture{
		Bearer: h.county("130102"),
		Inside: map[string]string{"code": fx.ent, "credit_code": fx.ent, "credit_codes": fx.ent, "instrument": id(inside.instrument),
			"application": id(inside.application), "item": id(inside.item), "verification": id(inside.verification), "plan": id(inside.plan),
			"record": id(inside.record)},
		Foreign: map[string]string{"code": fx.foreign, "credit_code": fx.foreign, "credit_codes": fx.foreign, "instrument": id(foreign.instrument),
			"application": id(foreign.application), "item": id(foreign.item), "verification": id(foreign.verification), "plan": id(foreign.plan),
			"record": id(foreign.record)},
		Params: map[string]string{"n": "1"},
		Bodies: map[string]string{
			"PUT /metrology/v1/enterprises/{code}":                   `{"name":"长安区恒达加油站有限公司","district_code":"130102","contact":"赵六","version":1}`,
			"POST /metrology/v1/enterprises/{code}/locations":        `{"name":"二号加油岛"}`,
			"POST /metrology/v1/instruments":                         `{"credit_code":"{{entity}}","category_code":"0101","serial_no":"CONF-1"}`,
			"PUT /metrology/v1/instruments/{instrument}":             `{"category_code":"0401","serial_no":"JYJ-001","model":"CS46","version":99}`,
			"POST /metrology/v1/instruments/{instrument}/status":     `{"status":"stopped"}`,
			"POST /metrology/v1/applications":                        fmt.Sprintf(`{"credit_code":"{{entity}}","institution_id":%q,"instrument_ids":[%d]}`, fx.inst, fx.water),
			"POST /metrology/v1/applications/{application}/approval": `{"approve":true}`,
			"POST /metrology/v1/applications/{application}/decision": `{"action":"accept"}`,
			"POST /metrology/v1/returns/{item}/review":               `{"decision":"upheld","note":"维持"}`,
			"POST /metrology/v1/items/{item}/result":                 string(result),
			"POST /metrology/v1/field-records":                       `{"credit_code":"{{entity}}","text":"复查记录"}`,
			"POST /metrology/v1/alarms/open":                         `{"credit_code":"{{entity}}","year":2026,"state":"all"}`,
			"POST /metrology/v1/penalties": fmt.Sprintf(`{"credit_code":"{{entity}}","instrument_id":%d,"result":"责令改正","decided_on":"2026-03-09"}`,
				inside.instrument),
		},
		BodyFor: map[string]func(string) string{
			"POST /metrology/v1/enterprises": func(c string) string {
				return fmt.Sprintf(`{"credit_code":%q,"name":"恒达加油站","district_code":%q}`, c, c[2:8])
			},
			"POST /metrology/v1/plans": func(c string) string {
				return fmt.Sprintf(`{"name":"复查计划","district_code":"130102","starts_on":"2026-04-01","ends_on":"2026-04-30","credit_codes":[%q]}`, c)
			},
		},
		InsideMarkers:  []string{fx.ent},
		ForeignMarkers: []string{fx.foreign, "桥西区顺发商贸有限公司"},
		// The enterprise's own view: the fixture's caller is a regulator,
		// bound to no enterprise, so it is rightly empty.
		EmptyListings: []string{"GET /metrology/v1/mine"},
	})
}

var tinyPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
