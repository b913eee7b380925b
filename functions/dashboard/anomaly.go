package dashboard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/store"
)

// AnomalyTask is the anomaly PingSource's task
// (infra/knative/pingsources/dashboard-anomalies.yaml): recompute every
// rule, merge, and check the thresholds.
const AnomalyTask = "dashboard-anomalies"

// Rule is one anomaly rule (FP-102, FP-106): what it finds, its class, its
// impact, the tags it carries (FP-133) and what the rule suggests doing.
type Rule struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	Class      string   `json:"class"`
	Impact     string   `json:"impact"`
	Source     string   `json:"source"`
	Tags       []string `json:"tags"`
	Suggestion string   `json:"suggestion"`
}

// Anomaly classes and their names (the overview's four groups).
var anomalyClassNames = map[string]string{"entity": "市场主体", "food": "食品数据", "drug": "药品数据", "licence": "许可数据"}

var anomalyClasses = []string{"entity", "food", "drug", "licence"}

var impactNames = map[string]string{"high": "高", "medium": "中", "low": "低"}

var anomalyStatusNames = map[string]string{"open": "待处理", "processing": "处理中", "corrected": "已修正",
	"dismissed": "已排除", "resolved": "已消除"}

// anomalyRules is the rule table. The codes are stored with each anomaly,
// so a rule is renamed here, never recoded.
func anomalyRules() []Rule {
	return []Rule{
		{"credit_code_check", "统一社会信用代码校验失败", "entity", "high", "registry", []string{"信用代码异常", "主体信息异常"},
			"核对营业执照原件，由登记机关更正统一社会信用代码；更正前暂停以该代码进行数据交换"},
		{"credit_region_unknown", "信用代码行政区划码不存在", "entity", "medium", "registry", []string{"信用代码异常", "主体信息异常"},
			"核实登记机关与行政区划，按 GB/T 2260 更正代码第3–8位"},
		{"missing_fields", "必填项缺失", "entity", "medium", "registry", []string{"必填项缺失", "主体信息异常"},
			"通知登记窗口补录法定代表人、住所、行业等必填信息"},
		{"address_district_mismatch", "住所与登记区县不符", "entity", "low", "registry", []string{"地址异常"},
			"核实住所所在区县，更正登记区县或住所"},
		{"address_too_vague", "住所过于笼统", "entity", "low", "registry", []string{"地址异常"},
			"由属地所上门核实，补充道路、门牌号"},
		{"geocode_outside_district", "地理编码点位不在所属区县", "entity", "low", "geocode", []string{"地址异常", "点位异常"},
			"由属地所核实点位，在地址质量页确认或纠正"},
		{"licence_expired_operating", "许可证过期仍在经营", "licence", "high", "registry", []string{"证照过期", "无证经营风险"},
			"督促主体办理延续，逾期未办的依法责令停止经营并立案"},
		{"food_without_licence", "食品经营主体无食品许可", "food", "high", "registry", []string{"无证经营风险", "食品安全"},
			"安排现场检查，核实是否从事食品经营，依法查处无证经营"},
		{"drug_without_licence", "药品经营主体无药品许可", "drug", "high", "registry", []string{"无证经营风险", "药品安全"},
			"安排现场检查，核实是否从事药品经营，依法查处无证经营"},
		{"deregistered_valid_licence", "已注销（吊销）主体仍持有效许可", "licence", "medium", "registry", []string{"注销主体", "证照状态异常"},
			"通知发证机关依法注销许可证"},
		{"deregistered_active_qr", "已注销（吊销）主体赋码仍有效", "entity", "medium", "qr", []string{"注销主体", "赋码异常"},
			"作废该主体的赋码，防止公众扫码获取错误信息"},
	}
}

func ruleByCode(code string) (Rule, bool) {
	for _, r := range anomalyRules() {
		if r.Code == code {
			return r, true
		}
	}
	return Rule{}, false
}

// Industries whose entities need a food or a drug licence (GB/T 4754-2017
// prefixes): food production (14, 15), catering (62), food wholesale
// (512) and food retail; drug manufacture (27), wholesale (5151, 5152)
// and retail (5251, 5252).
var (
	foodIndustries = []string{"14%", "15%", "62%", "512%", "5212", "5213", "5221", "5222", "5226", "5229"}
	drugIndustries = []string{"27%", "5151", "5152", "5251", "5252"}
)

