package identity

import (
	"context"
	"time"

	"github.com/sjzamr/smartreg/shared/store"
)

// Password reset codes sent by SMS (identity.sms_codes), kept as HMACs.

// retireSMSCodes spends every unused code of a user, before a new one.
func retireSMSCodes(ctx context.Context, q store.Querier, userID string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.sms_codes SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, userID, now)
}

func insertSMSCode(ctx context.Context, q store.Querier, userID, phone string, hash []byte, expires, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.sms_codes (user_id, phone, code_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		userID, phone, hash, expires, now)
}

// smsCode is the live code of a user.
type smsCode struct {
	id       int64
	hash     []byte
	attempts int
}

// liveSMSCodeForUpdate reads and locks a user's newest unused, unexpired code.
func liveSMSCodeForUpdate(ctx context.Context, q store.Querier, userID string, now time.Time) (smsCode, error) {
	var c smsCode
	err := q.QueryRow(ctx, `SELECT id, code_hash, attempts FROM identity.sms_codes WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2
		ORDER BY created_at DESC LIMIT 1 FOR UPDATE`, userID, now).Scan(&c.id, &c.hash, &c.attempts)
	return c, store.Classify(err)
}

// countSMSCodeMiss counts a wrong guess; the max-th spends the code.
func countSMSCodeMiss(ctx context.Context, q store.Querier, id int64, max int, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.sms_codes SET attempts = attempts + 1,
		used_at = CASE WHEN attempts + 1 >= $2 THEN $3::timestamptz END WHERE id = $1`, id, max, now)
}

func spendSMSCode(ctx context.Context, q store.Querier, id int64, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.sms_codes SET used_at = $2 WHERE id = $1`, id, now)
}
