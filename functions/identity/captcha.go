package identity

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/dchest/captcha"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Image captchas (dchest/captcha's distorted digits): the answer lives in
// Redis under a random id for IDENTITY_CAPTCHA_TTL and is spent by the
// first check, right or wrong, so one picture buys one attempt.
const (
	captchaDigits = 5
	captchaWidth  = 240
	captchaHeight = 80
)

func (f *Function) captchaKey(id string) string { return f.cfg.RedisPrefix + "captcha:" + id }

// NewCaptcha makes a captcha and returns its id; at most
// IDENTITY_CAPTCHA_PER_IP_HOUR per address and hour.
func (f *Function) NewCaptcha(ctx context.Context, ip string) (string, error) {
	if ok, err := f.limit(ctx, "captcha:ip:"+ip, f.cfg.CaptchaPerIPHour, time.Hour); err != nil || !ok {
		return "", firstErr(err, errs.New(errs.Unavailable, "获取验证码过于频繁，请稍后再试"))
	}
	id := randomToken(16)
	digits := captcha.RandomDigits(captchaDigits)
	if err := f.rdb.Set(ctx, f.captchaKey(id), digits, f.cfg.CaptchaTTL).Err(); err != nil {
		return "", errs.Wrap(errs.Unavailable, "服务暂时不可用，请稍后重试", err)
	}
	return id, nil
}

var errNoCaptcha = errs.New(errs.NotFound, "验证码不存在或已过期")

// CaptchaImage is the PNG of a captcha not yet spent.
func (f *Function) CaptchaImage(ctx context.Context, id string) ([]byte, error) {
	if id == "" || len(id) > 64 {
		return nil, errNoCaptcha
	}
	digits, err := f.rdb.Get(ctx, f.captchaKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errNoCaptcha
	}
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, "服务暂时不可用，请稍后重试", err)
	}
	var buf bytes.Buffer
	if _, err := captcha.NewImage(id, digits, captchaWidth, captchaHeight).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkCaptcha spends the captcha and reports whether answer was right.
func (f *Function) checkCaptcha(ctx context.Context, id, answer string) (bool, error) {
	if id == "" || answer == "" || len(id) > 64 {
		return false, nil
	}
	digits, err := f.rdb.GetDel(ctx, f.captchaKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, errs.Wrap(errs.Unavailable, "服务暂时不可用，请稍后重试", err)
	}
	want := make([]byte, len(digits))
	for i, d := range digits {
		want[i] = '0' + d
	}
	return subtle.ConstantTimeCompare(want, []byte(answer)) == 1, nil
}
