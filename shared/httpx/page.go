package httpx

import (
	"slices"
	"strings"

	"github.com/sjzamr/smartreg/shared/errs"
)

// PageOf is one page of a list answer; every list endpoint answers this
// shape, so the console pages them the same way.
type PageOf[T any] struct {
	Items    []T `json:"items"`
	Total    int `json:"total"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

// NewPage wraps items (never null in JSON) with the paging they answer.
func NewPage[T any](items []T, total int, p Page) PageOf[T] {
	if items == nil {
		items = []T{}
	}
	return PageOf[T]{Items: items, Total: total, Page: p.Page, PageSize: p.Size}
}

// Sort is a parsed "sort" parameter: a field name, "-" in front for
// descending.
type Sort struct {
	Field string
	Desc  bool
}

// ParseSort reads raw ("name", "-created_at") against the allowed field
// names; "" gives def. An unknown field is an error naming the allowed ones.
func ParseSort(raw string, def Sort, allowed ...string) (Sort, error) {
	if raw == "" {
		return def, nil
	}
	s := Sort{Field: strings.TrimPrefix(raw, "-"), Desc: strings.HasPrefix(raw, "-")}
	if !slices.Contains(allowed, s.Field) {
		return Sort{}, errs.Fields([]errs.FieldError{{Field: "sort",
			Message: "排序字段应为 " + strings.Join(allowed, "、") + "（前加 - 为降序）"}})
	}
	return s, nil
}

// Dir is the SQL direction of the sort.
func (s Sort) Dir() string {
	if s.Desc {
		return "DESC"
	}
	return "ASC"
}
