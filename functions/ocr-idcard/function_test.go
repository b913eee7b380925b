package ocridcard

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store/storetest"
	"github.com/sjzamr/smartreg/tests/cardgen"
	"github.com/sjzamr/smartreg/tests/sim/idverify"
)

type harness struct {
	f    *Function
	iss  *authtest.Issuer
	pool *pgxpool.Pool
	dir  *blob.Dir
	now  time.Time
	idv  *idverify.Simulator
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	iss := authtest.NewIssuer(t)
	dir, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{iss: iss, pool: storetest.New(t, append(Migrations(), auditlogtest.Migration())...), dir: dir, now: time.Now()}
	if _, err := h.pool.Exec(context.Background(), registryStub); err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults[Config]()
	cfg.Workers = 1
	// FP-12: the verification provider is its simulator.
	h.idv = idverify.New("test-app", "test-secret")
	srv := httptest.NewServer(http.StripPrefix("/sim", h.idv))
	t.Cleanup(srv.Close)
	cfg.VerifyURL, cfg.VerifyAppID, cfg.VerifySecret = srv.URL+"/sim", "test-app", "test-secret"
	cfg.VerifyBackoff = time.Millisecond
	f, err := New(Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: h.pool, Blob: dir,
		Now: func() time.Time { return h.now }, Verifier: iss.Verifier()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Stop(context.Background()) })
	h.f = f
	return h
}

func (h *harness) do(t *testing.T, bearer string, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	rec := httptest.NewRecorder()
	h.f.Handler().ServeHTTP(rec, req)
	return rec
}

