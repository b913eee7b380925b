package scanresolve

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/sjzamr/smartreg/shared/errs"
)

// facts are what a scan record keeps of the code and its entity: found by
// the load (page.go), kept in the cached entry (here, and in its Redis
// header line), copied into the buffered record (recorder.go). The JSON
// names are those of a record spilled to Redis.
type facts struct {
	Status   string `json:"status"` // active | invalid | pending | rejected | missing
	CC       string `json:"cc"`
	District string `json:"district"`
	Township string `json:"township"`
	Industry string `json:"industry"`
}

// entry is one pre-rendered answer for a token: the page or its JSON, with
// the facts of its scans.
type entry struct {
	facts
	code int      // HTTP status
	body []byte   // written with one Write: net/http's buffer copies a string in 2 KB pieces
	clen []string // Content-Length, so the answer is not chunked (a chunked end costs a write)
}

func newEntry(code int, fc facts, body []byte) *entry {
	return &entry{facts: fc, code: code, body: body, clen: []string{strconv.Itoa(len(body))}}
}

// Redis holds an entry as one value: a header line, then the body, so a
// hit is one GET and no decoding beyond finding the newline.
const entryMagic = "S1"

func (e *entry) encode() string {
	var b strings.Builder
	b.Grow(len(e.body) + 80)
	b.WriteString(entryMagic)
	for _, s := range []string{strconv.Itoa(e.code), e.Status, e.CC, e.District, e.Township, e.Industry} {
		b.WriteByte('\t')
		b.WriteString(s)
	}
	b.WriteByte('\n')
	b.Write(e.body)
	return b.String()
}

func decodeEntry(b string) (*entry, bool) {
	nl := strings.IndexByte(b, '\n')
	if nl < 0 || !strings.HasPrefix(b, entryMagic+"\t") {
		return nil, false
	}
	// One allocation for the header; the fields are substrings of it, so a
	// buffered scan record does not keep the whole page alive.
	head := strings.Clone(b[len(entryMagic)+1 : nl])
	var f [6]string
	for i := range f {
		j := strings.IndexByte(head, '\t')
		if i == len(f)-1 {
			if j >= 0 {
				return nil, false
			}
			f[i] = head
			break
		}
		if j < 0 {
			return nil, false
		}
		f[i], head = head[:j], head[j+1:]
	}
	code, err := strconv.Atoi(f[0])
	if err != nil {
		return nil, false
	}
	return newEntry(code, facts{Status: f[1], CC: f[2], District: f[3], Township: f[4], Industry: f[5]}, []byte(b[nl+1:])), true
}

// pair is what a load yields: the rendering asked for (the page or its
// JSON; the other is nil, rendered when it is asked for itself), and the
// entity version it shows.
type pair struct {
	page, json *entry
	version    int
}

// any is the rendering the pair holds; both share their facts.
func (p *pair) any() *entry {
	if p.page != nil {
		return p.page
	}
	return p.json
}

// loader loads and renders token's answer from the database (the
// function's load, page.go).
type loader func(ctx context.Context, token string, asJSON bool) (*pair, error)

// pageCache layers an in-process window and Redis (shared by every
// replica) over the loader: one database round trip on a miss, coalesced
// per token; the in-process LRU doubles as the last resort when the
// database fails.
type pageCache struct {
	rdb       *redis.Client
	log       *slog.Logger
	now       func() time.Time
	load      loader
	prefix    string
	ttl       time.Duration // of an active page
	negTTL    time.Duration // of any other answer
	localTTL  time.Duration // the in-process window; 0: off
	downUntil atomic.Int64  // unix nanos; Redis is skipped until then after an error
	lru       *lru
	sf        singleflight.Group
	lookups   *batcher[[2]string, lookup]
	storer    *batcher[storeReq, struct{}]
}

// lookup is what Redis holds for a token: its rendering ("" when absent)
// and its generation.
type lookup struct{ page, gen string }

func newPageCache(c Config, rdb *redis.Client, log *slog.Logger, now func() time.Time, load loader) *pageCache {
	pc := &pageCache{rdb: rdb, log: log, now: now, load: load, prefix: c.RedisPrefix, ttl: c.CacheTTL,
		negTTL: c.NegativeTTL, localTTL: c.LocalTTL, lru: newLRU(c.LRUSize)}
	pc.lookups = newBatcher(64, 3*time.Second, pc.lookupBatch)
	pc.storer = newBatcher(64, 3*time.Second, pc.storeBatch)
	return pc
}

// start runs the Redis round-trip workers and, with a local window, the
// subscription to other replicas' invalidations, until ctx ends.
func (c *pageCache) start(ctx context.Context, wg *sync.WaitGroup) {
	c.lookups.start(ctx, wg, 1)
	c.storer.start(ctx, wg, 1)
	if c.localTTL > 0 {
		wg.Go(func() { c.listen(ctx) })
	}
}

