package datahub

// The consumer's filter grammar of a generated interface (FP-95), after
// PostgREST: ?district_code=eq.130102&established_on=gte.2020-01-01,
// or=(status.eq.active,and(entity_type.eq.individual,registered_capital.lt.10)),
// not. before an operator or a group, select=, order=, limit=, offset=,
// and after= (keyset paging on the dataset's key).
//
// A query is parsed into a tree of conditions whose fields are checked
// against the interface's allow-list and whose values are parsed by the
// field's type; compile turns the tree into SQL where every identifier
// comes from the catalogue (never from the request) and every value is a
// numbered parameter. Nothing of the request is ever spliced into SQL.

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Limits of a query.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	maxDepth     = 8
	maxTerms     = 64
	maxInValues  = 200
)

// reserved are the query parameters that are not field filters.
var reserved = []string{"select", "order", "limit", "offset", "after", "or", "and", "not.or", "not.and"}

// node is a condition (field op value) or a group of nodes.
type node struct {
	not bool
	// a condition
	field Field
	op    string
	vals  []any
	// a group
	or   bool
	kids []node
}

// Query is a parsed request.
type Query struct {
	Select []Field
	Where  []node // ANDed
	Order  []orderBy
	Limit  int
	Offset int
	After  any // keyset: rows after this key value
}

type orderBy struct {
	field      Field
	desc       bool
	nullsFirst *bool
}

// bad is the Chinese error naming the part of the query at fault.
func bad(part, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	return &errs.Error{Code: errs.Invalid, Message: msg, Fields: []errs.FieldError{{Field: part, Message: msg}}}
}

// allow is what a query may touch: the interface's fields of its dataset.
type allow struct {
	ds     *Dataset
	fields []string
	// cel, when set, is a smart search's expression context (variables,
	// personal-field guard); nil for an interface's where=.
	cel *celCtx
}

func (a allow) lookup(part, name string) (Field, error) {
	if !slices.Contains(a.fields, name) {
		if _, ok := a.ds.field(name); ok {
			return Field{}, bad(part, "字段“%s”不在本接口开放的字段中", name)
		}
		return Field{}, bad(part, "未知字段“%s”", clip(name))
	}
	f, _ := a.ds.field(name)
	return f, nil
}

// clip keeps an echoed name short in an error message.
func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// ParseQuery parses the consumer's query string against the allow-list.
func ParseQuery(v url.Values, ds *Dataset, fields []string) (Query, error) {
	a := allow{ds: ds, fields: fields}
	q := Query{Limit: DefaultLimit}
	terms := 0
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic SQL and errors
	for _, k := range keys {
		vals := v[k]
		if len(vals) > 1 && slices.Contains([]string{"select", "order", "limit", "offset", "after"}, k) {
			return Query{}, bad(k, "参数“%s”只能出现一次", k)
		}
		for _, val := range vals {
			switch k {
			case "select":
				for _, name := range strings.Split(val, ",") {
					f, err := a.lookup("select", strings.TrimSpace(name))
					if err != nil {
						return Query{}, err
					}
					if !slices.ContainsFunc(q.Select, func(s Field) bool { return s.Name == f.Name }) {
						q.Select = append(q.Select, f)
					}
				}
			case "order":
				for _, item := range strings.Split(val, ",") {
					o, err := parseOrder(a, item)
					if err != nil {
						return Query{}, err
					}
					q.Order = append(q.Order, o)
				}
			case "limit":
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 {
					return Query{}, bad("limit", "limit 应为非负整数")
				}
				if n > MaxLimit {
					return Query{}, bad("limit", "limit 超过上限 %d", MaxLimit)
				}
				q.Limit = n
			case "offset":
				n, err := strconv.Atoi(val)
				if err != nil || n < 0 || n > 1_000_000 {
					return Query{}, bad("offset", "offset 应为 0 至 1000000 的整数（更深的翻页请用 after= 键集分页）")
				}
				q.Offset = n
			case "after":
				kf, _ := ds.field(ds.Key)
				x, err := parseValue("after", kf, val)
				if err != nil {
					return Query{}, err
				}
				q.After = x
			case "where":
				n, err := parseCEL(a, val, &terms)
				if err != nil {
					return Query{}, err
				}
				q.Where = append(q.Where, n)
			case "or", "and", "not.or", "not.and":
				inner, ok := strings.CutPrefix(val, "(")
				if !ok || !strings.HasSuffix(inner, ")") {
					return Query{}, bad(k, "“%s”的条件应写在括号中，如 %s=(status.eq.active,name.like.*超市*)", k, k)
				}
				n, err := parseGroup(a, k, strings.TrimSuffix(inner, ")"), strings.HasSuffix(k, "or"), 1, &terms)
				if err != nil {
					return Query{}, err
				}
				n.not = strings.HasPrefix(k, "not.")
				q.Where = append(q.Where, n)
			default:
				f, err := a.lookup(k, k)
				if err != nil {
					return Query{}, err
				}
				n, err := parseCond(k, f, val)
				if err != nil {
					return Query{}, err
				}
				if terms++; terms > maxTerms {
					return Query{}, bad(k, "筛选条件过多（最多 %d 个）", maxTerms)
				}
				q.Where = append(q.Where, n)
			}
		}
	}
	if q.After != nil && slices.ContainsFunc(q.Order, func(o orderBy) bool { return o.field.Name != ds.Key || o.desc }) {
		return Query{}, bad("after", "键集分页（after=）只能按“%s”升序排列", ds.Key)
	}
	return q, nil
}

