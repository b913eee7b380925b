package scanresolve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// maxItems bounds the checked items of one inspection.
const maxItems = 50

// InspectionInput is an inspection recorded on the spot (JSON body, or the
// H5 form's multipart fields).
type InspectionInput struct {
	Token       string                  `json:"token"`
	Kind        string                  `json:"kind"` // inspection (监督检查) | spot_check (抽查检查)
	Title       string                  `json:"title"`
	Authority   string                  `json:"authority"`
	InspectedOn string                  `json:"inspected_on"`
	Items       []events.InspectionItem `json:"items"`
	Conclusion  string                  `json:"conclusion"`
	Remarks     string                  `json:"remarks"`
}

var (
	itemResults = map[string]bool{"合格": true, "不合格": true, "合理缺项": true}
	conclusions = map[string]bool{"合格": true, "不合格": true, "责令整改": true}
)

// rawInspection decodes a JSON body without validating it: the handler
// validates against the function's clock (Deps.Now).
type rawInspection InspectionInput

// validate checks every field and names each problem in Chinese; now is
// the function's clock, for the latest date an inspection may carry.
func (in *InspectionInput) validate(now time.Time) error {
	var fe []errs.FieldError
	add := func(f, m string) { fe = append(fe, errs.FieldError{Field: f, Message: m}) }
	in.Title, in.Authority, in.Remarks = strings.TrimSpace(in.Title), strings.TrimSpace(in.Authority), strings.TrimSpace(in.Remarks)
	if in.Token == "" {
		add("token", "缺少二维码标识")
	}
	switch in.Kind {
	case "inspection", "spot_check":
	default:
		add("kind", "检查类型应为 inspection（监督检查）或 spot_check（抽查检查）")
	}
	if in.Title == "" {
		in.Title = map[string]string{"inspection": "监督检查", "spot_check": "抽查检查"}[in.Kind]
	}
	if n := utf8.RuneCountInString(in.Title); n > 200 || (n < 2 && in.Kind != "") {
		add("title", "检查事项长度应为 2 至 200 个字符")
	}
	if n := utf8.RuneCountInString(in.Authority); n < 2 || n > 100 {
		add("authority", "请填写检查机关（2 至 100 个字符）")
	}
	if d, err := time.Parse(time.DateOnly, in.InspectedOn); err != nil {
		add("inspected_on", "检查日期格式应为 YYYY-MM-DD")
	} else if d.After(now.AddDate(0, 0, 1)) {
		add("inspected_on", "检查日期不能晚于今天")
	}
	if len(in.Items) == 0 || len(in.Items) > maxItems {
		add("items", fmt.Sprintf("请填写 1 至 %d 个检查项目", maxItems))
	}
	for i := range in.Items {
		it := &in.Items[i]
		it.Name, it.Reason = strings.TrimSpace(it.Name), strings.TrimSpace(it.Reason)
		field := fmt.Sprintf("items[%d]", i)
		switch {
		case it.Name == "" || utf8.RuneCountInString(it.Name) > 100:
			add(field+".name", fmt.Sprintf("第 %d 个检查项目名称应为 1 至 100 个字符", i+1))
		case !itemResults[it.Result]:
			add(field+".result", fmt.Sprintf("第 %d 个检查项目的结果应为 合格、不合格 或 合理缺项", i+1))
		case it.Result == "合理缺项" && it.Reason == "":
			add(field+".reason", fmt.Sprintf("第 %d 个检查项目为合理缺项，请说明理由", i+1))
		case utf8.RuneCountInString(it.Reason) > 500:
			add(field+".reason", fmt.Sprintf("第 %d 个检查项目的说明不能超过 500 个字符", i+1))
		}
	}
	if !conclusions[in.Conclusion] {
		add("conclusion", "检查结论应为 合格、不合格 或 责令整改")
	}
	if utf8.RuneCountInString(in.Remarks) > 2000 {
		add("remarks", "备注不能超过 2000 个字符")
	}
	return errs.Fields(fe)
}

// Inspection is a stored on-the-spot inspection: what was posted, and
// what the platform added.
type Inspection struct {
	ID string `json:"id"`
	InspectionInput
	CreditCode    string    `json:"credit_code"`
	Photos        []string  `json:"photos,omitempty"` // object-storage keys, in the answer to the recording only
	PhotoURLs     []string  `json:"photo_urls"`       // for the console (scan.inspection:view)
	InspectorID   string    `json:"inspector_id"`
	InspectorName string    `json:"inspector_name"`
	CreatedAt     time.Time `json:"created_at"`
}

// photo is an uploaded image, already checked.
type photo struct {
	data []byte
	ct   string
	ext  string
}

var imageTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}

