package certificateprint

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/certificate-print/render"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/conformance"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

type harness struct {
	f    *Function
	h    http.Handler
	pool *pgxpool.Pool
	blob blob.Store
	iss  *authtest.Issuer
}

// metrologyMigrations give the test database metrology's published
// party_of function (read from its directory: functions do not import
// each other).
func metrologyMigrations() store.Migration {
	return store.Migration{Component: "metrology", FS: os.DirFS("../metrology"), Dir: "migrations"}
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	pool := storetest.New(t, metrologyMigrations(), Migrations()[0])
	b, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults[Config]()
	cfg.RegenerateBatch = 2 // several batches in the tests
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, Render: render.New(),
		Now: func() time.Time { return time.Date(2026, 3, 10, 9, 30, 0, 0, cst) }, Verifier: iss.Verifier()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{f: f, h: f.Handler(), pool: pool, blob: b, iss: iss}
}

func (h *harness) do(t *testing.T, bearer, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

func (h *harness) city() string { return h.iss.Bearer(authtest.CityWide(PermCertificate + ":view")) }

// verification is a completed verification as metrology announces it.
func verification(id int64, district string, nozzles int) events.VerificationCompletedData {
	d := events.VerificationCompletedData{VerificationID: id, CertificateNo: fmt.Sprintf("JD2026-%06d", id), Result: "pass", Class: "0.3级",
		Conclusion: "合格（0.3级）",
		Institution: events.Institution{ID: "12130100MB0000019J", Name: "石家庄市计量检定测试所", Authorisation: "(冀)法计(2024)01001号",
			Address: "石家庄市长安区建设北大街 88 号", Phone: "0311-86000000", Postcode: "050000", Version: 1},
		Client: events.Client{CreditCode: "91130102MA00000" + district[5:] + "1X", Name: "长安区恒达加油站有限公司", Address: "石家庄市测试路 1 号", DistrictCode: district},
		Instrument: events.VerifiedInstrument{ID: id, Name: "燃油加油机", Model: "CS46", SerialNo: fmt.Sprintf("JYJ-%03d", id), Manufacturer: "正星科技",
			ItemCode: "04", ItemName: "燃油加油机", CategoryCode: "0401", CategoryName: "燃油加油机"},
		Verifier: "张检定", Checker: "李核验", Approver: "王批准", VerifiedOn: "2026-03-09", ValidUntil: "2026-09-08",
		Standards: []events.StandardUsed{{ID: 1, Name: "燃油加油机检定装置", Range: "(0～150)L/min", Accuracy: "0.05级",
			Certificates: []events.StandardCertificate{{Kind: "assessment", Number: "[2024]冀量标石证字第001号", ValidUntil: "2028-06-30"}},
			Instruments: []events.StandardInstrument{{Name: "标准金属量器", Model: "20L", SerialNo: "BZ-2001", Accuracy: "二等",
				CertificateNo: "JL2025-0101", ValidUntil: "2027-01-31"}}}},
		Environment: events.Environment{Temperature: "18.5℃", Humidity: "42%RH", Place: "现场"},
		Data:        []events.DataRow{{Name: "示值误差", Value: "+0.12%", Limit: "±0.30%", Result: "合格"}},
		Basis:       "JJG 443-2023《燃油加油机》", CompletedAt: time.Date(2026, 3, 9, 16, 0, 0, 0, cst)}
	for i := 1; i <= nozzles; i++ {
		d.Nozzles = append(d.Nozzles, events.NozzleResult{Serial: fmt.Sprintf("%d号枪", i), Result: "pass", Error: fmt.Sprintf("+0.%d%%", i)})
	}
	return d
}

func newEvent(t *testing.T, id, typ string, data any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/functions/metrology")
	e.SetType(typ)
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	return e
}

func (h *harness) receive(t *testing.T, e event.Event) {
	t.Helper()
	if _, err := h.f.Receive(context.Background(), e); err != nil {
		t.Fatalf("receive %s: %v", e.Type(), err)
	}
}

// pdfOf reads a certificate's stored PDF.
func (h *harness) pdfOf(t *testing.T, id int64) []byte {
	t.Helper()
	rec := h.do(t, h.city(), "GET", fmt.Sprintf("/certs/v1/certificates/%d/pdf", id))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("pdf: %d %s", rec.Code, rec.Header())
	}
	return rec.Body.Bytes()
}

// text is the PDF's text as pdftotext extracts it (poppler-utils).
func text(t *testing.T, pdf []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	// pdftotext keeps or drops the spaces between CJK characters as the
	// layout suggests: compare without them.
	return strings.NewReplacer(" ", "", "\u00a0", "").Replace(string(out))
}

