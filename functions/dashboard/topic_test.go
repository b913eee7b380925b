package dashboard

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/openapitest"
)

// The seed's licences and penalties, kept in Go so the expected numbers
// are counted here, not by the SQL under test.
type seededLicence struct {
	entity     int
	title, cat string
	valid      bool
	year       int
}

type seededPenalty struct {
	entity    int
	title, ct string
	month     time.Time
	closed    bool
	amount    float64 // 0: no amount recorded
}

var seedDistricts = []string{"130102", "130102", "130102", "130102", "130102", "130102", "130104", "130104", "130104", "130104", "130105", "130105"}

func topicNow() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, beijing()) }

// seedTopics adds to seed's twelve entities licences of every category (and
// one permit the board leaves out), penalties of five case types over five
// years, and online presences, then refreshes the rollups.
func seedTopics(t *testing.T, h harness) ([]seededLicence, []seededPenalty) {
	t.Helper()
	seed(t, h)
	h.f.now = topicNow
	ctx := context.Background()
	titles := []struct{ title, cat string }{{"食品经营许可证", "food"}, {"食品生产许可证", "food"}, {"药品经营许可证", "drug"},
		{"第二类医疗器械经营备案凭证", "drug"}, {"特种设备使用登记证", "special_equipment"}, {"全国工业产品生产许可证", "industrial"},
		{"烟草专卖零售许可证", ""}}
	var lics []seededLicence
	for i := range 12 {
		x := titles[i%len(titles)]
		lics = append(lics, seededLicence{entity: i, title: x.title, cat: x.cat, valid: i%2 == 0, year: 2022 + i%5})
	}
	lics = append(lics, seededLicence{entity: 0, title: "食品经营许可证", cat: "food", valid: false, year: 2019}) // a second food licence
	for _, l := range lics {
		status := "已过期"
		if l.valid {
			status = "有效"
		}
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_record_details (credit_code, kind, ref_no, title, occurred_on, status)
			VALUES ($1, 'licence', $2, $3, $4, $5)`, fmt.Sprintf("91130100MA%08d", l.entity), fmt.Sprintf("JY%06d", l.entity),
			l.title, fmt.Sprintf("%d-03-01", l.year), status); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ title, ct string }{{"销售超过保质期的食品案", "food"}, {"未明码标价案", "price"}, {"发布违法广告案", "advertising"},
		{"特种设备未经定期检验继续使用案", "special_equipment"}, {"擅自改变经营场所案", "other"}}
	var pens []seededPenalty
	for i := range 12 {
		c := cases[i%len(cases)]
		p := seededPenalty{entity: i, title: c.title, ct: c.ct, month: time.Date(2022+i%5, time.Month(i%12+1), 1, 0, 0, 0, 0, time.UTC),
			closed: i%3 != 0, amount: float64(1000 * (i + 1))}
		if i == 11 {
			p.amount = 0
		}
		pens = append(pens, p)
	}
	for _, p := range pens {
		status := "执行中"
		if p.closed {
			status = "已结案"
		}
		var amount any
		if p.amount > 0 {
			amount = p.amount
		}
		if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_record_details (credit_code, kind, title, occurred_on, status, amount)
			VALUES ($1, 'penalty', $2, $3::date + 9, $4, $5)`, fmt.Sprintf("91130100MA%08d", p.entity), p.title, p.month, status, amount); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.pool.Exec(ctx, `INSERT INTO monitor.stub_dashboard_online (presence, form, platform, entity_name, credit_code, district_code, clues, open_clues) VALUES
		('web:shop1.example', '网店', '网店', '甲网店', '91130100MA00000000', '130102', 3, 1),
		('web:shop2.example', '网店', '网店', '乙网店', '91130100MA00000001', '130102', 0, 0),
		('web:site.example', '网站', '网站', '丙公司', '91130100MA00000006', '130104', 1, 1),
		('web:mp.example', '小程序', '小程序', '丁小程序', '', '130104', 0, 0),
		('web:wd.example', '微店', '微店', '戊微店', '91130100MA00000010', '130105', 2, 0),
		('stream:1', '直播/短视频账号', '抖音', '己主播', '91130100MA00000006', '130104', 4, 2)`); err != nil {
		t.Fatal(err)
	}
	if err := h.f.RefreshTopics(ctx); err != nil {
		t.Fatal(err)
	}
	return lics, pens
}

