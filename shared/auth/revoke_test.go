package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/testwait"
)

const redisAddr = "127.0.0.1:6379"

// testPrefix isolates one test's revocation keys and channel, and deletes
// them when it ends.
func testPrefix(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "test:auth:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	return prefix
}

func newRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func refused(v *auth.Verifier, raw string) bool {
	_, err := v.Verify(context.Background(), raw)
	return errors.Is(err, auth.ErrTokenRevoked)
}

// TestRevokeUserReachesAnotherReplica: identity revokes a frozen user; a
// second verifier (another function's replica sharing Redis) refuses the
// user's existing token within seconds, keeps accepting other users, and
// accepts the user's tokens issued after the revocation.
func TestRevokeUserReachesAnotherReplica(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t, redisAddr)
	prefix := testPrefix(t, rdb)
	iss := newIssuer(t, auth.IssuerConfig{})
	replica := func() *auth.Verifier {
		return newVerifier(t, auth.VerifierConfig{Keys: iss, Redis: newRedis(t, redisAddr), RevocationPrefix: prefix})
	}
	a, b := replica(), replica()
	aliceTok := issue(t, iss, alice)
	bob := alice
	bob.UserID, bob.SessionID = "u-bob", "s-2"
	bobTok := issue(t, iss, bob)
	for _, v := range []*auth.Verifier{a, b} {
		if _, err := v.Verify(ctx, aliceTok); err != nil { // cached as good before the revocation
			t.Fatalf("before revocation: %v", err)
		}
	}

	rev := auth.NewRevoker(rdb).WithPrefix(prefix)
	if err := rev.RevokeUser(ctx, alice.UserID, time.Now()); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "replica b to refuse the frozen user's token", func() bool { return refused(b, aliceTok) })
	testwait.For(t, "replica a to refuse the frozen user's token", func() bool { return refused(a, aliceTok) })
	if _, err := b.Verify(ctx, bobTok); err != nil {
		t.Fatalf("another user's token refused: %v", err)
	}
	later := issue(t, iss, alice) // e.g. after unfreezing, or the new token after a password change
	if _, err := b.Verify(ctx, later); err != nil {
		t.Fatalf("token issued after the revocation refused: %v", err)
	}
	// A replica starting later learns the revocation from Redis.
	c := replica()
	testwait.For(t, "a new replica to load the revocation", func() bool { return refused(c, aliceTok) })
	// Revocation state lives as long as a token can.
	ttl, err := rdb.PTTL(ctx, prefix+"all").Result()
	if err != nil || ttl <= auth.MaxTokenLifetime-time.Minute || ttl > auth.MaxTokenLifetime {
		t.Fatalf("revocation set TTL = %s (%v), want about %s", ttl, err, auth.MaxTokenLifetime)
	}
}

func TestRevokeSession(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t, redisAddr)
	prefix := testPrefix(t, rdb)
	iss := newIssuer(t, auth.IssuerConfig{})
	v := newVerifier(t, auth.VerifierConfig{Keys: iss, Redis: newRedis(t, redisAddr), RevocationPrefix: prefix})
	tok := issue(t, iss, alice)
	other := alice
	other.SessionID = "s-other" // the same user logged in on another device
	otherTok := issue(t, iss, other)
	if err := auth.NewRevoker(rdb).WithPrefix(prefix).RevokeSession(ctx, alice.SessionID); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the logged-out session's token to be refused", func() bool { return refused(v, tok) })
	if _, err := v.Verify(ctx, otherTok); err != nil {
		t.Fatalf("the user's other session was refused: %v", err)
	}
}

// TestOldRevocationReplayDoesNotShorten: identity replays revocations from
// PostgreSQL after a Redis flush; an old replay must not override a newer
// revocation of the same user.
func TestOldRevocationReplayDoesNotShorten(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t, redisAddr)
	prefix := testPrefix(t, rdb)
	rev := auth.NewRevoker(rdb).WithPrefix(prefix)
	now := time.Now()
	if err := rev.RevokeUser(ctx, "u1", now); err != nil {
		t.Fatal(err)
	}
	if err := rev.RevokeUser(ctx, "u1", now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := rdb.ZScore(ctx, prefix+"all", "user:u1").Result()
	if err != nil || int64(got) != now.UnixMicro() {
		t.Fatalf("stored %d (%v), want %d", int64(got), err, now.UnixMicro())
	}
	// A revocation older than any token needs no entry at all.
	if err := rev.RevokeUser(ctx, "u2", now.Add(-2*auth.MaxTokenLifetime)); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.ZScore(ctx, prefix+"all", "user:u2").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("stored a revocation older than any live token (err %v)", err)
	}
}

// proxy is a TCP relay to Redis the test can cut, simulating an outage.
type proxy struct {
	t     *testing.T
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, addr string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", redisAddr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRedisOutageKeepsLastKnownState: while Redis is unreachable, a
// verifier keeps refusing what it knew to be revoked and keeps serving
// everyone else without errors; when Redis returns it catches up.
func TestRedisOutageKeepsLastKnownState(t *testing.T) {
	ctx := context.Background()
	direct := newRedis(t, redisAddr)
	prefix := testPrefix(t, direct)
	rev := auth.NewRevoker(direct).WithPrefix(prefix)
	iss := newIssuer(t, auth.IssuerConfig{})
	px := startProxy(t, "127.0.0.1:0")
	addr := px.ln.Addr().String()
	var logs syncBuffer
	v := newVerifier(t, auth.VerifierConfig{Keys: iss, Redis: newRedis(t, addr), RevocationPrefix: prefix,
		ResyncEvery: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	aliceTok := issue(t, iss, alice)
	bob := alice
	bob.UserID = "u-bob"
	bobTok := issue(t, iss, bob)
	if err := rev.RevokeUser(ctx, alice.UserID, time.Now()); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, "the revocation to arrive", func() bool { return refused(v, aliceTok) })

	px.stop() // Redis is gone for this verifier
	testwait.For(t, "a failed resync to be logged", func() bool { return strings.Contains(logs.String(), "resync failed") })
	if !refused(v, aliceTok) {
		t.Fatal("during the outage the revoked token is accepted again")
	}
	if _, err := v.Verify(ctx, bobTok); err != nil {
		t.Fatalf("during the outage a good token is refused: %v", err)
	}

	// Redis comes back at the same address; a revocation made meanwhile
	// (its message was lost) arrives through the resync.
	carol := alice
	carol.UserID = "u-carol"
	carolTok := issue(t, iss, carol)
	if err := rev.RevokeUser(ctx, carol.UserID, time.Now()); err != nil {
		t.Fatal(err)
	}
	back, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("reopen proxy address: %v", err)
	}
	back.Close()
	startProxy(t, addr)
	defer func() { t.Log(logs.String()) }()
	testwait.For(t, "the revocation made during the outage to arrive", func() bool { return refused(v, carolTok) })
	if !refused(v, aliceTok) {
		t.Fatal("after the outage the first revocation is lost")
	}
}
