package datahub

// How a generated interface is called (FP-95): the access key, the per-key
// rate limit and daily quota shared by every replica in Redis, the
// revocation every replica learns through Redis within a second, masking
// of personal fields, and the access log.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/tabular"
)

// keyPrefixLen is how much of a key names it in lists and logs.
const keyPrefixLen = 11

// newKey makes an access key: "dh_" and 32 random bytes. Only its SHA-256
// is stored; the key itself is shown once.
func newKey() (key, prefix string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key = "dh_" + base64.RawURLEncoding.EncodeToString(b)
	return key, key[:keyPrefixLen], hashKey(key)
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// keyFrom reads the key from X-API-Key or "Authorization: Bearer dh_…"
// (never from the query string, which ends up in logs).
func keyFrom(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.HasPrefix(b, "dh_") {
		return b
	}
	return ""
}

// ifaceCache holds looked-up interfaces briefly, so a call costs no
// database lookup of its key; Redis's revocation mark is checked on
// every call, so a revoked key stops at once on every replica, and the
// cache's short life bounds it even if Redis lost the mark.
type ifaceCache struct {
	mu  sync.Mutex
	m   map[string]cachedIface
	ttl time.Duration
}

type cachedIface struct {
	it  Interface
	exp time.Time
}

func (c *ifaceCache) get(hash string, now time.Time) (Interface, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok || now.After(e.exp) {
		return Interface{}, false
	}
	return e.it, true
}

func (c *ifaceCache) put(hash string, it Interface, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedIface{}
	}
	c.m[hash] = cachedIface{it: it, exp: now.Add(c.ttl)}
}

func (c *ifaceCache) drop(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, hash)
}

func (f *Function) revokedKey(id int64) string {
	return f.rprefix + "revoked:" + strconv.FormatInt(id, 10)
}

// markRevoked tells every replica, through Redis, that interface id's key
// (or its previous key, after a rotation: gen) no longer opens it.
func (f *Function) markRevoked(ctx context.Context, id int64, gen string) error {
	return f.redis.Set(ctx, f.revokedKey(id), gen, 48*time.Hour).Err()
}

// limits counts the call against the key's minute and day in one round
// trip and reads its revocation mark. It answers the seconds to wait when
// a limit is exhausted (0 when the call may proceed) and whether the key
// is revoked.
func (f *Function) limits(ctx context.Context, it Interface, now time.Time) (wait int, revoked bool, err error) {
	bj := now.In(beijing)
	minute := now.Unix() / 60
	day := bj.Format("20060102")
	id := strconv.FormatInt(it.ID, 10)
	pipe := f.redis.Pipeline()
	rate := pipe.Incr(ctx, f.rprefix+"rate:"+id+":"+strconv.FormatInt(minute, 10))
	pipe.Expire(ctx, f.rprefix+"rate:"+id+":"+strconv.FormatInt(minute, 10), 2*time.Minute)
	quota := pipe.Incr(ctx, f.rprefix+"quota:"+id+":"+day)
	pipe.Expire(ctx, f.rprefix+"quota:"+id+":"+day, 26*time.Hour)
	mark := pipe.Get(ctx, f.revokedKey(it.ID))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, false, err
	}
	if g, err := mark.Result(); err == nil && (g == "" || g == it.KeyPrefix) {
		return 0, true, nil
	}
	if quota.Val() > int64(it.QuotaPerDay) {
		next := time.Date(bj.Year(), bj.Month(), bj.Day()+1, 0, 0, 0, 0, beijing)
		return int(next.Sub(now).Seconds()) + 1, false, nil
	}
	if rate.Val() > int64(it.RatePerMin) {
		return int(60 - now.Unix()%60), false, nil
	}
	return 0, false, nil
}

var beijing = time.FixedZone("CST", 8*3600)

// serveData answers GET /datahub/v1/data/{id}: the interface's rows as a
// JSON array, PostgREST style. Every call, refused or answered, is logged.
func (f *Function) serveData(w http.ResponseWriter, r *http.Request) { f.logged(w, r, f.data) }

// serveExport streams every row the interface gives for the filter as CSV
// (FP-94 file download of a large result): one statement read row by row,
// written as it is read, so memory stays flat whatever the size.
func (f *Function) serveExport(w http.ResponseWriter, r *http.Request) { f.logged(w, r, f.export) }

// logged runs a data call and writes its access-log row.
func (f *Function) logged(w http.ResponseWriter, r *http.Request, call func(http.ResponseWriter, *http.Request, *AccessEntry) (int, int, error)) {
	start := f.now()
	e := AccessEntry{Query: r.URL.RawQuery, ClientIP: httpx.ClientIP(r), At: start}
	status, n, err := call(w, r, &e)
	e.Status, e.Rows, e.DurationUS = status, n, f.now().Sub(start).Microseconds()
	if err != nil {
		var ee *errs.Error
		if errors.As(err, &ee) {
			e.Message = ee.Message
		}
		httpx.ErrorStatus(w, r, f.log, err, status)
	}
	if e.InterfaceID != nil || e.KeyPrefix != "" {
		// The log must not be lost with a client that hung up.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		defer cancel()
		if err := logAccess(ctx, f.pool, e); err != nil {
			f.log.Error("datahub: access log", "err", err)
		}
	}
}

