package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// Roles that alone may read logs (audit administrator) and alerts (security
// administrator): 三员分立, so holding the permission without the role is
// not enough.
const (
	RoleAuditor  = "auditor"
	RoleSecAdmin = "secadmin"
)

// MaxExportRows bounds one XLSX export; narrow the time range for more.
const MaxExportRows = 50000

func requireRole(role, msg string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := auth.FromContext(r.Context())
			if !ok {
				httpx.Error(w, r, slog.New(slog.DiscardHandler), errs.New(errs.Unauthorized, auth.MsgLoginRequired))
				return
			}
			if !p.HasRole(role) {
				httpx.Error(w, r, slog.New(slog.DiscardHandler), errs.New(errs.Forbidden, msg))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func auditor(h http.Handler) http.Handler {
	return requireRole(RoleAuditor, "仅审计管理员可查看和导出日志")(h)
}

func secadmin(h http.Handler) http.Handler {
	return requireRole(RoleSecAdmin, "仅安全管理员可查看安全告警")(h)
}

// Filter selects log rows. Times are inclusive from, exclusive to.
type Filter struct {
	From, To                    time.Time
	User, IP, Action, Result, Q string
	ObjectType, ObjectID, Kind  string
	Sort                        string
}

// parseTime accepts RFC 3339 or a Beijing date; a date "to" means the end
// of that day.
func parseTime(s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, shanghai())
	if err != nil {
		return time.Time{}, err
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

func parseFilter(q url.Values, sorts map[string]string) (Filter, error) {
	f := Filter{User: strings.TrimSpace(q.Get("user")), IP: strings.TrimSpace(q.Get("ip")), Action: strings.TrimSpace(q.Get("action")),
		Result: q.Get("result"), Q: strings.TrimSpace(q.Get("q")), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"),
		Kind: q.Get("kind"), Sort: q.Get("sort")}
	var fe []errs.FieldError
	if s := q.Get("from"); s != "" {
		t, err := parseTime(s, false)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "from", Message: "开始时间格式应为 2006-01-02 或 RFC 3339"})
		}
		f.From = t
	}
	if s := q.Get("to"); s != "" {
		t, err := parseTime(s, true)
		if err != nil {
			fe = append(fe, errs.FieldError{Field: "to", Message: "结束时间格式应为 2006-01-02 或 RFC 3339"})
		}
		f.To = t
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fe = append(fe, errs.FieldError{Field: "to", Message: "结束时间应晚于开始时间"})
	}
	if f.Result != "" && f.Result != ResultSuccess && f.Result != ResultFailure {
		fe = append(fe, errs.FieldError{Field: "result", Message: "结果应为 success 或 failure"})
	}
	if _, ok := sorts[f.Sort]; !ok {
		fe = append(fe, errs.FieldError{Field: "sort", Message: "不支持的排序字段"})
	}
	if len([]rune(f.Q)) > 100 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键字不能超过 100 个字符"})
	}
	return f, errs.Fields(fe)
}

// where builds the predicate shared by list and export.
// columns lists what each filtered table has, so a filter that does not
// apply to a table (action on the login log) is ignored, not an SQL error.
var columns = map[string][]string{
	"identity.login_log":       {"user", "ip", "result"},
	"identity.op_log":          {"user", "ip", "result", "action", "object_type", "object_id"},
	"identity.security_alerts": {"user", "ip", "kind"},
}

