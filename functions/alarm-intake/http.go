package alarmintake

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/alarm/v1/openapi.yaml", openapi }

// PermAlarm is the permission resource of alarms (actions create: raise
// one from the phone; view: the list), listed in shared/auth's catalogue.
const PermAlarm = "alarm.alarm"

// Levels are the two alarm levels the phone offers.
var Levels = []string{"紧急", "重要紧急"}

// Handler serves the API behind token verification. Every route declares
// who may call it and what entity data it touches (the conformance tests
// read these declarations).
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-163: a signed upload for the alarm's photo or voice note.
	m.Handle("POST /alarm/v1/uploads", httpx.Body(f.createUpload), auth.Requires(PermAlarm, "create"), httpx.NoEntity())
	m.Handle("PUT /alarm/v1/uploads/{id}", httpx.Endpoint(f.putUpload), auth.Requires(PermAlarm, "create"), httpx.NoEntity(),
		httpx.Params("token"))
	// FP-150, FP-154, FP-161: an attachment, for the centre and the
	// retrospection, inside the viewer's jurisdiction.
	m.HandleFunc("GET /alarm/v1/uploads/{id}/content", f.getUpload, auth.Requires(PermAlarm, "view"), httpx.NoEntity())
	// FP-146, FP-163: raise an alarm; answered only once it is durable.
	m.Handle("POST /alarm/v1/alarms", httpx.Endpoint(f.raise), auth.Requires(PermAlarm, "create"), httpx.NoEntity())
	// FP-146: the alarms of the caller's jurisdiction, newest first.
	m.Handle("GET /alarm/v1/alarms", httpx.Endpoint(f.list), auth.Requires(PermAlarm, "view"), httpx.EntityListing(),
		httpx.Params(append([]string{"level"}, httpx.PageParams...)...))
	return m
}

// AlarmInput is what the phone posts.
type AlarmInput struct {
	// IdempotencyKey is made by the phone when the alarm is raised and
	// kept with it in the offline queue: a resend returns the first alarm.
	IdempotencyKey string   `json:"idempotency_key"`
	Level          string   `json:"level"`
	Text           string   `json:"text"`
	Lat            *float64 `json:"lat"`
	Lng            *float64 `json:"lng"`
	Accuracy       *float64 `json:"accuracy"`
	// At is when the phone took the position (and raised the alarm).
	At          *time.Time `json:"at"`
	Attachments []string   `json:"attachments"`
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// nanLiteral finds the non-JSON numbers some phone code sends for a
// position it did not get, so they are answered as a bad position rather
// than as bad JSON.
var nanLiteral = regexp.MustCompile(`:\s*-?(NaN|Infinity)\b`)

func badNumber(v *float64) bool { return v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) }

// validate checks the input at now; the messages are what the phone shows.
func (in *AlarmInput) validate(now time.Time, c Config) error {
	var fe []errs.FieldError
	add := func(field, msg string) { fe = append(fe, errs.FieldError{Field: field, Message: msg}) }
	in.Text = strings.TrimSpace(in.Text)
	if !keyPattern.MatchString(in.IdempotencyKey) {
		add("idempotency_key", "幂等键应为 8 至 64 位字母、数字、- 或 _")
	}
	switch in.Level {
	case Levels[0], Levels[1]:
	case "":
		add("level", "请选择报警级别（紧急或重要紧急）")
	default:
		add("level", "报警级别只能是紧急或重要紧急")
	}
	if utf8.RuneCountInString(in.Text) > 500 {
		add("text", "报警说明不能超过 500 字")
	}
	switch {
	case in.Lat == nil || in.Lng == nil:
		add("position", "缺少定位：请开启手机定位后重试")
	case badNumber(in.Lat) || badNumber(in.Lng):
		add("position", "定位坐标不是有效数字（NaN），请重新定位")
	case *in.Lat < -90 || *in.Lat > 90:
		add("lat", "纬度超出范围（-90 至 90）")
	case *in.Lng < -180 || *in.Lng > 180:
		add("lng", "经度超出范围（-180 至 180）")
	}
	switch {
	case in.Accuracy == nil:
		add("accuracy", "缺少定位精度")
	case badNumber(in.Accuracy) || *in.Accuracy < 0 || *in.Accuracy > 100000:
		add("accuracy", "定位精度应为 0 至 100000 米")
	}
	switch {
	case in.At == nil:
		add("at", "缺少定位时间")
	case in.At.After(now.Add(c.ClockSkew)):
		add("at", "定位时间晚于当前时间，请校准手机时钟")
	case in.At.Before(now.Add(-c.MaxQueueAge)):
		add("at", "定位时间过早，该报警已过期")
	}
	if len(in.Attachments) > 9 {
		add("attachments", "附件最多 9 个")
	}
	return errs.Fields(fe)
}