// authorize checks the call's key, the interface's state, its rate and
// quota, and returns the interface and its dataset.
func (f *Function) authorize(w http.ResponseWriter, r *http.Request, e *AccessEntry) (Interface, *Dataset, int, error) {
	key := keyFrom(r)
	if key == "" {
		return Interface{}, nil, http.StatusUnauthorized, errs.New(errs.Unauthorized, "缺少访问密钥（请在 X-API-Key 请求头中提供）")
	}
	if len(key) >= keyPrefixLen {
		e.KeyPrefix = key[:keyPrefixLen]
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return Interface{}, nil, http.StatusNotFound, errs.New(errs.NotFound, "接口不存在")
	}
	hash := hashKey(key)
	hs := string(hash)
	now := f.now()
	it, ok := f.ifaces.get(hs, now)
	if !ok {
		it, err = ifaceByHash(r.Context(), f.pool, hash)
		if errs.CodeOf(err) == errs.NotFound || errors.Is(err, pgx.ErrNoRows) {
			return Interface{}, nil, http.StatusUnauthorized, errs.New(errs.Unauthorized, "访问密钥无效")
		}
		if err != nil {
			return Interface{}, nil, http.StatusInternalServerError, err
		}
		f.ifaces.put(hs, it, now)
	}
	if it.ID != id {
		return Interface{}, nil, http.StatusUnauthorized, errs.New(errs.Unauthorized, "访问密钥与接口不符")
	}
	e.InterfaceID, e.Dataset = &it.ID, it.Dataset
	if it.Status != "active" {
		return Interface{}, nil, http.StatusUnauthorized, errs.New(errs.Unauthorized, "访问密钥已吊销")
	}
	wait, revoked, err := f.limits(r.Context(), it, now)
	switch {
	case err != nil:
		return Interface{}, nil, http.StatusServiceUnavailable, errs.Wrap(errs.Unavailable, "限流服务暂不可用，请稍后重试", err)
	case revoked:
		f.ifaces.drop(hs)
		return Interface{}, nil, http.StatusUnauthorized, errs.New(errs.Unauthorized, "访问密钥已吊销")
	case wait > 0:
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		return Interface{}, nil, http.StatusTooManyRequests, errs.New(errs.Unavailable, "调用次数已达上限，请 "+strconv.Itoa(wait)+" 秒后重试")
	}
	ds := f.catalogue[it.Dataset]
	if ds == nil {
		return Interface{}, nil, http.StatusNotFound, errs.New(errs.NotFound, "数据集已下线")
	}
	return it, ds, http.StatusOK, nil
}