func (f Filter) where(table string, args *[]any, textCols ...string) string {
	has := func(c string) bool { return slices.Contains(columns[table], c) }
	var conds []string
	add := func(cond string, v any) {
		*args = append(*args, v)
		conds = append(conds, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(*args))))
	}
	if !f.From.IsZero() {
		add("at >= $?", f.From)
	}
	if !f.To.IsZero() {
		add("at < $?", f.To)
	}
	if f.User != "" && has("user") {
		add("(username = $? OR user_id = $?)", f.User)
	}
	if f.IP != "" && has("ip") {
		add("ip LIKE $? || '%'", likeEscape(f.IP))
	}
	if f.Result != "" && has("result") {
		add("result = $?", f.Result)
	}
	if f.Action != "" && has("action") {
		add("action LIKE $? || '%'", likeEscape(f.Action))
	}
	if f.ObjectType != "" && has("object_type") {
		add("object_type = $?", f.ObjectType)
	}
	if f.ObjectID != "" && has("object_id") {
		add("object_id = $?", f.ObjectID)
	}
	if f.Kind != "" && has("kind") {
		add("kind = $?", f.Kind)
	}
	if f.Q != "" && len(textCols) > 0 {
		var ors []string
		*args = append(*args, "%"+likeEscape(f.Q)+"%")
		for _, c := range textCols {
			ors = append(ors, fmt.Sprintf("%s ILIKE $%d", c, len(*args)))
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(conds) == 0 {
		return "TRUE"
	}
	return strings.Join(conds, " AND ")
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

var loginSorts = map[string]string{"": "at DESC, id DESC", "-at": "at DESC, id DESC", "at": "at, id",
	"username": "username, at DESC", "-username": "username DESC, at DESC", "ip": "ip, at DESC", "-ip": "ip DESC, at DESC",
	"result": "result, at DESC", "-result": "result DESC, at DESC"}

var opSorts = map[string]string{"": "at DESC, id DESC", "-at": "at DESC, id DESC", "at": "at, id",
	"username": "username, at DESC", "-username": "username DESC, at DESC", "action": "action, at DESC", "-action": "action DESC, at DESC",
	"result": "result, at DESC", "-result": "result DESC, at DESC"}

var alertSorts = map[string]string{"": "at DESC, id DESC", "-at": "at DESC, id DESC", "at": "at, id"}

// LoginRow is a login log row as the API shows it.
type LoginRow struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	IP       string    `json:"ip"`
	Device   string    `json:"device"`
	Result   string    `json:"result"`
	Reason   string    `json:"reason"`
	Location string    `json:"location"`
}

// OpRow is an operation log row as the API shows it; personal information
// inside Before and After is masked.
type OpRow struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	UserID     string          `json:"user_id"`
	Username   string          `json:"username"`
	IP         string          `json:"ip"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	Result     string          `json:"result"`
}

// Alert is a security alert.
type Alert struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	UserID   string    `json:"user_id"`
	Username string    `json:"username"`
	IP       string    `json:"ip"`
	Device   string    `json:"device"`
	Detail   string    `json:"detail"`
	Count    int       `json:"count"`
}

// Page is a list answer.
type Page[T any] struct {
	Items    []T `json:"items"`
	Total    int `json:"total"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

const loginCols = `id, at, user_id, username, ip, device, result, reason, location`
const opCols = `id, at, user_id, username, ip, action, object_type, object_id, COALESCE(before::text, 'null'), COALESCE(after::text, 'null'), result`

func scanLogin(r pgx.CollectableRow) (LoginRow, error) {
	var l LoginRow
	err := r.Scan(&l.ID, &l.At, &l.UserID, &l.Username, &l.IP, &l.Device, &l.Result, &l.Reason, &l.Location)
	// A failed login's "username" may be a phone or ID number someone typed.
	l.Username, l.Reason = MaskText(l.Username), MaskText(l.Reason)
	return l, err
}

func scanOp(r pgx.CollectableRow) (OpRow, error) {
	var o OpRow
	var before, after string
	err := r.Scan(&o.ID, &o.At, &o.UserID, &o.Username, &o.IP, &o.Action, &o.ObjectType, &o.ObjectID, &before, &after, &o.Result)
	o.Before, o.After = MaskJSON([]byte(before)), MaskJSON([]byte(after))
	return o, err
}

func scanAlert(r pgx.CollectableRow) (Alert, error) {
	var a Alert
	err := r.Scan(&a.ID, &a.At, &a.Kind, &a.UserID, &a.Username, &a.IP, &a.Device, &a.Detail, &a.Count)
	a.Username = MaskText(a.Username)
	return a, err
}

// list runs one page of a filtered query.
func list[T any](ctx context.Context, q pgx.Tx, table, cols, where, order string, args []any, p httpx.Page, scan pgx.RowToFunc[T]) (Page[T], error) {
	out := Page[T]{Page: p.Page, PageSize: p.Size, Items: []T{}}
	if err := q.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+where, args...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("count %s: %w", table, err)
	}
	args = append(args, p.Size, p.Offset())
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d`,
		cols, table, where, order, len(args)-1, len(args)), args...)
	if err != nil {
		return out, fmt.Errorf("list %s: %w", table, err)
	}
	items, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return out, fmt.Errorf("list %s: %w", table, err)
	}
	out.Items = items
	return out, nil
}

// readOnly runs fn in a read-only transaction: the log API cannot write
// even if a query were built wrongly.
func (s *Service) readOnly(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
}

// SearchLogin lists login log rows.
func (s *Service) SearchLogin(ctx context.Context, f Filter, p httpx.Page) (Page[LoginRow], error) {
	var out Page[LoginRow]
	err := s.readOnly(ctx, func(tx pgx.Tx) error {
		var args []any
		w := f.where("identity.login_log", &args, "username", "ip", "device", "reason")
		var err error
		out, err = list(ctx, tx, "identity.login_log", loginCols, w, loginSorts[f.Sort], args, p, scanLogin)
		return err
	})
	return out, err
}

// SearchOp lists operation log rows.
func (s *Service) SearchOp(ctx context.Context, f Filter, p httpx.Page) (Page[OpRow], error) {
	var out Page[OpRow]
	err := s.readOnly(ctx, func(tx pgx.Tx) error {
		var args []any
		w := f.where("identity.op_log", &args, "username", "action", "object_type", "object_id")
		var err error
		out, err = list(ctx, tx, "identity.op_log", opCols, w, opSorts[f.Sort], args, p, scanOp)
		return err
	})
	return out, err
}

// Alerts lists security alerts.
func (s *Service) Alerts(ctx context.Context, f Filter, p httpx.Page) (Page[Alert], error) {
	var out Page[Alert]
	err := s.readOnly(ctx, func(tx pgx.Tx) error {
		var args []any
		w := f.where("identity.security_alerts", &args, "username", "ip", "detail")
		var err error
		out, err = list(ctx, tx, "identity.security_alerts", `id, at, kind, user_id, username, ip, device, detail, count`,
			w, alertSorts[f.Sort], args, p, scanAlert)
		return err
	})
	return out, err
}

func (s *Service) listLogin(w http.ResponseWriter, r *http.Request) {
	f, p, err := parseList(r, loginSorts)
	if err == nil {
		var out Page[LoginRow]
		if out, err = s.SearchLogin(r.Context(), f, p); err == nil {
			httpx.JSON(w, http.StatusOK, out)
			return
		}
	}
	httpx.Error(w, r, s.log, err)
}

func (s *Service) listOp(w http.ResponseWriter, r *http.Request) {
	f, p, err := parseList(r, opSorts)
	if err == nil {
		var out Page[OpRow]
		if out, err = s.SearchOp(r.Context(), f, p); err == nil {
			httpx.JSON(w, http.StatusOK, out)
			return
		}
	}
	httpx.Error(w, r, s.log, err)
}

func (s *Service) listAlerts(w http.ResponseWriter, r *http.Request) {
	f, p, err := parseList(r, alertSorts)
	if err == nil {
		var out Page[Alert]
		if out, err = s.Alerts(r.Context(), f, p); err == nil {
			httpx.JSON(w, http.StatusOK, out)
			return
		}
	}
	httpx.Error(w, r, s.log, err)
}

func parseList(r *http.Request, sorts map[string]string) (Filter, httpx.Page, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return Filter{}, p, err
	}
	f, err := parseFilter(r.URL.Query(), sorts)
	return f, p, err
}

func (s *Service) exportLogin(w http.ResponseWriter, r *http.Request) {
	s.export(w, r, "login", loginSorts)
}

func (s *Service) exportOp(w http.ResponseWriter, r *http.Request) {
	s.export(w, r, "operation", opSorts)
}

// export writes an XLSX of the filtered rows (at most MaxExportRows) and
// records the export itself in the operation log: who took which logs out.
func (s *Service) export(w http.ResponseWriter, r *http.Request, kind string, sorts map[string]string) {
	ctx := r.Context()
	f, err := parseFilter(r.URL.Query(), sorts)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	page := httpx.Page{Page: 1, Size: MaxExportRows}
	var header []string
	var rows [][]any
	var total int
	if kind == "login" {
		out, err := s.SearchLogin(ctx, f, page)
		if err != nil {
			httpx.Error(w, r, s.log, err)
			return
		}
		total = out.Total
		header = []string{"时间", "用户ID", "账号", "IP", "设备", "结果", "原因", "位置"}
		for _, l := range out.Items {
			rows = append(rows, []any{l.At.In(shanghai()).Format("2006-01-02 15:04:05"), l.UserID, l.Username, l.IP, l.Device, resultZH(l.Result), l.Reason, l.Location})
		}
	} else {
		out, err := s.SearchOp(ctx, f, page)
		if err != nil {
			httpx.Error(w, r, s.log, err)
			return
		}
		total = out.Total
		header = []string{"时间", "用户ID", "账号", "IP", "操作", "对象类型", "对象ID", "操作前", "操作后", "结果"}
		for _, o := range out.Items {
			rows = append(rows, []any{o.At.In(shanghai()).Format("2006-01-02 15:04:05"), o.UserID, o.Username, o.IP, o.Action, o.ObjectType, o.ObjectID,
				string(o.Before), string(o.After), resultZH(o.Result)})
		}
	}
	if total > MaxExportRows {
		httpx.Error(w, r, s.log, errs.New(errs.Invalid, fmt.Sprintf("符合条件的日志共 %d 条，超过单次导出上限 %d 条，请缩小时间范围", total, MaxExportRows)))
		return
	}
	data, err := xlsx(header, rows)
	if err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	p, _ := auth.FromContext(ctx)
	if err := RecordOp(ctx, s.pool, OpEntry{At: s.now(), UserID: p.UserID, Username: p.Username, IP: ClientIP(r),
		Action: "identity.log.export", ObjectType: kind + "_log", Result: ResultSuccess,
		After: map[string]any{"filter": r.URL.Query().Encode(), "rows": len(rows)}}); err != nil {
		httpx.Error(w, r, s.log, err)
		return
	}
	name := fmt.Sprintf("%s-log-%s.xlsx", kind, s.now().In(shanghai()).Format("20060102150405"))
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(data)
}

func resultZH(r string) string {
	switch r {
	case ResultSuccess:
		return "成功"
	case ResultFailure:
		return "失败"
	}
	return r
}

func xlsx(header []string, rows [][]any) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	sw, err := x.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, err
	}
	h := make([]any, len(header))
	for i, v := range header {
		h[i] = v
	}
	if err := sw.SetRow("A1", h); err != nil {
		return nil, err
	}
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ClientIP is the caller's address: the first X-Forwarded-For hop (set by
// the Knative ingress) or the connection's address.
func ClientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(first)
	}
	if xr := r.Header.Get("X-Real-Ip"); xr != "" {
		return strings.TrimSpace(xr)
	}
	host := r.RemoteAddr
	if i := strings.LastIndex(host, ":"); i > 0 {
		host = strings.Trim(host[:i], "[]")
	}
	return host
}

// Personal information inside logged object states.
var (
	idNumberRe = regexp.MustCompile(`\b\d{17}[\dXx]\b`)
	phoneRe    = regexp.MustCompile(`\b1[3-9]\d{9}\b`)
)

// MaskJSON masks personal information in a before/after state: ID numbers
// and phones by key name and by shape anywhere in string values, secrets by
// key name. Invalid JSON is returned as null.
func MaskJSON(raw []byte) json.RawMessage {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return json.RawMessage("null")
	}
	out, err := json.Marshal(mask("", v))
	if err != nil {
		return json.RawMessage("null")
	}
	return out
}

func mask(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			x[k] = mask(strings.ToLower(k), vv)
		}
		return x
	case []any:
		for i, vv := range x {
			x[i] = mask(key, vv)
		}
		return x
	case string:
		switch {
		case strings.Contains(key, "password") || strings.Contains(key, "secret") || strings.Contains(key, "token"):
			return "******"
		case strings.Contains(key, "id_number") || strings.Contains(key, "idcard") || strings.Contains(key, "id_card"):
			return codes.MaskIDNumber(x)
		case strings.Contains(key, "phone") || strings.Contains(key, "mobile"):
			return codes.MaskPhone(x)
		}
		return MaskText(x)
	}
	return v
}

// MaskText masks ID numbers and mobile numbers wherever they appear in s.
func MaskText(s string) string {
	s = idNumberRe.ReplaceAllStringFunc(s, codes.MaskIDNumber)
	return phoneRe.ReplaceAllStringFunc(s, codes.MaskPhone)
}
