package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Accounts (identity.users), their roles (identity.user_roles) and the
// generated passwords not yet used (identity.initial_credentials).

const userColumns = `u.id, u.username, u.name, u.phone, u.id_number_masked, COALESCE(u.dept_id, ''), COALESCE(d.name, ''), u.status,
	u.frozen_reason, u.frozen_at, u.must_change_password, u.locked_until, u.last_login_at, u.last_login_ip, u.created_at, u.updated_at,
	u.password_hash, u.password_changed_at, u.failed_logins,
	COALESCE((SELECT jsonb_agg(jsonb_build_object('id', r.id, 'code', r.code, 'name', r.name) ORDER BY r.code)
		FROM identity.user_roles ur JOIN identity.roles r ON r.id = ur.role_id WHERE ur.user_id = u.id), '[]')`

const userFrom = ` FROM identity.users u LEFT JOIN identity.departments d ON d.id = u.dept_id`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Phone, &u.IDNumberMasked, &u.DeptID, &u.DeptName, &u.Status,
		&u.FrozenReason, &u.FrozenAt, &u.MustChangePassword, &u.LockedUntil, &u.LastLoginAt, &u.LastLoginIP, &u.CreatedAt, &u.UpdatedAt,
		&u.passwordHash, &u.passwordChangedAt, &u.failedLogins, &u.Roles)
	u.PhoneMasked = codes.MaskPhone(u.Phone)
	return u, store.Classify(err)
}

// getUser reads the one user matching where (on the columns of "u", with
// arg as $1), locking the user's row when lock is set.
func getUser(ctx context.Context, q store.Querier, where string, arg any, lock bool) (User, error) {
	sql := `SELECT ` + userColumns + userFrom + ` WHERE ` + where
	if lock {
		sql += ` FOR UPDATE OF u`
	}
	return scanUser(q.QueryRow(ctx, sql, arg))
}

func userByID(ctx context.Context, q store.Querier, id string, lock bool) (User, error) {
	return getUser(ctx, q, "u.id = $1", id, lock)
}

func userByUsername(ctx context.Context, q store.Querier, username string, lock bool) (User, error) {
	return getUser(ctx, q, "u.username = $1", username, lock)
}

// userDeptID is a user's department, "" for none.
func userDeptID(ctx context.Context, q store.Querier, id string) (string, error) {
	var deptID string
	err := q.QueryRow(ctx, `SELECT COALESCE(dept_id, '') FROM identity.users WHERE id = $1`, id).Scan(&deptID)
	return deptID, store.Classify(err)
}

// anyUser reports whether any account exists.
func anyUser(ctx context.Context, q store.Querier) (bool, error) {
	var exists bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.users)`).Scan(&exists)
	return exists, store.Classify(err)
}

// userSearch is a user list query with the caller's scope already
// resolved to departments.
type userSearch struct {
	// Scoped confines the list to users of Depts and the user Self.
	Scoped bool
	Depts  []string
	Self   string
	// Q matches username or name anywhere, or the whole phone number.
	Q string
	// InDepts, when set, keeps the users of DeptIDs only (none when empty).
	InDepts bool
	DeptIDs []string
	Status  string
	RoleID  string
	// Sort is a field of userSorts; nil lists the newest first.
	Sort *httpx.Sort
}

// userSorts are the columns the list sorts by.
var userSorts = map[string]string{"username": "u.username", "name": "u.name", "created_at": "u.created_at",
	"last_login_at": "u.last_login_at", "status": "u.status", "dept": "d.name"}

// searchUsers answers one page of s and the count of all its users.
func searchUsers(ctx context.Context, q store.Querier, s userSearch, page httpx.Page) ([]User, int, error) {
	var w store.Where
	if s.Scoped {
		w.Add("(u.dept_id = ANY(?) OR u.id = ?)", s.Depts, s.Self)
	}
	if s.Q != "" {
		w.Add("(u.username ILIKE ? OR u.name ILIKE ? OR u.phone = ?)", store.Contains(s.Q), store.Contains(s.Q), s.Q)
	}
	if s.InDepts {
		w.Add("u.dept_id = ANY(?)", s.DeptIDs)
	}
	if s.Status != "" {
		w.Add("u.status = ?", s.Status)
	}
	if s.RoleID != "" {
		w.Add("EXISTS (SELECT 1 FROM identity.user_roles x WHERE x.user_id = u.id AND x.role_id = ?)", s.RoleID)
	}
	order := "u.created_at DESC"
	if s.Sort != nil {
		order = userSorts[s.Sort.Field] + " " + s.Sort.Dir() + " NULLS LAST, u.id"
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*)`+userFrom+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+userColumns+userFrom+w.SQL()+` ORDER BY `+order+
		` LIMIT `+w.Next(page.Size)+` OFFSET `+w.Next(page.Offset()), w.Args()...)
	items, err := collect(rows, err, scanUser)
	return items, total, err
}

