package crawlershard

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/outbox"
	"github.com/sjzamr/smartreg/shared/store"
)

// Job is a crawl job.
type Job struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Seeds        []string  `json:"seeds"`
	Scope        []string  `json:"scope"` // host suffixes a link must end in to be followed
	MaxDepth     int       `json:"max_depth"`
	MaxPagesHost int       `json:"max_pages_host"`
	DelayMS      int       `json:"delay_ms"` // the least delay between two requests to a host; robots.txt may ask more
	Shards       int       `json:"shards"`
	CreatedAt    time.Time `json:"created_at"`
}

func (j Job) inScope(host string) bool {
	host = strings.ToLower(host)
	for _, s := range j.Scope {
		if host == s || strings.HasSuffix(host, "."+s) {
			return true
		}
	}
	return false
}

// JobProgress counts a job's frontier by state.
type JobProgress struct {
	Job
	States map[string]int `json:"states"`
}

// CreateJob stores a job, queues its seeds in the frontier and records one
// crawl.shard.requested event per shard that has seeds, in one transaction.
func (f *Function) CreateJob(ctx context.Context, j Job) (Job, error) {
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO crawlershard.jobs (name, seeds, scope, max_depth, max_pages_host, delay_ms, shards, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id, created_at`, j.Name, j.Seeds, j.Scope, j.MaxDepth, j.MaxPagesHost, j.DelayMS, j.Shards, now).
			Scan(&j.ID, &j.CreatedAt); err != nil {
			return err
		}
		hosts := map[int]map[string]bool{}
		b := &pgx.Batch{}
		for _, s := range j.Seeds {
			u, err := parseSeed(s)
			if err != nil {
				return err
			}
			sh := ShardOf(u.Host, j.Shards)
			if hosts[sh] == nil {
				hosts[sh] = map[string]bool{}
			}
			hosts[sh][u.Host] = true
			b.Queue(`INSERT INTO crawlershard.frontier (job_id, url, host, shard, depth, next_at) VALUES ($1,$2,$3,$4,0,$5)
				ON CONFLICT DO NOTHING`, j.ID, u.String(), u.Host, sh, now)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		var evs []event.Event
		for sh, hs := range hosts {
			e := event.New()
			e.SetID(uuid.NewString())
			e.SetSource(Source)
			e.SetType(events.CrawlShardRequested)
			e.SetSubject(itoa(j.ID))
			e.SetTime(now)
			if err := e.SetData(event.ApplicationJSON, events.CrawlShardRequestedData{JobID: j.ID, Shard: sh, Shards: j.Shards, Hosts: len(hs)}); err != nil {
				return err
			}
			evs = append(evs, e)
		}
		return outbox.Record(ctx, tx, evs...)
	})
	return j, store.Classify(err)
}

// continueShard records the shard's event again, for the rest of its work.
func (f *Function) continueShard(ctx context.Context, d events.CrawlShardRequestedData) error {
	e := event.New()
	e.SetID(uuid.NewString())
	e.SetSource(Source)
	e.SetType(events.CrawlShardRequested)
	e.SetSubject(itoa(d.JobID))
	e.SetTime(f.now())
	if err := e.SetData(event.ApplicationJSON, d); err != nil {
		return err
	}
	return store.Classify(store.InTx(ctx, f.pool, func(tx pgx.Tx) error { return outbox.Record(ctx, tx, e) }))
}

func getJob(ctx context.Context, q store.Querier, id int64) (Job, error) {
	var j Job
	err := q.QueryRow(ctx, `SELECT id, name, seeds, scope, max_depth, max_pages_host, delay_ms, shards, created_at
		FROM crawlershard.jobs WHERE id = $1`, id).Scan(&j.ID, &j.Name, &j.Seeds, &j.Scope, &j.MaxDepth, &j.MaxPagesHost, &j.DelayMS, &j.Shards, &j.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return j, errs.New(errs.NotFound, "爬虫任务不存在")
	}
	return j, store.Classify(err)
}

// Progress is a job with its frontier counted by state.
func (f *Function) Progress(ctx context.Context, id int64) (JobProgress, error) {
	j, err := getJob(ctx, f.pool, id)
	if err != nil {
		return JobProgress{}, err
	}
	p := JobProgress{Job: j, States: map[string]int{}}
	rows, err := f.pool.Query(ctx, `SELECT state, count(*) FROM crawlershard.frontier WHERE job_id = $1 GROUP BY state`, id)
	if err != nil {
		return p, store.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return p, err
		}
		p.States[s] = n
	}
	return p, store.Classify(rows.Err())
}

func listJobs(ctx context.Context, q store.Querier, p httpx.Page) ([]Job, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM crawlershard.jobs`).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT id, name, seeds, scope, max_depth, max_pages_host, delay_ms, shards, created_at
		FROM crawlershard.jobs ORDER BY id DESC LIMIT $1 OFFSET $2`, p.Size, p.Offset())
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) {
		var j Job
		return j, r.Scan(&j.ID, &j.Name, &j.Seeds, &j.Scope, &j.MaxDepth, &j.MaxPagesHost, &j.DelayMS, &j.Shards, &j.CreatedAt)
	})
	return jobs, total, store.Classify(err)
}

// claimHost takes the lease of a host of the shard that has due work and
// no live lease. It answers "" with wait < 0 when the shard has nothing
// left at all, or with the time to wait for work that is not yet due.
func claimHost(ctx context.Context, q store.Querier, job int64, shard int, owner string, now time.Time, lease time.Duration) (string, time.Duration, error) {
	var host string
	var due *time.Time
	err := q.QueryRow(ctx, `
		WITH cand AS (
			SELECT fr.host, min(fr.next_at) AS due FROM crawlershard.frontier fr
			WHERE fr.job_id = $1 AND fr.shard = $2 AND fr.state IN ('queued', 'fetching')
			  AND NOT EXISTS (SELECT 1 FROM crawlershard.host_leases l WHERE l.job_id = $1 AND l.host = fr.host AND l.lease_until > $4 AND l.owner <> $3)
			GROUP BY fr.host),
		pick AS (SELECT host FROM cand WHERE due <= $4 ORDER BY due LIMIT 1),
		took AS (
			INSERT INTO crawlershard.host_leases (job_id, host, owner, lease_until) SELECT $1, host, $3, $4::timestamptz + $5::interval FROM pick
			ON CONFLICT (job_id, host) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
			WHERE crawlershard.host_leases.lease_until <= $4 OR crawlershard.host_leases.owner = $3
			RETURNING host)
		SELECT COALESCE((SELECT host FROM took), ''),
		       (SELECT min(next_at) FROM crawlershard.frontier WHERE job_id = $1 AND shard = $2 AND state IN ('queued', 'fetching'))`,
		job, shard, owner, now, lease).Scan(&host, &due)
	if err != nil {
		return "", 0, store.Classify(err)
	}
	if host != "" {
		return host, 0, nil
	}
	if due == nil {
		return "", -1, nil
	}
	return "", max(due.Sub(now), 50*time.Millisecond), nil
}

func releaseHost(ctx context.Context, q store.Querier, job int64, host, owner string) {
	_, _ = q.Exec(ctx, `DELETE FROM crawlershard.host_leases WHERE job_id = $1 AND host = $2 AND owner = $3`, job, host, owner)
}

type frontierItem struct {
	URL      string
	Host     string
	Depth    int
	Hops     int
	Attempts int
}

// claimURL takes the next due URL of a host whose lease we hold (and
// renews the lease). A row left 'fetching' by a killed owner is taken
// over: holding the host's lease, nobody else can be fetching it.
func claimURL(ctx context.Context, q store.Querier, job int64, host, owner string, now time.Time, lease time.Duration) (frontierItem, bool, error) {
	var it frontierItem
	err := q.QueryRow(ctx, `
		WITH l AS (UPDATE crawlershard.host_leases SET lease_until = $4::timestamptz + $5::interval
			WHERE job_id = $1 AND host = $2 AND owner = $3 RETURNING host)
		UPDATE crawlershard.frontier fr SET state = 'fetching', lease_until = $4::timestamptz + $5::interval
		WHERE (fr.job_id, fr.url) = (SELECT job_id, url FROM crawlershard.frontier
			WHERE job_id = $1 AND host = (SELECT host FROM l) AND (state = 'fetching' OR (state = 'queued' AND next_at <= $4))
			ORDER BY depth, url LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING fr.url, fr.host, fr.depth, fr.hops, fr.attempts`, job, host, owner, now, lease).
		Scan(&it.URL, &it.Host, &it.Depth, &it.Hops, &it.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return it, false, nil
	}
	return it, err == nil, store.Classify(err)
}

// finish commits one fetch: the row's new state, the page (deduplicated
// by content hash), the links found, the entity or object extracted.
func finish(ctx context.Context, pool *pgxpool.Pool, j Job, it frontierItem, r result, now time.Time) error {
	return store.Classify(store.InTx(ctx, pool, func(tx pgx.Tx) error {
		attempts := it.Attempts
		next := now
		if r.state == "queued" {
			attempts++
			next = now.Add(r.retryIn)
		}
		var fetched *time.Time
		if r.state == "done" {
			fetched = &now
		}
		if _, err := tx.Exec(ctx, `UPDATE crawlershard.frontier SET state = $3, status_code = NULLIF($4, 0), reason = $5, attempts = $6,
			next_at = $7, lease_until = NULL, fetched_at = $8 WHERE job_id = $1 AND url = $2`,
			j.ID, it.URL, r.state, r.status, r.reason, attempts, next, fetched); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, l := range r.links {
			depth := it.Depth + 1
			if l.hops > 0 {
				depth = it.Depth // a redirect target stands where its source stood
			}
			b.Queue(`INSERT INTO crawlershard.frontier (job_id, url, host, shard, depth, hops, next_at)
				SELECT $1, $2, $3, $4, $5, $6, $7
				WHERE (SELECT count(*) FROM crawlershard.frontier WHERE job_id = $1 AND host = $3) < $8
				ON CONFLICT DO NOTHING`, j.ID, l.url, l.host, ShardOf(l.host, j.Shards), depth, l.hops, now, j.MaxPagesHost)
		}
		if p := r.page; p != nil {
			b.Queue(`INSERT INTO crawlershard.pages (job_id, url, host, title, body_text, charset, content_hash, duplicate_of, fetched_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7,
					(SELECT min(url) FROM crawlershard.pages WHERE job_id = $1 AND content_hash = $7), $8)
				ON CONFLICT DO NOTHING`, j.ID, it.URL, it.Host, p.title, p.text, p.charset, p.hash, now)
			e, o := extract(it.Host, it.URL, p.doc)
			if e != nil {
				b.Queue(`INSERT INTO crawlershard.online_entities (host, kind, platform, name, credit_code, district, has_licence, url, job_id, updated_at)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
					ON CONFLICT (host) DO UPDATE SET kind = EXCLUDED.kind, platform = EXCLUDED.platform, name = EXCLUDED.name,
						credit_code = EXCLUDED.credit_code, district = EXCLUDED.district, has_licence = EXCLUDED.has_licence,
						url = EXCLUDED.url, job_id = EXCLUDED.job_id, updated_at = EXCLUDED.updated_at`,
					e.Host, e.Kind, e.Platform, e.Name, e.CreditCode, e.District, e.HasLicence, e.URL, j.ID, now)
			}
			if o != nil {
				b.Queue(`INSERT INTO crawlershard.objects (url, host, kind, name, price, text, job_id, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
					ON CONFLICT (url) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price, text = EXCLUDED.text,
						job_id = EXCLUDED.job_id, updated_at = EXCLUDED.updated_at`, o.URL, o.Host, o.Kind, o.Name, o.Price, o.Text, j.ID, now)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	}))
}

func getRobots(ctx context.Context, q store.Querier, job int64, host string) (int, string, bool, error) {
	var status int
	var body string
	err := q.QueryRow(ctx, `SELECT status, body FROM crawlershard.robots WHERE job_id = $1 AND host = $2`, job, host).Scan(&status, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", false, nil
	}
	return status, body, err == nil, store.Classify(err)
}

func putRobots(ctx context.Context, q store.Querier, job int64, host string, status int, body string) error {
	_, err := q.Exec(ctx, `INSERT INTO crawlershard.robots (job_id, host, status, body) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`,
		job, host, status, strings.ToValidUTF8(strings.ReplaceAll(body, "\x00", ""), ""))
	return store.Classify(err)
}

// EntityFilter narrows the online entity list.
type EntityFilter struct {
	Q, Kind, District string
}

func listEntities(ctx context.Context, q store.Querier, fl EntityFilter, p httpx.Page) ([]OnlineEntity, int, error) {
	var w store.Where
	if fl.Q != "" {
		w.Add("(name ILIKE ? OR credit_code = ? OR host ILIKE ?)", store.Contains(fl.Q), fl.Q, store.Contains(fl.Q))
	}
	if fl.Kind != "" {
		w.Add("kind = ?", fl.Kind)
	}
	if fl.District != "" {
		w.Add("district = ?", fl.District)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM crawlershard.online_entities`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT host, kind, platform, name, credit_code, district, has_licence, url FROM crawlershard.online_entities`+w.SQL()+
		` ORDER BY id LIMIT `+w.Next(p.Size)+` OFFSET `+w.Next(p.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OnlineEntity, error) {
		var e OnlineEntity
		return e, r.Scan(&e.Host, &e.Kind, &e.Platform, &e.Name, &e.CreditCode, &e.District, &e.HasLicence, &e.URL)
	})
	return out, total, store.Classify(err)
}
