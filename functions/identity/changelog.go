package identity

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// ChangelogEntry is one released version (FP-10).
type ChangelogEntry struct {
	ID         string    `json:"id"`
	Version    string    `json:"version"`
	ReleasedOn string    `json:"released_on"` // YYYY-MM-DD
	Summary    string    `json:"summary"`
	Features   []string  `json:"features"`
	Changes    []string  `json:"changes"`
	Fixes      []string  `json:"fixes"`
	CreatedAt  time.Time `json:"created_at"`
}

// ChangelogInput publishes a version.
type ChangelogInput struct {
	Version    string   `json:"version"`
	ReleasedOn string   `json:"released_on"`
	Summary    string   `json:"summary"`
	Features   []string `json:"features"`
	Changes    []string `json:"changes"`
	Fixes      []string `json:"fixes"`
}

var versionPattern = regexp.MustCompile(`^v?[0-9]+\.[0-9]+(\.[0-9]+)?([-+][0-9A-Za-z.-]+)?$`)

// Validate checks the version number, date and texts.
func (in *ChangelogInput) Validate() error {
	var fe []errs.FieldError
	in.Version, in.Summary = strings.TrimSpace(in.Version), strings.TrimSpace(in.Summary)
	if !versionPattern.MatchString(in.Version) {
		fe = append(fe, errs.FieldError{Field: "version", Message: "版本号格式应为 主.次.修订，如 2.1.0"})
	}
	if _, err := time.Parse(time.DateOnly, in.ReleasedOn); err != nil {
		fe = append(fe, errs.FieldError{Field: "released_on", Message: "发布日期格式应为 YYYY-MM-DD"})
	}
	if n := len([]rune(in.Summary)); n < 2 || n > 500 {
		fe = append(fe, errs.FieldError{Field: "summary", Message: "版本概述应为 2 至 500 个字符"})
	}
	in.Features, in.Changes, in.Fixes = uniq(in.Features), uniq(in.Changes), uniq(in.Fixes)
	if len(in.Features)+len(in.Changes)+len(in.Fixes) == 0 {
		fe = append(fe, errs.FieldError{Field: "features", Message: "请至少填写一项新功能、变更或修复"})
	}
	return errs.Fields(fe)
}

// Changelog lists every version, newest first.
func (f *Function) Changelog(ctx context.Context) ([]ChangelogEntry, error) {
	return listChangelog(ctx, f.pool)
}

// PublishChangelog adds a version.
func (f *Function) PublishChangelog(ctx context.Context, a Actor, in ChangelogInput) (ChangelogEntry, error) {
	if err := in.Validate(); err != nil {
		return ChangelogEntry{}, err
	}
	var out ChangelogEntry
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		e, err := insertChangelog(ctx, tx, in, f.now())
		if errs.CodeOf(err) == errs.Conflict {
			return &errs.Error{Code: errs.Conflict, Message: "该版本号已发布", Fields: []errs.FieldError{{Field: "version", Message: "该版本号已发布"}}}
		}
		if err != nil {
			return err
		}
		out = e
		return f.opLog(ctx, tx, a, "changelog.publish", "changelog", out.ID, nil, out)
	})
	return out, err
}

// UnseenChangelog is what the console shows after an upgrade: versions
// published since the user's account was created that they have not
// dismissed yet.
func (f *Function) UnseenChangelog(ctx context.Context, userID string) ([]ChangelogEntry, error) {
	return unseenChangelog(ctx, f.pool, userID)
}

// MarkChangelogSeen dismisses a version for the user, and every older one.
func (f *Function) MarkChangelogSeen(ctx context.Context, userID, id string) error {
	n, err := insertChangelogSeen(ctx, f.pool, userID, id, f.now())
	if err != nil {
		return err
	}
	if n == 0 {
		if ok, err := changelogExists(ctx, f.pool, id); err != nil || !ok {
			return firstErr(err, errs.ErrNotFound)
		}
	}
	return nil
}
