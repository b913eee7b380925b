package ocridcard

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
)

// The registry is read only through its published functions
// (docs/architecture.md): registry.public_page(code) and
// registry.name_candidates(q, district, lim) (registry migration 0104).

func entityByCode(ctx context.Context, q store.Querier, code string, scope auth.Scope) (Match, bool, error) {
	args := []any{code}
	filter := scope.Filter("p.district_code", "p.township_code", &args)
	var m Match
	err := q.QueryRow(ctx, `SELECT p.credit_code, p.name, p.entity_type, p.legal_rep, p.address, p.district_code,
		coalesce(p.township_code, ''), p.status FROM registry.public_page($1) p WHERE `+filter, args...).
		Scan(&m.CreditCode, &m.Name, &m.EntityType, &m.LegalRep, &m.Address, &m.District, &m.Township, &m.Status)
	if err == pgx.ErrNoRows {
		return m, false, nil
	}
	m.Similarity = 1
	return m, err == nil, store.Classify(err)
}

// entitiesByName asks for more candidates than it answers, since the scope
// filter drops some after the ranking.
func entitiesByName(ctx context.Context, q store.Querier, name, district string, scope auth.Scope, lim int) ([]Match, error) {
	args := []any{name, district}
	filter := scope.Filter("c.district_code", "c.township_code", &args)
	rows, err := q.Query(ctx, fmt.Sprintf(`SELECT c.credit_code, c.name, c.entity_type, c.legal_rep, c.address, c.district_code,
		coalesce(c.township_code, ''), c.status, c.similarity
		FROM registry.name_candidates($1, $2, %d) c WHERE %s ORDER BY c.similarity DESC, c.credit_code LIMIT %d`, lim*5, filter, lim), args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := []Match{}
	for rows.Next() {
		var m Match
		if err := rows.Scan(&m.CreditCode, &m.Name, &m.EntityType, &m.LegalRep, &m.Address, &m.District, &m.Township, &m.Status, &m.Similarity); err != nil {
			return nil, store.Classify(err)
		}
		out = append(out, m)
	}
	return out, store.Classify(rows.Err())
}
