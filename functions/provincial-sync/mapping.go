package provincialsync

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Field maps one field of the province's records to our column (FP-165).
type Field struct {
	Province string `json:"province"` // the province's name (pinyin initials, as its API spells them)
	Column   string `json:"column"`   // our column in the province schema
	Label    string `json:"label"`
	Kind     string `json:"kind"` // text | date
}

// Resource is one kind of record the sync pulls.
type Resource struct {
	Name   string  `json:"name"` // the province's resource and our table
	Label  string  `json:"label"`
	Fields []Field `json:"fields"`
}

// The province's id and change time are in every record.
const (
	fieldID      = "id"
	fieldUpdated = "gxsj"
)

// resources is the field mapping, in pull order (an instrument's owner
// before the instrument).
var resources = []Resource{
	{Name: "enterprises", Label: "计量器具使用单位", Fields: []Field{
		{"tyshxydm", "credit_code", "统一社会信用代码", "text"},
		{"qymc", "name", "单位名称", "text"},
		{"xzqhdm", "district_code", "行政区划代码", "text"},
		{"dz", "address", "地址", "text"},
		{"lxr", "contact", "联系人", "text"},
		{"lxdh", "phone", "联系电话", "text"},
	}},
	{Name: "instruments", Label: "强检计量器具", Fields: []Field{
		{"tyshxydm", "credit_code", "使用单位统一社会信用代码", "text"},
		{"xzqhdm", "district_code", "行政区划代码", "text"},
		{"qjmc", "name", "器具名称", "text"},
		{"ggxh", "model", "规格型号", "text"},
		{"ccbh", "serial_no", "出厂编号", "text"},
		{"zzdw", "manufacturer", "制造单位", "text"},
		{"qjzl", "category_code", "器具种别代码", "text"},
		{"syzt", "status", "使用状态", "text"},
		{"yxqz", "valid_until", "检定有效期至", "date"},
	}},
	{Name: "verifications", Label: "检定记录", Fields: []Field{
		{"zsbh", "certificate_no", "证书编号", "text"},
		{"qjid", "instrument_source_id", "器具编号（省平台）", "text"},
		{"jdjg", "institution", "检定机构", "text"},
		{"jdjl", "conclusion", "检定结论", "text"},
		{"jdrq", "verified_on", "检定日期", "date"},
		{"yxqz", "valid_until", "有效期至", "date"},
		{"xzqhdm", "district_code", "行政区划代码", "text"},
	}},
}

// Resources is the field mapping, for the API and the console.
func Resources() []Resource { return slices.Clone(resources) }

func resourceNamed(name string) (Resource, bool) {
	for _, r := range resources {
		if r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// Mapped is one province record in our columns.
type Mapped struct {
	SourceID  string
	UpdatedAt time.Time
	Values    []any // by r.Fields; nil for NULL
	Hash      string
	// Missing are mapped fields the record lacks (a renamed field, drift:
	// the column keeps its value); Unknown are fields we do not map (an
	// added field, drift: ignored).
	Missing, Unknown []string
	Bad              []string // fields whose value does not parse
}

// District is the record's district code, for the scope of the log.
func (m Mapped) District(r Resource) string {
	for i, f := range r.Fields {
		if f.Column == "district_code" {
			if s, ok := m.Values[i].(string); ok {
				return s
			}
		}
	}
	return ""
}

// mapRecord maps a province record. A record without an id or a parsable
// change time cannot be placed and is an error; every other problem is
// confined to its field.
func mapRecord(r Resource, rec Record) (Mapped, error) {
	var m Mapped
	id, ok := rec[fieldID]
	if !ok || id == nil || fmt.Sprint(id) == "" {
		return m, fmt.Errorf("record without %s", fieldID)
	}
	m.SourceID = fmt.Sprint(id)
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec[fieldUpdated]))
	if err != nil {
		return m, fmt.Errorf("record %s: %s %q is not RFC 3339", m.SourceID, fieldUpdated, rec[fieldUpdated])
	}
	m.UpdatedAt = at.UTC()
	known := map[string]bool{fieldID: true, fieldUpdated: true}
	m.Values = make([]any, len(r.Fields))
	h := sha256.New()
	for i, f := range r.Fields {
		known[f.Province] = true
		v, present := rec[f.Province]
		if !present {
			m.Missing = append(m.Missing, f.Province)
			fmt.Fprintf(h, "%s\x00?\x00", f.Column) // absent ≠ empty ≠ null
			continue
		}
		if v == nil {
			fmt.Fprintf(h, "%s\x00-\x00", f.Column)
			continue
		}
		s := strings.TrimSpace(fmt.Sprint(v))
		switch f.Kind {
		case "date":
			d, err := time.Parse(time.DateOnly, s)
			if err != nil && s != "" {
				m.Bad = append(m.Bad, f.Province)
			}
			if err == nil {
				m.Values[i] = d
			}
		default:
			m.Values[i] = s
		}
		fmt.Fprintf(h, "%s\x00=%s\x00", f.Column, s)
	}
	for k := range rec {
		if !known[k] {
			m.Unknown = append(m.Unknown, k)
		}
	}
	sort.Strings(m.Unknown)
	m.Hash = hex.EncodeToString(h.Sum(nil))
	return m, nil
}

// ContentHash is the hash a province record is stored with, for tests and
// benchmarks comparing against the province's data.
func ContentHash(resource string, rec Record) (string, error) {
	r, ok := resourceNamed(resource)
	if !ok {
		return "", fmt.Errorf("unknown resource %q", resource)
	}
	m, err := mapRecord(r, rec)
	return m.Hash, err
}
