package ocridcard

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/ocr/v1/openapi.yaml", openapi }

// Permission resources, listed in shared/auth's catalogue.
const (
	PermIDCard = "ocr.idcard" // view, create
	PermPhoto  = "ocr.photo"  // view: the photos and the full number
)

// Handler serves the API behind token verification.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-11: upload and recognition.
	m.Handle("POST /ocr/v1/idcards", httpx.Endpoint(f.createRecognition), auth.Requires(PermIDCard, "create"), httpx.NoEntity(),
		httpx.Params("async"))
	m.Handle("GET /ocr/v1/idcards", httpx.Endpoint(f.listRecognitions), auth.Requires(PermIDCard, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"status"}, httpx.PageParams...)...))
	m.Handle("GET /ocr/v1/idcards/{id}", httpx.Endpoint(f.getRecognition), auth.Requires(PermIDCard, "view"), httpx.NoEntity())
	m.Handle("PUT /ocr/v1/idcards/{id}/confirmation", httpx.Body(f.confirm), auth.Requires(PermIDCard, "create"), httpx.NoEntity())
	// FP-12: third-party identity verification, stored with guidance.
	m.Handle("POST /ocr/v1/idcards/{id}/verification", httpx.Body(f.verify), auth.Requires(PermIDCard, "create"), httpx.NoEntity())
	m.Handle("GET /ocr/v1/idcards/{id}/verifications", httpx.Endpoint(f.listVerifications), auth.Requires(PermIDCard, "view"), httpx.NoEntity())
	// FP-51–53: photo coding — licence photo → reading → registry match.
	m.Handle("POST /ocr/v1/licences", httpx.Endpoint(f.readLicence), auth.Requires(PermIDCard, "create"), httpx.NoEntity())
	m.Handle("GET /ocr/v1/coding/matches", httpx.Endpoint(f.codingMatches), auth.Requires(PermIDCard, "view"), httpx.EntityListing(),
		httpx.Params("credit_code", "name", "district"))
	// Personal information: every view is written to the operation log.
	m.Handle("GET /ocr/v1/idcards/{id}/number", httpx.Endpoint(f.viewNumber), auth.Requires(PermPhoto, "view"), httpx.NoEntity())
	m.HandleFunc("GET /ocr/v1/idcards/{id}/photos/{side}", f.viewPhoto, auth.Requires(PermPhoto, "view"), httpx.NoEntity())
	return m
}

func (f *Function) maxUpload() int64 { return int64(f.cfg.MaxUploadMB) << 20 }

// readUpload takes the front and back parts of a multipart upload, each at
// most OCR_MAX_UPLOAD_MB.
func (f *Function) readUpload(r *http.Request) (front, back []byte, err error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 2*f.maxUpload()+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, nil, errs.New(errs.Invalid, "请以 multipart/form-data 上传身份证照片（front 正面、back 反面）")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, errs.New(errs.Invalid, "上传内容不完整或超过大小限制")
		}
		name := p.FormName()
		if name != "front" && name != "back" {
			p.Close()
			return nil, nil, errs.Fields([]errs.FieldError{{Field: name, Message: "未知的上传字段，只接受 front 和 back"}})
		}
		b, err := io.ReadAll(io.LimitReader(p, f.maxUpload()+1))
		p.Close()
		if err != nil {
			return nil, nil, errs.New(errs.Invalid, "上传内容不完整或超过大小限制")
		}
		if int64(len(b)) > f.maxUpload() {
			return nil, nil, errs.Fields([]errs.FieldError{{Field: name, Message: fmt.Sprintf("照片超过 %d MB", f.cfg.MaxUploadMB)}})
		}
		if name == "front" {
			front = b
		} else {
			back = b
		}
	}
	if front == nil && back == nil {
		return nil, nil, errs.Fields([]errs.FieldError{{Field: "front", Message: "请上传身份证正面或反面照片"}})
	}
	return front, back, nil
}

// decodeSide decodes one side, naming the field in the error.
func (f *Function) decodeSide(b []byte, field string) (recognizeInput, error) {
	if b == nil {
		return recognizeInput{}, nil
	}
	img, err := recognize.Decode(b, f.cfg.MaxPixels)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return recognizeInput{}, errs.Fields([]errs.FieldError{{Field: field, Message: e.Message}})
		}
		return recognizeInput{}, err
	}
	return recognizeInput{raw: b, img: img}, nil
}

