package metrology

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

const applicationColumns = `a.id, a.credit_code, e.name, e.district_code, e.township_code, a.institution_id, n.name, a.status, a.overdue,
	a.note, a.approval_note, a.approved_by, a.approved_at, a.decided_by, a.decided_at, a.return_reason, a.applicant, a.created_at, a.updated_at`

const applicationFrom = ` FROM metrology.applications a
	JOIN metrology.enterprises e ON e.credit_code = a.credit_code
	JOIN metrology.institutions n ON n.id = a.institution_id`

func scanApplication(row pgx.Row) (Application, error) {
	var a Application
	err := row.Scan(&a.ID, &a.CreditCode, &a.EnterpriseName, &a.DistrictCode, &a.townshipCode, &a.InstitutionID, &a.InstitutionName,
		&a.Status, &a.Overdue, &a.Note, &a.ApprovalNote, &a.ApprovedBy, &a.ApprovedAt, &a.DecidedBy, &a.DecidedAt, &a.ReturnReason,
		&a.Applicant, &a.CreatedAt, &a.UpdatedAt)
	a.StatusName = applicationStatusNames[a.Status]
	a.DistrictName = divisionName(a.DistrictCode)
	a.Items = []ApplicationItem{}
	return a, store.Classify(err)
}

const itemColumns = `t.id, t.application_id, t.instrument_id, i.name, i.serial_no, i.category_code, c.name, c.nozzles, i.nozzle_serials,
	(i.status = 'in_use' AND i.valid_until < $1::date), t.status, t.return_reason, t.returned_at, t.review, t.review_note, t.reviewed_by,
	t.reviewed_at, v.id, COALESCE(v.certificate_no, ''), COALESCE(v.result, '')`

const itemFrom = ` FROM metrology.application_items t
	JOIN metrology.instruments i ON i.id = t.instrument_id
	JOIN metrology.catalogue_categories c ON c.code = i.category_code
	LEFT JOIN metrology.verifications v ON v.application_item_id = t.id`

func scanItem(row pgx.Row) (ApplicationItem, error) {
	var it ApplicationItem
	var overdue *bool
	err := row.Scan(&it.ID, &it.ApplicationID, &it.InstrumentID, &it.InstrumentName, &it.SerialNo, &it.CategoryCode, &it.CategoryName,
		&it.PerNozzle, &it.NozzleSerials, &overdue, &it.Status, &it.ReturnReason, &it.ReturnedAt, &it.Review, &it.ReviewNote, &it.ReviewedBy,
		&it.ReviewedAt, &it.VerificationID, &it.CertificateNo, &it.Result)
	it.Overdue = overdue != nil && *overdue
	it.StatusName, it.ReviewName = itemStatusNames[it.Status], reviewNames[it.Review]
	if it.NozzleSerials == nil {
		it.NozzleSerials = []string{}
	}
	return it, store.Classify(err)
}

// withItems loads the items of the applications in one query.
func withItems(ctx context.Context, q store.Querier, today time.Time, apps []Application) error {
	if len(apps) == 0 {
		return nil
	}
	ids := make([]int64, len(apps))
	at := map[int64]int{}
	for i, a := range apps {
		ids[i], at[a.ID] = a.ID, i
	}
	rows, err := q.Query(ctx, `SELECT `+itemColumns+itemFrom+` WHERE t.application_id = ANY($2::bigint[]) ORDER BY t.id`, today, ids)
	if err != nil {
		return store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ApplicationItem, error) { return scanItem(r) })
	if err != nil {
		return store.Classify(err)
	}
	for _, it := range items {
		a := &apps[at[it.ApplicationID]]
		a.Items = append(a.Items, it)
	}
	return nil
}

func getApplication(ctx context.Context, q store.Querier, today time.Time, id int64, lock bool) (Application, error) {
	sql := `SELECT ` + applicationColumns + applicationFrom + ` WHERE a.id = $1`
	if lock {
		sql += ` FOR UPDATE OF a`
	}
	a, err := scanApplication(q.QueryRow(ctx, sql, id))
	if err != nil {
		return a, err
	}
	apps := []Application{a}
	err = withItems(ctx, q, today, apps)
	return apps[0], err
}