func inDistricts(entity int, ds []string) bool {
	if len(ds) == 1 && ds[0] == "town" { // seed's township 130102002
		return entity >= 2 && entity <= 5
	}
	return len(ds) == 0 || strings.Contains(strings.Join(ds, ","), seedDistricts[entity])
}

// FP-118: the licence board's numbers per category, county and year agree
// with a count of the seeded licences, city-wide, in one district and for
// one category; the permit of no board category is left out.
func TestLicenceBoardCountsInScope(t *testing.T) {
	h := newHarness(t)
	lics, _ := seedTopics(t, h)
	for _, tc := range []struct {
		name      string
		p         auth.Principal
		districts []string
		category  string
	}{
		{"city", authtest.CityWide(allPerms...), nil, ""},
		{"桥西区", authtest.InDistricts(allPerms, "130104"), []string{"130104"}, ""},
		{"city-food", authtest.CityWide(allPerms...), nil, "food"},
		{"长安区-drug", authtest.InDistricts(allPerms, "130102"), []string{"130102"}, "drug"},
		// Township-narrowed: 长安区's township 130102002 holds entities 2–5.
		{"township", auth.Principal{UserID: "t", Username: "t", Perms: allPerms,
			Scope: auth.Scope{Kind: auth.ScopeDept, Districts: []string{"130102"}, Townships: []string{"130102002"}}}, []string{"town"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := decode[LicenceBoard](t, h.do(t, h.iss.Bearer(tc.p), "GET", "/dashboard/v1/topics/licences?category="+tc.category, nil), 200)
			wantCat := map[string]*LicenceCount{}
			var want LicenceCount
			holders := map[string]map[int]bool{}
			byDistrict := map[string]int64{}
			perYear := map[string]map[int]int64{}
			for _, l := range lics {
				if l.cat == "" || !inDistricts(l.entity, tc.districts) {
					continue
				}
				c := wantCat[l.cat]
				if c == nil {
					c = &LicenceCount{}
					wantCat[l.cat] = c
					holders[l.cat] = map[int]bool{}
					perYear[l.cat] = map[int]int64{}
				}
				c.Licences++
				perYear[l.cat][l.year]++
				if l.valid {
					c.Valid++
				} else {
					c.Expired++
				}
				holders[l.cat][l.entity] = true
				if tc.category == "" || l.cat == tc.category {
					want.Licences++
					byDistrict[seedDistricts[l.entity]]++
				}
			}
			for cat, hs := range holders {
				wantCat[cat].Entities = int64(len(hs))
				if tc.category == "" || cat == tc.category {
					want.Entities += int64(len(hs))
				}
			}
			if b.Totals.Licences != want.Licences || b.Totals.Entities != want.Entities || b.Totals.Licences == 0 {
				t.Errorf("totals %+v, want licences %d entities %d", b.Totals, want.Licences, want.Entities)
			}
			if len(b.Categories) != 4 {
				t.Fatalf("categories %+v", b.Categories)
			}
			for _, c := range b.Categories {
				w := wantCat[c.Code]
				if w == nil {
					w = &LicenceCount{}
				}
				if c.Licences != w.Licences || c.Valid != w.Valid || c.Expired != w.Expired || c.Entities != w.Entities {
					t.Errorf("category %s: %+v, want %+v", c.Code, c, *w)
				}
			}
			for _, d := range b.Districts {
				if d.Licences != byDistrict[d.Code] {
					t.Errorf("county %s: %d licences, want %d", d.Code, d.Licences, byDistrict[d.Code])
				}
			}
			if tc.districts != nil && len(b.Districts) != 1 {
				t.Errorf("counties outside the scope listed: %+v", b.Districts)
			}
			for _, line := range b.Years {
				if tc.category != "" && line.Code != tc.category {
					t.Errorf("line %s shown with category %s", line.Code, tc.category)
				}
				if line.Years[0] != 2022 || line.Years[4] != 2026 {
					t.Fatalf("years %v", line.Years)
				}
				for i, y := range line.Years {
					if line.Counts[i] != perYear[line.Code][y] {
						t.Errorf("%s %d: %d, want %d", line.Code, y, line.Counts[i], perYear[line.Code][y])
					}
				}
			}
		})
	}
}

