package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/functions/dashboard/geocode"
	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// PermGeo is the permission resource of geocoding quality (view, edit).
const PermGeo = "dashboard.geo"

const (
	maxNormalize = 10000 // addresses per normalisation call
	maxGeocode   = 200   // addresses per geocoding call (each may cost a paid AMap request)
)

func (f *Function) geoRoutes(m *httpx.Mux) {
	// FP-124: address normalisation with grades of accuracy.
	m.Handle("POST /dashboard/v1/geocode/normalize", httpx.Body(f.normalize), auth.Requires(PermGeo, "view"), httpx.NoEntity())
	// FP-139, FP-140: geocoding through AMap (cached), with the suspect points flagged.
	m.Handle("POST /dashboard/v1/geocode", httpx.Body(f.geocodeAddresses), auth.Requires(PermGeo, "edit"), httpx.NoEntity())
	// FP-140: the stations' worklist of suspect points, in their scope; confirm or move.
	m.Handle("GET /dashboard/v1/geocode/anomalies", httpx.Endpoint(f.listAnomalies), auth.Requires(PermGeo, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"status"}, httpx.PageParams...)...))
	m.Handle("POST /dashboard/v1/geocode/anomalies/{id}/confirm", httpx.Body(f.confirmAnomaly), auth.Requires(PermGeo, "edit"), httpx.NoEntity())
	m.Handle("POST /dashboard/v1/geocode/anomalies/{id}/fix", httpx.Body(f.fixAnomaly), auth.Requires(PermGeo, "edit"), httpx.NoEntity())
}

// AddressesInput is a batch of addresses.
type AddressesInput struct {
	Addresses []string `json:"addresses"`
}

func (in AddressesInput) check(limit int) error {
	if len(in.Addresses) == 0 {
		return errs.Fields([]errs.FieldError{{Field: "addresses", Message: "请至少提供一个地址"}})
	}
	if len(in.Addresses) > limit {
		return errs.Fields([]errs.FieldError{{Field: "addresses", Message: fmt.Sprintf("单次最多 %d 个地址", limit)}})
	}
	for i, a := range in.Addresses {
		if n := utf8.RuneCountInString(strings.TrimSpace(a)); n == 0 || n > 200 {
			return errs.Fields([]errs.FieldError{{Field: fmt.Sprintf("addresses[%d]", i), Message: "地址应为 1–200 个字"}})
		}
	}
	return nil
}

func (f *Function) normalize(_ *http.Request, in AddressesInput) (any, error) {
	if err := in.check(maxNormalize); err != nil {
		return nil, err
	}
	items := make([]geocode.Address, len(in.Addresses))
	grades := map[string]int{}
	for i, a := range in.Addresses {
		items[i] = f.norm.Normalize(a)
		grades[items[i].Grade]++
	}
	return map[string]any{"items": items, "grades": grades}, nil
}

// Geocoded is one address's geocoding answer.
type Geocoded struct {
	Address   geocode.Address `json:"address"`
	Found     bool            `json:"found"`
	Point     *geocode.Point  `json:"point"`
	Cached    bool            `json:"cached"`
	Issues    []string        `json:"issues"`
	AnomalyID *int64          `json:"anomaly_id"`
}

func (f *Function) geocodeAddresses(r *http.Request, in AddressesInput) (any, error) {
	if err := in.check(maxGeocode); err != nil {
		return nil, err
	}
	ctx := r.Context()
	out := make([]Geocoded, 0, len(in.Addresses))
	for _, raw := range in.Addresses {
		g, err := f.geocodeOne(ctx, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	if err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return auditlog.RecordBy(ctx, tx, Source, auditlog.ActorOf(r), auditlog.Operation{At: f.now(), Action: "dashboard.geocode",
			ObjectType: "address", ObjectID: strconv.Itoa(len(out)), After: map[string]any{"addresses": len(out)}})
	}); err != nil {
		return nil, err
	}
	return map[string]any{"items": out}, nil
}

