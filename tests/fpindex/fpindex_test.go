// Package fpindex generates docs/function-points.md: the requirement's 181
// function points (附表 2 of docs/requirements/requirements-zh.txt), each
// with the routes, pages and files that serve it and the tests that prove
// it, read from the FP tags in the code. Run
//
//	go test ./tests/fpindex -update
//
// after tagging code; the test fails when the document is stale, when a tag
// names a point that does not exist, or when a tag is malformed.
package fpindex

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/function-points.md")

const (
	root     = "../.."
	reqFile  = "docs/requirements/requirements-zh.txt"
	docFile  = "docs/function-points.md"
	maxPoint = 181
)

// Point is one function point of 附表 2.
type Point struct {
	N    int
	Name string
}

// points reads 附表 2: lines "(N)<TAB>name<TAB>…" numbered 1…181 in order
// (other tables after it number from (1) again and are not points).
func points(t *testing.T) []Point {
	t.Helper()
	f, err := os.Open(filepath.Join(root, reqFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Point
	in := false
	row := regexp.MustCompile(`^\((\d+)\)\t([^\t]+)`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "附表 2") {
			in = true
			continue
		}
		if !in {
			continue
		}
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if n != len(out)+1 {
			continue
		}
		out = append(out, Point{N: n, Name: strings.TrimSpace(m[2])})
		if n == maxPoint {
			break
		}
	}
	if len(out) != maxPoint {
		t.Fatalf("%s: found %d function points in 附表 2, want %d", reqFile, len(out), maxPoint)
	}
	return out
}

// A tag is "FP-" and a point, then more points or ranges: "FP-33",
// "FP-26–35", "FP-13, 17–19, 56", "FP-1 to FP-10", "FP-7、8".
var (
	tagRe   = regexp.MustCompile(`FP-\d+(?:(?:\s*[,，、]\s*(?:FP-)?|\s*[–—-]\s*(?:FP-)?|\s+to\s+(?:FP-)?)\d+)*`)
	numRe   = regexp.MustCompile(`\d+|[–—-]|to`)
	routeRe = regexp.MustCompile(`"((?:GET|POST|PUT|PATCH|DELETE|HEAD) /[^"]*)"`)
)

// expand turns a tag into its points.
func expand(tag string) ([]int, error) {
	toks := numRe.FindAllString(strings.ReplaceAll(tag, "FP-", ""), -1)
	var out []int
	for i := 0; i < len(toks); i++ {
		n, err := strconv.Atoi(toks[i])
		if err != nil {
			return nil, fmt.Errorf("tag %q: unexpected %q", tag, toks[i])
		}
		if i+2 < len(toks) && (toks[i+1] == "–" || toks[i+1] == "—" || toks[i+1] == "-" || toks[i+1] == "to") {
			m, err := strconv.Atoi(toks[i+2])
			if err != nil || m <= n {
				return nil, fmt.Errorf("tag %q: a range must go up", tag)
			}
			for k := n; k <= m; k++ {
				out = append(out, k)
			}
			i += 2
			continue
		}
		out = append(out, n)
	}
	return out, nil
}

// Use is one place a point is tagged.
type Use struct {
	File   string
	Line   int
	Kind   string // "route", "page", "code", "test"
	Route  string // the route pattern on the tagged line, if any
	Partly string // "partly: why" written after the tag
}

func kindOf(path string) string {
	switch {
	case strings.HasSuffix(path, "_test.go"), strings.HasPrefix(path, "tests/") && !strings.HasPrefix(path, "tests/sim/"),
		strings.Contains(path, ".spec.") || strings.Contains(path, ".test."):
		return "test"
	case strings.HasSuffix(path, ".vue"), strings.HasPrefix(path, "functions/console/web/src/"):
		return "page"
	}
	return "code"
}

var partlyRe = regexp.MustCompile(`partly:\s*([^*/\n]+)`)

// scan reads the tags of the repository's code, pages and tests.
func scan(t *testing.T) (map[int][]Use, []string) {
	t.Helper()
	uses := map[int][]Use{}
	var problems []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "dist", ".data", "bin", "testdata", "docs":
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(p)
		if ext != ".go" && ext != ".vue" && ext != ".ts" && ext != ".sql" {
			return nil
		}
		if rel == "tests/fpindex/fpindex_test.go" {
			return nil // this file's examples are not tags
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			for _, tag := range tagRe.FindAllString(line, -1) {
				ns, err := expand(tag)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: %v", rel, i+1, err))
					continue
				}
				u := Use{File: rel, Line: i + 1, Kind: kindOf(rel)}
				if m := partlyRe.FindStringSubmatch(line); m != nil {
					u.Partly = strings.TrimSpace(m[1])
				}
				var found []Use
				if u.Kind == "code" {
					for _, r := range routesOf(lines, i) {
						ru := u
						ru.Kind, ru.Line, ru.Route = "route", r.line+1, r.route
						found = append(found, ru)
					}
				}
				if len(found) == 0 {
					found = []Use{u}
				}
				for _, n := range ns {
					if n < 1 || n > maxPoint {
						problems = append(problems, fmt.Sprintf("%s:%d: FP-%d does not exist (附表 2 has %d points)", rel, i+1, n, maxPoint))
						continue
					}
					uses[n] = append(uses[n], found...)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uses, problems
}

type routeLine struct {
	line  int
	route string
}

// routesOf finds the routes a tag on line i serves: the route on that very
// line, or, for a tag in a comment of its own, the routes declared below it
// until a blank line or the next tag, which is how a group of routes is
// tagged once ("// FP-2: registration and its review.").
func routesOf(lines []string, i int) []routeLine {
	if m := routeRe.FindStringSubmatch(lines[i]); m != nil {
		return []routeLine{{i, m[1]}}
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[i]), "//") {
		return nil
	}
	var out []routeLine
	for j := i + 1; j < len(lines); j++ {
		l := strings.TrimSpace(lines[j])
		if l == "" || tagRe.MatchString(l) {
			break
		}
		if strings.HasPrefix(l, "//") {
			continue
		}
		if m := routeRe.FindStringSubmatch(l); m != nil {
			out = append(out, routeLine{j, m[1]})
		}
	}
	return out
}

// state: built when code or a page and a test carry the tag and no tag
// says "partly:"; partly built when some code does; not yet otherwise.
func state(us []Use) string {
	var code, test, partly bool
	for _, u := range us {
		switch u.Kind {
		case "test":
			test = true
		default:
			code = true
		}
		if u.Partly != "" {
			partly = true
		}
	}
	switch {
	case code && test && !partly:
		return "built"
	case code:
		return "partly built"
	}
	return "not yet"
}

var stateZH = map[string]string{"built": "已实现", "partly built": "部分实现", "not yet": "未实现"}

func render(ps []Point, uses map[int][]Use) []byte {
	var b bytes.Buffer
	counts := map[string]int{}
	for _, p := range ps {
		counts[state(uses[p.N])]++
	}
	b.WriteString("<!-- Generated by tests/fpindex from the FP tags in the code and 附表 2 of\n")
	b.WriteString("     docs/requirements/requirements-zh.txt. Do not edit: go test ./tests/fpindex -update -->\n\n")
	b.WriteString("# 功能点索引 / Function-point index\n\n")
	fmt.Fprintf(&b, "%d function points: **%d built** (已实现), **%d partly built** (部分实现), **%d not yet** (未实现).\n\n",
		len(ps), counts["built"], counts["partly built"], counts["not yet"])
	b.WriteString("A point is *built* when its code (a route, handler or console page) and a test carry its tag, `// FP-N`\n")
	b.WriteString("in Go and a comment in Vue or TypeScript; *partly built* when code carries it but no test does, or a tag\n")
	b.WriteString("says `partly: <what is missing>`. Tag a point where it is served and where it is proven.\n\n")
	b.WriteString("| FP | 功能点 | state | routes | pages and code | tests |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, p := range ps {
		us := uses[p.N]
		var routes, code, tests, why []string
		for _, u := range us {
			loc := fmt.Sprintf("[%s:%d](../%s#L%d)", u.File, u.Line, u.File, u.Line)
			switch u.Kind {
			case "route":
				routes = append(routes, "`"+u.Route+"`")
				code = append(code, loc)
			case "test":
				tests = append(tests, loc)
			default:
				code = append(code, loc)
			}
			if u.Partly != "" {
				why = append(why, u.Partly)
			}
		}
		st := stateZH[state(us)]
		if len(why) > 0 {
			st += "：" + strings.Join(slices.Compact(why), "；")
		}
		fmt.Fprintf(&b, "| FP-%d | %s | %s | %s | %s | %s |\n", p.N, cell(p.Name), cell(st),
			join(routes), join(code), join(tests))
	}
	return b.Bytes()
}

func join(s []string) string {
	sort.Strings(s)
	s = slices.Compact(s)
	if len(s) == 0 {
		return "—"
	}
	return strings.Join(s, "<br>")
}

func cell(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }

func TestFunctionPointIndex(t *testing.T) {
	ps := points(t)
	uses, problems := scan(t)
	for _, p := range problems {
		t.Error(p)
	}
	want := render(ps, uses)
	path := filepath.Join(root, docFile)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: go test ./tests/fpindex -update", docFile)
	}
}

func TestExpand(t *testing.T) {
	for tag, want := range map[string][]int{
		"FP-33": {33}, "FP-26–35": {26, 27, 28, 29, 30, 31, 32, 33, 34, 35}, "FP-13, 17–19, 56": {13, 17, 18, 19, 56},
		"FP-1 to FP-10": {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "FP-7、8": {7, 8}, "FP-30, FP-32": {30, 32},
	} {
		got, err := expand(tagRe.FindString(tag))
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("expand(%q) = %v, %v; want %v", tag, got, err, want)
		}
	}
	if _, err := expand("FP-35–26"); err == nil {
		t.Error("a descending range accepted")
	}
}

func TestRoutesOfAGroupTag(t *testing.T) {
	lines := strings.Split(`	// FP-2: registration and its review.
	m.Handle("POST /a/v1/r", h, httpx.Public())
	m.Handle("GET /a/v1/r", h,
		httpx.Params("q"))
	// a comment inside the group
	m.Handle("DELETE /a/v1/r/{id}", h)

	m.Handle("GET /a/v1/other", h)
	x := 1 // FP-3
	m.Handle("GET /a/v1/x", h) // FP-4`, "\n")
	got := routesOf(lines, 0)
	want := []routeLine{{1, "POST /a/v1/r"}, {2, "GET /a/v1/r"}, {5, "DELETE /a/v1/r/{id}"}}
	if !slices.Equal(got, want) {
		t.Errorf("group tag: got %v, want %v", got, want)
	}
	if got := routesOf(lines, 8); got != nil {
		t.Errorf("a tag after code is not a group tag: got %v", got)
	}
	if got := routesOf(lines, 9); !slices.Equal(got, []routeLine{{9, "GET /a/v1/x"}}) {
		t.Errorf("a tag on the route's line: got %v", got)
	}
}
