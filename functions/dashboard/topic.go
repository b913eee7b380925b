package dashboard

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Topic boards (FP-118 许可备案专版, FP-119 行政处罚专版, FP-120 网络监管专题).
// Licences and penalties are counted from dashboard.licence_rollup,
// licence_entities and penalty_rollup, rebuilt from the registry's
// published registry.dashboard_record_details() (migration 0141) on every
// dashboard-rollup tick: records carry no events, and a board over ~500 000
// licences and ~150 000 penalties joined to 1.3 M entities on every view
// would cost seconds. Their detail lists read the published functions.
// The online market is read from monitor.dashboard_online_entities()
// (monitor migration 0004) directly: the monitor watches thousands of
// presences, not millions.

// Option is one choice of a board's filter with its label.
type Option struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// licenceCategories are the four licence fields of FP-118, in the order
// the boards show them. A licence is classed by its title (the permit's
// name, as the issuing authority prints it); other permits (tobacco,
// transport, schools …) are not on this board.
var licenceCategories = []Option{
	{"food", "食品安全"}, {"drug", "药品安全"}, {"special_equipment", "特种设备"}, {"industrial", "工业产品"},
}

// licenceCategorySQL classes d.title; special equipment and industrial
// products come first, as their permits' names can mention food (食品相关产品).
const licenceCategorySQL = `CASE
	WHEN d.title LIKE '%特种设备%' THEN 'special_equipment'
	WHEN d.title LIKE '%工业产品%' THEN 'industrial'
	WHEN d.title LIKE '%药品%' OR d.title LIKE '%医疗器械%' THEN 'drug'
	WHEN d.title LIKE '%食品%' THEN 'food'
	ELSE '' END`

// licenceStatusSQL folds the stored status into valid, expired or other.
const licenceStatusSQL = `CASE d.status WHEN '有效' THEN 'valid' WHEN '已过期' THEN 'expired' ELSE 'other' END`

var licenceStatuses = map[string]string{"valid": "有效", "expired": "已过期", "other": "其他"}

// caseTypes are the penalty case types of FP-119, classed by the case's
// title (the offence as the decision names it); the first match wins.
var caseTypes = []Option{
	{"food", "食品安全"}, {"special_equipment", "特种设备"}, {"quality", "产品质量"}, {"price", "价格收费"},
	{"advertising", "广告与不正当竞争"}, {"metrology", "计量"}, {"trademark", "商标与知识产权"},
	{"licensing", "无证无照经营"}, {"other", "其他"},
}

const caseTypeSQL = `CASE
	WHEN d.title LIKE '%食品%' THEN 'food'
	WHEN d.title LIKE '%特种设备%' THEN 'special_equipment'
	WHEN d.title LIKE '%不合格产品%' OR d.title LIKE '%产品质量%' THEN 'quality'
	WHEN d.title LIKE '%明码标价%' OR d.title LIKE '%价格%' OR d.title LIKE '%收费%' THEN 'price'
	WHEN d.title LIKE '%广告%' OR d.title LIKE '%宣传%' OR d.title LIKE '%不正当竞争%' THEN 'advertising'
	WHEN d.title LIKE '%计量%' THEN 'metrology'
	WHEN d.title LIKE '%商标%' OR d.title LIKE '%专利%' OR d.title LIKE '%知识产权%' THEN 'trademark'
	WHEN d.title LIKE '%无证%' OR d.title LIKE '%无照%' OR d.title LIKE '%未取得许可%' THEN 'licensing'
	ELSE 'other' END`

func optionName(opts []Option, code string) string {
	for _, o := range opts {
		if o.Code == code {
			return o.Name
		}
	}
	return code
}

func optionKnown(opts []Option, code string) bool {
	for _, o := range opts {
		if o.Code == code {
			return true
		}
	}
	return false
}

// RefreshTopics rebuilds the licence and penalty rollups in one
// transaction (readers see the old numbers or the new, never a half).
func (f *Function) RefreshTopics(ctx context.Context) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`DELETE FROM dashboard.licence_rollup`,
			`DELETE FROM dashboard.licence_entities`,
			`DELETE FROM dashboard.penalty_rollup`,
			// One pass over the licences hashed against the entities.
			`INSERT INTO dashboard.licence_rollup (district_code, township_code, category, status, year, licences)
			SELECT e.district_code, e.township_code, l.category, l.status, l.year, count(*)
			FROM (SELECT d.credit_code, ` + licenceCategorySQL + ` AS category, ` + licenceStatusSQL + ` AS status,
				extract(year FROM d.occurred_on)::int AS year
				FROM registry.dashboard_record_details() d WHERE d.kind = 'licence') l
			JOIN registry.dashboard_entities() e ON e.credit_code = l.credit_code
			WHERE l.category <> '' GROUP BY 1, 2, 3, 4, 5`,
			`INSERT INTO dashboard.licence_entities (district_code, township_code, category, entities)
			SELECT e.district_code, e.township_code, l.category, count(*)
			FROM (SELECT DISTINCT d.credit_code, ` + licenceCategorySQL + ` AS category
				FROM registry.dashboard_record_details() d WHERE d.kind = 'licence') l
			JOIN registry.dashboard_entities() e ON e.credit_code = l.credit_code
			WHERE l.category <> '' GROUP BY 1, 2, 3`,
			`INSERT INTO dashboard.penalty_rollup (district_code, township_code, case_type, month, closed, cases, amount)
			SELECT e.district_code, e.township_code, p.case_type, p.month, p.closed, count(*), COALESCE(sum(p.amount), 0)
			FROM (SELECT d.credit_code, ` + caseTypeSQL + ` AS case_type, date_trunc('month', d.occurred_on)::date AS month,
				d.status = '已结案' AS closed, d.amount
				FROM registry.dashboard_record_details() d WHERE d.kind = 'penalty') p
			JOIN registry.dashboard_entities() e ON e.credit_code = p.credit_code GROUP BY 1, 2, 3, 4, 5`,
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO dashboard.topic_meta (board, refreshed_at) VALUES ('licences', $1), ('penalties', $1)
			ON CONFLICT (board) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at`, f.now())
		return err
	})
}

func topicRefreshed(ctx context.Context, q store.Querier, board string) (*time.Time, error) {
	var at *time.Time
	err := q.QueryRow(ctx, `SELECT max(refreshed_at) FROM dashboard.topic_meta WHERE board = $1`, board).Scan(&at)
	return at, store.Classify(err)
}

// topicScope is the caller's scope, narrowed to ?district= when given
// (a county picked on a board), with the answer's district and notice.
func topicScope(r *http.Request) (auth.Scope, string, string, error) {
	p := principal(r)
	s := p.Scope
	d := r.URL.Query().Get("district")
	if d != "" {
		if c, ok := codes.Divisions().Lookup(d); !ok || c.Level != codes.LevelCounty {
			return s, "", "", errs.Fields([]errs.FieldError{{Field: "district", Message: "区县代码不是石家庄市的区县"}})
		}
		s = narrow(p.Scope, []string{d})
	}
	switch {
	case p.Scope.IsEmpty():
		return s, d, EmptyScopeNotice, nil
	case s.IsEmpty():
		return s, d, "所选区县不在您的数据范围内", nil
	}
	return s, d, "", nil
}

// countiesOf lists every county of the scope (zeros included, for the
// bar charts and maps), in code order.
func countiesOf(s auth.Scope) []Option {
	var out []Option
	for _, c := range codes.Divisions().Counties() {
		if s.Allows(c.Code, "") || scopeTouches(s, c.Code) {
			out = append(out, Option{c.Code, c.Name})
		}
	}
	return out
}
