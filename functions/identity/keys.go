package identity

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// keyring is identity's token issuer as the rest of the process sees it
// from New on: the issuer and audience are known at once, the signing key
// once Start has loaded it. Until then it publishes no key and signs
// nothing, so a verifier built from it refuses every token, as it should
// before identity has started.
type keyring struct {
	iss, aud string
	ttl      time.Duration
	cur      atomic.Pointer[auth.Issuer]
}

var errNotStarted = errs.New(errs.Unavailable, "身份认证服务正在启动，请稍后重试")

func (k *keyring) load(key auth.SigningKey, now func() time.Time) error {
	i, err := auth.NewIssuer(auth.IssuerConfig{Issuer: k.iss, Audience: k.aud, TTL: k.ttl, Key: key, Now: now})
	if err != nil {
		return err
	}
	k.cur.Store(i)
	return nil
}

// Issuer and Audience are the "iss" and "aud" of the tokens.
func (k *keyring) Issuer() string   { return k.iss }
func (k *keyring) Audience() string { return k.aud }

// TTL is the access tokens' lifetime.
func (k *keyring) TTL() time.Duration { return k.ttl }

// PublicKeys lists the verifying keys (none before Start).
func (k *keyring) PublicKeys() []auth.PublicKey {
	if i := k.cur.Load(); i != nil {
		return i.PublicKeys()
	}
	return nil
}

// SigningKey is the current key (zero before Start).
func (k *keyring) SigningKey() auth.SigningKey {
	if i := k.cur.Load(); i != nil {
		return i.SigningKey()
	}
	return auth.SigningKey{}
}

// Issue signs an access token for p.
func (k *keyring) Issue(p auth.Principal) (string, time.Time, error) {
	i := k.cur.Load()
	if i == nil {
		return "", time.Time{}, errNotStarted
	}
	return i.Issue(p)
}

// signingKey loads the active Ed25519 key, generating and storing one
// (its seed sealed under IDENTITY_SECRET_KEY) on first start. Replicas
// starting together serialise on an advisory lock so only one key exists.
func (f *Function) signingKey(ctx context.Context) (auth.SigningKey, error) {
	var key auth.SigningKey
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := xactLock(ctx, tx, lockSigningKey); err != nil {
			return err
		}
		kid, sealed, err := activeSigningKey(ctx, tx)
		if err == nil {
			seed, err := f.seal.open(sealed, "signing-key:"+kid)
			if err != nil {
				return fmt.Errorf("identity: cannot decrypt signing key %s (IDENTITY_SECRET_KEY changed?): %w", kid, err)
			}
			key, err = auth.KeyFromSeed(kid, seed)
			return err
		}
		if errs.CodeOf(err) != errs.NotFound {
			return err
		}
		if key, err = auth.GenerateKey(); err != nil {
			return err
		}
		err = insertSigningKey(ctx, tx, key.ID, f.seal.seal(key.Private.Seed(), "signing-key:"+key.ID), []byte(key.Public().Key), f.now())
		if err == nil {
			f.log.Info("generated access-token signing key", "kid", key.ID)
		}
		return err
	})
	return key, err
}

// recordRevocation stores a revocation durably in the caller's transaction;
// publish it to Redis after commit with publishRevocation.
func (f *Function) recordRevocation(ctx context.Context, q store.Querier, kind, subject string, at time.Time) error {
	return upsertRevocation(ctx, q, kind, subject, at, at.Add(auth.MaxTokenLifetime))
}

// publishRevocation tells every verifier now. A failure is logged, not
// returned: the row is stored and the republish loop retries it.
func (f *Function) publishRevocation(ctx context.Context, kind, subject string, at time.Time) {
	var err error
	if kind == "user" {
		err = f.revoker.RevokeUser(ctx, subject, at)
	} else {
		err = f.revoker.RevokeSession(ctx, subject)
	}
	if err != nil {
		f.log.Warn("publish revocation failed; the republish loop will retry", "kind", kind, "err", err)
	}
}

// republish writes every unexpired stored revocation to Redis again, so a
// Redis flush does not resurrect a frozen user's or logged-out session's
// token, and prunes expired rows.
func (f *Function) republish(ctx context.Context) error {
	now := f.now()
	if err := pruneRevocations(ctx, f.pool, now); err != nil {
		return err
	}
	list, err := liveRevocations(ctx, f.pool, now)
	if err != nil {
		return err
	}
	for _, v := range list {
		if v.kind == "user" {
			err = f.revoker.RevokeUser(ctx, v.subject, v.at)
		} else {
			// RevokeSession stamps "now"; a session is dead for good, so a
			// later stamp refuses the same tokens.
			err = f.revoker.RevokeSession(ctx, v.subject)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
