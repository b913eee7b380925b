package datahub

// FP-98: data quality. Rules of six kinds are configured per dataset and
// field of the catalogue; a run reads each dataset through its published
// read function (never a table), checks every row, keeps the scores of
// the run per rule, field and dataset (the history is the trend), and
// turns failing rows into issues routed to the rule's owning department,
// which fixes the source or explains the value. Reference checks are the
// national code tables of shared/codes — the same checks the registry
// runs when the data enters — not a second copy.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Rule kinds.
const (
	KindFormat       = "format"
	KindRange        = "range"
	KindReference    = "reference"
	KindUniqueness   = "uniqueness"
	KindCompleteness = "completeness"
	KindTimeliness   = "timeliness"
)

// KindTitles are the kinds in the order the console offers them.
var KindTitles = []struct{ Kind, Title string }{
	{KindFormat, "格式"}, {KindRange, "范围"}, {KindReference, "代码引用"},
	{KindUniqueness, "唯一性"}, {KindCompleteness, "完整性"}, {KindTimeliness, "及时性"},
}

// Reference tables a reference rule checks against (shared/codes).
var refTables = map[string]string{
	"credit_code": "统一社会信用代码（GB 32100）",
	"district":    "区县行政区划代码（GB/T 2260）",
	"township":    "乡镇街道代码（GB/T 2260，须属于本行所在区县）",
	"industry":    "国民经济行业代码（GB/T 4754-2017）",
	"id_number":   "居民身份证号码（GB 11643）",
}

// Bound is a range limit, sent as a number or a string ("2020-01-01").
type Bound string

