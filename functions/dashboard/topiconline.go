package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// onlineForms are the forms of online business FP-120 names, in the
// board's order; the monitor's platform types map onto them
// (onlineFormSQL), anything else is 其他.
var onlineForms = []Option{
	{"website", "网站"}, {"online_shop", "网店"}, {"micro_shop", "微店"}, {"mini_program", "小程序"},
	{"live_video", "直播/短视频账号"}, {"delivery_shop", "外卖平台店铺"}, {"official_account", "公众号"},
	{"app", "APP"}, {"other", "其他"},
}

const onlineFormSQL = `CASE
	WHEN o.form = '网站' THEN 'website'
	WHEN o.form = '网店' THEN 'online_shop'
	WHEN o.form = '微店' THEN 'micro_shop'
	WHEN o.form = '小程序' THEN 'mini_program'
	WHEN o.form IN ('直播/短视频账号', '短视频账号', '直播账号', '直播间') THEN 'live_video'
	WHEN o.form = '外卖平台店铺' THEN 'delivery_shop'
	WHEN o.form = '公众号' THEN 'official_account'
	WHEN upper(o.form) = 'APP' THEN 'app'
	ELSE 'other' END`

// OnlineBoard is FP-120's answer: the online presences the monitor
// watches in the caller's scope, by form, county and platform.
type OnlineBoard struct {
	GeneratedAt time.Time    `json:"generated_at"`
	District    string       `json:"district,omitempty"`
	Form        string       `json:"form,omitempty"`
	Notice      string       `json:"notice,omitempty"`
	Options     []Option     `json:"options"`
	Totals      OnlineTotals `json:"totals"`
	Forms       []NamedCount `json:"forms"`
	Districts   []NamedCount `json:"districts"`
	Platforms   []NamedCount `json:"platforms"`
}

// OnlineTotals are the board's headline numbers.
type OnlineTotals struct {
	Presences int64 `json:"presences"`  // shops, sites, accounts …
	Entities  int64 `json:"entities"`   // distinct market entities behind them (by credit code)
	WithClues int64 `json:"with_clues"` // presences with at least one clue
	OpenClues int64 `json:"open_clues"` // clues not yet reviewed
}

type onlineFilter struct {
	scope auth.Scope
	form  string
	q     string
}

func parseOnlineFilter(r *http.Request) (onlineFilter, string, string, error) {
	s, district, notice, err := topicScope(r)
	if err != nil {
		return onlineFilter{}, "", "", err
	}
	of := onlineFilter{scope: s, form: r.URL.Query().Get("form"), q: strings.TrimSpace(r.URL.Query().Get("q"))}
	var fe []errs.FieldError
	if of.form != "" && !optionKnown(onlineForms, of.form) {
		fe = append(fe, errs.FieldError{Field: "form", Message: "网络经营形式不正确，应为看板列出的形式之一"})
	}
	if utf8.RuneCountInString(of.q) > 50 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键词最多 50 个字"})
	}
	return of, district, notice, errs.Fields(fe)
}

// onlineFrom selects the presences of the filter. The monitor keeps no
// township, so a township-narrowed scope sees none (scope.Filter against
// an empty township), as on the monitor's own pages.
func onlineFrom(of onlineFilter, args *[]any) string {
	w := []string{of.scope.Filter("o.district_code", "''::text", args)}
	if of.form != "" {
		*args = append(*args, of.form)
		w = append(w, fmt.Sprintf("(%s) = $%d", onlineFormSQL, len(*args)))
	}
	if of.q != "" {
		*args = append(*args, store.Contains(of.q))
		w = append(w, fmt.Sprintf("(o.entity_name LIKE $%d OR o.platform LIKE $%d OR o.presence LIKE $%d)", len(*args), len(*args), len(*args)))
	}
	return ` FROM monitor.dashboard_online_entities() o WHERE ` + strings.Join(w, " AND ")
}

func (f *Function) onlineBoard(r *http.Request) (any, error) {
	of, district, notice, err := parseOnlineFilter(r)
	if err != nil {
		return nil, err
	}
	out := OnlineBoard{GeneratedAt: f.now(), District: district, Form: of.form, Notice: notice, Options: onlineForms,
		Forms: []NamedCount{}, Districts: []NamedCount{}, Platforms: []NamedCount{}}
	if notice != "" {
		return out, nil
	}
	if err := onlineCounts(r.Context(), f.pool, of, &out); err != nil {
		return nil, err
	}
	if out.Totals.Presences == 0 {
		out.Notice = "数据范围内暂无网络经营主体的监测数据"
	}
	return out, nil
}

