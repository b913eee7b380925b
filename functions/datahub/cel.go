package datahub

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// FP-136: CEL conditions, as a where= filter on generated interfaces and as smart search's formulas
//
// A filter written as a CEL expression (cel.dev), type-checked against
// the caller's permitted fields and translated into the same condition
// tree as the PostgREST-like grammar, so it reaches SQL only as
// parameters. Fields are variables: text, dates ("YYYY-MM-DD") and times
// (RFC 3339) are strings, integers int, numbers double. Supported:
// comparisons of a field with a constant, `in` a list of constants,
// contains/startsWith/endsWith on text, and && || !. A smart-search
// formula may also hold variables ($区县) in place of constants: their
// values are filled in at each run and, like constants, become
// parameters; they never enter the expression's text.

// celCtx is a smart search's compilation context.
type celCtx struct {
	part, label string // the part errors name ("expr") and how messages call it
	// guardPersonal refuses personal fields in conditions: a caller who
	// sees them masked must not probe their values with filters.
	guardPersonal bool
	vars          map[string]*Variable // by CEL identifier (__v0 …)
	values        map[string]string    // by variable name; nil when only checking
}

// Variable is a formula's $variable: its name, and the field (so the
// type) it is compared with.
type Variable struct {
	Name  string `json:"name"`
	Field string `json:"field"`
	Type  string `json:"type"`
	Title string `json:"title"`
}

func (a allow) part() string {
	if a.cel != nil {
		return a.cel.part
	}
	return "where"
}

func (a allow) label() string {
	if a.cel != nil {
		return a.cel.label
	}
	return "where 表达式"
}

// cbad is an expression error naming the expression's part.
func (a allow) cbad(format string, args ...any) error {
	return bad(a.part(), a.label()+format, args...)
}

// varName matches a $variable: letters (Chinese too), digits, underscore.
var varName = regexp.MustCompile(`^[\p{L}\p{N}_]{1,32}`)

// rewriteVars replaces each $name outside string literals with a CEL
// identifier (__v0, __v1 …; one per distinct name), so the expression
// can be type-checked with the variables declared.
func rewriteVars(part, expr string) (string, map[string]*Variable, error) {
	vars := map[string]*Variable{}
	byName := map[string]string{}
	var b strings.Builder
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'':
			q := string(c)
			if strings.HasPrefix(expr[i:], q+q+q) {
				q = q + q + q
			}
			j := i + len(q)
			for j < len(expr) && !strings.HasPrefix(expr[j:], q) {
				if expr[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+len(q), len(expr))
			b.WriteString(expr[i:j])
			i = j
		case c == '$':
			name := varName.FindString(expr[i+1:])
			if name == "" {
				return "", nil, bad(part, "“$”后应为变量名（如 $区县）")
			}
			id, ok := byName[name]
			if !ok {
				id = fmt.Sprintf("__v%d", len(byName))
				byName[name] = id
				vars[id] = &Variable{Name: name}
			}
			b.WriteString(id)
			i += 1 + len(name)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), vars, nil
}

// celTypeNames are CEL's type names as the messages say them.
var celTypeNames = strings.NewReplacer("string", "文本", "double", "数值", "int", "整数", "bool", "真假值", "dyn", "任意")

var (
	celUndeclared = regexp.MustCompile(`undeclared reference to '([^']*)'`)
	celOverload   = regexp.MustCompile(`found no matching overload for '([^']*)' applied to '\(([^)]*)\)'`)
	celMember     = regexp.MustCompile(`found no matching overload for '([^']*)' applied to '(\w+)\.\(([^)]*)\)'`)
)

