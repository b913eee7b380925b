package certificateprint

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

const certColumns = `c.id, c.verification_id, c.version, c.kind, c.certificate_no, c.institution_id, c.credit_code, c.client_name,
	c.district_code, c.township_code, c.instrument_name, c.serial_no, c.result, to_char(c.verified_on, 'YYYY-MM-DD'),
	to_char(c.valid_until, 'YYYY-MM-DD'), c.pages, c.size, c.sha256, c.status, c.superseded_by, c.superseded_at, c.issued_at,
	c.token, c.blob_key, c.payload`

func scanCert(row pgx.Row) (Certificate, error) {
	var c Certificate
	var raw []byte
	err := row.Scan(&c.ID, &c.VerificationID, &c.Version, &c.Kind, &c.CertificateNo, &c.InstitutionID, &c.CreditCode, &c.ClientName,
		&c.DistrictCode, &c.townshipCode, &c.InstrumentName, &c.SerialNo, &c.Result, &c.VerifiedOn, &c.ValidUntil, &c.Pages, &c.Size,
		&c.SHA256, &c.Status, &c.SupersededBy, &c.SupersededAt, &c.IssuedAt, &c.token, &c.blobKey, &raw)
	if err != nil {
		return c, store.Classify(err)
	}
	return c, json.Unmarshal(raw, &c.payload)
}

func (f *Function) collect(rows pgx.Rows, err error) ([]Certificate, error) {
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Certificate, error) { return scanCert(r) })
	for i := range out {
		out[i].label(f)
	}
	if out == nil {
		out = []Certificate{}
	}
	return out, store.Classify(err)
}

func currentOf(ctx context.Context, q store.Querier, verification int64) (Certificate, error) {
	return scanCert(q.QueryRow(ctx, `SELECT `+certColumns+` FROM certs.certificates c WHERE c.verification_id = $1 AND c.status = 'valid'`, verification))
}

func getCertificate(ctx context.Context, q store.Querier, id int64) (Certificate, error) {
	return scanCert(q.QueryRow(ctx, `SELECT `+certColumns+` FROM certs.certificates c WHERE c.id = $1`, id))
}

func byToken(ctx context.Context, q store.Querier, token string) (Certificate, error) {
	return scanCert(q.QueryRow(ctx, `SELECT `+certColumns+` FROM certs.certificates c WHERE c.token = $1`, token))
}

func (f *Function) versionsOf(ctx context.Context, q store.Querier, verification int64) ([]Certificate, error) {
	return f.collect(q.Query(ctx, `SELECT `+certColumns+` FROM certs.certificates c WHERE c.verification_id = $1 ORDER BY c.version DESC`, verification))
}

func insertCertificate(ctx context.Context, tx pgx.Tx, c Certificate) (int64, error) {
	raw, err := json.Marshal(c.payload)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO certs.certificates (verification_id, version, kind, certificate_no, token, institution_id,
			institution_version, credit_code, district_code, township_code, client_name, instrument_name, serial_no, result, verified_on,
			valid_until, payload, pages, blob_key, sha256, size, issued_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::date, $16::date, $17, $18, $19, $20, $21, $22) RETURNING id`,
		c.VerificationID, c.Version, c.Kind, c.CertificateNo, c.token, c.InstitutionID, c.payload.Institution.Version, c.CreditCode,
		c.DistrictCode, c.townshipCode, c.ClientName, c.InstrumentName, c.SerialNo, c.Result, c.VerifiedOn, c.ValidUntil, raw, c.Pages,
		c.blobKey, c.SHA256, c.Size, c.IssuedAt).Scan(&id)
	return id, store.Classify(err)
}

func supersede(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE certs.certificates SET status = 'superseded', superseded_at = $2 WHERE id = $1`, id, now)
	return store.Classify(err)
}

func linkSuperseded(ctx context.Context, tx pgx.Tx, old, repl int64) error {
	_, err := tx.Exec(ctx, `UPDATE certs.certificates SET superseded_by = $2 WHERE id = $1`, old, repl)
	return store.Classify(err)
}

// outdated locks up to n current certificates of the institution printed
// with data older than version; rows another run holds are skipped.
func outdated(ctx context.Context, tx pgx.Tx, institution string, version, n int) ([]Certificate, error) {
	rows, err := tx.Query(ctx, `SELECT `+certColumns+` FROM certs.certificates c
		WHERE c.institution_id = $1 AND c.status = 'valid' AND c.institution_version < $2
		ORDER BY c.id LIMIT $3 FOR UPDATE SKIP LOCKED`, institution, version, n)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Certificate, error) { return scanCert(r) })
	return out, store.Classify(err)
}

func institutionData(ctx context.Context, q store.Querier, id string) (events.Institution, bool, error) {
	var raw []byte
	err := q.QueryRow(ctx, `SELECT data FROM certs.institutions WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return events.Institution{}, false, nil
	}
	if err != nil {
		return events.Institution{}, false, store.Classify(err)
	}
	var inst events.Institution
	return inst, true, json.Unmarshal(raw, &inst)
}

// saveInstitution keeps the newest data of an institution; an older
// version (events may arrive out of order) changes nothing.
func saveInstitution(ctx context.Context, tx pgx.Tx, inst events.Institution, at time.Time) error {
	raw, err := json.Marshal(inst)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO certs.institutions (id, data, version, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
		WHERE certs.institutions.version < EXCLUDED.version`, inst.ID, raw, inst.Version, at)
	return store.Classify(err)
}

// Filter narrows the certificate list.
type Filter struct {
	Q, Code, Status, Kind string
}

func (f *Function) listCertificates(ctx context.Context, q store.Querier, v viewer, flt Filter, p httpx.Page) ([]Certificate, int, error) {
	var w store.Where
	w.AddWith(v.filter)
	if flt.Q != "" {
		w.Add("(c.certificate_no ILIKE ? OR c.client_name ILIKE ? OR c.instrument_name ILIKE ?)", store.Contains(flt.Q), store.Contains(flt.Q),
			store.Contains(flt.Q))
	}
	if flt.Code != "" {
		w.Add("c.credit_code = ?", flt.Code)
	}
	if flt.Status != "" {
		w.Add("c.status = ?", flt.Status)
	}
	if flt.Kind != "" {
		w.Add("c.kind = ?", flt.Kind)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM certs.certificates c`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := f.collect(q.Query(ctx, `SELECT `+certColumns+` FROM certs.certificates c`+w.SQL()+
		` ORDER BY c.issued_at DESC, c.id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...))
	return items, total, err
}

// partyOf is whom an account acts for, through metrology's published
// function; "" when metrology is not deployed here or the account is a
// regulator's.
func partyOf(ctx context.Context, q store.Querier, username string) (kind, ref string, err error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regprocedure('metrology.party_of(text)') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return "", "", store.Classify(err)
	}
	err = q.QueryRow(ctx, `SELECT kind, ref FROM metrology.party_of($1)`, username).Scan(&kind, &ref)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	return kind, ref, store.Classify(err)
}
