package identity

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Login throttling (issue 10, "lockout as denial of service"). Failures
// are counted in Redis per account name (whether or not the account
// exists, so the counters say nothing about who has one) and per client
// address, in a window of IDENTITY_LOGIN_WINDOW:
//
//   - past IDENTITY_CAPTCHA_AFTER failures of a name, or
//     IDENTITY_CAPTCHA_AFTER_IP from an address, every further login to
//     that name or from that address needs a captcha; an attempt without a
//     right one is refused before the password is checked and counts
//     nothing, so anonymous requests cannot go further than this;
//   - each failure past those thresholds makes the next attempt wait
//     1 s, 2 s, 4 s … up to IDENTITY_LOGIN_DELAY_MAX (an early attempt is
//     refused without a check);
//   - only failures that passed the captcha count toward the account's
//     hard lock (IDENTITY_LOCKOUT_THRESHOLD), whose owner is told by SMS
//     and can always unlock it with an SMS reset.
//
// Times are the function's clock (Deps.Now), stored in the counters, so
// tests move the clock instead of sleeping; the Redis TTL only cleans up.

// counter is one failure count: how many, the first and the last.
type counter struct {
	n           int
	first, last time.Time
}

// throttleState is an attempt's counters.
type throttleState struct{ acct, ip counter }

func (f *Function) throttleKeys(username, ip string) []string {
	return []string{f.cfg.RedisPrefix + "login:acct:" + username, f.cfg.RedisPrefix + "login:ip:" + ip}
}

var errThrottle = errs.New(errs.Unavailable, "服务暂时不可用，请稍后重试")

// throttleState reads the counters of an attempt; a counter whose window
// has passed counts zero.
func (f *Function) throttleState(ctx context.Context, username, ip string) (throttleState, error) {
	pipe := f.rdb.Pipeline()
	var cmds []*redis.SliceCmd
	for _, k := range f.throttleKeys(username, ip) {
		cmds = append(cmds, pipe.HMGet(ctx, k, "n", "first", "last"))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return throttleState{}, errs.Wrap(errs.Unavailable, errThrottle.Error(), err)
	}
	now := f.now()
	read := func(c *redis.SliceCmd) counter {
		v := c.Val()
		var out counter
		n, _ := strconv.Atoi(str(v[0]))
		first, _ := strconv.ParseInt(str(v[1]), 10, 64)
		last, _ := strconv.ParseInt(str(v[2]), 10, 64)
		out = counter{n: n, first: time.UnixMilli(first), last: time.UnixMilli(last)}
		if n == 0 || now.Sub(out.first) >= f.cfg.LoginWindow {
			return counter{}
		}
		return out
	}
	return throttleState{acct: read(cmds[0]), ip: read(cmds[1])}, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// needsCaptcha reports whether the attempt must carry a captcha.
func (f *Function) needsCaptcha(s throttleState) bool {
	return s.acct.n >= f.cfg.CaptchaAfter || s.ip.n >= f.cfg.CaptchaAfterIP
}

// backoff is the wait after n failures when the first free ones cost
// nothing: 1 s, then doubling, at most max.
func backoff(n, free int, max time.Duration) time.Duration {
	if n <= free {
		return 0
	}
	d := time.Duration(math.Pow(2, float64(min(n-free-1, 30)))) * time.Second
	return min(d, max)
}

// wait is how long the attempt must still wait; zero when it may proceed.
func (f *Function) wait(s throttleState) time.Duration {
	now := f.now()
	acct := s.acct.last.Add(backoff(s.acct.n, f.cfg.CaptchaAfter, f.cfg.LoginDelayMax)).Sub(now)
	ip := s.ip.last.Add(backoff(s.ip.n, f.cfg.CaptchaAfterIP, f.cfg.LoginDelayMax)).Sub(now)
	return max(acct, ip, 0)
}

// tooSoon refuses an attempt made before its wait is over.
func tooSoon(d time.Duration) error {
	return errs.New(errs.Unavailable, fmt.Sprintf("登录尝试过于频繁，请 %d 秒后再试", int(math.Ceil(d.Seconds()))))
}

// countFailure is one more failure of username from ip (both counters,
// atomically); it returns the counters after it.
var countFailure = redis.NewScript(`
local now, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i, k in ipairs(KEYS) do
  local first = tonumber(redis.call('HGET', k, 'first') or '0')
  if first == 0 or now - first >= window then
    redis.call('DEL', k)
    redis.call('HSET', k, 'first', now)
  end
  out[i] = redis.call('HINCRBY', k, 'n', 1)
  redis.call('HSET', k, 'last', now)
  redis.call('EXPIRE', k, ttl)
end
return out`)

func (f *Function) countFailure(ctx context.Context, username, ip string) (throttleState, error) {
	now := f.now()
	ttl := int((f.cfg.LoginWindow + f.cfg.LoginDelayMax).Seconds())
	res, err := countFailure.Run(ctx, f.rdb, f.throttleKeys(username, ip), now.UnixMilli(), f.cfg.LoginWindow.Milliseconds(), ttl).Int64Slice()
	if err != nil || len(res) != 2 {
		return throttleState{}, errs.Wrap(errs.Unavailable, errThrottle.Error(), fmt.Errorf("count login failure: %w", err))
	}
	return throttleState{acct: counter{n: int(res[0]), last: now}, ip: counter{n: int(res[1]), last: now}}, nil
}

// forgetFailures clears an account name's counter after a login: its
// owner is in. The address's counter stays, or one valid account would
// let an address guess on at others.
func (f *Function) forgetFailures(ctx context.Context, username string) {
	if err := f.rdb.Del(ctx, f.throttleKeys(username, "")[0]).Err(); err != nil {
		f.log.WarnContext(ctx, "clear login failures", "err", err)
	}
}

// Messages of the captcha refusals: field errors on "captcha", which the
// console and the OIDC login page answer by showing one.
const (
	MsgCaptchaRequired = "请输入图形验证码"
	MsgCaptchaWrong    = "验证码错误或已过期，请重新输入"
)

func captchaError(msg string) error {
	return &errs.Error{Code: errs.Invalid, Message: msg, Fields: []errs.FieldError{{Field: "captcha", Message: msg}}}
}
