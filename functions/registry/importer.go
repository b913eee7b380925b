package registry

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Import limits: a county bureau's monthly batch fits easily; larger loads
// go through the seed/COPY path.
const (
	MaxImportBytes = 20 << 20
	MaxImportRows  = 50000
)

// columns maps accepted header names (Chinese as in the bureau's templates,
// or the API's snake_case) to fields.
var columns = map[string]string{
	"统一社会信用代码": "credit_code", "credit_code": "credit_code",
	"主体名称": "name", "名称": "name", "企业名称": "name", "name": "name",
	"主体类型": "entity_type", "类型": "entity_type", "entity_type": "entity_type",
	"法定代表人": "legal_rep", "法定代表人（负责人）": "legal_rep", "负责人": "legal_rep", "经营者": "legal_rep", "legal_rep": "legal_rep",
	"成立日期": "established_on", "established_on": "established_on",
	"注册资本": "registered_capital", "注册资本（万元）": "registered_capital", "registered_capital": "registered_capital",
	"经营范围": "business_scope", "business_scope": "business_scope",
	"住所": "address", "地址": "address", "经营场所": "address", "住所（经营场所）": "address", "address": "address",
	"行政区划代码": "district_code", "区县代码": "district_code", "district_code": "district_code",
	"乡镇街道代码": "township_code", "township_code": "township_code",
	"行业代码": "industry_code", "industry_code": "industry_code",
	"登记状态": "status", "状态": "status", "status": "status",
	"经度": "longitude", "longitude": "longitude", "纬度": "latitude", "latitude": "latitude",
}

var required = []string{"credit_code", "name", "entity_type", "legal_rep", "established_on", "address", "district_code", "industry_code"}

// Chinese labels accepted in place of the stored values.
var typeLabels, statusLabels = invert(entityTypes), invert(statuses)

func invert(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[v] = k
	}
	out["个体户"] = "individual"
	out["合作社"] = "cooperative"
	out["民非"] = "non_enterprise"
	out["在营"], out["开业"] = "active", "active"
	return out
}

// ImportResult answers a successful import.
type ImportResult struct {
	Imported int `json:"imported"`
}

// ParseFile reads a CSV (UTF-8 or GBK, as Excel saves it) or XLSX file
// into rows; format is "csv" or "xlsx".
func ParseFile(format string, data []byte) ([][]string, error) {
	switch format {
	case "xlsx":
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "无法读取 Excel 文件，请确认为 .xlsx 格式", err)
		}
		defer f.Close()
		sheets := f.GetSheetList()
		if len(sheets) == 0 {
			return nil, errs.New(errs.Invalid, "Excel 文件中没有工作表")
		}
		rows, err := f.GetRows(sheets[0])
		if err != nil {
			return nil, errs.Wrap(errs.Invalid, "无法读取 Excel 工作表", err)
		}
		return rows, nil
	case "csv":
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(data) {
			dec, err := simplifiedchinese.GBK.NewDecoder().Bytes(data)
			if err != nil {
				return nil, errs.Wrap(errs.Invalid, "CSV 文件编码无法识别，请保存为 UTF-8 或 GBK", err)
			}
			data = dec
		}
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		var rows [][]string
		for line := 1; ; line++ {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return rows, nil
			}
			if err != nil {
				return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("CSV 第 %d 行格式错误（引号或分隔符不匹配）", line), Err: err,
					Fields: []errs.FieldError{{Field: "file", Message: "CSV 格式错误", Row: line}}}
			}
			rows = append(rows, rec)
		}
	}
	return nil, errs.New(errs.Invalid, "仅支持 CSV 或 XLSX 文件")
}

