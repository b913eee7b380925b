package metrology

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// instrumentFrom joins what an Instrument shows; $1 is today.
const instrumentFrom = ` FROM metrology.instruments i
	JOIN metrology.enterprises e ON e.credit_code = i.credit_code
	JOIN metrology.catalogue_categories c ON c.code = i.category_code
	JOIN metrology.catalogue_items ci ON ci.code = c.item_code
	LEFT JOIN metrology.usage_locations l ON l.id = i.location_id`

const instrumentColumns = `i.id, i.credit_code, e.name, e.district_code, e.township_code, c.item_code, ci.name, i.category_code, c.name, c.nozzles,
	i.name, i.model, i.serial_no, i.manufacturer, i.range_text, i.accuracy, i.location_id, COALESCE(l.name, ''), i.status, i.nozzle_serials,
	to_char(i.last_verified_on, 'YYYY-MM-DD'), to_char(i.valid_until, 'YYYY-MM-DD'), i.last_result,
	(i.status = 'in_use' AND i.valid_until < $1::date), GREATEST(COALESCE($1::date - i.valid_until, 0), 0),
	i.version, i.created_at, i.updated_at`

func scanInstrument(row pgx.Row) (Instrument, error) {
	var in Instrument
	var overdue *bool
	err := row.Scan(&in.ID, &in.CreditCode, &in.EnterpriseName, &in.DistrictCode, &in.townshipCode, &in.ItemCode, &in.ItemName,
		&in.CategoryCode, &in.CategoryName, &in.PerNozzle, &in.Name, &in.Model, &in.SerialNo, &in.Manufacturer, &in.Range, &in.Accuracy,
		&in.LocationID, &in.LocationName, &in.Status, &in.NozzleSerials, &in.LastVerifiedOn, &in.ValidUntil, &in.LastResult,
		&overdue, &in.OverdueDays, &in.Version, &in.CreatedAt, &in.UpdatedAt)
	in.Overdue = overdue != nil && *overdue
	if !in.Overdue {
		in.OverdueDays = 0
	}
	in.StatusName = statusNames[in.Status]
	in.DistrictName = divisionName(in.DistrictCode)
	if in.NozzleSerials == nil {
		in.NozzleSerials = []string{}
	}
	return in, store.Classify(err)
}

func getInstrument(ctx context.Context, q store.Querier, today time.Time, id int64, lock bool) (Instrument, error) {
	sql := `SELECT ` + instrumentColumns + instrumentFrom + ` WHERE i.id = $2`
	if lock {
		sql += ` FOR UPDATE OF i`
	}
	return scanInstrument(q.QueryRow(ctx, sql, today, id))
}

func nullDate(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func insertInstrument(ctx context.Context, tx pgx.Tx, in InstrumentInput, status string, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO metrology.instruments (credit_code, category_code, name, model, serial_no, manufacturer,
			range_text, accuracy, location_id, status, nozzle_serials, last_verified_on, valid_until, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::date, $13::date, $14, $14) RETURNING id`,
		in.CreditCode, in.CategoryCode, in.Name, in.Model, in.SerialNo, in.Manufacturer, in.Range, in.Accuracy, in.LocationID, status,
		in.NozzleSerials, nullDate(in.LastVerifiedOn), nullDate(in.ValidUntil), now).Scan(&id)
	return id, store.Classify(err)
}

func updateInstrument(ctx context.Context, tx pgx.Tx, id int64, in InstrumentInput, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE metrology.instruments SET category_code = $2, name = $3, model = $4, serial_no = $5, manufacturer = $6,
			range_text = $7, accuracy = $8, nozzle_serials = $9, version = version + 1, updated_at = $10 WHERE id = $1`,
		id, in.CategoryCode, in.Name, in.Model, in.SerialNo, in.Manufacturer, in.Range, in.Accuracy, in.NozzleSerials, now)
	return store.Classify(err)
}

func setStatus(ctx context.Context, tx pgx.Tx, id int64, status string, loc *int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE metrology.instruments SET status = $2, location_id = $3, version = version + 1, updated_at = $4
		WHERE id = $1`, id, status, loc, now)
	return store.Classify(err)
}

func checkLocation(ctx context.Context, q store.Querier, code string, id int64) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM metrology.usage_locations WHERE id = $1 AND credit_code = $2)`, id, code).Scan(&ok); err != nil {
		return store.Classify(err)
	}
	if !ok {
		return errs.Fields([]errs.FieldError{{Field: FieldLocationID, Message: "使用地点不存在或不属于该单位"}})
	}
	return nil
}

func logChange(ctx context.Context, tx pgx.Tx, id int64, kind, from, to, user string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO metrology.instrument_changes (instrument_id, kind, from_status, to_status, username, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, kind, from, to, user, now)
	return store.Classify(err)
}

// InstrumentFilter narrows the instrument list (FP-178: the county view
// is this list within the caller's scope).
type InstrumentFilter struct {
	Q, Code, District, Status, Category, Item string
	Overdue                                   bool
	Sort                                      httpx.Sort
}

var instrumentSorts = map[string]string{"valid_until": "i.valid_until", "created_at": "i.created_at", "name": "i.name", "enterprise": "e.name"}

func listInstruments(ctx context.Context, q store.Querier, today time.Time, v viewer, flt InstrumentFilter, p httpx.Page) ([]Instrument, int, error) {
	w := dated(today)
	w.AddWith(v.entFilter)
	if flt.Q != "" {
		w.Add("(i.name ILIKE ? OR i.serial_no ILIKE ? OR e.name ILIKE ?)", store.Contains(flt.Q), store.Contains(flt.Q), store.Contains(flt.Q))
	}
	if flt.Code != "" {
		w.Add("i.credit_code = ?", flt.Code)
	}
	if flt.District != "" {
		w.Add("e.district_code = ?", flt.District)
	}
	if flt.Status != "" {
		w.Add("i.status = ?", flt.Status)
	}
	if flt.Category != "" {
		w.Add("i.category_code = ?", flt.Category)
	}
	if flt.Item != "" {
		w.Add("c.item_code = ?", flt.Item)
	}
	if flt.Overdue {
		w.Add("i.status = 'in_use' AND i.valid_until < $1::date")
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+instrumentFrom+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	order := "i.id DESC"
	if col, ok := instrumentSorts[flt.Sort.Field]; ok {
		order = col + " " + flt.Sort.Dir() + " NULLS LAST, i.id"
	}
	rows, err := q.Query(ctx, `SELECT `+instrumentColumns+instrumentFrom+w.SQL()+` ORDER BY `+order+
		` LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Instrument, error) { return scanInstrument(r) })
	return items, total, store.Classify(err)
}

// Change is one entry of an instrument's history.
type Change struct {
	Kind       string    `json:"kind"`
	FromStatus string    `json:"from_status"`
	ToStatus   string    `json:"to_status"`
	Username   string    `json:"username"`
	At         time.Time `json:"at"`
}

func instrumentChanges(ctx context.Context, q store.Querier, id int64) ([]Change, error) {
	rows, err := q.Query(ctx, `SELECT kind, from_status, to_status, username, at FROM metrology.instrument_changes
		WHERE instrument_id = $1 ORDER BY at DESC, id DESC LIMIT 100`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Change, error) {
		var c Change
		return c, r.Scan(&c.Kind, &c.FromStatus, &c.ToStatus, &c.Username, &c.At)
	})
	if out == nil {
		out = []Change{}
	}
	return out, store.Classify(err)
}
