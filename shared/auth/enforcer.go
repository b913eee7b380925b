package auth

import (
	"bufio"
	"fmt"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// DefaultDomain is the tenant every SmartReg role lives in unless identity
// defines roles per tenant (a county bureau's own roles, say).
const DefaultDomain = "sjzamr"

// rbacModel is RBAC with domains: a role holds permissions within a domain
// (tenant), "*" as a policy's domain means every domain, "*" as its action
// every action on the resource, and roles inherit from roles (g) within a
// domain.
const rbacModel = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && (p.dom == r.dom || p.dom == "*") && r.obj == p.obj && (r.act == p.act || p.act == "*")
`

// Enforcer decides which roles may use which APIs (casbin, RBAC with
// domains). identity owns the policies and flattens a user's roles into
// Principal.Perms when it issues a token (Permissions); functions then
// check Principal.Can without consulting the enforcer.
type Enforcer struct {
	e *casbin.SyncedEnforcer
}

// NewEnforcer builds an enforcer and loads policy lines in casbin's CSV
// form, one per line ('#' starts a comment):
//
//	p, <role>, <domain|*>, <resource>, <action|*>
//	g, <role>, <inherited role>, <domain>
func NewEnforcer(policy string) (*Enforcer, error) {
	m, err := model.NewModelFromString(rbacModel)
	if err != nil {
		return nil, fmt.Errorf("auth: casbin model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("auth: casbin enforcer: %w", err)
	}
	en := &Enforcer{e: e}
	return en, en.Load(policy)
}

// Load adds the policy lines (see NewEnforcer).
func (en *Enforcer) Load(policy string) error {
	sc := bufio.NewScanner(strings.NewReader(policy))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		var err error
		switch {
		case f[0] == "p" && len(f) == 5:
			err = en.Allow(f[2], f[1], f[3], f[4])
		case f[0] == "g" && len(f) == 4:
			err = en.Inherit(f[3], f[1], f[2])
		default:
			err = fmt.Errorf("want \"p, role, domain, resource, action\" or \"g, role, parent, domain\"")
		}
		if err != nil {
			return fmt.Errorf("auth: policy line %d %q: %w", n, line, err)
		}
	}
	return sc.Err()
}

// Allow lets role perform action on resource within domain ("*": every
// domain; action "*": every action).
func (en *Enforcer) Allow(domain, role, resource, action string) error {
	if domain == "" || role == "" || resource == "" || action == "" {
		return fmt.Errorf("auth: empty field in permission %q %q %q %q", domain, role, resource, action)
	}
	_, err := en.e.AddPolicy(role, domain, resource, action)
	return err
}

// Inherit gives role every permission of parent within domain.
func (en *Enforcer) Inherit(domain, role, parent string) error {
	if domain == "" || role == "" || parent == "" {
		return fmt.Errorf("auth: empty field in inheritance %q %q %q", domain, role, parent)
	}
	_, err := en.e.AddGroupingPolicy(role, parent, domain)
	return err
}

// SetRole replaces the permissions of role in domain (a role edited in the
// console); perms are "<resource>:<action>".
func (en *Enforcer) SetRole(domain, role string, perms []string) error {
	if _, err := en.e.RemoveFilteredPolicy(0, role, domain); err != nil {
		return err
	}
	for _, p := range perms {
		res, act, ok := strings.Cut(p, ":")
		if !ok {
			return fmt.Errorf("auth: permission %q is not resource:action", p)
		}
		if err := en.Allow(domain, role, res, act); err != nil {
			return err
		}
	}
	return nil
}

// Enforce reports whether any of roles may perform action on resource in
// domain.
func (en *Enforcer) Enforce(domain string, roles []string, resource, action string) (bool, error) {
	for _, r := range roles {
		ok, err := en.e.Enforce(r, domain, resource, action)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// Permissions flattens roles into the sorted union of their permissions in
// domain, inherited ones included, as "<resource>:<action>": what identity
// puts into Principal.Perms.
func (en *Enforcer) Permissions(domain string, roles []string) ([]string, error) {
	all := map[string]bool{}
	for _, r := range roles {
		all[r] = true
		inh, err := en.e.GetImplicitRolesForUser(r, domain)
		if err != nil {
			return nil, err
		}
		for _, i := range inh {
			all[i] = true
		}
	}
	policy, err := en.e.GetPolicy()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range policy {
		if len(p) == 4 && all[p[0]] && (p[1] == domain || p[1] == "*") {
			out = append(out, Perm(p[2], p[3]))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
