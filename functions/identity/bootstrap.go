package identity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// CityBureau is the root department every deployment starts with.
const CityBureau = "石家庄市市场监督管理局"

// InitialPasswordFile is the owner-only file, under IDENTITY_DATA_DIR,
// holding generated passwords until each account's first login (like
// Jenkins' initialAdminPassword).
const InitialPasswordFile = "initial-passwords.txt"

type credential struct{ username, password string }

// bootstrap prepares a fresh database: built-in roles always; on the very
// first start (no user yet) the city bureau and the three administrators
// (三员) with generated passwords, plus demo data when IDENTITY_SEED_DEMO.
func (f *Function) bootstrap(ctx context.Context) error {
	var creds []credential
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if err := xactLock(ctx, tx, lockBootstrap); err != nil {
			return err
		}
		if err := ensureBuiltinRoles(ctx, tx, f.now()); err != nil {
			return fmt.Errorf("built-in roles: %w", err)
		}
		if exists, err := anyUser(ctx, tx); err != nil || exists {
			return err
		}
		root, err := f.ensureCity(ctx, tx)
		if err != nil {
			return err
		}
		for _, a := range []struct{ username, name, role string }{
			{"admin", "系统管理员", RoleSysAdmin}, {"secadmin", "安全管理员", RoleSecAdmin}, {"auditor", "审计管理员", RoleAuditor},
		} {
			c, err := f.seedUser(ctx, tx, a.username, a.name, "", root, a.role)
			if err != nil {
				return err
			}
			creds = append(creds, c)
		}
		if f.cfg.SeedDemo {
			demo, err := f.seedDemo(ctx, tx, root)
			if err != nil {
				return fmt.Errorf("seed demo: %w", err)
			}
			creds = append(creds, demo...)
		}
		return nil
	})
	if err != nil || len(creds) == 0 {
		return err
	}
	path := filepath.Join(f.cfg.DataDir, InitialPasswordFile)
	for _, c := range creds {
		// Printed once, on purpose: the operator installing the platform
		// reads it here or in the owner-only file.
		f.log.Warn("初始账号已生成，首次登录后须修改密码", "username", c.username, "password", c.password, "file", path)
	}
	if err := f.writeCredentials(creds); err != nil {
		f.log.Error("cannot write the initial password file; use the passwords printed above", "path", path, "err", err)
	}
	return nil
}

// ensureCity returns the city bureau, creating it with every county of
// Shijiazhuang as its jurisdiction.
func (f *Function) ensureCity(ctx context.Context, tx pgx.Tx) (string, error) {
	id, err := rootDeptID(ctx, tx, CityBureau)
	if errs.CodeOf(err) != errs.NotFound {
		return id, err
	}
	var all []string
	for _, d := range codes.Divisions().Counties() {
		all = append(all, d.Code)
	}
	id = newID()
	_, err = insertDept(ctx, tx, Department{ID: id, Name: CityBureau, Level: "city", DistrictCodes: all, TownshipCodes: []string{},
		Path: "/" + id + "/", CreatedAt: f.now()})
	return id, err
}

func (f *Function) seedUser(ctx context.Context, tx pgx.Tx, username, name, phone, dept string, roleCodes ...string) (credential, error) {
	pw := generatePassword()
	hash, err := f.hasher.Hash(pw)
	if err != nil {
		return credential{}, err
	}
	id, err := f.insertUser(ctx, tx, UserInput{Username: username, Name: name, Phone: phone, DeptID: dept}, hash, true)
	if err != nil {
		return credential{}, fmt.Errorf("create %s: %w", username, err)
	}
	if err := grantRolesByCode(ctx, tx, id, roleCodes); err != nil {
		return credential{}, err
	}
	if err := insertInitialCredential(ctx, tx, id, f.now()); err != nil {
		return credential{}, err
	}
	u, err := userByID(ctx, tx, id, false)
	if err != nil {
		return credential{}, err
	}
	if err := f.opLog(ctx, tx, Actor{Username: "system"}, "user.bootstrap", "user", id, nil, u); err != nil {
		return credential{}, err
	}
	return credential{username, pw}, nil
}

