// Package identity is SmartReg's identity and access function (FP-1 to
// FP-10): departments with jurisdictions, roles with menu, operation and
// data-scope permissions, users and their registration review, password
// login with lockout, short-lived access tokens signed with Ed25519 and
// verified locally by every function, rotating refresh tokens, password
// reset by SMS, and the version changelog. The online and oidcprovider
// sub-packages are composed by New. Login attempts and operations are
// logged through the audit function (auditlog.go).
package identity

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/functions/identity/online"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/store"
)

var discardLog = slog.New(slog.DiscardHandler)

// Name is the function's name: its route prefix and Knative Service.
const Name = "identity"

// Source is the CloudEvents source of everything identity emits.
const Source = "/functions/identity"

//go:embed migrations/*.sql
var migrations embed.FS

// Migration is the identity schema owned by this package. Migrations lists
// it together with the sub-packages' migrations, in the order to apply.
func Migration() store.Migration {
	return store.Migration{Component: Name, FS: migrations, Dir: "migrations"}
}

// Deps is what identity needs.
type Deps struct {
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	Redis  *redis.Client
	Now    func() time.Time
	Config Config
	// SMS sends reset codes; nil builds the HTTP client for
	// Config.SMSGatewayURL.
	SMS Sender
	// OIDC configures the OpenID Connect provider sub-package.
	OIDC OIDCConfig
	// Online is the online list's settings; zero means its defaults.
	Online online.Config
}

// Function is identity.
type Function struct {
	log       *slog.Logger
	pool      *pgxpool.Pool
	rdb       *redis.Client
	now       func() time.Time
	cfg       Config
	seal      *sealer
	sms       Sender
	issuer    *auth.Issuer
	verifier  *auth.Verifier
	revoker   *auth.Revoker
	dummy     string // hash checked for unknown usernames (equal timing)
	handler   http.Handler
	subReady  []func(context.Context) error
	receivers []receiver
	closers   []func()

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New checks the dependencies, makes sure the signing key, the built-in
// roles and the first administrators exist (printing generated passwords
// once), republishes stored revocations to Redis and keeps doing so in the
// background until Close.
func New(d Deps) (*Function, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("identity: Logger is required")
	case d.Pool == nil:
		return nil, errors.New("identity: Pool is required")
	case d.Redis == nil:
		return nil, errors.New("identity: Redis is required")
	case d.Now == nil:
		return nil, errors.New("identity: Now is required")
	}
	if err := d.Config.validate(); err != nil {
		return nil, err
	}
	seal, err := newSealer(d.Config.SecretKey)
	if err != nil {
		return nil, err
	}
	f := &Function{log: d.Logger, pool: d.Pool, rdb: d.Redis, now: d.Now, cfg: d.Config, seal: seal, sms: d.SMS,
		revoker: auth.NewRevoker(d.Redis).WithPrefix(d.Config.RevocationPrefix)}
	if f.sms == nil {
		if f.sms, err = NewSMSClient(d.Config.SMSGatewayURL, d.Config.SMSAppKey, d.Config.SMSAppSecret, nil); err != nil {
			return nil, err
		}
	}
	if f.dummy, err = f.cfg.hashPassword(generatePassword()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	key, err := f.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	f.issuer, err = auth.NewIssuer(auth.IssuerConfig{Issuer: d.Config.Issuer, Audience: d.Config.Audience, TTL: d.Config.AccessTTL, Key: key, Now: d.Now})
	if err != nil {
		return nil, err
	}
	f.verifier, err = auth.NewVerifier(auth.VerifierConfig{Keys: f.issuer, Issuer: d.Config.Issuer, Audience: d.Config.Audience,
		Redis: d.Redis, RevocationPrefix: d.Config.RevocationPrefix, Logger: d.Logger, Now: d.Now})
	if err != nil {
		return nil, err
	}
	if err := f.bootstrap(ctx); err != nil {
		f.verifier.Close()
		return nil, err
	}
	if err := f.republish(ctx); err != nil {
		f.log.Warn("republish revocations failed; will retry", "err", err)
	}
	if err := f.compose(d); err != nil {
		f.verifier.Close()
		return nil, err
	}
	rctx, stop := context.WithCancel(context.Background())
	f.stop = stop
	f.wg.Go(func() { f.republishLoop(rctx) })
	return f, nil
}

// Close stops the background work (revocation republishing, the verifier's
// key and revocation sync).
func (f *Function) Close() {
	if f.stop != nil {
		f.stop()
	}
	f.wg.Wait()
	for _, c := range f.closers {
		c()
	}
	f.verifier.Close()
}

// Ready answers when PostgreSQL and Redis do.
func (f *Function) Ready(ctx context.Context) error {
	if err := f.pool.Ping(ctx); err != nil {
		return err
	}
	if err := f.rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	for _, r := range f.subReady {
		if err := r(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Receive handles the "republish-revocations" ping; other events go to the
// sub-packages that handle them.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() == events.Ping {
		var data events.PingData
		if err := e.DataAs(&data); err == nil && data["task"] == "republish-revocations" {
			return nil, f.republish(ctx)
		}
	}
	return f.receiveSub(ctx, e)
}

// Handler serves identity's HTTP API, with the access-token middleware in
// front so every route sees its caller.
func (f *Function) Handler() http.Handler { return f.handler }

// KeySet gives the current verifying keys for in-process verifiers (the
// one-process platform builds every function's Verifier from it).
func (f *Function) KeySet() auth.KeySource { return f.issuer }

// Issuer is the access-token issuer, for the OIDC provider.
func (f *Function) Issuer() *auth.Issuer { return f.issuer }

// Verifier is identity's own token verifier.
func (f *Function) Verifier() *auth.Verifier { return f.verifier }

// republishEvery is how often stored revocations are written to Redis
// again: after a flush, at most this long passes before every verifier
// refuses revoked tokens again (their own in-memory sets survive a flush).
const republishEvery = 30 * time.Second

func (f *Function) republishLoop(ctx context.Context) {
	t := time.NewTicker(republishEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.republish(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("republish revocations failed", "err", err)
			}
		}
	}
}
