// Package registry is the market-entity base library (市场主体基础库,
// FP-13, 17–19, 56, 99): entities keyed by unified social credit code, the
// records of each entity's file, search, bulk import, and the
// entity.registered / updated / deregistered events.
package registry

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Name is the function's name: its route prefix and Knative Service.
const Name = "registry"

// Source is the CloudEvents source of everything the registry emits.
const Source = "/functions/registry"

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations is the registry schema's one migration stream.
func Migrations() []store.Migration {
	return []store.Migration{{Component: Name, FS: migrations, Dir: "migrations"}}
}

// Config is the registry's own settings.
type Config struct {
	MaxExportRows int `env:"REGISTRY_MAX_EXPORT_ROWS" default:"10000" help:"单次导出市场主体的最大行数（更大的抽取走数据共享接口）"`
}

// Validate refuses settings the registry cannot work with.
func (c Config) Validate() error {
	if c.MaxExportRows < 1 {
		return errors.New("registry: REGISTRY_MAX_EXPORT_ROWS must be at least 1")
	}
	return nil
}

// Verifier puts the caller's principal into each request
// (*auth.Verifier).
type Verifier interface {
	Middleware(next http.Handler) http.Handler
}

// Deps is what the registry needs.
type Deps struct {
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Now    func() time.Time
	// Verifier authenticates callers; every API but the OpenAPI document
	// needs a principal with the right permission, and reads and writes
	// are confined to the principal's data scope.
	Verifier Verifier
}

// Function is the registry.
type Function struct {
	log      *slog.Logger
	pool     *pgxpool.Pool
	now      func() time.Time
	verifier Verifier
	cfg      Config
}

// New checks the dependencies and the settings and builds the function;
// it does no I/O.
func New(d Deps, c Config) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("registry: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("registry: Pool is required")
	case d.Now == nil:
		return nil, errors.New("registry: Now is required")
	case d.Verifier == nil:
		return nil, errors.New("registry: Verifier is required")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Function{log: d.Logger, pool: d.Pool, now: d.Now, verifier: d.Verifier, cfg: c}, nil
}

// Ready answers when the database does.
func (f *Function) Ready(ctx context.Context) error { return f.pool.Ping(ctx) }

func (f *Function) newEvent(typ, subject string, data any) (event.Event, error) {
	return outbox.NewEvent(Source, typ, subject, data, f.now())
}

// errOutsideScope refuses a write that would place an entity where the
// caller may not see it.
var errOutsideScope = &errs.Error{Code: errs.Forbidden, Message: "无权登记或变更到您的数据权限范围以外的行政区划",
	Fields: []errs.FieldError{{Field: "district_code", Message: "不在您的数据权限范围内"}}}

// visible confines reads and writes to the caller's data scope: an entity
// outside it answers exactly like a missing one, so its existence does not
// leak.
func visible(scope auth.Scope, e Entity) error {
	if !scope.Allows(e.DistrictCode, e.TownshipCode) {
		return errs.ErrNotFound
	}
	return nil
}

// audit writes the operation-log row of a change to e (FP-8) in tx, so it
// exists exactly when the change commits.
func (f *Function) audit(ctx context.Context, tx pgx.Tx, who auditlog.Actor, action string, e Entity, before, after any) error {
	return auditlog.RecordBy(ctx, tx, Source, who, auditlog.Operation{At: f.now(), Action: action, ObjectType: "entity",
		ObjectID: e.CreditCode, DistrictCode: e.DistrictCode, TownshipCode: e.TownshipCode, Before: before, After: after})
}

// Create registers a new entity inside the caller's scope and emits
// entity.registered.
func (f *Function) Create(ctx context.Context, scope auth.Scope, who auditlog.Actor, in EntityInput) (Entity, error) {
	if err := in.Validate(); err != nil {
		return Entity{}, err
	}
	if !scope.Allows(in.DistrictCode, in.TownshipCode) {
		return Entity{}, errOutsideScope
	}
	var out Entity
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := insertEntity(ctx, tx, in, f.now())
		if errors.Is(err, errs.ErrConflict) {
			return &errs.Error{Code: errs.Conflict, Message: "该统一社会信用代码已登记", Err: err,
				Fields: []errs.FieldError{{Field: "credit_code", Message: "该统一社会信用代码已登记"}}}
		}
		if err != nil {
			return err
		}
		ev, err := f.newEvent(events.EntityRegistered, e.CreditCode, events.EntityRegisteredData{Entity: e.event(), RegisteredAt: e.CreatedAt})
		if err != nil {
			return err
		}
		out = e
		if err := f.audit(ctx, tx, who, "registry.entity.create", e, nil, e); err != nil {
			return err
		}
		return outbox.Record(ctx, tx, ev)
	})
	return out, err
}

// Update replaces an entity's fields. The caller sends the version it read;
// a stale version is a conflict, so two clerks cannot silently overwrite
// each other. It emits entity.updated, and entity.deregistered when the
// entity leaves the active state.
func (f *Function) Update(ctx context.Context, scope auth.Scope, who auditlog.Actor, code string, in EntityInput) (Entity, error) {
	in.CreditCode = code
	if err := in.Validate(); err != nil {
		return Entity{}, err
	}
	if in.Version < 1 {
		return Entity{}, errs.Fields([]errs.FieldError{{Field: "version", Message: "请提供读取时的版本号 version"}})
	}
	var out Entity
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getEntity(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if err := visible(scope, old); err != nil {
			return err
		}
		if !scope.Allows(in.DistrictCode, in.TownshipCode) {
			return errOutsideScope
		}
		if old.Version != in.Version {
			return errs.New(errs.Conflict, "该主体信息已被他人修改，请刷新后重试")
		}
		changed := changedFields(old, in)
		if len(changed) == 0 {
			out = old
			return nil
		}
		e, err := updateEntity(ctx, tx, in, f.now())
		if err != nil {
			return err
		}
		out = e
		if err := f.audit(ctx, tx, who, "registry.entity.update", e, old, e); err != nil {
			return err
		}
		return f.recordUpdate(ctx, tx, old, e, changed)
	})
	return out, err
}