func onlineCounts(ctx context.Context, q store.Querier, of onlineFilter, out *OnlineBoard) error {
	// Forms are counted without the form filter, so the chosen one is seen among the rest.
	all := of
	all.form = ""
	var args []any
	rows, err := q.Query(ctx, `SELECT `+onlineFormSQL+`, o.district_code, o.platform, o.credit_code, o.clues, o.open_clues`+onlineFrom(all, &args), args...)
	if err != nil {
		return store.Classify(err)
	}
	byForm, byDistrict, byPlatform := map[string]int64{}, map[string]int64{}, map[string]int64{}
	codes := map[string]bool{}
	for rows.Next() {
		var form, d, platform, credit string
		var clues, open int64
		if err := rows.Scan(&form, &d, &platform, &credit, &clues, &open); err != nil {
			rows.Close()
			return store.Classify(err)
		}
		byForm[form]++
		if of.form != "" && form != of.form {
			continue
		}
		out.Totals.Presences++
		if strings.TrimSpace(credit) != "" {
			codes[credit] = true
		}
		if clues > 0 {
			out.Totals.WithClues++
		}
		out.Totals.OpenClues += open
		byDistrict[d]++
		if platform == "" {
			platform = "未知平台"
		}
		byPlatform[platform]++
	}
	if err := rows.Err(); err != nil {
		return store.Classify(err)
	}
	out.Totals.Entities = int64(len(codes))
	for _, o := range onlineForms {
		out.Forms = append(out.Forms, NamedCount{Code: o.Code, Name: o.Name, Count: byForm[o.Code]})
	}
	for _, c := range countiesOf(of.scope) {
		out.Districts = append(out.Districts, NamedCount{Code: c.Code, Name: c.Name, Count: byDistrict[c.Code]})
	}
	for p, n := range byPlatform {
		out.Platforms = append(out.Platforms, NamedCount{Code: p, Name: p, Count: n})
	}
	sortNamed(out.Platforms)
	return nil
}

// sortNamed orders by count, most first, then by name.
func sortNamed(xs []NamedCount) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && (xs[j].Count > xs[j-1].Count || xs[j].Count == xs[j-1].Count && xs[j].Name < xs[j-1].Name); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// OnlineRow is one online presence.
type OnlineRow struct {
	Presence     string `json:"presence"`
	Form         string `json:"form"`
	FormName     string `json:"form_name"`
	Platform     string `json:"platform"`
	EntityName   string `json:"entity_name"`
	CreditCode   string `json:"credit_code"`
	DistrictCode string `json:"district_code"`
	DistrictName string `json:"district_name"`
	Clues        int64  `json:"clues"`
	OpenClues    int64  `json:"open_clues"`
}

func (f *Function) onlineItems(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	of, _, notice, err := parseOnlineFilter(r)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		return map[string]any{"items": []OnlineRow{}, "total": 0, "page": page.Page, "page_size": page.Size, "notice": notice}, nil
	}
	var args []any
	from := onlineFrom(of, &args)
	ctx := r.Context()
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*)`+from, args...).Scan(&total); err != nil {
		return nil, store.Classify(err)
	}
	args = append(args, page.Size, page.Offset())
	rows, err := f.pool.Query(ctx, `SELECT o.presence, `+onlineFormSQL+`, o.platform, o.entity_name, o.credit_code, o.district_code,
		o.clues, o.open_clues`+from+fmt.Sprintf(` ORDER BY o.open_clues DESC, o.clues DESC, o.presence LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OnlineRow, error) {
		var x OnlineRow
		err := r.Scan(&x.Presence, &x.Form, &x.Platform, &x.EntityName, &x.CreditCode, &x.DistrictCode, &x.Clues, &x.OpenClues)
		x.FormName = optionName(onlineForms, x.Form)
		x.DistrictName, _ = divisionName(x.DistrictCode)
		return x, err
	})
	if err != nil {
		return nil, store.Classify(err)
	}
	return httpx.NewPage(items, total, page), nil
}
