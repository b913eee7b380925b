package provincialsync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// outbound reads one resource's local changes through metrology's
// published function and shapes them as the province takes them,
// completing the fields it requires (FP-166).
type outbound struct {
	resource string
	fn       string // metrology's published function, "(timestamptz, key, int)"
	keyInt   bool   // the keyset key is a bigint (else text)
	query    string
	build    func(row pgx.Row, src string, now time.Time) (Record, time.Time, string, string, error) // record, updated_at, key, district
}

var conclusions = map[string]string{"pass": "合格", "fail": "不合格"}

var outbounds = []outbound{
	{resource: "enterprises", fn: "metrology.changed_enterprises(timestamptz,text,integer)",
		query: `SELECT credit_code, name, district_code, address, contact, phone, email, updated_at FROM metrology.changed_enterprises($1, $2, $3)`,
		build: func(row pgx.Row, src string, now time.Time) (Record, time.Time, string, string, error) {
			var code, name, district, address, contact, phone, email string
			var at time.Time
			err := row.Scan(&code, &name, &district, &address, &contact, &phone, &email, &at)
			return Record{"tyshxydm": code, "qymc": name, "xzqhdm": district, "dz": address, "lxr": contact, "lxdh": phone, "dzyx": email,
				"gxsj": at.UTC().Format(time.RFC3339Nano), "sjly": src, "tbsj": now.UTC().Format(time.RFC3339)}, at, code, district, err
		}},
	{resource: "instruments", fn: "metrology.changed_instruments(timestamptz,bigint,integer)", keyInt: true,
		query: `SELECT id, credit_code, district_code, category_code, category_name, name, model, serial_no, manufacturer, status,
				to_char(valid_until, 'YYYY-MM-DD'), updated_at FROM metrology.changed_instruments($1, $2, $3)`,
		build: func(row pgx.Row, src string, now time.Time) (Record, time.Time, string, string, error) {
			var id int64
			var code, district, cat, catName, name, model, serial, maker, status string
			var until *string
			var at time.Time
			err := row.Scan(&id, &code, &district, &cat, &catName, &name, &model, &serial, &maker, &status, &until, &at)
			rec := Record{"bdid": strconv.FormatInt(id, 10), "tyshxydm": code, "xzqhdm": district, "qjzl": cat, "qjzlmc": catName, "qjmc": name,
				"ggxh": model, "ccbh": serial, "zzdw": maker, "syzt": status, "gxsj": at.UTC().Format(time.RFC3339Nano), "sjly": src,
				"tbsj": now.UTC().Format(time.RFC3339)}
			if until != nil {
				rec["yxqz"] = *until
			}
			return rec, at, strconv.FormatInt(id, 10), district, err
		}},
	{resource: "verifications", fn: "metrology.changed_verifications(timestamptz,bigint,integer)", keyInt: true,
		query: `SELECT id, instrument_id, credit_code, district_code, institution_id, certificate_no, result, class,
				to_char(verified_on, 'YYYY-MM-DD'), to_char(valid_until, 'YYYY-MM-DD'), verifier, updated_at
			FROM metrology.changed_verifications($1, $2, $3)`,
		build: func(row pgx.Row, src string, now time.Time) (Record, time.Time, string, string, error) {
			var id, inst int64
			var code, district, institution, certNo, result, class, on, verifier string
			var until *string
			var at time.Time
			err := row.Scan(&id, &inst, &code, &district, &institution, &certNo, &result, &class, &on, &until, &verifier, &at)
			rec := Record{"bdid": strconv.FormatInt(id, 10), "zsbh": certNo, "qjid": strconv.FormatInt(inst, 10), "tyshxydm": code,
				"jdjg": institution, "jdjl": conclusions[result], "zqddj": class, "jdrq": on, "jdy": verifier, "xzqhdm": district,
				"gxsj": at.UTC().Format(time.RFC3339Nano), "sjly": src, "tbsj": now.UTC().Format(time.RFC3339)}
			if until != nil {
				rec["yxqz"] = *until
			}
			return rec, at, strconv.FormatInt(id, 10), district, err
		}},
}

// pushAll pushes every resource's local changes; without metrology's
// functions here (a deployment without metrology) there is nothing to push.
func (f *Function) pushAll(ctx context.Context, run *Run) error {
	for _, o := range outbounds {
		var exists bool
		if err := f.pool.QueryRow(ctx, `SELECT to_regprocedure($1) IS NOT NULL`, o.fn).Scan(&exists); err != nil {
			return store.Classify(err)
		}
		if !exists {
			continue
		}
		if err := f.push(ctx, run, o); err != nil {
			return fmt.Errorf("%s: %w", o.resource, err)
		}
	}
	return nil
}

// push sends one resource's changes after its mark, a batch at a time;
// each accepted batch moves the mark in the transaction that logs it.
func (f *Function) push(ctx context.Context, run *Run, o outbound) error {
	since, after, err := loadPushMark(ctx, f.pool, o.resource)
	if err != nil {
		return err
	}
	for {
		var key any = after
		if o.keyInt {
			n, _ := strconv.ParseInt(after, 10, 64)
			key = n
		}
		rows, err := f.pool.Query(ctx, o.query, since, key, f.cfg.PushBatch)
		if err != nil {
			return store.Classify(err)
		}
		var items []Record
		var keys, districts []string
		var lastAt time.Time
		for rows.Next() {
			rec, at, k, district, err := o.build(rows, f.cfg.SourceName, f.now())
			if err != nil {
				rows.Close()
				return store.Classify(err)
			}
			items, keys, districts, lastAt = append(items, rec), append(keys, k), append(districts, district), at
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return store.Classify(err)
		}
		if len(items) == 0 {
			return nil
		}
		res, err := f.client.Push(ctx, o.resource, items)
		if err != nil {
			return err
		}
		rejected := map[int]Rejection{}
		for _, rj := range res.Rejected {
			rejected[rj.Index] = rj
		}
		entries := make([]logEntry, len(items))
		for i := range items {
			entries[i] = logEntry{Resource: o.resource, SourceID: keys[i], District: districts[i], Action: "push", Message: "已上报省平台"}
			if rj, ok := rejected[i]; ok {
				entries[i].Action, entries[i].Field, entries[i].Message = "reject", rj.Field, "省平台拒收："+rj.Msg
			}
		}
		run.Pushed += int64(len(items) - len(rejected))
		run.Rejected += int64(len(rejected))
		since, after = lastAt, keys[len(keys)-1]
		if err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
			if err := writeLog(ctx, tx, run.ID, entries, f.now()); err != nil {
				return err
			}
			return savePushMark(ctx, tx, o.resource, since, after, f.now())
		}); err != nil {
			return err
		}
		if len(items) < f.cfg.PushBatch {
			return nil
		}
	}
}

func loadPushMark(ctx context.Context, q store.Querier, resource string) (time.Time, string, error) {
	var since time.Time
	var after string
	err := q.QueryRow(ctx, `SELECT since, after_key FROM province.push_marks WHERE resource = $1`, resource).Scan(&since, &after)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Unix(0, 0).UTC(), "", nil
	}
	return since, after, store.Classify(err)
}

func savePushMark(ctx context.Context, tx pgx.Tx, resource string, since time.Time, after string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO province.push_marks (resource, since, after_key, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (resource) DO UPDATE SET since = EXCLUDED.since, after_key = EXCLUDED.after_key, updated_at = EXCLUDED.updated_at`,
		resource, since, after, now)
	return store.Classify(err)
}
