package metrology

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/store"
)

const institutionColumns = `n.id, n.name, n.authorisation_no, to_char(n.authorised_until, 'YYYY-MM-DD'), n.address, n.phone, n.postcode,
	n.cert_prefix, ARRAY(SELECT p.username FROM metrology.parties p WHERE p.kind = 'institution' AND p.ref = n.id ORDER BY p.username),
	n.version, n.created_at, n.updated_at`

func scanInstitution(row pgx.Row) (Institution, error) {
	var i Institution
	err := row.Scan(&i.ID, &i.Name, &i.AuthorisationNo, &i.AuthorisedUntil, &i.Address, &i.Phone, &i.Postcode, &i.CertPrefix,
		&i.Usernames, &i.Version, &i.CreatedAt, &i.UpdatedAt)
	if i.Usernames == nil {
		i.Usernames = []string{}
	}
	return i, store.Classify(err)
}

func getInstitution(ctx context.Context, q store.Querier, id string, lock bool) (Institution, error) {
	sql := `SELECT ` + institutionColumns + ` FROM metrology.institutions n WHERE n.id = $1`
	if lock {
		sql += ` FOR UPDATE OF n`
	}
	return scanInstitution(q.QueryRow(ctx, sql, id))
}

func listInstitutions(ctx context.Context, q store.Querier) ([]Institution, error) {
	rows, err := q.Query(ctx, `SELECT `+institutionColumns+` FROM metrology.institutions n ORDER BY n.name`)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Institution, error) { return scanInstitution(r) })
	if out == nil {
		out = []Institution{}
	}
	return out, store.Classify(err)
}

func insertInstitution(ctx context.Context, tx pgx.Tx, in InstitutionInput, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO metrology.institutions (id, name, authorisation_no, authorised_until, address, phone, postcode,
			cert_prefix, created_at, updated_at) VALUES ($1, $2, $3, $4::date, $5, $6, $7, $8, $9, $9)`,
		in.ID, in.Name, in.AuthorisationNo, nullDate(in.AuthorisedUntil), in.Address, in.Phone, in.Postcode, in.CertPrefix, now)
	return store.Classify(err)
}

func updateInstitution(ctx context.Context, tx pgx.Tx, in InstitutionInput, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE metrology.institutions SET name = $2, authorisation_no = $3, authorised_until = $4::date, address = $5,
			phone = $6, postcode = $7, cert_prefix = $8, version = version + 1, updated_at = $9 WHERE id = $1`,
		in.ID, in.Name, in.AuthorisationNo, nullDate(in.AuthorisedUntil), in.Address, in.Phone, in.Postcode, in.CertPrefix, now)
	return store.Classify(err)
}

