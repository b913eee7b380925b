package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRevocationPrefix prefixes the Redis keys and channel of
// revocations: <prefix>user:<id>, <prefix>sid:<id>, <prefix>events.
const DefaultRevocationPrefix = "smartreg:auth:revoked:"

// Revoker records revocations in Redis (a key per user or session, living
// MaxTokenLifetime, past which every affected token has expired anyway)
// and announces them on a channel every Verifier listens to. identity also
// keeps them in PostgreSQL and replays them after a Redis flush.
type Revoker struct {
	rdb    *redis.Client
	prefix string
	now    func() time.Time
}

// NewRevoker writes revocations to rdb under DefaultRevocationPrefix.
func NewRevoker(rdb *redis.Client) *Revoker {
	return &Revoker{rdb: rdb, prefix: DefaultRevocationPrefix, now: time.Now}
}

// WithPrefix returns a Revoker using another key prefix (tests; a second
// platform sharing one Redis). Verifiers must use the same prefix.
func (r *Revoker) WithPrefix(prefix string) *Revoker {
	c := *r
	c.prefix = prefix
	return &c
}

// revocation is the pub/sub message.
type revocation struct {
	Kind string `json:"kind"` // "user" | "sid"
	ID   string `json:"id"`
	At   int64  `json:"at"` // unix µs: user tokens issued at or before it are refused
}

// keepMax stores ARGV[1] unless the key already holds a later time, so a
// replay of an old revocation never shortens a newer one.
var keepMax = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if (not v) or tonumber(v) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1`)

// RevokeSession refuses every token of the session from now on (logout,
// force-logout).
func (r *Revoker) RevokeSession(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return errors.New("auth: revoke session: empty id")
	}
	return r.revoke(ctx, revocation{Kind: "sid", ID: sessionID, At: r.now().UnixMicro()})
}

// RevokeUser refuses the user's tokens issued at or before at (freeze,
// password change, role change); tokens issued later verify.
func (r *Revoker) RevokeUser(ctx context.Context, userID string, at time.Time) error {
	if userID == "" {
		return errors.New("auth: revoke user: empty id")
	}
	return r.revoke(ctx, revocation{Kind: "user", ID: userID, At: at.UnixMicro()})
}

func (r *Revoker) revoke(ctx context.Context, rv revocation) error {
	ttl := time.UnixMicro(rv.At).Add(MaxTokenLifetime).Sub(r.now())
	if ttl <= 0 { // every token it would refuse has expired
		return nil
	}
	key := r.prefix + rv.Kind + ":" + rv.ID
	if err := keepMax.Run(ctx, r.rdb, []string{key}, rv.At, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("auth: store revocation: %w", err)
	}
	msg, _ := json.Marshal(rv)
	if err := r.rdb.Publish(ctx, r.prefix+"events", msg).Err(); err != nil {
		return fmt.Errorf("auth: publish revocation: %w", err)
	}
	return nil
}

// revocationSet is a verifier's in-memory copy: entries are only added or
// expire, never removed by a sync, so a Redis outage or flush leaves the
// last known state in force.
type revocationSet struct {
	mu       sync.RWMutex
	users    map[string]int64 // user id → revoked-at µs
	sessions map[string]int64
}

func newRevocationSet() *revocationSet {
	return &revocationSet{users: map[string]int64{}, sessions: map[string]int64{}}
}

func (s *revocationSet) revoked(userID, sid string, issuedUS int64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if at, ok := s.users[userID]; ok && issuedUS <= at {
		return true
	}
	if sid != "" {
		if _, ok := s.sessions[sid]; ok {
			return true
		}
	}
	return false
}

func (s *revocationSet) add(rv revocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.users
	if rv.Kind == "sid" {
		m = s.sessions
	}
	if rv.At > m[rv.ID] {
		m[rv.ID] = rv.At
	}
}

// prune drops entries older than any live token.
func (s *revocationSet) prune(now time.Time) {
	cut := now.Add(-MaxTokenLifetime).UnixMicro()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]int64{s.users, s.sessions} {
		for k, at := range m {
			if at < cut {
				delete(m, k)
			}
		}
	}
}

func (v *Verifier) startRevocationSync(ctx context.Context) {
	rdb, prefix := v.cfg.Redis, v.cfg.RevocationPrefix
	// Subscribe before the first full load, so nothing published in
	// between is missed.
	ps := rdb.Subscribe(ctx, prefix+"events")
	v.wg.Add(2)
	go func() {
		defer v.wg.Done()
		defer ps.Close()
		ch := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				var rv revocation
				if err := json.Unmarshal([]byte(m.Payload), &rv); err != nil || (rv.Kind != "user" && rv.Kind != "sid") {
					v.log.Warn("auth: ignoring malformed revocation message", "payload", m.Payload)
					continue
				}
				v.rev.add(rv)
			}
		}
	}()
	go func() {
		defer v.wg.Done()
		t := time.NewTicker(v.cfg.ResyncEvery)
		defer t.Stop()
		failing := false
		for {
			err := v.resync(ctx)
			v.log.Debug("auth: revocation resync", "err", err)
			switch {
			case err != nil && ctx.Err() == nil && !failing:
				v.log.Warn("auth: revocation resync failed; keeping the last known revocations", "err", err)
				failing = true
			case err == nil && failing:
				v.log.Info("auth: revocation resync recovered")
				failing = false
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// resync loads every revocation key (the pub/sub channel drops messages
// while a subscriber is disconnected).
func (v *Verifier) resync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rdb, prefix := v.cfg.Redis, v.cfg.RevocationPrefix
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 500).Result()
		if err != nil {
			return err
		}
		keys = slicesDeleteEvents(keys, prefix+"events")
		if len(keys) > 0 {
			vals, err := rdb.MGet(ctx, keys...).Result()
			if err != nil {
				return err
			}
			for i, k := range keys {
				s, ok := vals[i].(string)
				if !ok {
					continue
				}
				kind, id, _ := strings.Cut(strings.TrimPrefix(k, prefix), ":")
				at, err := strconv.ParseInt(s, 10, 64)
				if err != nil || (kind != "user" && kind != "sid") {
					continue
				}
				v.rev.add(revocation{Kind: kind, ID: id, At: at})
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	v.rev.prune(v.cfg.Now())
	return nil
}

func slicesDeleteEvents(keys []string, events string) []string {
	out := keys[:0]
	for _, k := range keys {
		if k != events {
			out = append(out, k)
		}
	}
	return out
}