func (f *Function) raise(r *http.Request) (any, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, httpx.MaxBody))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, "请求内容过大", err)
	}
	if nanLiteral.Match(raw) {
		return nil, errs.Fields([]errs.FieldError{{Field: "position", Message: "定位坐标不是有效数字（NaN），请重新定位"}})
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var in AlarmInput
	if err := httpx.Decode(r, &in); err != nil {
		return nil, err
	}
	if err := in.validate(f.now(), f.cfg); err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(r.Context())
	a, created, err := f.Raise(r.Context(), p, in)
	if err != nil {
		return nil, err
	}
	if created {
		return httpx.Created(a, ""), nil
	}
	return a, nil // the same key again: the first alarm, not a second
}

func (f *Function) list(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(r.Context())
	items, total, err := listAlarms(r.Context(), f.pool, p.Scope, r.URL.Query().Get("level"), page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

// UploadInput asks for a signed upload.
type UploadInput struct {
	Kind        string `json:"kind"` // photo | voice | video
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

var uploadTypes = map[string][]string{
	"photo": {"image/jpeg", "image/png", "image/webp"},
	"voice": {"audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav", "audio/aac"},
	"video": {"video/mp4", "video/webm", "video/quicktime"},
}

func (f *Function) maxSize(kind string) int64 {
	switch kind {
	case "voice":
		return f.cfg.MaxVoiceBytes
	case "video":
		return f.cfg.MaxVideoBytes
	}
	return f.cfg.MaxPhotoBytes
}

func mb(n int64) string { return fmt.Sprintf("%g MB", float64(n)/(1<<20)) }

func (f *Function) createUpload(r *http.Request, in UploadInput) (any, error) {
	types, ok := uploadTypes[in.Kind]
	switch {
	case !ok:
		return nil, errs.Fields([]errs.FieldError{{Field: "kind", Message: "附件类型只能是照片（photo）、语音（voice）或视频（video）"}})
	case !contains(types, in.ContentType):
		return nil, errs.Fields([]errs.FieldError{{Field: "content_type", Message: "不支持的文件格式：" + in.ContentType}})
	case in.Size <= 0:
		return nil, errs.Fields([]errs.FieldError{{Field: "size", Message: "请填写文件大小"}})
	case in.Size > f.maxSize(in.Kind):
		return nil, errs.Fields([]errs.FieldError{{Field: "size", Message: "文件过大：不能超过 " + mb(f.maxSize(in.Kind))}})
	}
	p, _ := auth.FromContext(r.Context())
	u, err := f.CreateUpload(r.Context(), p, in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(u, ""), nil
}

func (f *Function) putUpload(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	key, err := f.PutUpload(r.Context(), p.UserID, r.PathValue("id"), r.URL.Query().Get("token"), r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		return nil, err
	}
	return map[string]string{"key": key}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (f *Function) getUpload(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	rc, info, err := f.OpenUpload(r.Context(), p, r.PathValue("id"))
	if err != nil {
		httpx.Error(w, r, f.log, err)
		return
	}
	defer rc.Close()
	// Served as what it was declared and checked to be, never sniffed into
	// something else, and kept out of shared caches.
	w.Header().Set("Content-Type", info.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Disposition", "inline")
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", info.ModTime, rs) // Range requests for a video's seek bar
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
	_, _ = io.Copy(w, rc)
}
