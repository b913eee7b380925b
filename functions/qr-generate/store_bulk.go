package qrgenerate

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// The SQL of set-based issuance (IssueBulk): one chunk is a handful of
// statements over temporary tables, whatever its size.

// bulkCandidates numbers up to limit entities w selects (over
// qr.entities e) into the temporary table bulk_cand and counts them.
func bulkCandidates(ctx context.Context, tx pgx.Tx, w *store.Where, limit int) (int64, error) {
	// JIT compiles for seconds before a join it cannot speed up, and the
	// default work_mem spills the chunk's sorts to disk.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `CREATE TEMP TABLE bulk_cand ON COMMIT DROP AS
		SELECT row_number() OVER () AS rn, e.credit_code, e.name, e.entity_type, e.district_code, e.township_code, e.industry_code
		FROM (SELECT * FROM qr.entities e`+w.SQL()+` LIMIT `+fmt.Sprint(limit)+`) e`, w.Args()...)
	if err != nil {
		return 0, fmt.Errorf("select entities: %w", err)
	}
	return tag.RowsAffected(), nil
}

// bulkTokens COPYs the minted tokens, numbered like bulk_cand, into bulk_tok.
func bulkTokens(ctx context.Context, tx pgx.Tx, tokens []string) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE bulk_tok (rn bigint, token text COLLATE "C") ON COMMIT DROP`); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bulk_tok"}, []string{"rn", "token"},
		pgx.CopyFromSlice(len(tokens), func(i int) ([]any, error) { return []any{int64(i + 1), tokens[i]}, nil })); err != nil {
		return fmt.Errorf("copy tokens: %w", err)
	}
	return nil
}

// bulkInsert creates the codes of bulk_cand with the tokens of bulk_tok,
// skipping entities that have a code by now, and keeps the codes it
// activated in bulk_ins for their events; it counts active and pending.
func bulkInsert(ctx context.Context, tx pgx.Tx, source string, now time.Time) (active, pending int64, err error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE bulk_ins (token text COLLATE "C", credit_code text COLLATE "C") ON COMMIT DROP`); err != nil {
		return 0, 0, err
	}
	err = tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO qr.codes (token, credit_code, entity_name, entity_type, district_code, township_code, industry_code,
				status, source, issued_at, activated_at, updated_at)
			SELECT t.token, c.credit_code, c.name, c.entity_type, c.district_code, c.township_code, c.industry_code,
				CASE WHEN c.entity_type IN `+reviewTypesSQL+` THEN 'pending' ELSE 'active' END, $1, $2::timestamptz,
				CASE WHEN c.entity_type IN `+reviewTypesSQL+` THEN NULL ELSE $2::timestamptz END, $2::timestamptz
			FROM bulk_cand c JOIN bulk_tok t USING (rn)
			ON CONFLICT DO NOTHING
			RETURNING token, credit_code, status),
		kept AS (INSERT INTO bulk_ins SELECT token, credit_code FROM ins WHERE status = 'active')
		SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'pending') FROM ins`,
		source, now).Scan(&active, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("insert codes: %w", err)
	}
	return active, pending, nil
}

// bulkEvents records the events of the codes in bulk_ins, whose URLs are
// base + token: one events.QRBatchIssuedData per BatchEventSize codes
// under the batch id, or one events.QRIssuedData per code when t's type
// is qr.issued. Their timestamps are t.Time, as in the data.
func bulkEvents(ctx context.Context, tx pgx.Tx, t outbox.Template, batchID, base string) (int64, error) {
	at := types.FormatTime(t.Time)
	if t.Type == events.QRIssued {
		return outbox.RecordSelect(ctx, tx, t, `SELECT credit_code, jsonb_build_object('token', token, 'credit_code', credit_code,
			'url', $1::text || token, 'issued_at', $2::text) FROM bulk_ins`, base, at)
	}
	return outbox.RecordSelect(ctx, tx, t, `SELECT $1::text || '-' || grp, jsonb_build_object('batch_id', $1::text, 'base_url', $2::text,
			'issued_at', $3::text, 'codes', jsonb_agg(jsonb_build_object('token', token, 'credit_code', credit_code)))
		FROM (SELECT token, credit_code, (row_number() OVER () - 1) / `+fmt.Sprint(BatchEventSize)+` AS grp FROM bulk_ins) a
		GROUP BY grp`, batchID, base, at)
}
