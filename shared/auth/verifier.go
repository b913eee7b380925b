package auth

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/shared/errs"
)

// MsgExpired is what a client sees for any refused token: it says what to
// do, not why (the reason goes to the log).
const MsgExpired = "登录已失效，请重新登录"

// VerifierConfig configures a Verifier. Exactly one of JWKSURL and Keys.
type VerifierConfig struct {
	JWKSURL string    // identity's JWKS, e.g. http://localhost:8080/identity/oidc/keys
	Keys    KeySource // in-process keys, e.g. identity's *Issuer

	Issuer   string // required "iss"
	Audience string // required "aud"

	// Redis carries revocations (Revoker); nil disables revocation checks,
	// which only tests and tools should do.
	Redis            *redis.Client
	RevocationPrefix string        // Redis key prefix; DefaultRevocationPrefix when empty
	ResyncEvery      time.Duration // full reload of revocations besides pub/sub; 15 s when zero

	RefreshEvery time.Duration // periodic key reload (drops retired keys); 10 min when zero
	MinRefetch   time.Duration // at most one reload per MinRefetch on an unknown kid; 5 s when zero
	Leeway       time.Duration // clock skew allowed on exp/nbf; 10 s when zero
	HTTPClient   *http.Client
	Logger       *slog.Logger
	Now          func() time.Time

	// AllowedOrigins are origins besides the request's own host whose
	// pages may send cookie-authenticated changes (the public base URL
	// when the API is reached under another name).
	AllowedOrigins []string
}