// seedDemo adds a bureau per county, two stations in 长安区 and 桥西区, a
// district-administrator role, and demo users for each role.
func (f *Function) seedDemo(ctx context.Context, tx pgx.Tx, root string) ([]credential, error) {
	now := f.now()
	bureaus := map[string]string{}
	for i, c := range codes.Divisions().Counties() {
		id := newID()
		if _, err := insertDept(ctx, tx, Department{ID: id, ParentID: &root, Name: c.Name + "市场监督管理局", Level: "district",
			DistrictCodes: []string{c.Code}, TownshipCodes: []string{}, Sort: i, Path: "/" + root + "/" + id + "/", CreatedAt: now}); err != nil {
			return nil, err
		}
		bureaus[c.Code] = id
		if c.Code != "130102" && c.Code != "130104" {
			continue
		}
		for j, t := range codes.Divisions().Townships(c.Code) {
			if j >= 2 {
				break
			}
			sid := newID()
			if _, err := insertDept(ctx, tx, Department{ID: sid, ParentID: &id, Name: strings.TrimSuffix(strings.TrimSuffix(t.Name, "街道"), "镇") + "市场监管所",
				Level: "station", DistrictCodes: []string{c.Code}, TownshipCodes: []string{t.Code}, Sort: j, Path: "/" + root + "/" + id + "/" + sid + "/",
				CreatedAt: now}); err != nil {
				return nil, err
			}
		}
	}
	var menus, perms []string
	for _, b := range builtinRoles() {
		if b.Code == RoleSysAdmin {
			menus, perms = b.Menus, b.Perms
		}
	}
	if err := insertRoleIfAbsent(ctx, tx, "district_admin", "区县管理员", menus, perms, auth.ScopeDeptAndBelow, now); err != nil {
		return nil, err
	}
	var out []credential
	for _, u := range []struct{ username, name, phone, district, role string }{
		{"changan_admin", "长安区管理员", "13800000101", "130102", "district_admin"},
		{"changan_inspector", "长安区检查员", "13800000102", "130102", RoleInspector},
		{"changan_reviewer", "长安区审核员", "13800000103", "130102", RoleReviewer},
		{"qiaoxi_admin", "桥西区管理员", "13800000104", "130104", "district_admin"},
		{"qiaoxi_inspector", "桥西区检查员", "13800000105", "130104", RoleInspector},
	} {
		c, err := f.seedUser(ctx, tx, u.username, u.name, u.phone, bureaus[u.district], u.role)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// writeCredentials appends to the owner-only password file.
func (f *Function) writeCredentials(creds []credential) error {
	names := make([]string, len(creds))
	for i, c := range creds {
		names[i] = c.username
	}
	return f.rewriteCredentials(names, creds)
}

// forgetInitialPassword removes a user's line from the password file after
// their first successful login.
func (f *Function) forgetInitialPassword(ctx context.Context, u User) {
	removed, err := deleteInitialCredential(ctx, f.pool, u.ID)
	if err != nil {
		f.log.Warn("forget initial credential", "err", err)
	}
	if err != nil || !removed {
		return
	}
	if err := f.removeCredentialLine(u.Username); err != nil {
		f.log.Warn("cannot update the initial password file", "err", err)
	}
}

func (f *Function) removeCredentialLine(username string) error {
	return f.rewriteCredentials([]string{username}, nil)
}

// rewriteCredentials drops the lines of the users in drop and appends add,
// so an account bootstrapped again (its database recreated) keeps one
// line, the valid one, instead of a stale one above it.
func (f *Function) rewriteCredentials(drop []string, add []credential) error {
	f.credMu.Lock()
	defer f.credMu.Unlock()
	path := filepath.Join(f.cfg.DataDir, InitialPasswordFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if name, _, _ := strings.Cut(line, "\t"); line != "" && !slices.Contains(drop, name) {
			keep = append(keep, line)
		}
	}
	for _, c := range add {
		keep = append(keep, c.username+"\t"+c.password)
	}
	if len(keep) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(f.cfg.DataDir, 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(keep, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
