package auth_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/testwait"
)

// commandCounter is a go-redis hook recording the name of every command a
// client sends, pipelined or not.
type commandCounter struct {
	mu    sync.Mutex
	names []string
}

func (c *commandCounter) record(cmds ...redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cmd := range cmds {
		c.names = append(c.names, strings.ToLower(cmd.Name()))
	}
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.record(cmd)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.record(cmds...)
		return next(ctx, cmds)
	}
}

// sent returns the commands sent so far, leaving out the connection
// handshake (its count depends on the client version, not on resync).
func (c *commandCounter) sent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.names {
		switch n {
		case "hello", "client", "auth", "select", "ping":
		default:
			out = append(out, n)
		}
	}
	return out
}

// addUnrelatedKeys fills Redis with n keys of another function (think of
// scan-resolve's page cache) and deletes them when the test ends; they
// also expire on their own should the cleanup not run.
func addUnrelatedKeys(t *testing.T, rdb *redis.Client, n int) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	base := "test:auth-noise:" + hex.EncodeToString(b) + ":page:"
	keys := make([]string, n)
	for i := range keys {
		keys[i] = base + strconv.Itoa(i)
	}
	t.Cleanup(func() {
		for i := 0; i < len(keys); i += 1000 {
			rdb.Del(context.Background(), keys[i:min(i+1000, len(keys))]...)
		}
	})
	for i := 0; i < n; i += 1000 {
		pipe := rdb.Pipeline()
		for _, k := range keys[i:min(i+1000, n)] {
			pipe.Set(ctx, k, "<html>cached page</html>", 10*time.Minute)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatalf("write unrelated keys: %v", err)
		}
	}
}

// TestResyncCostDoesNotGrowWithKeyspace: functions share one Redis holding
// millions of unrelated keys. A verifier starting up must still find a
// revocation written before it subscribed, without SCAN, and with as many
// commands next to 20 000 unrelated keys as next to none.
func TestResyncCostDoesNotGrowWithKeyspace(t *testing.T) {
	ctx := context.Background()
	iss := newIssuer(t, auth.IssuerConfig{})
	aliceTok := issue(t, iss, alice)
	bob := alice
	bob.UserID, bob.SessionID = "u-bob", "s-bob"
	bobTok := issue(t, iss, bob)

	resyncCommands := func(t *testing.T, unrelated int) []string {
		rdb := newRedis(t, redisAddr)
		prefix := testPrefix(t, rdb)
		addUnrelatedKeys(t, rdb, unrelated)
		rev := auth.NewRevoker(rdb).WithPrefix(prefix)
		if err := rev.RevokeUser(ctx, alice.UserID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := rev.RevokeSession(ctx, bob.SessionID); err != nil {
			t.Fatal(err)
		}

		counted := newRedis(t, redisAddr)
		counter := &commandCounter{}
		counted.AddHook(counter)
		var logs syncBuffer
		v := newVerifier(t, auth.VerifierConfig{Keys: iss, Redis: counted, RevocationPrefix: prefix,
			ResyncEvery: time.Hour, // only the start-up resync runs during the test
			Logger:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		testwait.For(t, "the start-up resync to finish", func() bool {
			return strings.Contains(logs.String(), "auth: revocation resync")
		})
		if !strings.Contains(logs.String(), "err=<nil>") {
			t.Fatalf("resync failed: %s", logs.String())
		}
		// Written before the verifier subscribed, so only the resync can
		// have brought them.
		if !refused(v, aliceTok) {
			t.Fatal("the revoked user's token is accepted after resync")
		}
		if !refused(v, bobTok) {
			t.Fatal("the revoked session's token is accepted after resync")
		}
		return counter.sent()
	}

	quiet := resyncCommands(t, 0)
	busy := resyncCommands(t, 20000)
	for _, cmds := range [][]string{quiet, busy} {
		for _, c := range cmds {
			if c == "scan" {
				t.Fatalf("resync walks the keyspace: commands %v", cmds)
			}
		}
	}
	if len(busy) != len(quiet) || len(busy) > 2 {
		t.Fatalf("resync sent %d commands next to 20 000 unrelated keys and %d next to none, want the same few: %v / %v",
			len(busy), len(quiet), busy, quiet)
	}
}

// TestRevocationStorePrunesExpiredEntries: the stored revocations stay as
// few as the last MaxTokenLifetime produced; a write drops older entries,
// and the store lives as long as its newest entry, however the writes are
// ordered.
func TestRevocationStorePrunesExpiredEntries(t *testing.T) {
	ctx := context.Background()
	rdb := newRedis(t, redisAddr)
	prefix := testPrefix(t, rdb)
	t0 := time.Now()
	clock := t0
	rev := auth.NewRevoker(rdb).WithPrefix(prefix).WithClock(func() time.Time { return clock })
	set := prefix + "all"

	// One minute of life left.
	if err := rev.RevokeUser(ctx, "u-old", t0.Add(-auth.MaxTokenLifetime+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := rev.RevokeSession(ctx, "s-recent"); err != nil { // stamped t0
		t.Fatal(err)
	}
	if got, err := rdb.ZCard(ctx, set).Result(); err != nil || got != 2 {
		t.Fatalf("stored %d entries (%v), want 2", got, err)
	}

	clock = t0.Add(2 * time.Minute) // u-old can no longer refuse any token
	if err := rev.RevokeUser(ctx, "u-new", clock); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.ZScore(ctx, set, "user:u-old").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("an expired revocation survived a write (err %v)", err)
	}
	for _, m := range []string{"sid:s-recent", "user:u-new"} {
		if _, err := rdb.ZScore(ctx, set, m).Result(); err != nil {
			t.Fatalf("live revocation %s lost: %v", m, err)
		}
	}

	// A replayed revocation with half an hour left must not cut the store's
	// life short: u-new still needs the full lifetime.
	if err := rev.RevokeUser(ctx, "u-replayed", clock.Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, set).Result()
	if err != nil || ttl <= auth.MaxTokenLifetime-time.Minute || ttl > auth.MaxTokenLifetime {
		t.Fatalf("store TTL = %s (%v), want about %s", ttl, err, auth.MaxTokenLifetime)
	}
	if got, err := rdb.ZCard(ctx, set).Result(); err != nil || got != 3 {
		t.Fatalf("stored %d entries (%v), want 3", got, err)
	}
}