// handleInspection records an inspection posted from the H5 page's form
// (multipart, answered with a redirect back to the page or a page saying
// what to fix) or by the app (JSON, answered 201 with the Inspection).
// The route needs a signed-in caller (cross-site cookie posts are refused
// by the verifier); recording needs the inspector role or
// scan.inspection:create, and an entity inside the caller's data scope.
func (f *Function) handleInspection(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	if !p.HasRole("inspector") && !p.Can(PermInspection, "create") {
		httpx.Fail(w, r, errs.New(errs.Forbidden, "仅执法检查人员可以记录现场检查"))
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var in InspectionInput
	var photos []photo
	var err error
	form := ct == "multipart/form-data" || ct == "application/x-www-form-urlencoded"
	if form {
		in, photos, err = f.parseForm(w, r)
	} else {
		err = httpx.Decode(r, (*rawInspection)(&in))
	}
	browser := form && strings.Contains(r.Header.Get("Accept"), "text/html")
	if err == nil {
		var out Inspection
		if out, err = f.recordInspection(r.Context(), p, httpx.ClientIP(r), in, photos); err == nil {
			if browser {
				http.Redirect(w, r, "/q/"+url.PathEscape(out.Token)+"?recorded="+out.ID, http.StatusSeeOther)
				return
			}
			httpx.Write(w, httpx.Created(out, ""))
			return
		}
	}
	if !browser {
		httpx.Fail(w, r, err)
		return
	}
	// The inspector is on the H5 page: answer a page saying what to fix.
	e := errs.As(err)
	if e == nil {
		e = errs.New(errs.Internal, "系统内部错误，请稍后重试")
		httpx.Logger(r.Context()).ErrorContext(r.Context(), "record inspection", "err", err)
	}
	msg := e.Message
	for _, fe := range e.Fields {
		if fe.Message != msg {
			msg += "；" + fe.Message
		}
	}
	page, _ := f.renderMessage("error", "检查记录未提交："+msg)
	f.write(w, httpx.Status(e.Code), false, page, nil, hdrPrivate)
}

func (f *Function) parseForm(w http.ResponseWriter, r *http.Request) (InspectionInput, []photo, error) {
	limit := int64(f.cfg.MaxPhotos)*f.cfg.MaxPhotoBytes + 1<<20
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return InspectionInput{}, nil, errs.Wrap(errs.Invalid, "上传内容过大", err)
		}
		return InspectionInput{}, nil, errs.Wrap(errs.Invalid, "表单内容无法解析", err)
	}
	in := InspectionInput{Token: r.FormValue("token"), Kind: r.FormValue("kind"), Title: r.FormValue("title"),
		Authority: r.FormValue("authority"), InspectedOn: r.FormValue("inspected_on"), Conclusion: r.FormValue("conclusion"),
		Remarks: r.FormValue("remarks")}
	for i := range maxItems {
		n := strconv.Itoa(i)
		name := strings.TrimSpace(r.FormValue("item_name_" + n))
		if name == "" {
			continue
		}
		in.Items = append(in.Items, events.InspectionItem{Name: name, Result: r.FormValue("item_result_" + n), Reason: r.FormValue("item_reason_" + n)})
	}
	if r.MultipartForm == nil {
		return in, nil, nil
	}
	photos, err := f.readPhotos(r.MultipartForm.File["photos"])
	return in, photos, err
}

func (f *Function) readPhotos(files []*multipart.FileHeader) ([]photo, error) {
	var out []photo
	for _, fh := range files {
		if fh.Size == 0 && fh.Filename == "" {
			continue // the browser's empty file input
		}
		if len(out) >= f.cfg.MaxPhotos {
			return nil, errs.Fields([]errs.FieldError{{Field: "photos", Message: fmt.Sprintf("最多上传 %d 张照片", f.cfg.MaxPhotos)}})
		}
		if fh.Size > f.cfg.MaxPhotoBytes {
			return nil, errs.Fields([]errs.FieldError{{Field: "photos", Message: fmt.Sprintf("照片 %s 超过 %d MB", fh.Filename, f.cfg.MaxPhotoBytes>>20)}})
		}
		file, err := fh.Open()
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "读取照片失败", err)
		}
		data, err := io.ReadAll(io.LimitReader(file, f.cfg.MaxPhotoBytes+1))
		file.Close()
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "读取照片失败", err)
		}
		// The declared type is the client's word; the bytes decide.
		ct := http.DetectContentType(data)
		ext, ok := imageTypes[ct]
		if !ok || int64(len(data)) > f.cfg.MaxPhotoBytes {
			return nil, errs.Fields([]errs.FieldError{{Field: "photos", Message: "照片仅支持 JPG、PNG、GIF、WEBP 图片"}})
		}
		out = append(out, photo{data: data, ct: ct, ext: ext})
	}
	return out, nil
}

