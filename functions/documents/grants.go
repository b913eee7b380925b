package documents

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// GrantInput gives a user, a role or a department rights on a document.
type GrantInput struct {
	Kind  string   `json:"kind"` // user | role | dept
	ID    string   `json:"id"`   // user id, role code or department id
	Name  string   `json:"name"` // shown in the list
	Perms []string `json:"perms"`
}

var granteeKinds = map[string]string{"user": "用户", "role": "角色", "dept": "部门"}

func (in *GrantInput) validate() error {
	in.ID, in.Name = strings.TrimSpace(in.ID), strings.TrimSpace(in.Name)
	var fe []errs.FieldError
	if _, ok := granteeKinds[in.Kind]; !ok {
		fe = append(fe, errs.FieldError{Field: "kind", Message: "授权对象类型应为 user（用户）、role（角色）或 dept（部门）"})
	}
	if n := utf8.RuneCountInString(in.ID); n == 0 || n > 100 || !httpx.ValidText(in.ID) {
		fe = append(fe, errs.FieldError{Field: "id", Message: "请填写授权对象（用户 ID、角色编码或部门 ID）"})
	}
	if utf8.RuneCountInString(in.Name) > 100 || !httpx.ValidText(in.Name) {
		fe = append(fe, errs.FieldError{Field: "name", Message: "名称不能超过 100 字"})
	}
	if len(in.Perms) == 0 {
		fe = append(fe, errs.FieldError{Field: "perms", Message: "请至少选择一项权限（查看、编辑、打印下载、分享转发）"})
	}
	for _, p := range in.Perms {
		if _, ok := accessNames[p]; !ok {
			fe = append(fe, errs.FieldError{Field: "perms", Message: "未知的权限“" + clip(p, 20) + "”，应为 read、edit、print、share"})
		}
	}
	slices.Sort(in.Perms)
	in.Perms = slices.Compact(in.Perms)
	if in.Name == "" {
		in.Name = in.ID
	}
	return errs.Fields(fe)
}

// AddGrant gives rights on a document (FP-42): only its owner and those
// who may share it grant, and nobody grants a right they lack. Every grant
// is audited.
func (f *Function) AddGrant(ctx context.Context, p *auth.Principal, a actor, id int64, in GrantInput) ([]Grant, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out []Grant
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, grants, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if err := need(d, AccessShare); err != nil {
			return err
		}
		for _, perm := range in.Perms {
			if !slices.Contains(d.Access, perm) {
				return errs.New(errs.Forbidden, "不能授予您自己没有的权限：“"+accessNames[perm]+"”")
			}
		}
		if in.Kind == "user" && in.ID == d.OwnerID {
			return errs.Fields([]errs.FieldError{{Field: "id", Message: "起草人已拥有全部权限"}})
		}
		if len(grants) >= 200 {
			return errs.New(errs.Invalid, "一份文书最多授权 200 个对象")
		}
		var before *Grant
		for _, g := range grants {
			if g.Kind == in.Kind && g.ID == in.ID {
				before = &g
			}
		}
		g := Grant{Kind: in.Kind, ID: in.ID, Name: in.Name, Perms: in.Perms, GrantedBy: a.Name, GrantedAt: f.now()}
		if err := upsertGrant(ctx, tx, id, g); err != nil {
			return err
		}
		if err := f.audit(ctx, tx, a, "document.grant", d, before, g); err != nil {
			return err
		}
		out, err = docGrants(ctx, tx, id)
		return err
	})
	return out, err
}

// RemoveGrant withdraws a grantee's rights; audited.
func (f *Function) RemoveGrant(ctx context.Context, p *auth.Principal, a actor, id int64, kind, grantee string) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		d, _, err := f.load(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if err := need(d, AccessShare); err != nil {
			return err
		}
		g, err := deleteGrant(ctx, tx, id, kind, grantee)
		if err != nil {
			if errs.CodeOf(err) == errs.NotFound {
				return errs.New(errs.NotFound, "该授权不存在")
			}
			return err
		}
		return f.audit(ctx, tx, a, "document.revoke", d, g, nil)
	})
}

// Grants lists a document's grants, for those who may share it.
func (f *Function) Grants(ctx context.Context, p *auth.Principal, id int64) ([]Grant, error) {
	d, grants, err := f.load(ctx, f.pool, p, id, false)
	if err != nil {
		return nil, err
	}
	if err := need(d, AccessShare); err != nil {
		return nil, err
	}
	if grants == nil {
		grants = []Grant{}
	}
	return grants, nil
}
