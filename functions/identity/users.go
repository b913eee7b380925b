package identity

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// User is an account. Phone and ID number leave this package only masked.
type User struct {
	ID                 string     `json:"id"`
	Username           string     `json:"username"`
	Name               string     `json:"name"`
	Phone              string     `json:"-"`
	PhoneMasked        string     `json:"phone"`
	IDNumberMasked     string     `json:"id_number"`
	DeptID             string     `json:"dept_id"`
	DeptName           string     `json:"dept_name"`
	Status             string     `json:"status"` // active | frozen
	FrozenReason       string     `json:"frozen_reason,omitempty"`
	FrozenAt           *time.Time `json:"frozen_at,omitempty"`
	MustChangePassword bool       `json:"must_change_password"`
	LockedUntil        *time.Time `json:"locked_until,omitempty"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty"`
	LastLoginIP        string     `json:"last_login_ip,omitempty"`
	Roles              []RoleRef  `json:"roles"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`

	passwordHash      string
	passwordChangedAt *time.Time
	failedLogins      int
}

// RoleRef names a role held by a user.
type RoleRef struct {
	ID   string `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// mustChange reports whether the user has to set a new password before
// getting any permission: first login, or the password has expired.
func (u User) mustChange(c Config, now time.Time) bool {
	if u.MustChangePassword {
		return true
	}
	return c.PasswordExpiryDays > 0 && u.passwordChangedAt != nil &&
		now.After(u.passwordChangedAt.AddDate(0, 0, c.PasswordExpiryDays))
}

var (
	phonePattern    = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	usernamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]{2,31}$`)
)

// UserInput creates a user (an administrator enters it) or edits one.
type UserInput struct {
	Username string   `json:"username"`
	Name     string   `json:"name"`
	Phone    string   `json:"phone"`
	IDNumber string   `json:"id_number"` // optional on edit: empty keeps the stored one
	DeptID   string   `json:"dept_id"`
	RoleIDs  []string `json:"role_ids"`
}

func (in *UserInput) validate(create bool) error {
	var fe []errs.FieldError
	in.Username, in.Name, in.Phone = strings.TrimSpace(in.Username), strings.TrimSpace(in.Name), strings.TrimSpace(in.Phone)
	in.IDNumber = strings.ToUpper(strings.TrimSpace(in.IDNumber))
	if create && !usernamePattern.MatchString(in.Username) {
		fe = append(fe, errs.FieldError{Field: "username", Message: "用户名应以字母开头，由 3 至 32 位字母、数字、下划线、点或连字符组成"})
	}
	if n := len([]rune(in.Name)); n < 2 || n > 50 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "姓名应为 2 至 50 个字符"})
	}
	if !phonePattern.MatchString(in.Phone) {
		fe = append(fe, errs.FieldError{Field: "phone", Message: "请输入 11 位手机号码"})
	}
	if in.IDNumber != "" {
		if err := codes.CheckIDNumber(in.IDNumber); err != nil {
			fe = append(fe, errs.FieldError{Field: "id_number", Message: messageOf(err)})
		}
	}
	if in.DeptID == "" {
		fe = append(fe, errs.FieldError{Field: "dept_id", Message: "请选择所属部门"})
	}
	return errs.Fields(fe)
}

// UserFilter narrows the user list.
type UserFilter struct {
	Q, DeptID, Status, RoleID, Sort string
}