func (f *Function) createRecognition(r *http.Request) (any, error) {
	p, _ := auth.FromContext(r.Context())
	frontB, backB, err := f.readUpload(r)
	if err != nil {
		return nil, err
	}
	front, err := f.decodeSide(frontB, "front")
	if err != nil {
		return nil, err
	}
	back, err := f.decodeSide(backB, "back")
	if err != nil {
		return nil, err
	}
	id := uuid.NewString()
	if r.URL.Query().Get("async") == "true" {
		rec, err := f.request(r.Context(), id, p, httpx.ClientIP(r), front, back)
		if err != nil {
			return nil, err
		}
		return httpx.Accepted(rec), nil
	}
	res, full, err := f.recognise(r.Context(), front, back)
	if err != nil {
		return nil, err
	}
	rec, err := f.store(r.Context(), id, p, httpx.ClientIP(r), front, back, res, full)
	if err != nil {
		return nil, err
	}
	// The uploader sees the number they photographed: the view is audited
	// with the upload (action ocr.idcard.recognize).
	rec.Result = &res
	return httpx.Created(rec, "/ocr/v1/idcards/"+id), nil
}

type recognizeInput struct {
	raw []byte
	img image.Image
}

// recognise reads both sides; the number the front holds settles the
// back's cross-checks.
func (f *Function) recognise(ctx context.Context, front, back recognizeInput) (Result, string, error) {
	var res Result
	full := ""
	if front.raw != nil {
		fr, err := f.engines.ReadFront(ctx, front.img)
		if err != nil {
			return res, "", sideError(err, "front")
		}
		res.Front = &fr
		full = fr.IDNumber.Value
	}
	if back.raw != nil {
		bk, err := f.engines.ReadBack(ctx, back.img, full)
		if err != nil {
			return res, "", sideError(err, "back")
		}
		res.Back = &bk
	}
	return res, full, nil
}

func sideError(err error, field string) error {
	var e *errs.Error
	if errors.As(err, &e) && e.Code == errs.Invalid {
		return errs.Fields([]errs.FieldError{{Field: field, Message: e.Message}})
	}
	return err
}

// masked is res with the number masked, as it is stored.
func masked(res Result) Result {
	if res.Front == nil {
		return res
	}
	fr := *res.Front
	fr.IDNumber.Value = codes.MaskIDNumber(fr.IDNumber.Value)
	fr.IDNumber.Options = nil
	res.Front = &fr
	return res
}