// UnmarshalJSON takes a JSON number or string.
func (b *Bound) UnmarshalJSON(p []byte) error {
	var s string
	if err := json.Unmarshal(p, &s); err == nil {
		*b = Bound(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(p, &n); err != nil {
		return fmt.Errorf("range bound: %w", err)
	}
	*b = Bound(n.String())
	return nil
}

// RuleParams are a rule's settings; which apply depends on the kind.
type RuleParams struct {
	Pattern    string `json:"pattern,omitempty"`      // format: an RE2 regular expression the whole value must match
	Min        *Bound `json:"min,omitempty"`          // range
	Max        *Bound `json:"max,omitempty"`          // range
	Table      string `json:"table,omitempty"`        // reference: credit_code, district, township, industry, id_number
	MaxAgeDays int    `json:"max_age_days,omitempty"` // timeliness
}

// RuleInput configures a rule.
type RuleInput struct {
	Dataset  string     `json:"dataset"`
	Field    string     `json:"field"`
	Kind     string     `json:"kind"`
	Title    string     `json:"title"`
	Params   RuleParams `json:"params"`
	DeptID   string     `json:"dept_id"`   // the owning department; default the creator's
	DeptName string     `json:"dept_name"` // shown with it
}

// Rule is a configured rule.
type Rule struct {
	ID        int64      `json:"id"`
	Dataset   string     `json:"dataset"`
	Field     string     `json:"field"`
	Kind      string     `json:"kind"`
	Params    RuleParams `json:"params"`
	Title     string     `json:"title"`
	DeptID    string     `json:"dept_id"`
	DeptName  string     `json:"dept_name"`
	Enabled   bool       `json:"enabled"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// checker is a compiled rule.
type checker struct {
	Rule
	field    Field
	re       *regexp.Regexp
	min, max *float64 // numbers, or Unix seconds for dates and times
}

// validate checks a rule against the catalogue, in Chinese, and compiles it.
func (in *RuleInput) validate(c catalogue) (checker, error) {
	in.Title = strings.TrimSpace(in.Title)
	ds := c[in.Dataset]
	if ds == nil {
		return checker{}, errs.Fields([]errs.FieldError{{Field: "dataset", Message: "数据集“" + clip(in.Dataset) + "”不存在"}})
	}
	fl, ok := ds.field(in.Field)
	if !ok {
		return checker{}, errs.Fields([]errs.FieldError{{Field: "field", Message: "数据集“" + ds.Title + "”没有字段“" + clip(in.Field) + "”"}})
	}
	if utf8.RuneCountInString(in.Title) > 100 {
		return checker{}, errs.Fields([]errs.FieldError{{Field: "title", Message: "规则名称不超过 100 字"}})
	}
	ch := checker{Rule: Rule{Dataset: ds.ID, Field: fl.Name, Kind: in.Kind, Params: in.Params, Title: in.Title}, field: fl}
	bad := func(field, msg string) (checker, error) {
		return checker{}, errs.Fields([]errs.FieldError{{Field: field, Message: msg}})
	}
	p := in.Params
	switch in.Kind {
	case KindFormat:
		if p.Pattern == "" {
			return bad("params.pattern", "格式规则需要填写正则表达式 pattern")
		}
		re, err := regexp.Compile(`^(?:` + p.Pattern + `)$`)
		if err != nil {
			return bad("params.pattern", "正则表达式不正确："+err.Error())
		}
		ch.re = re
		ch.Params = RuleParams{Pattern: p.Pattern}
	case KindRange:
		if fl.Type == TypeText {
			return bad("field", "字段“"+fl.Title+"”是文本类型，范围规则只适用于数值、整数、日期和时间字段")
		}
		if p.Min == nil && p.Max == nil {
			return bad("params", "范围规则至少需要最小值 min 或最大值 max")
		}
		var err error
		if ch.min, err = parseBound(fl, p.Min, "最小值"); err != nil {
			return bad("params.min", err.Error())
		}
		if ch.max, err = parseBound(fl, p.Max, "最大值"); err != nil {
			return bad("params.max", err.Error())
		}
		if ch.min != nil && ch.max != nil && *ch.min > *ch.max {
			return bad("params", "最小值 "+string(*p.Min)+" 大于最大值 "+string(*p.Max)+"，范围为空")
		}
		ch.Params = RuleParams{Min: p.Min, Max: p.Max}
	case KindReference:
		if _, ok := refTables[p.Table]; !ok {
			return bad("params.table", "未知的代码表“"+clip(p.Table)+"”，应为 credit_code（统一社会信用代码）、district（区县代码）、township（乡镇街道代码）、industry（行业代码）、id_number（身份证号码）之一")
		}
		if fl.Type != TypeText {
			return bad("field", "字段“"+fl.Title+"”不是文本类型，不能按代码表检查")
		}
		ch.Params = RuleParams{Table: p.Table}
	case KindUniqueness, KindCompleteness:
		ch.Params = RuleParams{}
	case KindTimeliness:
		if fl.Type != TypeDate && fl.Type != TypeTime {
			return bad("field", "字段“"+fl.Title+"”不是日期或时间类型，不能设置及时性规则")
		}
		if p.MaxAgeDays < 1 || p.MaxAgeDays > 3650 {
			return bad("params.max_age_days", "及时性规则的最长天数 max_age_days 应为 1 至 3650")
		}
		ch.Params = RuleParams{MaxAgeDays: p.MaxAgeDays}
	default:
		return bad("kind", "未知的规则类型“"+clip(in.Kind)+"”，应为 format（格式）、range（范围）、reference（代码引用）、uniqueness（唯一性）、completeness（完整性）、timeliness（及时性）之一")
	}
	if ch.Title == "" {
		ch.Title = fl.Title + kindTitle(in.Kind)
	}
	return ch, nil
}

func kindTitle(kind string) string {
	for _, k := range KindTitles {
		if k.Kind == kind {
			return k.Title
		}
	}
	return kind
}

// parseBound reads a range limit by the field's type.
func parseBound(fl Field, b *Bound, what string) (*float64, error) {
	if b == nil || *b == "" {
		return nil, nil
	}
	s := strings.TrimSpace(string(*b))
	switch fl.Type {
	case TypeDate, TypeTime:
		t, err := time.ParseInLocation("2006-01-02", s, beijing)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, s); err != nil {
				return nil, fmt.Errorf("%s“%s”不是日期，应为 YYYY-MM-DD", what, clip(s))
			}
		}
		v := float64(t.Unix())
		return &v, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("%s“%s”不是数字", what, clip(s))
	}
	return &v, nil
}

// compile turns a stored rule back into a checker.
func (c catalogue) compile(r Rule) (checker, error) {
	in := RuleInput{Dataset: r.Dataset, Field: r.Field, Kind: r.Kind, Params: r.Params, Title: r.Title}
	ch, err := in.validate(c)
	if err != nil {
		return ch, err
	}
	ch.Rule = r
	return ch, nil
}

// asNumber is a value as range and timeliness compare it.
func asNumber(v any) (float64, bool) {
	switch x := plain(v).(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case time.Time:
		return float64(x.Unix()), true
	}
	return 0, false
}

// check is one row's verdict: applicable (counted), passed, and why not.
func (ch *checker) check(v any, row map[string]any, now time.Time) (applicable, ok bool, msg string) {
	empty := v == nil
	if s, isText := v.(string); isText && strings.TrimSpace(s) == "" {
		empty = true
	}
	if ch.Kind == KindCompleteness {
		if empty {
			return true, false, "“" + ch.field.Title + "”为空"
		}
		return true, true, ""
	}
	if empty {
		return false, true, "" // completeness is its own rule
	}
	switch ch.Kind {
	case KindFormat:
		s := toText(v)
		if !ch.re.MatchString(s) {
			return true, false, "“" + ch.field.Title + "”的值不符合格式 " + ch.Params.Pattern
		}
	case KindRange:
		n, isNum := asNumber(v)
		if !isNum {
			return true, false, "“" + ch.field.Title + "”的值无法比较"
		}
		if ch.min != nil && n < *ch.min {
			return true, false, "“" + ch.field.Title + "”为 " + toText(present(ch.field, v, true)) + "，小于最小值 " + string(*ch.Params.Min)
		}
		if ch.max != nil && n > *ch.max {
			return true, false, "“" + ch.field.Title + "”为 " + toText(present(ch.field, v, true)) + "，大于最大值 " + string(*ch.Params.Max)
		}
	case KindReference:
		s := toText(v)
		var err error
		switch ch.Params.Table {
		case "credit_code":
			err = codes.CheckCreditCode(s)
		case "district":
			err = codes.CheckDistrict(s)
		case "township":
			err = codes.CheckTownship(toText(row["district_code"]), s)
		case "industry":
			err = codes.CheckIndustry(s)
		case "id_number":
			err = codes.CheckIDNumber(s)
		}
		if err != nil {
			m := err.Error()
			if e := errs.As(err); e != nil {
				m = e.Message
			}
			return true, false, m
		}
	case KindTimeliness:
		n, isNum := asNumber(v)
		if !isNum {
			return true, false, "“" + ch.field.Title + "”的值无法比较"
		}
		age := now.Sub(time.Unix(int64(n), 0))
		if days := int(age.Hours() / 24); days > ch.Params.MaxAgeDays {
			return true, false, fmt.Sprintf("“%s”距今 %d 天，超过 %d 天未更新", ch.field.Title, days, ch.Params.MaxAgeDays)
		}
	}
	return true, true, ""
}

// Score is one score of a run.
type Score struct {
	RunID   int64     `json:"run_id"`
	Dataset string    `json:"dataset"`
	Field   string    `json:"field"`             // "" for the dataset as a whole
	RuleID  *int64    `json:"rule_id,omitempty"` // set for a rule's own score
	Checked int64     `json:"checked"`
	Passed  int64     `json:"passed"`
	Score   float64   `json:"score"`
	At      time.Time `json:"at"`
}

func scoreOf(checked, passed int64) float64 {
	if checked == 0 {
		return 100
	}
	return math.Round(10000*float64(passed)/float64(checked)) / 100
}

// QualityRun is one run as logged.
type QualityRun struct {
	ID          int64      `json:"id"`
	Trigger     string     `json:"trigger"`
	StartedBy   string     `json:"started_by"`
	Status      string     `json:"status"`
	Rules       int        `json:"rules"`
	RowsChecked int64      `json:"rows_checked"`
	IssuesFound int        `json:"issues_found"`
	Message     string     `json:"message"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

// failure is one failing row of a rule.
type failure struct {
	rule     *checker
	key      string
	value    string
	msg      string
	district string
}

// qualityLock is the advisory lock of a quality run: one at a time across
// replicas (the push jobs use pushLockKey with the job's id).
const qualityLock = 0x71756c74 // "qult"

// RunQuality runs every enabled rule over its dataset now and returns the
// run: scores recorded, issues opened, reopened and closed.
func (f *Function) RunQuality(ctx context.Context, trigger, by string) (QualityRun, error) {
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		return QualityRun{}, err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(qualityLock)).Scan(&locked); err != nil {
		return QualityRun{}, err
	}
	if !locked {
		return QualityRun{}, errs.New(errs.Conflict, "质量检查正在运行，请稍后再试")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(qualityLock))

	rules, err := listRules(ctx, f.pool, "", true)
	if err != nil {
		return QualityRun{}, err
	}
	run := QualityRun{Trigger: trigger, StartedBy: by, StartedAt: f.now(), Rules: len(rules)}
	if err := f.pool.QueryRow(ctx, `INSERT INTO datahub.quality_runs (trigger, started_by, rules, started_at) VALUES ($1, $2, $3, $4)
		RETURNING id, status`, trigger, by, len(rules), run.StartedAt).Scan(&run.ID, &run.Status); err != nil {
		return run, err
	}
	byDataset := map[string][]*checker{}
	var order []string
	for _, r := range rules {
		ch, err := f.catalogue.compile(r)
		if err != nil {
			continue // a rule whose dataset or field left the catalogue is skipped, not fatal
		}
		if byDataset[ch.Dataset] == nil {
			order = append(order, ch.Dataset)
		}
		byDataset[ch.Dataset] = append(byDataset[ch.Dataset], &ch)
	}
	var scores []Score
	var fails []failure
	for _, id := range order {
		s, fl, n, err := f.checkDataset(ctx, f.catalogue[id], byDataset[id], run)
		if err != nil {
			return f.finishQuality(ctx, run, "failed", "检查数据集“"+f.catalogue[id].Title+"”失败："+err.Error(), nil, nil)
		}
		scores, fails = append(scores, s...), append(fails, fl...)
		run.RowsChecked += n
	}
	var ruleIDs []int64
	for _, chs := range byDataset {
		for _, ch := range chs {
			ruleIDs = append(ruleIDs, ch.ID)
		}
	}
	return f.finishQuality(ctx, run, "done", "", scores, func(tx pgx.Tx) error { return recordIssues(ctx, tx, run, ruleIDs, fails) })
}

// checkDataset reads one dataset through its published function and
// checks every row against its rules.
func (f *Function) checkDataset(ctx context.Context, ds *Dataset, rules []*checker, run QualityRun) ([]Score, []failure, int64, error) {
	cols := []string{ds.Key, "district_code", "township_code"}
	for _, r := range rules {
		if !containsStr(cols, r.Field) {
			cols = append(cols, r.Field)
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	sql := "SELECT " + strings.Join(quoted, ", ") + " FROM " + ds.source + " t"
	if ds.where != "" {
		sql += " WHERE " + ds.where
	}
	rows, err := f.pool.Query(ctx, sql+" ORDER BY "+quoteIdent(ds.Key))
	if err != nil {
		return nil, nil, 0, err
	}
	defer rows.Close()
	type tally struct{ checked, passed int64 }
	per := make([]tally, len(rules))
	// Uniqueness needs every value first: the keys (and districts) seen per value.
	seen := make([]map[string][][2]string, len(rules))
	var fails []failure
	var n int64
	now := f.now()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, nil, 0, err
		}
		n++
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c] = vals[i]
		}
		key, district := toText(row[ds.Key]), toText(row["district_code"])
		for i, r := range rules {
			v := row[r.Field]
			if r.Kind == KindUniqueness {
				if v == nil || strings.TrimSpace(toText(v)) == "" {
					continue
				}
				if seen[i] == nil {
					seen[i] = map[string][][2]string{}
				}
				s := toText(v)
				seen[i][s] = append(seen[i][s], [2]string{key, district})
				per[i].checked++
				continue
			}
			applicable, ok, msg := r.check(v, row, now)
			if !applicable {
				continue
			}
			per[i].checked++
			if ok {
				per[i].passed++
				continue
			}
			fails = append(fails, failure{rule: r, key: key, value: shown(r.field, v), msg: msg, district: district})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, err
	}
	for i, r := range rules {
		if r.Kind != KindUniqueness {
			continue
		}
		for v, keys := range seen[i] {
			if len(keys) == 1 {
				per[i].passed++
				continue
			}
			for _, k := range keys {
				fails = append(fails, failure{rule: r, key: k[0], value: shown(r.field, v), district: k[1],
					msg: fmt.Sprintf("“%s”的值重复，共 %d 行相同", r.field.Title, len(keys))})
			}
		}
	}
	// Scores: each rule, each field (its rules summed), the dataset (all summed).
	var out []Score
	fieldT := map[string]*tally{}
	var fieldOrder []string
	var all tally
	for i, r := range rules {
		id := r.ID
		out = append(out, Score{RunID: run.ID, Dataset: ds.ID, Field: r.Field, RuleID: &id, Checked: per[i].checked, Passed: per[i].passed,
			Score: scoreOf(per[i].checked, per[i].passed), At: run.StartedAt})
		if fieldT[r.Field] == nil {
			fieldT[r.Field] = &tally{}
			fieldOrder = append(fieldOrder, r.Field)
		}
		fieldT[r.Field].checked += per[i].checked
		fieldT[r.Field].passed += per[i].passed
		all.checked += per[i].checked
		all.passed += per[i].passed
	}
	for _, fl := range fieldOrder {
		t := fieldT[fl]
		out = append(out, Score{RunID: run.ID, Dataset: ds.ID, Field: fl, Checked: t.checked, Passed: t.passed, Score: scoreOf(t.checked, t.passed), At: run.StartedAt})
	}
	out = append(out, Score{RunID: run.ID, Dataset: ds.ID, Checked: all.checked, Passed: all.passed, Score: scoreOf(all.checked, all.passed), At: run.StartedAt})
	return out, fails, n, nil
}

// shown is a failing value as an issue keeps it: personal fields masked.
func shown(fl Field, v any) string {
	if s, ok := v.(string); ok && fl.Sensitivity == Personal {
		return Mask(fl.Mask, s)
	}
	s := toText(present(fl, v, false))
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200]) + "…"
	}
	return s
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// finishQuality records the run's scores and issues and closes it, in one
// transaction: a run is all there, or marked failed with nothing of it.
func (f *Function) finishQuality(ctx context.Context, run QualityRun, status, msg string, scores []Score, issues func(pgx.Tx) error) (QualityRun, error) {
	err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, s := range scores {
			b.Queue(`INSERT INTO datahub.quality_scores (run_id, dataset, field, rule_id, checked, passed, score, at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.RunID, s.Dataset, s.Field, s.RuleID, s.Checked, s.Passed, s.Score, s.At)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if issues != nil {
			if err := issues(tx); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `UPDATE datahub.quality_runs SET status = $2, message = $3, rows_checked = $4, finished_at = $5,
			issues_found = (SELECT count(*) FROM datahub.quality_issues WHERE last_run = $1 AND status <> 'closed')
			WHERE id = $1 RETURNING status, message, issues_found, finished_at`, run.ID, status, msg, run.RowsChecked, f.now()).
			Scan(&run.Status, &run.Message, &run.IssuesFound, &run.FinishedAt)
	})
	return run, err
}

// recordIssues opens an issue for each new failure, reopens a fixed or
// closed one that fails again (an explained one stays explained), and
// closes the run's rules' issues whose rows now pass. The failures are
// copied into a temporary table and merged in three set-based statements:
// a statement per failing row cost a second per thousand rows.
func recordIssues(ctx context.Context, tx pgx.Tx, run QualityRun, ruleIDs []int64, fails []failure) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE quality_found (rule_id bigint, row_key text, dataset text, field text, value text,
		message text, dept_id text, district_code text) ON COMMIT DROP`); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"quality_found"},
		[]string{"rule_id", "row_key", "dataset", "field", "value", "message", "dept_id", "district_code"},
		pgx.CopyFromSlice(len(fails), func(i int) ([]any, error) {
			x := fails[i]
			return []any{x.rule.ID, x.key, x.rule.Dataset, x.rule.Field, x.value, x.msg, x.rule.DeptID, x.district}, nil
		})); err != nil {
		return err
	}
	// Temporary tables are never auto-analysed: without this the planner
	// guesses their size and may join the failures row by row.
	if _, err := tx.Exec(ctx, `ANALYZE quality_found`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `WITH prev AS (
			SELECT i.id, i.status, f.rule_id, f.row_key, f.message FROM quality_found f
			LEFT JOIN datahub.quality_issues i ON i.rule_id = f.rule_id AND i.row_key = f.row_key),
		up AS (INSERT INTO datahub.quality_issues (rule_id, dataset, field, row_key, value, message, dept_id, district_code,
				first_run, last_run, created_at, updated_at)
			SELECT rule_id, dataset, field, row_key, value, message, dept_id, district_code, $1, $1, $2, $2 FROM quality_found
			ON CONFLICT (rule_id, row_key) DO UPDATE SET value = EXCLUDED.value, message = EXCLUDED.message, last_run = EXCLUDED.last_run,
				dept_id = EXCLUDED.dept_id, district_code = EXCLUDED.district_code,
				status = CASE WHEN datahub.quality_issues.status IN ('fixed', 'closed') THEN 'open' ELSE datahub.quality_issues.status END,
				updated_at = CASE WHEN datahub.quality_issues.status IN ('fixed', 'closed') THEN EXCLUDED.updated_at ELSE datahub.quality_issues.updated_at END
			RETURNING id, rule_id, row_key, status)
		INSERT INTO datahub.quality_issue_events (issue_id, action, from_status, to_status, note, by_user, run_id, at)
		SELECT up.id, CASE WHEN prev.id IS NULL THEN 'found' ELSE 'reopen' END, coalesce(prev.status, ''), up.status,
			CASE WHEN prev.id IS NULL THEN prev.message ELSE '复查仍未通过：' || prev.message END, 'system:datahub', $1, $2
		FROM up JOIN prev ON prev.rule_id = up.rule_id AND prev.row_key = up.row_key
		WHERE prev.id IS NULL OR prev.status IN ('fixed', 'closed')`, run.ID, run.StartedAt); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `WITH old AS (SELECT id, status FROM datahub.quality_issues
			WHERE rule_id = ANY($1) AND last_run < $2 AND status <> 'closed' FOR UPDATE),
		c AS (UPDATE datahub.quality_issues i SET status = 'closed', updated_at = $3 FROM old WHERE i.id = old.id RETURNING i.id, old.status AS was)
		INSERT INTO datahub.quality_issue_events (issue_id, action, from_status, to_status, note, by_user, run_id, at)
		SELECT id, 'close', was, 'closed', '复查通过', 'system:datahub', $2, $3 FROM c`, ruleIDs, run.ID, run.StartedAt)
	return err
}