func insertApplication(ctx context.Context, tx pgx.Tx, in ApplicationInput, status string, overdue bool, applicant string, now time.Time) (int64, error) {
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO metrology.applications (credit_code, institution_id, status, note, overdue, applicant, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`, in.CreditCode, in.InstitutionID, status, in.Note, overdue, applicant, now).Scan(&id); err != nil {
		return 0, store.Classify(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO metrology.application_items (application_id, instrument_id)
		SELECT $1, unnest($2::bigint[])`, id, in.InstrumentIDs)
	return id, store.Classify(err)
}

func approveApplication(ctx context.Context, tx pgx.Tx, id int64, in ApprovalInput, by string, now time.Time) error {
	status := "submitted"
	if !in.Approve {
		status = "rejected"
		// A refused application releases its instruments.
		if _, err := tx.Exec(ctx, `UPDATE metrology.application_items SET status = 'returned', return_reason = $2, returned_at = $3
			WHERE application_id = $1`, id, "超期器具检定申请未获批准："+in.Note, now); err != nil {
			return store.Classify(err)
		}
	}
	_, err := tx.Exec(ctx, `UPDATE metrology.applications SET status = $2, approval_note = $3, approved_by = $4, approved_at = $5, updated_at = $5
		WHERE id = $1`, id, status, in.Note, by, now)
	return store.Classify(err)
}

func decideItems(ctx context.Context, tx pgx.Tx, id int64, returned map[int64]bool, reason string, now time.Time) error {
	var ids []int64
	for iid := range returned {
		ids = append(ids, iid)
	}
	b := &pgx.Batch{}
	b.Queue(`UPDATE metrology.application_items SET status = 'returned', return_reason = $3, returned_at = $4, review = 'pending'
		WHERE application_id = $1 AND instrument_id = ANY($2::bigint[])`, id, ids, reason, now)
	b.Queue(`UPDATE metrology.application_items SET status = 'accepted'
		WHERE application_id = $1 AND status = 'pending'`, id)
	return store.Classify(tx.SendBatch(ctx, b).Close())
}

func markDecided(ctx context.Context, tx pgx.Tx, id int64, in DecisionInput, by string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE metrology.applications SET decided_by = $2, decided_at = $3, return_reason = $4, updated_at = $3
		WHERE id = $1`, id, by, now, in.Reason)
	return store.Classify(err)
}

// refreshApplicationStatus derives an application's status from its
// items: all returned is 返回, some returned 部分退回, every other item
// verified 已完成.
func refreshApplicationStatus(ctx context.Context, tx pgx.Tx, id int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE metrology.applications a SET status = s.status, updated_at = $2
		FROM (SELECT CASE
				WHEN count(*) FILTER (WHERE status = 'pending') > 0 THEN NULL
				WHEN count(*) FILTER (WHERE status = 'returned') = count(*) THEN 'returned'
				WHEN count(*) FILTER (WHERE status = 'accepted') = 0 THEN 'completed'
				WHEN count(*) FILTER (WHERE status = 'returned') > 0 THEN 'partially_returned'
				ELSE 'accepted' END AS status
			FROM metrology.application_items WHERE application_id = $1) s
		WHERE a.id = $1 AND s.status IS NOT NULL AND a.status NOT IN ('pending_approval', 'rejected') AND a.status <> s.status`, id, now)
	return store.Classify(err)
}

func itemApplication(ctx context.Context, q store.Querier, itemID int64) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `SELECT application_id FROM metrology.application_items WHERE id = $1`, itemID).Scan(&id)
	return id, store.Classify(err)
}

