package connectors

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Item is the example resource.
type Item struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateItem stores an item (one transaction per command; record events
// with outbox.Record in the same transaction when there are any).
func (f *Function) CreateItem(ctx context.Context, title string) (Item, error) {
	var it Item
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO connectors.items (title, created_at) VALUES ($1, $2)
			RETURNING id, title, created_at`, title, f.now()).Scan(&it.ID, &it.Title, &it.CreatedAt)
	})
	return it, store.Classify(err)
}

func listItems(ctx context.Context, q store.Querier, search string, p httpx.Page) ([]Item, int, error) {
	var w store.Where
	if search != "" {
		w.Add("title ILIKE ?", store.Contains(search))
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM connectors.items`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT id, title, created_at FROM connectors.items`+w.SQL()+
		` ORDER BY id DESC LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Item, error) {
		var it Item
		return it, r.Scan(&it.ID, &it.Title, &it.CreatedAt)
	})
	return items, total, store.Classify(err)
}
