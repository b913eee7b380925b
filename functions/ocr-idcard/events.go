package ocridcard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// PurgeTask is the PingSource data that deletes photos past retention
// (infra/knative/pingsources/ocr-purge.yaml).
const PurgeTask = "ocr-purge"

// Receive reads queued cards (ocr.idcard.requested → ocr.idcard.recognized)
// and runs the retention sweep; other events are acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.OcrIDCardRequested:
		d, err := events.Decode[events.OcrIDCardRequestedData](e)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "事件内容无效", err)
		}
		return nil, f.recogniseQueued(ctx, e, d)
	case events.Ping:
		d, err := events.Decode[events.PingData](e)
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "事件内容无效", err)
		}
		if d["task"] != PurgeTask {
			return nil, nil
		}
		_, err = f.Purge(ctx)
		return nil, err
	}
	return nil, nil
}

func (f *Function) loadPhoto(ctx context.Context, key string) (recognizeInput, error) {
	if key == "" {
		return recognizeInput{}, nil
	}
	rc, _, err := f.blob.Get(ctx, key)
	if err != nil {
		return recognizeInput{}, err
	}
	defer rc.Close()
	sealed, err := io.ReadAll(rc)
	if err != nil {
		return recognizeInput{}, err
	}
	raw, err := f.seal.Open(sealed)
	if err != nil {
		return recognizeInput{}, errs.Wrap(errs.Invalid, "照片无法解密", err)
	}
	img, err := recognize.Decode(raw, f.cfg.MaxPixels)
	if err != nil {
		return recognizeInput{}, err
	}
	return recognizeInput{raw: raw, img: img}, nil
}

// recogniseQueued reads a pending recognition outside any transaction (it
// takes a few hundred milliseconds), then records the result and the
// recognized event once per event id.
func (f *Function) recogniseQueued(ctx context.Context, e event.Event, d events.OcrIDCardRequestedData) error {
	rec, err := getRecognition(ctx, f.pool, d.RecognitionID)
	if errors.Is(err, errs.ErrNotFound) {
		return errs.New(errs.Invalid, "识别记录不存在")
	}
	if err != nil || rec.Status != "pending" {
		return err
	}
	status, reason := "done", ""
	var res Result
	var full string
	front, ferr := f.loadPhoto(ctx, d.FrontKey)
	back, berr := f.loadPhoto(ctx, d.BackKey)
	switch {
	case ferr != nil || berr != nil:
		err = errors.Join(ferr, berr)
	default:
		res, full, err = f.recognise(ctx, front, back)
	}
	if err != nil {
		var ee *errs.Error
		if !errors.As(err, &ee) || ee.Code != errs.Invalid {
			return err // retried by the Broker
		}
		status, reason = "failed", ee.Message
		if len(ee.Fields) > 0 {
			reason = ee.Fields[0].Message
		}
	}
	var enc []byte
	if full != "" {
		if enc, err = f.seal.Seal([]byte(full)); err != nil {
			return err
		}
	}
	now := f.now()
	_, err = outbox.Once(ctx, f.pool, Name+"/recognize", e, func(tx pgx.Tx) error {
		var fields any
		if status == "done" {
			fields = masked(res)
		}
		tag, err := tx.Exec(ctx, `UPDATE ocridcard.recognitions SET status = $2, fields = $3, number_masked = $4, number_enc = $5,
			error = $6 WHERE id = $1 AND status = 'pending'`, d.RecognitionID, status, fields, codes.MaskIDNumber(full), enc, reason)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ev, err := outbox.NewEvent(Source, events.OcrIDCardRecognized, d.RecognitionID, events.OcrIDCardRecognizedData{
			RecognitionID: d.RecognitionID, Status: status, Flagged: flaggedFields(res), RecognizedAt: now}, now)
		if err != nil {
			return err
		}
		return outbox.Record(ctx, tx, ev)
	})
	return err
}

func flaggedFields(r Result) []string {
	var out []string
	if fr := r.Front; fr != nil {
		for name, fl := range map[string]recognize.Field{"name": fr.Name, "sex": fr.Sex, "ethnicity": fr.Ethnicity,
			"birth": fr.Birth, "address": fr.Address, "id_number": fr.IDNumber} {
			if fl.Flagged {
				out = append(out, name)
			}
		}
	}
	if bk := r.Back; bk != nil {
		for name, fl := range map[string]recognize.Field{"authority": bk.Authority, "valid_from": bk.ValidFrom, "valid_until": bk.ValidUntil} {
			if fl.Flagged {
				out = append(out, name)
			}
		}
	}
	return out
}

// Purge deletes the photos of recognitions older than OCR_RETENTION_DAYS
// (the rows stay, masked, with photos_deleted_at set) and answers how many.
func (f *Function) Purge(ctx context.Context) (int, error) {
	before := f.now().Add(-time.Duration(f.cfg.RetentionDays) * 24 * time.Hour)
	n := 0
	for {
		ids, err := expiredPhotos(ctx, f.pool, before, 200)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, id := range ids {
			k, _, err := getKeys(ctx, f.pool, id)
			if err != nil {
				return n, err
			}
			for _, key := range []string{k.front, k.back} {
				if key == "" {
					continue
				}
				if err := f.blob.Delete(ctx, key); err != nil {
					return n, fmt.Errorf("ocr-idcard: purge %s: %w", id, err)
				}
			}
			if err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE ocridcard.recognitions SET photos_deleted_at = $2 WHERE id = $1`, id, f.now())
				return err
			}); err != nil {
				return n, err
			}
			n++
		}
	}
}
