package qrgenerate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
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
// the codes, and one more statement records the outbox events of the
// codes it activated (qr.batch-issued of up to BatchEventSize codes, or
// one qr.issued per code with PerCodeEvents) through outbox.RecordSelect.
// No statement runs per code. Scope, when not city-wide, narrows the
// selection.
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
	var err error
	if res.Unknown, err = unknownCodes(ctx, f.pool, sel.CreditCodes); err != nil {
		return res, err
	}
	for {
		n, err := f.bulkChunk(ctx, sel, opt, &res)
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

// selectionWhere selects, over qr.entities e, the active entities sel
// and the operator's scope select, coded or not.
func selectionWhere(sel Selection, op Operator) *store.Where {
	w := &store.Where{}
	w.Add("e.status = 'active'")
	if len(sel.CreditCodes) > 0 {
		w.Add("e.credit_code = ANY(?::text[])", sel.CreditCodes)
	}
	if sel.DistrictCode != "" {
		w.Add("e.district_code = ?", sel.DistrictCode)
	}
	if sel.IndustryCode != "" {
		w.Add("e.industry_code = ?", sel.IndustryCode)
	}
	if sel.EntityType != "" {
		w.Add("e.entity_type = ?", sel.EntityType)
	}
	if op.Scope.Kind != auth.ScopeAll {
		inScope(w, op.Scope, "e.district_code", "e.township_code")
	}
	return w
}

// unissuedSQL holds for an entity e without a code.
const unissuedSQL = "NOT EXISTS (SELECT 1 FROM qr.codes c WHERE c.credit_code = e.credit_code)"

// bulkChunk issues one chunk in one transaction: the next ChunkSize
// entities without a code are numbered into a temporary table, tokens
// minted in Go are COPY'd beside them, one statement creates the codes,
// and the events are recorded from the codes it created, set-based.
func (f *Function) bulkChunk(ctx context.Context, sel Selection, opt BulkOptions, res *BulkResult) (int64, error) {
	var created int64
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		w := selectionWhere(sel, opt.Operator)
		w.Add(unissuedSQL)
		n, err := bulkCandidates(ctx, tx, w, opt.ChunkSize)
		if err != nil || n == 0 {
			return err
		}
		tokens, err := f.tokens.MintN(int(n))
		if err != nil {
			return err
		}
		if err := bulkTokens(ctx, tx, tokens); err != nil {
			return err
		}
		now := f.now()
		active, pending, err := bulkInsert(ctx, tx, opt.Source, now)
		if err != nil {
			return err
		}
		tmpl := outbox.Template{Source: Source, Type: events.QRBatchIssued, Time: now}
		if opt.PerCodeEvents {
			tmpl.Type = events.QRIssued
		}
		evs, err := bulkEvents(ctx, tx, tmpl, res.BatchID, f.URL(""))
		if err != nil {
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