// Users lists the users inside the caller's data scope.
func (f *Function) Users(ctx context.Context, a Actor, flt UserFilter, page httpx.Page) (httpx.PageOf[User], error) {
	var none httpx.PageOf[User]
	c, err := f.capacityOf(ctx, f.pool, a.UserID)
	if err != nil {
		return none, err
	}
	s := userSearch{Q: strings.TrimSpace(flt.Q), Status: flt.Status, RoleID: flt.RoleID}
	if !c.all {
		s.Scoped, s.Depts, s.Self = true, keys(c.depts), a.UserID
	}
	if flt.DeptID != "" {
		s.InDepts = true
		for _, d := range c.index.subtree(flt.DeptID) {
			s.DeptIDs = append(s.DeptIDs, d.ID)
		}
	}
	if flt.Sort != "" {
		srt, err := httpx.ParseSort(flt.Sort, httpx.Sort{}, "username", "name", "created_at", "last_login_at", "status", "dept")
		if err != nil {
			return none, err
		}
		s.Sort = &srt
	}
	items, total, err := searchUsers(ctx, f.pool, s, page)
	if err != nil {
		return none, err
	}
	return httpx.NewPage(items, total, page), nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// User returns one user inside the caller's data scope.
func (f *Function) User(ctx context.Context, a Actor, id string) (User, error) {
	c, err := f.capacityOf(ctx, f.pool, a.UserID)
	if err != nil {
		return User{}, err
	}
	u, err := userByID(ctx, f.pool, id, false)
	if err != nil {
		return User{}, err
	}
	if id != a.UserID && !c.manages(u.DeptID) {
		return User{}, errs.ErrNotFound // do not confirm users outside the scope exist
	}
	return u, nil
}

// Created is a new user with the generated initial password, shown once.
type Created struct {
	User            User   `json:"user"`
	InitialPassword string `json:"initial_password"`
}

// CreateUser adds a user with a generated password that must be changed
// at first login; roles are granted under the no-escalation rule.
func (f *Function) CreateUser(ctx context.Context, a Actor, in UserInput) (Created, error) {
	if err := in.validate(true); err != nil {
		return Created{}, err
	}
	pw := generatePassword()
	hash, err := f.hasher.Hash(pw)
	if err != nil {
		return Created{}, err
	}
	var out Created
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if _, ok := c.index.byID[in.DeptID]; !ok {
			return errs.Fields([]errs.FieldError{{Field: "dept_id", Message: "部门不存在"}})
		}
		roles, err := rolesByIDs(ctx, tx, in.RoleIDs)
		if err != nil {
			return err
		}
		if err := c.canAssign(roles, in.DeptID); err != nil {
			return err
		}
		id, err := f.insertUser(ctx, tx, in, hash, f.cfg.ForceChangeFirstLogin)
		if err != nil {
			return err
		}
		if err := setRoles(ctx, tx, id, roles); err != nil {
			return err
		}
		if out.User, err = userByID(ctx, tx, id, false); err != nil {
			return err
		}
		out.InitialPassword = pw
		return f.opLog(ctx, tx, a, "user.create", "user", id, nil, out.User)
	})
	return out, err
}

func (f *Function) insertUser(ctx context.Context, tx pgx.Tx, in UserInput, hash string, mustChange bool) (string, error) {
	var idEnc []byte
	masked := ""
	if in.IDNumber != "" {
		idEnc, masked = f.seal.seal([]byte(in.IDNumber), "id-number"), codes.MaskIDNumber(in.IDNumber)
	}
	id := newID()
	err := insertUserRow(ctx, tx, userRow{ID: id, Username: in.Username, Name: in.Name, Phone: in.Phone, IDNumberEnc: idEnc,
		IDNumberMasked: masked, DeptID: in.DeptID, PasswordHash: hash, MustChangePassword: mustChange, CreatedAt: f.now()})
	if errs.CodeOf(err) == errs.Conflict {
		return "", &errs.Error{Code: errs.Conflict, Message: "用户名已存在", Fields: []errs.FieldError{{Field: "username", Message: "用户名已存在"}}}
	}
	return id, err
}

// UpdateUser edits a user's profile, department and roles. Every role
// added or removed must be one the caller could grant, and both the old
// and the new department must be inside the caller's scope.
func (f *Function) UpdateUser(ctx context.Context, a Actor, id string, in UserInput) (User, error) {
	if err := in.validate(false); err != nil {
		return User{}, err
	}
	var out User
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := userByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if !c.manages(old.DeptID) {
			return errs.ErrNotFound
		}
		if _, ok := c.index.byID[in.DeptID]; !ok {
			return errs.Fields([]errs.FieldError{{Field: "dept_id", Message: "部门不存在"}})
		}
		roles, err := rolesByIDs(ctx, tx, in.RoleIDs)
		if err != nil {
			return err
		}
		changed := changedRoles(old.Roles, roles)
		if id == a.UserID && len(changed) > 0 {
			return errs.New(errs.Forbidden, "不能修改自己的角色")
		}
		if err := checkThreeAdmins(roles); err != nil {
			return err
		}
		if err := c.canAssign(changed, in.DeptID); err != nil {
			return err
		}
		var idEnc []byte
		masked := old.IDNumberMasked
		if in.IDNumber != "" {
			idEnc, masked = f.seal.seal([]byte(in.IDNumber), "id-number"), codes.MaskIDNumber(in.IDNumber)
		}
		if err := updateUserProfile(ctx, tx, id, in, idEnc, masked, f.now()); err != nil {
			return err
		}
		if err := setRoles(ctx, tx, id, roles); err != nil {
			return err
		}
		if out, err = userByID(ctx, tx, id, false); err != nil {
			return err
		}
		if len(changed) > 0 || old.DeptID != out.DeptID {
			// Permissions or scope changed: refuse the old tokens so the
			// next refresh carries the new ones.
			if err := f.recordRevocation(ctx, tx, "user", id, f.now()); err != nil {
				return err
			}
		}
		return f.opLog(ctx, tx, a, "user.update", "user", id, old, out)
	})
	if err == nil {
		f.publishRevocation(ctx, "user", id, f.now())
	}
	return out, err
}