// FP-118: the detail list and the related entities, paged and filtered,
// and their export (CSV, the same rows, audited).
func TestLicenceListsAndExport(t *testing.T) {
	h := newHarness(t)
	lics, _ := seedTopics(t, h)
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	var wantFood, wantFoodValid int
	holders := map[int]bool{}
	for _, l := range lics {
		if l.cat == "food" {
			wantFood++
			holders[l.entity] = true
			if l.valid {
				wantFoodValid++
			}
		}
	}
	type page[T any] struct {
		Items  []T    `json:"items"`
		Total  int    `json:"total"`
		Notice string `json:"notice"`
	}
	p := decode[page[LicenceRow]](t, h.do(t, city, "GET", "/dashboard/v1/topics/licences/items?category=food&page_size=2", nil), 200)
	if p.Total != wantFood || len(p.Items) != 2 || p.Items[0].IssuedOn < p.Items[1].IssuedOn || p.Items[0].CategoryName != "食品安全" {
		t.Errorf("food licences: %+v, want %d", p, wantFood)
	}
	p = decode[page[LicenceRow]](t, h.do(t, city, "GET", "/dashboard/v1/topics/licences/items?category=food&status=valid", nil), 200)
	if p.Total != wantFoodValid {
		t.Errorf("valid food licences %d, want %d", p.Total, wantFoodValid)
	}
	p = decode[page[LicenceRow]](t, h.do(t, city, "GET", "/dashboard/v1/topics/licences/items?q="+url.QueryEscape("测试07"), nil), 200)
	if p.Total != 1 || p.Items[0].CreditCode != "91130100MA00000007" {
		t.Errorf("search by name: %+v", p)
	}
	e := decode[page[LicenceEntity]](t, h.do(t, city, "GET", "/dashboard/v1/topics/licences/entities?category=food", nil), 200)
	if e.Total != len(holders) || e.Items[0].Licences != 2 || e.Items[0].CreditCode != "91130100MA00000000" {
		t.Errorf("food holders: %+v, want %d", e, len(holders))
	}
	district := h.iss.Bearer(authtest.InDistricts(allPerms, "130105"))
	p = decode[page[LicenceRow]](t, h.do(t, district, "GET", "/dashboard/v1/topics/licences/items", nil), 200)
	for _, x := range p.Items {
		if x.DistrictCode != "130105" {
			t.Errorf("a licence outside the scope: %+v", x)
		}
	}
	rec := h.do(t, city, "GET", "/dashboard/v1/topics/licences/export?what=licences&format=csv&category=food", nil)
	if rec.Code != 200 {
		t.Fatalf("export: %d %s", rec.Code, rec.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rec.Body.String(), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != wantFood+1 || rows[0][0] != "许可类别" {
		t.Errorf("export rows %d (%v), want %d and a header", len(rows), err, wantFood+1)
	}
	rec = h.do(t, city, "GET", "/dashboard/v1/topics/licences/export?what=entities&format=xlsx", nil)
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), "spreadsheet") {
		t.Errorf("entities export: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	n := 0
	for _, o := range auditlogtest.Ops(t, h.pool, "licences") {
		if o.Action == "dashboard.topic.export" && o.UserID == "city-user" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d exports audited, want 2", n)
	}
	view := h.iss.Bearer(authtest.CityWide(PermKPI + ":view"))
	if rec := h.do(t, view, "GET", "/dashboard/v1/topics/licences/export", nil); rec.Code != 403 {
		t.Errorf("export without the export permission: %d", rec.Code)
	}
}

// FP-119: cases per county, the five-year trend and case types with their
// fines agree with the seeded penalties, for a period and a case type.
func TestPenaltyBoardCountsAndFilters(t *testing.T) {
	h := newHarness(t)
	_, pens := seedTopics(t, h)
	for _, tc := range []struct {
		name, query string
		p           auth.Principal
		districts   []string
		from, to    time.Time
		caseType    string
	}{
		{"city-all", "from=2022-01&to=2026-12", authtest.CityWide(allPerms...), nil,
			time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ""},
		{"city-2024-food", "from=2024-01&to=2024-12&case_type=food", authtest.CityWide(allPerms...), nil,
			time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), "food"},
		{"长安区-default", "", authtest.InDistricts(allPerms, "130102"), []string{"130102"},
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ""},
		{"桥西区-price", "from=2022-06&to=2025-03&case_type=price", authtest.InDistricts(allPerms, "130104"), []string{"130104"},
			time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), "price"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := decode[PenaltyBoard](t, h.do(t, h.iss.Bearer(tc.p), "GET", "/dashboard/v1/topics/penalties?"+tc.query, nil), 200)
			var want PenaltyCount
			byDistrict, byType := map[string]int64{}, map[string]PenaltyCount{}
			filed, closed := map[int]int64{}, map[int]int64{}
			for _, p := range pens {
				if !inDistricts(p.entity, tc.districts) {
					continue
				}
				in := !p.month.Before(tc.from) && !p.month.After(tc.to)
				if in {
					c := byType[p.ct]
					c.Cases++
					c.Amount += p.amount
					byType[p.ct] = c
				}
				if tc.caseType != "" && p.ct != tc.caseType {
					continue
				}
				filed[p.month.Year()]++
				if p.closed {
					closed[p.month.Year()]++
				}
				if in {
					want.Cases++
					want.Amount += p.amount
					byDistrict[seedDistricts[p.entity]]++
					if p.closed {
						want.Closed++
					}
				}
			}
			if b.Totals != want {
				t.Errorf("totals %+v, want %+v", b.Totals, want)
			}
			if b.From != tc.from.Format("2006-01") || b.To != tc.to.Format("2006-01") {
				t.Errorf("period %s–%s", b.From, b.To)
			}
			for _, d := range b.Districts {
				if d.Cases != byDistrict[d.Code] {
					t.Errorf("county %s: %d cases, want %d", d.Code, d.Cases, byDistrict[d.Code])
				}
			}
			if len(b.Types) != len(caseTypes) {
				t.Fatalf("types %+v", b.Types)
			}
			for _, c := range b.Types {
				if w := byType[c.Code]; c.Cases != w.Cases || c.Amount != w.Amount {
					t.Errorf("type %s: %+v, want %+v", c.Code, c, w)
				}
			}
			if len(b.Trend) != 5 || b.Trend[4].Year != tc.to.Year() {
				t.Fatalf("trend %+v", b.Trend)
			}
			for _, y := range b.Trend {
				if y.Filed != filed[y.Year] || y.Closed != closed[y.Year] {
					t.Errorf("trend %d: %+v, want filed %d closed %d", y.Year, y, filed[y.Year], closed[y.Year])
				}
			}
		})
	}
}

