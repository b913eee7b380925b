package ocridcard

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/functions/ocr-idcard/recognize"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Result is what was read from one card; the number is masked unless the
// caller asked for it (and that view was audited).
type Result struct {
	Front *recognize.Front `json:"front,omitempty"`
	Back  *recognize.Back  `json:"back,omitempty"`
}

// Recognition is one upload and its result.
type Recognition struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	CreatedBy    string          `json:"created_by"`
	CreatedAt    time.Time       `json:"created_at"`
	HasFront     bool            `json:"has_front"`
	HasBack      bool            `json:"has_back"`
	NumberMasked string          `json:"id_number_masked"`
	Result       *Result         `json:"result,omitempty"`
	Error        string          `json:"error,omitempty"`
	Confirmed    json.RawMessage `json:"confirmed,omitempty"`
	ConfirmedAt  *time.Time      `json:"confirmed_at,omitempty"`
	PhotosGone   bool            `json:"photos_deleted"`
	// Verification is the latest third-party verification (FP-12), on a
	// single recognition only.
	Verification *Verification `json:"verification,omitempty"`
}

const recognitionCols = `id, status, created_by, created_at, front_key IS NOT NULL, back_key IS NOT NULL, number_masked,
	fields, error, confirmed, confirmed_at, photos_deleted_at IS NOT NULL`

func scanRecognition(row pgx.Row) (Recognition, error) {
	var r Recognition
	var fields []byte
	err := row.Scan(&r.ID, &r.Status, &r.CreatedBy, &r.CreatedAt, &r.HasFront, &r.HasBack, &r.NumberMasked,
		&fields, &r.Error, &r.Confirmed, &r.ConfirmedAt, &r.PhotosGone)
	if err != nil {
		return r, store.Classify(err)
	}
	if len(fields) > 0 {
		var res Result
		if err := json.Unmarshal(fields, &res); err == nil {
			r.Result = &res
		}
	}
	return r, nil
}

func getRecognition(ctx context.Context, q store.Querier, id string) (Recognition, error) {
	return scanRecognition(q.QueryRow(ctx, `SELECT `+recognitionCols+` FROM ocridcard.recognitions WHERE id = $1`, id))
}

type keys struct {
	front, back string
	numberEnc   []byte
}

func getKeys(ctx context.Context, q store.Querier, id string) (keys, bool, error) {
	var k keys
	var front, back *string
	var gone bool
	err := q.QueryRow(ctx, `SELECT front_key, back_key, number_enc, photos_deleted_at IS NOT NULL
		FROM ocridcard.recognitions WHERE id = $1`, id).Scan(&front, &back, &k.numberEnc, &gone)
	if front != nil {
		k.front = *front
	}
	if back != nil {
		k.back = *back
	}
	return k, gone, store.Classify(err)
}

func listRecognitions(ctx context.Context, q store.Querier, status string, p httpx.Page) ([]Recognition, int, error) {
	var w store.Where
	if status != "" {
		w.Add("status = ?", status)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM ocridcard.recognitions`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+recognitionCols+` FROM ocridcard.recognitions`+w.SQL()+
		` ORDER BY created_at DESC, id LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	defer rows.Close()
	var out []Recognition
	for rows.Next() {
		r, err := scanRecognition(rows)
		if err != nil {
			return nil, 0, err
		}
		// Lists show no fields: the number is masked, the rest is personal too.
		r.Result = nil
		out = append(out, r)
	}
	return out, total, store.Classify(rows.Err())
}

// expiredPhotos lists recognitions whose photos are past retention.
func expiredPhotos(ctx context.Context, q store.Querier, before time.Time, limit int) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id FROM ocridcard.recognitions WHERE photos_deleted_at IS NULL AND created_at < $1
		ORDER BY created_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, store.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, store.Classify(err)
}
