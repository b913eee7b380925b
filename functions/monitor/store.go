package monitor

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Model is a monitoring model (FP-88).
type Model struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Districts  []string  `json:"districts"`
	Types      []string  `json:"types"`
	Platforms  []string  `json:"platforms"`
	WindowDays int       `json:"window_days"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// Clue is one suspected violation.
type Clue struct {
	ID          int64      `json:"id"`
	ModelID     int64      `json:"model_id"`
	RuleID      string     `json:"rule_id"`
	RuleName    string     `json:"rule_name"`
	RuleVersion string     `json:"rule_version"`
	Article     string     `json:"article"`
	Term        string     `json:"term"`
	Snippet     string     `json:"snippet"`
	ObjectURL   string     `json:"object_url"`
	ObjectName  string     `json:"object_name"`
	EntityName  string     `json:"entity_name"`
	CreditCode  string     `json:"credit_code"`
	District    string     `json:"district"`
	Platform    string     `json:"platform"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	ReviewedBy  string     `json:"reviewed_by"`
	ReviewedAt  *time.Time `json:"reviewed_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

func insertModel(ctx context.Context, q store.Querier, m Model) (Model, error) {
	err := q.QueryRow(ctx, `INSERT INTO monitor.models (name, districts, types, platforms, window_days, created_by, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id`, m.Name, m.Districts, m.Types, m.Platforms, m.WindowDays, m.CreatedBy, m.CreatedAt).Scan(&m.ID)
	return m, store.Classify(err)
}

const modelCols = `id, name, districts, types, platforms, window_days, created_by, created_at`

func scanModel(r pgx.Row) (Model, error) {
	var m Model
	err := r.Scan(&m.ID, &m.Name, &m.Districts, &m.Types, &m.Platforms, &m.WindowDays, &m.CreatedBy, &m.CreatedAt)
	return m, err
}

func getModel(ctx context.Context, q store.Querier, id int64) (Model, error) {
	m, err := scanModel(q.QueryRow(ctx, `SELECT `+modelCols+` FROM monitor.models WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, errs.New(errs.NotFound, "监测模型不存在")
	}
	return m, store.Classify(err)
}

