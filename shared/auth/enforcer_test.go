package auth_test

import (
	"slices"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

const policy = `
# role, domain, resource, action
p, inspector, *, registry.entity, view
p, inspector, *, scan.inspection, create
p, clerk, sjzamr, registry.entity, edit
p, clerk, sjzamr, registry.import, create
p, county-admin, county-130102, identity.user, *
p, auditor, *, audit.log, view
p, auditor, *, audit.log, export
# a reviewer is an inspector who also approves codes
g, reviewer, inspector, sjzamr
p, reviewer, sjzamr, qr.code, approve
`

func TestEnforcer(t *testing.T) {
	en, err := auth.NewEnforcer(policy)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dom      string
		roles    []string
		res, act string
		want     bool
	}{
		{"sjzamr", []string{"inspector"}, "registry.entity", "view", true},
		{"sjzamr", []string{"inspector"}, "registry.entity", "edit", false},
		{"sjzamr", []string{"inspector", "clerk"}, "registry.entity", "edit", true}, // union of roles
		{"county-130104", []string{"clerk"}, "registry.entity", "edit", false},      // clerk's grant is for one domain
		{"county-130102", []string{"county-admin"}, "identity.user", "freeze", true},
		{"sjzamr", []string{"county-admin"}, "identity.user", "view", false},
		{"sjzamr", []string{"reviewer"}, "registry.entity", "view", true}, // inherited
		{"sjzamr", []string{"reviewer"}, "qr.code", "approve", true},
		{"sjzamr", []string{"auditor"}, "identity.user", "view", false},
		{"sjzamr", nil, "registry.entity", "view", false},
	}
	for _, c := range cases {
		got, err := en.Enforce(c.dom, c.roles, c.res, c.act)
		if err != nil || got != c.want {
			t.Errorf("Enforce(%s, %v, %s, %s) = %v, %v; want %v", c.dom, c.roles, c.res, c.act, got, err, c.want)
		}
	}
}

// TestPermissionsFlattenTheRoles: the token carries the union of every
// role's permissions, inherited ones included, and Principal.Can agrees
// with the enforcer on it.
func TestPermissionsFlattenTheRoles(t *testing.T) {
	en, err := auth.NewEnforcer(policy)
	if err != nil {
		t.Fatal(err)
	}
	perms, err := en.Permissions("sjzamr", []string{"reviewer", "auditor"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"audit.log:export", "audit.log:view", "qr.code:approve", "registry.entity:view", "scan.inspection:create"}
	if !slices.Equal(perms, want) {
		t.Fatalf("Permissions = %v, want %v", perms, want)
	}
	p := auth.Principal{Roles: []string{"reviewer", "auditor"}, Perms: perms}
	for _, q := range [][2]string{{"qr.code", "approve"}, {"registry.entity", "view"}, {"registry.entity", "edit"}, {"audit.log", "view"}, {"identity.user", "view"}} {
		ok, _ := en.Enforce("sjzamr", p.Roles, q[0], q[1])
		if p.Can(q[0], q[1]) != ok {
			t.Errorf("Can(%s, %s) = %v, enforcer says %v", q[0], q[1], !ok, ok)
		}
	}
	wild, _ := en.Permissions("county-130102", []string{"county-admin"})
	if !slices.Equal(wild, []string{"identity.user:*"}) {
		t.Fatalf("county admin permissions = %v", wild)
	}
	admin := auth.Principal{Perms: wild}
	if !admin.Can("identity.user", "freeze") || admin.Can("identity.role", "edit") {
		t.Fatal("a resource:* permission does not cover exactly that resource")
	}
}

func TestSetRoleReplacesPermissions(t *testing.T) {
	en, err := auth.NewEnforcer(policy)
	if err != nil {
		t.Fatal(err)
	}
	if err := en.SetRole("sjzamr", "clerk", []string{"registry.entity:view"}); err != nil {
		t.Fatal(err)
	}
	perms, _ := en.Permissions("sjzamr", []string{"clerk"})
	if !slices.Equal(perms, []string{"registry.entity:view"}) {
		t.Fatalf("after SetRole: %v", perms)
	}
	if err := en.SetRole("sjzamr", "clerk", []string{"no-colon"}); err == nil {
		t.Fatal("a permission without an action was accepted")
	}
}

func TestEnforcerRejectsBadPolicyLines(t *testing.T) {
	for _, line := range []string{"p, inspector, registry.entity, view", "x, a, b, c", "g, a, b", "p, , *, a, b"} {
		if _, err := auth.NewEnforcer(line); err == nil {
			t.Errorf("policy %q accepted", line)
		}
	}
}

func TestCanGrant(t *testing.T) {
	admin := auth.Principal{Perms: []string{"identity.user:*", "registry.entity:view"}}
	if !admin.CanGrant([]string{"identity.user:freeze", "registry.entity:view"}) {
		t.Fatal("admin cannot grant what they hold")
	}
	if admin.CanGrant([]string{"registry.entity:edit"}) || admin.CanGrant([]string{"registry.entity:*"}) {
		t.Fatal("admin can grant what they lack")
	}
}