// rowsToInputs maps the header and converts every data row. Row numbers in
// errors are spreadsheet line numbers (the header is line 1).
func rowsToInputs(rows [][]string) ([]EntityInput, []errs.FieldError) {
	if len(rows) == 0 {
		return nil, []errs.FieldError{{Field: "file", Message: "文件为空"}}
	}
	idx := map[string]int{}
	for i, h := range rows[0] {
		if f, ok := columns[strings.TrimSpace(h)]; ok {
			idx[f] = i
		}
	}
	var fe []errs.FieldError
	for _, f := range required {
		if _, ok := idx[f]; !ok {
			fe = append(fe, errs.FieldError{Field: f, Message: "缺少必需的列：" + headerName(f), Row: 1})
		}
	}
	if len(fe) > 0 {
		return nil, fe
	}
	data := rows[1:]
	if len(data) == 0 {
		return nil, []errs.FieldError{{Field: "file", Message: "文件中没有数据行"}}
	}
	if len(data) > MaxImportRows {
		return nil, []errs.FieldError{{Field: "file", Message: fmt.Sprintf("单个文件最多 %d 行，请拆分后导入", MaxImportRows)}}
	}
	out := make([]EntityInput, 0, len(data))
	for n, rec := range data {
		row := n + 2
		get := func(f string) string {
			i, ok := idx[f]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		in := EntityInput{
			CreditCode: get("credit_code"), Name: get("name"), EntityType: get("entity_type"), LegalRep: get("legal_rep"),
			EstablishedOn: normalizeDate(get("established_on")), RegisteredCapital: Decimal(get("registered_capital")),
			BusinessScope: get("business_scope"), Address: get("address"), DistrictCode: get("district_code"),
			TownshipCode: get("township_code"), IndustryCode: get("industry_code"), Status: get("status"),
		}
		if v, ok := typeLabels[in.EntityType]; ok {
			in.EntityType = v
		}
		if v, ok := statusLabels[in.Status]; ok {
			in.Status = v
		}
		fe = append(fe, parseCoords(&in, get("longitude"), get("latitude"), row)...)
		fe = append(fe, in.check(row)...)
		out = append(out, in)
	}
	return out, fe
}

// headerNames is the column title the bureau's template uses for each field.
var headerNames = map[string]string{
	"credit_code": "统一社会信用代码", "name": "主体名称", "entity_type": "主体类型", "legal_rep": "法定代表人",
	"established_on": "成立日期", "address": "住所", "district_code": "行政区划代码", "industry_code": "行业代码",
}

func headerName(field string) string {
	if h, ok := headerNames[field]; ok {
		return h
	}
	return field
}

// normalizeDate accepts 2020-1-2, 2020/01/02, 2020.1.2 and 2020年1月2日.
func normalizeDate(s string) string {
	r := strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "-", "日", "")
	parts := strings.Split(r.Replace(s), "-")
	if len(parts) != 3 {
		return s
	}
	y, e1 := strconv.Atoi(parts[0])
	m, e2 := strconv.Atoi(parts[1])
	d, e3 := strconv.Atoi(parts[2])
	if e1 != nil || e2 != nil || e3 != nil {
		return s
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

func parseCoords(in *EntityInput, lon, lat string, row int) []errs.FieldError {
	if lon == "" && lat == "" {
		return nil
	}
	x, e1 := strconv.ParseFloat(lon, 64)
	y, e2 := strconv.ParseFloat(lat, 64)
	if e1 != nil || e2 != nil {
		return []errs.FieldError{{Field: "longitude", Message: "经纬度应为数字", Row: row}}
	}
	in.Longitude, in.Latitude = &x, &y
	return nil
}

// Import validates every row and then writes all of them, with their
// entity.registered events, in one transaction — or nothing. The error
// lists every bad row and field.
func (f *Function) Import(ctx context.Context, scope auth.Scope, rows [][]string) (ImportResult, error) {
	inputs, fe := rowsToInputs(rows)
	fe = append(fe, duplicateRows(inputs)...)
	var outside []errs.FieldError
	for i, in := range inputs {
		if in.DistrictCode != "" && !scope.Allows(in.DistrictCode, in.TownshipCode) {
			outside = append(outside, errs.FieldError{Field: "district_code", Row: i + 2, Message: "不在您的数据权限范围内"})
		}
	}
	// Rows outside the caller's scope make the whole file forbidden, as a
	// single registration there is; the rows are named so the clerk can
	// take them out.
	if len(outside) > 0 {
		return ImportResult{}, &errs.Error{Code: errs.Forbidden, Fields: append(outside, fe...),
			Message: fmt.Sprintf("文件中有 %d 行不在您的数据权限范围内，无权导入", len(outside))}
	}
	if len(fe) > 0 {
		return ImportResult{}, importError(fe)
	}
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if fe := existingRows(ctx, tx, inputs); len(fe) > 0 {
			return importError(fe)
		}
		var evs []event.Event
		now := f.now()
		for _, in := range inputs {
			e, err := insertEntity(ctx, tx, in, now)
			if err != nil {
				return fmt.Errorf("insert %s: %w", in.CreditCode, err)
			}
			ev, err := f.newEvent(events.EntityRegistered, e.CreditCode, events.EntityRegisteredData{Entity: e.event(), RegisteredAt: now})
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		return outbox.Record(ctx, tx, evs...)
	})
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Imported: len(inputs)}, nil
}

func importError(fe []errs.FieldError) error {
	rows := map[int]bool{}
	for _, e := range fe {
		rows[e.Row] = true
	}
	return &errs.Error{Code: errs.Invalid, Fields: fe,
		Message: fmt.Sprintf("导入失败：%d 行存在 %d 处错误，未导入任何数据，请修正后重新导入", len(rows), len(fe))}
}

func duplicateRows(inputs []EntityInput) []errs.FieldError {
	seen := map[string]int{}
	var fe []errs.FieldError
	for i, in := range inputs {
		if first, ok := seen[in.CreditCode]; ok && in.CreditCode != "" {
			fe = append(fe, errs.FieldError{Field: "credit_code", Row: i + 2, Message: fmt.Sprintf("与第 %d 行的统一社会信用代码重复", first)})
			continue
		}
		seen[in.CreditCode] = i + 2
	}
	return fe
}

func existingRows(ctx context.Context, tx pgx.Tx, inputs []EntityInput) []errs.FieldError {
	codes := make([]string, len(inputs))
	for i, in := range inputs {
		codes[i] = in.CreditCode
	}
	rows, err := tx.Query(ctx, `SELECT credit_code FROM registry.entities WHERE credit_code = ANY($1)`, codes)
	if err != nil {
		return []errs.FieldError{{Field: "file", Message: "检查重复数据失败，请重试"}}
	}
	existing, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	have := map[string]bool{}
	for _, c := range existing {
		have[c] = true
	}
	var fe []errs.FieldError
	for i, in := range inputs {
		if have[in.CreditCode] {
			fe = append(fe, errs.FieldError{Field: "credit_code", Row: i + 2, Message: "该统一社会信用代码已登记"})
		}
	}
	return fe
}
