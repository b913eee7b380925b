package datahub

// Smart search (FP-136, 137): formula conditions over a dataset's fields
// the caller may read, with their data scope, as generated interfaces
// apply them (the dataset's permission, the scope as the row filter,
// personal fields masked unless datahub.personal:view), written as a CEL
// expression or built visually; both become one CEL text, compiled by
// cel.go into the condition tree of query.go, so values reach SQL only
// as parameters and names only from the catalogue. Aggregates (sum, avg,
// max, min, count) with grouping are chosen by name from the catalogue
// too. Every run, answered or refused, is in the access log.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// PermSearch is smart search: view (run), create (save and share
// formulas), export.
const PermSearch = "datahub.search"

// Limits of a search.
const (
	searchMaxPageSize = 1000
	searchMaxGroups   = 4
	searchMaxAggs     = 8
)

// Cond is the visual builder's condition tree: a group (op "and"/"or"
// with items) or one condition of a field. A value starting with "$" is
// a variable filled in at each run.
type Cond struct {
	Op     string   `json:"op"` // and, or | eq neq gt gte lt lte between in contains starts_with ends_with
	Not    bool     `json:"not,omitempty"`
	Items  []Cond   `json:"items,omitempty"`
	Field  string   `json:"field,omitempty"`
	Value  string   `json:"value,omitempty"`
	Value2 string   `json:"value2,omitempty"` // between's upper bound
	Values []string `json:"values,omitempty"` // in
}

func (c Cond) isGroup() bool { return c.Op == "and" || c.Op == "or" }

// Aggregate is one aggregate column: count (of rows, or of a field's
// values), or sum/avg/max/min of a field.
type Aggregate struct {
	Fn    string `json:"fn"`
	Field string `json:"field,omitempty"`
}

// SearchOrder orders by a field, or in a grouped search by a group field
// or an aggregate's column name (count, sum_registered_capital …).
type SearchOrder struct {
	By   string `json:"by"`
	Desc bool   `json:"desc,omitempty"`
}

// SearchSpec is what a formula is: the dataset and conditions (an
// expression or a builder tree), the columns, grouping and aggregates.
type SearchSpec struct {
	Dataset    string        `json:"dataset"`
	Expr       string        `json:"expr,omitempty"`
	Builder    *Cond         `json:"builder,omitempty"`
	Select     []string      `json:"select,omitempty"`
	GroupBy    []string      `json:"group_by,omitempty"`
	Aggregates []Aggregate   `json:"aggregates,omitempty"`
	Order      []SearchOrder `json:"order,omitempty"`
}

// SearchInput is a run: a spec, the variables' values and a page.
type SearchInput struct {
	SearchSpec
	Vars     map[string]string `json:"vars,omitempty"`
	Page     int               `json:"page,omitempty"`
	PageSize int               `json:"page_size,omitempty"`
	Format   string            `json:"format,omitempty"` // export only: csv or xlsx
}

// Column is a result column.
type Column struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Type  string `json:"type"`
	// Masked: a personal field shown masked.
	Masked bool `json:"masked,omitempty"`
}

// SearchResult is a page of a run.
type SearchResult struct {
	Columns  []Column         `json:"columns"`
	Rows     []map[string]any `json:"rows"`
	Total    int              `json:"total"`
	Page     int              `json:"page"`
	PageSize int              `json:"page_size"`
	Expr     string           `json:"expr"`
}

// CheckResult answers a live validation: the CEL text (the builder's,
// or the expression as given), the builder tree the expression is (when
// it can be drawn), its variables, and the columns a run would answer.
// A failure is a 400 naming the part at fault.
type CheckResult struct {
	Expr      string     `json:"expr"`
	Builder   *Cond      `json:"builder,omitempty"`
	Drawable  bool       `json:"drawable"`
	Variables []Variable `json:"variables"`
	Columns   []Column   `json:"columns"`
}

// aggCol is a compiled aggregate.
type aggCol struct {
	fn    string
	field Field // zero for count(*)
	out   Field // the result column (name, title, type)
}

// compiled is a search ready to run.
type compiled struct {
	ds      *Dataset
	scope   auth.Scope
	unmask  bool
	where   *node
	expr    string
	builder *Cond
	vars    []Variable
	sel     []Field
	groups  []Field
	aggs    []aggCol
	order   []orderBy
	agged   bool
}

