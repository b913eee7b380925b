package entitygraph

import (
	"context"

	"github.com/sjzamr/smartreg/shared/store"
)

// party is a node as stored.
type party struct {
	ID, Kind, Name, District, Township string
}

func loadParties(ctx context.Context, q store.Querier, ids []string) (map[string]party, error) {
	out := make(map[string]party, len(ids))
	rows, err := q.Query(ctx, `SELECT id, kind, name, district_code, township_code FROM graph.parties WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p party
		if err := rows.Scan(&p.ID, &p.Kind, &p.Name, &p.District, &p.Township); err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, store.Classify(rows.Err())
}

// edgesOf is one level of the walk: the holdings whose held party (up) or
// holder (down) is among ids.
func edgesOf(ctx context.Context, q store.Querier, ids []string, up bool) ([]Edge, error) {
	sql := `SELECT holder_id, held_id, pct::float8 / 100 FROM graph.holdings WHERE held_id = ANY($1)`
	if !up {
		sql = `SELECT holder_id, held_id, pct::float8 / 100 FROM graph.holdings WHERE holder_id = ANY($1)`
	}
	rows, err := q.Query(ctx, sql, ids)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	var out []Edge
	for rows.Next() {
		var e Edge
		if err := rows.Scan(&e.Holder, &e.Held, &e.Share); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, store.Classify(rows.Err())
}

// ancestors loads every holding above target up to depth levels in one
// round trip: a recursive query collects the parties reached (each once
// per level, so a cycle ends at the depth), then their holders' edges.
func ancestors(ctx context.Context, q store.Querier, target string, depth int) (map[string][]Edge, error) {
	rows, err := q.Query(ctx, `WITH RECURSIVE up(id, depth) AS (
			SELECT $1::text, 0
			UNION
			SELECT h.holder_id, u.depth + 1 FROM up u JOIN graph.holdings h ON h.held_id = u.id WHERE u.depth < $2
		)
		SELECT h.holder_id, h.held_id, h.pct::float8 / 100 FROM graph.holdings h
		WHERE h.held_id IN (SELECT id FROM up WHERE depth < $2)`, target, depth)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	holders := map[string][]Edge{}
	for rows.Next() {
		var e Edge
		if err := rows.Scan(&e.Holder, &e.Held, &e.Share); err != nil {
			return nil, err
		}
		holders[e.Held] = append(holders[e.Held], e)
	}
	return holders, store.Classify(rows.Err())
}

// relation is a non-holding link.
type relation struct{ From, To, Kind string }

func relationsOf(ctx context.Context, q store.Querier, ids []string) ([]relation, error) {
	rows, err := q.Query(ctx, `SELECT from_id, to_id, kind FROM graph.relations WHERE from_id = ANY($1) OR to_id = ANY($1)`, ids)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	var out []relation
	for rows.Next() {
		var r relation
		if err := rows.Scan(&r.From, &r.To, &r.Kind); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, store.Classify(rows.Err())
}

// Change is a change record of a holding.
type Change struct {
	HolderID     string   `json:"holder_id"`
	Kind         string   `json:"kind"`
	PctBefore    *float64 `json:"pct_before,omitempty"`
	PctAfter     *float64 `json:"pct_after,omitempty"`
	Counterparty string   `json:"counterparty_id,omitempty"`
	OccurredOn   string   `json:"occurred_on"`
}

func changesOf(ctx context.Context, q store.Querier, held string) ([]Change, error) {
	rows, err := q.Query(ctx, `SELECT holder_id, kind, pct_before::float8, pct_after::float8, COALESCE(counterparty_id, ''),
		to_char(occurred_on, 'YYYY-MM-DD') FROM graph.changes WHERE held_id = $1 ORDER BY occurred_on DESC, id DESC LIMIT 200`, held)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := []Change{}
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.HolderID, &c.Kind, &c.PctBefore, &c.PctAfter, &c.Counterparty, &c.OccurredOn); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, store.Classify(rows.Err())
}