func (f *Function) putPhoto(ctx context.Context, id, side string, in recognizeInput) (string, error) {
	if in.raw == nil {
		return "", nil
	}
	sealed, err := f.seal.Seal(in.raw)
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("ocr/idcards/%s/%s.sealed", id, side)
	if _, err := f.blob.Put(ctx, key, bytes.NewReader(sealed), "application/octet-stream"); err != nil {
		return "", err
	}
	return key, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// store seals the photos and the number and records the recognition with
// its audit row in one transaction; photos of a failed transaction are
// removed again.
func (f *Function) store(ctx context.Context, id string, p *auth.Principal, ip string, front, back recognizeInput, res Result, full string) (Recognition, error) {
	fk, err := f.putPhoto(ctx, id, "front", front)
	if err != nil {
		return Recognition{}, err
	}
	bk, err := f.putPhoto(ctx, id, "back", back)
	if err != nil {
		f.removePhotos(ctx, fk, "")
		return Recognition{}, err
	}
	var enc []byte
	if full != "" {
		if enc, err = f.seal.Seal([]byte(full)); err != nil {
			return Recognition{}, err
		}
	}
	m := masked(res)
	var rec Recognition
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ocridcard.recognitions
			(id, status, created_by, created_at, front_key, back_key, fields, number_masked, number_enc)
			VALUES ($1, 'done', $2, $3, $4, $5, $6, $7, $8)`,
			id, p.UserID, f.now(), nullable(fk), nullable(bk), m, codes.MaskIDNumber(full), enc); err != nil {
			return err
		}
		if err := auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: ip,
			Action: "ocr.idcard.recognize", ObjectType: "ocr.recognition", ObjectID: id,
			After: map[string]any{"id_number": codes.MaskIDNumber(full), "front": fk != "", "back": bk != ""}}); err != nil {
			return err
		}
		var err error
		rec, err = getRecognition(ctx, tx, id)
		return err
	})
	if err != nil {
		f.removePhotos(ctx, fk, bk)
		return Recognition{}, err
	}
	return rec, nil
}

// request stores the photos and queues them for an OCR worker
// (ocr.idcard.requested); the answer is the pending recognition.
func (f *Function) request(ctx context.Context, id string, p *auth.Principal, ip string, front, back recognizeInput) (Recognition, error) {
	fk, err := f.putPhoto(ctx, id, "front", front)
	if err != nil {
		return Recognition{}, err
	}
	bk, err := f.putPhoto(ctx, id, "back", back)
	if err != nil {
		f.removePhotos(ctx, fk, "")
		return Recognition{}, err
	}
	now := f.now()
	var rec Recognition
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO ocridcard.recognitions (id, status, created_by, created_at, front_key, back_key)
			VALUES ($1, 'pending', $2, $3, $4, $5)`, id, p.UserID, now, nullable(fk), nullable(bk)); err != nil {
			return err
		}
		e, err := outbox.NewEvent(Source, events.OcrIDCardRequested, id, events.OcrIDCardRequestedData{
			RecognitionID: id, FrontKey: fk, BackKey: bk, RequestedBy: p.UserID, RequestedAt: now}, now)
		if err != nil {
			return err
		}
		if err := outbox.Record(ctx, tx, e); err != nil {
			return err
		}
		if err := auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: ip,
			Action: "ocr.idcard.request", ObjectType: "ocr.recognition", ObjectID: id,
			After: map[string]any{"status": "pending", "front": fk != "", "back": bk != ""}}); err != nil {
			return err
		}
		rec, err = getRecognition(ctx, tx, id)
		return err
	})
	if err != nil {
		f.removePhotos(ctx, fk, bk)
	}
	return rec, err
}

func (f *Function) removePhotos(ctx context.Context, ks ...string) {
	for _, k := range ks {
		if k != "" {
			if err := f.blob.Delete(context.WithoutCancel(ctx), k); err != nil {
				f.log.WarnContext(ctx, "ocr-idcard: photo left behind", "key", k, "err", err)
			}
		}
	}
}

func (f *Function) listRecognitions(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	status := r.URL.Query().Get("status")
	if status != "" && status != "pending" && status != "done" && status != "failed" {
		return nil, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态只能是 pending、done 或 failed"}})
	}
	items, total, err := listRecognitions(r.Context(), f.pool, status, page)
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, page), nil
}

func validID(id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return errs.New(errs.NotFound, "识别记录不存在")
	}
	return nil
}

func (f *Function) getRecognition(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := validID(id); err != nil {
		return nil, err
	}
	rec, err := getRecognition(r.Context(), f.pool, id)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.New(errs.NotFound, "识别记录不存在")
	}
	if err != nil {
		return nil, err
	}
	vs, err := listVerifications(r.Context(), f.pool, id)
	if len(vs) > 0 {
		rec.Verification = &vs[0]
	}
	return rec, err
}

// NumberView is the full ID number of a recognition.
type NumberView struct {
	IDNumber string `json:"id_number"`
}

// viewNumber reveals the full number, writing the view to the operation
// log first: no log row, no number.
func (f *Function) viewNumber(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := validID(id); err != nil {
		return nil, err
	}
	k, _, err := getKeys(r.Context(), f.pool, id)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.New(errs.NotFound, "识别记录不存在")
	}
	if err != nil {
		return nil, err
	}
	if k.numberEnc == nil {
		return nil, errs.New(errs.NotFound, "该记录没有识别出身份证号码")
	}
	plain, err := f.seal.Open(k.numberEnc)
	if err != nil {
		return nil, err
	}
	if err := f.auditView(r, id, "ocr.idcard.view_number"); err != nil {
		return nil, err
	}
	return NumberView{IDNumber: string(plain)}, nil
}

func (f *Function) auditView(r *http.Request, id, action string) error {
	p, _ := auth.FromContext(r.Context())
	return store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		return auditlog.Record(r.Context(), tx, Source, auditlog.Operation{UserID: p.UserID, Username: p.Username,
			IP: httpx.ClientIP(r), Action: action, ObjectType: "ocr.recognition", ObjectID: id})
	})
}

