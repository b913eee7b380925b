package crawlershard

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// limiter is the per-host rate limit shared by every crawler instance: one
// Redis key per host holds the earliest time (Redis's own clock, so
// instances need not agree on theirs) of the next request. A flushed
// Redis only forgets the last request; the host lease in PostgreSQL still
// keeps one worker per host.
type limiter struct{ rdb *redis.Client }

var slot = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local d = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt <= now then
  redis.call('SET', KEYS[1], now + d, 'PX', d + 60000)
  return 0
end
return nxt - now`)

// wait blocks until the host's next slot is ours.
func (l limiter) wait(ctx context.Context, host string, delay time.Duration) error {
	for {
		ms, err := slot.Run(ctx, l.rdb, []string{"crawl:host:" + host}, delay.Milliseconds()).Int64()
		if err != nil {
			return err
		}
		if ms == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(ms) * time.Millisecond):
		}
	}
}

var after = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local d = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if nxt < now + d then redis.call('SET', KEYS[1], now + d, 'PX', d + 60000) end
return 0`)

// done pushes the host's next slot to a full delay after a request ended,
// so the gap the host sees between two requests is never shorter than
// the delay, however long the first took to leave or to answer.
func (l limiter) done(ctx context.Context, host string, delay time.Duration) error {
	return after.Run(ctx, l.rdb, []string{"crawl:host:" + host}, delay.Milliseconds()).Err()
}