// userRow is a new account as insertUserRow stores it.
type userRow struct {
	ID, Username, Name, Phone string
	IDNumberEnc               []byte // nil when no ID number was given
	IDNumberMasked            string
	DeptID                    string // "" for none
	PasswordHash              string
	MustChangePassword        bool
	CreatedAt                 time.Time // also the password's change time
}

func insertUserRow(ctx context.Context, q store.Querier, r userRow) error {
	return exec(ctx, q, `INSERT INTO identity.users (id, username, name, phone, id_number_enc, id_number_masked, dept_id, password_hash,
		password_changed_at, must_change_password, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $10, $9, $9)`,
		r.ID, r.Username, r.Name, r.Phone, r.IDNumberEnc, r.IDNumberMasked, r.DeptID, r.PasswordHash, r.CreatedAt, r.MustChangePassword)
}

// updateUserProfile stores an edited profile; a nil idEnc keeps the
// stored ID number.
func updateUserProfile(ctx context.Context, q store.Querier, id string, in UserInput, idEnc []byte, masked string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.users SET name = $2, phone = $3, id_number_enc = COALESCE($4, id_number_enc),
		id_number_masked = $5, dept_id = $6, updated_at = $7 WHERE id = $1`, id, in.Name, in.Phone, idEnc, masked, in.DeptID, now)
}

// setRoles replaces the roles a user holds.
func setRoles(ctx context.Context, q store.Querier, userID string, roles []Role) error {
	if err := exec(ctx, q, `DELETE FROM identity.user_roles WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, r := range roles {
		if err := exec(ctx, q, `INSERT INTO identity.user_roles (user_id, role_id) VALUES ($1, $2)`, userID, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// grantRolesByCode gives a user the roles of roleCodes that exist.
func grantRolesByCode(ctx context.Context, q store.Querier, userID string, roleCodes []string) error {
	return exec(ctx, q, `INSERT INTO identity.user_roles (user_id, role_id) SELECT $1, id FROM identity.roles WHERE code = ANY ($2)`, userID, roleCodes)
}

func freezeUser(ctx context.Context, q store.Querier, id, reason string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.users SET status = 'frozen', frozen_reason = $2, frozen_at = $3, updated_at = $3 WHERE id = $1`,
		id, reason, now)
}

// unfreezeUser makes a user active again, with the lockout cleared.
func unfreezeUser(ctx context.Context, q store.Querier, id string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.users SET status = 'active', frozen_reason = '', frozen_at = NULL, failed_logins = 0,
		locked_until = NULL, updated_at = $2 WHERE id = $1`, id, now)
}

// setPasswordHash stores a new password, clearing the forced change and
// the lockout.
func setPasswordHash(ctx context.Context, q store.Querier, id, hash string, now time.Time) error {
	return exec(ctx, q, `UPDATE identity.users SET password_hash = $2, password_changed_at = $3, must_change_password = false,
		failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $1`, id, hash, now)
}

// insertInitialCredential notes that a user's password is a generated one
// written to the initial password file.
func insertInitialCredential(ctx context.Context, q store.Querier, userID string, now time.Time) error {
	return exec(ctx, q, `INSERT INTO identity.initial_credentials (user_id, created_at) VALUES ($1, $2)`, userID, now)
}

// deleteInitialCredential forgets a user's generated password, reporting
// whether there was one.
func deleteInitialCredential(ctx context.Context, q store.Querier, userID string) (bool, error) {
	tag, err := q.Exec(ctx, `DELETE FROM identity.initial_credentials WHERE user_id = $1`, userID)
	if err != nil {
		return false, store.Classify(err)
	}
	return tag.RowsAffected() > 0, nil
}
