package comms

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/sms"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	smssim "github.com/sjzamr/smartreg/tests/sim/sms"
	"github.com/sjzamr/smartreg/tests/sim/telecom"
)

type harness struct {
	f       *Function
	iss     *authtest.Issuer
	pool    *pgxpool.Pool
	blob    Blob
	telecom *telecom.Simulator
	sms     *smssim.Simulator
	tel     *httptest.Server // the telephony gateway, closed to take it down
}

// testBlob is the local S3 server (versitygw, started by
// infra/local/scripts/ensure-services.sh --s3), where recordings go as in
// production; S3_URL overrides it.
func testBlob(t *testing.T) Blob {
	t.Helper()
	u := os.Getenv("S3_URL")
	if u == "" {
		u = "s3://smartreg:smartreg-secret@comms-test?endpoint=http://127.0.0.1:7070"
	}
	b, err := blob.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("对象存储不可用 / the S3 server does not answer (%v): run `bash infra/local/scripts/ensure-services.sh --s3`", err)
	}
	return b
}

// dispatchMigrations gives the test database dispatch's schema, whose
// published dispatch.event_brief comms reads events through.
func dispatchMigrations() store.Migration {
	return store.Migration{Component: "dispatch", FS: os.DirFS("../dispatch"), Dir: "migrations"}
}

// liveKitConfig is the defaults, pointed at LIVEKIT_URL etc. when set
// (the server infra/local/scripts/start-livekit.sh starts otherwise).
func liveKitConfig() Config {
	c := config.Defaults[Config]()
	if v := os.Getenv("LIVEKIT_URL"); v != "" {
		c.LiveKitURL = v
	}
	if v := os.Getenv("LIVEKIT_API_KEY"); v != "" {
		c.LiveKitKey = v
	}
	if v := os.Getenv("LIVEKIT_API_SECRET"); v != "" {
		c.LiveKitSecret = v
	}
	return c
}

func newHarness(t *testing.T) harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	pool := storetest.New(t, dispatchMigrations(), Migrations()[0], auditlogtest.Migration())
	cfg := liveKitConfig()
	cfg.RecordingDir = t.TempDir()
	sim := telecom.New(cfg.GatewayKey, cfg.GatewaySecret)
	tel, fax, tts := httptest.NewServer(sim.Service(telecom.Telephony)), httptest.NewServer(sim.Service(telecom.Fax)),
		httptest.NewServer(sim.Service(telecom.TTS))
	text := smssim.New("comms-test", "comms-test-secret")
	text.PerPhonePerMinute = 0
	smsSrv := httptest.NewServer(text)
	for _, s := range []*httptest.Server{tel, fax, tts, smsSrv} {
		t.Cleanup(s.Close)
	}
	cfg.TelephonyURL, cfg.FaxURL, cfg.TTSURL = tel.URL, fax.URL, tts.URL
	telc, faxc, ttsc, err := cfg.Gateways()
	if err != nil {
		t.Fatal(err)
	}
	smsc, err := sms.New(smsSrv.URL, "comms-test", "comms-test-secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := testBlob(t)
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Now: time.Now,
		Verifier: iss.Verifier(), Blob: b, SMS: smsc, Telephony: telc, Fax: faxc, TTS: ttsc}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	return harness{f: f, iss: iss, pool: pool, blob: b, telecom: sim, sms: text, tel: tel}
}

func (h harness) do(t *testing.T, bearer, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return h.doReq(t, bearer, httptest.NewRequest(method, path, r))
}

func (h harness) doReq(t *testing.T, bearer string, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	def := config.Defaults[Config]()
	b, _ := blob.NewDir(t.TempDir())
	tel, fax, tts, err := def.Gateways()
	if err != nil {
		t.Fatal(err)
	}
	text, _ := sms.New("http://127.0.0.1:1", "k", "s", nil)
	full := Deps{Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier(), Blob: b, SMS: text, Telephony: tel, Fax: fax, TTS: tts}
	for name, drop := range map[string]func(*Deps){
		"logger":    func(d *Deps) { d.Logger = nil },
		"pool":      func(d *Deps) { d.Pool = nil },
		"now":       func(d *Deps) { d.Now = nil },
		"verifier":  func(d *Deps) { d.Verifier = nil },
		"blob":      func(d *Deps) { d.Blob = nil },
		"sms":       func(d *Deps) { d.SMS = nil },
		"telephony": func(d *Deps) { d.Telephony = nil },
		"fax":       func(d *Deps) { d.Fax = nil },
		"tts":       func(d *Deps) { d.TTS = nil },
	} {
		d := full
		drop(&d)
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	if _, err := New(full, def); err != nil {
		t.Errorf("complete deps refused: %v", err)
	}
	if _, err := New(full, Config{}); err == nil {
		t.Error("an invalid Config accepted")
	}
}

// Every setting is documented where operators look (docs/operations.md,
// generated by the platform's settings test).
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
