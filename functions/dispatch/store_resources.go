package dispatch

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// ResourceKinds are the map's resource layers besides the inspectors
// (FP-143), with the names the centre shows.
var ResourceKinds = map[string]string{"station": "监管所", "camera": "监控摄像头", "device": "执法设备", "vehicle": "执法车辆"}

// Resource is one resource on the map.
type Resource struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	Code      string    `json:"code"`
	Status    string    `json:"status"`
	Phone     string    `json:"phone"`
	Note      string    `json:"note"`
	Lat       float64   `json:"lat"`
	Lng       float64   `json:"lng"`
	District  string    `json:"district"`
	Township  string    `json:"township"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Distance  float64   `json:"distance,omitempty"` // metres from a selection's point
}

const resourceCols = `id::text, kind, name, code, status, phone, note, lat, lng, district, township, created_at, updated_at`

func scanResource(r pgx.Row) (Resource, error) {
	var x Resource
	err := r.Scan(&x.ID, &x.Kind, &x.Name, &x.Code, &x.Status, &x.Phone, &x.Note, &x.Lat, &x.Lng, &x.District, &x.Township,
		&x.CreatedAt, &x.UpdatedAt)
	return x, err
}

// maxResources caps one map layer's answer; a selection narrows it.
const maxResources = 5000

// Resources lists the resources of the given kinds (all when none) inside
// the caller's scope, selected as live positions are.
func (f *Function) Resources(ctx context.Context, s auth.Scope, kinds []string, sel Selection) ([]Resource, error) {
	args := []any{}
	where := []string{s.Filter("district", "township", &args)}
	if len(kinds) > 0 {
		args = append(args, kinds)
		where = append(where, "kind = ANY($"+strconv.Itoa(len(args))+")")
	}
	dist, order, limit, more := sel.sql(&args, "kind, name")
	if limit == "" {
		limit = " LIMIT " + strconv.Itoa(maxResources)
	}
	rows, err := f.pool.Query(ctx, `SELECT `+resourceCols+`, `+dist+` FROM dispatch.resources WHERE `+
		strings.Join(append(where, more...), " AND ")+` ORDER BY `+order+limit, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Resource, error) {
		var x Resource
		err := r.Scan(&x.ID, &x.Kind, &x.Name, &x.Code, &x.Status, &x.Phone, &x.Note, &x.Lat, &x.Lng, &x.District, &x.Township,
			&x.CreatedAt, &x.UpdatedAt, &x.Distance)
		return x, err
	})
	return out, store.Classify(err)
}

// SaveResource adds a resource (id "") or changes one inside the caller's
// scope; the operation log keeps both states.
func (f *Function) SaveResource(ctx context.Context, a auditlog.Actor, s auth.Scope, id string, in ResourceInput) (Resource, error) {
	district, township := jurisdiction(s, in.District, in.Township)
	now := f.now()
	var out Resource
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var before any
		var err error
		if id == "" {
			out, err = scanResource(tx.QueryRow(ctx, `INSERT INTO dispatch.resources (id, kind, name, code, status, phone, note,
				lat, lng, geom, district, township, created_by, created_at, updated_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9, ST_SetSRID(ST_MakePoint($9,$8),4326)::geography, $10,$11,$12,$13,$13)
				RETURNING `+resourceCols, uuid.New(), in.Kind, in.Name, in.Code, in.Status, in.Phone, in.Note, *in.Lat, *in.Lng,
				district, township, a.UserID, now))
		} else {
			old, err := scopedResource(ctx, tx, s, id)
			if err != nil {
				return err
			}
			before = old
			out, err = scanResource(tx.QueryRow(ctx, `UPDATE dispatch.resources SET kind = $2, name = $3, code = $4, status = $5,
				phone = $6, note = $7, lat = $8, lng = $9, geom = ST_SetSRID(ST_MakePoint($9,$8),4326)::geography,
				district = $10, township = $11, updated_at = $12 WHERE id = $1 RETURNING `+resourceCols,
				old.ID, in.Kind, in.Name, in.Code, in.Status, in.Phone, in.Note, *in.Lat, *in.Lng, district, township, now))
		}
		if err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Fields([]errs.FieldError{{Field: "code", Message: "同类资源中已有编号 " + in.Code}})
			}
			return err
		}
		action := "dispatch.resource.create"
		if id != "" {
			action = "dispatch.resource.edit"
		}
		return auditlog.RecordBy(ctx, tx, Source, a, auditlog.Operation{Action: action, ObjectType: "dispatch.resource", ObjectID: out.ID,
			DistrictCode: out.District, TownshipCode: out.Township, Before: before, After: out})
	})
	return out, store.Classify(err)
}

// DeleteResource removes a resource inside the caller's scope.
func (f *Function) DeleteResource(ctx context.Context, a auditlog.Actor, s auth.Scope, id string) error {
	return store.Classify(store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := scopedResource(ctx, tx, s, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dispatch.resources WHERE id = $1`, old.ID); err != nil {
			return err
		}
		return auditlog.RecordBy(ctx, tx, Source, a, auditlog.Operation{Action: "dispatch.resource.delete", ObjectType: "dispatch.resource",
			ObjectID: old.ID, DistrictCode: old.District, TownshipCode: old.Township, Before: old})
	}))
}

func scopedResource(ctx context.Context, tx pgx.Tx, s auth.Scope, id string) (Resource, error) {
	args := []any{id}
	r, err := scanResource(tx.QueryRow(ctx, `SELECT `+resourceCols+` FROM dispatch.resources WHERE id::text = $1 AND `+
		s.Filter("district", "township", &args)+` FOR UPDATE`, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, errs.New(errs.NotFound, "资源不存在或不在本辖区")
	}
	return r, err
}
