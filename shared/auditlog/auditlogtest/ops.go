package auditlogtest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sjzamr/smartreg/shared/store"
)

// Op is one recorded operation-log row as a test checks it.
type Op struct {
	Action, Source, UserID, Username, IP string
	ObjectType, ObjectID                 string
	DistrictCode, TownshipCode           string
	Before, After                        json.RawMessage
}

// Ops is what was recorded for objectID (every object when ""), oldest
// first; the database must have Migration.
func Ops(t testing.TB, q store.Querier, objectID string) []Op {
	t.Helper()
	rows, err := q.Query(context.Background(), `SELECT action, source, user_id, username, ip, object_type, object_id,
		district_code, township_code, before, after FROM recorded.op_log WHERE $1 = '' OR object_id = $1 ORDER BY id`, objectID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Op
	for rows.Next() {
		var o Op
		var before, after []byte
		if err := rows.Scan(&o.Action, &o.Source, &o.UserID, &o.Username, &o.IP, &o.ObjectType, &o.ObjectID,
			&o.DistrictCode, &o.TownshipCode, &before, &after); err != nil {
			t.Fatal(err)
		}
		o.Before, o.After = before, after
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Field is the string value of key in a before or after state ("" when
// absent).
func Field(state json.RawMessage, key string) string {
	var m map[string]any
	if json.Unmarshal(state, &m) != nil {
		return ""
	}
	switch v := m[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