func (c *pageCache) key(kind byte, id string) string {
	return c.prefix + string(kind) + ":" + id
}

func (c *pageCache) pageKey(token string, asJSON bool) string {
	if asJSON {
		return c.key('j', token)
	}
	return c.key('p', token)
}

// redisOK is false for a second after a Redis error, so a dead Redis costs
// one failed call per second instead of one per scan.
func (c *pageCache) redisOK() bool { return c.now().UnixNano() >= c.downUntil.Load() }

func (c *pageCache) redisFailed(err error) {
	if c.redisOK() {
		c.log.Warn("redis unavailable, serving from PostgreSQL", "err", err)
	}
	c.downUntil.Store(c.now().Add(time.Second).UnixNano())
}

// get returns the answer for token: the local window, then Redis; on a
// miss (or with Redis down) one load; when that fails, the LRU.
func (c *pageCache) get(ctx context.Context, token string, asJSON bool) (*entry, error) {
	// A page this process saw within the window is served without Redis:
	// in a burst the same codes are scanned again and again, and a Redis
	// round trip costs more CPU than the rest of the request. This replica
	// drops its copy as soon as it receives an invalidating event; the
	// others hear of it by pub/sub, or catch up within the window.
	if c.localTTL > 0 {
		if e := c.lru.getFresh(token, asJSON, c.now().UnixNano(), int64(c.localTTL)); e != nil {
			return e, nil
		}
	}
	// One MGET reads the page and, for the miss, the token's generation
	// that guards the fill (see storeBatch); concurrent lookups share it.
	gen, genOK := "", false
	if c.redisOK() {
		got, err := c.lookups.do(ctx, [2]string{c.pageKey(token, asJSON), c.key('g', token)})
		if err != nil {
			c.redisFailed(err)
		} else {
			if got.page != "" {
				if e, ok := decodeEntry(got.page); ok {
					if c.localTTL > 0 {
						c.lru.put(token, asJSON, e, c.now().UnixNano()) // fresh again for the window
					} else {
						c.lru.putIfAbsent(token, asJSON, e, c.now().UnixNano())
					}
					return e, nil
				}
			}
			gen, genOK = got.gen, true
		}
	}
	key := token
	if asJSON {
		key += ".json"
	}
	v, err, _ := c.sf.Do(key, func() (any, error) { return c.fill(ctx, token, asJSON, gen, genOK) })
	if err != nil {
		if e := c.lru.get(token, asJSON); e != nil {
			return e, nil
		}
		return nil, err
	}
	p := v.(*pair)
	if asJSON {
		return p.json, nil
	}
	return p.page, nil
}

// fill loads token as asked, keeps it in the LRU and, when the generation
// read before the load is known, stores it in Redis unless an invalidation
// raced with the load (see storeBatch).
func (c *pageCache) fill(rctx context.Context, token string, asJSON bool, gen string, genOK bool) (*pair, error) {
	// Not cancelled with the first caller: others wait on the same result.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rctx), 5*time.Second)
	defer cancel()
	p, err := c.load(ctx, token, asJSON)
	if err != nil {
		return nil, err
	}
	now := c.now().UnixNano()
	if p.page != nil {
		c.lru.put(token, false, p.page, now)
	}
	if p.json != nil {
		c.lru.put(token, true, p.json, now)
	}
	if genOK {
		_, _ = c.storer.do(ctx, storeReq{token, gen, p})
	}
	return p, nil
}

// lookupBatch reads the [page key, generation key] pairs in one MGET.
func (c *pageCache) lookupBatch(ctx context.Context, pairs [][2]string) ([]lookup, error) {
	keys := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		keys = append(keys, p[0], p[1])
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]lookup, len(pairs))
	for i := range out {
		out[i].page, _ = vals[2*i].(string)
		out[i].gen, _ = vals[2*i+1].(string)
	}
	return out, nil
}

// store writes one fill at once (tests race it against an invalidation).
func (c *pageCache) store(ctx context.Context, token, gen string, p *pair) {
	_, _ = c.storeBatch(ctx, []storeReq{{token, gen, p}})
}

// storeReq is one fill to write to Redis.
type storeReq struct {
	token, gen string
	p          *pair
}