// FP-118, FP-119, FP-120: bad input on the boards is refused with a clear Chinese message.
func TestTopicBoardsRefuseBadInput(t *testing.T) {
	h := newHarness(t)
	h.f.now = topicNow
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	for _, tc := range []struct{ path, msg string }{
		{"/dashboard/v1/topics/penalties?case_type=bogus", "案件类型不正确"},
		{"/dashboard/v1/topics/penalties?from=2024-13", "开始月份格式应为 YYYY-MM"},
		{"/dashboard/v1/topics/penalties?to=2024/05", "结束月份格式应为 YYYY-MM"},
		{"/dashboard/v1/topics/penalties?from=2025-06&to=2025-01", "开始月份不能晚于结束月份"},
		{"/dashboard/v1/topics/penalties?to=2027-01", "结束月份不能晚于本月"},
		{"/dashboard/v1/topics/penalties?from=2001-01&to=2024-01", "统计时段最长 10 年"},
		{"/dashboard/v1/topics/licences?category=tobacco", "许可类别应为"},
		{"/dashboard/v1/topics/licences/items?status=lost", "许可状态应为"},
		{"/dashboard/v1/topics/licences/export?what=all", "导出内容应为"},
		{"/dashboard/v1/topics/online?form=fax", "网络经营形式不正确"},
		{"/dashboard/v1/topics/online?district=110101", "区县代码不是石家庄市的区县"},
	} {
		rec := h.do(t, city, "GET", tc.path, nil)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.msg) {
			t.Errorf("%s: %d %s, want 400 with %q", tc.path, rec.Code, rec.Body, tc.msg)
		}
	}
}

