package metrology

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

func insertVerification(ctx context.Context, tx pgx.Tx, itemID int64, a Application, d events.VerificationCompletedData, now time.Time) (int64, error) {
	env, _ := json.Marshal(d.Environment)
	data, _ := json.Marshal(d.Data)
	nozzles, _ := json.Marshal(d.Nozzles)
	stds, _ := json.Marshal(d.Standards)
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO metrology.verifications (application_item_id, instrument_id, institution_id, credit_code,
			certificate_no, result, class, failure_reason, verifier, checker, approver, verified_on, valid_until, basis, environment, data,
			nozzles, standards, payload, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::date, $13::date, $14, $15, $16, $17, $18, '{}', $19, $19) RETURNING id`,
		itemID, d.Instrument.ID, a.InstitutionID, a.CreditCode, d.CertificateNo, d.Result, d.Class, d.FailureReason, d.Verifier, d.Checker,
		d.Approver, d.VerifiedOn, nullDate(d.ValidUntil), d.Basis, env, data, nozzles, stds, now).Scan(&id)
	return id, store.Classify(err)
}

func savePayload(ctx context.Context, tx pgx.Tx, id int64, d events.VerificationCompletedData) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE metrology.verifications SET payload = $2 WHERE id = $1`, id, raw)
	return store.Classify(err)
}

// applyResult marks the item verified and carries the result to the
// instrument: its dates, result, the nozzle serials as verified, and a
// stop for a failed instrument in use.
func applyResult(ctx context.Context, tx pgx.Tx, inst Instrument, d events.VerificationCompletedData, now time.Time) error {
	serials := inst.NozzleSerials
	if len(d.Nozzles) > 0 {
		serials = make([]string, len(d.Nozzles))
		for i, n := range d.Nozzles {
			serials[i] = n.Serial
		}
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE metrology.application_items SET status = 'verified'
		WHERE id = (SELECT application_item_id FROM metrology.verifications WHERE id = $1)`, d.VerificationID)
	b.Queue(`UPDATE metrology.instruments SET last_verified_on = $2::date, valid_until = COALESCE($3::date, valid_until), last_result = $4,
			nozzle_serials = $5, status = $6, version = version + 1, updated_at = $7 WHERE id = $1`,
		inst.ID, d.VerifiedOn, nullDate(d.ValidUntil), d.Result, serials, afterResult(inst.Status, d.Result), now)
	if d.Result == "fail" {
		// A failed instrument is not valid from the day it failed.
		b.Queue(`UPDATE metrology.instruments SET valid_until = LEAST(valid_until, $2::date) WHERE id = $1`, inst.ID, d.VerifiedOn)
	}
	return store.Classify(tx.SendBatch(ctx, b).Close())
}

const verificationSelect = `SELECT v.id, v.application_item_id, t.application_id, v.payload, v.created_at, e.district_code, e.township_code
	FROM metrology.verifications v
	JOIN metrology.application_items t ON t.id = v.application_item_id
	JOIN metrology.enterprises e ON e.credit_code = v.credit_code`

func scanVerification(row pgx.Row) (Verification, error) {
	var out Verification
	var raw []byte
	if err := row.Scan(&out.ID, &out.ApplicationItemID, &out.ApplicationID, &raw, &out.CreatedAt, &out.district, &out.township); err != nil {
		return out, store.Classify(err)
	}
	return out, json.Unmarshal(raw, &out.Certificate)
}

func getVerification(ctx context.Context, q store.Querier, id int64) (Verification, error) {
	return scanVerification(q.QueryRow(ctx, verificationSelect+` WHERE v.id = $1`, id))
}

// VerificationFilter narrows the verification list.
type VerificationFilter struct {
	Code, Result string
	Instrument   int64
}

func listVerifications(ctx context.Context, q store.Querier, v viewer, flt VerificationFilter, p httpx.Page) ([]Verification, int, error) {
	var w store.Where
	w.AddWith(v.entFilter)
	if v.kind == kindInstitution {
		w.Add("v.institution_id = ?", v.ref)
	}
	if flt.Code != "" {
		w.Add("v.credit_code = ?", flt.Code)
	}
	if flt.Result != "" {
		w.Add("v.result = ?", flt.Result)
	}
	if flt.Instrument != 0 {
		w.Add("v.instrument_id = ?", flt.Instrument)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM metrology.verifications v JOIN metrology.enterprises e ON e.credit_code = v.credit_code`+w.SQL(),
		w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, verificationSelect+w.SQL()+` ORDER BY v.verified_on DESC, v.id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()),
		w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Verification, error) { return scanVerification(r) })
	return out, total, store.Classify(err)
}
