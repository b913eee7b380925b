package qrgenerate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// shanghai is the zone days are counted in: a code issued at 23:30 UTC
// belongs to the next day in Shijiazhuang.
var shanghai = time.FixedZone("CST", 8*3600)

// CodeFilter narrows the code list.
type CodeFilter struct {
	Status, District, Township, Industry, Type, Q string
}

// Validate checks the filter's enumerations.
func (c CodeFilter) Validate() error {
	var fe []errs.FieldError
	if _, ok := statusNames[c.Status]; c.Status != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "status", Message: "状态应为 pending、active、rejected 或 invalid"})
	}
	if _, ok := entityTypeNames[c.Type]; c.Type != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "type", Message: "主体类型不正确"})
	}
	if len([]rune(c.Q)) > 50 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键字不能超过 50 个字"})
	}
	return errs.Fields(fe)
}

// CodePage is a page of codes.
type CodePage struct {
	Items    []Code `json:"items"`
	Total    int    `json:"total"`
	Page     int    `json:"page"`
	PageSize int    `json:"page_size"`
}

// ListCodes returns a page of codes inside the operator's scope.
func (f *Function) ListCodes(ctx context.Context, flt CodeFilter, op Operator, limit, offset int) ([]Code, int, error) {
	var args []any
	conds := []string{op.Scope.Filter("district_code", "township_code", &args)}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if flt.Status != "" {
		add("status = $?", flt.Status)
	}
	if flt.District != "" {
		add("district_code = $?", flt.District)
	}
	if flt.Township != "" {
		add("township_code = $?", flt.Township)
	}
	if flt.Industry != "" {
		add("industry_code = $?", flt.Industry)
	}
	if flt.Type != "" {
		add("entity_type = $?", flt.Type)
	}
	if q := strings.TrimSpace(flt.Q); q != "" {
		add("(credit_code = upper($?) OR token = $? OR entity_name LIKE '%' || $? || '%')", q)
	}
	where := strings.Join(conds, " AND ")
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM qr.codes WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	args = append(args, limit, offset)
	rows, err := f.pool.Query(ctx, `SELECT `+codeColumns+` FROM qr.codes WHERE `+where+
		fmt.Sprintf(` ORDER BY issued_at DESC, token LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Code, error) { return f.scanCode(r) })
	if list == nil {
		list = []Code{}
	}
	return list, total, store.Classify(err)
}

// OpLogEntry is one row of the operation log.
type OpLogEntry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	OperatorID string    `json:"operator_id"`
	Operator   string    `json:"operator"`
	Action     string    `json:"action"`
	ActionName string    `json:"action_name"`
	Token      string    `json:"token"`
	CreditCode string    `json:"credit_code"`
	Result     string    `json:"result"`
	Detail     string    `json:"detail"`
}

var actionNames = map[string]string{"issue": "赋码", "review": "审核", "download": "下载", "invalidate": "作废", "reactivate": "恢复"}

// OpLogFilter narrows the operation log (FP-25).
type OpLogFilter struct {
	From, To         *time.Time // [From, To)
	Operator, Action string
	Result, Q        string // Q: token or credit code
}

// Validate checks the enumerations.
func (o OpLogFilter) Validate() error {
	var fe []errs.FieldError
	if _, ok := actionNames[o.Action]; o.Action != "" && !ok {
		fe = append(fe, errs.FieldError{Field: "action", Message: "操作类型应为 issue、review、download、invalidate 或 reactivate"})
	}
	if o.Result != "" && o.Result != "success" && o.Result != "failure" {
		fe = append(fe, errs.FieldError{Field: "result", Message: "操作结果应为 success 或 failure"})
	}
	return errs.Fields(fe)
}

// OpLogPage is a page of the operation log.
type OpLogPage struct {
	Items    []OpLogEntry `json:"items"`
	Total    int          `json:"total"`
	Page     int          `json:"page"`
	PageSize int          `json:"page_size"`
}

// ListOpLog returns a page of the log, newest first. Entries about a code
// follow the operator's scope; batch entries without a code are shown to
// city-wide operators only.
func (f *Function) ListOpLog(ctx context.Context, flt OpLogFilter, op Operator, limit, offset int) ([]OpLogEntry, int, error) {
	var args []any
	conds := []string{op.Scope.Filter("district_code", "township_code", &args)}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if flt.From != nil {
		add("at >= $?", *flt.From)
	}
	if flt.To != nil {
		add("at < $?", *flt.To)
	}
	if flt.Operator != "" {
		add("operator LIKE $? || '%'", flt.Operator)
	}
	if flt.Action != "" {
		add("action = $?", flt.Action)
	}
	if flt.Result != "" {
		add("result = $?", flt.Result)
	}
	if flt.Q != "" {
		add("(token = $? OR credit_code = upper($?))", strings.TrimSpace(flt.Q))
	}
	where := strings.Join(conds, " AND ")
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM qr.oplog WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	args = append(args, limit, offset)
	rows, err := f.pool.Query(ctx, `SELECT id, at, operator_id, operator, action, token, credit_code, result, detail FROM qr.oplog WHERE `+where+
		fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpLogEntry, error) {
		var e OpLogEntry
		err := r.Scan(&e.ID, &e.At, &e.OperatorID, &e.Operator, &e.Action, &e.Token, &e.CreditCode, &e.Result, &e.Detail)
		e.ActionName = actionNames[e.Action]
		return e, err
	})
	if list == nil {
		list = []OpLogEntry{}
	}
	return list, total, store.Classify(err)
}

// StatRow is one group of the issuance statistics (FP-48, FP-49).
type StatRow struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	Issued   int64  `json:"issued"` // codes created in the period, any status
	Active   int64  `json:"active"`
	Pending  int64  `json:"pending"`
	Rejected int64  `json:"rejected"`
	Invalid  int64  `json:"invalid"`
}

// StatsQuery selects the statistics.
type StatsQuery struct {
	Group    string // day | district | industry | type
	From, To time.Time
}

var groupColumns = map[string]string{
	"day":      `to_char(issued_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')`,
	"district": "district_code",
	"industry": "industry_code",
	"type":     "entity_type",
}

var groupNames = map[string]string{"day": "日期", "district": "区县", "industry": "行业", "type": "主体类型"}

// Stats counts codes issued in [From, To) by group inside the scope.
func (f *Function) Stats(ctx context.Context, q StatsQuery, op Operator) ([]StatRow, error) {
	col, ok := groupColumns[q.Group]
	if !ok {
		return nil, errs.Fields([]errs.FieldError{{Field: "group", Message: "统计维度应为 day、district、industry 或 type"}})
	}
	args := []any{q.From, q.To}
	scope := op.Scope.Filter("district_code", "township_code", &args)
	rows, err := f.pool.Query(ctx, `SELECT `+col+` AS k, count(*),
			count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'pending'),
			count(*) FILTER (WHERE status = 'rejected'), count(*) FILTER (WHERE status = 'invalid')
		FROM qr.codes WHERE issued_at >= $1 AND issued_at < $2 AND `+scope+` GROUP BY k ORDER BY k`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatRow, error) {
		var s StatRow
		err := r.Scan(&s.Key, &s.Issued, &s.Active, &s.Pending, &s.Rejected, &s.Invalid)
		s.Label = labelOf(q.Group, s.Key)
		return s, err
	})
	if list == nil {
		list = []StatRow{}
	}
	return list, store.Classify(err)
}

func labelOf(group, key string) string {
	switch group {
	case "district":
		if d, ok := codes.Divisions().Lookup(key); ok {
			return d.Name
		}
	case "industry":
		if i, ok := codes.Industries().Lookup(key); ok {
			return i.Name
		}
	case "type":
		if n, ok := entityTypeNames[key]; ok {
			return n
		}
	}
	if key == "" {
		return "未知"
	}
	return key
}

// DownloadStat is the download count of one document kind (FP-50).
type DownloadStat struct {
	Format string `json:"format"`
	Label  string `json:"label"`
	Count  int64  `json:"count"`
}

var formatNames = map[string]string{"png": "PNG 图片", "svg": "SVG 矢量图", "poster_a4": "A4 海报（PDF）", "poster_a5": "A5 海报（PDF）", "zip": "批量下载（ZIP）"}

// DownloadStats counts downloads per document kind over days [From, To).
// A ZIP counts once as "zip" and each file in it under its own kind. The
// counters carry no district, so a scoped operator sees their codes' counts only.
func (f *Function) DownloadStats(ctx context.Context, from, to time.Time, op Operator) ([]DownloadStat, error) {
	args := []any{from.In(shanghai).Format(time.DateOnly), to.In(shanghai).Format(time.DateOnly)}
	scope := "TRUE"
	if op.Scope.Kind != "all" {
		scope = "d.token IN (SELECT token FROM qr.codes WHERE " + op.Scope.Filter("district_code", "township_code", &args) + ")"
	}
	rows, err := f.pool.Query(ctx, `SELECT format, sum(count) FROM qr.downloads d
		WHERE day >= $1::date AND day < $2::date AND `+scope+` GROUP BY format`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	got := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, store.Classify(err)
		}
		got[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify(err)
	}
	out := []DownloadStat{}
	for _, k := range []string{"png", "svg", "poster_a4", "poster_a5", "zip"} {
		out = append(out, DownloadStat{Format: k, Label: formatNames[k], Count: got[k]})
	}
	return out, nil
}
