package qrgenerate

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// shanghai is the zone days are counted in: a code issued at 23:30 UTC
// belongs to the next day in Shijiazhuang.
var shanghai = time.FixedZone("CST", 8*3600)

// CodeFilter narrows the code list.
type CodeFilter struct {
	Status, District, Township, Industry, Type string
	Q                                          string // credit code or token exactly, or part of the name
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
	if utf8.RuneCountInString(c.Q) > 50 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键字不能超过 50 个字"})
	}
	return errs.Fields(fe)
}

// CodePage is a page of codes.
type CodePage = httpx.PageOf[Code]

// ListCodes returns a page of codes inside the operator's scope (FP-22).
func (f *Function) ListCodes(ctx context.Context, flt CodeFilter, op Operator, limit, offset int) ([]Code, int, error) {
	flt.Q = strings.TrimSpace(flt.Q)
	list, total, err := listCodes(ctx, f.pool, flt.where(op.Scope), limit, offset)
	return f.links(list), total, err
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
	Operator, Action string     // Operator: a prefix of "username（name）"
	Result, Q        string     // Q: token or credit code
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
	if utf8.RuneCountInString(o.Operator) > 50 {
		fe = append(fe, errs.FieldError{Field: "operator", Message: "操作人关键字不能超过 50 个字"})
	}
	if utf8.RuneCountInString(o.Q) > 50 {
		fe = append(fe, errs.FieldError{Field: "q", Message: "关键字不能超过 50 个字"})
	}
	return errs.Fields(fe)
}

// OpLogPage is a page of the operation log.
type OpLogPage = httpx.PageOf[OpLogEntry]

// ListOpLog returns a page of the log, newest first (FP-25). Entries about
// a code follow the operator's scope; batch entries without a code are
// shown to city-wide operators only.
func (f *Function) ListOpLog(ctx context.Context, flt OpLogFilter, op Operator, limit, offset int) ([]OpLogEntry, int, error) {
	flt.Q = strings.TrimSpace(flt.Q)
	return listOpLog(ctx, f.pool, flt.where(op.Scope), limit, offset)
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

var groupNames = map[string]string{"day": "日期", "district": "区县", "industry": "行业", "type": "主体类型"}

var errBadGroup = errs.Fields([]errs.FieldError{{Field: "group", Message: "统计维度应为 day、district、industry 或 type"}})

// Stats counts codes issued in [From, To) by group inside the scope.
func (f *Function) Stats(ctx context.Context, q StatsQuery, op Operator) ([]StatRow, error) {
	if _, ok := groupColumns[q.Group]; !ok {
		return nil, errBadGroup
	}
	return issueStats(ctx, f.pool, q.Group, q.From, q.To, op.Scope)
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

var (
	formatOrder = []string{"png", "svg", "poster_a4", "poster_a5", "zip"}
	formatNames = map[string]string{"png": "PNG 图片", "svg": "SVG 矢量图", "poster_a4": "A4 海报（PDF）", "poster_a5": "A5 海报（PDF）", "zip": "批量下载（ZIP）"}
)

// DownloadStats counts downloads per document kind over days [From, To).
// A ZIP counts once as "zip" and each file in it under its own kind. The
// counters carry no district, so a scoped operator sees their codes' counts only.
func (f *Function) DownloadStats(ctx context.Context, from, to time.Time, op Operator) ([]DownloadStat, error) {
	got, err := downloadCounts(ctx, f.pool, from.In(shanghai).Format(time.DateOnly), to.In(shanghai).Format(time.DateOnly), op.Scope)
	if err != nil {
		return nil, err
	}
	out := make([]DownloadStat, 0, len(formatOrder))
	for _, k := range formatOrder {
		out = append(out, DownloadStat{Format: k, Label: formatNames[k], Count: got[k]})
	}
	return out, nil
}
