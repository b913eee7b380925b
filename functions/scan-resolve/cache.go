package scanresolve

import (
	"container/list"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/errs"
)

// entry is one pre-rendered answer for a token: the page or its JSON, with
// what a scan record needs to know about the entity.
type entry struct {
	code     int    // HTTP status
	status   string // active | invalid | pending | rejected | missing
	cc       string
	district string
	township string
	industry string
	body     []byte   // written with one Write: net/http's buffer copies a string in 2 KB pieces
	clen     []string // Content-Length, so the answer is not chunked (a chunked end costs a write)
}

func newEntry(code int, m meta, body []byte) *entry {
	return &entry{code: code, status: m.status, cc: m.cc, district: m.district, township: m.township, industry: m.industry,
		body: body, clen: []string{strconv.Itoa(len(body))}}
}

// Redis holds an entry as one value: a header line, then the body, so a
// hit is one GET and no decoding beyond finding the newline.
const entryMagic = "S1"

func (e *entry) encode() string {
	var b strings.Builder
	b.Grow(len(e.body) + 80)
	b.WriteString(entryMagic)
	for _, s := range []string{strconv.Itoa(e.code), e.status, e.cc, e.district, e.township, e.industry} {
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
		j := indexTab(head)
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
	return newEntry(code, meta{status: f[1], cc: f[2], district: f[3], township: f[4], industry: f[5]}, []byte(b[nl+1:])), true
}

func indexTab(s string) int { return strings.IndexByte(s, '\t') }

// pair is what a fill yields: the rendering asked for (the page or its
// JSON; the other is nil, rendered when it is asked for itself).
type pair struct {
	page, json *entry
	version    int
}

// any is the rendering the pair holds; both share status and entity.
func (p *pair) any() *entry {
	if p.page != nil {
		return p.page
	}
	return p.json
}

// pageCache layers Redis (shared by every replica), one database round
// trip on a miss (coalesced per token), and a small in-process LRU used
// only when the database fails.
type pageCache struct {
	f         *Function
	rdb       *redis.Client
	prefix    string
	downUntil atomic.Int64 // unix nanos; Redis is skipped until then after an error
	lru       *lru
	sf        flight
	lookups   *batcher[[2]string, lookup]
	storer    *batcher[storeReq, struct{}]
}

// lookup is what Redis holds for a token: its rendering ("" when absent)
// and its generation.
type lookup struct{ page, gen string }

func newPageCache(f *Function) *pageCache {
	c := &pageCache{f: f, rdb: f.rdb, prefix: f.cfg.RedisPrefix, lru: newLRU(f.cfg.LRUSize)}
	c.lookups = newBatcher(64, 3*time.Second, c.lookupBatch)
	c.storer = newBatcher(64, 3*time.Second, c.storeBatch)
	return c
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
func (c *pageCache) redisOK() bool { return c.f.now().UnixNano() >= c.downUntil.Load() }

func (c *pageCache) redisFailed(err error) {
	if c.redisOK() {
		c.f.log.Warn("redis unavailable, serving from PostgreSQL", "err", err)
	}
	c.downUntil.Store(c.f.now().Add(time.Second).UnixNano())
}

// get returns the answer for token: Redis first; on a miss (or with Redis
// down) one database round trip; when that fails, the LRU.
func (c *pageCache) get(ctx context.Context, token string, asJSON bool) (*entry, error) {
	// A page this process saw within LocalTTL is served without Redis: in a
	// burst the same codes are scanned again and again, and a Redis round
	// trip costs more CPU than the rest of the request. This replica drops
	// its copy as soon as it receives an invalidating event; the others
	// catch up within LocalTTL.
	if ttl := c.f.cfg.LocalTTL; ttl > 0 {
		if e := c.lru.getFresh(token, asJSON, c.f.now().UnixNano(), int64(ttl)); e != nil {
			return e, nil
		}
	}
	// One MGET reads the page and, for the miss, the token's generation
	// that guards the fill (see store); concurrent lookups share it.
	gen, genOK := "", false
	if c.redisOK() {
		got, err := c.lookups.do(ctx, [2]string{c.pageKey(token, asJSON), c.key('g', token)})
		if err != nil {
			c.redisFailed(err)
		} else {
			if got.page != "" {
				if e, ok := decodeEntry(got.page); ok {
					if c.f.cfg.LocalTTL > 0 {
						c.lru.put(token, asJSON, e) // fresh again for LocalTTL
					} else {
						c.lru.putIfAbsent(token, asJSON, e)
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
	p, err := c.sf.do(key, func() (*pair, error) { return c.fill(ctx, token, asJSON, gen, genOK) })
	if err != nil {
		if e := c.lru.get(token, asJSON); e != nil {
			return e, nil
		}
		return nil, err
	}
	if asJSON {
		return p.json, nil
	}
	return p.page, nil
}

// fill loads and renders token as asked, then caches it unless an
// invalidation raced with the load (see store). gen is the token's
// generation read before the load; without it (Redis failed) nothing is
// cached in Redis.
func (c *pageCache) fill(rctx context.Context, token string, asJSON bool, gen string, genOK bool) (*pair, error) {
	// Not cancelled with the first caller: others wait on the same result.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rctx), 5*time.Second)
	defer cancel()
	p, err := c.f.load(ctx, token, asJSON)
	if err != nil {
		return nil, err
	}
	if p.page != nil {
		c.lru.put(token, false, p.page)
	}
	if p.json != nil {
		c.lru.put(token, true, p.json)
	}
	if genOK {
		_, _ = c.storer.do(ctx, storeReq{token, gen, p})
	}
	return p, nil
}

// store writes both renderings and the credit-code → token mapping, then
// takes them back if an invalidation raced with the load: the token's
// generation moved past gen, or an entity event announced a version newer
// than the one loaded. Checking after writing, in the same pipeline, keeps
// a stale page out without a server-side script (a Lua script carrying
// both pages cost Redis ~100 µs a call): an invalidation before the check
// is seen by it, one after it deletes the pages itself. The worst case is
// that a fresh page written concurrently is deleted too, which costs one
// more miss, never a stale page.
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

func (c *pageCache) store(ctx context.Context, token, gen string, p *pair) {
	_, _ = c.storeBatch(ctx, []storeReq{{token, gen, p}})
}

// storeReq is one fill to write to Redis.
type storeReq struct {
	token, gen string
	p          *pair
}

// storeBatch writes fills in one pipeline (the storer batches concurrent
// fills), then deletes, in one more round trip, those that turned stale.
func (c *pageCache) storeBatch(ctx context.Context, reqs []storeReq) ([]struct{}, error) {
	done := make([]struct{}, len(reqs))
	checks := make([]*redis.SliceCmd, len(reqs))
	_, err := c.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, r := range reqs {
			e := r.p.any()
			ttl := c.f.cfg.CacheTTL
			if e.status != "active" {
				ttl = c.f.cfg.NegativeTTL
			}
			if r.p.page != nil {
				pl.Set(ctx, c.key('p', r.token), r.p.page.encode(), ttl)
			}
			if r.p.json != nil {
				pl.Set(ctx, c.key('j', r.token), r.p.json.encode(), ttl)
			}
			if e.cc != "" {
				pl.Set(ctx, c.key('c', e.cc), r.token, c.f.cfg.CacheTTL)
			}
			checks[i] = pl.MGet(ctx, c.key('g', r.token), c.key('v', e.cc))
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
		if v, ok := vals[1].(string); ok && r.p.any().status == "active" {
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
			p.PExpire(ctx, g, c.f.cfg.CacheTTL+time.Hour)
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
	ttl := (c.f.cfg.CacheTTL + time.Hour).Milliseconds()
	err := invalidateScript.Run(ctx, c.rdb, []string{c.key('v', cc), c.key('c', cc)}, version, ttl, c.prefix).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return errs.Wrap(errs.Unavailable, "缓存暂时不可用", err)
	}
	return nil
}

// flight coalesces concurrent loads of one token into one database query.
type flight struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	wg  sync.WaitGroup
	val *pair
	err error
}

func (g *flight) do(key string, fn func() (*pair, error)) (*pair, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*call{}
	}
	if c, ok := g.calls[key]; ok {
		g.mu.Unlock()
		c.wg.Wait()
		return c.val, c.err
	}
	c := &call{}
	c.wg.Add(1)
	g.calls[key] = c
	g.mu.Unlock()
	c.val, c.err = fn()
	c.wg.Done()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	return c.val, c.err
}

// lru is the last-resort copy of recent answers, for when PostgreSQL is
// unreachable and Redis has not got the page.
type lru struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[lruKey]*list.Element
}

type lruKey struct {
	token  string
	asJSON bool
}

type lruItem struct {
	key lruKey
	e   *entry
	at  int64 // unix nanoseconds when loaded or confirmed from Redis
}

func newLRU(max int) *lru {
	return &lru{max: max, ll: list.New(), items: map[lruKey]*list.Element{}}
}

func (l *lru) get(token string, asJSON bool) *entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[lruKey{token, asJSON}]; ok {
		l.ll.MoveToFront(el)
		return el.Value.(*lruItem).e
	}
	return nil
}

// getFresh returns the entry if it was loaded less than ttl ago. It does not
// reorder the list: hits on the hot path only take the lock briefly.
func (l *lru) getFresh(token string, asJSON bool, now, ttl int64) *entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[lruKey{token, asJSON}]; ok {
		if it := el.Value.(*lruItem); now-it.at < ttl {
			return it.e
		}
	}
	return nil
}

func (l *lru) put(token string, asJSON bool, e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.putLocked(lruKey{token, asJSON}, e, true)
}

// putIfAbsent keeps the hit path cheap: an entry already held is left as is.
func (l *lru) putIfAbsent(token string, asJSON bool, e *entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.putLocked(lruKey{token, asJSON}, e, false)
}

func (l *lru) putLocked(k lruKey, e *entry, replace bool) {
	now := time.Now().UnixNano()
	if el, ok := l.items[k]; ok {
		if replace {
			it := el.Value.(*lruItem)
			it.e, it.at = e, now
			l.ll.MoveToFront(el)
		}
		return
	}
	l.items[k] = l.ll.PushFront(&lruItem{key: k, e: e, at: now})
	for l.ll.Len() > l.max {
		old := l.ll.Back()
		l.ll.Remove(old)
		delete(l.items, old.Value.(*lruItem).key)
	}
}

func (l *lru) del(token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, j := range []bool{false, true} {
		if el, ok := l.items[lruKey{token, j}]; ok {
			l.ll.Remove(el)
			delete(l.items, lruKey{token, j})
		}
	}
}

func (l *lru) delEntity(cc string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, el := range l.items {
		if el.Value.(*lruItem).e.cc == cc {
			l.ll.Remove(el)
			delete(l.items, k)
		}
	}
}

// The event that invalidates a page reaches one replica; the others hold
// the page in process memory for up to LocalTTL. broadcast tells them at
// once through Redis pub/sub (best effort: a replica that misses the
// message still drops the page when LocalTTL ends).
func (c *pageCache) broadcast(ctx context.Context, msg string) {
	if c.f.cfg.LocalTTL > 0 {
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
