package qrgenerate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Selection picks the entities a batch issues codes for: a list of credit
// codes, or a district / industry / entity-type filter (at least one).
type Selection struct {
	CreditCodes  []string `json:"credit_codes"`
	DistrictCode string   `json:"district_code"`
	IndustryCode string   `json:"industry_code"`
	EntityType   string   `json:"entity_type"`
}

// MaxBatchCodes bounds the credit_codes list of one HTTP batch.
const MaxBatchCodes = 10000

// Validate checks the selection.
func (s *Selection) Validate() error {
	var fe []errs.FieldError
	if len(s.CreditCodes) == 0 && s.DistrictCode == "" && s.IndustryCode == "" && s.EntityType == "" {
		return errs.New(errs.Invalid, "请提供统一社会信用代码列表，或按区县、行业、主体类型选择范围")
	}
	if len(s.CreditCodes) > MaxBatchCodes {
		fe = append(fe, errs.FieldError{Field: "credit_codes", Message: fmt.Sprintf("单次最多提交 %d 个统一社会信用代码", MaxBatchCodes)})
	}
	for i, c := range s.CreditCodes {
		c = strings.ToUpper(strings.TrimSpace(c))
		s.CreditCodes[i] = c
		if err := codes.CheckCreditCode(c); err != nil {
			fe = append(fe, errs.FieldError{Field: fmt.Sprintf("credit_codes[%d]", i), Message: messageOr(err, "统一社会信用代码不正确")})
			if len(fe) >= 20 {
				break
			}
		}
	}
	if s.DistrictCode != "" {
		if err := codes.CheckDistrict(s.DistrictCode); err != nil {
			fe = append(fe, errs.FieldError{Field: "district_code", Message: messageOr(err, "行政区划代码不正确")})
		}
	}
	if s.IndustryCode != "" {
		if err := codes.CheckIndustry(s.IndustryCode); err != nil {
			fe = append(fe, errs.FieldError{Field: "industry_code", Message: messageOr(err, "行业代码不正确")})
		}
	}
	if _, ok := entityTypeNames[s.EntityType]; s.EntityType != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "entity_type", Message: "主体类型不正确"})
	}
	return errs.Fields(fe)
}

// messageOr is the Chinese message a code check gave, else fallback.
func messageOr(err error, fallback string) string {
	if e := errs.As(err); e != nil && e.Message != "" {
		return e.Message
	}
	return fallback
}

// BulkOptions tune IssueBulk.
type BulkOptions struct {
	Operator Operator // System when zero
	// Source is recorded on each code: "bulk" (default) or "batch" (HTTP).
	Source string
	// PerCodeEvents emits one qr.issued per code instead of one
	// qr.batch-issued per BatchEventSize codes.
	PerCodeEvents bool
	// ChunkSize is the number of codes per transaction; DefaultChunkSize when 0.
	ChunkSize int
	// job, when set, is the batch job this issuance runs for: its batch id
	// names the events, and each chunk adds its counts to the job in the
	// chunk's own transaction (fenced by the claim's attempt number).
	job *jobRun
}

// Bulk issuance sizes.
const (
	DefaultChunkSize = 250_000
	BatchEventSize   = 1000 // codes per qr.batch-issued event
)

// BulkResult reports a bulk issuance.
type BulkResult struct {
	BatchID string   `json:"batch_id"`
	Issued  int64    `json:"issued"`  // active at once
	Pending int64    `json:"pending"` // waiting for review (事业单位, 民非)
	Events  int64    `json:"events"`  // outbox events written
	Unknown []string `json:"unknown"` // requested credit codes qr-generate has no entity for
	Seconds float64  `json:"seconds"`
}