// FP-118, FP-119, FP-120: an empty scope, a county outside the scope and no data each give a
// notice and no numbers.
func TestTopicBoardsEmptyStates(t *testing.T) {
	h := newHarness(t)
	h.f.now = topicNow
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	if b := decode[LicenceBoard](t, h.do(t, city, "GET", "/dashboard/v1/topics/licences", nil), 200); b.Notice != "数据范围内暂无许可备案数据" {
		t.Errorf("no licences: %q", b.Notice)
	}
	if b := decode[PenaltyBoard](t, h.do(t, city, "GET", "/dashboard/v1/topics/penalties", nil), 200); !strings.Contains(b.Notice, "没有行政处罚案件") {
		t.Errorf("no penalties: %q", b.Notice)
	}
	if b := decode[OnlineBoard](t, h.do(t, city, "GET", "/dashboard/v1/topics/online", nil), 200); !strings.Contains(b.Notice, "暂无网络经营主体") {
		t.Errorf("no online data: %q", b.Notice)
	}
	seedTopics(t, h)
	empty := h.iss.Bearer(auth.Principal{UserID: "e", Username: "e", Perms: allPerms, Scope: auth.Scope{Kind: auth.ScopeDept}})
	lb := decode[LicenceBoard](t, h.do(t, empty, "GET", "/dashboard/v1/topics/licences", nil), 200)
	pb := decode[PenaltyBoard](t, h.do(t, empty, "GET", "/dashboard/v1/topics/penalties?from=2022-01", nil), 200)
	ob := decode[OnlineBoard](t, h.do(t, empty, "GET", "/dashboard/v1/topics/online", nil), 200)
	if lb.Notice != EmptyScopeNotice || len(lb.Categories) != 0 || pb.Notice != EmptyScopeNotice || pb.Totals.Cases != 0 ||
		ob.Notice != EmptyScopeNotice || ob.Totals.Presences != 0 {
		t.Errorf("empty scope: %+v %+v %+v", lb, pb, ob)
	}
	if rec := h.do(t, empty, "GET", "/dashboard/v1/topics/licences/export", nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "数据范围为空") {
		t.Errorf("empty scope export: %d %s", rec.Code, rec.Body)
	}
	district := h.iss.Bearer(authtest.InDistricts(allPerms, "130104"))
	if b := decode[LicenceBoard](t, h.do(t, district, "GET", "/dashboard/v1/topics/licences?district=130102", nil), 200); b.Notice != "所选区县不在您的数据范围内" || b.Totals.Licences != 0 {
		t.Errorf("county outside the scope: %+v", b)
	}
}

