package dispatch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
)

// Position is one GPS fix of a phone.
type Position struct {
	UserID   string    `json:"user_id"`
	Name     string    `json:"name,omitempty"`
	At       time.Time `json:"at"`
	Lat      float64   `json:"lat"`
	Lng      float64   `json:"lng"`
	Accuracy float32   `json:"accuracy"`
	District string    `json:"district"`
	Township string    `json:"township"`
	// Distance is metres from the query point (nearest and circle only).
	Distance float64 `json:"distance,omitempty"`
}

func partName(day time.Time) string { return "positions_" + day.UTC().Format("20060102") }

// ensurePartition makes the day partition holding t (once per process).
func (f *Function) ensurePartition(ctx context.Context, t time.Time) error {
	day := t.UTC().Truncate(24 * time.Hour)
	name := partName(day)
	f.mu.Lock()
	known := f.parts[name]
	f.mu.Unlock()
	if known {
		return nil
	}
	_, err := f.pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS dispatch.%s PARTITION OF dispatch.positions
		FOR VALUES FROM ('%s') TO ('%s')`, name, day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)))
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return store.Classify(err)
	}
	f.mu.Lock()
	f.parts[name] = true
	f.mu.Unlock()
	return nil
}

// maintainTracks makes today's and tomorrow's partitions and drops those
// older than the retention (a partition drop, not a DELETE: no bloat).
func (f *Function) maintainTracks(ctx context.Context) error {
	now := f.now()
	for _, d := range []time.Time{now, now.Add(24 * time.Hour)} {
		if err := f.ensurePartition(ctx, d); err != nil {
			return err
		}
	}
	cutoff := partName(now.Add(-time.Duration(f.cfg.TrackRetentionDays) * 24 * time.Hour))
	rows, err := f.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'dispatch.positions'::regclass AND c.relname < $1`, cutoff)
	if err != nil {
		return store.Classify(err)
	}
	old, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return store.Classify(err)
	}
	for _, name := range old {
		if _, err := f.pool.Exec(ctx, `DROP TABLE IF EXISTS dispatch.`+pgx.Identifier{name}.Sanitize()); err != nil {
			return store.Classify(err)
		}
		f.mu.Lock()
		delete(f.parts, name)
		f.mu.Unlock()
	}
	return nil
}

// Ingest stores a phone's batch of positions with one COPY and moves its
// live position to the newest one.
func (f *Function) Ingest(ctx context.Context, p *auth.Principal, ps []Position) (int, error) {
	district, township := jurisdiction(p.Scope, "", "")
	days := map[string]time.Time{}
	newest := ps[0]
	for _, x := range ps {
		days[partName(x.At)] = x.At
		if x.At.After(newest.At) {
			newest = x
		}
	}
	for _, d := range days {
		if err := f.ensurePartition(ctx, d); err != nil {
			return 0, err
		}
	}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		i := 0
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"dispatch", "positions"},
			[]string{"user_id", "at", "lat", "lng", "accuracy", "district", "township"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == len(ps) {
					return nil, nil
				}
				x := ps[i]
				i++
				return []any{p.UserID, x.At, x.Lat, x.Lng, x.Accuracy, district, township}, nil
			})); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO dispatch.live (user_id, name, lat, lng, geom, accuracy, at, district, township)
			VALUES ($1,$2,$3,$4, ST_SetSRID(ST_MakePoint($4,$3),4326)::geography, $5,$6,$7,$8)
			ON CONFLICT (user_id) DO UPDATE SET name = EXCLUDED.name, lat = EXCLUDED.lat, lng = EXCLUDED.lng, geom = EXCLUDED.geom,
				accuracy = EXCLUDED.accuracy, at = EXCLUDED.at, district = EXCLUDED.district, township = EXCLUDED.township
			WHERE dispatch.live.at < EXCLUDED.at`,
			p.UserID, p.Name, newest.Lat, newest.Lng, newest.Accuracy, newest.At, district, township)
		return err
	})
	return len(ps), store.Classify(err)
}

const liveCols = `user_id, name, at, lat, lng, accuracy, district, township`

func scanLive(r pgx.CollectableRow) (Position, error) {
	var x Position
	err := r.Scan(&x.UserID, &x.Name, &x.At, &x.Lat, &x.Lng, &x.Accuracy, &x.District, &x.Township, &x.Distance)
	return x, err
}

// Selection is how live positions are picked (FP-145, FP-147).
type Selection struct {
	Lat, Lng *float64
	Radius   float64      // metres; with Lat/Lng: a circle
	Nearest  int          // with Lat/Lng: the nearest N (KNN)
	Polygon  [][2]float64 // [lng, lat] ring
	Since    time.Time    // only phones seen since
}

// Live lists the phones' newest positions inside the caller's scope,
// selected by a circle, a polygon or the nearest N.
func (f *Function) Live(ctx context.Context, s auth.Scope, sel Selection) ([]Position, error) {
	args := []any{sel.Since}
	where := []string{"at >= $1", s.Filter("district", "township", &args)}
	dist, order, limit, more := sel.sql(&args, "user_id")
	rows, err := f.pool.Query(ctx, `SELECT `+liveCols+`, `+dist+` FROM dispatch.live WHERE `+strings.Join(append(where, more...), " AND ")+
		` ORDER BY `+order+limit, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, scanLive)
	return out, store.Classify(err)
}

// sql is the selection as SQL over a table with a geography column geom:
// the distance expression, the order (KNN from the point, else byDefault),
// the limit and the extra conditions, with their arguments appended.
func (sel Selection) sql(args *[]any, byDefault string) (dist, order, limit string, where []string) {
	dist, order = "0::float8", byDefault
	if sel.Lat != nil {
		*args = append(*args, *sel.Lng, *sel.Lat)
		pt := fmt.Sprintf("ST_SetSRID(ST_MakePoint($%d,$%d),4326)::geography", len(*args)-1, len(*args))
		dist = "ST_Distance(geom, " + pt + ")"
		if sel.Radius > 0 {
			*args = append(*args, sel.Radius)
			where = append(where, fmt.Sprintf("ST_DWithin(geom, %s, $%d)", pt, len(*args)))
		}
		order = "geom <-> " + pt // KNN on the GiST index
		if sel.Nearest > 0 {
			limit = fmt.Sprintf(" LIMIT %d", sel.Nearest)
		}
	}
	if len(sel.Polygon) >= 3 {
		var b strings.Builder
		b.WriteString("POLYGON((")
		ring := append(sel.Polygon[:len(sel.Polygon):len(sel.Polygon)], sel.Polygon[0])
		for i, pt := range ring {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%f %f", pt[0], pt[1])
		}
		b.WriteString("))")
		*args = append(*args, b.String())
		where = append(where, fmt.Sprintf("ST_Covers(ST_GeogFromText('SRID=4326;' || $%d), geom)", len(*args)))
	}
	return dist, order, limit, where
}

// TrackView is one phone's track as arrays, oldest first: one row from
// the database (array_agg) instead of a row and an object per fix, and,
// for playback on a map, thinned to the screen's resolution (thin.go).
// The full resolution stays one request away (Tolerance 0, or the CSV
// download).
type TrackView struct {
	UserID string    `json:"user_id"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Points is how many fixes are stored in the window (up to the cap);
	// len(T) is how many are returned.
	Points    int     `json:"points"`
	Tolerance float64 `json:"tolerance"` // metres; 0: every fix
	// Truncated: the window holds more fixes than one answer carries
	// (maxTrackPoints, oldest first); ask for a shorter window.
	Truncated bool      `json:"truncated"`
	T         []int64   `json:"t"` // Unix milliseconds
	Lat       []float64 `json:"lat"`
	Lng       []float64 `json:"lng"`
	Accuracy  []float32 `json:"accuracy"`
}