// Verifier checks access tokens locally: signature against cached public
// keys, issuer, audience, expiry, and revocation from an in-memory set kept
// current by Redis pub/sub. Verify makes no network call except to fetch
// keys when a token names a key id it has not seen (rate-limited).
type Verifier struct {
	cfg  VerifierConfig
	log  *slog.Logger
	keys atomic.Pointer[map[string]ed25519.PublicKey]

	fetchMu   sync.Mutex
	lastFetch time.Time

	cacheMu sync.RWMutex
	cache   map[string]*verified

	rev *revocationSet

	noCache bool // benchmarks of the signature path

	stop   context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// verified is a token already checked, so a client presenting the same
// token on every request pays the signature check once.
type verified struct {
	p      Principal
	exp    time.Time
	issued int64 // µs
}

const maxCached = 20000

// NewVerifier checks cfg and starts the background key refresh and
// revocation sync; Close stops them. It does not need identity or Redis to
// be reachable yet: keys load on first use, revocations on reconnect.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	switch {
	case (cfg.JWKSURL == "") == (cfg.Keys == nil):
		return nil, errors.New("auth: VerifierConfig needs exactly one of JWKSURL and Keys")
	case cfg.Issuer == "":
		return nil, errors.New("auth: VerifierConfig.Issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("auth: VerifierConfig.Audience is required")
	}
	if cfg.ResyncEvery <= 0 {
		cfg.ResyncEvery = 15 * time.Second
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = 10 * time.Minute
	}
	if cfg.MinRefetch <= 0 {
		cfg.MinRefetch = 5 * time.Second
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 10 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RevocationPrefix == "" {
		cfg.RevocationPrefix = DefaultRevocationPrefix
	}
	v := &Verifier{cfg: cfg, log: cfg.Logger, cache: map[string]*verified{}, rev: newRevocationSet()}
	empty := map[string]ed25519.PublicKey{}
	v.keys.Store(&empty)
	ctx, cancel := context.WithCancel(context.Background())
	v.stop = cancel
	if cfg.Keys != nil {
		v.setKeys(cfg.Keys.PublicKeys())
	}
	v.wg.Add(1)
	go v.refreshLoop(ctx)
	if cfg.Redis != nil {
		v.startRevocationSync(ctx)
	}
	return v, nil
}

// Close stops the background work.
func (v *Verifier) Close() {
	v.closed.Do(func() {
		v.stop()
		v.wg.Wait()
	})
}

func (v *Verifier) setKeys(list []PublicKey) {
	m := make(map[string]ed25519.PublicKey, len(list))
	for _, k := range list {
		m[k.ID] = k.Key
	}
	v.keys.Store(&m)
}

func (v *Verifier) refreshLoop(ctx context.Context) {
	defer v.wg.Done()
	t := time.NewTicker(v.cfg.RefreshEvery)
	defer t.Stop()
	for {
		if err := v.fetchKeys(ctx); err != nil && ctx.Err() == nil {
			v.log.Warn("auth: JWKS refresh failed; keeping the keys we have", "url", v.cfg.JWKSURL, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fetchKeys reloads the key set from its source.
func (v *Verifier) fetchKeys(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.lastFetch = time.Now()
	if v.cfg.Keys != nil {
		v.setKeys(v.cfg.Keys.PublicKeys())
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return err
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS answered %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("decode JWKS: %w", err)
	}
	var list []PublicKey
	for _, k := range set.Keys {
		if pub, ok := k.Key.(ed25519.PublicKey); ok && k.KeyID != "" {
			list = append(list, PublicKey{ID: k.KeyID, Key: pub})
		}
	}
	if len(list) == 0 {
		return errors.New("JWKS holds no Ed25519 key")
	}
	v.setKeys(list)
	return nil
}

// key finds a verifying key, reloading the set when the id is unknown (a
// rotation this replica has not seen yet): from an in-process source at
// once, from a JWKS URL at most once per MinRefetch.
func (v *Verifier) key(ctx context.Context, kid string) (ed25519.PublicKey, bool) {
	if k, ok := (*v.keys.Load())[kid]; ok {
		return k, true
	}
	v.fetchMu.Lock()
	recent := v.cfg.Keys == nil && time.Since(v.lastFetch) < v.cfg.MinRefetch
	v.fetchMu.Unlock()
	if !recent {
		if err := v.fetchKeys(ctx); err != nil {
			v.log.Warn("auth: JWKS fetch for unknown key failed", "kid", kid, "err", err)
		}
	}
	k, ok := (*v.keys.Load())[kid]
	return k, ok
}

func refuse(reason error, detail string) error {
	return &errs.Error{Code: errs.Unauthorized, Message: MsgExpired, Err: fmt.Errorf("%w: %s", reason, detail)}
}

var algs = []jose.SignatureAlgorithm{jose.EdDSA}

// Verify checks a raw access token and returns its principal. A refused
// token yields an errs.Unauthorized error wrapping ErrTokenInvalid,
// ErrTokenExpired, ErrTokenClaims, ErrUnknownKey or ErrTokenRevoked.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Principal, error) {
	now := v.cfg.Now()
	v.cacheMu.RLock()
	c := v.cache[raw]
	v.cacheMu.RUnlock()
	if c == nil {
		var err error
		if c, err = v.parse(ctx, raw, now); err != nil {
			return nil, err
		}
		if !v.noCache {
			v.remember(raw, c, now)
		}
	}
	if !now.Before(c.exp.Add(v.cfg.Leeway)) {
		return nil, refuse(ErrTokenExpired, "expired at "+c.exp.Format(time.RFC3339))
	}
	if v.rev.revoked(c.p.UserID, c.p.SessionID, c.issued) {
		return nil, refuse(ErrTokenRevoked, "user "+c.p.UserID+" session "+c.p.SessionID)
	}
	// A copy, so a handler changing its principal cannot change the cache.
	p := c.p
	p.Roles, p.Perms = slices.Clone(p.Roles), slices.Clone(p.Perms)
	p.Scope.Districts, p.Scope.Townships = slices.Clone(p.Scope.Districts), slices.Clone(p.Scope.Townships)
	return &p, nil
}

func (v *Verifier) parse(ctx context.Context, raw string, now time.Time) (*verified, error) {
	tok, err := jwt.ParseSigned(raw, algs)
	if err != nil {
		return nil, refuse(ErrTokenInvalid, err.Error())
	}
	if len(tok.Headers) != 1 {
		return nil, refuse(ErrTokenInvalid, "want one signature")
	}
	kid := tok.Headers[0].KeyID
	key, ok := v.key(ctx, kid)
	if !ok {
		return nil, refuse(ErrUnknownKey, "kid "+kid)
	}
	var c claims
	if err := tok.Claims(key, &c); err != nil {
		return nil, refuse(ErrTokenInvalid, err.Error())
	}
	err = c.ValidateWithLeeway(jwt.Expected{Issuer: v.cfg.Issuer, AnyAudience: jwt.Audience{v.cfg.Audience}, Time: now}, v.cfg.Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return nil, refuse(ErrTokenExpired, err.Error())
	case err != nil:
		return nil, refuse(ErrTokenClaims, err.Error())
	case c.Expiry == nil || c.Subject == "":
		return nil, refuse(ErrTokenClaims, "token without exp or sub")
	}
	issued := c.IssuedUS
	if issued == 0 && c.IssuedAt != nil {
		issued = c.IssuedAt.Time().UnixMicro()
	}
	return &verified{
		p: Principal{UserID: c.Subject, Username: c.Username, Name: c.Name, DeptID: c.DeptID, SessionID: c.SessionID,
			Roles: c.Roles, Perms: unpackPerms(c.Perms), Scope: c.Scope},
		exp: c.Expiry.Time(), issued: issued,
	}, nil
}

func (v *Verifier) remember(raw string, c *verified, now time.Time) {
	v.cacheMu.Lock()
	defer v.cacheMu.Unlock()
	if len(v.cache) >= maxCached {
		for k, e := range v.cache {
			if !now.Before(e.exp.Add(v.cfg.Leeway)) {
				delete(v.cache, k)
			}
		}
		if len(v.cache) >= maxCached { // all live: start over rather than grow without bound
			v.cache = map[string]*verified{}
		}
	}
	v.cache[raw] = c
}
