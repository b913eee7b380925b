package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// The version changelog (identity.changelog) and who dismissed which
// version (identity.changelog_seen).

const changelogColumns = `id, version, to_char(released_on, 'YYYY-MM-DD'), summary, features, changes, fixes, created_at`

func scanChangelog(r pgx.Row) (ChangelogEntry, error) {
	var e ChangelogEntry
	err := r.Scan(&e.ID, &e.Version, &e.ReleasedOn, &e.Summary, &e.Features, &e.Changes, &e.Fixes, &e.CreatedAt)
	return e, store.Classify(err)
}

// collectChangelog answers an empty list, not null, on no rows.
func collectChangelog(rows pgx.Rows, err error) ([]ChangelogEntry, error) {
	out, err := collect(rows, err, scanChangelog)
	if out == nil {
		out = []ChangelogEntry{}
	}
	return out, err
}

// listChangelog is every version, newest first.
func listChangelog(ctx context.Context, q store.Querier) ([]ChangelogEntry, error) {
	return collectChangelog(q.Query(ctx, `SELECT `+changelogColumns+` FROM identity.changelog ORDER BY released_on DESC, created_at DESC`))
}

func insertChangelog(ctx context.Context, q store.Querier, in ChangelogInput, now time.Time) (ChangelogEntry, error) {
	return scanChangelog(q.QueryRow(ctx, `INSERT INTO identity.changelog (version, released_on, summary, features, changes, fixes, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+changelogColumns, in.Version, in.ReleasedOn, in.Summary, in.Features, in.Changes, in.Fixes, now))
}

// unseenChangelog is the versions published since the user's account was
// created that the user has not dismissed, newest first.
func unseenChangelog(ctx context.Context, q store.Querier, userID string) ([]ChangelogEntry, error) {
	return collectChangelog(q.Query(ctx, `SELECT `+changelogColumns+` FROM identity.changelog c
		WHERE c.created_at >= (SELECT created_at FROM identity.users WHERE id = $1)
		AND NOT EXISTS (SELECT 1 FROM identity.changelog_seen s WHERE s.user_id = $1 AND s.entry_id = c.id)
		ORDER BY released_on DESC, created_at DESC`, userID))
}

// insertChangelogSeen dismisses version id and every older one for the
// user, answering how many were not dismissed yet (0 also when id does
// not exist).
func insertChangelogSeen(ctx context.Context, q store.Querier, userID, id string, now time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `INSERT INTO identity.changelog_seen (user_id, entry_id, seen_at)
		SELECT $1, c.id, $3 FROM identity.changelog c, identity.changelog t
		WHERE t.id = $2 AND (c.released_on, c.created_at) <= (t.released_on, t.created_at)
		ON CONFLICT DO NOTHING`, userID, id, now)
	if err != nil {
		return 0, store.Classify(err)
	}
	return tag.RowsAffected(), nil
}

func changelogExists(ctx context.Context, q store.Querier, id string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.changelog WHERE id = $1)`, id).Scan(&ok)
	return ok, store.Classify(err)
}