func (f *Function) recordUpdate(ctx context.Context, tx pgx.Tx, old, e Entity, changed []string) error {
	ev, err := f.newEvent(events.EntityUpdated, e.CreditCode, events.EntityUpdatedData{Entity: e.event(), Changed: changed, UpdatedAt: e.UpdatedAt})
	if err != nil {
		return err
	}
	evs := []event.Event{ev}
	if old.Status == "active" && e.Status != "active" {
		d, err := f.newEvent(events.EntityDeregistered, e.CreditCode, events.EntityDeregisteredData{
			CreditCode: e.CreditCode, Status: e.Status, Version: e.Version, ChangedAt: e.UpdatedAt})
		if err != nil {
			return err
		}
		evs = append(evs, d)
	}
	return outbox.Record(ctx, tx, evs...)
}

func changedFields(old Entity, in EntityInput) []string {
	var out []string
	cmp := func(name, a, b string) {
		if a != b {
			out = append(out, name)
		}
	}
	cmp("name", old.Name, in.Name)
	cmp("entity_type", old.EntityType, in.EntityType)
	cmp("legal_rep", old.LegalRep, in.LegalRep)
	cmp("established_on", old.EstablishedOn, in.EstablishedOn)
	cmp("registered_capital", old.RegisteredCapital, trimDecimal(string(in.RegisteredCapital)))
	cmp("business_scope", old.BusinessScope, in.BusinessScope)
	cmp("address", old.Address, in.Address)
	cmp("district_code", old.DistrictCode, in.DistrictCode)
	cmp("township_code", old.TownshipCode, in.TownshipCode)
	cmp("industry_code", old.IndustryCode, in.IndustryCode)
	cmp("status", old.Status, in.Status)
	if !sameCoord(old.Longitude, in.Longitude) || !sameCoord(old.Latitude, in.Latitude) {
		out = append(out, "location")
	}
	return out
}

func sameCoord(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	d := *a - *b
	return d < 1e-6 && d > -1e-6
}

// Get returns one entity of the caller's scope.
func (f *Function) Get(ctx context.Context, scope auth.Scope, code string) (Entity, error) {
	e, err := getEntity(ctx, f.pool, code, false)
	if err != nil {
		return Entity{}, err
	}
	return e, visible(scope, e)
}

// AddRecord appends a record to an entity's file and bumps its version
// (consumers caching the public page refresh on entity.updated).
func (f *Function) AddRecord(ctx context.Context, scope auth.Scope, who auditlog.Actor, code string, in RecordInput) (Record, error) {
	if err := in.Validate(); err != nil {
		return Record{}, err
	}
	var out Record
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := getEntity(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if err := visible(scope, old); err != nil {
			return err
		}
		if out, err = insertRecord(ctx, tx, code, in, f.now()); err != nil {
			return err
		}
		e, err := scanEntity(tx.QueryRow(ctx, `UPDATE registry.entities SET version = version + 1, updated_at = $2
			WHERE credit_code = $1 RETURNING `+entityColumns, code, f.now()))
		if err != nil {
			return err
		}
		if err := f.audit(ctx, tx, who, "registry.record.create", e, nil, out); err != nil {
			return err
		}
		return f.recordUpdate(ctx, tx, old, e, []string{"records." + in.Kind})
	})
	return out, err
}

// Profile is the one-household-one-file view (一户一档, FP-99).
type Profile struct {
	Entity   Entity         `json:"entity"`
	Sections []Section      `json:"sections"`
	Counts   map[string]int `json:"counts"`
}

// Section is one kind of record in a profile; empty sections are listed
// too, so a page can say "暂无记录".
type Section struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Records []Record `json:"records"`
}

// Profile loads an entity with all its records in one query.
func (f *Function) Profile(ctx context.Context, scope auth.Scope, code string) (Profile, error) {
	e, recs, err := profileRows(ctx, f.pool, code)
	if err != nil {
		return Profile{}, err
	}
	if err := visible(scope, e); err != nil {
		return Profile{}, err
	}
	p := Profile{Entity: e, Counts: map[string]int{}}
	for _, k := range recordKindOrder {
		s := Section{Kind: k, Name: recordKinds[k], Records: []Record{}}
		for _, r := range recs {
			if r.Kind == k {
				s.Records = append(s.Records, r)
			}
		}
		p.Counts[k] = len(s.Records)
		p.Sections = append(p.Sections, s)
	}
	return p, nil
}

// Stats returns the entity-count snapshot, computing it on first use,
// limited to the districts the caller sees whole (the snapshot counts by
// district, so a scope of single townships sees no rows here).
func (f *Function) Stats(ctx context.Context, scope auth.Scope) ([]StatRow, *time.Time, error) {
	rows, at, err := readStats(ctx, f.pool)
	if err == nil && at == nil {
		if err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error { return refreshStats(ctx, tx, f.now()) }); err != nil {
			return nil, nil, err
		}
		rows, at, err = readStats(ctx, f.pool)
	}
	rows = slices.DeleteFunc(rows, func(s StatRow) bool { return !scope.Allows(s.DistrictCode, "") })
	return label(rows), at, err
}

func label(rows []StatRow) []StatRow {
	for i := range rows {
		if d, ok := codes.Divisions().Lookup(rows[i].DistrictCode); ok {
			rows[i].DistrictName = d.Name
		}
	}
	return rows
}