func parseOrder(a allow, item string) (orderBy, error) {
	parts := strings.Split(strings.TrimSpace(item), ".")
	f, err := a.lookup("order", parts[0])
	if err != nil {
		return orderBy{}, err
	}
	o := orderBy{field: f}
	for _, p := range parts[1:] {
		switch p {
		case "asc":
			o.desc = false
		case "desc":
			o.desc = true
		case "nullsfirst", "nullslast":
			b := p == "nullsfirst"
			o.nullsFirst = &b
		default:
			return orderBy{}, bad("order", "排序方式“%s”无效（可用 asc、desc、nullsfirst、nullslast）", clip(p))
		}
	}
	return o, nil
}

// splitTop splits s on commas outside parentheses and double quotes.
func splitTop(part, s string) ([]string, error) {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			if depth--; depth < 0 {
				return nil, bad(part, "括号不配对")
			}
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if depth != 0 || quoted {
		return nil, bad(part, "括号或引号不配对")
	}
	return append(out, s[start:]), nil
}

// parseGroup parses the inside of or=(…) / and(…).
func parseGroup(a allow, part, body string, or bool, depth int, terms *int) (node, error) {
	if depth > maxDepth {
		return node{}, bad(part, "条件嵌套过深（最多 %d 层）", maxDepth)
	}
	items, err := splitTop(part, body)
	if err != nil {
		return node{}, err
	}
	g := node{or: or}
	for _, it := range items {
		neg := false
		if rest, ok := strings.CutPrefix(it, "not."); ok && (strings.HasPrefix(rest, "or(") || strings.HasPrefix(rest, "and(")) {
			neg, it = true, rest
		}
		if sub, ok := strings.CutPrefix(it, "or("); ok || strings.HasPrefix(it, "and(") {
			if !ok {
				sub = strings.TrimPrefix(it, "and(")
			}
			if !strings.HasSuffix(sub, ")") {
				return node{}, bad(part, "括号不配对")
			}
			n, err := parseGroup(a, part, strings.TrimSuffix(sub, ")"), ok, depth+1, terms)
			if err != nil {
				return node{}, err
			}
			n.not = neg
			g.kids = append(g.kids, n)
			continue
		}
		name, rest, ok := strings.Cut(it, ".")
		if !ok {
			return node{}, bad(part, "条件“%s”应写成 字段.运算符.值", clip(it))
		}
		f, err := a.lookup(part, name)
		if err != nil {
			return node{}, err
		}
		n, err := parseCond(part, f, rest)
		if err != nil {
			return node{}, err
		}
		if *terms++; *terms > maxTerms {
			return node{}, bad(part, "筛选条件过多（最多 %d 个）", maxTerms)
		}
		g.kids = append(g.kids, n)
	}
	if len(g.kids) == 0 {
		return node{}, bad(part, "条件组为空")
	}
	return g, nil
}

// opsFor is which operators a type allows.
func opsFor(typ string) []string {
	switch typ {
	case TypeText:
		return []string{"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is"}
	default:
		return []string{"eq", "neq", "gt", "gte", "lt", "lte", "in", "is"}
	}
}

var opNames = map[string]string{"eq": "等于", "neq": "不等于", "gt": "大于", "gte": "大于等于", "lt": "小于",
	"lte": "小于等于", "like": "模糊匹配", "ilike": "不区分大小写模糊匹配", "in": "属于", "is": "是（空值）"}

var typeNames = map[string]string{TypeText: "文本", TypeDate: "日期", TypeNumber: "数值", TypeInt: "整数", TypeTime: "时间"}

