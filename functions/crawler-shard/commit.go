package crawlershard

// The shard's committer: the workers hand it their hosts' results and it
// writes all that are waiting in one transaction (a group commit), then
// answers each worker with its host's next claimed URLs, claimed in the
// same transaction. A page used to cost a transaction of its own and a
// claim (about seven round trips to PostgreSQL); now a batch of pages
// from many hosts shares one round trip (docs/benchmarks.md).
//
// Durability is unchanged: a worker hands each page in as soon as it is
// fetched, without waiting, and waits for all of them (and its next claim)
// at the end of its batch; so what a kill can lose is the pages fetched
// within about one commit's time, and those are fetched again.

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/store"
)

// maxGroup bounds how many workers' results one transaction carries.
const maxGroup = 64

// fetched is one claimed URL and what its fetch came to.
type fetched struct {
	it  frontierItem
	res result
}

// robotsRow is a robots.txt fetched for a host, to be kept for the job.
type robotsRow struct {
	host   string
	status int
	body   string
}

// commitReq is one worker's results for its host.
type commitReq struct {
	owner, host string
	done        []fetched
	unclaim     []frontierItem // claimed but not fetched: back to the queue
	robots      *robotsRow
	then        then
	rep         chan commitReply
}

// then is what a commit does with the worker's host after its results.
type then int

const (
	keep      then = iota // nothing: more results of the batch follow
	claimNext             // claim its next due URLs (or release it when none are due)
	release               // give it up
)

type commitReply struct {
	items []frontierItem
	err   error
}

// committer commits what the workers hand in until the channel closes.
func (f *Function) committer(ctx context.Context, job Job, in <-chan commitReq) {
	for req := range in {
		group := []commitReq{req}
	more:
		for len(group) < maxGroup {
			select {
			case r, ok := <-in:
				if !ok {
					break more
				}
				group = append(group, r)
			default:
				break more
			}
		}
		items, err := commitGroup(ctx, f.pool, job, group, f.now(), f.cfg.Lease, f.cfg.ClaimBatch)
		for i, r := range group {
			var it []frontierItem
			if err == nil {
				it = items[i]
			}
			r.rep <- commitReply{items: it, err: err}
		}
	}
}