// bindMembers makes usernames exactly the accounts acting for the
// institution (an account moved from another party is rebound).
func bindMembers(ctx context.Context, tx pgx.Tx, id string, usernames []string, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM metrology.parties WHERE kind = 'institution' AND ref = $1 AND NOT (username = ANY($2::text[]))`,
		id, usernames); err != nil {
		return store.Classify(err)
	}
	for _, u := range usernames {
		if err := bindParty(ctx, tx, u, kindInstitution, id, now); err != nil {
			return err
		}
	}
	return nil
}

// nextCertificateNo takes the institution's next certificate number:
// prefix, year, six-digit sequence ("JD2026-000001"), under the row lock.
func nextCertificateNo(ctx context.Context, tx pgx.Tx, id string, year int) (string, error) {
	var prefix string
	var seq int
	err := tx.QueryRow(ctx, `UPDATE metrology.institutions SET next_cert_seq = next_cert_seq + 1 WHERE id = $1
		RETURNING cert_prefix, next_cert_seq - 1`, id).Scan(&prefix, &seq)
	if err != nil {
		return "", store.Classify(err)
	}
	return prefix + itoa(int64(year)) + "-" + pad6(seq), nil
}

func pad6(n int) string {
	s := itoa(int64(n))
	for len(s) < 6 {
		s = "0" + s
	}
	return s
}

const standardColumns = `s.id, s.institution_id, n.name, s.name, s.range_text, s.accuracy, s.categories, s.active, s.created_at, s.updated_at,
	COALESCE((SELECT json_agg(json_build_object('kind', c.kind, 'number', c.number, 'valid_until', to_char(c.valid_until, 'YYYY-MM-DD'))
		ORDER BY c.kind) FROM metrology.standard_certificates c WHERE c.standard_id = s.id), '[]'),
	COALESCE((SELECT json_agg(json_build_object('name', t.name, 'model', t.model, 'serial_no', t.serial_no, 'accuracy', t.accuracy,
		'certificate_no', t.certificate_no, 'valid_until', to_char(t.valid_until, 'YYYY-MM-DD')) ORDER BY t.id)
		FROM metrology.standard_instruments t WHERE t.standard_id = s.id), '[]')`

const standardFrom = ` FROM metrology.standards s JOIN metrology.institutions n ON n.id = s.institution_id`

func (f *Function) scanStandards(rows pgx.Rows, day time.Time) ([]Standard, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Standard, error) { return scanStandard(r, day) })
	for i := range out {
		for _, c := range out[i].Categories {
			if cat, ok := f.cat.Category(c); ok {
				out[i].CategoryNames = append(out[i].CategoryNames, cat.Name)
			}
		}
	}
	if out == nil {
		out = []Standard{}
	}
	return out, store.Classify(err)
}

func scanStandard(row pgx.Row, day time.Time) (Standard, error) {
	var s Standard
	var certs, insts []byte
	err := row.Scan(&s.ID, &s.InstitutionID, &s.InstitutionName, &s.Name, &s.Range, &s.Accuracy, &s.Categories, &s.Active,
		&s.CreatedAt, &s.UpdatedAt, &certs, &insts)
	if err != nil {
		return s, store.Classify(err)
	}
	s.Certificates, s.Instruments = []events.StandardCertificate{}, []events.StandardInstrument{}
	if err := json.Unmarshal(certs, &s.Certificates); err != nil {
		return s, err
	}
	if err := json.Unmarshal(insts, &s.Instruments); err != nil {
		return s, err
	}
	s.CategoryNames = []string{}
	s.Expired = expiry(s, day)
	return s, nil
}

func getStandard(ctx context.Context, q store.Querier, day time.Time, id int64) (Standard, error) {
	return scanStandard(q.QueryRow(ctx, `SELECT `+standardColumns+standardFrom+` WHERE s.id = $1`, id), day)
}

func standardsFor(ctx context.Context, q store.Querier, day time.Time, institution, category string) ([]Standard, error) {
	rows, err := q.Query(ctx, `SELECT `+standardColumns+standardFrom+
		` WHERE s.institution_id = $1 AND s.active AND $2 = ANY(s.categories) ORDER BY s.id`, institution, category)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Standard, error) { return scanStandard(r, day) })
	return out, store.Classify(err)
}

func (f *Function) queryStandards(ctx context.Context, q store.Querier, institution string) ([]Standard, error) {
	var w store.Where
	if institution != "" {
		w.Add("s.institution_id = ?", institution)
	}
	rows, err := q.Query(ctx, `SELECT `+standardColumns+standardFrom+w.SQL()+` ORDER BY n.name, s.name`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	return f.scanStandards(rows, f.today())
}

// saveStandard inserts (id 0) or replaces a standard with its
// certificates and main standard instruments.
func saveStandard(ctx context.Context, tx pgx.Tx, id int64, in StandardInput, now time.Time) (int64, error) {
	active := in.Active == nil || *in.Active
	var err error
	if id == 0 {
		err = tx.QueryRow(ctx, `INSERT INTO metrology.standards (institution_id, name, range_text, accuracy, categories, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, in.InstitutionID, in.Name, in.Range, in.Accuracy, in.Categories, active, now).Scan(&id)
	} else {
		_, err = tx.Exec(ctx, `UPDATE metrology.standards SET name = $2, range_text = $3, accuracy = $4, categories = $5, active = $6, updated_at = $7
			WHERE id = $1`, id, in.Name, in.Range, in.Accuracy, in.Categories, active, now)
	}
	if err != nil {
		return 0, store.Classify(err)
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM metrology.standard_certificates WHERE standard_id = $1`, id)
	b.Queue(`DELETE FROM metrology.standard_instruments WHERE standard_id = $1`, id)
	for _, c := range in.Certificates {
		b.Queue(`INSERT INTO metrology.standard_certificates (standard_id, kind, number, valid_until) VALUES ($1, $2, $3, $4::date)`,
			id, c.Kind, c.Number, c.ValidUntil)
	}
	for _, s := range in.Instruments {
		b.Queue(`INSERT INTO metrology.standard_instruments (standard_id, name, model, serial_no, accuracy, certificate_no, valid_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7::date)`, id, s.Name, s.Model, s.SerialNo, s.Accuracy, s.CertificateNo, s.ValidUntil)
	}
	return id, store.Classify(tx.SendBatch(ctx, b).Close())
}