// qrOf decodes the QR code on the PDF's first page (pdftoppm + zbarimg).
func qrOf(t *testing.T, pdf []byte) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", p, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pngs) != 1 {
		t.Fatalf("rendered pages %v", pngs)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", pngs[0]).Output()
	if err != nil {
		t.Fatalf("zbarimg found no code: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func certificates(t *testing.T, h *harness, query string) httpx.PageOf[Certificate] {
	t.Helper()
	return decode[httpx.PageOf[Certificate]](t, h.do(t, h.city(), "GET", "/certs/v1/certificates"+query))
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	b, _ := blob.Open(context.Background(), "file://"+t.TempDir())
	r := render.New()
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Blob: b, Render: r, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Blob: b, Render: r, Now: time.Now, Verifier: iss.Verifier()},
		"blob":     {Logger: log, Pool: pool, Render: r, Now: time.Now, Verifier: iss.Verifier()},
		"render":   {Logger: log, Pool: pool, Blob: b, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Blob: b, Render: r, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Blob: b, Render: r, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	full := Deps{Logger: log, Pool: pool, Blob: b, Render: r, Now: time.Now, Verifier: iss.Verifier()}
	bad := def
	bad.BaseURL = "localhost"
	if _, err := New(full, bad); err == nil {
		t.Error("a relative PUBLIC_BASE_URL accepted")
	}
	if _, err := New(full, def); err != nil {
		t.Errorf("complete deps refused: %v", err)
	}
}

func TestConfigIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range config.Describe(Config{}) {
		if f.Help == "" || !strings.Contains(string(doc), "`"+f.Env+"`") {
			t.Errorf("%s lacks help text or is not in docs/operations.md (go test ./infra/local/platform -run Settings -update)", f.Env)
		}
	}
}