func listModels(ctx context.Context, q store.Querier, p httpx.Page) ([]Model, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM monitor.models`).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+modelCols+` FROM monitor.models ORDER BY id DESC LIMIT $1 OFFSET $2`, p.Size, p.Offset())
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Model, error) { return scanModel(r) })
	return out, total, store.Classify(err)
}

// onlineObject is a row of crawlershard.online_objects, the crawler's
// published read function (crawler-shard migration 0001).
type onlineObject struct {
	URL, Kind, Name, Text, EntityName, CreditCode, District, Platform string
	HasLicence                                                        bool
}

func onlineObjects(ctx context.Context, q store.Querier, m Model, since time.Time) ([]onlineObject, error) {
	var w store.Where
	w.Add("updated_at >= ?", since)
	if len(m.Districts) > 0 {
		w.Add("district = ANY(?)", m.Districts)
	}
	if len(m.Platforms) > 0 {
		w.Add("platform = ANY(?)", m.Platforms)
	}
	rows, err := q.Query(ctx, `SELECT url, kind, name, text, entity_name, credit_code, district, platform, has_licence
		FROM crawlershard.online_objects('-infinity')`+w.SQL()+` ORDER BY object_id`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (onlineObject, error) {
		var o onlineObject
		return o, r.Scan(&o.URL, &o.Kind, &o.Name, &o.Text, &o.EntityName, &o.CreditCode, &o.District, &o.Platform, &o.HasLicence)
	})
	return out, store.Classify(err)
}

func insertClues(ctx context.Context, tx pgx.Tx, cs []Clue) (int, error) {
	b := &pgx.Batch{}
	for _, c := range cs {
		b.Queue(`INSERT INTO monitor.clues (model_id, rule_id, rule_version, article, term, snippet, object_url, object_name,
			entity_name, credit_code, district, platform, created_at, district_code) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
			ON CONFLICT DO NOTHING`, c.ModelID, c.RuleID, c.RuleVersion, c.Article, c.Term, c.Snippet, c.ObjectURL, c.ObjectName,
			c.EntityName, c.CreditCode, c.District, c.Platform, c.CreatedAt, districtCode(c.District))
	}
	br := tx.SendBatch(ctx, b)
	n := 0
	for range cs {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, err
		}
		n += int(tag.RowsAffected())
	}
	return n, br.Close()
}

// ClueFilter narrows the clue list.
type ClueFilter struct {
	ModelID        int64
	Status, RuleID string
	Scope          auth.Scope // the caller's data scope (clues carry their district's code)
}

const clueCols = `id, COALESCE(model_id, 0), rule_id, rule_version, article, term, snippet, object_url, object_name, entity_name, credit_code,
	district, platform, status, reason, reviewed_by, reviewed_at, created_at`

func scanClue(r pgx.Row) (Clue, error) {
	var c Clue
	err := r.Scan(&c.ID, &c.ModelID, &c.RuleID, &c.RuleVersion, &c.Article, &c.Term, &c.Snippet, &c.ObjectURL, &c.ObjectName,
		&c.EntityName, &c.CreditCode, &c.District, &c.Platform, &c.Status, &c.Reason, &c.ReviewedBy, &c.ReviewedAt, &c.CreatedAt)
	if r, ok := RuleByID(c.RuleID); ok {
		c.RuleName = r.Name
	} else if c.RuleID == licenceRule.ID {
		c.RuleName = licenceRule.Name
	}
	return c, err
}

func listClues(ctx context.Context, q store.Querier, fl ClueFilter, p httpx.Page) ([]Clue, int, error) {
	var w store.Where
	w.AddWith(func(args *[]any) string { return fl.Scope.Filter("district_code", "NULL", args) })
	if fl.ModelID != 0 {
		w.Add("model_id = ?", fl.ModelID)
	}
	if fl.Status != "" {
		w.Add("status = ?", fl.Status)
	}
	if fl.RuleID != "" {
		w.Add("rule_id = ?", fl.RuleID)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM monitor.clues`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+clueCols+` FROM monitor.clues`+w.SQL()+` ORDER BY id LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Clue, error) { return scanClue(r) })
	return out, total, store.Classify(err)
}

func reviewClue(ctx context.Context, q store.Querier, id int64, status, reason, by string, at time.Time, s auth.Scope) (Clue, error) {
	args := []any{id, status, reason, by, at}
	// A clue outside the caller's scope is answered as not there.
	c, err := scanClue(q.QueryRow(ctx, `UPDATE monitor.clues SET status = $2, reason = $3, reviewed_by = $4, reviewed_at = $5
		WHERE id = $1 AND `+s.Filter("district_code", "NULL", &args)+` RETURNING `+clueCols, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.New(errs.NotFound, "线索不存在")
	}
	return c, store.Classify(err)
}

// RuleStat is a rule's review outcome: precision is confirmed (or sent
// on as a case) over everything reviewed.
type RuleStat struct {
	RuleID    string   `json:"rule_id"`
	Open      int      `json:"open"`
	Confirmed int      `json:"confirmed"`
	Dismissed int      `json:"dismissed"`
	Cases     int      `json:"cases"`
	Precision *float64 `json:"precision"`
}

func ruleStats(ctx context.Context, q store.Querier, s auth.Scope) ([]RuleStat, error) {
	var args []any
	rows, err := q.Query(ctx, `SELECT rule_id, count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'confirmed'),
		count(*) FILTER (WHERE status = 'dismissed'), count(*) FILTER (WHERE status = 'case') FROM monitor.clues
		WHERE `+s.Filter("district_code", "NULL", &args)+` GROUP BY rule_id ORDER BY rule_id`, args...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RuleStat, error) {
		var s RuleStat
		err := r.Scan(&s.RuleID, &s.Open, &s.Confirmed, &s.Dismissed, &s.Cases)
		if n := s.Confirmed + s.Cases + s.Dismissed; n > 0 {
			p := float64(s.Confirmed+s.Cases) / float64(n)
			s.Precision = &p
		}
		return s, err
	})
	return out, store.Classify(err)
}