// revokedLicence is a licence status that already ends its validity.
var revokedLicence = []string{"注销", "已注销", "撤销", "已撤销", "吊销", "已吊销"}

// finding is one rule's hit, before the merge.
type finding struct {
	rule, class, subject, credit, name, district, township, source, ref, cause string
}

func licenceClass(title string) string {
	switch {
	case strings.Contains(title, "食品"):
		return "food"
	case strings.Contains(title, "药品"):
		return "drug"
	}
	return "licence"
}

// DetectResult is what one detection did.
type DetectResult struct {
	Found    int      `json:"found"`
	New      int      `json:"new"`
	Resolved int      `json:"resolved"`
	Alerts   int      `json:"alerts"`
	Skipped  []string `json:"skipped,omitempty"` // rules whose source could not be read
}

// DetectAnomalies recomputes every rule over the whole platform (the
// PingSource's work).
func (f *Function) DetectAnomalies(ctx context.Context) (DetectResult, error) {
	return f.detect(ctx, "", "ping:"+AnomalyTask)
}

// detect runs the rules over one entity (credit != "", after its event)
// or everything, and merges. by names what triggered it, for the trace.
func (f *Function) detect(ctx context.Context, credit, by string) (DetectResult, error) {
	var res DetectResult
	now := f.now()
	today := now.In(beijing()).Format(time.DateOnly)
	found, inactive, err := f.entityFindings(ctx, credit)
	if err != nil {
		return res, err
	}
	more, err := licenceFindings(ctx, f.pool, today, credit)
	if err != nil {
		return res, err
	}
	found = append(found, more...)
	// The QR rule reads every active code: only worth it for the whole
	// city or for an entity that is no longer active.
	if credit == "" || inactive {
		qr, err := qrFindings(ctx, f.pool, credit)
		if err != nil {
			f.log.Warn("anomaly rule skipped: qr.active_codes unreadable", "err", err)
			res.Skipped = append(res.Skipped, "deregistered_active_qr")
		}
		found = append(found, qr...)
	}
	if credit == "" {
		geo, err := geocodeFindings(ctx, f.pool)
		if err != nil {
			return res, err
		}
		found = append(found, geo...)
	}
	res.Found = len(found)
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		// One merge at a time: an entity event and the tick would otherwise
		// race on the live-finding index.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('dashboard.anomalies'))`); err != nil {
			return err
		}
		n, r, err := mergeFindings(ctx, tx, found, credit, by, res.Skipped, now)
		if err != nil {
			return err
		}
		res.New, res.Resolved = n, r
		res.Alerts, err = f.checkThresholds(ctx, tx, now)
		return err
	})
	return res, err
}

// entityFindings applies the rules computed in Go (check characters, the
// division table, the address normaliser) to every entity, or one.
// inactive tells whether that one entity is revoked or deregistered.
func (f *Function) entityFindings(ctx context.Context, credit string) ([]finding, bool, error) {
	rows, err := f.pool.Query(ctx, `SELECT e.credit_code, e.name, coalesce(e.legal_rep, ''), coalesce(e.address, ''), e.district_code,
		coalesce(e.township_code, ''), coalesce(e.industry_code, ''), e.status
		FROM registry.dashboard_anomaly_entities() e WHERE $1 = '' OR e.credit_code = $1::bpchar`, credit)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []finding
	inactive := false
	for rows.Next() {
		var code, name, legal, addr, district, township, industry, status string
		if err := rows.Scan(&code, &name, &legal, &addr, &district, &township, &industry, &status); err != nil {
			return nil, false, err
		}
		code = strings.TrimSpace(code)
		inactive = status != "active"
		add := func(rule, cause string) {
			out = append(out, finding{rule: rule, class: "entity", subject: code, credit: code, name: name, district: district,
				township: township, source: "registry", ref: code, cause: cause})
		}
		if err := codes.CheckCreditCode(code); err != nil {
			add("credit_code_check", errMessage(err))
		} else if _, ok := codes.LookupRegion(code[2:8]); !ok {
			add("credit_region_unknown", fmt.Sprintf("代码第3–8位“%s”不在全国行政区划代码表中", code[2:8]))
		}
		if status != "active" {
			continue
		}
		var missing []string
		for _, m := range []struct{ v, name string }{{legal, "法定代表人"}, {addr, "住所"}, {industry, "行业代码"}} {
			if strings.TrimSpace(m.v) == "" {
				missing = append(missing, m.name)
			}
		}
		if len(missing) > 0 {
			add("missing_fields", "缺少"+strings.Join(missing, "、"))
		}
		if strings.TrimSpace(addr) == "" {
			continue
		}
		a := f.norm.Normalize(addr)
		switch {
		case a.DistrictCode != "" && a.DistrictCode != district:
			dn, _ := divisionName(district)
			add("address_district_mismatch", fmt.Sprintf("住所“%s”位于%s，登记区县为%s", addr, a.District, dn))
		case a.Grade == "D" || a.Grade == "E" || a.Grade == "F":
			add("address_too_vague", fmt.Sprintf("住所“%s”仅能定位到%s", addr, a.GradeName))
		}
	}
	return out, inactive, rows.Err()
}