// storeBatch writes fills in one pipeline (the storer batches concurrent
// fills): each fill's rendering and the credit-code → token mapping, then
// takes them back, in one more round trip, if an invalidation raced with
// the load: the token's generation moved past gen, or an entity event
// announced a version newer than the one loaded. Checking after writing,
// in the same pipeline, keeps a stale page out without a server-side
// script (a Lua script carrying both pages cost Redis ~100 µs a call): an
// invalidation before the check is seen by it, one after it deletes the
// pages itself. The worst case is that a fresh page written concurrently
// is deleted too, which costs one more miss, never a stale page.
func (c *pageCache) storeBatch(ctx context.Context, reqs []storeReq) ([]struct{}, error) {
	done := make([]struct{}, len(reqs))
	checks := make([]*redis.SliceCmd, len(reqs))
	_, err := c.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, r := range reqs {
			e := r.p.any()
			ttl := c.ttl
			if e.Status != "active" {
				ttl = c.negTTL
			}
			if r.p.page != nil {
				pl.Set(ctx, c.key('p', r.token), r.p.page.encode(), ttl)
			}
			if r.p.json != nil {
				pl.Set(ctx, c.key('j', r.token), r.p.json.encode(), ttl)
			}
			if e.CC != "" {
				pl.Set(ctx, c.key('c', e.CC), r.token, c.ttl)
			}
			checks[i] = pl.MGet(ctx, c.key('g', r.token), c.key('v', e.CC))
		}
		return nil
	})
	if err != nil {
		c.redisFailed(err)
		return done, nil
	}
	var stale []string
	for i, r := range reqs {
		vals := checks[i].Val()
		g, _ := vals[0].(string)
		bad := g != r.gen
		// Code status changes arrive by token (generation), not by entity
		// version, so only an active page is checked against the version.
		if v, ok := vals[1].(string); ok && r.p.any().Status == "active" {
			announced, _ := strconv.Atoi(v)
			bad = bad || r.p.version < announced
		}
		if bad {
			stale = append(stale, c.key('p', r.token), c.key('j', r.token))
		}
	}
	if len(stale) > 0 {
		if err := c.rdb.Del(ctx, stale...).Err(); err != nil {
			c.redisFailed(err)
		}
	}
	return done, nil
}

// invalidateTokens drops the tokens' renderings everywhere and bumps their
// generations so a load in flight does not put an old page back; one
// round trip for a whole batch.
func (c *pageCache) invalidateTokens(ctx context.Context, tokens ...string) error {
	for _, t := range tokens {
		c.lru.del(t)
		c.broadcast(ctx, "t:"+t)
	}
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, t := range tokens {
			g := c.key('g', t)
			p.Incr(ctx, g)
			p.PExpire(ctx, g, c.ttl+time.Hour)
			p.Del(ctx, c.key('p', t), c.key('j', t))
		}
		return nil
	})
	if err != nil {
		return errs.Wrap(errs.Unavailable, "缓存暂时不可用", err)
	}
	return nil
}

// invalidateScript records the newest entity version announced, and drops
// the pages of the entity's token when one is cached.
var invalidateScript = redis.NewScript(`
if tonumber(ARGV[1]) > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
local t = redis.call('GET', KEYS[2])
if not t then return '' end
local g = ARGV[3] .. 'g:' .. t
redis.call('INCR', g)
redis.call('PEXPIRE', g, ARGV[2])
redis.call('DEL', ARGV[3] .. 'p:' .. t, ARGV[3] .. 'j:' .. t)
return t`)

func (c *pageCache) invalidateEntity(ctx context.Context, cc string, version int) error {
	c.lru.delEntity(cc)
	c.broadcast(ctx, "e:"+cc)
	ttl := (c.ttl + time.Hour).Milliseconds()
	err := invalidateScript.Run(ctx, c.rdb, []string{c.key('v', cc), c.key('c', cc)}, version, ttl, c.prefix).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return errs.Wrap(errs.Unavailable, "缓存暂时不可用", err)
	}
	return nil
}

// The event that invalidates a page reaches one replica; the others hold
// the page in process memory for up to the local window. broadcast tells
// them at once through Redis pub/sub (best effort: a replica that misses
// the message still drops the page when the window ends).
func (c *pageCache) broadcast(ctx context.Context, msg string) {
	if c.localTTL > 0 {
		_ = c.rdb.Publish(ctx, c.prefix+"invalidate", msg).Err()
	}
}

// listen applies other replicas' invalidations to the local copies until
// ctx ends, resubscribing after Redis errors.
func (c *pageCache) listen(ctx context.Context) {
	for ctx.Err() == nil {
		sub := c.rdb.Subscribe(ctx, c.prefix+"invalidate")
		// The channel ends only when the subscription is closed.
		stop := context.AfterFunc(ctx, func() { _ = sub.Close() })
		for msg := range sub.Channel() {
			switch kind, id, _ := strings.Cut(msg.Payload, ":"); kind {
			case "t":
				c.lru.del(id)
			case "e":
				c.lru.delEntity(id)
			}
		}
		stop()
		_ = sub.Close()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