var condOps = map[string]string{"eq": "==", "neq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

var aggNames = map[string]string{"count": "计数", "sum": "合计", "avg": "平均", "max": "最大", "min": "最小"}

// compileSearch checks a spec against principal p's rights and compiles
// it. values nil only checks (variables need no values).
func (f *Function) compileSearch(p *auth.Principal, s SearchSpec, values map[string]string) (*compiled, error) {
	ds := f.catalogue[s.Dataset]
	if ds == nil {
		return nil, bad("dataset", "请选择数据集（“%s”不存在）", clip(s.Dataset))
	}
	res, act, _ := strings.Cut(ds.Permission, ":")
	if !p.Can(res, act) {
		return nil, errs.New(errs.Forbidden, "您没有使用数据集“"+ds.Title+"”的权限")
	}
	if p.Scope.IsEmpty() {
		return nil, errs.New(errs.Forbidden, "您的数据范围为空，无法查询")
	}
	c := &compiled{ds: ds, scope: p.Scope, unmask: p.Can(PermPersonal, "view")}
	fields := fieldNames(ds)
	expr := s.Expr
	if s.Builder != nil {
		if strings.TrimSpace(s.Expr) != "" {
			return nil, bad("expr", "条件请只用一种写法：可视化条件或表达式")
		}
		c.builder = s.Builder
		var err error
		if expr, err = renderCond(ds, *s.Builder, "builder", true); err != nil {
			return nil, err
		}
	}
	c.expr = strings.TrimSpace(expr)
	if c.expr != "" {
		rewritten, vars, err := rewriteVars("expr", c.expr)
		if err != nil {
			return nil, err
		}
		a := allow{ds: ds, fields: fields, cel: &celCtx{part: "expr", label: "表达式", guardPersonal: !c.unmask, vars: vars, values: values}}
		terms := 0
		n, err := parseCEL(a, rewritten, &terms)
		if err != nil {
			return nil, err
		}
		c.where = &n
		for i := range len(vars) {
			v := vars[fmt.Sprintf("__v%d", i)]
			if v.Field == "" {
				return nil, bad("$"+v.Name, "变量“%s”应与字段比较（如 district_code == $%s）", v.Name, v.Name)
			}
			c.vars = append(c.vars, *v)
		}
		if c.builder == nil {
			c.builder = drawCEL(ds, c.expr)
		}
	}
	a := allow{ds: ds, fields: fields}
	if len(s.GroupBy) > searchMaxGroups {
		return nil, bad("group_by", "分组字段最多 %d 个", searchMaxGroups)
	}
	if len(s.Aggregates) > searchMaxAggs {
		return nil, bad("aggregates", "统计项最多 %d 个", searchMaxAggs)
	}
	for _, name := range s.GroupBy {
		fl, err := a.lookup("group_by", name)
		if err != nil {
			return nil, err
		}
		if fl.Sensitivity == Personal && !c.unmask {
			return nil, bad("group_by", "字段“%s”（%s）是个人信息，您只能看到脱敏后的值，不能按其分组", fl.Name, fl.Title)
		}
		if !slices.ContainsFunc(c.groups, func(g Field) bool { return g.Name == fl.Name }) {
			c.groups = append(c.groups, fl)
		}
	}
	for i, ag := range s.Aggregates {
		part := fmt.Sprintf("aggregates.%d", i)
		title, ok := aggNames[ag.Fn]
		if !ok {
			return nil, bad(part, "未知统计方式“%s”（可用 count 计数、sum 合计、avg 平均、max 最大、min 最小）", clip(ag.Fn))
		}
		col := aggCol{fn: ag.Fn, out: Field{Name: ag.Fn, Title: title, Type: TypeInt}}
		if ag.Field == "" && ag.Fn != "count" {
			return nil, bad(part, "%s需要选择字段", title)
		}
		if ag.Field != "" {
			fl, err := a.lookup(part, ag.Field)
			if err != nil {
				return nil, err
			}
			if fl.Sensitivity == Personal && !c.unmask && ag.Fn != "count" {
				return nil, bad(part, "字段“%s”（%s）是个人信息，您只能看到脱敏后的值，不能对其求%s", fl.Name, fl.Title, title)
			}
			switch ag.Fn {
			case "sum", "avg":
				if fl.Type != TypeNumber && fl.Type != TypeInt {
					return nil, bad(part, "字段“%s”是%s类型，不能求%s（只能对数值、整数字段求合计或平均）", fl.Name, typeNames[fl.Type], title)
				}
				col.out.Type = TypeNumber
			case "max", "min":
				if fl.Type == TypeText {
					return nil, bad(part, "字段“%s”是文本类型，不能求%s（只能对数值、整数、日期、时间字段求最大或最小）", fl.Name, title)
				}
				col.out.Type = fl.Type
			}
			col.field = fl
			col.out.Name = ag.Fn + "_" + fl.Name
			col.out.Title = fl.Title + "（" + title + "）"
		}
		if slices.ContainsFunc(c.aggs, func(x aggCol) bool { return x.out.Name == col.out.Name }) {
			return nil, bad(part, "统计项“%s”重复", col.out.Title)
		}
		c.aggs = append(c.aggs, col)
	}
	c.agged = len(c.groups) > 0 || len(c.aggs) > 0
	if c.agged && len(s.Select) > 0 {
		return nil, bad("select", "分组统计时结果列为分组字段和统计项，请去掉所选字段")
	}
	if c.agged && len(c.aggs) == 0 {
		c.aggs = []aggCol{{fn: "count", out: Field{Name: "count", Title: "计数", Type: TypeInt}}}
	}
	if !c.agged {
		for _, name := range s.Select {
			fl, err := a.lookup("select", name)
			if err != nil {
				return nil, err
			}
			if !slices.ContainsFunc(c.sel, func(x Field) bool { return x.Name == fl.Name }) {
				c.sel = append(c.sel, fl)
			}
		}
		if len(c.sel) == 0 {
			c.sel = slices.Clone(ds.Fields)
		}
	}
	for _, o := range s.Order {
		ob := orderBy{desc: o.Desc}
		if c.agged {
			i := slices.IndexFunc(c.columns(), func(x Column) bool { return x.Name == o.By })
			if i < 0 {
				return nil, bad("order", "分组统计只能按分组字段或统计项排序（“%s”不是）", clip(o.By))
			}
			ob.field = Field{Name: o.By}
		} else {
			fl, err := a.lookup("order", o.By)
			if err != nil {
				return nil, err
			}
			if fl.Sensitivity == Personal && !c.unmask {
				// The order of masked values would reveal them.
				return nil, bad("order", "字段“%s”（%s）是个人信息，您只能看到脱敏后的值，不能按其排序", fl.Name, fl.Title)
			}
			ob.field = fl
		}
		c.order = append(c.order, ob)
	}
	return c, nil
}

// columns are the result's columns.
func (c *compiled) columns() []Column {
	var out []Column
	add := func(fl Field) {
		out = append(out, Column{Name: fl.Name, Title: fl.Title, Type: fl.Type, Masked: fl.Sensitivity == Personal && !c.unmask})
	}
	if c.agged {
		for _, g := range c.groups {
			add(g)
		}
		for _, ag := range c.aggs {
			add(ag.out)
		}
		return out
	}
	for _, fl := range c.sel {
		add(fl)
	}
	return out
}

// sql is the statement of one page (limit > 0) and of the total count.
func (c *compiled) sql(limit, offset int) (page string, pageArgs []any, count string, countArgs []any) {
	var a sqlArgs
	conds := []string{c.scope.Filter(quoteIdent("district_code"), quoteIdent("township_code"), &a.args)}
	if c.ds.where != "" {
		conds = append(conds, c.ds.where)
	}
	if c.where != nil {
		conds = append(conds, c.where.sql(&a))
	}
	from := " FROM " + c.ds.source + " t WHERE " + strings.Join(conds, " AND ")
	var cols, group, order []string
	for _, o := range c.order {
		s := quoteIdent(o.field.Name)
		if o.desc {
			s += " DESC"
		}
		order = append(order, s)
	}
	if c.agged {
		for _, g := range c.groups {
			cols = append(cols, quoteIdent(g.Name))
			group = append(group, quoteIdent(g.Name))
		}
		for _, ag := range c.aggs {
			x := "count(*)"
			if ag.field.Name != "" {
				x = ag.fn + "(" + quoteIdent(ag.field.Name) + ")"
			}
			cols = append(cols, x+" AS "+quoteIdent(ag.out.Name))
		}
		order = append(order, group...) // a stable order of groups
	} else {
		for _, fl := range c.sel {
			cols = append(cols, quoteIdent(fl.Name))
		}
		order = append(order, quoteIdent(c.ds.Key))
	}
	body := from
	if len(group) > 0 {
		body += " GROUP BY " + strings.Join(group, ", ")
	}
	countArgs = slices.Clone(a.args)
	switch {
	case len(group) > 0:
		count = "SELECT count(*) FROM (SELECT 1" + body + ") g"
	case c.agged:
		count = "SELECT 1"
		countArgs = nil
	default:
		count = "SELECT count(*)" + body
	}
	page = "SELECT " + strings.Join(cols, ", ") + body
	if len(order) > 0 {
		page += " ORDER BY " + strings.Join(order, ", ")
	}
	if limit > 0 {
		page += " LIMIT " + a.add(limit) + " OFFSET " + a.add(offset)
	}
	return page, a.args, count, countArgs
}

// run answers one page of rows (limit > 0), presented and masked.
func (f *Function) runSearch(ctx context.Context, c *compiled, limit, offset int, total bool) ([]map[string]any, int, error) {
	page, args, count, cargs := c.sql(limit, offset)
	n := 0
	if total {
		if err := f.pool.QueryRow(ctx, count, cargs...).Scan(&n); err != nil {
			return nil, 0, err
		}
	}
	rows, err := f.pool.Query(ctx, page, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var fields []Field
	if c.agged {
		fields = slices.Clone(c.groups)
		for _, ag := range c.aggs {
			fields = append(fields, ag.out)
		}
	} else {
		fields = c.sel
	}
	out := []map[string]any{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, 0, err
		}
		m := make(map[string]any, len(vals))
		for i, fl := range fields {
			m[fl.Name] = present(fl, vals[i], c.unmask)
		}
		out = append(out, m)
	}
	return out, n, rows.Err()
}

// search runs one page and logs it.
func (f *Function) search(r *http.Request, in SearchInput, formulaID *int64) (any, error) {
	p, _ := auth.FromContext(r.Context())
	in.Page, in.PageSize = max(in.Page, 1), cmp0(in.PageSize, 20)
	e := f.searchEntry(r, p, in.SearchSpec, formulaID)
	res, err := func() (SearchResult, error) {
		if in.PageSize < 1 || in.PageSize > searchMaxPageSize || in.Page > 100000 {
			return SearchResult{}, bad("page_size", "每页条数应为 1 至 %d，页码不超过 100000", searchMaxPageSize)
		}
		c, err := f.compileSearch(p, in.SearchSpec, nonNil(in.Vars))
		if err != nil {
			return SearchResult{}, err
		}
		e.Query = c.logText(in.Vars)
		rows, total, err := f.runSearch(r.Context(), c, in.PageSize, (in.Page-1)*in.PageSize, true)
		if err != nil {
			return SearchResult{}, err
		}
		return SearchResult{Columns: c.columns(), Rows: rows, Total: total, Page: in.Page, PageSize: in.PageSize, Expr: c.expr}, nil
	}()
	f.logSearch(r, &e, len(res.Rows), err)
	return res, err
}

func cmp0(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// searchEntry starts a run's access-log entry.
func (f *Function) searchEntry(r *http.Request, p *auth.Principal, s SearchSpec, formulaID *int64) AccessEntry {
	q, _ := json.Marshal(map[string]any{"dataset": s.Dataset, "group_by": s.GroupBy, "aggregates": s.Aggregates})
	return AccessEntry{Kind: "search", UserID: p.UserID, FormulaID: formulaID, Dataset: s.Dataset, Query: string(q),
		ClientIP: httpx.ClientIP(r), At: f.now()}
}

// logSearch writes a run's access-log row, refused or answered.
func (f *Function) logSearch(r *http.Request, e *AccessEntry, rows int, err error) {
	e.Status, e.Rows, e.DurationUS = http.StatusOK, rows, f.now().Sub(e.At).Microseconds()
	if err != nil {
		e.Status = httpx.Status(errs.CodeOf(err))
		var ee *errs.Error
		if errors.As(err, &ee) {
			e.Message = ee.Message
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if lerr := logAccess(ctx, f.pool, *e); lerr != nil {
		f.log.Error("datahub: search log", "err", lerr)
	}
}

// logText is what the access log keeps of a run: the conditions with
// every value compared with a personal field masked (DESIGN: personal
// information is masked in every log), the grouping and aggregates.
func (c *compiled) logText(vars map[string]string) string {
	cond := c.expr
	if c.builder != nil {
		if s, err := renderCond(c.ds, maskCond(c.ds, *c.builder), "builder", false); err == nil {
			cond = s
		}
	} else if c.usesPersonal() {
		cond = "（表达式含个人信息条件，已省略）"
	}
	shown := map[string]string{}
	for _, v := range c.vars {
		val := vars[v.Name]
		if fl, _ := c.ds.field(v.Field); fl.Sensitivity == Personal {
			val = Mask(fl.Mask, val)
		}
		shown[v.Name] = val
	}
	var groups, aggs []string
	for _, g := range c.groups {
		groups = append(groups, g.Name)
	}
	for _, ag := range c.aggs {
		aggs = append(aggs, ag.out.Name)
	}
	b, _ := json.Marshal(map[string]any{"dataset": c.ds.ID, "expr": cond, "vars": shown, "group_by": groups, "aggregates": aggs})
	return string(b)
}

func (c *compiled) usesPersonal() bool {
	var walk func(n node) bool
	walk = func(n node) bool {
		if n.kids == nil {
			return n.field.Sensitivity == Personal
		}
		return slices.ContainsFunc(n.kids, walk)
	}
	return c.where != nil && walk(*c.where)
}

func maskCond(ds *Dataset, c Cond) Cond {
	if c.isGroup() {
		out := c
		out.Items = make([]Cond, len(c.Items))
		for i, it := range c.Items {
			out.Items[i] = maskCond(ds, it)
		}
		return out
	}
	fl, _ := ds.field(c.Field)
	if fl.Sensitivity != Personal {
		return c
	}
	m := func(s string) string {
		if strings.HasPrefix(s, "$") || s == "" {
			return s
		}
		return Mask(fl.Mask, s)
	}
	c.Value, c.Value2 = m(c.Value), m(c.Value2)
	vals := make([]string, len(c.Values))
	for i, v := range c.Values {
		vals[i] = m(v)
	}
	c.Values = vals
	return c
}

// renderCond writes the builder's tree as CEL, checking each condition
// where it stands so an error names it ("builder.items.0.items.2"): the
// field, the operator for its type, the value's form. check false only
// writes (the log's masked copy).
func renderCond(ds *Dataset, c Cond, part string, check bool) (string, error) {
	if c.isGroup() {
		var parts []string
		for i, it := range c.Items {
			s, err := renderCond(ds, it, fmt.Sprintf("%s.items.%d", part, i), check)
			if err != nil {
				return "", err
			}
			if s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) == 0 {
			if part != "builder" && check {
				return "", bad(part, "条件组中还没有条件，请添加条件或删除该组")
			}
			return "", nil
		}
		sep := " && "
		if c.Op == "or" {
			sep = " || "
		}
		s := strings.Join(parts, sep)
		if len(parts) > 1 && (part != "builder" || c.Not) {
			s = "(" + s + ")"
		}
		if c.Not {
			if len(parts) == 1 {
				s = "(" + s + ")"
			}
			s = "!" + s
		}
		return s, nil
	}
	if c.Field == "" {
		return "", bad(part, "请选择字段")
	}
	fl, ok := ds.field(c.Field)
	if !ok {
		return "", bad(part, "未知字段“%s”", clip(c.Field))
	}
	lit := func(v string) (string, error) {
		if strings.HasPrefix(v, "$") {
			if varName.FindString(v[1:]) != v[1:] {
				return "", bad(part, "变量名“%s”无效（只能含汉字、字母、数字和下划线）", clip(v))
			}
			return v, nil
		}
		if check {
			if strings.TrimSpace(v) == "" {
				return "", bad(part, "请填写字段“%s”（%s）的比较值", fl.Name, fl.Title)
			}
			if _, err := parseValue(part, fl, v); err != nil {
				return "", err
			}
		}
		switch fl.Type {
		case TypeInt:
			return strings.TrimSpace(v), nil
		case TypeNumber:
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return strconv.Quote(v), nil // only a masked log copy gets here
			}
			s := strconv.FormatFloat(x, 'f', -1, 64)
			if !strings.ContainsAny(s, ".") {
				s += ".0"
			}
			return s, nil
		}
		return strconv.Quote(v), nil
	}
	name := fl.Name
	var s string
	switch op := c.Op; op {
	case "eq", "neq", "gt", "gte", "lt", "lte":
		v, err := lit(c.Value)
		if err != nil {
			return "", err
		}
		s = name + " " + condOps[op] + " " + v
	case "between":
		lo, err := lit(c.Value)
		if err != nil {
			return "", err
		}
		hi, err := lit(c.Value2)
		if err != nil {
			return "", err
		}
		s = "(" + name + " >= " + lo + " && " + name + " <= " + hi + ")"
	case "in":
		if len(c.Values) == 0 || len(c.Values) > maxInValues {
			return "", bad(part, "“属于”的值应有 1 至 %d 个", maxInValues)
		}
		var vs []string
		for _, v := range c.Values {
			x, err := lit(v)
			if err != nil {
				return "", err
			}
			vs = append(vs, x)
		}
		s = name + " in [" + strings.Join(vs, ", ") + "]"
	case "contains", "starts_with", "ends_with":
		if fl.Type != TypeText {
			return "", bad(part, "字段“%s”是%s类型，不能用运算符“%s”（只有文本字段可以）", fl.Name, typeNames[fl.Type], builderOps[op])
		}
		v, err := lit(c.Value)
		if err != nil {
			return "", err
		}
		s = name + "." + map[string]string{"contains": "contains", "starts_with": "startsWith", "ends_with": "endsWith"}[op] + "(" + v + ")"
	default:
		return "", bad(part, "未知运算符“%s”", clip(c.Op))
	}
	if c.Not {
		s = "!(" + s + ")"
	}
	return s, nil
}

// builderOps are the builder's operators as the console names them.
var builderOps = map[string]string{"eq": "等于", "neq": "不等于", "gt": "大于", "gte": "大于等于", "lt": "小于", "lte": "小于等于",
	"between": "介于", "in": "属于", "contains": "包含", "starts_with": "开头是", "ends_with": "结尾是"}

// handlers

func (f *Function) searchCheck(r *http.Request, in SearchSpec) (any, error) {
	p, _ := auth.FromContext(r.Context())
	c, err := f.compileSearch(p, in, nil)
	if err != nil {
		return nil, err
	}
	return CheckResult{Expr: c.expr, Builder: c.builder, Drawable: c.builder != nil || c.expr == "", Variables: nonNilVars(c.vars),
		Columns: c.columns()}, nil
}

func nonNilVars(v []Variable) []Variable {
	if v == nil {
		return []Variable{}
	}
	return v
}

func (f *Function) searchRun(r *http.Request, in SearchInput) (any, error) {
	if in.Format != "" {
		return nil, bad("format", "导出请使用 /datahub/v1/search/export")
	}
	return f.search(r, in, nil)
}

// serveSearchExport answers POST /datahub/v1/search/export: every row of
// a run (up to DATAHUB_MAX_EXPORT_ROWS) as CSV or XLSX, masked as shown.
func (f *Function) serveSearchExport(w http.ResponseWriter, r *http.Request) {
	var in SearchInput
	if err := httpx.Decode(r, &in); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	f.exportSearch(w, r, in, nil)
}

func (f *Function) exportSearch(w http.ResponseWriter, r *http.Request, in SearchInput, formulaID *int64) {
	p, _ := auth.FromContext(r.Context())
	e := f.searchEntry(r, p, in.SearchSpec, formulaID)
	e.Kind = "search_export"
	t, name, err := func() (tabular.Table, string, error) {
		fm, err := tabular.ParseFormat(in.Format, tabular.CSV)
		if err != nil {
			return tabular.Table{}, "", err
		}
		in.Format = string(fm)
		c, err := f.compileSearch(p, in.SearchSpec, nonNil(in.Vars))
		if err != nil {
			return tabular.Table{}, "", err
		}
		e.Query = c.logText(in.Vars)
		rows, _, err := f.runSearch(r.Context(), c, f.cfg.MaxExportRows, 0, false)
		if err != nil {
			return tabular.Table{}, "", err
		}
		t := tabular.Table{}
		cols := c.columns()
		for _, col := range cols {
			t.Header = append(t.Header, col.Title)
		}
		for _, row := range rows {
			cells := make([]any, len(cols))
			for i, col := range cols {
				cells[i] = row[col.Name]
			}
			t.Rows = append(t.Rows, cells)
		}
		return t, c.ds.Title + "_智能搜索_" + f.now().In(beijing).Format("20060102150405"), nil
	}()
	f.logSearch(r, &e, len(t.Rows), err)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if err := tabular.Serve(w, name, tabular.Format(in.Format), t); err != nil {
		f.log.Error("datahub: search export", "err", err)
	}
}
