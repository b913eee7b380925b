package oidcprovider

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Permissions of the client administration API (identity's permission
// catalogue lists them).
const (
	ClientResource = "identity.client"
)

// Client is a registered relying party as the admin API shows it.
type Client struct {
	ID                     string    `json:"id"`
	Name                   string    `json:"name"`
	Public                 bool      `json:"public"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	ApplicationType        string    `json:"application_type"`
	Disabled               bool      `json:"disabled"`
	CreatedAt              time.Time `json:"created_at"`
}

// ClientInput registers a relying party.
type ClientInput struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirect_uris"` // absolute, or relative to PUBLIC_BASE_URL when starting with "/"
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	Public                 bool     `json:"public"`           // no secret: PKCE S256 is required
	ApplicationType        string   `json:"application_type"` // web (default), user_agent, native
}

func validRedirect(u string) bool {
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		return !strings.Contains(u, "#")
	}
	p, err := url.Parse(u)
	return err == nil && p.Fragment == "" && p.Host != "" && (p.Scheme == "https" || p.Scheme == "http")
}

// Validate checks the input; errors are Chinese, per field.
func (in *ClientInput) Validate() error {
	var fe []errs.FieldError
	in.ID, in.Name = strings.TrimSpace(in.ID), strings.TrimSpace(in.Name)
	if in.ID == "" || len(in.ID) > 64 || strings.ContainsAny(in.ID, " :/?#") {
		fe = append(fe, errs.FieldError{Field: "id", Message: "应用标识应为 1 至 64 个字符，且不含空格、冒号、斜杠、问号和井号"})
	}
	if in.Name == "" || len([]rune(in.Name)) > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "请填写应用名称（不超过 100 字）"})
	}
	if len(in.RedirectURIs) == 0 {
		fe = append(fe, errs.FieldError{Field: "redirect_uris", Message: "至少登记一个回调地址"})
	}
	for _, u := range in.RedirectURIs {
		if !validRedirect(u) {
			fe = append(fe, errs.FieldError{Field: "redirect_uris", Message: "回调地址应为 http(s) 完整地址或以 / 开头的本站路径，且不含 #：" + u})
		}
	}
	for _, u := range in.PostLogoutRedirectURIs {
		if !validRedirect(u) {
			fe = append(fe, errs.FieldError{Field: "post_logout_redirect_uris", Message: "退出后跳转地址无效：" + u})
		}
	}
	if in.ApplicationType == "" {
		in.ApplicationType = "web"
	}
	if !slices.Contains([]string{"web", "user_agent", "native"}, in.ApplicationType) {
		fe = append(fe, errs.FieldError{Field: "application_type", Message: "应用类型应为 web、user_agent 或 native"})
	}
	if in.PostLogoutRedirectURIs == nil {
		in.PostLogoutRedirectURIs = []string{}
	}
	return errs.Fields(fe)
}

// actor is who does an admin operation, for the operation log.
type actor struct{ userID, username, ip string }

func actorOf(r *http.Request) actor {
	a := actor{ip: httpx.ClientIP(r)}
	if p, ok := auth.FromContext(r.Context()); ok {
		a.userID, a.username = p.UserID, p.Username
	}
	return a
}

func (a actor) op(action, id string, before, after any) auditlog.Operation {
	return auditlog.Operation{UserID: a.userID, Username: a.username, IP: a.ip, Action: action, ObjectType: "oidc_client",
		ObjectID: id, Result: auditlog.ResultSuccess, Before: before, After: after}
}

// source is identity's CloudEvents source, which the provider's log rows carry.
const source = "/functions/identity"

// RegisterClient stores a client and returns its secret (empty for a
// public client). The secret is shown once: only its hash is kept.
func (p *Provider) RegisterClient(ctx context.Context, in ClientInput) (string, error) {
	return p.registerClient(ctx, actor{}, in)
}

func (p *Provider) registerClient(ctx context.Context, a actor, in ClientInput) (string, error) {
	if err := in.Validate(); err != nil {
		return "", err
	}
	var secret string
	var hash *string
	if !in.Public {
		secret = randomToken()
		h := hashToken(secret)
		hash = &h
	}
	err := store.InTx(ctx, p.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO identity.oidc_clients (id, name, secret_hash, redirect_uris, post_logout_redirect_uris, application_type, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, in.ID, in.Name, hash, in.RedirectURIs, in.PostLogoutRedirectURIs, in.ApplicationType, p.now())
		if err != nil && strings.Contains(err.Error(), "23505") {
			return &errs.Error{Code: errs.Conflict, Message: "应用标识已存在", Err: err,
				Fields: []errs.FieldError{{Field: "id", Message: "应用标识已存在"}}}
		}
		if err != nil || a.userID == "" {
			return err
		}
		return auditlog.Record(ctx, tx, source, a.op("oidc_client.create", in.ID, nil, in))
	})
	return secret, err
}

