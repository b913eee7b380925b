package ocridcard

// FP-12: third-party identity verification. The verifier is a typical
// 公安身份核验 reseller API (tests/sim/idverify simulates it): signed
// requests, a daily quota the platform keeps itself (the provider bills
// every call), retries with exponential backoff on busy answers.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
)

// VerifyRequest is what is sent: name, number and optionally the photo.
type VerifyRequest struct {
	Name     string
	IDNumber string
	Photo    []byte
}

// VerifyOutcome is the provider's answer.
type VerifyOutcome struct {
	Result    string // match, no_match, not_found
	Score     *int   // face score 0–100 when a photo was sent
	Message   string
	RequestID string
	Attempts  int
}

// IdentityVerifier checks a name and number (and a photo) with the
// third-party service.
type IdentityVerifier interface {
	Verify(ctx context.Context, in VerifyRequest) (VerifyOutcome, error)
}

// errVerifierDown is a provider that did not answer usefully after the retries.
var errVerifierDown = errors.New("ocr-idcard: identity verification unavailable")

// verifyClient is the HTTP client of the verification API.
type verifyClient struct {
	base, appID, secret string
	retries             int
	backoff             time.Duration
	http                *http.Client
	sleep               func(context.Context, time.Duration) error
}

func newVerifyClient(c Config) *verifyClient {
	return &verifyClient{base: strings.TrimRight(c.VerifyURL, "/"), appID: c.VerifyAppID, secret: c.VerifySecret,
		retries: c.VerifyRetries, backoff: c.VerifyBackoff, http: &http.Client{Timeout: c.VerifyTimeout}, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

type verifyBody struct {
	Name      string `json:"name"`
	IDNumber  string `json:"id_number"`
	Photo     string `json:"photo,omitempty"`
	RequestID string `json:"request_id"`
}

type verifyAnswer struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Result    string `json:"result"`
	Score     *int   `json:"score"`
}

// Verify posts the request, signing each attempt afresh (new timestamp and
// nonce: the provider refuses a reused nonce), and retries network errors,
// 429 and 5xx with exponential backoff and jitter, honouring Retry-After.
func (c *verifyClient) Verify(ctx context.Context, in VerifyRequest) (VerifyOutcome, error) {
	rid := randomHex(8)
	b := verifyBody{Name: in.Name, IDNumber: in.IDNumber, RequestID: rid}
	if in.Photo != nil {
		b.Photo = base64.StdEncoding.EncodeToString(in.Photo)
	}
	body, _ := json.Marshal(b)
	const path = "/v1/idcard/verify"
	var last error
	for attempt := 1; attempt <= c.retries+1; attempt++ {
		out, retryAfter, err := c.once(ctx, path, body)
		if err == nil {
			out.Attempts = attempt
			return out, nil
		}
		var perm permanent
		if errors.As(err, &perm) || ctx.Err() != nil {
			return VerifyOutcome{Attempts: attempt}, err
		}
		last = err
		if attempt > c.retries {
			break
		}
		d := c.backoff << (attempt - 1)
		d += time.Duration(mrand.Int64N(int64(d)/2 + 1))
		if retryAfter > d {
			d = min(retryAfter, 10*time.Second)
		}
		if err := c.sleep(ctx, d); err != nil {
			return VerifyOutcome{Attempts: attempt}, err
		}
	}
	return VerifyOutcome{Attempts: c.retries + 1}, fmt.Errorf("%w: %v", errVerifierDown, last)
}

// permanent is an answer retrying cannot change (bad signature, bad request).
type permanent struct{ error }

func (c *verifyClient) once(ctx context.Context, path string, body []byte) (VerifyOutcome, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return VerifyOutcome{}, 0, permanent{err}
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), randomHex(12)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-App-Id", c.appID)
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Nonce", nonce)
	// The signed path is the API's path below the base URL (the provider
	// documents it so; a gateway prefix in the base is not signed).
	req.Header.Set("X-Signature", signVerify(c.secret, c.appID, ts, nonce, http.MethodPost, path, body))
	resp, err := c.http.Do(req)
	if err != nil {
		return VerifyOutcome{}, 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var a verifyAnswer
	_ = json.Unmarshal(raw, &a)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return VerifyOutcome{}, time.Duration(ra) * time.Second, fmt.Errorf("HTTP %d %s", resp.StatusCode, a.Code)
	case resp.StatusCode != http.StatusOK || a.Code != "OK":
		return VerifyOutcome{}, 0, permanent{fmt.Errorf("ocr-idcard: verification refused: HTTP %d %s", resp.StatusCode, a.Code)}
	}
	switch a.Result {
	case "match", "no_match", "not_found":
	default:
		return VerifyOutcome{}, 0, permanent{fmt.Errorf("ocr-idcard: verification answered result %q", a.Result)}
	}
	return VerifyOutcome{Result: a.Result, Score: a.Score, Message: a.Message, RequestID: a.RequestID}, 0, nil
}

