package evidencecapture

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/store"
)

// Bundle is a sealed evidence bundle as the API shows it.
type Bundle struct {
	ID        string      `json:"id"`
	Title     string      `json:"title"`
	Kind      string      `json:"kind"`
	SHA256    string      `json:"sha256"`
	SM3       string      `json:"sm3"`
	LogIndex  uint64      `json:"log_index"`
	CreatedBy string      `json:"created_by"`
	CreatedAt time.Time   `json:"created_at"`
	Files     []seal.File `json:"files"`
	manifest  []byte
}

func insertBundle(ctx context.Context, q store.Querier, b Bundle) error {
	_, err := q.Exec(ctx, `INSERT INTO evidence.bundles (id, title, kind, manifest, sha256, sm3, log_index, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, b.ID, b.Title, b.Kind, b.manifest, b.SHA256, b.SM3, int64(b.LogIndex), b.CreatedBy, b.CreatedAt)
	if err != nil {
		return store.Classify(err)
	}
	for _, f := range b.Files {
		if _, err := q.Exec(ctx, `INSERT INTO evidence.bundle_files (bundle_id, path, size, sha256, sm3) VALUES ($1, $2, $3, $4, $5)`,
			b.ID, f.Path, f.Size, f.SHA256, f.SM3); err != nil {
			return store.Classify(err)
		}
	}
	return nil
}

func getBundle(ctx context.Context, q store.Querier, id string) (Bundle, error) {
	var b Bundle
	var idx int64
	err := q.QueryRow(ctx, `SELECT id::text, title, kind, manifest, sha256, sm3, log_index, created_by, created_at
		FROM evidence.bundles WHERE id::text = $1`, id).Scan(&b.ID, &b.Title, &b.Kind, &b.manifest, &b.SHA256, &b.SM3, &idx, &b.CreatedBy, &b.CreatedAt)
	if err != nil {
		return Bundle{}, store.Classify(err)
	}
	b.LogIndex = uint64(idx)
	m, err := seal.ParseManifest(b.manifest)
	if err != nil {
		return Bundle{}, err
	}
	b.Files = m.Files
	return b, nil
}

// findByHash finds the bundles holding a file, or being a manifest, with
// this SHA-256 (the public verification page).
func findByHash(ctx context.Context, q store.Querier, sha string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id::text FROM evidence.bundles WHERE sha256 = $1
		UNION SELECT bundle_id::text FROM evidence.bundle_files WHERE sha256 = $1 LIMIT 20`, sha)
	if err != nil {
		return nil, store.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, store.Classify(err)
}