// celIssue is a type-check failure in clear Chinese, naming the field
// or the operator at fault and where it is.
func (a allow) celIssue(iss *cel.Issues) error {
	e := iss.Errors()[0]
	at := ""
	if loc := e.Location; loc != nil && loc.Line() > 0 {
		at = fmt.Sprintf("（第 %d 列）", loc.Column()+1)
	}
	msg := e.Message
	if m := celUndeclared.FindStringSubmatch(msg); m != nil {
		if _, ok := a.ds.field(m[1]); ok {
			return a.cbad("无法通过类型检查：字段“%s”不在%s可用的字段中%s", m[1], a.whose(), at)
		}
		return a.cbad("无法通过类型检查：未知字段“%s”%s", clip(m[1]), at)
	}
	if m := celMember.FindStringSubmatch(msg); m != nil {
		return a.cbad("无法通过类型检查：%s类型不能用 %s（contains、startsWith、endsWith 只能用于文本字段，参数为文本）%s",
			celTypeNames.Replace(m[2]), m[1], at)
	}
	if m := celOverload.FindStringSubmatch(msg); m != nil {
		op := strings.Trim(m[1], "_@")
		return a.cbad("无法通过类型检查：运算符 %s 不能用于 %s%s（数值常量请写成 50.0 这样带小数点的形式，日期写成 \"2020-01-01\"）",
			op, celTypeNames.Replace(strings.ReplaceAll(m[2], ", ", " 与 ")), at)
	}
	return a.cbad("无法通过类型检查：%s", clip(strings.ReplaceAll(iss.Err().Error(), "\n", " ")))
}

func (a allow) whose() string {
	if a.cel != nil {
		return "您"
	}
	return "本接口"
}

// celOps maps CEL's comparison operators onto the grammar's.
var celOps = map[string]string{operators.Equals: "eq", operators.NotEquals: "neq", operators.Less: "lt", operators.LessEquals: "lte",
	operators.Greater: "gt", operators.GreaterEquals: "gte"}

