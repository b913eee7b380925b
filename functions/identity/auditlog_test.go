package identity

import (
	"context"
	"slices"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

// Login attempts and operations go to the audit function as events of the
// same transaction (FP-7, FP-8): a wrong password, a right one and a
// change each leave their row in the outbox, and a rolled-back change
// leaves none.
func TestLoginsAndChangesAreRecordedForAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.f.Login(ctx, LoginInput{Username: "admin", Password: "wrong-password"}, "10.0.0.9", "test"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if _, err := e.f.Login(ctx, LoginInput{Username: "nobody", Password: "x"}, "10.0.0.9", "test"); err == nil {
		t.Fatal("login of an unknown user succeeded")
	}
	var failures, unknown int
	if err := e.f.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE username = 'admin' AND user_id <> '' AND ip = '10.0.0.9'),
		count(*) FILTER (WHERE username = 'nobody' AND user_id = '') FROM recorded.login_log WHERE result = 'failure'`).Scan(&failures, &unknown); err != nil {
		t.Fatal(err)
	}
	if failures != 1 || unknown != 1 {
		t.Errorf("recorded failures: %d for admin, %d for an unknown name", failures, unknown)
	}
	var source string
	if err := e.f.pool.QueryRow(ctx, `SELECT source FROM recorded.login_log LIMIT 1`).Scan(&source); err != nil || source != Source {
		t.Errorf("source = %q, %v", source, err)
	}
}

// Built-in roles after the split (三员分立): the auditor, and only the
// auditor, holds the log permissions; the security administrator the
// alerts; no built-in role still names identity.log, identity.alert or
// identity.notice.
func TestBuiltinRolesNameTheNewPermissions(t *testing.T) {
	t.Parallel()
	for _, r := range builtinRoles() {
		for _, p := range r.Perms {
			if !auth.Grantable(p) {
				t.Errorf("%s holds %q, which is not in the catalogue", r.Code, p)
			}
		}
		hasLog := slices.Contains(r.Perms, "audit.log:view") || slices.Contains(r.Perms, "audit.log:export")
		if hasLog != (r.Code == RoleAuditor) {
			t.Errorf("%s: holds the log permissions = %v", r.Code, hasLog)
		}
		if slices.Contains(r.Perms, "audit.alert:view") != (r.Code == RoleSecAdmin) {
			t.Errorf("%s: alert permission wrongly held or missing", r.Code)
		}
		if !slices.Contains(r.Perms, "notify.notice:view") {
			t.Errorf("%s cannot see the message centre", r.Code)
		}
	}
}

// An existing database's roles, built-in ones an administrator edited and
// the administrators' own, keep what they could do: migration 0100
// renames the moved permissions, in place and in order.
func TestMigrationRenamesMovedPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	if _, err := e.f.pool.Exec(ctx, `INSERT INTO identity.roles (code, name, menus, perms, scope_kind, created_at, updated_at)
		VALUES ('old_auditor', '旧审计员', '{}', ARRAY['identity.user:view', 'identity.log:view', 'identity.log:export', 'identity.notice:view', 'identity.alert:view'], 'all', now(), now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.pool.Exec(ctx, `UPDATE identity.roles SET perms = array_append(perms, 'identity.notice:view') WHERE code = 'inspector'`); err != nil {
		t.Fatal(err)
	}
	sql, err := migrations.ReadFile("migrations/0100_audit_notify_permissions.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.pool.Exec(ctx, string(sql)); err != nil {
		t.Fatal(err)
	}
	var perms []string
	if err := e.f.pool.QueryRow(ctx, `SELECT perms FROM identity.roles WHERE code = 'old_auditor'`).Scan(&perms); err != nil {
		t.Fatal(err)
	}
	if want := []string{"identity.user:view", "audit.log:view", "audit.log:export", "notify.notice:view", "audit.alert:view"}; !slices.Equal(perms, want) {
		t.Errorf("perms = %v, want %v", perms, want)
	}
	var stale int
	if err := e.f.pool.QueryRow(ctx, `SELECT count(*) FROM identity.roles, unnest(perms) p WHERE p LIKE 'identity.log:%' OR p LIKE 'identity.notice:%' OR p LIKE 'identity.alert:%'`).Scan(&stale); err != nil || stale != 0 {
		t.Errorf("%d old permission keys remain (%v)", stale, err)
	}
}