// signVerify is HMAC-SHA256 over app id, timestamp, nonce, method, path
// and the body's SHA-256, hex-encoded (the provider's documented scheme).
func signVerify(secret, appID, ts, nonce, method, path string, body []byte) string {
	h := sha256.Sum256(body)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%s\n%s\n%s\n%s", appID, ts, nonce, method, path, hex.EncodeToString(h[:]))
	return hex.EncodeToString(m.Sum(nil))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Verification is a stored verification result with its guidance.
type Verification struct {
	ID            string    `json:"id"`
	RecognitionID string    `json:"recognition_id"`
	Result        string    `json:"result"` // match, no_match, not_found, photo_mismatch, unavailable
	Score         *int      `json:"score,omitempty"`
	WithPhoto     bool      `json:"with_photo"`
	Passed        bool      `json:"passed"`
	Message       string    `json:"message"`
	Guidance      string    `json:"guidance,omitempty"`
	Attempts      int       `json:"attempts"`
	NumberMasked  string    `json:"id_number_masked"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
}

// judge turns an outcome into the stored result, its Chinese message and
// what the person should do next when it failed.
func judge(o VerifyOutcome, withPhoto bool, threshold int) (result string, passed bool, msg, guidance string) {
	switch o.Result {
	case "match":
		if withPhoto && o.Score != nil && *o.Score < threshold {
			return "photo_mismatch", false, fmt.Sprintf("姓名与号码一致，但照片比对分数 %d 低于阈值 %d", *o.Score, threshold),
				"照片可能不是本人或拍摄不清：请当面核对本人与证件照片，或请申请人重新拍摄清晰的身份证正面后再次核验。"
		}
		if withPhoto && o.Score != nil {
			return "match", true, fmt.Sprintf("姓名与身份证号码一致，照片比对分数 %d", *o.Score), ""
		}
		return "match", true, "姓名与身份证号码一致", ""
	case "no_match":
		return "no_match", false, "姓名与身份证号码不一致",
			"请对照证件原件逐字核对姓名与号码（生僻字、同音字、号码末位 X）；更正后再次核验。仍不一致的，请申请人到户籍所在地公安机关核实身份信息。"
	default:
		return "not_found", false, "核验库中查无此身份证号码",
			"号码可能识别或填写有误：请对照证件原件核对 18 位号码后再次核验；号码无误的，请申请人持证件到户籍所在地公安机关核实。"
	}
}

const unavailableGuidance = "核验服务暂时不可用（已按退避策略重试）：请稍后再试；持续失败请联系系统管理员检查核验服务配置。"

// verifyUnavailable is the error of an exhausted quota.
func quotaError(quota int) error {
	return errs.New(errs.Unavailable, fmt.Sprintf("今日身份核验次数已用完（每日 %d 次），请明日再试或联系管理员调整 OCR_VERIFY_DAILY_QUOTA", quota))
}