// flipped is the operator with its operands swapped (1 < x is x > 1).
var flipped = map[string]string{"eq": "eq", "neq": "neq", "lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}

func celType(f Field) *cel.Type {
	switch f.Type {
	case TypeInt:
		return cel.IntType
	case TypeNumber:
		return cel.DoubleType
	}
	return cel.StringType
}

// parseCEL compiles expr over the allowed fields into a condition.
func parseCEL(a allow, expr string, terms *int) (node, error) {
	if len(expr) > 4000 {
		return node{}, a.cbad("过长（最多 4000 个字符）")
	}
	opts := make([]cel.EnvOption, 0, len(a.fields))
	for _, name := range a.fields {
		f, _ := a.ds.field(name)
		opts = append(opts, cel.Variable(name, celType(f)))
	}
	if a.cel != nil {
		for id := range a.cel.vars {
			opts = append(opts, cel.Variable(id, cel.DynType))
		}
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return node{}, fmt.Errorf("cel env: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return node{}, a.celIssue(iss)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return node{}, a.cbad("的结果应为真假值（bool），而不是 %s", celTypeNames.Replace(ast.OutputType().String()))
	}
	return celNode(a, ast.NativeRep().Expr(), terms, 1)
}

func (a allow) celUnsupported(what string) error {
	return a.cbad("中不支持%s：只能用字段与常量（或 $变量）比较（== != < <= > >=）、in 常量列表、contains/startsWith/endsWith，以及 && || !", what)
}

func celNode(a allow, e celast.Expr, terms *int, depth int) (node, error) {
	if depth > maxDepth {
		return node{}, a.cbad("嵌套过深（最多 %d 层）", maxDepth)
	}
	if e.Kind() != celast.CallKind {
		return node{}, a.celUnsupported("单独的字段或常量")
	}
	c := e.AsCall()
	args := c.Args()
	switch fn := c.FunctionName(); {
	case fn == operators.LogicalAnd || fn == operators.LogicalOr:
		var kids []node
		for _, x := range args {
			k, err := celNode(a, x, terms, depth+1)
			if err != nil {
				return node{}, err
			}
			kids = append(kids, k)
		}
		return node{or: fn == operators.LogicalOr, kids: kids}, nil
	case fn == operators.LogicalNot:
		k, err := celNode(a, args[0], terms, depth+1)
		if err != nil {
			return node{}, err
		}
		return node{not: true, kids: []node{k}}, nil
	case celOps[fn] != "":
		op := celOps[fn]
		l, r := args[0], args[1]
		if !a.isField(l) {
			l, r, op = r, l, flipped[op]
		}
		f, x, err := celOperands(a, l, r)
		if err != nil {
			return node{}, err
		}
		return celTerm(a, terms, node{field: f, op: op, vals: []any{x}})
	case fn == operators.In:
		if !a.isField(args[0]) || args[1].Kind() != celast.ListKind {
			return node{}, a.celUnsupported("此种 in 写法（应为 字段 in [常量, …]）")
		}
		f, err := a.condField(args[0].AsIdent())
		if err != nil {
			return node{}, err
		}
		n := node{field: f, op: "in"}
		elems := args[1].AsList().Elements()
		if len(elems) == 0 || len(elems) > maxInValues {
			return node{}, bad(a.part(), "in 的值应有 1 至 %d 个", maxInValues)
		}
		for _, el := range elems {
			x, err := celValue(a, f, el)
			if err != nil {
				return node{}, err
			}
			n.vals = append(n.vals, x)
		}
		return celTerm(a, terms, n)
	case c.IsMemberFunction() && (fn == "contains" || fn == "startsWith" || fn == "endsWith"):
		if !a.isField(c.Target()) {
			return node{}, a.celUnsupported("对常量或变量调用 " + fn)
		}
		f, err := a.condField(c.Target().AsIdent())
		if err != nil {
			return node{}, err
		}
		if f.Type != TypeText {
			return node{}, bad(a.part(), "字段“%s”是%s类型，不能用 %s（请用比较运算）", f.Name, typeNames[f.Type], fn)
		}
		x, err := celValue(a, f, args[0])
		if err != nil {
			return node{}, err
		}
		val, _ := x.(string)
		if x == nil { // only checking: the variable has no value yet
			return celTerm(a, terms, node{field: f, op: "like", vals: []any{nil}})
		}
		val = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(val)
		switch fn {
		case "contains":
			val = "%" + val + "%"
		case "startsWith":
			val += "%"
		default:
			val = "%" + val
		}
		return celTerm(a, terms, node{field: f, op: "like", vals: []any{val}})
	default:
		return node{}, a.celUnsupported("“" + strings.Trim(fn, "_@") + "”")
	}
}

// isField is whether e names a field (not a constant, not a $variable).
func (a allow) isField(e celast.Expr) bool {
	if e.Kind() != celast.IdentKind {
		return false
	}
	if a.cel != nil {
		if _, ok := a.cel.vars[e.AsIdent()]; ok {
			return false
		}
	}
	return true
}

// condField is a field used in a condition: permitted, and not a
// personal field the caller sees only masked.
func (a allow) condField(name string) (Field, error) {
	f, err := a.lookup(a.part(), name)
	if err != nil {
		return Field{}, err
	}
	if a.cel != nil && a.cel.guardPersonal && f.Sensitivity == Personal {
		return Field{}, bad(a.part(), "字段“%s”（%s）是个人信息，您只能看到脱敏后的值，不能以其作为条件", f.Name, f.Title)
	}
	return f, nil
}

// celOperands is a comparison's field and its value, parsed by the
// field's type.
func celOperands(a allow, ident, other celast.Expr) (Field, any, error) {
	if !a.isField(ident) {
		return Field{}, nil, a.celUnsupported("两个常量（或变量）之间的比较")
	}
	if a.isField(other) {
		return Field{}, nil, a.celUnsupported("两个字段之间的比较")
	}
	f, err := a.condField(ident.AsIdent())
	if err != nil {
		return Field{}, nil, err
	}
	x, err := celValue(a, f, other)
	return f, x, err
}

// celValue is a constant, or a $variable's value, compared with field f,
// as the Go value of f's type. A variable takes f's type; while only
// checking (no values) it is nil.
func celValue(a allow, f Field, e celast.Expr) (any, error) {
	if e.Kind() == celast.IdentKind && a.cel != nil {
		v := a.cel.vars[e.AsIdent()]
		if v == nil {
			return nil, a.celUnsupported("两个字段之间的比较")
		}
		if v.Field != "" && v.Type != f.Type {
			return nil, bad("$"+v.Name, "变量“%s”同时与不同类型的字段（“%s”和“%s”）比较", v.Name, v.Field, f.Name)
		}
		if v.Field == "" {
			v.Field, v.Type, v.Title = f.Name, f.Type, f.Title
		}
		if a.cel.values == nil {
			return nil, nil
		}
		s, ok := a.cel.values[v.Name]
		if !ok || s == "" {
			return nil, bad("$"+v.Name, "请填写变量“%s”（%s）的值", v.Name, f.Title)
		}
		return parseValue("$"+v.Name, f, s)
	}
	s, err := celLiteral(a, e)
	if err != nil {
		return nil, err
	}
	return parseValue(a.part(), f, s)
}

func celLiteral(a allow, e celast.Expr) (string, error) {
	if e.Kind() != celast.LiteralKind {
		return "", a.celUnsupported("非常量的比较对象")
	}
	switch v := e.AsLiteral().(type) {
	case types.String:
		return string(v), nil
	case types.Int:
		return fmt.Sprint(int64(v)), nil
	case types.Double:
		return fmt.Sprint(float64(v)), nil
	}
	return "", a.celUnsupported("此类常量")
}

func celTerm(a allow, terms *int, n node) (node, error) {
	if *terms++; *terms > maxTerms {
		return node{}, bad(a.part(), "筛选条件过多（最多 %d 个）", maxTerms)
	}
	return n, nil
}

// drawCEL is the visual builder's tree of a checked expression, or nil
// when the expression has a form the builder cannot draw. The root is
// always a group, so the builder shows it as its top level.
func drawCEL(ds *Dataset, expr string) *Cond {
	rewritten, vars, err := rewriteVars("expr", expr)
	if err != nil {
		return nil
	}
	env, err := cel.NewEnv()
	if err != nil {
		return nil
	}
	ast, iss := env.Parse(rewritten)
	if iss.Err() != nil {
		return nil
	}
	c, ok := drawNode(ds, vars, ast.NativeRep().Expr())
	if !ok {
		return nil
	}
	if !c.isGroup() {
		c = Cond{Op: "and", Items: []Cond{c}}
	}
	return &c
}

func drawNode(ds *Dataset, vars map[string]*Variable, e celast.Expr) (Cond, bool) {
	if e.Kind() != celast.CallKind {
		return Cond{}, false
	}
	call := e.AsCall()
	args := call.Args()
	value := func(x celast.Expr) (string, bool) {
		switch x.Kind() {
		case celast.IdentKind:
			if v := vars[x.AsIdent()]; v != nil {
				return "$" + v.Name, true
			}
		case celast.LiteralKind:
			switch v := x.AsLiteral().(type) {
			case types.String:
				return string(v), true
			case types.Int:
				return fmt.Sprint(int64(v)), true
			case types.Double:
				return fmt.Sprint(float64(v)), true
			}
		}
		return "", false
	}
	isField := func(x celast.Expr) bool {
		if x.Kind() != celast.IdentKind {
			return false
		}
		_, ok := ds.field(x.AsIdent())
		return ok && vars[x.AsIdent()] == nil
	}
	switch fn := call.FunctionName(); {
	case fn == operators.LogicalAnd || fn == operators.LogicalOr:
		op := "and"
		if fn == operators.LogicalOr {
			op = "or"
		}
		g := Cond{Op: op}
		for _, x := range args {
			k, ok := drawNode(ds, vars, x)
			if !ok {
				return Cond{}, false
			}
			if k.Op == op && !k.Not {
				g.Items = append(g.Items, k.Items...) // a && b && c is one group
			} else {
				g.Items = append(g.Items, k)
			}
		}
		return g, true
	case fn == operators.LogicalNot:
		k, ok := drawNode(ds, vars, args[0])
		if !ok || k.Not {
			return Cond{}, false
		}
		k.Not = true
		return k, true
	case celOps[fn] != "":
		op := celOps[fn]
		l, r := args[0], args[1]
		if !isField(l) {
			l, r, op = r, l, flipped[op]
		}
		v, ok := value(r)
		if !isField(l) || !ok {
			return Cond{}, false
		}
		return Cond{Op: op, Field: l.AsIdent(), Value: v}, true
	case fn == operators.In:
		if !isField(args[0]) || args[1].Kind() != celast.ListKind {
			return Cond{}, false
		}
		c := Cond{Op: "in", Field: args[0].AsIdent()}
		for _, el := range args[1].AsList().Elements() {
			v, ok := value(el)
			if !ok {
				return Cond{}, false
			}
			c.Values = append(c.Values, v)
		}
		return c, true
	case call.IsMemberFunction() && (fn == "contains" || fn == "startsWith" || fn == "endsWith"):
		v, ok := value(args[0])
		if !isField(call.Target()) || !ok {
			return Cond{}, false
		}
		op := map[string]string{"contains": "contains", "startsWith": "starts_with", "endsWith": "ends_with"}[fn]
		return Cond{Op: op, Field: call.Target().AsIdent(), Value: v}, true
	}
	return Cond{}, false
}
