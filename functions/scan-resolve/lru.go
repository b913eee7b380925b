package scanresolve

import (
	"container/list"
	"sync"
)

// lru holds the answers this process loaded or read from Redis most
// recently: fresh ones (younger than the local window) are served without
// Redis, and any is the last resort when PostgreSQL is unreachable and
// Redis has not got the page. Times are the cache's clock (Deps.Now), in
// unix nanoseconds, passed in by the caller.
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
	at  int64 // when loaded or confirmed from Redis
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

// getFresh returns the entry if it was stored less than ttl before now. It
// does not reorder the list: hits on the hot path only take the lock
// briefly.
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

// put stores e as of now, replacing what the key held.
func (l *lru) put(token string, asJSON bool, e *entry, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.putLocked(lruKey{token, asJSON}, e, now, true)
}

// putIfAbsent keeps the hit path cheap: an entry already held is left as is.
func (l *lru) putIfAbsent(token string, asJSON bool, e *entry, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.putLocked(lruKey{token, asJSON}, e, now, false)
}

func (l *lru) putLocked(k lruKey, e *entry, now int64, replace bool) {
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

// del drops both renderings of token.
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

// delEntity drops every rendering of the entity's token.
func (l *lru) delEntity(cc string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, el := range l.items {
		if el.Value.(*lruItem).e.CC == cc {
			l.ll.Remove(el)
			delete(l.items, k)
		}
	}
}
