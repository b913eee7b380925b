package policymatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/notify"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Receive handles the events its Triggers route here: a registered or
// changed entity is matched again (FP-62); a published policy fans out to
// its matching entities one batch per delivery (FP-63); the daily tick
// recomputes the timeliness labels (FP-59). Every effect runs inside
// outbox.Once, so a redelivery changes nothing.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case events.EntityRegistered:
		d, err := events.Decode[events.EntityRegisteredData](e)
		if err != nil {
			return nil, err
		}
		return nil, f.rematch(ctx, e, d.Entity.CreditCode, "entity.registered")
	case events.EntityUpdated:
		d, err := events.Decode[events.EntityUpdatedData](e)
		if err != nil {
			return nil, err
		}
		return nil, f.rematch(ctx, e, d.Entity.CreditCode, "entity.updated")
	case events.PolicyPublished:
		d, err := events.Decode[events.PolicyPublishedData](e)
		if err != nil {
			return nil, err
		}
		return nil, f.fanout(ctx, e, d)
	case events.Ping:
		d, err := events.Decode[events.PingData](e)
		if err != nil || d["task"] != "policy-daily" {
			return nil, err
		}
		_, err = outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
			n, err := f.RefreshTimeliness(ctx, tx)
			f.log.InfoContext(ctx, "timeliness recomputed", "changed", n)
			return err
		})
		return nil, err
	}
	return nil, nil
}

// rematch tests the published policies on one entity and announces the
// ones it newly matches (or matches under a new revision).
func (f *Function) rematch(ctx context.Context, e event.Event, code, reason string) error {
	code = strings.ToUpper(strings.TrimSpace(code))
	_, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
		// Two deliveries for one entity at once would each copy the state
		// they read, the older possibly last; in turn, the second reads
		// what the first could not have seen.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('policy.subjects'), hashtext($1))`, code); err != nil {
			return store.Classify(err)
		}
		p, err := f.profile(ctx, tx, code)
		if errors.Is(err, errs.ErrNotFound) {
			return forgetSubject(ctx, tx, code) // gone since: nothing to match
		}
		if err != nil {
			return err
		}
		if err := f.refreshFacts(ctx, tx, p); err != nil {
			return err
		}
		pols, err := publishedPolicies(ctx, tx)
		if err != nil {
			return err
		}
		m := f.matchEntity(p, pols, false)
		users, err := usersOf(ctx, tx, []string{code})
		if err != nil {
			return err
		}
		for _, it := range m.Items {
			if it.Policy.Effective[DimTimeliness] == "已过期" {
				continue
			}
			tag, err := tx.Exec(ctx, `INSERT INTO policy.matches (policy_id, credit_code, revision, matched_at, announced)
				VALUES ($1, $2, $3, $4, true)
				ON CONFLICT (policy_id, credit_code) DO UPDATE SET revision = EXCLUDED.revision, matched_at = EXCLUDED.matched_at, announced = true
				WHERE policy.matches.revision < EXCLUDED.revision`, it.Policy.ID, code, it.Policy.Revision, f.now())
			if err != nil {
				return store.Classify(err)
			}
			if tag.RowsAffected() == 0 {
				continue // announced before
			}
			if err := f.announce(ctx, tx, it.Policy, []string{code}, reason, users, it.Summary); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// announce records policy.matched for the entities and a notice to their
// enterprise users with the way to apply (FP-64).
func (f *Function) announce(ctx context.Context, tx pgx.Tx, p Policy, codes []string, reason string, users map[string][]string, summary string) error {
	ev, err := outbox.NewEvent(Source, events.PolicyMatched, strconv.FormatInt(p.ID, 10), events.PolicyMatchedData{
		PolicyID: p.ID, Revision: p.Revision, Title: p.Title, ApplyURL: p.ApplyURL, Reason: reason, CreditCodes: codes, MatchedAt: f.now()}, f.now())
	if err != nil {
		return err
	}
	if err := outbox.Record(ctx, tx, ev); err != nil {
		return err
	}
	var ids []string
	for _, c := range codes {
		ids = append(ids, users[c]...)
	}
	if len(ids) == 0 {
		return nil
	}
	body := "贵单位符合《" + p.Title + "》的适用条件"
	if summary != "" {
		body += "：" + summary
	}
	body += "。"
	if p.ApplyURL != "" {
		body += "申报入口：" + p.ApplyURL
		if p.ApplyPlatform != "" {
			body += "（" + p.ApplyPlatform + "）"
		}
	} else if p.ApplyPlatform != "" {
		body += "申报方式：" + p.ApplyPlatform
	}
	title := "政策匹配：" + p.Title
	if utf8.RuneCountInString(title) > 190 {
		title = string([]rune(title)[:190]) + "…"
	}
	return notify.Post(ctx, tx, Source, notify.Notice{Title: title, Body: body, Kind: "policy_matched",
		Link: fmt.Sprintf("/console/#/policy/mine?policy=%d", p.ID), UserIDs: ids, Subject: strconv.FormatInt(p.ID, 10), At: f.now()})
}

// fanout is one step of a published policy's fan-out. The first step
// (After "") records every matching entity in policy.matches with one
// scan; each step then announces the next batch in credit-code order and,
// while more remain, emits the event again with its position, so a policy
// matching a million entities is a chain of small deliveries, each retried
// on its own.
func (f *Function) fanout(ctx context.Context, e event.Event, d events.PolicyPublishedData) error {
	_, err := outbox.Once(ctx, f.pool, Name, e, func(tx pgx.Tx) error {
		p, err := getPolicy(ctx, tx, d.PolicyID, false)
		if errors.Is(err, errs.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if p.Status != "published" || p.Revision != d.Revision || p.Effective[DimTimeliness] == "已过期" {
			return nil // withdrawn, expired or superseded: a newer event carries on
		}
		if d.After == "" {
			from, w := matchQuery(p.Condition, auth.All(), f.today())
			rev := w.Next(p.Revision)
			now := w.Next(f.now())
			id := w.Next(p.ID)
			if _, err := tx.Exec(ctx, `INSERT INTO policy.matches (policy_id, credit_code, revision, matched_at)
				SELECT `+id+`, s.credit_code, `+rev+`, `+now+from+w.SQL()+`
				ON CONFLICT (policy_id, credit_code) DO UPDATE SET revision = EXCLUDED.revision, matched_at = EXCLUDED.matched_at, announced = false
				WHERE policy.matches.revision < EXCLUDED.revision`, w.Args()...); err != nil {
				return store.Classify(err)
			}
		}
		rows, err := tx.Query(ctx, `SELECT credit_code FROM policy.matches WHERE policy_id = $1 AND NOT announced AND credit_code > $2
			ORDER BY credit_code LIMIT $3`, p.ID, d.After, f.cfg.FanoutBatch)
		if err != nil {
			return store.Classify(err)
		}
		codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return store.Classify(err)
		}
		if len(codes) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE policy.matches SET announced = true WHERE policy_id = $1 AND credit_code = ANY($2::text[])`, p.ID, codes); err != nil {
			return store.Classify(err)
		}
		users, err := usersOf(ctx, tx, codes)
		if err != nil {
			return err
		}
		if err := f.announce(ctx, tx, p, codes, "publish", users, ""); err != nil {
			return err
		}
		if len(codes) < f.cfg.FanoutBatch {
			return nil
		}
		d.After = codes[len(codes)-1]
		next, err := outbox.NewEvent(Source, events.PolicyPublished, strconv.FormatInt(p.ID, 10), d, f.now())
		if err != nil {
			return err
		}
		return outbox.Record(ctx, tx, next)
	})
	return err
}