// FP-167, FP-173: the certificate carries JJF 1069-2012's content, the
// standards drawn for the category and the result of every nozzle; the QR
// decodes to the public page, which confirms it. A redelivery issues
// nothing twice.
func TestCertificateContentAndAuthenticity(t *testing.T) {
	h := newHarness(t)
	d := verification(7, "130102", 4)
	e := newEvent(t, "v-7", events.MetrologyVerificationCompleted, d)
	h.receive(t, e)
	h.receive(t, e)
	second := newEvent(t, "v-7-again", events.MetrologyVerificationCompleted, d)
	h.receive(t, second) // another event for the same verification
	page := certificates(t, h, "")
	if page.Total != 1 {
		t.Fatalf("certificates after redeliveries: %+v", page)
	}
	c := page.Items[0]
	if c.Kind != "certificate" || c.Version != 1 || c.Pages != 2 || c.Status != "valid" || c.InstitutionName != "石家庄市计量检定测试所" {
		t.Fatalf("certificate %+v", c)
	}
	pdf := h.pdfOf(t, c.ID)
	txt := text(t, pdf)
	for _, want := range []string{"检定证书", "JD2026-000007", "第1页共2页", "第2页共2页", "石家庄市计量检定测试所", "(冀)法计(2024)01001号",
		"长安区恒达加油站有限公司", "燃油加油机", "CS46", "JYJ-007", "正星科技", "JJG443-2023", "合格（0.3级）", "0.3级", "王批准", "李核验", "张检定",
		"2026年03月09日", "2026年09月08日", "燃油加油机检定装置", "[2024]冀量标石证字第001号", "2028-06-30", "标准金属量器", "JL2025-0101",
		"2027-01-31", "18.5℃", "42%RH", "示值误差", "按枪检定结果（共4枪）", "1号枪", "2号枪", "3号枪", "4号枪", "+0.4%"} {
		if !strings.Contains(txt, want) {
			t.Errorf("certificate text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("pdftotext:\n%s", txt)
	}
	u := qrOf(t, pdf)
	if u != c.VerifyURL || !strings.HasPrefix(u, "http://localhost:8080/certs/v1/verify/") {
		t.Fatalf("QR %q, want %q", u, c.VerifyURL)
	}
	pu, _ := url.Parse(u)
	rec := h.do(t, "", "GET", pu.Path)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), MsgGenuine) || !strings.Contains(rec.Body.String(), "JD2026-000007") {
		t.Fatalf("authenticity page: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, "", "GET", "/certs/v1/verify/NOTATOKEN"); rec.Code != 404 || !strings.Contains(rec.Body.String(), MsgUnknown) {
		t.Fatalf("a forged token: %d", rec.Code)
	}
	var issued []events.CertificateIssuedData
	rows, _ := h.pool.Query(context.Background(), `SELECT event FROM platform.outbox WHERE event_type = $1`, events.CertificateIssued)
	for rows.Next() {
		var raw []byte
		_ = rows.Scan(&raw)
		var ev event.Event
		_ = json.Unmarshal(raw, &ev)
		d, _ := events.Decode[events.CertificateIssuedData](ev)
		issued = append(issued, d)
	}
	rows.Close()
	if len(issued) != 1 || issued[0].CertificateNo != "JD2026-000007" || issued[0].SHA256 != c.SHA256 || issued[0].BlobKey == "" {
		t.Fatalf("certificate.issued %+v", issued)
	}
}

// A failure yields a 检定结果通知书 with the failed nozzle and no validity.
func TestFailureYieldsNotice(t *testing.T) {
	h := newHarness(t)
	d := verification(8, "130102", 2)
	d.Result, d.Conclusion, d.FailureReason, d.ValidUntil, d.Class = "fail", "不合格", "2号枪示值误差超出最大允许误差", "", ""
	d.Nozzles[1].Result = "fail"
	h.receive(t, newEvent(t, "v-8", events.MetrologyVerificationCompleted, d))
	c := certificates(t, h, "?kind=notice").Items[0]
	txt := text(t, h.pdfOf(t, c.ID))
	for _, want := range []string{"检定结果通知书", "不合格", "2号枪示值误差超出最大允许误差", "2号枪", "不得用于贸易结算"} {
		if !strings.Contains(txt, want) {
			t.Errorf("notice lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "有效期至2026年") {
		t.Error("a notice shows a validity")
	}
}

// FP-175: the institution's data changes; its certificates are issued
// again as new versions, the old ones superseded (and their pages say
// so), in batches; a certificate issued after the change prints the new
// data at once.
func TestInstitutionChangeRegenerates(t *testing.T) {
	h := newHarness(t)
	for i := int64(1); i <= 3; i++ {
		h.receive(t, newEvent(t, fmt.Sprint("v-", i), events.MetrologyVerificationCompleted, verification(i, "130102", 0)))
	}
	old := certificates(t, h, "?q=JD2026-000001").Items[0]
	inst := verification(1, "130102", 0).Institution
	inst.Name, inst.Version = "石家庄市计量检定测试院", 2
	up := newEvent(t, "inst-2", events.MetrologyInstitutionUpdated, events.InstitutionUpdatedData{Institution: inst, Changed: []string{"name"},
		UpdatedAt: time.Date(2026, 3, 10, 8, 0, 0, 0, cst)})
	h.receive(t, up)
	if all := certificates(t, h, ""); all.Total != 6 {
		t.Fatalf("versions after the change: %d", all.Total)
	}
	cur := certificates(t, h, "?status=valid")
	if cur.Total != 3 {
		t.Fatalf("current certificates %d", cur.Total)
	}
	for _, c := range cur.Items {
		if c.Version != 2 || c.InstitutionName != "石家庄市计量检定测试院" {
			t.Fatalf("new version %+v", c)
		}
	}
	d := decode[Detail](t, h.do(t, h.city(), "GET", fmt.Sprintf("/certs/v1/certificates/%d", old.ID)))
	if d.Certificate.Status != "superseded" || d.Certificate.SupersededBy == nil || len(d.Versions) != 2 || d.Versions[0].Version != 2 {
		t.Fatalf("old version %+v", d)
	}
	if txt := text(t, h.pdfOf(t, *d.Certificate.SupersededBy)); !strings.Contains(txt, "石家庄市计量检定测试院") || !strings.Contains(txt, "第2版") {
		t.Errorf("the new version does not print the new name:\n%s", txt)
	}
	pu, _ := url.Parse(old.VerifyURL)
	if rec := h.do(t, "", "GET", pu.Path); rec.Code != 200 || !strings.Contains(rec.Body.String(), MsgSuperseded) || !strings.Contains(rec.Body.String(), "最新为第 2 版") {
		t.Fatalf("the old version's page: %s", rec.Body)
	}
	// A redelivery, and a stale event, change nothing.
	h.receive(t, up)
	inst.Version = 1
	h.receive(t, newEvent(t, "inst-1", events.MetrologyInstitutionUpdated, events.InstitutionUpdatedData{Institution: inst, Changed: []string{"name"}}))
	if all := certificates(t, h, ""); all.Total != 6 {
		t.Fatalf("versions after re-runs: %d", all.Total)
	}
	// A verification recorded before the change but delivered after it.
	h.receive(t, newEvent(t, "v-4", events.MetrologyVerificationCompleted, verification(4, "130102", 0)))
	if c := certificates(t, h, "?q=JD2026-000004").Items[0]; c.InstitutionName != "石家庄市计量检定测试院" || c.Version != 1 {
		t.Fatalf("late certificate %+v", c)
	}
	var superseding int
	_ = h.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox WHERE event_type = $1 AND (event->'data'->>'supersedes') IS NOT NULL`,
		events.CertificateIssued).Scan(&superseding)
	if superseding != 3 {
		t.Fatalf("certificate.issued with supersedes: %d", superseding)
	}
}

// An enterprise account sees its own certificates only; an institution's
// staff those it issued.
func TestPartiesSeeTheirOwn(t *testing.T) {
	h := newHarness(t)
	a, b := verification(1, "130102", 0), verification(2, "130102", 0)
	b.Client.CreditCode, b.Client.Name = "91130102MA0000029X", "长安区另一家公司"
	h.receive(t, newEvent(t, "a", events.MetrologyVerificationCompleted, a))
	h.receive(t, newEvent(t, "b", events.MetrologyVerificationCompleted, b))
	if _, err := h.pool.Exec(context.Background(), `INSERT INTO metrology.parties (username, kind, ref, created_at)
		VALUES ('qiye01', 'enterprise', $1, now()), ('jdjg01', 'institution', $2, now())`, a.Client.CreditCode, a.Institution.ID); err != nil {
		t.Fatal(err)
	}
	party := func(user, role string) string {
		return h.iss.Bearer(auth.Principal{UserID: user, Username: user, Roles: []string{role}, Perms: []string{PermCertificate + ":view"}, Scope: auth.All()})
	}
	ent := decode[httpx.PageOf[Certificate]](t, h.do(t, party("qiye01", roleEnterprise), "GET", "/certs/v1/certificates"))
	if ent.Total != 1 || ent.Items[0].CreditCode != a.Client.CreditCode {
		t.Fatalf("the enterprise sees %+v", ent)
	}
	other := certificates(t, h, "?code="+b.Client.CreditCode).Items[0]
	if rec := h.do(t, party("qiye01", roleEnterprise), "GET", fmt.Sprintf("/certs/v1/certificates/%d/pdf", other.ID)); rec.Code != 404 {
		t.Fatalf("another enterprise's PDF: %d", rec.Code)
	}
	if inst := decode[httpx.PageOf[Certificate]](t, h.do(t, party("jdjg01", roleInstitution), "GET", "/certs/v1/certificates")); inst.Total != 2 {
		t.Fatalf("the institution sees %d", inst.Total)
	}
	if none := decode[httpx.PageOf[Certificate]](t, h.do(t, party("unbound", roleEnterprise), "GET", "/certs/v1/certificates")); none.Total != 0 {
		t.Fatalf("an unbound enterprise account sees %d", none.Total)
	}
}

func TestConformance(t *testing.T) {
	h := newHarness(t)
	conformance.Events(t, Name, h.f)
	conformance.Routes(t, h.h)
	in, out := verification(1, "130102", 2), verification(2, "130104", 2)
	out.Client.Name = "桥西区顺发商贸有限公司"
	h.receive(t, newEvent(t, "in", events.MetrologyVerificationCompleted, in))
	h.receive(t, newEvent(t, "out", events.MetrologyVerificationCompleted, out))
	ids := map[string]string{}
	for _, c := range certificates(t, h, "").Items {
		ids[c.DistrictCode] = fmt.Sprint(c.ID)
	}
	conformance.Scope(t, h.h, conformance.ScopeFixture{
		Bearer:         h.iss.Bearer(authtest.InDistricts(conformance.Permissions(h.h), "130102")),
		Inside:         map[string]string{"cert": ids["130102"]},
		Foreign:        map[string]string{"cert": ids["130104"]},
		InsideMarkers:  []string{in.Client.CreditCode},
		ForeignMarkers: []string{out.Client.CreditCode, "桥西区顺发商贸有限公司"},
	})
}

func TestRenderRefusesIncompleteData(t *testing.T) {
	if _, _, err := render.New().Render(render.Doc{Data: events.VerificationCompletedData{}, VerifyURL: "x"}); err == nil {
		t.Fatal("an empty certificate rendered")
	}
	h := newHarness(t)
	d := verification(9, "130102", 0)
	d.CertificateNo = ""
	if _, err := h.f.Receive(context.Background(), newEvent(t, "bad", events.MetrologyVerificationCompleted, d)); err == nil {
		t.Fatal("an incomplete verification was accepted")
	}
	if certificates(t, h, "").Total != 0 {
		t.Fatal("an incomplete verification left a certificate")
	}
}
