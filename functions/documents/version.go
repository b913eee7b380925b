package documents

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Version is a major.minor.patch version of a template or a document
// (FP-39). The rules that pick the part to bump are in
// docs/functions/documents.md, "Version numbers", and in templateChange
// and documentChange.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less orders versions.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// ParseVersion reads "1.2.3".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	bad := errs.Fields([]errs.FieldError{{Field: "version", Message: "版本号应为 主版本.次版本.修订号（如 1.0.2）"}})
	if len(parts) != 3 {
		return Version{}, bad
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 1_000_000 || p != strconv.Itoa(v) {
			return Version{}, bad
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}

// Changes, as recorded with each version.
const (
	changeInitial = "initial"
	changeMajor   = "major"
	changeMinor   = "minor"
	changePatch   = "patch"
)

// Next is the version after v for a change of the given part; the parts
// after it restart at 0.
func (v Version) Next(change string) Version {
	switch change {
	case changeMajor:
		return Version{v.Major + 1, 0, 0}
	case changeMinor:
		return Version{v.Major, v.Minor + 1, 0}
	}
	return Version{v.Major, v.Minor, v.Patch + 1}
}

// templateChange is the part of a template's version a save bumps ("" when
// nothing changed):
//
//   - major: a template change. The kind changes, or a field that stays
//     changes what it accepts (type, required, multiline, lengths, options,
//     range, prefill source): documents filled against the old version may
//     not fit the new one.
//   - minor: a field added or removed, nothing else of that weight.
//   - patch: a text correction: title, body, labels, prompts, field order.
func templateChange(oldKind string, old []Field, oldTitle, oldBody string, in TemplateInput) string {
	if oldKind != in.Kind {
		return changeMajor
	}
	oldBy := map[string]Field{}
	for _, f := range old {
		oldBy[f.Key] = f
	}
	newBy := map[string]Field{}
	for _, f := range in.Fields {
		newBy[f.Key] = f
	}
	for k, n := range newBy {
		if o, ok := oldBy[k]; ok && !sameRules(o, n) {
			return changeMajor
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(oldBy)), slices.Sorted(maps.Keys(newBy))) {
		return changeMinor
	}
	if oldTitle != in.Title || oldBody != in.Body || !slices.EqualFunc(old, in.Fields, func(a, b Field) bool {
		return a.Key == b.Key && a.Label == b.Label && a.Prompt == b.Prompt
	}) {
		return changePatch
	}
	return ""
}

// sameRules reports whether two fields accept the same values.
func sameRules(a, b Field) bool {
	return a.Type == b.Type && a.Required == b.Required && a.Multiline == b.Multiline && a.MinLen == b.MinLen &&
		a.MaxLen == b.MaxLen && slices.Equal(a.Options, b.Options) && a.Min == b.Min && a.Max == b.Max && a.Prefill == b.Prefill
}

// documentChange is the part of a document's version a save bumps ("" when
// nothing changed):
//
//   - major: a template change: the document moves to a template version
//     of another major version;
//   - minor: a field added or removed: the set of filled fields differs
//     (a value filled in or cleared, or a field the new template version
//     added or dropped);
//   - patch: a text correction: a filled value changes, or the document
//     moves to a template version that only reworded the text.
func documentChange(oldT, newT Version, old, new map[string]string) string {
	if oldT.Major != newT.Major {
		return changeMajor
	}
	if !slices.Equal(slices.Sorted(maps.Keys(old)), slices.Sorted(maps.Keys(new))) {
		return changeMinor
	}
	if oldT != newT || !maps.Equal(old, new) {
		return changePatch
	}
	return ""
}

// FieldDiff is one field of two versions side by side.
type FieldDiff struct {
	Key    string    `json:"key"`
	Label  string    `json:"label"`
	Type   FieldType `json:"type"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Change string    `json:"change"` // same | added | removed | changed
}

// LineDiff is one row of the text side by side: a line only in the older
// version (removed), only in the newer (added), in both (same), or a line
// replaced by another (changed).
type LineDiff struct {
	Op   string `json:"op"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Diff compares two versions of a template or a document.
type Diff struct {
	From   string      `json:"from"`
	To     string      `json:"to"`
	Fields []FieldDiff `json:"fields"`
	Text   []LineDiff  `json:"text"`
}

// diffFields lines up the fields of two versions: for a document the
// values (labels from the newer template), for a template the definitions.
func diffFields(oldF, newF []Field, oldV, newV map[string]string) []FieldDiff {
	out := []FieldDiff{}
	seen := map[string]bool{}
	oldBy := map[string]Field{}
	for _, f := range oldF {
		oldBy[f.Key] = f
	}
	for _, f := range newF {
		seen[f.Key] = true
		d := FieldDiff{Key: f.Key, Label: f.Label, Type: f.Type, From: oldV[f.Key], To: newV[f.Key]}
		_, had := oldBy[f.Key]
		switch {
		case !had || (d.From == "" && d.To != ""):
			d.Change = "added"
		case d.From != "" && d.To == "":
			d.Change = "removed"
		case d.From != d.To:
			d.Change = "changed"
		default:
			d.Change = "same"
		}
		out = append(out, d)
	}
	for _, f := range oldF {
		if !seen[f.Key] {
			out = append(out, FieldDiff{Key: f.Key, Label: f.Label, Type: f.Type, From: oldV[f.Key], Change: "removed"})
		}
	}
	return out
}

// describeField is a template field's definition as one line, for the
// template diff.
func describeField(f Field) string {
	name, _ := fieldTypeName(f.Type)
	parts := []string{f.Label, name}
	if f.Required {
		parts = append(parts, "必填")
	}
	if f.Multiline {
		parts = append(parts, "多行")
	}
	if f.MinLen > 0 || f.MaxLen > 0 {
		parts = append(parts, fmt.Sprintf("%d–%d 字", f.MinLen, f.MaxLen))
	}
	if len(f.Options) > 0 {
		parts = append(parts, "选项："+strings.Join(f.Options, "/"))
	}
	if f.Min != "" || f.Max != "" {
		parts = append(parts, "范围："+f.Min+"～"+f.Max)
	}
	if f.Prefill != "" {
		parts = append(parts, "预填："+f.Prefill)
	}
	if f.Prompt != "" {
		parts = append(parts, "提示："+f.Prompt)
	}
	return strings.Join(parts, "；")
}

// diffLines is the side-by-side line diff of two texts: a longest common
// subsequence of lines, with each run of removed lines paired with the
// run of added lines that replaces it.
func diffLines(a, b string) []LineDiff {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if a == "" {
		x = nil
	}
	if b == "" {
		y = nil
	}
	// Common ends first: an edit touches a few lines of a long text.
	var head, tail []LineDiff
	for len(x) > 0 && len(y) > 0 && x[0] == y[0] {
		head = append(head, LineDiff{Op: "same", From: x[0], To: y[0]})
		x, y = x[1:], y[1:]
	}
	for len(x) > 0 && len(y) > 0 && x[len(x)-1] == y[len(y)-1] {
		tail = append([]LineDiff{{Op: "same", From: x[len(x)-1], To: y[len(y)-1]}}, tail...)
		x, y = x[:len(x)-1], y[:len(y)-1]
	}
	// A middle too large for the quadratic table (a rewritten text) is
	// shown as replaced line by line.
	if len(x)*len(y) > 1_000_000 {
		out := head
		for k := 0; k < max(len(x), len(y)); k++ {
			switch {
			case k < len(x) && k < len(y):
				out = append(out, LineDiff{Op: "changed", From: x[k], To: y[k]})
			case k < len(x):
				out = append(out, LineDiff{Op: "removed", From: x[k]})
			default:
				out = append(out, LineDiff{Op: "added", To: y[k]})
			}
		}
		return append(out, tail...)
	}
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	out := append([]LineDiff{}, head...)
	var del, ins []string
	flush := func() {
		n := max(len(del), len(ins))
		for k := 0; k < n; k++ {
			switch {
			case k < len(del) && k < len(ins):
				out = append(out, LineDiff{Op: "changed", From: del[k], To: ins[k]})
			case k < len(del):
				out = append(out, LineDiff{Op: "removed", From: del[k]})
			default:
				out = append(out, LineDiff{Op: "added", To: ins[k]})
			}
		}
		del, ins = nil, nil
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			flush()
			out = append(out, LineDiff{Op: "same", From: x[i], To: y[j]})
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			ins = append(ins, y[j])
			j++
		default:
			del = append(del, x[i])
			i++
		}
	}
	flush()
	return append(out, tail...)
}
