package ocridcard

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/tests/sim/idverify"
)

// seed stores a recognition as an upload would, without Tesseract: the
// verification does not read the photo, it sends it.
func (h *harness) seed(t *testing.T, name, number string, photo []byte) string {
	t.Helper()
	id := uuid.NewString()
	res := Result{Front: &recognize.Front{Name: recognize.Field{Value: name}, IDNumber: recognize.Field{Value: number}}}
	p := authtest.CityWide()
	front, back := recognizeInput{raw: photo}, recognizeInput{}
	if photo == nil { // a recognition of the back only has no face photo
		back.raw = []byte("back")
	}
	if _, err := h.f.store(context.Background(), id, &p, "127.0.0.1", front, back, res, number); err != nil {
		t.Fatal(err)
	}
	return id
}

func (h *harness) verify(t *testing.T, id string, withPhoto bool) (int, Verification, string) {
	t.Helper()
	b, _ := json.Marshal(VerifyInput{WithPhoto: withPhoto})
	rec := h.do(t, h.all(), httptest.NewRequest("POST", "/ocr/v1/idcards/"+id+"/verification", bytes.NewReader(b)))
	var v Verification
	json.Unmarshal(rec.Body.Bytes(), &v)
	return rec.Code, v, rec.Body.String()
}

// FP-12: name and number (and the photo) go to the provider, signed; the
// result is stored with guidance when it fails, the number masked.
func TestVerification(t *testing.T) {
	h := newHarness(t)
	const number = "11010519491231002X"
	h.idv.Add(idverify.Person{Name: "张三", IDNumber: number, PhotoScore: 95})
	id := h.seed(t, "张三", number, []byte("\xff\xd8\xff photo"))

	code, v, body := h.verify(t, id, true)
	if code != http.StatusCreated || v.Result != "match" || !v.Passed || v.Score == nil || *v.Score != 95 || v.Guidance != "" {
		t.Fatalf("match: %d %s", code, body)
	}
	if strings.Contains(body, number) || v.NumberMasked != "110105********002X" {
		t.Errorf("number not masked: %s", body)
	}
	if c := h.idv.Calls(); len(c) != 1 || !c[0].HasPhoto || c[0].Result != "match" {
		t.Errorf("provider calls %+v", c)
	}

	// A name that does not match the number: stored, with guidance.
	other := h.seed(t, "张叁", number, nil)
	if code, v, body := h.verify(t, other, false); code != 201 || v.Result != "no_match" || v.Passed || !strings.Contains(v.Guidance, "公安机关") {
		t.Fatalf("no match: %d %s", code, body)
	}
	// Busy provider: retried with backoff, then the answer.
	h.idv.FailNext(503, 2)
	if code, v, body := h.verify(t, id, false); code != 201 || v.Result != "match" || v.Attempts != 3 {
		t.Fatalf("retried: %d %s", code, body)
	}
	// Rate limited through every retry: stored as unavailable, with guidance.
	h.idv.FailNext(429, 4)
	if code, v, body := h.verify(t, id, false); code != 201 || v.Result != "unavailable" || v.Attempts != 4 || v.Guidance == "" {
		t.Fatalf("unavailable: %d %s", code, body)
	}
	rec := h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards/"+id+"/verifications", nil))
	var list []Verification
	json.Unmarshal(rec.Body.Bytes(), &list)
	if len(list) != 3 || list[0].Result != "unavailable" {
		t.Errorf("list: %s", rec.Body)
	}
	rec = h.do(t, h.all(), httptest.NewRequest("GET", "/ocr/v1/idcards/"+id, nil))
	if !strings.Contains(rec.Body.String(), `"verification":{`) {
		t.Errorf("latest verification not shown: %s", rec.Body)
	}
	if a := strings.Join(h.auditActions(t), ","); strings.Count(a, "ocr.idcard.verify") != 4 {
		t.Errorf("audit: %s", a)
	}
	// No photo to send: a clear refusal, nothing called.
	before := len(h.idv.Calls())
	if code, _, body := h.verify(t, other, true); code != 400 || !strings.Contains(body, "正面照片") {
		t.Errorf("no photo: %d %s", code, body)
	}
	if len(h.idv.Calls()) != before {
		t.Error("provider called without a photo")
	}
}

// The daily quota refuses before calling the provider.
func TestVerificationQuota(t *testing.T) {
	h := newHarness(t)
	h.f.cfg.VerifyQuota = 1
	id := h.seed(t, "李四", "11010519491231002X", nil)
	if code, v, body := h.verify(t, id, false); code != 201 || v.Result != "not_found" || !strings.Contains(v.Guidance, "18 位号码") {
		t.Fatalf("first: %d %s", code, body)
	}
	if code, _, body := h.verify(t, id, false); code != http.StatusServiceUnavailable || !strings.Contains(body, "今日身份核验次数已用完") {
		t.Fatalf("over quota: %d %s", code, body)
	}
	if n := len(h.idv.Calls()); n != 1 {
		t.Errorf("provider called %d times", n)
	}
	// A number failing its check digit is not sent.
	bad := h.seed(t, "李四", "110105194912310021", nil)
	if code, _, body := h.verify(t, bad, false); code != 400 || !strings.Contains(body, "未通过校验") {
		t.Errorf("bad number: %d %s", code, body)
	}
}
