package comms

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"testing"
)

// report posts the phone's multipart form.
func (h harness) report(t *testing.T, bearer, event string, fields map[string]string, ct string, file []byte) *httptest.ResponseRecorder {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if file != nil {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", `form-data; name="file"; filename="clip"`)
		hdr.Set("Content-Type", ct)
		p, _ := w.CreatePart(hdr)
		_, _ = p.Write(file)
	}
	_ = w.Close()
	req := httptest.NewRequest("POST", "/comms/v1/events/"+event+"/reports", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return h.doReq(t, bearer, req)
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FP-160: an inspector's phone sends text, voice, an image and its
// location; all four join the event's timeline (the retrospection's comms
// part) beside the consult's chat, with the attachments stored.
func TestPhoneReportsJoinTheEventTimeline(t *testing.T) {
	r := openRig(t)
	ev := r.consult.EventID
	if rec := r.h.do(t, r.host, "POST", "/comms/v1/consults/"+r.consult.ID+"/messages", map[string]string{"body": "请现场拍照"}); rec.Code != http.StatusCreated {
		t.Fatalf("chat: %d %s", rec.Code, rec.Body)
	}
	voice, err := os.ReadFile(toneOgg(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	pic := pngBytes(t)
	for _, c := range []struct {
		fields map[string]string
		ct     string
		file   []byte
	}{
		{map[string]string{"kind": "text", "body": "已到达现场"}, "", nil},
		{map[string]string{"kind": "voice"}, "audio/ogg", voice},
		{map[string]string{"kind": "image", "body": "货架照片"}, "image/png", pic},
		{map[string]string{"kind": "location", "lat": "38.0428", "lng": "114.5149"}, "", nil},
	} {
		if rec := r.h.report(t, r.insp, ev, c.fields, c.ct, c.file); rec.Code != http.StatusCreated {
			t.Fatalf("report %v: %d %s", c.fields, rec.Code, rec.Body)
		}
	}
	got := decode[struct{ Items []Message }](t, r.h.do(t, r.host, "GET", "/comms/v1/events/"+ev+"/messages", nil).Body.Bytes())
	var kinds []string
	for _, m := range got.Items {
		kinds = append(kinds, m.Kind)
	}
	if strings.Join(kinds, ",") != "text,text,voice,image,location" {
		t.Fatalf("the event's timeline has %v", kinds)
	}
	if m := got.Items[4]; m.Lat == nil || *m.Lat != 38.0428 || m.SenderID != "insp-1" || m.ConsultID != nil {
		t.Errorf("the location %+v", m)
	}
	for i, want := range map[int][]byte{2: voice, 3: pic} {
		m := got.Items[i]
		rec := r.h.do(t, r.host, "GET", "/comms/v1/messages/"+strconv.FormatInt(m.ID, 10)+"/attachment", nil)
		if !m.HasAttachment || rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) || rec.Header().Get("Content-Type") != m.ContentType {
			t.Errorf("attachment of %s: %d %s, %d bytes", m.Kind, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
	}
	if rec := r.h.do(t, r.host, "GET", "/comms/v1/messages/"+strconv.FormatInt(got.Items[0].ID, 10)+"/attachment", nil); rec.Code != http.StatusNotFound {
		t.Errorf("a text message's attachment: %d", rec.Code)
	}
	out := person("centre-9", "外区调度", consultPerms...)
	out.Scope.Districts = []string{"130104"}
	if rec := r.h.do(t, r.h.iss.Bearer(out), "GET", "/comms/v1/messages/"+strconv.FormatInt(got.Items[3].ID, 10)+"/attachment", nil); rec.Code != http.StatusNotFound {
		t.Errorf("an attachment outside the caller's district: %d", rec.Code)
	}
	if rec := r.h.report(t, r.h.iss.Bearer(out), ev, map[string]string{"kind": "text", "body": "x"}, "", nil); rec.Code != http.StatusNotFound {
		t.Errorf("a report to an event outside the district: %d", rec.Code)
	}
}

func TestPhoneReportValidation(t *testing.T) {
	h := newHarness(t)
	ev := h.event(t, "130102")
	insp := h.iss.Bearer(person("insp-1", "检查员乙", PermConsult+":view", PermConsult+":join"))
	for name, c := range map[string]struct {
		fields map[string]string
		ct     string
		file   []byte
		msg    string
	}{
		"kind-400":     {map[string]string{"kind": "video"}, "", nil, "上报类型只能是"},
		"text-400":     {map[string]string{"kind": "text", "body": " "}, "", nil, "请输入消息内容"},
		"voice-400":    {map[string]string{"kind": "voice"}, "", nil, "请附上语音"},
		"type-400":     {map[string]string{"kind": "image"}, "application/pdf", []byte("%PDF-1.4"), "不支持的文件格式"},
		"fake-png-400": {map[string]string{"kind": "image"}, "image/png", []byte("not a picture at all"), "文件内容不是图片"},
		"location-400": {map[string]string{"kind": "location", "lat": "38.0"}, "", nil, "经纬度须同时提供"},
		"latitude-400": {map[string]string{"kind": "location", "lat": "98", "lng": "114"}, "", nil, "经纬度无效"},
	} {
		rec := h.report(t, insp, ev, c.fields, c.ct, c.file)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.msg) {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	var n int
	if err := h.pool.QueryRow(t.Context(), `SELECT count(*) FROM comms.messages`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refused reports left %d rows (%v)", n, err)
	}
}