func (f *Function) geocodeOne(ctx context.Context, raw string) (Geocoded, error) {
	a := f.norm.Normalize(raw)
	g := Geocoded{Address: a, Issues: []string{}}
	if a.Grade == geocode.GradeNone {
		g.Issues = append(g.Issues, a.Issues...)
		return g, nil // nothing AMap could be asked that would be worth paying for
	}
	p, found, cached, err := f.cachedGeocode(ctx, a.Normalized)
	if err != nil {
		return g, err
	}
	g.Found, g.Cached = found, cached
	if found {
		g.Point = &p
	}
	g.Issues = append(g.Issues, geocode.Check(a, p, found)...)
	if len(g.Issues) == 0 {
		return g, nil
	}
	var id int64
	var lng, lat *float64
	if found {
		lng, lat = &p.Lng, &p.Lat
	}
	err = f.pool.QueryRow(ctx, `INSERT INTO dashboard.geocode_anomalies (address, normalized, district_code, township_code, grade, issues,
		lng, lat, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (normalized) WHERE status = 'open' DO UPDATE SET issues = EXCLUDED.issues, lng = EXCLUDED.lng, lat = EXCLUDED.lat
		RETURNING id`, raw, a.Normalized, a.DistrictCode, a.TownshipCode, a.Grade, g.Issues, lng, lat, f.now()).Scan(&id)
	if err != nil {
		return g, store.Classify(err)
	}
	g.AnomalyID = &id
	return g, nil
}

// cachedGeocode answers from dashboard.geocode_cache while the entry is
// young enough, else asks AMap and keeps the answer (a miss too).
func (f *Function) cachedGeocode(ctx context.Context, normalized string) (geocode.Point, bool, bool, error) {
	var p geocode.Point
	var found bool
	var raw []byte
	err := f.pool.QueryRow(ctx, `SELECT found, point FROM dashboard.geocode_cache WHERE normalized = $1 AND cached_at > $2`,
		normalized, f.now().Add(-time.Duration(f.cfg.GeocodeCacheDays)*24*time.Hour)).Scan(&found, &raw)
	if err == nil {
		return p, found, true, json.Unmarshal(raw, &p)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return p, false, false, store.Classify(err)
	}
	p, found, err = f.geocoder.Geocode(ctx, normalized)
	switch {
	case errors.Is(err, geocode.ErrRateLimited):
		return p, false, false, errs.New(errs.Unavailable, "地图服务繁忙（超过每秒请求上限），请稍后重试")
	case errors.Is(err, geocode.ErrQuota):
		return p, false, false, errs.New(errs.Unavailable, "今日地理编码额度已用完，请明日再试或联系管理员")
	case errors.Is(err, geocode.ErrAuth):
		f.log.Error("amap refused the key or signature", "err", err)
		return p, false, false, errs.New(errs.Unavailable, "地图服务拒绝了本平台的 Key 或签名，请联系管理员检查配置")
	case err != nil:
		return p, false, false, errs.New(errs.Unavailable, "地图服务暂不可用，请稍后重试")
	}
	raw, _ = json.Marshal(p)
	_, err = f.pool.Exec(ctx, `INSERT INTO dashboard.geocode_cache (normalized, found, point, cached_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (normalized) DO UPDATE SET found = EXCLUDED.found, point = EXCLUDED.point, cached_at = EXCLUDED.cached_at`,
		normalized, found, raw, f.now())
	return p, found, false, store.Classify(err)
}

// Anomaly is a suspect point in a station's worklist.
type Anomaly struct {
	ID           int64      `json:"id"`
	Address      string     `json:"address"`
	Normalized   string     `json:"normalized"`
	DistrictCode string     `json:"district_code"`
	DistrictName string     `json:"district_name"`
	TownshipCode string     `json:"township_code"`
	Grade        string     `json:"grade"`
	Issues       []string   `json:"issues"`
	Lng          *float64   `json:"lng"`
	Lat          *float64   `json:"lat"`
	Status       string     `json:"status"`
	FixedLng     *float64   `json:"fixed_lng"`
	FixedLat     *float64   `json:"fixed_lat"`
	Note         string     `json:"note"`
	HandledBy    string     `json:"handled_by"`
	HandledAt    *time.Time `json:"handled_at"`
	CreatedAt    time.Time  `json:"created_at"`
}

const anomalyCols = `id, address, normalized, district_code, township_code, grade, issues, lng, lat, status, fixed_lng, fixed_lat,
	note, handled_by, handled_at, created_at`

func scanAnomaly(r pgx.Row) (Anomaly, error) {
	var a Anomaly
	err := r.Scan(&a.ID, &a.Address, &a.Normalized, &a.DistrictCode, &a.TownshipCode, &a.Grade, &a.Issues, &a.Lng, &a.Lat, &a.Status,
		&a.FixedLng, &a.FixedLat, &a.Note, &a.HandledBy, &a.HandledAt, &a.CreatedAt)
	if d, ok := divisionName(a.DistrictCode); ok {
		a.DistrictName = d
	}
	return a, err
}