func upload(t *testing.T, path string, parts map[string][]byte) *http.Request {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for name, data := range parts {
		w, _ := mw.CreateFormFile(name, name+".jpg")
		w.Write(data)
	}
	mw.Close()
	req := httptest.NewRequest("POST", path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func (h *harness) all() string {
	return h.iss.Bearer(authtest.CityWide(PermIDCard+":view", PermIDCard+":create", PermPhoto+":view"))
}

// auditActions lists the operation-log events waiting in the outbox.
func (h *harness) auditActions(t *testing.T) []string {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT event FROM platform.outbox WHERE event_type = $1 ORDER BY seq`, events.AuditOperationRecorded)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var raw []byte
		rows.Scan(&raw)
		var e struct {
			Data events.AuditOperationRecordedData `json:"data"`
		}
		json.Unmarshal(raw, &e)
		out = append(out, e.Data.Action)
	}
	return out
}

func TestNewRequiresEachDependency(t *testing.T) {
	log, pool, iss := httpx.NewLogger(io.Discard, "error"), &pgxpool.Pool{}, authtest.NewIssuer(t)
	dir, _ := blob.NewDir(t.TempDir())
	def := config.Defaults[Config]()
	for name, d := range map[string]Deps{
		"logger":   {Pool: pool, Blob: dir, Now: time.Now, Verifier: iss.Verifier()},
		"pool":     {Logger: log, Blob: dir, Now: time.Now, Verifier: iss.Verifier()},
		"blob":     {Logger: log, Pool: pool, Now: time.Now, Verifier: iss.Verifier()},
		"now":      {Logger: log, Pool: pool, Blob: dir, Verifier: iss.Verifier()},
		"verifier": {Logger: log, Pool: pool, Blob: dir, Now: time.Now},
	} {
		if _, err := New(d, def); err == nil {
			t.Errorf("missing %s accepted", name)
		}
	}
	ok := Deps{Logger: log, Pool: pool, Blob: dir, Now: time.Now, Verifier: iss.Verifier()}
	for name, c := range map[string]func(*Config){
		"workers": func(c *Config) { c.Workers = 0 }, "key": func(c *Config) { c.PhotoKeys = "short" },
		"nokey": func(c *Config) { c.PhotoKeys = " , " }, "retention": func(c *Config) { c.RetentionDays = 0 },
	} {
		cfg := def
		c(&cfg)
		if _, err := New(ok, cfg); err == nil {
			t.Errorf("config %s accepted", name)
		}
	}
}

var (
	sampleOnce sync.Once
	sample     cardgen.Sample
)

func card() cardgen.Sample {
	sampleOnce.Do(func() { sample = cardgen.NewSample(rand.New(rand.NewPCG(300, 1)), cardgen.Realistic) })
	return sample
}

// FP-11: a phone photo of both sides is read, stored encrypted and
// audited; the number is masked in what is stored and listed, and shown
// in full only through an audited view.
// recognize uploads both sides of s through the route.
func (h *harness) recognize(t *testing.T, s cardgen.Sample) (Recognition, *httptest.ResponseRecorder) {
	t.Helper()
	rec := h.do(t, h.all(), upload(t, "/ocr/v1/idcards", map[string][]byte{"front": s.FrontJPEG, "back": s.BackJPEG}))
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var got Recognition
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	return got, rec
}

func TestRecognizeStoresEncryptedAndAudits(t *testing.T) {
	h := newHarness(t)
	s := card()
	got, rec := h.recognize(t, s)
	if got.Result == nil || got.Result.Front == nil || got.Result.Back == nil {
		t.Fatalf("no result: %s", rec.Body)
	}
	fr := got.Result.Front
	if fr.IDNumber.Value != s.Person.IDNumber || fr.Name.Value != s.Person.Name || fr.Birth.Value != s.Person.Birth.Format("2006-01-02") {
		t.Fatalf("read %+v, truth %+v", fr, s.Person)
	}
	if !fr.IDNumber.Checks[0].Passed || fr.IDNumber.Confidence <= 0 {
		t.Errorf("number checks %+v", fr.IDNumber)
	}
	// At rest: no photo byte and no number in the clear.
	for _, side := range []string{"front", "back"} {
		rc, _, err := h.dir.Get(context.Background(), "ocr/idcards/"+got.ID+"/"+side+".sealed")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(b, s.FrontJPEG[:64]) || bytes.Contains(b, []byte("JFIF")) || !bytes.HasPrefix(b, []byte("SRE1")) {
			t.Errorf("%s stored unencrypted", side)
		}
	}
	var fields, enc []byte
	h.pool.QueryRow(context.Background(), `SELECT fields::text::bytea, number_enc FROM ocridcard.recognitions WHERE id = $1`, got.ID).Scan(&fields, &enc)
	if bytes.Contains(fields, []byte(s.Person.IDNumber)) || bytes.Contains(enc, []byte(s.Person.IDNumber)) {
		t.Error("full number stored in the clear")
	}
	// GET and the list mask the number.
	rec = h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards/"+got.ID, nil))
	if strings.Contains(rec.Body.String(), s.Person.IDNumber) || !strings.Contains(rec.Body.String(), "********") {
		t.Errorf("GET shows the number: %s", rec.Body)
	}
	rec = h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards?status=done", nil))
	if strings.Contains(rec.Body.String(), s.Person.IDNumber) || !strings.Contains(rec.Body.String(), `"total":1`) {
		t.Errorf("list: %s", rec.Body)
	}
	// Full number and photo: each view is audited.
	rec = h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards/"+got.ID+"/number", nil))
	if !strings.Contains(rec.Body.String(), s.Person.IDNumber) {
		t.Fatalf("number view: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards/"+got.ID+"/photos/front", nil))
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), s.FrontJPEG) {
		t.Fatalf("photo view: %d", rec.Code)
	}
	if a := strings.Join(h.auditActions(t), ","); a != "ocr.idcard.recognize,ocr.idcard.view_number,ocr.idcard.view_photo" {
		t.Errorf("audit: %s", a)
	}
	// Without the photo permission neither is shown.
	viewer := h.iss.Bearer(authtest.CityWide(PermIDCard + ":view"))
	if rec := h.do(t, viewer, httptest.NewRequest("GET", "/ocr/v1/idcards/"+got.ID+"/number", nil)); rec.Code != http.StatusForbidden {
		t.Errorf("number without ocr.photo: %d", rec.Code)
	}
	// The person corrects one field and saves; a bad number is refused.
	conf := Confirmation{Name: "张三", Sex: s.Person.Sex, Birth: s.Person.Birth.Format("2006-01-02"), Address: s.Person.Address, IDNumber: s.Person.IDNumber}
	b, _ := json.Marshal(conf)
	rec = h.do(t, h.all(), httptest.NewRequest("PUT", "/ocr/v1/idcards/"+got.ID+"/confirmation", bytes.NewReader(b)))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "张三") || strings.Contains(rec.Body.String(), s.Person.IDNumber) {
		t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
	}
	conf.IDNumber = s.Person.IDNumber[:17] + "0"
	if s.Person.IDNumber[17] == '0' {
		conf.IDNumber = s.Person.IDNumber[:17] + "1"
	}
	b, _ = json.Marshal(conf)
	if rec := h.do(t, h.all(), httptest.NewRequest("PUT", "/ocr/v1/idcards/"+got.ID+"/confirmation", bytes.NewReader(b))); rec.Code != 400 || !strings.Contains(rec.Body.String(), "校验位") {
		t.Errorf("bad check digit confirmed: %d %s", rec.Code, rec.Body)
	}
	// Retention: after OCR_RETENTION_DAYS the photos go, the row stays.
	h.now = h.now.Add(31 * 24 * time.Hour)
	if _, err := h.f.Receive(context.Background(), ping(t, PurgeTask)); err != nil {
		t.Fatal(err)
	}
	if left, _ := h.dir.List(context.Background(), "ocr/", 0); len(left) != 0 {
		t.Errorf("photos kept past retention: %v", left)
	}
	rec = h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards/"+got.ID+"/photos/front", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "保存期限") {
		t.Errorf("purged photo: %d %s", rec.Code, rec.Body)
	}
}

func ping(t *testing.T, task string) event.Event {
	e := event.New()
	e.SetID("ping-1")
	e.SetType(events.Ping)
	e.SetSource("/apis/v1/namespaces/smartreg/pingsources/ocr-purge")
	if err := e.SetData("application/json", map[string]string{"task": task}); err != nil {
		t.Fatal(err)
	}
	return e
}

// Bad input gets a Chinese error naming the field, and nothing is stored.
func TestBadInputStoresNothing(t *testing.T) {
	h := newHarness(t)
	blank := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for i := range blank.Pix {
		blank.Pix[i] = 120
	}
	var noCard bytes.Buffer
	png.Encode(&noCard, blank)
	// A PNG whose header claims 60000 × 60000 pixels: refused before decoding.
	bomb := pngHeader(60000, 60000)
	jpg := card().FrontJPEG
	for name, c := range map[string]struct {
		parts map[string][]byte
		want  string
	}{
		"not-image": {map[string][]byte{"front": []byte("hello, this is not a photo")}, "不是可识别的图片"},
		"empty":     {map[string][]byte{"front": {}}, "为空"},
		"truncated": {map[string][]byte{"front": jpg[:len(jpg)/3]}, "不完整"},
		"bomb":      {map[string][]byte{"front": bomb}, "像素过多"},
		"no-card":   {map[string][]byte{"front": noCard.Bytes()}, "未找到证件"},
		"no-part":   {map[string][]byte{}, "请上传"},
		"unknown":   {map[string][]byte{"selfie": jpg}, "未知的上传字段"},
	} {
		rec := h.do(t, h.all(), upload(t, "/ocr/v1/idcards", c.parts))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	var n int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM ocridcard.recognitions`).Scan(&n)
	if n != 0 {
		t.Errorf("%d recognitions stored from bad input", n)
	}
	if left, _ := h.dir.List(context.Background(), "", 0); len(left) > 0 {
		t.Errorf("objects stored from bad input: %v", left)
	}
	if rec := h.do(t, h.iss.Bearer(authtest.CityWide(PermIDCard+":view")), upload(t, "/ocr/v1/idcards", map[string][]byte{"front": jpg})); rec.Code != http.StatusForbidden {
		t.Errorf("upload without create: %d", rec.Code)
	}
}

// pngHeader is a PNG signature, an IHDR of w × h grey pixels and IEND:
// tiny, valid up to its (absent) pixel data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8] = 8
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// Large work runs off the request path: ocr.idcard.requested is queued
// with the upload and its receiver records the result and
// ocr.idcard.recognized, once however often it is delivered.
func TestQueuedRecognition(t *testing.T) {
	h := newHarness(t)
	s := card()
	rec := h.do(t, h.all(), upload(t, "/ocr/v1/idcards?async=true", map[string][]byte{"front": s.FrontJPEG}))
	if rec.Code != http.StatusAccepted || !strings.Contains(rec.Body.String(), `"pending"`) {
		t.Fatalf("async: %d %s", rec.Code, rec.Body)
	}
	var raw []byte
	if err := h.pool.QueryRow(context.Background(), `SELECT event FROM platform.outbox WHERE event_type = $1`, events.OcrIDCardRequested).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	e := event.New()
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := h.f.Receive(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	var id string
	var d events.OcrIDCardRequestedData
	e.DataAs(&d)
	id = d.RecognitionID
	rec = h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards/"+id, nil))
	var got Recognition
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got.Status != "done" || got.Result == nil || got.Result.Front.Name.Value != s.Person.Name || got.NumberMasked == "" {
		t.Fatalf("after the event: %s", rec.Body)
	}
	var n int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM platform.outbox WHERE event_type = $1`, events.OcrIDCardRecognized).Scan(&n)
	if n != 1 {
		t.Errorf("%d recognized events for one request delivered twice", n)
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

func TestSealer(t *testing.T) {
	old, _ := newSealer([]string{"an-old-key-of-enough-length"})
	both, _ := newSealer([]string{"a-new-key-of-enough-length", "an-old-key-of-enough-length"})
	sealed, _ := old.Seal([]byte("11010519491231002X"))
	if p, err := both.Open(sealed); err != nil || string(p) != "11010519491231002X" {
		t.Fatalf("rotation: %v %q", err, p)
	}
	other, _ := newSealer([]string{"a-new-key-of-enough-length"})
	if _, err := other.Open(sealed); err == nil {
		t.Error("opened with a key it was not sealed with")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := both.Open(sealed); err == nil {
		t.Error("a tampered object opened")
	}
}
