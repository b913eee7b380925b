package metrology

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// enterpriseColumns are read with scanEnterprise, from enterprises e with
// its instrument counts.
const enterpriseColumns = `e.credit_code, e.name, e.district_code, e.township_code, e.address, e.contact, e.phone, e.email,
	e.in_registry, e.version, e.created_at, e.updated_at,
	(SELECT count(*) FROM metrology.instruments i WHERE i.credit_code = e.credit_code AND i.status <> 'scrapped'),
	(SELECT count(*) FROM metrology.instruments i WHERE i.credit_code = e.credit_code AND i.status = 'in_use'),
	(SELECT count(*) FROM metrology.instruments i WHERE i.credit_code = e.credit_code AND i.status = 'in_use' AND i.valid_until < $1::date)`

func scanEnterprise(row pgx.Row) (Enterprise, error) {
	var e Enterprise
	err := row.Scan(&e.CreditCode, &e.Name, &e.DistrictCode, &e.TownshipCode, &e.Address, &e.Contact, &e.phone, &e.Email,
		&e.InRegistry, &e.Version, &e.CreatedAt, &e.UpdatedAt, &e.Instruments, &e.InUse, &e.Overdue)
	e.label()
	return e, store.Classify(err)
}

// getEnterprise reads one enterprise; today is the Beijing date its
// overdue count compares against.
func getEnterprise(ctx context.Context, q store.Querier, today time.Time, code string, lock bool) (Enterprise, error) {
	sql := `SELECT ` + enterpriseColumns + ` FROM metrology.enterprises e WHERE e.credit_code = $2`
	if lock {
		sql += ` FOR UPDATE OF e`
	}
	return scanEnterprise(q.QueryRow(ctx, sql, today, code))
}

func insertEnterprise(ctx context.Context, tx pgx.Tx, in EnterpriseInput, inRegistry bool, now time.Time) (Enterprise, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO metrology.enterprises (credit_code, name, district_code, township_code, address, contact,
			phone, email, in_registry, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		in.CreditCode, in.Name, in.DistrictCode, in.TownshipCode, in.Address, in.Contact, in.Phone, in.Email, inRegistry, now); err != nil {
		return Enterprise{}, store.Classify(err)
	}
	return getEnterprise(ctx, tx, dateOf(now), in.CreditCode, false)
}

func updateEnterprise(ctx context.Context, tx pgx.Tx, code string, in EnterpriseInput, now time.Time) (Enterprise, error) {
	if _, err := tx.Exec(ctx, `UPDATE metrology.enterprises SET name = $2, district_code = $3, township_code = $4, address = $5,
			contact = $6, phone = CASE WHEN $7 = '' THEN phone ELSE $7 END, email = $8, version = version + 1, updated_at = $9 WHERE credit_code = $1`,
		code, in.Name, in.DistrictCode, in.TownshipCode, in.Address, in.Contact, in.Phone, in.Email, now); err != nil {
		return Enterprise{}, store.Classify(err)
	}
	return getEnterprise(ctx, tx, dateOf(now), code, false)
}

func bindParty(ctx context.Context, tx pgx.Tx, username, kind, ref string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO metrology.parties (username, kind, ref, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (username) DO UPDATE SET kind = EXCLUDED.kind, ref = EXCLUDED.ref`, username, kind, ref, now)
	return store.Classify(err)
}

// registryEntity reads the register through its published function; a
// database without the registry (a metrology-only deployment) knows no
// entity.
func registryEntity(ctx context.Context, q store.Querier, code string) (RegistryEntity, bool, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regprocedure('registry.metrology_entity(text)') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return RegistryEntity{}, false, store.Classify(err)
	}
	var r RegistryEntity
	err := q.QueryRow(ctx, `SELECT credit_code, name, address, district_code, township_code, status FROM registry.metrology_entity($1)`, code).
		Scan(&r.CreditCode, &r.Name, &r.Address, &r.DistrictCode, &r.TownshipCode, &r.Status)
	if errors.Is(err, pgx.ErrNoRows) {
		return RegistryEntity{}, false, nil
	}
	return r, err == nil, store.Classify(err)
}

// EnterpriseFilter narrows the enterprise list.
type EnterpriseFilter struct {
	Q, District string
	Overdue     bool
}

// dated starts a Where whose $1 is today, the date the counts compare
// against.
func dated(today time.Time) *store.Where {
	var w store.Where
	w.AddWith(func(a *[]any) string { *a = append(*a, today); return "$1::date IS NOT NULL" })
	return &w
}

func listEnterprises(ctx context.Context, q store.Querier, today time.Time, v viewer, flt EnterpriseFilter, p httpx.Page) ([]Enterprise, int, error) {
	w := dated(today)
	w.AddWith(v.entFilter)
	if flt.Q != "" {
		w.Add("(e.name ILIKE ? OR e.credit_code LIKE ?)", store.Contains(flt.Q), store.Prefix(flt.Q))
	}
	if flt.District != "" {
		w.Add("e.district_code = ?", flt.District)
	}
	if flt.Overdue {
		w.Add("EXISTS (SELECT 1 FROM metrology.instruments i WHERE i.credit_code = e.credit_code AND i.status = 'in_use' AND i.valid_until < $1::date)")
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM metrology.enterprises e`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+enterpriseColumns+` FROM metrology.enterprises e`+w.SQL()+
		` ORDER BY e.district_code, e.name LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Enterprise, error) { return scanEnterprise(r) })
	return items, total, store.Classify(err)
}

func insertLocation(ctx context.Context, tx pgx.Tx, code string, in LocationInput, now time.Time) (Location, error) {
	var l Location
	err := tx.QueryRow(ctx, `INSERT INTO metrology.usage_locations (credit_code, name, address, created_at) VALUES ($1, $2, $3, $4)
		RETURNING id, credit_code, name, address, created_at`, code, in.Name, in.Address, now).
		Scan(&l.ID, &l.CreditCode, &l.Name, &l.Address, &l.CreatedAt)
	return l, store.Classify(err)
}

func listLocations(ctx context.Context, q store.Querier, code string) ([]Location, error) {
	rows, err := q.Query(ctx, `SELECT id, credit_code, name, address, created_at FROM metrology.usage_locations
		WHERE credit_code = $1 ORDER BY id`, code)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Location, error) {
		var l Location
		return l, r.Scan(&l.ID, &l.CreditCode, &l.Name, &l.Address, &l.CreatedAt)
	})
	if out == nil {
		out = []Location{}
	}
	return out, store.Classify(err)
}