// parseCond parses "[not.]op.value" for field f.
func parseCond(part string, f Field, s string) (node, error) {
	n := node{field: f}
	if rest, ok := strings.CutPrefix(s, "not."); ok {
		n.not, s = true, rest
	}
	op, val, ok := strings.Cut(s, ".")
	if !ok {
		return node{}, bad(part, "条件“%s”应写成 运算符.值（如 eq.130102）", clip(s))
	}
	if _, known := opNames[op]; !known {
		return node{}, bad(part, "未知运算符“%s”（可用 eq、neq、gt、gte、lt、lte、like、ilike、in、is）", clip(op))
	}
	if !slices.Contains(opsFor(f.Type), op) {
		return node{}, bad(part, "字段“%s”是%s类型，不能用运算符 %s（%s）", f.Name, typeNames[f.Type], op, opNames[op])
	}
	n.op = op
	switch op {
	case "is":
		if val != "null" {
			return node{}, bad(part, "is 只能写 is.null 或 not.is.null")
		}
	case "in":
		inner, ok := strings.CutPrefix(val, "(")
		if !ok || !strings.HasSuffix(inner, ")") {
			return node{}, bad(part, "in 的值应写在括号中，如 in.(130102,130104)")
		}
		items, err := splitTop(part, strings.TrimSuffix(inner, ")"))
		if err != nil {
			return node{}, err
		}
		if len(items) > maxInValues {
			return node{}, bad(part, "in 的值过多（最多 %d 个）", maxInValues)
		}
		for _, it := range items {
			x, err := parseValue(part, f, unquote(it))
			if err != nil {
				return node{}, err
			}
			n.vals = append(n.vals, x)
		}
	case "like", "ilike":
		if strings.ContainsRune(val, 0) || !utf8.ValidString(val) {
			return node{}, bad(part, "值中含有非法字符")
		}
		// PostgREST's * is the wildcard; a literal % or _ matches itself.
		r := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`, "*", "%")
		n.vals = []any{r.Replace(unquote(val))}
	default:
		x, err := parseValue(part, f, unquote(val))
		if err != nil {
			return node{}, err
		}
		n.vals = []any{x}
	}
	return n, nil
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// parseValue turns a value into the Go value of the field's type, so the
// parameter reaches PostgreSQL typed and a malformed one is refused here.
func parseValue(part string, f Field, s string) (any, error) {
	switch f.Type {
	case TypeDate:
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return nil, bad(part, "字段“%s”的日期“%s”格式不正确，应为 YYYY-MM-DD", f.Name, clip(s))
		}
		return t, nil
	case TypeTime:
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			if t, err = time.Parse("2006-01-02", s); err != nil {
				return nil, bad(part, "字段“%s”的时间“%s”格式不正确，应为 RFC 3339（如 2024-01-02T15:04:05+08:00）或 YYYY-MM-DD", f.Name, clip(s))
			}
		}
		return t, nil
	case TypeInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, bad(part, "字段“%s”的值“%s”不是整数", f.Name, clip(s))
		}
		return n, nil
	case TypeNumber:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || strings.ContainsAny(s, "xXpPiInN") {
			return nil, bad(part, "字段“%s”的值“%s”不是数值", f.Name, clip(s))
		}
		return x, nil
	}
	if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
		return nil, bad(part, "值中含有非法字符")
	}
	return s, nil
}

// quoteIdent quotes a catalogue name as an SQL identifier. Names come
// from the catalogue only; quoting is a second guard.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sqlArgs numbers parameters as they are added.
type sqlArgs struct{ args []any }

func (a *sqlArgs) add(v any) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args))
}

var cmpSQL = map[string]string{"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE", "ilike": "ILIKE"}

func castOf(typ string) string {
	switch typ {
	case TypeDate:
		return "::date"
	case TypeTime:
		return "::timestamptz"
	case TypeInt:
		return "::bigint"
	case TypeNumber:
		return "::numeric"
	}
	return "::text"
}

func (n node) sql(a *sqlArgs) string {
	var s string
	if n.kids != nil {
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = k.sql(a)
		}
		sep := " AND "
		if n.or {
			sep = " OR "
		}
		s = "(" + strings.Join(parts, sep) + ")"
	} else {
		col := quoteIdent(n.field.Name)
		switch n.op {
		case "is":
			s = col + " IS NULL"
		case "in":
			ph := make([]string, len(n.vals))
			for i, v := range n.vals {
				ph[i] = a.add(v) + castOf(n.field.Type)
			}
			s = col + " IN (" + strings.Join(ph, ", ") + ")"
		default:
			s = col + " " + cmpSQL[n.op] + " " + a.add(n.vals[0]) + castOf(n.field.Type)
		}
	}
	if n.not {
		return "NOT " + s
	}
	return s
}