// commitGroup writes the results of a group of workers and claims their
// next URLs in one batch, which PostgreSQL runs as one implicit
// transaction: on any error nothing of it is written.
func commitGroup(ctx context.Context, pool *pgxpool.Pool, j Job, group []commitReq, now time.Time, lease time.Duration, batch int) ([][]frontierItem, error) {
	b := &pgx.Batch{}
	var rows frontierRows
	var links []link
	var linkDepth []int
	var pg pageRows
	ents := map[string]*OnlineEntity{}
	objs := map[string]*Object{}
	var unclaim []string
	var robots []robotsRow
	for _, r := range group {
		for _, d := range r.done {
			rows.add(d, now)
			for _, l := range d.res.links {
				depth := d.it.Depth + 1
				if l.hops > 0 {
					depth = d.it.Depth // a redirect target stands where its source stood
				}
				links, linkDepth = append(links, l), append(linkDepth, depth)
			}
			if p := d.res.page; p != nil {
				pg.add(d.it, p)
				if e := p.entity; e != nil {
					ents[e.Host] = e
				}
				if o := p.object; o != nil {
					objs[o.URL] = o
				}
			}
		}
		for _, it := range r.unclaim {
			unclaim = append(unclaim, it.URL)
		}
		if r.robots != nil {
			robots = append(robots, *r.robots)
		}
	}
	// Every host this transaction touches, locked first and in one order:
	// the links' (whose due may fall) and the workers' own (released or
	// claimed again).
	lock := map[string]int{}
	for _, l := range links {
		lock[l.host] = ShardOf(l.host, j.Shards)
	}
	var fresh []string
	var freshShard []int
	for _, h := range slices.Sorted(maps.Keys(lock)) {
		fresh, freshShard = append(fresh, h), append(freshShard, lock[h])
	}
	for _, r := range group {
		if r.then != keep {
			lock[r.host] = 0
		}
	}
	if len(fresh) > 0 {
		b.Queue(`INSERT INTO crawlershard.hosts (job_id, host, shard) SELECT $1, h.host, h.shard
			FROM unnest($2::text[], $3::int[]) AS h(host, shard) ORDER BY h.host ON CONFLICT DO NOTHING`, j.ID, fresh, freshShard)
	}
	b.Queue(lockHosts, j.ID, slices.Sorted(maps.Keys(lock)))
	if len(rows.url) > 0 {
		b.Queue(`UPDATE crawlershard.frontier fr SET state = u.state, status_code = NULLIF(u.status, 0), reason = u.reason, attempts = u.attempts,
				next_at = u.next_at, lease_until = NULL, fetched_at = u.fetched_at
			FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::int[], $7::timestamptz[], $8::timestamptz[])
				AS u(url, state, status, reason, attempts, next_at, fetched_at)
			WHERE fr.job_id = $1 AND fr.url = u.url`,
			j.ID, rows.url, rows.state, rows.status, rows.reason, rows.attempts, rows.next, rows.fetched)
	}
	if len(unclaim) > 0 {
		b.Queue(`UPDATE crawlershard.frontier SET state = 'queued', lease_until = NULL WHERE job_id = $1 AND url = ANY($2::text[]) AND state = 'fetching'`,
			j.ID, unclaim)
	}
	if len(links) > 0 {
		queueLinks(b, j, links, linkDepth, now)
	}
	if len(pg.url) > 0 {
		// A page whose text was stored before (or comes earlier in this
		// batch, in address order) points at that copy.
		b.Queue(`INSERT INTO crawlershard.pages (job_id, url, host, title, body_text, charset, content_hash, duplicate_of, fetched_at)
			SELECT $1, p.url, p.host, p.title, p.body, p.cs, p.hash,
				COALESCE((SELECT min(x.url) FROM crawlershard.pages x WHERE x.job_id = $1 AND x.content_hash = p.hash),
					(SELECT min(q.url) FROM unnest($2::text[], $7::text[]) AS q(url, hash) WHERE q.hash = p.hash AND q.url < p.url)), $8
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS p(url, host, title, body, cs, hash)
			ON CONFLICT DO NOTHING`, j.ID, pg.url, pg.host, pg.title, pg.text, pg.charset, pg.hash, now)
	}
	if len(ents) > 0 {
		var host, kind, platform, name, code, district, u []string
		var lic []bool
		for _, e := range sortedValues(ents) {
			host, kind, platform, name = append(host, e.Host), append(kind, e.Kind), append(platform, e.Platform), append(name, e.Name)
			code, district, u, lic = append(code, e.CreditCode), append(district, e.District), append(u, e.URL), append(lic, e.HasLicence)
		}
		b.Queue(`INSERT INTO crawlershard.online_entities (host, kind, platform, name, credit_code, district, has_licence, url, job_id, updated_at)
			SELECT e.host, e.kind, e.platform, e.name, e.code, e.district, e.lic, e.url, $9, $10
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[])
				AS e(host, kind, platform, name, code, district, lic, url)
			ON CONFLICT (host) DO UPDATE SET kind = EXCLUDED.kind, platform = EXCLUDED.platform, name = EXCLUDED.name,
				credit_code = EXCLUDED.credit_code, district = EXCLUDED.district, has_licence = EXCLUDED.has_licence,
				url = EXCLUDED.url, job_id = EXCLUDED.job_id, updated_at = EXCLUDED.updated_at`,
			host, kind, platform, name, code, district, lic, u, j.ID, now)
	}
	if len(objs) > 0 {
		var u, host, kind, name, text []string
		var price []*float64
		for _, o := range sortedValues(objs) {
			u, host, kind, name, text, price = append(u, o.URL), append(host, o.Host), append(kind, o.Kind), append(name, o.Name), append(text, o.Text), append(price, o.Price)
		}
		b.Queue(`INSERT INTO crawlershard.objects (url, host, kind, name, price, text, job_id, updated_at)
			SELECT o.url, o.host, o.kind, o.name, o.price::numeric(12,2), o.text, $7, $8
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[]) AS o(url, host, kind, name, price, text)
			ON CONFLICT (url) DO UPDATE SET name = EXCLUDED.name, price = EXCLUDED.price, text = EXCLUDED.text,
				job_id = EXCLUDED.job_id, updated_at = EXCLUDED.updated_at`, u, host, kind, name, price, text, j.ID, now)
	}
	if len(robots) > 0 {
		var host, body []string
		var status []int
		for _, r := range robots {
			host, status, body = append(host, r.host), append(status, r.status), append(body, cleanText(r.body))
		}
		b.Queue(`INSERT INTO crawlershard.robots (job_id, host, status, body) SELECT $1, r.host, r.status, r.body
			FROM unnest($2::text[], $3::int[], $4::text[]) AS r(host, status, body) ON CONFLICT DO NOTHING`, j.ID, host, status, body)
	}
	writes := b.Len()
	for _, r := range group {
		switch r.then {
		case claimNext:
			b.Queue(nextClaimSQL, j.ID, r.host, r.owner, now, lease, batch)
		case release:
			b.Queue(`UPDATE crawlershard.hosts SET `+releaseSet+` WHERE job_id = $1 AND host = $2 AND owner = $3`, j.ID, r.host, r.owner)
		}
	}
	res := pool.SendBatch(ctx, b)
	defer res.Close()
	for range writes {
		if _, err := res.Exec(); err != nil {
			return nil, store.Classify(err)
		}
	}
	out := make([][]frontierItem, len(group))
	for i, r := range group {
		switch r.then {
		case keep:
			continue
		case release:
			if _, err := res.Exec(); err != nil {
				return nil, store.Classify(err)
			}
			continue
		}
		rs, err := res.Query()
		if err != nil {
			return nil, store.Classify(err)
		}
		for rs.Next() {
			it := frontierItem{Host: r.host}
			if err := rs.Scan(&it.URL, &it.Depth, &it.Hops, &it.Attempts); err != nil {
				rs.Close()
				return nil, store.Classify(err)
			}
			out[i] = append(out[i], it)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, store.Classify(err)
		}
	}
	return out, store.Classify(res.Close())
}