// FP-120: online presences by form, county and platform in the scope, the
// form filter and the list.
func TestOnlineBoardFromMonitor(t *testing.T) {
	h := newHarness(t)
	seedTopics(t, h)
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	b := decode[OnlineBoard](t, h.do(t, city, "GET", "/dashboard/v1/topics/online", nil), 200)
	if b.Totals != (OnlineTotals{Presences: 6, Entities: 4, WithClues: 4, OpenClues: 4}) {
		t.Errorf("city totals %+v", b.Totals)
	}
	forms := map[string]int64{}
	for _, f := range b.Forms {
		forms[f.Code] = f.Count
	}
	if forms["online_shop"] != 2 || forms["website"] != 1 || forms["mini_program"] != 1 || forms["micro_shop"] != 1 || forms["live_video"] != 1 || forms["other"] != 0 {
		t.Errorf("forms %v", forms)
	}
	qx := h.iss.Bearer(authtest.InDistricts(allPerms, "130104"))
	b = decode[OnlineBoard](t, h.do(t, qx, "GET", "/dashboard/v1/topics/online?form=live_video", nil), 200)
	if b.Totals.Presences != 1 || len(b.Districts) != 1 || b.Districts[0].Count != 1 || len(b.Platforms) != 1 || b.Platforms[0].Name != "抖音" {
		t.Errorf("桥西区 live accounts: %+v", b)
	}
	type page struct {
		Items []OnlineRow `json:"items"`
		Total int         `json:"total"`
	}
	p := decode[page](t, h.do(t, qx, "GET", "/dashboard/v1/topics/online/items", nil), 200)
	if p.Total != 3 || p.Items[0].Presence != "stream:1" || p.Items[0].FormName != "直播/短视频账号" {
		t.Errorf("桥西区 presences: %+v", p)
	}
}

// FP-118, FP-119: the dashboard-rollup tick rebuilds the topic rollups too; a record
// added since counts from that tick.
func TestTopicRollupFollowsThePing(t *testing.T) {
	h := newHarness(t)
	seedTopics(t, h)
	ctx := context.Background()
	if _, err := h.pool.Exec(ctx, `INSERT INTO registry.stub_dashboard_record_details (credit_code, kind, title, occurred_on, status, amount)
		VALUES ('91130100MA00000005', 'penalty', '销售不合格产品案', '2026-02-03', '已结案', 800)`); err != nil {
		t.Fatal(err)
	}
	city := h.iss.Bearer(authtest.CityWide(allPerms...))
	quality := func() int64 {
		b := decode[PenaltyBoard](t, h.do(t, city, "GET", "/dashboard/v1/topics/penalties?case_type=quality", nil), 200)
		return b.Totals.Cases
	}
	if n := quality(); n != 0 {
		t.Fatalf("counted before the tick: %d", n)
	}
	ping := cloudevents.New()
	ping.SetID("ping-topics")
	ping.SetType(events.Ping)
	ping.SetSource("/apis/v1/namespaces/smartreg/pingsources/dashboard-rollup")
	_ = ping.SetData("application/json", map[string]any{"task": PingTask})
	if _, err := h.f.Receive(ctx, ping); err != nil {
		t.Fatal(err)
	}
	if n := quality(); n != 1 {
		t.Errorf("after the tick: %d quality cases, want 1", n)
	}
}

// FP-118, FP-119, FP-120: the stubs keep the published contracts' result columns (registry's
// TestDashboardTopicsReadFunction and monitor's TestDashboardOnlineRead
// check the same strings on the real functions).
func TestTopicStubsMatchPublishedSignatures(t *testing.T) {
	h := newHarness(t)
	for fn, want := range map[string]string{
		"registry.dashboard_record_details()": "TABLE(id bigint, credit_code character, kind text, ref_no text, title text, authority text, occurred_on date, valid_until date, status text, amount numeric, basis text)",
		"monitor.dashboard_online_entities()": "TABLE(presence text, form text, platform text, entity_name text, credit_code text, district_code text, clues bigint, open_clues bigint)",
	} {
		var got string
		if err := h.pool.QueryRow(context.Background(), `SELECT pg_get_function_result($1::regprocedure)`, fn).Scan(&got); err != nil || got != want {
			t.Errorf("stub %s returns %s (%v), want %s", fn, got, err, want)
		}
	}
}

func TestOpenAPITopicSchemasMatchStructs(t *testing.T) {
	openapitest.CheckSchemas(t, openapitest.Load(t, openapi), map[string]any{
		"TopicOption": Option{}, "LicenceCount": LicenceCount{}, "LicenceBoard": LicenceBoard{}, "LicenceRow": LicenceRow{},
		"LicenceEntity": LicenceEntity{}, "PenaltyCount": PenaltyCount{}, "PenaltyBoard": PenaltyBoard{}, "OnlineBoard": OnlineBoard{},
		"OnlineRow": OnlineRow{},
	})
}
