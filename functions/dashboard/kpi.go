package dashboard

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Condition is one term of an indicator: every condition must hold (AND).
// Fields and operators come from a fixed allow-list and values are always
// bound parameters, so a stored indicator can never carry SQL.
type Condition struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// condField is an allowed field: its title, operators and value check.
type condField struct {
	title  string
	ops    []string
	check  func(op, v string) error
	rollup bool // the rollup carries this field, so it can answer it
}

var (
	entityTypes = map[string]string{"enterprise": "企业", "individual": "个体工商户", "cooperative": "农民专业合作社",
		"institution": "事业单位", "non_enterprise": "民办非企业单位"}
	statuses    = map[string]string{"active": "在业", "revoked": "吊销", "deregistered": "注销"}
	recordKinds = map[string]string{"licence": "许可", "annual_report": "年报", "penalty": "行政处罚", "inspection": "检查",
		"random_check": "双随机抽查", "spot_check": "抽检", "complaint": "投诉", "abnormal_list": "经营异常名录",
		"serious_illegal": "严重违法失信名单", "honour": "荣誉", "blacklist": "黑名单"}
	industryPrefix = regexp.MustCompile(`^[0-9]{1,4}$`)
)

func oneOf(set map[string]string, what string) func(op, v string) error {
	return func(op, v string) error {
		for _, x := range splitIn(op, v) {
			if _, ok := set[x]; !ok {
				return fmt.Errorf("%s“%s”不存在", what, x)
			}
		}
		return nil
	}
}

func splitIn(op, v string) []string {
	if op != "in" {
		return []string{v}
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

var condFields = map[string]condField{
	"entity_type": {title: "主体类型", ops: []string{"eq", "in"}, check: oneOf(entityTypes, "主体类型"), rollup: true},
	"status":      {title: "经营状态", ops: []string{"eq", "in"}, check: oneOf(statuses, "经营状态"), rollup: true},
	"industry_code": {title: "行业代码", ops: []string{"prefix"}, check: func(_, v string) error {
		if !industryPrefix.MatchString(v) {
			return fmt.Errorf("行业代码应为 1–4 位数字（GB/T 4754-2017 的门类以下代码前缀）")
		}
		return nil
	}},
	"established_on": {title: "成立日期", ops: []string{"gte", "lte"}, check: func(_, v string) error {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return fmt.Errorf("成立日期应为 YYYY-MM-DD")
		}
		return nil
	}},
	"registered_capital": {title: "注册资本（万元）", ops: []string{"gte", "lte"}, check: func(_, v string) error {
		if n, err := strconv.ParseFloat(v, 64); err != nil || n < 0 {
			return fmt.Errorf("注册资本应为不小于 0 的数字")
		}
		return nil
	}},
	"record_kind": {title: "具有记录", ops: []string{"has", "lacks"}, check: oneOf(recordKinds, "记录类别")},
}

const maxConditions = 10

// validateConditions checks every condition against the allow-list.
func validateConditions(cs []Condition) error {
	var fe []errs.FieldError
	if len(cs) > maxConditions {
		fe = append(fe, errs.FieldError{Field: "conditions", Message: fmt.Sprintf("条件最多 %d 个", maxConditions)})
	}
	for i, c := range cs {
		field := fmt.Sprintf("conditions[%d]", i)
		f, ok := condFields[c.Field]
		if !ok {
			fe = append(fe, errs.FieldError{Field: field, Message: fmt.Sprintf("不支持按“%s”设置条件", c.Field)})
			continue
		}
		okOp := false
		for _, o := range f.ops {
			okOp = okOp || o == c.Op
		}
		if !okOp {
			fe = append(fe, errs.FieldError{Field: field, Message: fmt.Sprintf("%s不支持运算“%s”", f.title, c.Op)})
			continue
		}
		if err := f.check(c.Op, strings.TrimSpace(c.Value)); err != nil {
			fe = append(fe, errs.FieldError{Field: field, Message: err.Error()})
		}
	}
	return errs.Fields(fe)
}

// rollupPlan splits cs into what dashboard.rollup answers (base) and at
// most one "has / lacks a record of kind K" condition, which
// dashboard.record_rollup answers. ok is false when the rollups cannot
// count cs (a field they do not carry, or two record conditions, whose
// intersection no per-kind count can give).
func rollupPlan(cs []Condition) (base []Condition, rec *Condition, ok bool) {
	for i, c := range cs {
		switch {
		case condFields[c.Field].rollup:
			base = append(base, c)
		case c.Field == "record_kind" && rec == nil:
			rec = &cs[i]
		default:
			return nil, nil, false
		}
	}
	return base, rec, true
}

// rollupAnswers reports whether the rollups alone can count cs.
func rollupAnswers(cs []Condition) bool {
	_, _, ok := rollupPlan(cs)
	return ok
}

// compile turns validated conditions into an SQL predicate over alias
// (registry.dashboard_entities() or dashboard.rollup), its values
// appended to *args as numbered parameters.
func compile(alias string, cs []Condition, args *[]any) string {
	if len(cs) == 0 {
		return "TRUE"
	}
	next := func(v any) string { *args = append(*args, v); return "$" + strconv.Itoa(len(*args)) }
	var out []string
	for _, c := range cs {
		v := strings.TrimSpace(c.Value)
		col := alias + "." + c.Field
		switch {
		case c.Op == "eq":
			out = append(out, col+" = "+next(v))
		case c.Op == "in":
			out = append(out, col+" = ANY("+next(splitIn(c.Op, v))+"::text[])")
		case c.Op == "prefix":
			out = append(out, col+" LIKE "+next(v+"%"))
		case c.Field == "established_on":
			out = append(out, col+map[string]string{"gte": " >= ", "lte": " <= "}[c.Op]+next(v)+"::date")
		case c.Field == "registered_capital":
			out = append(out, col+map[string]string{"gte": " >= ", "lte": " <= "}[c.Op]+next(v)+"::numeric")
		case c.Field == "record_kind":
			not := map[string]string{"has": "", "lacks": "NOT "}[c.Op]
			out = append(out, not+"EXISTS (SELECT 1 FROM registry.dashboard_records() r WHERE r.credit_code = "+alias+
				".credit_code AND r.kind = "+next(v)+")")
		}
	}
	return strings.Join(out, " AND ")
}