// Issue is a quality issue.
type Issue struct {
	ID           int64        `json:"id"`
	RuleID       int64        `json:"rule_id"`
	RuleTitle    string       `json:"rule_title"`
	Kind         string       `json:"kind"`
	Dataset      string       `json:"dataset"`
	Field        string       `json:"field"`
	RowKey       string       `json:"row_key"`
	Value        string       `json:"value"`
	Message      string       `json:"message"`
	DeptID       string       `json:"dept_id"`
	DeptName     string       `json:"dept_name"`
	DistrictCode string       `json:"district_code"`
	Status       string       `json:"status"`
	Note         string       `json:"note"`
	HandledBy    string       `json:"handled_by"`
	HandledName  string       `json:"handled_name"`
	HandledAt    *time.Time   `json:"handled_at"`
	FirstRun     int64        `json:"first_run"`
	LastRun      int64        `json:"last_run"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	Events       []IssueEvent `json:"events,omitempty"`
}

// IssueEvent is one step of an issue's history.
type IssueEvent struct {
	Action     string    `json:"action"`
	FromStatus string    `json:"from_status"`
	ToStatus   string    `json:"to_status"`
	Note       string    `json:"note"`
	ByUser     string    `json:"by_user"`
	ByName     string    `json:"by_name"`
	RunID      *int64    `json:"run_id"`
	At         time.Time `json:"at"`
}

// IssueStatusTitles name the states in Chinese.
var IssueStatusTitles = map[string]string{"open": "待处理", "fixed": "已修复待复查", "explained": "已说明", "closed": "已关闭"}

// IssueFilter selects issues: Dept is the caller's department unless All.
type IssueFilter struct {
	All     bool
	Dept    string
	Dataset string
	Status  string
	RuleID  int64
	Q       string
}

func (fl IssueFilter) where() store.Where {
	var w store.Where
	if !fl.All {
		w.Add("i.dept_id = ?", fl.Dept)
	}
	if fl.Dataset != "" {
		w.Add("i.dataset = ?", fl.Dataset)
	}
	if fl.Status != "" {
		w.Add("i.status = ?", fl.Status)
	}
	if fl.RuleID > 0 {
		w.Add("i.rule_id = ?", fl.RuleID)
	}
	if fl.Q != "" {
		w.Add("(i.row_key ILIKE ? OR i.message ILIKE ?)", store.Contains(fl.Q), store.Contains(fl.Q))
	}
	return w
}

const issueCols = `i.id, i.rule_id, r.title, r.kind, i.dataset, i.field, i.row_key, i.value, i.message, i.dept_id, r.dept_name, i.district_code,
	i.status, i.note, i.handled_by, i.handled_name, i.handled_at, i.first_run, i.last_run, i.created_at, i.updated_at`

func scanIssue(r pgx.Row) (Issue, error) {
	var x Issue
	err := r.Scan(&x.ID, &x.RuleID, &x.RuleTitle, &x.Kind, &x.Dataset, &x.Field, &x.RowKey, &x.Value, &x.Message, &x.DeptID, &x.DeptName,
		&x.DistrictCode, &x.Status, &x.Note, &x.HandledBy, &x.HandledName, &x.HandledAt, &x.FirstRun, &x.LastRun, &x.CreatedAt, &x.UpdatedAt)
	return x, err
}

func listIssues(ctx context.Context, pool *pgxpool.Pool, fl IssueFilter, limit, offset int) ([]Issue, int, error) {
	w := fl.where()
	var total int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM datahub.quality_issues i`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := pool.Query(ctx, `SELECT `+issueCols+` FROM datahub.quality_issues i JOIN datahub.quality_rules r ON r.id = i.rule_id`+
		w.SQL()+` ORDER BY i.id DESC LIMIT `+w.Next(limit)+` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Issue, error) { return scanIssue(r) })
	return out, total, err
}

func getIssue(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, id int64, lock bool) (Issue, error) {
	sql := `SELECT ` + issueCols + ` FROM datahub.quality_issues i JOIN datahub.quality_rules r ON r.id = i.rule_id WHERE i.id = $1`
	if lock {
		sql += ` FOR UPDATE OF i`
	}
	x, err := scanIssue(q.QueryRow(ctx, sql, id))
	if err == pgx.ErrNoRows {
		return x, errs.New(errs.NotFound, "质量问题不存在")
	}
	if err != nil {
		return x, err
	}
	rows, err := q.Query(ctx, `SELECT action, from_status, to_status, note, by_user, by_name, run_id, at
		FROM datahub.quality_issue_events WHERE issue_id = $1 ORDER BY id`, id)
	if err != nil {
		return x, err
	}
	x.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (IssueEvent, error) {
		var e IssueEvent
		return e, r.Scan(&e.Action, &e.FromStatus, &e.ToStatus, &e.Note, &e.ByUser, &e.ByName, &e.RunID, &e.At)
	})
	return x, err
}

// handleIssue moves an issue by a person's action (fix or explain).
func handleIssue(ctx context.Context, tx pgx.Tx, id int64, action, note, userID, userName string, at time.Time) (Issue, error) {
	to := map[string]string{"fix": "fixed", "explain": "explained"}[action]
	var from string
	if err := tx.QueryRow(ctx, `SELECT status FROM datahub.quality_issues WHERE id = $1`, id).Scan(&from); err != nil {
		return Issue{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE datahub.quality_issues SET status = $2, note = $3, handled_by = $4, handled_name = $5, handled_at = $6,
		updated_at = $6 WHERE id = $1`, id, to, note, userID, userName, at); err != nil {
		return Issue{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO datahub.quality_issue_events (issue_id, action, from_status, to_status, note, by_user, by_name, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, action, from, to, note, userID, userName, at); err != nil {
		return Issue{}, err
	}
	return getIssue(ctx, tx, id, false)
}

const ruleCols = `id, dataset, field, kind, params, title, dept_id, dept_name, enabled, created_by, created_at`

func scanRule(r pgx.Row) (Rule, error) {
	var x Rule
	var params []byte
	err := r.Scan(&x.ID, &x.Dataset, &x.Field, &x.Kind, &params, &x.Title, &x.DeptID, &x.DeptName, &x.Enabled, &x.CreatedBy, &x.CreatedAt)
	if err == nil {
		err = json.Unmarshal(params, &x.Params)
	}
	return x, err
}

func insertRule(ctx context.Context, tx pgx.Tx, r Rule) (Rule, error) {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return r, err
	}
	return scanRule(tx.QueryRow(ctx, `INSERT INTO datahub.quality_rules (dataset, field, kind, params, title, dept_id, dept_name, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+ruleCols, r.Dataset, r.Field, r.Kind, params, r.Title, r.DeptID, r.DeptName,
		r.CreatedBy, r.CreatedAt))
}

func listRules(ctx context.Context, pool *pgxpool.Pool, dataset string, enabledOnly bool) ([]Rule, error) {
	rows, err := pool.Query(ctx, `SELECT `+ruleCols+` FROM datahub.quality_rules
		WHERE ($1 = '' OR dataset = $1) AND (NOT $2 OR enabled) ORDER BY id`, dataset, enabledOnly)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Rule, error) { return scanRule(r) })
}

func setRuleEnabled(ctx context.Context, tx pgx.Tx, id int64, enabled bool) (before, after Rule, err error) {
	before, err = scanRule(tx.QueryRow(ctx, `SELECT `+ruleCols+` FROM datahub.quality_rules WHERE id = $1 FOR UPDATE`, id))
	if err == pgx.ErrNoRows {
		return before, after, errs.New(errs.NotFound, "质量规则不存在")
	}
	if err != nil {
		return before, after, err
	}
	after, err = scanRule(tx.QueryRow(ctx, `UPDATE datahub.quality_rules SET enabled = $2 WHERE id = $1 RETURNING `+ruleCols, id, enabled))
	return before, after, err
}

// latestScores are the scores of the newest finished run (one dataset, or
// the dataset-level score of each).
func latestScores(ctx context.Context, pool *pgxpool.Pool, dataset string) ([]Score, error) {
	rows, err := pool.Query(ctx, `SELECT s.run_id, s.dataset, s.field, s.rule_id, s.checked, s.passed, s.score::float8, s.at
		FROM datahub.quality_scores s
		WHERE s.run_id = (SELECT max(id) FROM datahub.quality_runs WHERE status = 'done')
		  AND ($1 = '' AND s.field = '' AND s.rule_id IS NULL OR $1 <> '' AND s.dataset = $1)
		ORDER BY s.dataset, s.rule_id IS NOT NULL, s.field, s.rule_id`, dataset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanScore)
}

func scanScore(r pgx.CollectableRow) (Score, error) {
	var s Score
	return s, r.Scan(&s.RunID, &s.Dataset, &s.Field, &s.RuleID, &s.Checked, &s.Passed, &s.Score, &s.At)
}

// scoreTrend is the score over the last runs: each dataset's, or one
// dataset's and its fields'.
func scoreTrend(ctx context.Context, pool *pgxpool.Pool, dataset string, runs int) ([]Score, error) {
	rows, err := pool.Query(ctx, `SELECT s.run_id, s.dataset, s.field, s.rule_id, s.checked, s.passed, s.score::float8, s.at
		FROM datahub.quality_scores s
		WHERE s.run_id IN (SELECT id FROM datahub.quality_runs WHERE status = 'done' ORDER BY id DESC LIMIT $2)
		  AND s.rule_id IS NULL AND ($1 = '' AND s.field = '' OR $1 <> '' AND s.dataset = $1)
		ORDER BY s.run_id, s.dataset, s.field`, dataset, runs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanScore)
}

func listQualityRuns(ctx context.Context, pool *pgxpool.Pool, limit int) ([]QualityRun, error) {
	rows, err := pool.Query(ctx, `SELECT id, trigger, started_by, status, rules, rows_checked, issues_found, message, started_at, finished_at
		FROM datahub.quality_runs ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (QualityRun, error) {
		var x QualityRun
		return x, r.Scan(&x.ID, &x.Trigger, &x.StartedBy, &x.Status, &x.Rules, &x.RowsChecked, &x.IssuesFound, &x.Message, &x.StartedAt, &x.FinishedAt)
	})
}
