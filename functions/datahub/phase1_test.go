package datahub

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
)

type v1Answer struct {
	Code string `json:"code"`
	Msg  string `json:"msg"`
	Data struct {
		Total    int              `json:"total"`
		PageNo   int              `json:"pageNo"`
		PageSize int              `json:"pageSize"`
		List     []map[string]any `json:"list"`
	} `json:"data"`
}

// phase1World adds to the harness's food licences a medical-device
// licence in 长安区 and a special-equipment one in 桥西区.
func phase1World(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO registry.stub_datahub_records (id, credit_code, entity_name, kind, ref_no, title,
		authority, occurred_on, valid_until, status, district_code, township_code) VALUES
		(101, $1, '测试00超市有限公司', 'licence', '冀石食药监械经营备20260001号', '第二类医疗器械经营备案凭证', '长安区市场监督管理局', '2026-01-05', NULL, '有效', '130102', '130102001'),
		(102, $2, '测试01超市有限公司', 'licence', 'TS2026-0001', '特种设备使用登记证', '桥西区市场监督管理局', '2026-02-01', '2030-01-31', '有效', '130104', '130104002')`,
		codeOf(0), codeOf(1)); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) v1(t *testing.T, bearer, path string) (v1Answer, map[string]json.RawMessage, int) {
	t.Helper()
	rec := h.do(t, bearer, "GET", path, nil)
	var a v1Answer
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	return a, raw, rec.Code
}

// v1All pages through a v1 interface pageSize rows at a time.
func (h *harness) v1All(t *testing.T, bearer, path string, size int) (rows []map[string]any, total int) {
	t.Helper()
	for page := 1; ; page++ {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		a, _, code := h.v1(t, bearer, path+sep+"pageSize="+strconv.Itoa(size)+"&pageNo="+strconv.Itoa(page))
		if code != 200 || a.Code != "0" || a.Msg != "成功" || a.Data.PageNo != page || a.Data.PageSize != size {
			t.Fatalf("%s page %d: %d %+v", path, page, code, a)
		}
		rows, total = append(rows, a.Data.List...), a.Data.Total
		if len(a.Data.List) < size {
			return rows, total
		}
	}
}

// v2All follows a v2 interface's cursor limit rows at a time.
func v2All[T any](t *testing.T, h *harness, bearer, path string, limit int) []T {
	t.Helper()
	var out []T
	after := ""
	for range 100 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		rec := h.do(t, bearer, "GET", path+sep+"limit="+strconv.Itoa(limit)+"&after="+after, nil)
		var p Phase1Page[T]
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &p) != nil || len(p.Items) > limit {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		out = append(out, p.Items...)
		if p.NextAfter == "" {
			return out
		}
		after = p.NextAfter
	}
	t.Fatalf("%s: the cursor never ended", path)
	return nil
}

// asV1 is a row as v1 answers it, through JSON (v1's values are strings).
func asV1(t *testing.T, row map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(row)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// FP-181: the phase-I interfaces keep their v1 contract — paths, envelope,
// page fields and each row's field names, frozen in
// testdata/phase1_v1_contract.json — and v2 answers the same rows, so a
// v1 client and a v2 client see one data set.
func TestPhase1V1KeptAndV2Compatible(t *testing.T) {
	h := phase1World(t)
	raw, err := os.ReadFile("testdata/phase1_v1_contract.json")
	if err != nil {
		t.Fatal(err)
	}
	var contract map[string]any
	if err := json.Unmarshal(raw, &contract); err != nil {
		t.Fatal(err)
	}
	fields := func(k string) []string {
		var out []string
		for _, v := range contract[k].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	city := h.iss.Bearer(authtest.CityWide(PermPhase1 + ":view"))
	for _, res := range []string{"frxx", "xkzz", "spxk", "ylqx"} {
		a, env, code := h.v1(t, city, "/datahub/v1/phase1/"+res)
		if code != 200 || !slices.Equal(slices.Sorted(maps.Keys(env)), fields("envelope")) {
			t.Fatalf("%s: %d envelope %v", res, code, slices.Sorted(maps.Keys(env)))
		}
		var data map[string]json.RawMessage
		_ = json.Unmarshal(env["data"], &data)
		if !slices.Equal(slices.Sorted(maps.Keys(data)), fields("page")) || len(a.Data.List) == 0 {
			t.Errorf("%s: page %v, %d rows", res, slices.Sorted(maps.Keys(data)), len(a.Data.List))
		}
		for _, row := range a.Data.List {
			if got := slices.Sorted(maps.Keys(row)); !slices.Equal(got, fields(res)) {
				t.Fatalf("%s: a row's fields %v, want the frozen %v", res, got, fields(res))
			}
			for k, v := range row {
				if _, ok := v.(string); !ok {
					t.Errorf("%s.%s = %v: phase I's values are strings", res, k, v)
				}
			}
		}
	}

	// Legal persons: every row of v1's pages is v2's row in v1's shape.
	v1Rows, total := h.v1All(t, city, "/datahub/v1/phase1/frxx", 7)
	v2Rows := v2All[LegalPerson](t, h, city, "/datahub/v2/legal-persons", 7)
	if total != 40 || len(v1Rows) != 40 || len(v2Rows) != 40 {
		t.Fatalf("legal persons: v1 %d (total %d), v2 %d, want 40", len(v1Rows), total, len(v2Rows))
	}
	for i := range v2Rows {
		if want := asV1(t, v1LegalPerson(v2Rows[i])); !reflect.DeepEqual(v1Rows[i], want) {
			t.Fatalf("row %d: v1 %v, v2 as v1 %v", i, v1Rows[i], want)
		}
	}
	if r := v1Rows[3]; r["tyshxydm"] != codeOf(3) || r["qymc"] != "测试03超市有限公司" || r["clrq"] != "2018-03-01" || r["zczb"] != "30" ||
		r["fddbr"] != "张***" || r["xzqhdm"] != "130104" {
		t.Errorf("row 3: %v", r)
	}

	// Licences: the food and medical-device interfaces are categories of v2's.
	for res, cat := range map[string]string{"xkzz": "", "spxk": "food", "ylqx": "medical_device"} {
		v1Rows, total := h.v1All(t, city, "/datahub/v1/phase1/"+res, 4)
		v2Rows := v2All[Licence](t, h, city, "/datahub/v2/licences?category="+cat, 4)
		if len(v1Rows) != total || len(v2Rows) != total {
			t.Fatalf("%s: v1 %d of %d, v2 %d", res, len(v1Rows), total, len(v2Rows))
		}
		for i := range v2Rows {
			if want := asV1(t, v1Licence(v2Rows[i])); !reflect.DeepEqual(v1Rows[i], want) {
				t.Fatalf("%s row %d: v1 %v, v2 as v1 %v", res, i, v1Rows[i], want)
			}
		}
		want := map[string]int{"xkzz": 16, "spxk": 14, "ylqx": 1}[res]
		if total != want {
			t.Errorf("%s: %d licences, want %d", res, total, want)
		}
	}
	ylqx, _, _ := h.v1(t, city, "/datahub/v1/phase1/ylqx")
	if r := ylqx.Data.List[0]; r["xkzmc"] != "第二类医疗器械经营备案凭证" || r["yxqz"] != "" || r["fzjg"] != "长安区市场监督管理局" {
		t.Errorf("medical device: %v", r)
	}

	// Scope: a 长安区 user sees 长安区's rows in both versions.
	changan := h.iss.Bearer(authtest.InDistricts([]string{PermPhase1 + ":view"}, "130102"))
	rows, total := h.v1All(t, changan, "/datahub/v1/phase1/frxx", 50)
	v2Scoped := v2All[LegalPerson](t, h, changan, "/datahub/v2/legal-persons", 50)
	if total != 20 || len(rows) != 20 || len(v2Scoped) != 20 {
		t.Fatalf("长安区: v1 %d of %d, v2 %d", len(rows), total, len(v2Scoped))
	}
	for _, r := range rows {
		if r["xzqhdm"] != "130102" {
			t.Fatalf("a row outside the scope: %v", r)
		}
	}
	if a, _, _ := h.v1(t, changan, "/datahub/v1/phase1/xkzz?xzqhdm=130104"); a.Data.Total != 0 {
		t.Errorf("长安区 user asking for 桥西区: %d", a.Data.Total)
	}

	// The legal representative shows whole only with datahub.personal:view.
	personal := h.iss.Bearer(authtest.CityWide(PermPhase1+":view", PermPersonal+":view"))
	if a, _, _ := h.v1(t, personal, "/datahub/v1/phase1/frxx?tyshxydm="+codeOf(3)); a.Data.Total != 1 || a.Data.List[0]["fddbr"] != "张三丰3" {
		t.Errorf("unmasked: %+v", a.Data)
	}

	// Bad input: v1 in its envelope, v2 in the platform's errors.
	for path, msg := range map[string]string{
		"/datahub/v1/phase1/frxx?pageSize=500": "pageSize", "/datahub/v1/phase1/xkzz?pageNo=0": "pageNo",
		"/datahub/v1/phase1/spxk?xzqhdm=长安区": "xzqhdm",
	} {
		if a, _, code := h.v1(t, city, path); code != 400 || a.Code != "E400" || !strings.Contains(a.Msg, msg) {
			t.Errorf("%s: %d %+v", path, code, a)
		}
	}
	for path, field := range map[string]string{
		"/datahub/v2/legal-persons?limit=0": "limit", "/datahub/v2/licences?category=drug": "category",
		"/datahub/v2/licences?after=abc": "after", "/datahub/v2/legal-persons?district_code=13": "district_code",
	} {
		if rec := h.do(t, city, "GET", path, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"`+field+`"`) {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermCatalogue+":view")), "GET", "/datahub/v1/phase1/frxx", nil); rec.Code != http.StatusForbidden {
		t.Errorf("without the permission: %d", rec.Code)
	}
	if rec := h.do(t, "", "GET", "/datahub/v2/licences", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", rec.Code)
	}
}