// changedRoles is the symmetric difference of the held and the new roles.
func changedRoles(held []RoleRef, next []Role) []Role {
	var out []Role
	for _, r := range next {
		if !slices.ContainsFunc(held, func(h RoleRef) bool { return h.ID == r.ID }) {
			out = append(out, r)
		}
	}
	for _, h := range held {
		if !slices.ContainsFunc(next, func(r Role) bool { return r.ID == h.ID }) {
			out = append(out, Role{ID: h.ID, Code: h.Code, Name: h.Name})
		}
	}
	return out
}

// Freeze stops a user: every session ends, every refresh token is
// refused, and access tokens are revoked on every replica (the revocation
// is also kept in PostgreSQL, so a Redis flush does not undo it).
func (f *Function) Freeze(ctx context.Context, a Actor, id, reason string) (User, error) {
	reason = strings.TrimSpace(reason)
	if n := len([]rune(reason)); n < 2 || n > 200 {
		return User{}, errs.Fields([]errs.FieldError{{Field: "reason", Message: "请填写冻结原因（2 至 200 个字符）"}})
	}
	if id == a.UserID {
		return User{}, errs.New(errs.Forbidden, "不能冻结自己的账号")
	}
	var out User
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := f.managedUser(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if old.Status == "frozen" {
			return errs.New(errs.Conflict, "该账号已处于冻结状态")
		}
		if err := freezeUser(ctx, tx, id, reason, now); err != nil {
			return err
		}
		if err := f.endSessions(ctx, tx, id, now); err != nil {
			return err
		}
		if err := f.recordRevocation(ctx, tx, "user", id, now); err != nil {
			return err
		}
		if out, err = userByID(ctx, tx, id, false); err != nil {
			return err
		}
		return f.opLog(ctx, tx, a, "user.freeze", "user", id, old, out)
	})
	if err == nil {
		f.publishRevocation(ctx, "user", id, now)
	}
	return out, err
}

// Unfreeze lets a frozen user log in again.
func (f *Function) Unfreeze(ctx context.Context, a Actor, id string) (User, error) {
	var out User
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := f.managedUser(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if old.Status != "frozen" {
			return errs.New(errs.Conflict, "该账号未被冻结")
		}
		if err := unfreezeUser(ctx, tx, id, f.now()); err != nil {
			return err
		}
		if out, err = userByID(ctx, tx, id, false); err != nil {
			return err
		}
		return f.opLog(ctx, tx, a, "user.unfreeze", "user", id, old, out)
	})
	return out, err
}

// managedUser locks a user the caller may manage.
func (f *Function) managedUser(ctx context.Context, tx pgx.Tx, a Actor, id string) (User, error) {
	u, err := userByID(ctx, tx, id, true)
	if err != nil {
		return u, err
	}
	c, err := f.capacityOf(ctx, tx, a.UserID)
	if err != nil {
		return u, err
	}
	if !c.manages(u.DeptID) {
		return u, errs.ErrNotFound
	}
	return u, nil
}

// endSessions revokes every session and refresh token of a user.
func (f *Function) endSessions(ctx context.Context, tx pgx.Tx, userID string, now time.Time) error {
	if err := revokeUserSessions(ctx, tx, userID, now); err != nil {
		return err
	}
	return deleteUserRefreshTokens(ctx, tx, userID)
}