func (p *Provider) listClients(ctx context.Context, pg httpx.Page, q string) ([]Client, int, error) {
	var w store.Where
	if q = strings.TrimSpace(q); q != "" {
		// User text matches literally: % and _ are escaped (issue 10).
		w.Add("(id ILIKE ? OR name ILIKE ?)", store.Contains(q), store.Contains(q))
	}
	var total int
	if err := p.pool.QueryRow(ctx, `SELECT count(*) FROM identity.oidc_clients`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := p.pool.Query(ctx, `SELECT id, name, secret_hash IS NULL, redirect_uris, post_logout_redirect_uris, application_type, disabled, created_at
		FROM identity.oidc_clients`+w.SQL()+` ORDER BY created_at, id LIMIT `+w.Next(pg.Size)+` OFFSET `+w.Next(pg.Offset()), w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Client, error) {
		var c Client
		err := row.Scan(&c.ID, &c.Name, &c.Public, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.ApplicationType, &c.Disabled, &c.CreatedAt)
		return c, err
	})
	return out, total, err
}

// setDisabled turns a client off or on; a disabled client's logins and
// refresh tokens stop working at once (GetClientByClientID refuses it).
func (p *Provider) setDisabled(ctx context.Context, a actor, id string, disabled bool) error {
	return store.InTx(ctx, p.pool, func(tx pgx.Tx) error {
		var before bool
		err := tx.QueryRow(ctx, `SELECT disabled FROM identity.oidc_clients WHERE id = $1 FOR UPDATE`, id).Scan(&before)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.New(errs.NotFound, "应用不存在")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE identity.oidc_clients SET disabled = $2 WHERE id = $1`, id, disabled); err != nil {
			return err
		}
		action := "oidc_client.enable"
		if disabled {
			action = "oidc_client.disable"
		}
		return auditlog.Record(ctx, tx, source, a.op(action, id, map[string]bool{"disabled": before}, map[string]bool{"disabled": disabled}))
	})
}

// rotateSecret gives a confidential client a new secret; the old one stops
// working at once.
func (p *Provider) rotateSecret(ctx context.Context, a actor, id string) (string, error) {
	secret := randomToken()
	err := store.InTx(ctx, p.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE identity.oidc_clients SET secret_hash = $2 WHERE id = $1 AND secret_hash IS NOT NULL`, id, hashToken(secret))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.New(errs.NotFound, "应用不存在或为公共客户端（无密钥）")
		}
		// The secret itself never reaches the log.
		return auditlog.Record(ctx, tx, source, a.op("oidc_client.rotate_secret", id, nil, nil))
	})
	return secret, err
}

func (p *Provider) clientRoutes(m *httpx.Mux) {
	m.Handle("GET /identity/v1/oidc/clients", httpx.Endpoint(p.handleListClients), auth.Requires(ClientResource, "view"), httpx.NoEntity(),
		httpx.Params(append([]string{"q"}, httpx.PageParams...)...))
	m.Handle("POST /identity/v1/oidc/clients", httpx.Body(p.handleCreateClient), auth.Requires(ClientResource, "create"), httpx.NoEntity())
	m.Handle("POST /identity/v1/oidc/clients/{id}/disable", httpx.Endpoint(p.handleDisable(true)), auth.Requires(ClientResource, "edit"), httpx.NoEntity())
	m.Handle("POST /identity/v1/oidc/clients/{id}/enable", httpx.Endpoint(p.handleDisable(false)), auth.Requires(ClientResource, "edit"), httpx.NoEntity())
	m.Handle("POST /identity/v1/oidc/clients/{id}/secret", httpx.Endpoint(p.handleRotate), auth.Requires(ClientResource, "edit"), httpx.NoEntity())
}

func (p *Provider) handleListClients(r *http.Request) (any, error) {
	pg, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	items, total, err := p.listClients(r.Context(), pg, r.URL.Query().Get("q"))
	if err != nil {
		return nil, err
	}
	return httpx.NewPage(items, total, pg), nil
}

// ClientCreated is the answer to a registration: the secret is shown once.
type ClientCreated struct {
	ID           string `json:"id"`
	ClientSecret string `json:"client_secret"`
	Issuer       string `json:"issuer"`
}

func (p *Provider) handleCreateClient(r *http.Request, in ClientInput) (any, error) {
	secret, err := p.registerClient(r.Context(), actorOf(r), in)
	if err != nil {
		return nil, err
	}
	return httpx.Created(ClientCreated{ID: in.ID, ClientSecret: secret, Issuer: p.Issuer()}, ""), nil
}

func (p *Provider) handleDisable(disabled bool) httpx.Endpoint {
	return func(r *http.Request) (any, error) {
		if err := p.setDisabled(r.Context(), actorOf(r), r.PathValue("id"), disabled); err != nil {
			return nil, err
		}
		return map[string]any{"id": r.PathValue("id"), "disabled": disabled}, nil
	}
}

func (p *Provider) handleRotate(r *http.Request) (any, error) {
	secret, err := p.rotateSecret(r.Context(), actorOf(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": r.PathValue("id"), "client_secret": secret}, nil
}