// viewPhoto streams a decrypted photo, after writing the view to the
// operation log.
func (f *Function) viewPhoto(w http.ResponseWriter, r *http.Request) {
	id, side := r.PathValue("id"), r.PathValue("side")
	if err := validID(id); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if side != "front" && side != "back" {
		httpx.Fail(w, r, errs.New(errs.NotFound, "照片不存在"))
		return
	}
	k, gone, err := getKeys(r.Context(), f.pool, id)
	if errors.Is(err, errs.ErrNotFound) {
		err = errs.New(errs.NotFound, "识别记录不存在")
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	key := k.front
	if side == "back" {
		key = k.back
	}
	if gone || key == "" {
		httpx.Fail(w, r, errs.New(errs.NotFound, "照片不存在或已超过保存期限被删除"))
		return
	}
	rc, _, err := f.blob.Get(r.Context(), key)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	sealed, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	plain, err := f.seal.Open(sealed)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if err := f.auditView(r, id, "ocr.idcard.view_photo"); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(plain))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(plain)
}

// Confirmation is what a person confirmed or corrected after reading
// the fields beside what the applicant typed.
type Confirmation struct {
	Name      string `json:"name"`
	Sex       string `json:"sex"`
	Ethnicity string `json:"ethnicity"`
	Birth     string `json:"birth"`
	Address   string `json:"address"`
	IDNumber  string `json:"id_number"`
	Authority string `json:"authority,omitempty"`
	ValidFrom string `json:"valid_from,omitempty"`
	ValidTo   string `json:"valid_until,omitempty"`
}

func (c Confirmation) validate() error {
	var fe []errs.FieldError
	if strings.TrimSpace(c.Name) == "" {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写姓名"})
	}
	if err := codes.CheckIDNumber(c.IDNumber); err != nil {
		fe = append(fe, errs.FieldError{Field: "id_number", Message: err.(*errs.Error).Message})
	} else if err := codes.CheckIDRegion(c.IDNumber); err != nil {
		fe = append(fe, errs.FieldError{Field: "id_number", Message: err.(*errs.Error).Message})
	} else {
		if c.Sex != "" && c.Sex != codes.IDSex(c.IDNumber) {
			fe = append(fe, errs.FieldError{Field: "sex", Message: "性别与身份证号码不一致"})
		}
		if b, _ := codes.IDBirthDate(c.IDNumber); c.Birth != "" && c.Birth != b.Format("2006-01-02") {
			fe = append(fe, errs.FieldError{Field: "birth", Message: "出生日期与身份证号码不一致"})
		}
	}
	return errs.Fields(fe)
}

// confirm stores the confirmed values (number masked in the stored JSON,
// encrypted in number_enc) with an audit row.
func (f *Function) confirm(r *http.Request, in Confirmation) (any, error) {
	id := r.PathValue("id")
	if err := validID(id); err != nil {
		return nil, err
	}
	in.IDNumber = strings.ToUpper(strings.TrimSpace(in.IDNumber))
	if err := in.validate(); err != nil {
		return nil, err
	}
	p, _ := auth.FromContext(r.Context())
	enc, err := f.seal.Seal([]byte(in.IDNumber))
	if err != nil {
		return nil, err
	}
	stored := in
	stored.IDNumber = codes.MaskIDNumber(in.IDNumber)
	var rec Recognition
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		before, err := getRecognition(r.Context(), tx, id)
		if err != nil {
			return err
		}
		if before.Status == "pending" {
			return errs.New(errs.Conflict, "识别尚未完成，请稍后再确认")
		}
		if _, err := tx.Exec(r.Context(), `UPDATE ocridcard.recognitions SET confirmed = $2, confirmed_by = $3, confirmed_at = $4,
			number_enc = $5, number_masked = $6 WHERE id = $1`, id, stored, p.UserID, f.now(), enc, stored.IDNumber); err != nil {
			return err
		}
		if err := auditlog.Record(r.Context(), tx, Source, auditlog.Operation{UserID: p.UserID, Username: p.Username,
			IP: httpx.ClientIP(r), Action: "ocr.idcard.confirm", ObjectType: "ocr.recognition", ObjectID: id,
			Before: before.Confirmed, After: stored}); err != nil {
			return err
		}
		rec, err = getRecognition(r.Context(), tx, id)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.New(errs.NotFound, "识别记录不存在")
	}
	return rec, err
}