func errMessage(err error) string {
	var e interface{ Error() string }
	if errors.As(err, &e) {
		return e.Error()
	}
	return "校验失败"
}

// licenceFindings are the licence rules, in SQL over the published read
// functions. today is Beijing's date.
func licenceFindings(ctx context.Context, q store.Querier, today, credit string) ([]finding, error) {
	var out []finding
	// An expired licence of an operating entity with no valid licence of
	// the same title (a renewal clears it).
	rows, err := q.Query(ctx, `SELECT l.id, e.credit_code, e.name, e.district_code, coalesce(e.township_code, ''), l.ref_no, l.title, l.valid_until::text
		FROM registry.dashboard_licences() l JOIN registry.dashboard_anomaly_entities() e ON e.credit_code = l.credit_code
		WHERE e.status = 'active' AND l.valid_until < $1::date AND ($2 = '' OR e.credit_code = $2::bpchar)
		  AND NOT EXISTS (SELECT 1 FROM registry.dashboard_licences() n WHERE n.credit_code = l.credit_code AND n.title = l.title
		      AND (n.valid_until IS NULL OR n.valid_until >= $1::date))`, today, credit)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var code, name, district, township, ref, title, until string
		if err := rows.Scan(&id, &code, &name, &district, &township, &ref, &title, &until); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, finding{rule: "licence_expired_operating", class: licenceClass(title), subject: fmt.Sprintf("licence:%d", id),
			credit: code, name: name, district: district, township: township, source: "registry", ref: ref,
			cause: fmt.Sprintf("%s（%s）已于 %s 到期，主体仍为存续状态", title, ref, until)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// An operating food or drug business that never held the licence its
	// industry needs (one that expired is the rule above).
	for _, need := range []struct {
		rule, class, like, title string
		industries               []string
	}{
		{"food_without_licence", "food", "%食品%", "食品生产或经营许可证", foodIndustries},
		{"drug_without_licence", "drug", "%药品%", "药品生产或经营许可证", drugIndustries},
	} {
		rows, err := q.Query(ctx, `SELECT e.credit_code, e.name, e.district_code, coalesce(e.township_code, ''), e.industry_code
			FROM registry.dashboard_anomaly_entities() e
			WHERE e.status = 'active' AND e.industry_code LIKE ANY($1) AND ($2 = '' OR e.credit_code = $2::bpchar)
			  AND NOT EXISTS (SELECT 1 FROM registry.dashboard_licences() l WHERE l.credit_code = e.credit_code AND l.title LIKE $3)`,
			need.industries, credit, need.like)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var code, name, district, township, industry string
			if err := rows.Scan(&code, &name, &district, &township, &industry); err != nil {
				rows.Close()
				return nil, err
			}
			ind := industry
			if in, ok := codes.Industries().Lookup(industry); ok {
				ind = industry + " " + in.Name
			}
			out = append(out, finding{rule: need.rule, class: need.class, subject: code, credit: code, name: name, district: district,
				township: township, source: "registry", ref: industry, cause: fmt.Sprintf("行业为%s，未查到%s", ind, need.title)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	// A revoked or deregistered entity still holding a licence in force.
	rows, err = q.Query(ctx, `SELECT l.id, e.credit_code, e.name, e.district_code, coalesce(e.township_code, ''), l.ref_no, l.title,
			coalesce(l.valid_until::text, '长期'), e.status
		FROM registry.dashboard_licences() l JOIN registry.dashboard_anomaly_entities() e ON e.credit_code = l.credit_code
		WHERE e.status <> 'active' AND (l.valid_until IS NULL OR l.valid_until >= $1::date) AND NOT (l.status = ANY($3))
		  AND ($2 = '' OR e.credit_code = $2::bpchar)`, today, credit, revokedLicence)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var code, name, district, township, ref, title, until, status string
		if err := rows.Scan(&id, &code, &name, &district, &township, &ref, &title, &until, &status); err != nil {
			return nil, err
		}
		out = append(out, finding{rule: "deregistered_valid_licence", class: licenceClass(title), subject: fmt.Sprintf("licence:%d", id),
			credit: code, name: name, district: district, township: township, source: "registry", ref: ref,
			cause: fmt.Sprintf("主体已%s，%s（%s）有效期至 %s 仍未注销", statuses[status], title, ref, until)})
	}
	return out, rows.Err()
}

// qrFindings: a revoked or deregistered entity whose code still answers
// the public scan. qr publishes only qr.active_codes(lim), so the rule
// reads every active code; a per-entity read would be qr's to publish.
func qrFindings(ctx context.Context, q store.Querier, credit string) ([]finding, error) {
	rows, err := q.Query(ctx, `SELECT c.token, e.credit_code, e.name, e.district_code, coalesce(e.township_code, ''), e.status
		FROM qr.active_codes(2147483647) c JOIN registry.dashboard_anomaly_entities() e ON e.credit_code = c.credit_code::bpchar
		WHERE e.status <> 'active' AND ($1 = '' OR e.credit_code = $1::bpchar)`, credit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []finding
	for rows.Next() {
		var token, code, name, district, township, status string
		if err := rows.Scan(&token, &code, &name, &district, &township, &status); err != nil {
			return nil, err
		}
		out = append(out, finding{rule: "deregistered_active_qr", class: "entity", subject: "qr:" + token, credit: code, name: name,
			district: district, township: township, source: "qr", ref: token, cause: fmt.Sprintf("主体已%s，其赋码仍为有效状态", statuses[status])})
	}
	return out, rows.Err()
}

// geocodeFindings reuses the geocoding checks (FP-140): a suspect point
// outside its district, still open in the stations' worklist.
func geocodeFindings(ctx context.Context, q store.Querier) ([]finding, error) {
	rows, err := q.Query(ctx, `SELECT id, address, district_code, township_code FROM dashboard.geocode_anomalies
		WHERE status = 'open' AND 'outside_district' = ANY(issues)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []finding
	for rows.Next() {
		var id int64
		var addr, district, township string
		if err := rows.Scan(&id, &addr, &district, &township); err != nil {
			return nil, err
		}
		out = append(out, finding{rule: "geocode_outside_district", class: "entity", subject: fmt.Sprintf("geocode:%d", id),
			district: district, township: township, source: "geocode", ref: addr, cause: fmt.Sprintf("“%s”的地理编码点位不在其所属区县", addr)})
	}
	return out, rows.Err()
}

// mergeFindings makes the live anomalies exactly the findings: new ones
// inserted (with their detection step), found ones touched, the rest of
// what this run covers resolved. credit narrows the run to one entity;
// skipped rules keep their live anomalies as they are.
func mergeFindings(ctx context.Context, tx pgx.Tx, found []finding, credit, by string, skipped []string, now time.Time) (int, int, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE anomaly_found (rule text, class text, subject text, credit_code text, entity_name text,
		district_code text, township_code text, source text, source_ref text, cause text, impact text, tags text[]) ON COMMIT DROP`); err != nil {
		return 0, 0, err
	}
	rows := make([][]any, 0, len(found))
	seen := map[string]bool{}
	for _, x := range found {
		if seen[x.rule+"\x00"+x.subject] {
			continue
		}
		seen[x.rule+"\x00"+x.subject] = true
		r, _ := ruleByCode(x.rule)
		rows = append(rows, []any{x.rule, x.class, x.subject, x.credit, x.name, x.district, x.township, x.source, x.ref, x.cause, r.Impact, r.Tags})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"anomaly_found"}, []string{"rule", "class", "subject", "credit_code", "entity_name",
		"district_code", "township_code", "source", "source_ref", "cause", "impact", "tags"}, pgx.CopyFromRows(rows)); err != nil {
		return 0, 0, err
	}
	// A temporary table has no statistics until analysed: without them the
	// planner takes the findings for a handful and probes them once per
	// live anomaly, quadratic at a city's scale.
	if _, err := tx.Exec(ctx, `CREATE INDEX ON anomaly_found (rule, subject)`); err != nil {
		return 0, 0, err
	}
	if _, err := tx.Exec(ctx, `ANALYZE anomaly_found`); err != nil {
		return 0, 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE dashboard.anomalies a SET last_seen_at = $1, district_code = f.district_code,
		township_code = f.township_code, entity_name = f.entity_name, cause = f.cause
		FROM anomaly_found f WHERE a.rule = f.rule AND a.subject = f.subject AND a.resolved_at IS NULL`, now); err != nil {
		return 0, 0, err
	}
	var added int
	if err := tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO dashboard.anomalies (rule, class, subject, credit_code, entity_name, district_code, township_code, source,
				source_ref, cause, impact, tags, detected_by, detected_at, last_seen_at)
			SELECT f.rule, f.class, f.subject, f.credit_code, f.entity_name, f.district_code, f.township_code, f.source, f.source_ref,
				f.cause, f.impact, f.tags, $1, $2, $2 FROM anomaly_found f
			WHERE NOT EXISTS (SELECT 1 FROM dashboard.anomalies a WHERE a.rule = f.rule AND a.subject = f.subject AND a.resolved_at IS NULL)
			RETURNING id, rule, source, source_ref, cause),
		tr AS (INSERT INTO dashboard.anomaly_trace (anomaly_id, step, actor, detail, at)
			SELECT id, 'detected', 'system:dashboard', jsonb_build_object('source', source, 'source_ref', source_ref, 'rule', rule,
				'cause', cause, 'by', $1::text), $2 FROM ins)
		SELECT count(*) FROM ins`, by, now).Scan(&added); err != nil {
		return 0, 0, err
	}
	if skipped == nil {
		skipped = []string{}
	}
	var resolved int
	if err := tx.QueryRow(ctx, `WITH res AS (
			UPDATE dashboard.anomalies a SET resolved_at = $1,
				status = CASE WHEN a.status IN ('open', 'processing') THEN 'resolved' ELSE a.status END
			WHERE a.resolved_at IS NULL AND ($2 = '' OR a.credit_code = $2) AND NOT (a.rule = ANY($4))
			  AND NOT EXISTS (SELECT 1 FROM anomaly_found f WHERE f.rule = a.rule AND f.subject = a.subject)
			RETURNING a.id),
		tr AS (INSERT INTO dashboard.anomaly_trace (anomaly_id, step, actor, detail, at)
			SELECT id, 'resolved', 'system:dashboard', jsonb_build_object('by', $3::text), $1 FROM res)
		SELECT count(*) FROM res`, now, credit, by, skipped).Scan(&resolved); err != nil {
		return 0, 0, err
	}
	return added, resolved, nil
}

// Threshold is an alert rule (FP-107).
type Threshold struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Class        string    `json:"class"`
	Rule         string    `json:"rule"`
	DistrictCode string    `json:"district_code"`
	DistrictName string    `json:"district_name"`
	Threshold    int       `json:"threshold"`
	Level        string    `json:"level"`
	Roles        []string  `json:"roles"`
	DeptIDs      []string  `json:"dept_ids"`
	Enabled      bool      `json:"enabled"`
	Crossed      bool      `json:"crossed"`
	Count        int       `json:"count"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
}

const thresholdCols = `t.id, t.name, t.class, t.rule, t.district_code, t.threshold, t.level, t.roles, t.dept_ids, t.enabled, t.crossed,
	t.created_by, t.created_at,
	(SELECT count(*) FROM dashboard.anomalies a WHERE a.resolved_at IS NULL AND a.status IN ('open', 'processing')
	   AND (t.class = '' OR a.class = t.class) AND (t.rule = '' OR a.rule = t.rule)
	   AND (t.district_code = '' OR a.district_code = t.district_code))::int`

func scanThreshold(r pgx.Row) (Threshold, error) {
	var t Threshold
	err := r.Scan(&t.ID, &t.Name, &t.Class, &t.Rule, &t.DistrictCode, &t.Threshold, &t.Level, &t.Roles, &t.DeptIDs, &t.Enabled,
		&t.Crossed, &t.CreatedBy, &t.CreatedAt, &t.Count)
	if n, ok := divisionName(t.DistrictCode); ok {
		t.DistrictName = n
	}
	return t, err
}

// checkThresholds alerts once per crossing: a threshold reached while not
// crossed posts a notice and is marked crossed; one fallen below re-arms.
// It runs in the merge's transaction, so the notice goes out only with the
// anomalies that caused it.
func (f *Function) checkThresholds(ctx context.Context, tx pgx.Tx, now time.Time) (int, error) {
	rows, err := tx.Query(ctx, `SELECT `+thresholdCols+` FROM dashboard.anomaly_thresholds t WHERE t.enabled FOR UPDATE OF t`)
	if err != nil {
		return 0, err
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Threshold, error) { return scanThreshold(r) })
	if err != nil {
		return 0, err
	}
	alerts := 0
	for _, t := range ts {
		switch {
		case t.Count >= t.Threshold && !t.Crossed:
			where := "全市"
			if t.DistrictName != "" {
				where = t.DistrictName
			}
			what := "异常数据"
			if r, ok := ruleByCode(t.Rule); ok {
				what = r.Name
			} else if c := anomalyClassNames[t.Class]; c != "" {
				what = c + "异常"
			}
			n := notify.Notice{Title: fmt.Sprintf("异常数据预警：%s%s达到 %d 条", where, what, t.Count),
				Body:  fmt.Sprintf("预警规则“%s”：%s待处理的%s共 %d 条，已达到阈值 %d 条，请及时排查处理。", t.Name, where, what, t.Count, t.Threshold),
				Level: t.Level, Kind: "dashboard_anomaly_alert", Link: anomalyLink(t), Popup: t.Level == notify.LevelAlert,
				Roles: t.Roles, DeptIDs: t.DeptIDs, Subject: fmt.Sprintf("threshold:%d", t.ID), At: now}
			if err := notify.Post(ctx, tx, Source, n); err != nil {
				return alerts, err
			}
			if _, err := tx.Exec(ctx, `UPDATE dashboard.anomaly_thresholds SET crossed = true WHERE id = $1`, t.ID); err != nil {
				return alerts, err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO dashboard.anomaly_alerts (threshold_id, count, at) VALUES ($1, $2, $3)`, t.ID, t.Count, now); err != nil {
				return alerts, err
			}
			alerts++
		case t.Count < t.Threshold && t.Crossed:
			if _, err := tx.Exec(ctx, `UPDATE dashboard.anomaly_thresholds SET crossed = false WHERE id = $1`, t.ID); err != nil {
				return alerts, err
			}
		}
	}
	return alerts, nil
}

func anomalyLink(t Threshold) string {
	var q []string
	if t.Class != "" {
		q = append(q, "class="+t.Class)
	}
	if t.Rule != "" {
		q = append(q, "rule="+t.Rule)
	}
	if t.DistrictCode != "" {
		q = append(q, "district="+t.DistrictCode)
	}
	link := "/console/#/dashboard/anomalies"
	if len(q) > 0 {
		link += "?" + strings.Join(q, "&")
	}
	return link
}

var allowedAnomalyStatuses = []string{"open", "processing", "corrected", "dismissed", "resolved"}

func validStatus(s string) bool { return slices.Contains(allowedAnomalyStatuses, s) }
