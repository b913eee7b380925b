package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// hubPush is the client of the city data hub's return channel (数据枢纽
// 回传, FP-16): supervision records of the entity base (inspections,
// random and spot checks, penalties) are sent back in batches. The hub
// keeps one row per record_id, so a batch resent after a crash is counted
// as duplicates there and changes nothing.
type hubPush struct{ base, key string }

// HubRecord is one supervision record as the hub takes it.
type HubRecord struct {
	RecordID   string `json:"record_id"`
	CreditCode string `json:"credit_code"`
	Kind       string `json:"kind"`
	Title      string `json:"title"`
	Authority  string `json:"authority"`
	OccurredOn string `json:"occurred_on"`
	Status     string `json:"status"`
}

func (r HubRecord) fields() map[string]string {
	return map[string]string{"record_id": r.RecordID, "credit_code": r.CreditCode, "kind": r.Kind, "title": r.Title,
		"authority": r.Authority, "occurred_on": r.OccurredOn, "status": r.Status}
}

type hubAnswer struct {
	Code       string `json:"code"`
	Msg        string `json:"msg"`
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
	Rejected   []struct {
		RecordID string `json:"record_id"`
		Reason   string `json:"reason"`
	} `json:"rejected"`
}

func (h *hubPush) send(ctx context.Context, c *caller, batchID string, recs []HubRecord) (hubAnswer, error) {
	body, _ := json.Marshal(map[string]any{"batch_id": batchID, "records": recs})
	u := h.base + "/hub/v1/supervision-records"
	raw, err := c.do(ctx, request{method: "POST", logURL: u + "?batch_id=" + batchID,
		rows: func([]byte) int { return len(recs) },
		build: func(ctx context.Context) (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, "POST", u, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "HubKey "+h.key)
			}
			return req, err
		}})
	if err != nil {
		return hubAnswer{}, err
	}
	var a hubAnswer
	if err := decode(raw, &a); err != nil {
		return a, err
	}
	if a.Code != "0000" {
		return a, refuse("数据枢纽返回错误 "+a.Code+"："+a.Msg, nil)
	}
	return a, nil
}

// supervisionAfter reads the registry's supervision records after id
// through its published function (registry migration 0107).
func supervisionAfter(ctx context.Context, q store.Querier, after int64, n int) ([]HubRecord, []int64, error) {
	rows, err := q.Query(ctx, `SELECT id, credit_code, kind, title, authority, occurred_on, status
		FROM registry.supervision_records_after($1, $2)`, after, n)
	if err != nil {
		return nil, nil, store.Classify(err)
	}
	defer rows.Close()
	var recs []HubRecord
	var ids []int64
	for rows.Next() {
		var id int64
		var r HubRecord
		if err := rows.Scan(&id, &r.CreditCode, &r.Kind, &r.Title, &r.Authority, &r.OccurredOn, &r.Status); err != nil {
			return nil, nil, err
		}
		r.RecordID = "SJZ-" + strconv.FormatInt(id, 10)
		recs, ids = append(recs, r), append(ids, id)
	}
	return recs, ids, rows.Err()
}

// push sends the records after the cursor, a batch at a time; the cursor
// moves only after the hub acknowledged the batch.
func (f *Function) push(ctx context.Context, c Connector, cl *caller, run *Run) error {
	for {
		after, err := seqOf(run.CursorTo)
		if err != nil {
			return err
		}
		recs, ids, err := supervisionAfter(ctx, f.pool, after, f.cfg.PageSize)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		last := ids[len(ids)-1]
		// The batch id names its range, so the hub can see a resend as one.
		ans, err := c.pusher.send(ctx, cl, fmt.Sprintf("%s-%d-%d", c.Name, ids[0], last), recs)
		if err != nil {
			return err
		}
		rejected := map[string]string{}
		for _, r := range ans.Rejected {
			rejected[r.RecordID] = r.Reason
		}
		written := 0
		err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
			written = 0
			for _, r := range recs {
				if _, bad := rejected[r.RecordID]; bad {
					continue
				}
				payload, _ := json.Marshal(r)
				tag, err := tx.Exec(ctx, `INSERT INTO connectors.items (connector, ext_id, credit_code, kind, content_hash, payload, run_id, received_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
					ON CONFLICT (connector, ext_id) DO UPDATE SET content_hash = excluded.content_hash, payload = excluded.payload,
						run_id = excluded.run_id, received_at = excluded.received_at
					WHERE connectors.items.content_hash <> excluded.content_hash`,
					c.Name, r.RecordID, r.CreditCode, r.Kind, contentHash(r.fields()), payload, run.ID, f.now())
				if err != nil {
					return err
				}
				written += int(tag.RowsAffected())
			}
			return f.advance(ctx, tx, c.Name, run, strconv.FormatInt(last, 10), len(recs), written, len(rejected))
		})
		if err != nil {
			return err
		}
		for id, why := range rejected {
			f.logExchange(c.Name, run.ID, Exchange{Method: "ROW", URL: id, Err: "数据枢纽拒收：" + why})
		}
		f.afterPage()
	}
}