// errInspectOutsideScope refuses an inspection of an entity the
// inspector's data scope does not hold (FP-6): the code is real, so saying
// it does not exist would mislead the inspector on the spot.
var errInspectOutsideScope = &errs.Error{Code: errs.Forbidden, Message: "该经营主体不在您的数据权限范围内，不能记录检查",
	Fields: []errs.FieldError{{Field: "token", Message: "不在您的数据权限范围内"}}}

// recordInspection stores an inspection by p of the entity whose code is
// in.Token, inside p's data scope, and emits scan.inspection.recorded in
// the same transaction; the photos are stored first (an orphaned photo is
// harmless, a record pointing at a missing one is not).
func (f *Function) recordInspection(ctx context.Context, p *auth.Principal, ip string, in InspectionInput, photos []photo) (Inspection, error) {
	if err := in.validate(f.now()); err != nil {
		return Inspection{}, err
	}
	code, ok, err := codeAreaOf(ctx, f.pool, in.Token)
	switch {
	case err != nil:
		return Inspection{}, err
	case !ok:
		return Inspection{}, errs.Fields([]errs.FieldError{{Field: "token", Message: "该码不存在"}})
	case code.status != "active" || !code.entity:
		return Inspection{}, errs.Fields([]errs.FieldError{{Field: "token", Message: "该码未生效或已失效，不能记录检查"}})
	case !p.Scope.Allows(code.district, code.township):
		return Inspection{}, errInspectOutsideScope
	}
	cc := strings.TrimSpace(code.cc)
	out := Inspection{ID: uuid.NewString(), InspectionInput: in, CreditCode: cc, Photos: []string{},
		InspectorID: p.UserID, InspectorName: p.Name, CreatedAt: f.now()}
	for i, ph := range photos {
		key := fmt.Sprintf("scan/inspections/%s/%s/%d%s", cc, out.ID, i+1, ph.ext)
		if _, err := f.blob.Put(ctx, key, bytes.NewReader(ph.data), ph.ct); err != nil {
			return Inspection{}, errs.Wrap(errs.Unavailable, "照片保存失败，请稍后重试", err)
		}
		out.Photos = append(out.Photos, key)
	}
	out.PhotoURLs = consolePhotoURLs(out.ID, len(out.Photos))
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := insertInspection(ctx, tx, out, p.DeptID); err != nil {
			return err
		}
		ev, err := outbox.NewEvent(Source, events.ScanInspectionRecorded, cc, events.ScanInspectionRecordedData{
			InspectionID: out.ID, CreditCode: cc, Token: out.Token, Kind: out.Kind, Title: out.Title, Authority: out.Authority,
			InspectedOn: out.InspectedOn, Items: out.Items, Conclusion: out.Conclusion, Remarks: out.Remarks, Photos: out.Photos,
			InspectorID: p.UserID, RecordedAt: out.CreatedAt}, f.now())
		if err != nil {
			return err
		}
		// FP-8: the operation-log row commits with the inspection.
		if err := auditlog.Record(ctx, tx, Source, auditlog.Operation{At: f.now(), UserID: p.UserID, Username: p.Username, IP: ip,
			Action: "scan.inspection.create", ObjectType: "inspection", ObjectID: out.ID, DistrictCode: code.district,
			TownshipCode: code.township, After: out}); err != nil {
			return err
		}
		return outbox.Record(ctx, tx, ev)
	})
	if err != nil {
		return Inspection{}, err
	}
	return out, nil
}

// InspectionPage is a page of inspections recorded by scanning.
type InspectionPage = httpx.PageOf[Inspection]

// inspections lists an entity's (or a code's) inspections, newest first,
// for the console's 一户一档: only of an entity inside the caller's data
// scope (one outside answers as a missing one, so its existence, its
// inspectors' names and its photos do not leak).
func (f *Function) inspections(r *http.Request) (any, error) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	cc, token := strings.ToUpper(strings.TrimSpace(q.Get("credit_code"))), strings.TrimSpace(q.Get("token"))
	ctx := r.Context()
	switch {
	case cc == "" && token == "":
		return nil, errs.Fields([]errs.FieldError{{Field: "credit_code", Message: "请提供统一社会信用代码或二维码标识"}})
	case cc == "":
		var ok bool
		if cc, ok, err = codeEntity(ctx, f.pool, token); err != nil {
			return nil, err
		} else if !ok {
			return nil, errs.New(errs.NotFound, "该码不存在")
		}
	}
	district, township, ok, err := entityArea(ctx, f.pool, cc)
	if err != nil {
		return nil, err
	}
	if !ok || !scopeOf(r).Allows(district, township) {
		return nil, errs.New(errs.NotFound, "市场主体不存在")
	}
	items, total, err := selectInspections(ctx, f.pool, cc, token, pg)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, pg), nil
}