func (f *Function) listAnomalies(r *http.Request) (any, error) {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "open"
	}
	if status != "open" && status != "confirmed" && status != "fixed" {
		return nil, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 open（待处理）、confirmed（已确认）或 fixed（已纠正）"}})
	}
	p := principal(r)
	if p.Scope.IsEmpty() {
		return map[string]any{"items": []Anomaly{}, "total": 0, "page": page.Page, "page_size": page.Size, "notice": EmptyScopeNotice}, nil
	}
	args := []any{status}
	where := `status = $1 AND ` + p.Scope.Filter("district_code", "township_code", &args)
	var total int
	if err := f.pool.QueryRow(r.Context(), `SELECT count(*) FROM dashboard.geocode_anomalies WHERE `+where, args...).Scan(&total); err != nil {
		return nil, store.Classify(err)
	}
	args = append(args, page.Size, page.Offset())
	rows, err := f.pool.Query(r.Context(), `SELECT `+anomalyCols+` FROM dashboard.geocode_anomalies WHERE `+where+
		` ORDER BY id DESC LIMIT $`+itoa(len(args)-1)+` OFFSET $`+itoa(len(args)), args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Anomaly, error) { return scanAnomaly(row) })
	if err != nil {
		return nil, store.Classify(err)
	}
	return httpx.NewPage(items, total, page), nil
}

// HandleInput confirms a suspect point or moves it.
type HandleInput struct {
	Lng  *float64 `json:"lng"`
	Lat  *float64 `json:"lat"`
	Note string   `json:"note"`
}

func (f *Function) confirmAnomaly(r *http.Request, in HandleInput) (any, error) {
	return f.handleAnomaly(r, in, "confirmed")
}

func (f *Function) fixAnomaly(r *http.Request, in HandleInput) (any, error) {
	var fe []errs.FieldError
	// The city's extent, with a margin: a point outside it is a typo.
	if in.Lng == nil || *in.Lng < 113.4 || *in.Lng > 115.6 {
		fe = append(fe, errs.FieldError{Field: "lng", Message: "经度应在石家庄市范围内（113.4–115.6）"})
	}
	if in.Lat == nil || *in.Lat < 37.3 || *in.Lat > 38.9 {
		fe = append(fe, errs.FieldError{Field: "lat", Message: "纬度应在石家庄市范围内（37.3–38.9）"})
	}
	if err := errs.Fields(fe); err != nil {
		return nil, err
	}
	return f.handleAnomaly(r, in, "fixed")
}

func (f *Function) handleAnomaly(r *http.Request, in HandleInput, status string) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.New(errs.NotFound, "异常点位不存在")
	}
	in.Note = strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(in.Note) > 500 {
		return nil, errs.Fields([]errs.FieldError{{Field: "note", Message: "说明最多 500 个字"}})
	}
	p := principal(r)
	who := auditlog.ActorOf(r)
	var a Anomaly
	err = store.InTx(r.Context(), f.pool, func(tx pgx.Tx) error {
		cur, err := scanAnomaly(tx.QueryRow(r.Context(), `SELECT `+anomalyCols+` FROM dashboard.geocode_anomalies WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !p.Scope.Allows(cur.DistrictCode, cur.TownshipCode)) {
			return errs.New(errs.NotFound, "异常点位不存在")
		} else if err != nil {
			return err
		}
		if cur.Status != "open" {
			return errs.New(errs.Conflict, "该点位已处理")
		}
		a, err = scanAnomaly(tx.QueryRow(r.Context(), `UPDATE dashboard.geocode_anomalies SET status = $2, fixed_lng = $3, fixed_lat = $4,
			note = $5, handled_by = $6, handled_at = $7 WHERE id = $1 RETURNING `+anomalyCols, id, status, in.Lng, in.Lat, in.Note, who.Username, f.now()))
		if err != nil {
			return err
		}
		return auditlog.RecordBy(r.Context(), tx, Source, who, auditlog.Operation{At: f.now(), Action: "dashboard.geocode." + status,
			ObjectType: "geocode_anomaly", ObjectID: itoa(int(id)), Before: cur, After: a})
	})
	return a, classify(err)
}