func reviewItem(ctx context.Context, tx pgx.Tx, itemID int64, in ReviewInput, by string, now time.Time) error {
	sql := `UPDATE metrology.application_items SET review = $2, review_note = $3, reviewed_by = $4, reviewed_at = $5 WHERE id = $1`
	if in.Decision == "overturned" {
		// The return is withdrawn: the institution must verify it.
		sql = `UPDATE metrology.application_items SET review = $2, review_note = $3, reviewed_by = $4, reviewed_at = $5, status = 'accepted'
			WHERE id = $1`
	}
	_, err := tx.Exec(ctx, sql, itemID, in.Decision, in.Note, by, now)
	return store.Classify(err)
}

// ApplicationFilter narrows the application list.
type ApplicationFilter struct {
	Status, Code, Institution string
}

func listApplications(ctx context.Context, q store.Querier, today time.Time, v viewer, flt ApplicationFilter, p httpx.Page) ([]Application, int, error) {
	var w store.Where
	w.AddWith(v.entFilter)
	if v.kind == kindInstitution {
		w.Add("a.institution_id = ? AND a.status <> 'pending_approval'", v.ref)
	}
	if flt.Status != "" {
		w.Add("a.status = ?", flt.Status)
	}
	if flt.Code != "" {
		w.Add("a.credit_code = ?", flt.Code)
	}
	if flt.Institution != "" {
		w.Add("a.institution_id = ?", flt.Institution)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+applicationFrom+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+applicationColumns+applicationFrom+w.SQL()+` ORDER BY a.created_at DESC, a.id DESC LIMIT `+
		w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	apps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Application, error) { return scanApplication(r) })
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	return apps, total, withItems(ctx, q, today, apps)
}

// ReturnedItem is an instrument on the returned list (退回清单), for the
// county bureau's review.
type ReturnedItem struct {
	ApplicationItem
	CreditCode      string    `json:"credit_code"`
	EnterpriseName  string    `json:"enterprise_name"`
	DistrictName    string    `json:"district_name"`
	InstitutionName string    `json:"institution_name"`
	AppliedAt       time.Time `json:"applied_at"`
}

func listReturns(ctx context.Context, q store.Querier, today time.Time, v viewer, review string, p httpx.Page) ([]ReturnedItem, int, error) {
	w := dated(today)
	w.Add("t.status = 'returned' AND t.review <> ''")
	w.AddWith(v.entFilter)
	if v.kind == kindInstitution {
		w.Add("a.institution_id = ?", v.ref)
	}
	if review != "" {
		w.Add("t.review = ?", review)
	}
	from := itemFrom + ` JOIN metrology.applications a ON a.id = t.application_id
		JOIN metrology.enterprises e ON e.credit_code = a.credit_code JOIN metrology.institutions n ON n.id = a.institution_id`
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+from+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+itemColumns+`, a.credit_code, e.name, e.district_code, n.name, a.created_at`+from+w.SQL()+
		` ORDER BY t.returned_at DESC, t.id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReturnedItem, error) {
		var ri ReturnedItem
		var overdue *bool
		it := &ri.ApplicationItem
		err := r.Scan(&it.ID, &it.ApplicationID, &it.InstrumentID, &it.InstrumentName, &it.SerialNo, &it.CategoryCode, &it.CategoryName,
			&it.PerNozzle, &it.NozzleSerials, &overdue, &it.Status, &it.ReturnReason, &it.ReturnedAt, &it.Review, &it.ReviewNote, &it.ReviewedBy,
			&it.ReviewedAt, &it.VerificationID, &it.CertificateNo, &it.Result, &ri.CreditCode, &ri.EnterpriseName, &ri.DistrictName,
			&ri.InstitutionName, &ri.AppliedAt)
		it.Overdue = overdue != nil && *overdue
		it.StatusName, it.ReviewName = itemStatusNames[it.Status], reviewNames[it.Review]
		ri.DistrictName = divisionName(ri.DistrictName)
		if it.NozzleSerials == nil {
			it.NozzleSerials = []string{}
		}
		return ri, err
	})
	return out, total, store.Classify(err)
}