// IssueBulk issues codes, set-based, to every active entity in the
// selection that has none yet (a zero Selection means every entity). Each
// chunk is one transaction: entities are numbered in a temporary table,
// tokens minted in Go are COPY'd beside them, one INSERT … SELECT creates
// the codes, and the same statement writes the outbox events
// (qr.batch-issued of up to BatchEventSize codes, or one qr.issued per
// code with PerCodeEvents). Scope, when not city-wide, narrows the selection.
func (f *Function) IssueBulk(ctx context.Context, sel Selection, opt BulkOptions) (BulkResult, error) {
	start := time.Now()
	if opt.Operator.Name == "" {
		opt.Operator = System
	}
	if opt.Source == "" {
		opt.Source = "bulk"
	}
	if opt.ChunkSize <= 0 {
		opt.ChunkSize = DefaultChunkSize
	}
	res := BulkResult{BatchID: uuid.NewString(), Unknown: []string{}}
	if opt.job != nil {
		res.BatchID = opt.job.batchID
	}
	where, args := selectionSQL(sel, opt.Operator)
	if len(sel.CreditCodes) > 0 {
		rows, err := f.pool.Query(ctx, `SELECT c FROM unnest($1::text[]) c
			WHERE NOT EXISTS (SELECT 1 FROM qr.entities e WHERE e.credit_code = c)`, sel.CreditCodes)
		if err != nil {
			return res, store.Classify(err)
		}
		if res.Unknown, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return res, store.Classify(err)
		}
		if res.Unknown == nil {
			res.Unknown = []string{}
		}
	}
	for {
		n, err := f.bulkChunk(ctx, where, args, opt, &res)
		if err != nil {
			return res, err
		}
		if n == 0 {
			break
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// selectionSQL is the WHERE clause over qr.entities e for sel and the
// operator's scope, with its arguments starting at $1: the active
// entities selected that have no code yet.
func selectionSQL(sel Selection, op Operator) (string, []any) {
	conds, args := selectionConds(sel, op)
	conds = append(conds, unissuedSQL)
	return strings.Join(conds, " AND "), args
}

// unissuedSQL holds for an entity e without a code.
const unissuedSQL = "NOT EXISTS (SELECT 1 FROM qr.codes c WHERE c.credit_code = e.credit_code)"

// selectionConds are the conditions over qr.entities e of the active
// entities sel and the operator's scope select, coded or not.
func selectionConds(sel Selection, op Operator) ([]string, []any) {
	var args []any
	conds := []string{"e.status = 'active'"}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if len(sel.CreditCodes) > 0 {
		add("e.credit_code = ANY($%d::text[])", sel.CreditCodes)
	}
	if sel.DistrictCode != "" {
		add("e.district_code = $%d", sel.DistrictCode)
	}
	if sel.IndustryCode != "" {
		add("e.industry_code = $%d", sel.IndustryCode)
	}
	if sel.EntityType != "" {
		add("e.entity_type = $%d", sel.EntityType)
	}
	if op.Scope.Kind != "all" {
		conds = append(conds, op.Scope.Filter("e.district_code", "e.township_code", &args))
	}
	return conds, args
}

func (f *Function) bulkChunk(ctx context.Context, where string, args []any, opt BulkOptions, res *BulkResult) (int64, error) {
	var created int64
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		// JIT compiles for seconds before a join it cannot speed up, and the
		// default work_mem spills the chunk's sorts to disk.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `CREATE TEMP TABLE bulk_cand ON COMMIT DROP AS
			SELECT row_number() OVER () AS rn, e.credit_code, e.name, e.entity_type, e.district_code, e.township_code, e.industry_code
			FROM (SELECT * FROM qr.entities e WHERE `+where+` LIMIT `+fmt.Sprint(opt.ChunkSize)+`) e`, args...)
		if err != nil {
			return fmt.Errorf("select entities: %w", err)
		}
		n := tag.RowsAffected()
		if n == 0 {
			return nil
		}
		tokens, err := f.tokens.MintN(int(n))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE bulk_tok (rn bigint, token text COLLATE "C") ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"bulk_tok"}, []string{"rn", "token"},
			pgx.CopyFromSlice(len(tokens), func(i int) ([]any, error) { return []any{int64(i + 1), tokens[i]}, nil })); err != nil {
			return fmt.Errorf("copy tokens: %w", err)
		}
		now := f.now()
		ts := now.UTC().Format(time.RFC3339Nano)
		evSQL := `INSERT INTO platform.outbox (event_id, event_type, source, subject, event)
			SELECT id, $5::text, $3::text, g.batch_id || '-' || g.grp, jsonb_build_object('specversion', '1.0', 'id', id::text, 'source', $3,
				'type', $5, 'subject', g.batch_id || '-' || g.grp, 'time', $7::text, 'datacontenttype', 'application/json',
				'data', jsonb_build_object('batch_id', g.batch_id, 'base_url', $4::text || '/q/', 'issued_at', $7::text, 'codes', g.codes))
			FROM (SELECT gen_random_uuid() AS id, $6::text AS batch_id, grp, jsonb_agg(jsonb_build_object('token', token, 'credit_code', credit_code)) AS codes
				FROM (SELECT token, credit_code, (row_number() OVER () - 1) / ` + fmt.Sprint(BatchEventSize) + ` AS grp FROM ins WHERE status = 'active') a
				GROUP BY grp) g
			RETURNING 1`
		evType := events.QRBatchIssued
		if opt.PerCodeEvents {
			evType = events.QRIssued
			evSQL = `INSERT INTO platform.outbox (event_id, event_type, source, subject, event)
			SELECT id, $5::text, $3::text, credit_code, jsonb_build_object('specversion', '1.0', 'id', id::text, 'source', $3,
				'type', $5, 'subject', credit_code, 'time', $7::text, 'datacontenttype', 'application/json', 'batchid', $6::text,
				'data', jsonb_build_object('token', token, 'credit_code', credit_code, 'url', $4::text || '/q/' || token, 'issued_at', $7::text))
			FROM (SELECT gen_random_uuid() AS id, token, credit_code FROM ins WHERE status = 'active') a
			RETURNING 1`
		}
		var active, pending, evs int64
		err = tx.QueryRow(ctx, `WITH ins AS (
				INSERT INTO qr.codes (token, credit_code, entity_name, entity_type, district_code, township_code, industry_code,
					status, source, issued_at, activated_at, updated_at)
				SELECT t.token, c.credit_code, c.name, c.entity_type, c.district_code, c.township_code, c.industry_code,
					CASE WHEN c.entity_type IN `+reviewTypesSQL+` THEN 'pending' ELSE 'active' END, $1, $2::timestamptz,
					CASE WHEN c.entity_type IN `+reviewTypesSQL+` THEN NULL ELSE $2::timestamptz END, $2::timestamptz
				FROM bulk_cand c JOIN bulk_tok t USING (rn)
				ON CONFLICT DO NOTHING
				RETURNING token, credit_code, status),
			ev AS (`+evSQL+`)
			SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'pending'), (SELECT count(*) FROM ev) FROM ins`,
			opt.Source, now, Source, f.baseURL, evType, res.BatchID, ts).Scan(&active, &pending, &evs)
		if err != nil {
			return fmt.Errorf("insert codes: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify('smartreg_outbox', '')`); err != nil {
			return err
		}
		created = active + pending
		if opt.job != nil {
			if err := opt.job.progress(ctx, tx, active, pending, evs); err != nil {
				return err
			}
		}
		res.Issued += active
		res.Pending += pending
		res.Events += evs
		if created == 0 {
			return nil
		}
		return f.logOp(ctx, tx, opt.Operator, opEntry{Action: "issue",
			Detail: fmt.Sprintf("批量赋码（批次 %s）：生效 %d 个，待审核 %d 个", res.BatchID, active, pending)})
	})
	return created, store.Classify(err)
}
