package datahub

// The signed-request scheme (FP-116 HMAC auth, FP-126 the BJ-TJ-HE
// exchange): one canonical string, HMAC-SHA256 with the shared secret,
// sent in four headers. docs/jjj-exchange.md specifies it for partners;
// tests/sim/thirdparty and tests/sim/jjj verify it independently.
//
//	X-Key-Id:    the key's id
//	X-Timestamp: unix seconds
//	X-Nonce:     16–64 characters [A-Za-z0-9_-], never reused
//	X-Signature: hex(HMAC-SHA256(secret, METHOD "\n" PATH "\n" QUERY "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(body))))
//
// QUERY is the query with keys sorted and values percent-encoded
// (url.Values.Encode), "" when there is none.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Signature headers.
const (
	HeaderKeyID     = "X-Key-Id"
	HeaderTimestamp = "X-Timestamp"
	HeaderNonce     = "X-Nonce"
	HeaderSignature = "X-Signature"
)

// StringToSign is the canonical string of a request.
func StringToSign(method, path string, query url.Values, ts, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	return method + "\n" + path + "\n" + query.Encode() + "\n" + ts + "\n" + nonce + "\n" + hex.EncodeToString(sum[:])
}

// Sign is the hex HMAC-SHA256 of the canonical string.
func Sign(secret, method, path string, query url.Values, ts, nonce string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(StringToSign(method, path, query, ts, nonce, body)))
	return hex.EncodeToString(m.Sum(nil))
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signRequest sets the four headers on req, whose body is body.
func signRequest(req *http.Request, keyID, secret string, body []byte, now time.Time) {
	ts, nonce := strconv.FormatInt(now.Unix(), 10), newNonce()
	req.Header.Set(HeaderKeyID, keyID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, Sign(secret, req.Method, req.URL.EscapedPath(), req.URL.Query(), ts, nonce, body))
}

// validNonce is a nonce of the documented form.
func validNonce(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
