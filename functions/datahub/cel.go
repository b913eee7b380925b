package datahub

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// FP-136 partly: a where= CEL filter on generated interfaces; no visual builder, aggregates, grouping or saved formulas
//
// A filter written as a CEL expression (cel.dev), in
// `where=`, type-checked against the interface's permitted fields and
// translated into the same condition tree as the PostgREST-like grammar,
// so it reaches SQL only as parameters. Fields are variables: text, dates
// ("YYYY-MM-DD") and times (RFC 3339) are strings, integers int, numbers
// double. Supported: comparisons of a field with a constant, `in` a list
// of constants, contains/startsWith/endsWith on text, and && || !.

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
		return node{}, bad("where", "where 表达式过长（最多 4000 个字符）")
	}
	opts := make([]cel.EnvOption, 0, len(a.fields))
	for _, name := range a.fields {
		f, _ := a.ds.field(name)
		opts = append(opts, cel.Variable(name, celType(f)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return node{}, fmt.Errorf("cel env: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return node{}, bad("where", "where 表达式无法通过类型检查：%s", clip(strings.ReplaceAll(iss.Err().Error(), "\n", " ")))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return node{}, bad("where", "where 表达式的结果应为真假值（bool），而不是 %s", ast.OutputType())
	}
	return celNode(a, ast.NativeRep().Expr(), terms, 1)
}

func celUnsupported(what string) error {
	return bad("where", "where 表达式中不支持%s：只能用字段与常量比较（== != < <= > >=）、in 常量列表、contains/startsWith/endsWith，以及 && || !", what)
}

func celNode(a allow, e celast.Expr, terms *int, depth int) (node, error) {
	if depth > maxDepth {
		return node{}, bad("where", "where 表达式嵌套过深（最多 %d 层）", maxDepth)
	}
	if e.Kind() != celast.CallKind {
		return node{}, celUnsupported("单独的字段或常量")
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
		if l.Kind() != celast.IdentKind {
			l, r, op = r, l, flipped[op]
		}
		f, val, err := celOperands(a, l, r)
		if err != nil {
			return node{}, err
		}
		x, err := parseValue("where", f, val)
		if err != nil {
			return node{}, err
		}
		return celTerm(terms, node{field: f, op: op, vals: []any{x}})
	case fn == operators.In:
		if args[0].Kind() != celast.IdentKind || args[1].Kind() != celast.ListKind {
			return node{}, celUnsupported("此种 in 写法（应为 字段 in [常量, …]）")
		}
		f, _ := a.ds.field(args[0].AsIdent())
		n := node{field: f, op: "in"}
		elems := args[1].AsList().Elements()
		if len(elems) == 0 || len(elems) > maxInValues {
			return node{}, bad("where", "in 的值应有 1 至 %d 个", maxInValues)
		}
		for _, el := range elems {
			s, err := celLiteral(el)
			if err != nil {
				return node{}, err
			}
			x, err := parseValue("where", f, s)
			if err != nil {
				return node{}, err
			}
			n.vals = append(n.vals, x)
		}
		return celTerm(terms, n)
	case c.IsMemberFunction() && (fn == "contains" || fn == "startsWith" || fn == "endsWith"):
		f, val, err := celOperands(a, c.Target(), args[0])
		if err != nil {
			return node{}, err
		}
		if f.Type != TypeText && f.Type != TypeDate && f.Type != TypeTime {
			return node{}, bad("where", "字段“%s”不是文本，不能用 %s", f.Name, fn)
		}
		if f.Type != TypeText {
			return node{}, bad("where", "字段“%s”是%s类型，不能用 %s（请用比较运算）", f.Name, typeNames[f.Type], fn)
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
		return celTerm(terms, node{field: f, op: "like", vals: []any{val}})
	default:
		return node{}, celUnsupported("“" + strings.Trim(fn, "_@") + "”")
	}
}

// celOperands is a comparison's field and constant (as the grammar's text).
func celOperands(a allow, ident, lit celast.Expr) (Field, string, error) {
	if ident.Kind() != celast.IdentKind {
		return Field{}, "", celUnsupported("两个常量或两个字段之间的比较")
	}
	f, err := a.lookup("where", ident.AsIdent())
	if err != nil {
		return Field{}, "", err
	}
	s, err := celLiteral(lit)
	return f, s, err
}

func celLiteral(e celast.Expr) (string, error) {
	if e.Kind() != celast.LiteralKind {
		return "", celUnsupported("非常量的比较对象")
	}
	switch v := e.AsLiteral().(type) {
	case types.String:
		return string(v), nil
	case types.Int:
		return fmt.Sprint(int64(v)), nil
	case types.Double:
		return fmt.Sprint(float64(v)), nil
	}
	return "", celUnsupported("此类常量")
}

func celTerm(terms *int, n node) (node, error) {
	if *terms++; *terms > maxTerms {
		return node{}, bad("where", "筛选条件过多（最多 %d 个）", maxTerms)
	}
	return n, nil
}
