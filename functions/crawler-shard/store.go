package crawlershard

import (
	"context"
	"errors"
	"fmt"
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
			b.Queue(`INSERT INTO crawlershard.hosts (job_id, host, shard, due) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING`, j.ID, u.Host, sh, now)
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

// claim is a host taken by a worker: its robots.txt as stored for the
// job (if any) and its first due URLs, already marked fetching.
type claim struct {
	host         string
	robotsFound  bool
	robotsStatus int
	robotsBody   string
	items        []frontierItem
}

type frontierItem struct {
	URL      string
	Host     string
	Depth    int
	Hops     int
	Attempts int
}

// claimHost takes the lease of a host of the shard that has due work and
// no live lease, with its stored robots.txt and up to batch of its due
// URLs, in one statement. It answers no host with wait < 0 when the shard
// has nothing left at all, or with the time to wait for work not yet due.
func claimHost(ctx context.Context, q store.Querier, job int64, shard int, owner string, now time.Time, lease time.Duration, batch int) (claim, time.Duration, error) {
	rows, err := q.Query(ctx, `
		WITH pick AS (
			SELECT h.host FROM crawlershard.hosts h
			WHERE h.job_id = $1 AND h.shard = $2 AND h.due <= $4 AND (h.lease_until IS NULL OR h.lease_until <= $4 OR h.owner = $3)
			ORDER BY h.due LIMIT 1 FOR UPDATE SKIP LOCKED), -- workers claiming at once take different hosts
		took AS (
			UPDATE crawlershard.hosts h SET owner = $3, lease_until = $4::timestamptz + $5::interval
			FROM pick WHERE h.job_id = $1 AND h.host = pick.host
			RETURNING h.host),
		`+claimRows("(SELECT host FROM took)", "$1", "$4", "$5", "$6")+`
		SELECT t.host, r.status, r.body, c.url, c.depth, c.hops, c.attempts
		FROM took t LEFT JOIN claimed c ON true LEFT JOIN crawlershard.robots r ON r.job_id = $1 AND r.host = t.host
		ORDER BY c.depth, c.url`, job, shard, owner, now, lease, batch)
	if err != nil {
		return claim{}, 0, store.Classify(err)
	}
	var c claim
	for rows.Next() {
		var status *int
		var body, u *string
		var depth, hops, attempts *int
		if err := rows.Scan(&c.host, &status, &body, &u, &depth, &hops, &attempts); err != nil {
			rows.Close()
			return claim{}, 0, store.Classify(err)
		}
		if status != nil {
			c.robotsFound, c.robotsStatus, c.robotsBody = true, *status, *body
		}
		if u != nil {
			c.items = append(c.items, frontierItem{URL: *u, Host: c.host, Depth: *depth, Hops: *hops, Attempts: *attempts})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return claim{}, 0, store.Classify(err)
	}
	if c.host != "" {
		return c, 0, nil
	}
	// Nothing to take: wait for work not yet due, or for a host another
	// instance holds (its lease runs out if it died). Hosts held by this
	// shard's other workers need no one waiting: each takes the shard's
	// next host when done with its own.
	var due, foreign *time.Time
	if err := q.QueryRow(ctx, `SELECT min(due) FILTER (WHERE lease_until IS NULL OR lease_until <= $3),
			min(lease_until) FILTER (WHERE lease_until > $3 AND NOT starts_with(owner, $4))
		FROM crawlershard.hosts WHERE job_id = $1 AND shard = $2 AND due IS NOT NULL`,
		job, shard, now, ownerPrefix(owner)).Scan(&due, &foreign); err != nil {
		return claim{}, 0, store.Classify(err)
	}
	switch {
	case due != nil && !due.After(now):
		return claim{}, 0, nil // another worker took the host first: try again
	case due != nil:
		return claim{}, due.Sub(now), nil
	case foreign != nil:
		return claim{}, max(foreign.Sub(now), 50*time.Millisecond), nil
	}
	return claim{}, -1, nil
}

// ownerPrefix is what the lease owners of one shard's workers in this
// instance begin with (owner = instance-shard-worker).
func ownerPrefix(owner string) string {
	if i := strings.LastIndexByte(owner, '-'); i >= 0 {
		return owner[:i+1]
	}
	return owner
}

// claimRows is the CTE "claimed": up to batch due URLs of the host (a row
// left fetching by a killed owner included: holding the host's lease,
// nobody else can be fetching it) marked fetching under a lease.
func claimRows(host, job, now, lease, batch string) string {
	return `pick_rows AS (
			SELECT fr.job_id, fr.url FROM crawlershard.frontier fr
			WHERE fr.job_id = ` + job + ` AND fr.host = ` + host + ` AND (fr.state = 'fetching' OR (fr.state = 'queued' AND fr.next_at <= ` + now + `))
			ORDER BY fr.depth, fr.url LIMIT ` + batch + ` FOR UPDATE SKIP LOCKED),
		claimed AS (
			UPDATE crawlershard.frontier fr SET state = 'fetching', lease_until = ` + now + `::timestamptz + ` + lease + `::interval
			FROM pick_rows WHERE fr.job_id = pick_rows.job_id AND fr.url = pick_rows.url
			RETURNING fr.url, fr.depth, fr.hops, fr.attempts)`
}

// nextClaim claims a held host's next due URLs, renewing the lease; with
// none due it releases the host with the time its next URL is due (NULL:
// none left). One statement, sent in the committer's transaction after
// the host's results and after the row's lock (lockHosts).
const nextClaim = `
	WITH own AS (SELECT host FROM crawlershard.hosts WHERE job_id = $1 AND host = $2 AND owner = $3),
	%s,
	renew AS (UPDATE crawlershard.hosts SET lease_until = $4::timestamptz + $5::interval
		WHERE job_id = $1 AND host = $2 AND owner = $3 AND EXISTS (SELECT 1 FROM claimed) RETURNING host),
	release AS (UPDATE crawlershard.hosts SET ` + releaseSet + `
		WHERE job_id = $1 AND host = $2 AND owner = $3 AND NOT EXISTS (SELECT 1 FROM claimed) RETURNING host)
	SELECT url, depth, hops, attempts FROM claimed ORDER BY depth, url`

var nextClaimSQL = fmt.Sprintf(nextClaim, claimRows("(SELECT host FROM own)", "$1", "$4", "$5", "$6"))

// releaseSet gives a host up ($1 job, $2 host) with when it is due next.
const releaseSet = `owner = '', lease_until = NULL,
	due = (SELECT min(f.next_at) FROM crawlershard.frontier f WHERE f.job_id = $1 AND f.host = $2 AND f.state IN ('queued', 'fetching'))`

// lockHosts locks hosts' rows in one order ($1 job, $2 sorted hosts), so
// committers meeting on a host wait instead of deadlocking.
const lockHosts = `SELECT host FROM crawlershard.hosts WHERE job_id = $1 AND host = ANY($2::text[]) ORDER BY host FOR UPDATE`

// releaseHost gives up a host whose claim found nothing due.
func releaseHost(ctx context.Context, pool *pgxpool.Pool, job int64, host, owner string) error {
	b := &pgx.Batch{}
	b.Queue(lockHosts, job, []string{host})
	b.Queue(`UPDATE crawlershard.hosts SET `+releaseSet+` WHERE job_id = $1 AND host = $2 AND owner = $3`, job, host, owner)
	return store.Classify(pool.SendBatch(ctx, b).Close())
}

// renewHost extends a host's lease; false when another owner has it.
func renewHost(ctx context.Context, q store.Querier, job int64, host, owner string, now time.Time, lease time.Duration) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE crawlershard.hosts SET lease_until = $4::timestamptz + $5::interval
		WHERE job_id = $1 AND host = $2 AND owner = $3`, job, host, owner, now, lease)
	return tag.RowsAffected() == 1, store.Classify(err)
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
