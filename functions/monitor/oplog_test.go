package monitor

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// FP-8: creating a model and reviewing a clue leave operation-log rows
// naming the person, the object and its state (the clue's before and after).
func TestOpLogClueReview(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	if _, err := h.f.pool.Exec(ctx, contractStub); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.pool.Exec(ctx, `INSERT INTO crawlershard.stub_online_objects VALUES
		(1, 'http://s1.farm.test/p/1', 'product', '有机绿茶', 9.9, '国家级最佳茶叶。', '一号公司', '91130102100000011X', '长安区', '网店', true, now())`); err != nil {
		t.Fatal(err)
	}
	bearer := h.iss.Bearer(authtest.CityWide(PermModel+":view", PermModel+":create", PermClue+":view", PermClue+":review"))
	var m Model
	if rec := h.do(t, bearer, "POST", "/monitor/v1/models", map[string]any{"name": "长安区广告", "districts": []string{"长安区"},
		"types": []string{"advertising"}, "window_days": 30}); rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
		t.Fatalf("create model: %d %s", rec.Code, rec.Body)
	}
	mops := auditlogtest.Ops(t, h.f.pool, strconv.FormatInt(m.ID, 10))
	if len(mops) != 1 || mops[0].Action != "monitor.model.create" || mops[0].UserID != "city-user" || auditlogtest.Field(mops[0].After, "name") != "长安区广告" {
		t.Fatalf("the model's creation in the log: %+v", mops)
	}
	if rec := h.do(t, bearer, "POST", "/monitor/v1/models/"+strconv.FormatInt(m.ID, 10)+"/run", nil); rec.Code != 200 {
		t.Fatalf("run: %d %s", rec.Code, rec.Body)
	}
	var page httpx.PageOf[Clue]
	if rec := h.do(t, bearer, "GET", "/monitor/v1/clues", nil); json.Unmarshal(rec.Body.Bytes(), &page) != nil || len(page.Items) == 0 {
		t.Fatalf("clues: %d %s", rec.Code, rec.Body)
	}
	id := strconv.FormatInt(page.Items[0].ID, 10)
	if rec := h.do(t, bearer, "POST", "/monitor/v1/clues/"+id+"/review", map[string]string{"action": "confirm"}); rec.Code != 200 {
		t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
	}
	var ops []auditlogtest.Op
	for _, o := range auditlogtest.Ops(t, h.f.pool, id) {
		if o.ObjectType == "monitor.clue" {
			ops = append(ops, o)
		}
	}
	if len(ops) != 1 {
		t.Fatalf("want one review; got %+v", ops)
	}
	o := ops[0]
	if o.Action != "monitor.clue.review" || o.ObjectID != id || o.UserID != "city-user" || o.DistrictCode != "130102" ||
		auditlogtest.Field(o.Before, "status") != "open" || auditlogtest.Field(o.After, "status") != "confirmed" {
		t.Errorf("review: %+v %s %s", o, o.Before, o.After)
	}
}
