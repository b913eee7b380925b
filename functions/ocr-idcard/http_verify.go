package ocridcard

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// VerifyInput asks for a verification of a recognition's holder.
type VerifyInput struct {
	// WithPhoto also sends the card's front photo for face comparison.
	WithPhoto bool `json:"with_photo"`
}

// holder is the name and full number to verify: what a person confirmed,
// else what was read.
func (f *Function) holder(ctx context.Context, rec Recognition, k keys) (string, string, error) {
	name := ""
	if len(rec.Confirmed) > 0 {
		var c Confirmation
		_ = json.Unmarshal(rec.Confirmed, &c)
		name = c.Name
	} else if rec.Result != nil && rec.Result.Front != nil {
		name = rec.Result.Front.Name.Value
	}
	if strings.TrimSpace(name) == "" || k.numberEnc == nil {
		return "", "", errs.New(errs.Invalid, "该记录没有姓名或身份证号码，请先识别正面并确认")
	}
	plain, err := f.seal.Open(k.numberEnc)
	if err != nil {
		return "", "", err
	}
	number := string(plain)
	if err := codes.CheckIDNumber(number); err != nil {
		return "", "", errs.Fields([]errs.FieldError{{Field: "id_number", Message: "身份证号码未通过校验，请先在确认步骤更正后再核验"}})
	}
	return name, number, nil
}

// verify runs a third-party verification (FP-12), stores its result with
// guidance and writes it to the operation log (number masked). A provider
// that stays busy through the retries is stored as unavailable; an
// exhausted daily quota is refused before any call.
func (f *Function) verify(r *http.Request, in VerifyInput) (any, error) {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := validID(id); err != nil {
		return nil, err
	}
	rec, err := getRecognition(ctx, f.pool, id)
	if errors.Is(err, errs.ErrNotFound) {
		return nil, errs.New(errs.NotFound, "识别记录不存在")
	}
	if err != nil {
		return nil, err
	}
	if rec.Status != "done" {
		return nil, errs.New(errs.Conflict, "识别尚未完成或已失败，不能核验")
	}
	k, gone, err := getKeys(ctx, f.pool, id)
	if err != nil {
		return nil, err
	}
	name, number, err := f.holder(ctx, rec, k)
	if err != nil {
		return nil, err
	}
	req := VerifyRequest{Name: name, IDNumber: number}
	if in.WithPhoto {
		if gone || k.front == "" {
			return nil, errs.Fields([]errs.FieldError{{Field: "with_photo", Message: "正面照片不存在或已超过保存期限被删除，只能核验姓名与号码"}})
		}
		ph, err := f.openPhoto(ctx, k.front)
		if err != nil {
			return nil, err
		}
		req.Photo = ph
	}
	ok, err := takeQuota(ctx, f.pool, f.now(), f.cfg.VerifyQuota)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, quotaError(f.cfg.VerifyQuota)
	}
	p, _ := auth.FromContext(ctx)
	v := Verification{ID: uuid.NewString(), RecognitionID: id, WithPhoto: in.WithPhoto, NumberMasked: codes.MaskIDNumber(number),
		CreatedBy: p.UserID, CreatedAt: f.now()}
	out, verr := f.idv.Verify(ctx, req)
	v.Attempts = out.Attempts
	switch {
	case verr != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case verr != nil:
		// No line carries the name or number: only the provider's error.
		f.log.WarnContext(ctx, "ocr-idcard: identity verification failed", "recognition", id, "attempts", out.Attempts, "err", verr)
		v.Result, v.Message, v.Guidance = "unavailable", "核验服务未能给出结果", unavailableGuidance
	default:
		v.Result, v.Passed, v.Message, v.Guidance = judge(out, in.WithPhoto, f.cfg.VerifyThreshold)
		v.Score = out.Score
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := insertVerification(ctx, tx, v, out.RequestID); err != nil {
			return err
		}
		return auditlog.Record(ctx, tx, Source, auditlog.Operation{UserID: p.UserID, Username: p.Username, IP: httpx.ClientIP(r),
			Action: "ocr.idcard.verify", ObjectType: "ocr.recognition", ObjectID: id,
			After: map[string]any{"id_number": v.NumberMasked, "result": v.Result, "with_photo": v.WithPhoto, "attempts": v.Attempts}})
	})
	if err != nil {
		return nil, err
	}
	return httpx.Created(v, "/ocr/v1/idcards/"+id+"/verifications"), nil
}

func (f *Function) listVerifications(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := validID(id); err != nil {
		return nil, err
	}
	if _, err := getRecognition(r.Context(), f.pool, id); errors.Is(err, errs.ErrNotFound) {
		return nil, errs.New(errs.NotFound, "识别记录不存在")
	} else if err != nil {
		return nil, err
	}
	return listVerifications(r.Context(), f.pool, id)
}

// openPhoto reads and decrypts a stored photo.
func (f *Function) openPhoto(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := f.blob.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	sealed, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	return f.seal.Open(sealed)
}
