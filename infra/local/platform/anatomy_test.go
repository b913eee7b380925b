package platform

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/runtime"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// recorder wraps a function and records the lifecycle calls made to it.
type recorder struct {
	runtime.Function
	name string
	log  *lifecycle
}

type lifecycle struct {
	mu    sync.Mutex
	calls []string
}

func (l *lifecycle) add(s string) { l.mu.Lock(); l.calls = append(l.calls, s); l.mu.Unlock() }
func (l *lifecycle) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (r recorder) Start(ctx context.Context) error {
	r.log.add("start " + r.name)
	return runtime.Start(ctx, r.Function)
}

func (r recorder) Stop(ctx context.Context) error {
	r.log.add("stop " + r.name)
	return runtime.Stop(ctx, r.Function)
}

func (r recorder) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	return r.Function.Receive(ctx, e)
}

// TestEveryFunctionsLifecycleIsCalled: the platform starts every function
// before serving and stops every one after, in reverse order, through
// the same runtime.Start/Stop as the Knative entry points — there is no
// function-specific start or stop code in the platform.
func TestEveryFunctionsLifecycleIsCalled(t *testing.T) {
	cfg := defaults(t)
	db := storetest.NewDatabase(t)
	cfg.DatabaseURL, cfg.BlobURL, cfg.DBMaxConns = storetest.URLFor(db), "file:"+t.TempDir(), 10
	cfg.Identity.DataDir = t.TempDir()
	log := &lifecycle{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := Build(ctx, cfg, httpx.NewLogger(io.Discard, "error"), Options{Wrap: func(m Mounted) Mounted {
		m.Fn = recorder{Function: m.Fn, name: m.Name, log: log}
		return m
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, ln, 5*time.Second) }()
	url := "http://" + ln.Addr().String() + "/readyz"
	for i := 0; ; i++ {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 500 {
			t.Fatalf("the platform does not serve: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var names, want []string
	for _, f := range p.Functions {
		names = append(names, f.Name)
		want = append(want, "start "+f.Name)
	}
	if got := log.snapshot(); !slices.Equal(got, want) {
		t.Fatalf("before serving the platform called %v, want %v", got, want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i := len(names) - 1; i >= 0; i-- {
		want = append(want, "stop "+names[i])
	}
	if got := log.snapshot(); !slices.Equal(got, want) {
		t.Fatalf("lifecycle calls %v, want %v", got, want)
	}
}

// TestPlatformSpecialCasesNoFunction: only the builder table
// (functions.go) knows the functions; the platform's running code imports
// none of them.
func TestPlatformSpecialCasesNoFunction(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "platform.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		if p := strings.Trim(imp.Path.Value, `"`); strings.Contains(p, "/functions/") {
			t.Errorf("platform.go imports %s: function-specific code belongs in its builder in functions.go", p)
		}
	}
}

// TestEveryFunctionHasTheAnatomy reads each function's package: the files
// of the anatomy, Config, Deps, New(Deps, Config) (*Function, error),
// Migrations when it owns a schema, and a builder in functions.go.
func TestEveryFunctionHasTheAnatomy(t *testing.T) {
	dirs, err := filepath.Glob("../../../functions/*/function.go")
	if err != nil {
		t.Fatal(err)
	}
	all, _ := filepath.Glob("../../../functions/*")
	if len(dirs) != len(all) {
		t.Errorf("%d function directories but %d function.go files", len(all), len(dirs))
	}
	builderSrc, err := os.ReadFile("functions.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range dirs {
		dir := filepath.Dir(fn)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			_, hasSchema := os.Stat(filepath.Join(dir, "migrations"))
			files := []string{"function.go", "http.go"}
			if hasSchema == nil {
				files = append(files, "events.go", "store.go")
			}
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s lacks %s", name, f)
				}
			}
			fset := token.NewFileSet()
			pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
			if err != nil {
				t.Fatal(err)
			}
			var decls = map[string]ast.Decl{}
			var pkgName string
			for n, p := range pkgs {
				pkgName = n
				for _, f := range p.Files {
					for _, d := range f.Decls {
						switch d := d.(type) {
						case *ast.FuncDecl:
							if d.Recv == nil {
								decls["func "+d.Name.Name] = d
							}
						case *ast.GenDecl:
							for _, s := range d.Specs {
								if ts, ok := s.(*ast.TypeSpec); ok {
									decls["type "+ts.Name.Name] = d
								}
							}
						}
					}
				}
			}
			for _, want := range []string{"type Config", "type Deps", "type Function", "func New"} {
				if decls[want] == nil {
					t.Errorf("%s has no %s", name, want)
				}
			}
			if hasSchema == nil && decls["func Migrations"] == nil {
				t.Errorf("%s owns a schema but has no Migrations()", name)
			}
			if nd, ok := decls["func New"].(*ast.FuncDecl); ok {
				ps := nd.Type.Params.List
				sig := ""
				for _, p := range ps {
					for range max(1, len(p.Names)) {
						sig += exprString(p.Type) + ","
					}
				}
				if sig != "Deps,Config," {
					t.Errorf("%s: New(%s), want New(Deps, Config)", name, strings.TrimSuffix(sig, ","))
				}
			}
			if !strings.Contains(string(builderSrc), pkgName+".Name") {
				t.Errorf("%s has no builder in infra/local/platform/functions.go", name)
			}
		})
	}
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.StarExpr:
		return "*" + exprString(e.X)
	}
	return "?"
}
