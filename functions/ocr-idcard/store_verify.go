package ocridcard

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// shanghai is the zone the daily quota's day is counted in.
var shanghai = time.FixedZone("CST", 8*3600)

// takeQuota counts one provider call against day's quota; false when the
// quota is used up (nothing counted).
func takeQuota(ctx context.Context, q store.Querier, now time.Time, quota int) (bool, error) {
	if quota <= 0 {
		return false, nil
	}
	day := now.In(shanghai).Format("2006-01-02")
	var used int
	err := q.QueryRow(ctx, `INSERT INTO ocridcard.verify_quota AS q (day, used) VALUES ($1, 1)
		ON CONFLICT (day) DO UPDATE SET used = q.used + 1 WHERE q.used < $2
		RETURNING used`, day, quota).Scan(&used)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	return err == nil, store.Classify(err)
}

func insertVerification(ctx context.Context, tx pgx.Tx, v Verification, ref string) error {
	_, err := tx.Exec(ctx, `INSERT INTO ocridcard.verifications (id, recognition_id, result, score, with_photo, passed,
		message, guidance, attempts, provider_ref, number_masked, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		v.ID, v.RecognitionID, v.Result, v.Score, v.WithPhoto, v.Passed, v.Message, v.Guidance, v.Attempts, ref,
		v.NumberMasked, v.CreatedBy, v.CreatedAt)
	return store.Classify(err)
}

const verificationCols = `id, recognition_id, result, score, with_photo, passed, message, guidance, attempts,
	number_masked, created_by, created_at`

func scanVerification(row pgx.Row) (Verification, error) {
	var v Verification
	err := row.Scan(&v.ID, &v.RecognitionID, &v.Result, &v.Score, &v.WithPhoto, &v.Passed, &v.Message, &v.Guidance,
		&v.Attempts, &v.NumberMasked, &v.CreatedBy, &v.CreatedAt)
	return v, store.Classify(err)
}

// listVerifications is a recognition's verifications, newest first.
func listVerifications(ctx context.Context, q store.Querier, recognition string) ([]Verification, error) {
	rows, err := q.Query(ctx, `SELECT `+verificationCols+` FROM ocridcard.verifications WHERE recognition_id = $1
		ORDER BY created_at DESC, seq DESC`, recognition)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := []Verification{}
	for rows.Next() {
		v, err := scanVerification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, store.Classify(rows.Err())
}
