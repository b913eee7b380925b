package registry

import (
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

func fetchEntity(t *testing.T, h http.Handler, code string) Entity {
	t.Helper()
	rec := do(t, h, "GET", "/registry/v1/entities/"+code, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("get %s: %d %s", code, rec.Code, rec.Body)
	}
	var e Entity
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// inputOf is the PUT body a form sends back for an entity it read: the
// input fields, exactly as GET returned them.
func inputOf(t *testing.T, e Entity) map[string]any {
	t.Helper()
	b, _ := json.Marshal(e)
	var all map[string]any
	_ = json.Unmarshal(b, &all)
	out := map[string]any{}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[EntityInput]()) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if v, ok := all[name]; ok && name != "credit_code" {
			out[name] = v
		}
	}
	return out
}

// updatedChanges lists the "changed" of every entity.updated recorded for code.
func updatedChanges(t *testing.T, f *Function, code string) [][]string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT event->'data'->'changed' FROM platform.outbox
		WHERE subject = $1 AND event_type = $2 ORDER BY seq`, code, events.EntityUpdated)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var c []string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// Saving an entity exactly as read bumped its version and emitted
// entity.updated with changed ["township_code"] every time: char(9) read
// back an empty township as nine spaces.
func TestSaveAsReadChangesNothing(t *testing.T) {
	f, _ := newFunction(t)
	h := f.Handler()
	in := validInput(t, 60) // no township
	if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	code := in["credit_code"].(string)
	e := fetchEntity(t, h, code)
	if e.TownshipCode != "" {
		t.Fatalf("township_code read back as %q, want \"\"", e.TownshipCode)
	}
	for range 2 {
		rec := do(t, h, "PUT", "/registry/v1/entities/"+code, inputOf(t, e))
		if rec.Code != http.StatusOK {
			t.Fatalf("save as read: %d %s", rec.Code, rec.Body)
		}
		var got Entity
		_ = json.Unmarshal(rec.Body.Bytes(), &got)
		if got.Version != e.Version || got.Name != e.Name {
			t.Fatalf("save as read answered version %d (read %d): %+v", got.Version, e.Version, got)
		}
	}
	if v := fetchEntity(t, h, code).Version; v != e.Version {
		t.Fatalf("version %d after saving as read, want %d", v, e.Version)
	}
	if c := updatedChanges(t, f, code); len(c) != 0 {
		t.Fatalf("saving as read emitted entity.updated %v", c)
	}

	// One field changed: exactly that field is reported.
	body := inputOf(t, e)
	body["legal_rep"] = "李红梅"
	rec := do(t, h, "PUT", "/registry/v1/entities/"+code, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	if c := updatedChanges(t, f, code); len(c) != 1 || strings.Join(c[0], ",") != "legal_rep" {
		t.Fatalf("changed = %v, want [[legal_rep]]", c)
	}
	e = fetchEntity(t, h, code)
	if e.Version != 2 {
		t.Fatalf("version %d after one change, want 2", e.Version)
	}

	// A township set and then cleared is again "" and compares equal.
	body = inputOf(t, e)
	body["township_code"] = "130102001"
	if rec := do(t, h, "PUT", "/registry/v1/entities/"+code, body); rec.Code != http.StatusOK {
		t.Fatalf("set township: %d %s", rec.Code, rec.Body)
	}
	e = fetchEntity(t, h, code)
	body = inputOf(t, e)
	body["township_code"] = ""
	if rec := do(t, h, "PUT", "/registry/v1/entities/"+code, body); rec.Code != http.StatusOK {
		t.Fatalf("clear township: %d %s", rec.Code, rec.Body)
	}
	e = fetchEntity(t, h, code)
	if rec := do(t, h, "PUT", "/registry/v1/entities/"+code, inputOf(t, e)); rec.Code != http.StatusOK {
		t.Fatalf("save as read: %d", rec.Code)
	}
	c := updatedChanges(t, f, code)
	if len(c) != 3 || strings.Join(c[1], ",") != "township_code" || strings.Join(c[2], ",") != "township_code" || fetchEntity(t, h, code).Version != 4 {
		t.Fatalf("changes %v", c)
	}
}

// trickyNames are names whose written forms differ only in what search
// must ignore.
var trickyNames = []struct{ name, want string }{
	{"石家庄恒达（中国）商贸有限公司", "石家庄恒达(中国)商贸有限公司"},
	{"石家庄恒达(中国)商贸有限公司", "石家庄恒达(中国)商贸有限公司"},
	{"石家庄恒达【中国】商贸有限公司", "石家庄恒达(中国)商贸有限公司"},
	{"石家庄恒达〔中国〕商贸有限公司", "石家庄恒达(中国)商贸有限公司"},
	{"石家庄恒达［中国］商贸有限公司", "石家庄恒达(中国)商贸有限公司"},
	{"买买提·艾力餐饮店", "买买提·艾力餐饮店"},
	{"买买提•艾力餐饮店", "买买提·艾力餐饮店"},
	{"买买提・艾力餐饮店", "买买提·艾力餐饮店"},
	{"买买提･艾力餐饮店", "买买提·艾力餐饮店"},
	{"买买提‧艾力餐饮店", "买买提·艾力餐饮店"},
	{"买买提.艾力餐饮店", "买买提·艾力餐饮店"},
	{"买买提．艾力餐饮店", "买买提·艾力餐饮店"},
	{"买买提\u0387艾力餐饮店", "买买提·艾力餐饮店"},
	{"ＡＢＣ　Trading 石家庄　有限公司", "abctrading石家庄有限公司"},
	{" 张记\t面馆\u00a0二号\u200b店\ufeff", "张记面馆二号店"},
	{"石家庄１２３号商店", "石家庄123号商店"},
	{"㈱石家庄分公司", "(株)石家庄分公司"},
	{"Café ÉCLAIR", "caféÉclair"}, // ASCII letters only: other scripts keep their case
	{"Cafe\u0301 E\u0301CLAIR", "caféÉclair"},
	{"石家庄𠮷祥餐饮有限公司", "石家庄𠮷祥餐饮有限公司"},
	{"ｶﾌｪ石家庄", "カフェ石家庄"},
	{"50％_折扣店", "50%_折扣店"},
}

// The SQL that generates name_norm and the Go that normalises the query
// must agree, or a name stops being found: compared on every character of
// the Basic Multilingual Plane and on trickyNames.
func TestNormalizeNameMatchesSQL(t *testing.T) {
	pool := storetest.New(t, Migrations()...)
	var inputs []string
	for r := rune(1); r <= 0xFFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		inputs = append(inputs, "a"+string(r)+"b")
	}
	for _, n := range trickyNames {
		inputs = append(inputs, n.name)
		if got := NormalizeName(n.name); got != n.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", n.name, got, n.want)
		}
	}
	rows, err := pool.Query(context.Background(), `SELECT registry.norm_name(s) FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i) ORDER BY i`, inputs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i, bad := 0, 0
	for rows.Next() {
		var got string
		if err := rows.Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := NormalizeName(inputs[i]); got != want && bad < 20 {
			bad++
			t.Errorf("%q (%U…): SQL %q, Go %q", inputs[i], []rune(inputs[i])[min(1, utf8.RuneCountInString(inputs[i])-1)], got, want)
		}
		i++
	}
	if err := rows.Err(); err != nil || i != len(inputs) {
		t.Fatalf("compared %d of %d: %v", i, len(inputs), err)
	}
}

// Search treated （） and (), and the middle-dot variants, as different; a
// whole name over 50 characters could not be searched at all.
func TestSearchFindsNormalisedNames(t *testing.T) {
	f, _ := newFunction(t)
	h := f.Handler()
	long := "石家庄市长安区" + strings.Repeat("恒达", 36) + "建材有限公司" // 85 characters
	names := []string{"石家庄恒达（中国）商贸有限公司", "买买提·艾力餐饮店", "ABC Trading 石家庄有限公司", long}
	for i, n := range names {
		in := validInput(t, 70+i)
		in["name"] = n
		if rec := do(t, h, "POST", "/registry/v1/entities", in); rec.Code != http.StatusCreated {
			t.Fatalf("create %q: %d %s", n, rec.Code, rec.Body)
		}
	}
	for _, c := range []struct{ q, want string }{
		{"恒达(中国)", names[0]},
		{"恒达【中国】", names[0]},
		{"（中国）", names[0]},
		{"买买提•艾力", names[1]},
		{"买买提・艾力", names[1]},
		{"买买提.艾力", names[1]},
		{"ａｂｃ　trading", names[2]},
		{"abctrading", names[2]},
		{long, names[3]},
		{"力餐", names[1]},  // two characters: the bigram index
		{"提·艾", names[1]}, // three, one of them a dot
	} {
		rec := do(t, h, "GET", "/registry/v1/entities?name="+url.QueryEscape(c.q), nil)
		var res SearchResult
		_ = json.Unmarshal(rec.Body.Bytes(), &res)
		if rec.Code != http.StatusOK || len(res.Items) != 1 || res.Items[0].Name != c.want {
			t.Errorf("search %q: %d %s", c.q, rec.Code, rec.Body)
		}
	}
	for _, q := range []string{"恒", "恒 ", "\u200b恒", strings.Repeat("恒", maxNameLen+1)} {
		if rec := do(t, h, "GET", "/registry/v1/entities?name="+url.QueryEscape(q), nil); rec.Code != http.StatusBadRequest {
			t.Errorf("search %q: %d, want 400", q, rec.Code)
		}
	}
	// LIKE's own characters are literal, also in their full-width forms.
	if rec := do(t, h, "GET", "/registry/v1/entities?name="+url.QueryEscape("％％"), nil); !strings.Contains(rec.Body.String(), `"total":0`) {
		t.Errorf("search %%%%: %s", rec.Body)
	}
}

// The migrations convert a database that already holds entities: padded
// townships come back as "", names get their normalised form, and the
// published read functions answer as before.
func TestMigrationConvertsExistingRows(t *testing.T) {
	upTo6 := fstest.MapFS{}
	entries, _ := fs.ReadDir(migrations, "migrations")
	for _, e := range entries {
		if e.Name() < "0007" {
			b, _ := fs.ReadFile(migrations, "migrations/"+e.Name())
			upTo6["migrations/"+e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	ctx := context.Background()
	pool := storetest.New(t, store.Migration{Component: Name, FS: upTo6, Dir: "migrations"})
	insert := `INSERT INTO registry.entities (credit_code, name, entity_type, legal_rep, established_on, address,
		district_code, township_code, industry_code) VALUES ($1, $2, 'enterprise', '张三', '2020-01-01', '石家庄市长安区某路1号', '130102', $3, '5164')`
	a, b := code(t, "91", "130102", 91), code(t, "91", "130102", 92)
	if _, err := pool.Exec(ctx, insert, a, "石家庄恒达（中国）商贸有限公司", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, insert, b, "买买提•艾力餐饮店", "130102001"); err != nil {
		t.Fatal(err)
	}
	if err := store.Migrate(ctx, pool, Migrations()...); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[string][2]string{a: {"", "石家庄恒达(中国)商贸有限公司"}, b: {"130102001", "买买提·艾力餐饮店"}} {
		var township, norm, page, snap string
		err := pool.QueryRow(ctx, `SELECT e.township_code, e.name_norm, p.township_code, s.township_code
			FROM registry.entities e, registry.public_page(e.credit_code) p, registry.entity_snapshot() s
			WHERE e.credit_code = $1 AND s.credit_code = $1`, c).Scan(&township, &norm, &page, &snap)
		if err != nil {
			t.Fatal(err)
		}
		if township != want[0] || page != want[0] || snap != want[0] || norm != want[1] {
			t.Errorf("%s: township %q / page %q / snapshot %q, name_norm %q; want %q, %q", c, township, page, snap, norm, want[0], want[1])
		}
	}
	if _, err := pool.Exec(ctx, insert, code(t, "91", "130102", 93), "石家庄某某公司", "13010200"); err == nil {
		t.Error("an eight-digit township was stored")
	}
}

// explain returns the plan of the search statement for f.
func explain(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, f Filter) string {
	t.Helper()
	sql, args := searchSQL(f, 20, 0)
	rows, err := q.Query(context.Background(), "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// The name search must stay index-backed at 1.3 M entities: the statement
// has to match the normalised column's indexes exactly (the trigram index
// for three characters or more, the bigram index for two). With sequential
// scans priced out, a plan without them means the indexes cannot serve it.
func TestNameSearchUsesTheNormalisedIndexes(t *testing.T) {
	pool := storetest.New(t, Migrations()...)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for q, index := range map[string]string{
		"恒达（中国）":                 "entities_name_norm_trgm",
		"恒达":                     "entities_name_norm_bigrams",
		strings.Repeat("恒达", 50): "entities_name_norm_trgm",
	} {
		if plan := explain(t, tx, Filter{Name: q}); !strings.Contains(plan, index) {
			t.Errorf("search %q does not use %s:\n%s", q, index, plan)
		}
	}
}