func (f *Function) data(w http.ResponseWriter, r *http.Request, e *AccessEntry) (int, int, error) {
	it, ds, status, err := f.authorize(w, r, e)
	if err != nil {
		return status, 0, err
	}
	now := f.now()
	q, err := ParseQuery(r.URL.Query(), ds, it.Fields)
	if err != nil {
		return http.StatusBadRequest, 0, err
	}
	rows, err := f.query(r.Context(), ds, it, q)
	if err != nil {
		return http.StatusInternalServerError, 0, err
	}
	if len(rows) > 0 && len(rows) == q.Limit {
		if v, ok := rows[len(rows)-1][ds.Key]; ok {
			w.Header().Set("X-Next-After", toText(v))
		}
	}
	// FP-94 (file download, the synchronous part): Accept: text/csv or
	// the XLSX type answers the same page as a file, headed by the
	// fields' Chinese titles, through shared/tabular.
	if fm, ok := fileFormat(r.Header.Get("Accept")); ok {
		t := tabular.Table{}
		sel := q.Select
		if len(sel) == 0 {
			for _, name := range it.Fields {
				fl, _ := ds.field(name)
				sel = append(sel, fl)
			}
		}
		for _, fl := range sel {
			t.Header = append(t.Header, fl.Title)
		}
		for _, row := range rows {
			cells := make([]any, len(sel))
			for i, fl := range sel {
				cells[i] = row[fl.Name]
			}
			t.Rows = append(t.Rows, cells)
		}
		if err := tabular.Serve(w, ds.Title+"_"+now.In(beijing).Format("20060102150405"), fm, t); err != nil {
			f.log.Error("datahub: file answer", "err", err)
		}
		return http.StatusOK, len(rows), nil
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(rows)
	return http.StatusOK, len(rows), nil
}

// query runs the compiled statement and masks what must be masked.
func (f *Function) query(ctx context.Context, ds *Dataset, it Interface, q Query) ([]map[string]any, error) {
	out := []map[string]any{}
	err := f.scan(ctx, ds, it, q, func(sel []Field, vals []any) error {
		m := make(map[string]any, len(vals))
		for i, fl := range sel {
			m[fl.Name] = present(fl, vals[i], it.Unmask)
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// scan runs the compiled statement of a consumer's query over the
// interface and hands each row's raw values to fn, in order.
func (f *Function) scan(ctx context.Context, ds *Dataset, it Interface, q Query, fn func(sel []Field, vals []any) error) error {
	fixed, err := ParseQuery(filterValues(it.Filter), ds, fieldNames(ds))
	if err != nil {
		return err
	}
	if len(q.Select) == 0 {
		for _, name := range it.Fields {
			fl, _ := ds.field(name)
			q.Select = append(q.Select, fl)
		}
	}
	sql, args := selectSQL(ds, it.Scope, fixed, q)
	rows, err := f.pool.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		if err := fn(q.Select, vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (f *Function) export(w http.ResponseWriter, r *http.Request, e *AccessEntry) (int, int, error) {
	it, ds, status, err := f.authorize(w, r, e)
	if err != nil {
		return status, 0, err
	}
	v := r.URL.Query()
	for _, k := range []string{"limit", "offset", "after"} {
		if v.Has(k) {
			return http.StatusBadRequest, 0, bad(k, "导出不分页，请去掉参数 %s（导出全部符合条件的行，最多 %d 行）", k, f.cfg.MaxDataExportRows)
		}
	}
	q, err := ParseQuery(v, ds, it.Fields)
	if err != nil {
		return http.StatusBadRequest, 0, err
	}
	q.Limit = f.cfg.MaxDataExportRows
	sel := q.Select
	if len(sel) == 0 {
		for _, name := range it.Fields {
			fl, _ := ds.field(name)
			sel = append(sel, fl)
		}
	}
	header := make([]string, len(sel))
	for i, fl := range sel {
		header[i] = fl.Title
	}
	w.Header().Set("Content-Type", tabular.CSV.ContentType())
	w.Header().Set("Content-Disposition", tabular.Attachment(ds.Title+"_"+f.now().In(beijing).Format("20060102150405")+".csv"))
	bw := bufio.NewWriterSize(w, 64<<10)
	cs, err := tabular.NewCSVStream(bw, header)
	if err != nil {
		return http.StatusOK, 0, nil // the client went away
	}
	n := 0
	cells := make([]any, len(sel))
	err = f.scan(r.Context(), ds, it, q, func(_ []Field, vals []any) error {
		for i, fl := range sel {
			cells[i] = present(fl, vals[i], it.Unmask)
		}
		n++
		return cs.Row(cells)
	})
	if ferr := cs.Flush(); err == nil {
		err = ferr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		// The answer has started: the error cannot become a status, so
		// it goes to the log and the access log's message.
		f.log.Error("datahub: export", "interface", it.ID, "rows", n, "err", err)
		e.Message = "导出中断：" + err.Error()
	}
	return http.StatusOK, n, nil
}

func fieldNames(ds *Dataset) []string {
	out := make([]string, len(ds.Fields))
	for i, f := range ds.Fields {
		out[i] = f.Name
	}
	return out
}

// present turns a scanned value into its JSON form, masked for a personal
// field unless the interface may show it.
func present(f Field, v any, unmask bool) any {
	switch x := v.(type) {
	case time.Time:
		if f.Type == TypeDate {
			return x.Format("2006-01-02")
		}
		return x
	case nil:
		return nil
	}
	if f.Sensitivity == Personal && !unmask {
		return Mask(f.Mask, toText(v))
	}
	return plain(v)
}

// plain turns pgx's numeric into a float64 for JSON.
func plain(v any) any {
	if n, ok := v.(pgtype.Numeric); ok {
		f, err := n.Float64Value()
		if err != nil || !f.Valid {
			return nil
		}
		return f.Float64
	}
	return v
}

// toText is a value as a filter or cursor would write it.
func toText(v any) string {
	switch x := plain(v).(type) {
	case string:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// filterValues parses an interface's stored filter (the same grammar).
func filterValues(s string) url.Values {
	v, _ := url.ParseQuery(s)
	return v
}

// Mask hides personal information the way the platform shows it in lists
// (DESIGN: masked in every list, log and export).
func Mask(kind, s string) string {
	r := []rune(s)
	switch kind {
	case "id_number": // 130102********1234
		if len(r) > 10 {
			return string(r[:6]) + strings.Repeat("*", len(r)-10) + string(r[len(r)-4:])
		}
	case "phone": // 138****5678
		if len(r) >= 7 {
			return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
		}
	case "address":
		if len(r) > 6 {
			return string(r[:6]) + "****"
		}
	default: // a name: 张**
		if len(r) > 1 {
			return string(r[:1]) + strings.Repeat("*", utf8.RuneCountInString(s)-1)
		}
	}
	return strings.Repeat("*", len(r))
}

// fileFormat is the file type an Accept header asks for, if any.
func fileFormat(accept string) (tabular.Format, bool) {
	switch {
	case strings.Contains(accept, "text/csv"):
		return tabular.CSV, true
	case strings.Contains(accept, "spreadsheetml"):
		return tabular.XLSX, true
	}
	return "", false
}