// queueLinks adds the links found to the frontier: each address once (the
// least depth), each host to at most the job's pages per host, in address
// order; a host given a URL is due now. Its hosts are locked already.
func queueLinks(b *pgx.Batch, j Job, links []link, depth []int, now time.Time) {
	type row struct {
		link
		depth int
	}
	rs := make([]row, len(links))
	for i := range links {
		rs[i] = row{links[i], depth[i]}
	}
	slices.SortFunc(rs, func(a, b row) int { return cmp.Or(cmp.Compare(a.url, b.url), cmp.Compare(a.depth, b.depth)) })
	var u, host []string
	var shard, dep, hops []int
	for i, r := range rs {
		if i > 0 && r.url == rs[i-1].url {
			continue
		}
		u, host, shard, dep, hops = append(u, r.url), append(host, r.host), append(shard, ShardOf(r.host, j.Shards)), append(dep, r.depth), append(hops, r.hops)
	}
	b.Queue(`WITH l AS (
			SELECT l.* FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[]) AS l(url, host, shard, depth, hops)
			WHERE NOT EXISTS (SELECT 1 FROM crawlershard.frontier f WHERE f.job_id = $1 AND f.url = l.url)),
		ranked AS (SELECT l.*, row_number() OVER (PARTITION BY l.host ORDER BY l.depth, l.url) AS k FROM l),
		have AS (SELECT h.host, (SELECT count(*) FROM crawlershard.frontier f WHERE f.job_id = $1 AND f.host = h.host) AS n
			FROM (SELECT DISTINCT host FROM ranked) h), -- one index probe per host
		ins AS (
			INSERT INTO crawlershard.frontier (job_id, url, host, shard, depth, hops, next_at)
			SELECT $1, r.url, r.host, r.shard, r.depth, r.hops, $7 FROM ranked r JOIN have h ON h.host = r.host
			WHERE h.n + r.k <= $8
			ORDER BY r.url
			ON CONFLICT DO NOTHING
			RETURNING host)
		UPDATE crawlershard.hosts SET due = LEAST(due, $7) WHERE job_id = $1 AND host IN (SELECT host FROM ins)`,
		j.ID, u, host, shard, dep, hops, now, j.MaxPagesHost)
}

// frontierRows are the new states of fetched rows, as columns.
type frontierRows struct {
	url, state, reason []string
	status, attempts   []int
	next               []time.Time
	fetched            []*time.Time
}

func (f *frontierRows) add(d fetched, now time.Time) {
	attempts, next := d.it.Attempts, now
	if d.res.state == "queued" {
		attempts++
		next = now.Add(d.res.retryIn)
	}
	var at *time.Time
	if d.res.state == "done" {
		at = &now
	}
	f.url, f.state, f.reason = append(f.url, d.it.URL), append(f.state, d.res.state), append(f.reason, d.res.reason)
	f.status, f.attempts, f.next, f.fetched = append(f.status, d.res.status), append(f.attempts, attempts), append(f.next, next), append(f.fetched, at)
}

// pageRows are the pages to store, as columns.
type pageRows struct {
	url, host, title, text, charset, hash []string
}

func (p *pageRows) add(it frontierItem, pg *page) {
	p.url, p.host, p.title = append(p.url, it.URL), append(p.host, it.Host), append(p.title, pg.title)
	p.text, p.charset, p.hash = append(p.text, pg.text), append(p.charset, pg.charset), append(p.hash, pg.hash)
}

// sortedValues are a map's values in key order.
func sortedValues[V any](m map[string]*V) []*V {
	out := make([]*V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// cleanText is text PostgreSQL takes: valid UTF-8 without NUL.
func cleanText(s string) string { return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "") }
