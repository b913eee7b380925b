package store

import (
	"fmt"
	"strings"
)

// Where builds a WHERE clause from optional conditions with numbered
// arguments. Each condition is trusted SQL written in code with "?" for
// its arguments; values are never spliced in.
//
//	var w store.Where
//	if f.Name != "" { w.Add("name LIKE ?", store.Contains(f.Name)) }
//	w.Add("status = ?", f.Status)
//	rows, err := q.Query(ctx, "SELECT … FROM t"+w.SQL(), w.Args()...)
type Where struct {
	conds []string
	args  []any
}

// Add appends cond, replacing each "?" with the next argument's number.
func (w *Where) Add(cond string, args ...any) {
	if n := strings.Count(cond, "?"); n != len(args) {
		// A programming error; the query then fails loudly in PostgreSQL
		// rather than binding the wrong values.
		cond = fmt.Sprintf("(%s) /* %d placeholders, %d args */", cond, n, len(args))
	}
	var b strings.Builder
	i := 0
	for _, r := range cond {
		if r == '?' && i < len(args) {
			w.args = append(w.args, args[i])
			i++
			fmt.Fprintf(&b, "$%d", len(w.args))
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
}

// AddWith appends a condition built by fn, which appends its own
// arguments to *args and numbers them (auth.Scope.Filter has this shape).
func (w *Where) AddWith(fn func(args *[]any) string) {
	w.conds = append(w.conds, fn(&w.args))
}

// Args are the arguments in placeholder order; further arguments for
// LIMIT or OFFSET are numbered from len(Args())+1.
func (w *Where) Args() []any { return w.args }

// Next is the placeholder for one more argument appended after Args,
// e.g. for LIMIT: it appends v and returns "$n".
func (w *Where) Next(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

// Empty reports whether no condition was added.
func (w *Where) Empty() bool { return len(w.conds) == 0 }

// SQL is " WHERE c1 AND c2 …", or "" without conditions.
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// And is the conditions joined by AND without the keyword ("TRUE" when
// empty), for queries that already have a WHERE.
func (w *Where) And() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

// EscapeLike escapes LIKE's wildcards (% and _) and its escape character,
// so user text matches literally.
func EscapeLike(s string) string {
	return likeEscaper.Replace(s)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// Contains is the LIKE/ILIKE pattern matching s anywhere.
func Contains(s string) string { return "%" + EscapeLike(s) + "%" }

// Prefix is the LIKE pattern matching values starting with s.
func Prefix(s string) string { return EscapeLike(s) + "%" }
