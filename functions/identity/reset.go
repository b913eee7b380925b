package identity

import (
	"context"
	"crypto/hmac"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// ResetRequest is the body of POST /password/reset/sms.
type ResetRequest struct {
	Username string `json:"username"`
	Phone    string `json:"phone"`
}

// ResetInput is the body of POST /password/reset.
type ResetInput struct {
	Username    string `json:"username"`
	Phone       string `json:"phone"`
	Code        string `json:"code"`
	NewPassword string `json:"new_password"`
}

// maxCodeAttempts bounds guesses against one code: 6 digits, 5 tries.
const maxCodeAttempts = 5

// limit counts an event in a fixed window and refuses past max.
func (f *Function) limit(ctx context.Context, key string, max int, window time.Duration) (bool, error) {
	k := f.cfg.RedisPrefix + key
	n, err := f.rdb.Incr(ctx, k).Result()
	if err != nil {
		return false, errs.Wrap(errs.Unavailable, "服务暂时不可用，请稍后重试", err)
	}
	if n == 1 {
		if err := f.rdb.Expire(ctx, k, window).Err(); err != nil {
			return false, errs.Wrap(errs.Unavailable, "服务暂时不可用，请稍后重试", err)
		}
	}
	return n <= int64(max), nil
}

// RequestResetCode sends a one-time code to the phone bound to the
// account. The answer is the same whether or not the account and phone
// match, so the endpoint does not reveal who has an account; the rate
// limits per IP and per phone apply either way.
func (f *Function) RequestResetCode(ctx context.Context, in ResetRequest, ip string) error {
	in.Username, in.Phone = strings.TrimSpace(in.Username), strings.TrimSpace(in.Phone)
	if in.Username == "" || !phonePattern.MatchString(in.Phone) {
		return errs.Fields([]errs.FieldError{{Field: "phone", Message: "请输入用户名和 11 位手机号码"}})
	}
	if ok, err := f.limit(ctx, "sms:ip:"+ip, f.cfg.SMSPerIPHour, time.Hour); err != nil || !ok {
		return firstErr(err, errs.New(errs.Unavailable, "获取验证码过于频繁，请稍后再试"))
	}
	ok, err := f.rdb.SetNX(ctx, f.cfg.RedisPrefix+"sms:gap:"+in.Phone, 1, time.Minute).Result()
	if err != nil {
		return errs.Wrap(errs.Unavailable, "服务暂时不可用，请稍后重试", err)
	}
	if !ok {
		return errs.New(errs.Unavailable, "验证码已发送，请 60 秒后再获取")
	}
	if ok, err := f.limit(ctx, "sms:phone:"+in.Phone, f.cfg.SMSPerPhoneHour, time.Hour); err != nil || !ok {
		return firstErr(err, errs.New(errs.Unavailable, "该手机号获取验证码次数过多，请 1 小时后再试"))
	}
	u, err := userByUsername(ctx, f.pool, in.Username, false)
	if errs.CodeOf(err) == errs.NotFound || err == nil && (u.Phone != in.Phone || u.Status != "active") {
		f.log.InfoContext(ctx, "password reset code not sent: no matching active account", "username", in.Username)
		return nil
	}
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", randInt(1000000))
	now := f.now()
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := retireSMSCodes(ctx, tx, u.ID, now); err != nil {
			return err
		}
		if err := insertSMSCode(ctx, tx, u.ID, u.Phone, f.seal.hmacOf(u.ID, code), now.Add(f.cfg.SMSCodeTTL), now); err != nil {
			return err
		}
		// Sent inside the transaction: a gateway failure leaves no code
		// behind that the user never received.
		return f.sms.Send(ctx, SMS{Phone: u.Phone, SignName: f.cfg.SMSSignName, Template: f.cfg.SMSTemplateReset,
			Params: map[string]string{"code": code, "minutes": fmt.Sprint(int(f.cfg.SMSCodeTTL.Minutes()))}})
	})
	return err
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var errBadCode = errs.Fields([]errs.FieldError{{Field: "code", Message: "验证码错误或已失效，请重新获取"}})

// ResetPassword sets a new password with a code from RequestResetCode.
// A code works once, expires after IDENTITY_SMS_CODE_TTL and dies after
// five wrong guesses. Success also unlocks the account and ends every
// session.
func (f *Function) ResetPassword(ctx context.Context, in ResetInput, ip, device string) error {
	in.Username, in.Phone, in.Code = strings.TrimSpace(in.Username), strings.TrimSpace(in.Phone), strings.TrimSpace(in.Code)
	if err := f.cfg.checkPolicy("new_password", in.NewPassword, in.Username); err != nil {
		return err
	}
	now := f.now()
	var wrong bool
	var userID string
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		u, err := userByUsername(ctx, tx, in.Username, true)
		if errs.CodeOf(err) == errs.NotFound {
			return errBadCode
		}
		if err != nil {
			return err
		}
		if u.Phone != in.Phone || u.Status != "active" {
			return errBadCode
		}
		sc, err := liveSMSCodeForUpdate(ctx, tx, u.ID, now)
		if errs.CodeOf(err) == errs.NotFound {
			return errBadCode
		}
		if err != nil {
			return err
		}
		if !hmac.Equal(sc.hash, f.seal.hmacOf(u.ID, in.Code)) {
			wrong = true
			return countSMSCodeMiss(ctx, tx, sc.id, maxCodeAttempts, now)
		}
		if err := spendSMSCode(ctx, tx, sc.id, now); err != nil {
			return err
		}
		a := Actor{UserID: u.ID, Username: u.Username, IP: ip, Device: device}
		if err := f.setPassword(ctx, tx, a, u, in.NewPassword, "user.password.reset"); err != nil {
			return err
		}
		userID = u.ID
		return f.endSessions(ctx, tx, u.ID, now)
	})
	if err != nil {
		return err
	}
	if wrong {
		return errBadCode
	}
	f.publishRevocation(ctx, "user", userID, revokedAt(now))
	return nil
}