// maxTrackPoints caps one answer: 31 days at one fix per 5 s is 535 680,
// so a month of a busy phone comes back truncated (and thinned, small).
const maxTrackPoints = 300000

// Track is one phone's fixes in [from, to) inside the caller's scope
// (FP-148: playback of 24 hours, or a longer history), thinned to tol
// metres (0: every fix).
func (f *Function) Track(ctx context.Context, s auth.Scope, user string, from, to time.Time, tol float64) (TrackView, error) {
	args := []any{user, from, to, maxTrackPoints + 1}
	var ats []time.Time
	v := TrackView{UserID: user, From: from, To: to, Tolerance: max(tol, 0)}
	err := f.pool.QueryRow(ctx, `SELECT coalesce(array_agg(at ORDER BY at), '{}'), coalesce(array_agg(lat ORDER BY at), '{}'),
			coalesce(array_agg(lng ORDER BY at), '{}'), coalesce(array_agg(accuracy ORDER BY at), '{}')
		FROM (SELECT at, lat, lng, accuracy FROM dispatch.positions
			WHERE user_id = $1 AND at >= $2 AND at < $3 AND `+s.Filter("district", "township", &args)+` ORDER BY at LIMIT $4) p`,
		args...).Scan(&ats, &v.Lat, &v.Lng, &v.Accuracy)
	if err != nil {
		return v, store.Classify(err)
	}
	if len(ats) > maxTrackPoints {
		v.Truncated = true
		ats, v.Lat, v.Lng, v.Accuracy = ats[:maxTrackPoints], v.Lat[:maxTrackPoints], v.Lng[:maxTrackPoints], v.Accuracy[:maxTrackPoints]
	}
	v.Points = len(ats)
	v.T = make([]int64, len(ats))
	for i, at := range ats {
		v.T[i] = at.UnixMilli()
	}
	if v.Tolerance > 0 {
		keep := thin(v.T, v.Lat, v.Lng, v.Tolerance)
		for j, i := range keep { // in place: keep is ascending
			v.T[j], v.Lat[j], v.Lng[j], v.Accuracy[j] = v.T[i], v.Lat[i], v.Lng[i], v.Accuracy[i]
		}
		k := len(keep)
		v.T, v.Lat, v.Lng, v.Accuracy = v.T[:k], v.Lat[:k], v.Lng[:k], v.Accuracy[:k]
	}
	return v, nil
}

// TrackRows streams every fix in [from, to) inside the caller's scope,
// oldest first, to each (the full-resolution download; no cap).
func (f *Function) TrackRows(ctx context.Context, s auth.Scope, user string, from, to time.Time, each func(Position) error) error {
	args := []any{user, from, to}
	rows, err := f.pool.Query(ctx, `SELECT at, lat, lng, accuracy FROM dispatch.positions
		WHERE user_id = $1 AND at >= $2 AND at < $3 AND `+s.Filter("district", "township", &args)+` ORDER BY at`, args...)
	if err != nil {
		return store.Classify(err)
	}
	defer rows.Close()
	x := Position{UserID: user}
	for rows.Next() {
		if err := rows.Scan(&x.At, &x.Lat, &x.Lng, &x.Accuracy); err != nil {
			return store.Classify(err)
		}
		if err := each(x); err != nil {
			return err
		}
	}
	return store.Classify(rows.Err())
}

// EnsureTrackPartition makes the day partition holding t; loaders of
// history (the benchmark, an import) call it before their COPY.
func (f *Function) EnsureTrackPartition(ctx context.Context, t time.Time) error {
	return f.ensurePartition(ctx, t)
}
