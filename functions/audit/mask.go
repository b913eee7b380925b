package audit

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/sjzamr/smartreg/shared/codes"
)

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
