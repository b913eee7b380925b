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

// DefaultRevocationPrefix prefixes the Redis key and channel of
// revocations: the sorted set <prefix>all and the channel <prefix>events.
const DefaultRevocationPrefix = "smartreg:auth:revoked:"

// Revoker records revocations in Redis and announces them on a channel
// every Verifier listens to. All revocations of a prefix live in one sorted
// set, member "user:<id>" / "sid:<id>", score the revocation time in µs, so
// a verifier reloads them in one command however large the shared keyspace
// is (scan-resolve alone caches millions of keys). An entry is useful for
// MaxTokenLifetime, past which every affected token has expired anyway.
// identity also keeps revocations in PostgreSQL and replays them after a
// Redis flush.
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

// WithClock returns a Revoker reading the time from now: the stamp of
// RevokeSession and the age past which entries are dropped follow the
// caller's clock.
func (r *Revoker) WithClock(now func() time.Time) *Revoker {
	c := *r
	c.now = now
	return &c
}

// revocation is the pub/sub message.
type revocation struct {
	Kind string `json:"kind"` // "user" | "sid"
	ID   string `json:"id"`
	At   int64  `json:"at"` // unix µs: user tokens issued at or before it are refused
}

// setKey is the sorted set holding every revocation of the prefix. Scores
// are float64, exact for unix µs until the year 2255 (2^53 µs).
func setKey(prefix string) string { return prefix + "all" }

// storeRevocation, in one atomic step:
//   - keeps the later of the stored and the new time, so a replay of an
//     old revocation never shortens a newer one;
//   - drops entries older than ARGV[3] (now - MaxTokenLifetime), so the
//     set holds only revocations that can still refuse a token and its
//     size follows the revocation rate, not history;
//   - extends the set's own expiry to the newest entry's, never shortening
//     it, so an unused set disappears by itself.
//
// A script rather than ZADD GT / PEXPIRE GT keeps it working on Redis
// before 7.0.
var storeRevocation = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
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
	now := r.now()
	ttl := time.UnixMicro(rv.At).Add(MaxTokenLifetime).Sub(now)
	if ttl <= 0 { // every token it would refuse has expired
		return nil
	}
	cut := now.Add(-MaxTokenLifetime).UnixMicro()
	// Round the set's expiry up so the entry never outlives it by a fraction
	// of a millisecond.
	ttlMS := (ttl + time.Millisecond - 1).Milliseconds()
	err := storeRevocation.Run(ctx, r.rdb, []string{setKey(r.prefix)}, rv.Kind+":"+rv.ID, rv.At, cut, ttlMS).Err()
	if err != nil {
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

// resync reloads every live revocation (the pub/sub channel drops
// messages while a subscriber is disconnected): one read of the sorted set,
// skipping entries too old to matter that no write has pruned yet.
func (v *Verifier) resync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := v.cfg.Now()
	cut := now.Add(-MaxTokenLifetime).UnixMicro()
	entries, err := v.cfg.Redis.ZRangeByScoreWithScores(ctx, setKey(v.cfg.RevocationPrefix),
		&redis.ZRangeBy{Min: strconv.FormatInt(cut, 10), Max: "+inf"}).Result()
	if err != nil {
		return err
	}
	for _, e := range entries {
		member, _ := e.Member.(string)
		kind, id, _ := strings.Cut(member, ":")
		if (kind != "user" && kind != "sid") || id == "" {
			continue
		}
		v.rev.add(revocation{Kind: kind, ID: id, At: int64(e.Score)})
	}
	v.rev.prune(now)
	return nil
}
