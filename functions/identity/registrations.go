package identity

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// Registration is an application for an account, reviewed by an
// administrator of the applicant's department (FP-2).
type Registration struct {
	ID             string     `json:"id"`
	Username       string     `json:"username"`
	Name           string     `json:"name"`
	Phone          string     `json:"-"`
	PhoneMasked    string     `json:"phone"`
	IDNumberMasked string     `json:"id_number"`
	DeptID         string     `json:"dept_id"`
	DeptName       string     `json:"dept_name"`
	Reason         string     `json:"reason"`
	Status         string     `json:"status"` // pending | approved | rejected | needs_info
	ReviewNote     string     `json:"review_note"`
	ReviewedBy     *string    `json:"reviewed_by"`
	ReviewedAt     *time.Time `json:"reviewed_at"`
	UserID         *string    `json:"user_id"`
	CreatedAt      time.Time  `json:"created_at"`

	passwordHash string
	idNumberEnc  []byte
}

// RegistrationInput is the public application form.
type RegistrationInput struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	IDNumber string `json:"id_number"`
	DeptID   string `json:"dept_id"`
	Reason   string `json:"reason"`
	Password string `json:"password"`
}

const regColumns = `g.id, g.username, g.name, g.phone, g.id_number_masked, g.dept_id, COALESCE(d.name, ''), g.reason, g.status, g.review_note,
	g.reviewed_by, g.reviewed_at, g.user_id, g.created_at, g.password_hash, g.id_number_enc`
const regFrom = ` FROM identity.registrations g LEFT JOIN identity.departments d ON d.id = g.dept_id`

func scanReg(row pgx.Row) (Registration, error) {
	var g Registration
	err := row.Scan(&g.ID, &g.Username, &g.Name, &g.Phone, &g.IDNumberMasked, &g.DeptID, &g.DeptName, &g.Reason, &g.Status, &g.ReviewNote,
		&g.ReviewedBy, &g.ReviewedAt, &g.UserID, &g.CreatedAt, &g.passwordHash, &g.idNumberEnc)
	g.PhoneMasked = codes.MaskPhone(g.Phone)
	return g, err
}

// MsgRegistrationAccepted is the one answer to every well-formed
// application, whether or not the username is free: the outcome goes by
// SMS to the phone on the form, so the answer tells a stranger nothing
// about which usernames exist.
const MsgRegistrationAccepted = "申请已提交。受理结果和审核结果将以短信发送到您填写的手机号"

// Register files an application. Re-applying with the same username while
// the previous one awaits more information replaces it. A username that
// is taken (an account, or an application awaiting review) files nothing;
// both cases cost the same work (a password hash, one transaction, one
// SMS) and get the same answer.
func (f *Function) Register(ctx context.Context, in RegistrationInput, ip string) error {
	ui := UserInput{Username: in.Username, Name: in.Name, Phone: in.Phone, IDNumber: in.IDNumber, DeptID: in.DeptID}
	if err := ui.validate(true); err != nil {
		return err
	}
	if ui.IDNumber == "" {
		return errs.Fields([]errs.FieldError{{Field: "id_number", Message: "请填写身份证号码"}})
	}
	if err := f.cfg.checkPolicy("password", in.Password, ui.Username); err != nil {
		return err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if len([]rune(in.Reason)) > 500 {
		return errs.Fields([]errs.FieldError{{Field: "reason", Message: "申请理由不能超过 500 个字符"}})
	}
	if ok, err := f.limit(ctx, "register:ip:"+ip, f.cfg.RegisterPerIPHour, time.Hour); err != nil || !ok {
		return firstErr(err, errs.New(errs.Unavailable, "提交过于频繁，请稍后再试"))
	}
	hash, err := f.hasher.Hash(in.Password)
	if err != nil {
		return err
	}
	var taken bool
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var deptOK bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.departments WHERE id = $1)`, ui.DeptID).Scan(&deptOK); err != nil {
			return err
		}
		if !deptOK {
			return errs.Fields([]errs.FieldError{{Field: "dept_id", Message: "部门不存在"}})
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity.users WHERE username = $1)
			OR EXISTS (SELECT 1 FROM identity.registrations WHERE username = $1 AND status = 'pending')`, ui.Username).Scan(&taken); err != nil || taken {
			return err
		}
		// A re-application closes the one that asked for more information.
		if _, err := tx.Exec(ctx, `UPDATE identity.registrations SET status = 'rejected', review_note = review_note || '（已重新提交）'
			WHERE username = $1 AND status = 'needs_info'`, ui.Username); err != nil {
			return err
		}
		var id string
		if err := tx.QueryRow(ctx, `INSERT INTO identity.registrations (username, name, phone, id_number_enc, id_number_masked, dept_id, reason, password_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, ui.Username, ui.Name, ui.Phone, f.seal.seal([]byte(ui.IDNumber), "id-number"),
			codes.MaskIDNumber(ui.IDNumber), ui.DeptID, in.Reason, hash, f.now()).Scan(&id); err != nil {
			if errs.CodeOf(store.Classify(err)) == errs.Conflict {
				taken = true // a concurrent application won the name
				return nil
			}
			return err
		}
		out, err := scanReg(tx.QueryRow(ctx, `SELECT `+regColumns+regFrom+` WHERE g.id = $1`, id))
		if err != nil {
			return err
		}
		return f.opLog(ctx, tx, Actor{Username: ui.Username, IP: ip}, "registration.submit", "registration", id, nil, out)
	})
	if err != nil {
		return err
	}
	result := "已受理，请等待审核"
	if taken {
		result = "未受理：用户名已被使用，请更换用户名后重新申请"
	}
	f.tellApplicant(ctx, ui.Phone, ui.Username, result)
	return nil
}

// tellApplicant sends an application's outcome to the phone on the form.
// A failure is logged, not returned: the application (or the review) is
// done, and the console shows its status.
func (f *Function) tellApplicant(ctx context.Context, phone, username, result string) {
	err := f.sms.Send(ctx, SMS{Phone: phone, SignName: f.cfg.SMSSignName, Template: f.cfg.SMSTemplateRegistration,
		Params: map[string]string{"username": username, "result": result}})
	if err != nil {
		f.log.WarnContext(ctx, "could not tell the applicant the outcome", "username", username, "err", err)
	}
}

// RegistrationFilter narrows the application list; the zero Sort is
// newest first.
type RegistrationFilter struct {
	Status, Q string
	Sort      httpx.Sort // by created_at
}

// Registrations lists the applications to departments the caller manages.
func (f *Function) Registrations(ctx context.Context, a Actor, flt RegistrationFilter, page httpx.Page) (httpx.PageOf[Registration], error) {
	status, q := flt.Status, flt.Q
	dir := "DESC"
	if flt.Sort.Field != "" && !flt.Sort.Desc {
		dir = "ASC"
	}
	if status != "" && status != "pending" && status != "approved" && status != "rejected" && status != "needs_info" {
		return httpx.PageOf[Registration]{}, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 pending、approved、rejected 或 needs_info"}})
	}
	c, err := f.capacityOf(ctx, f.pool, a.UserID)
	if err != nil {
		return httpx.PageOf[Registration]{}, err
	}
	var w store.Where
	if !c.all {
		w.Add("g.dept_id = ANY(?)", keys(c.depts))
	}
	if status != "" {
		w.Add("g.status = ?", status)
	}
	if q = strings.TrimSpace(q); q != "" {
		w.Add("(g.username ILIKE ? OR g.name ILIKE ?)", store.Contains(q), store.Contains(q))
	}
	var total int
	if err := f.pool.QueryRow(ctx, `SELECT count(*)`+regFrom+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return httpx.PageOf[Registration]{}, store.Classify(err)
	}
	rows, err := f.pool.Query(ctx, `SELECT `+regColumns+regFrom+w.SQL()+` ORDER BY g.created_at `+dir+`, g.id LIMIT `+w.Next(page.Size)+` OFFSET `+w.Next(page.Offset()),
		w.Args()...)
	if err != nil {
		return httpx.PageOf[Registration]{}, store.Classify(err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Registration, error) { return scanReg(r) })
	if err != nil {
		return httpx.PageOf[Registration]{}, err
	}
	return httpx.NewPage(items, total, page), nil
}

// review locks an open application the caller may review and applies fn.
func (f *Function) review(ctx context.Context, a Actor, id, action string, fn func(tx pgx.Tx, g Registration, c capacity) error) (Registration, error) {
	var out Registration
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		g, err := scanReg(tx.QueryRow(ctx, `SELECT `+regColumns+regFrom+` WHERE g.id = $1 FOR UPDATE OF g`, id))
		if err != nil {
			return store.Classify(err)
		}
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if !c.manages(g.DeptID) {
			return errs.ErrNotFound
		}
		if g.Status != "pending" && g.Status != "needs_info" {
			return errs.New(errs.Conflict, "该申请已处理")
		}
		if err := fn(tx, g, c); err != nil {
			return err
		}
		if out, err = scanReg(tx.QueryRow(ctx, `SELECT `+regColumns+regFrom+` WHERE g.id = $1`, id)); err != nil {
			return err
		}
		return f.opLog(ctx, tx, a, action, "registration", id, g, out)
	})
	if err == nil {
		f.tellApplicant(ctx, out.Phone, out.Username, reviewResult(out))
	}
	return out, err
}

// reviewResult is the outcome of a review as the applicant reads it.
func reviewResult(g Registration) string {
	switch g.Status {
	case "approved":
		return "已通过，请使用申请的用户名和密码登录"
	case "needs_info":
		return "需补充材料：" + g.ReviewNote
	}
	return "未通过：" + g.ReviewNote
}

// Approve creates the account with the applicant's own password and the
// roles given (under the no-escalation and 三员 rules).
func (f *Function) Approve(ctx context.Context, a Actor, id string, roleIDs []string) (Registration, error) {
	if len(roleIDs) == 0 {
		return Registration{}, errs.Fields([]errs.FieldError{{Field: "role_ids", Message: "请至少分配一个角色"}})
	}
	return f.review(ctx, a, id, "registration.approve", func(tx pgx.Tx, g Registration, c capacity) error {
		roles, err := rolesByIDs(ctx, tx, roleIDs)
		if err != nil {
			return err
		}
		if err := c.canAssign(roles, g.DeptID); err != nil {
			return err
		}
		var userID string
		now := f.now()
		err = tx.QueryRow(ctx, `INSERT INTO identity.users (username, name, phone, id_number_enc, id_number_masked, dept_id, password_hash,
			password_changed_at, must_change_password, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, $8, $8) RETURNING id`,
			g.Username, g.Name, g.Phone, g.idNumberEnc, g.IDNumberMasked, g.DeptID, g.passwordHash, now).Scan(&userID)
		if errs.CodeOf(store.Classify(err)) == errs.Conflict {
			return errs.New(errs.Conflict, "用户名已被占用，请驳回并请申请人更换用户名")
		}
		if err != nil {
			return err
		}
		if err := setRoles(ctx, tx, userID, roles); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE identity.registrations SET status = 'approved', reviewed_by = $2, reviewed_at = $3, user_id = $4 WHERE id = $1`,
			g.ID, a.UserID, now, userID)
		return err
	})
}

// Reject closes an application with a reason the applicant is told.
func (f *Function) Reject(ctx context.Context, a Actor, id, reason string) (Registration, error) {
	return f.closeWith(ctx, a, id, "rejected", "registration.reject", "reason", reason, "请填写驳回原因")
}

// RequestInfo asks the applicant for more information or verification.
func (f *Function) RequestInfo(ctx context.Context, a Actor, id, message string) (Registration, error) {
	return f.closeWith(ctx, a, id, "needs_info", "registration.request_info", "message", message, "请填写需要补充的材料或说明")
}

func (f *Function) closeWith(ctx context.Context, a Actor, id, status, action, field, note, missing string) (Registration, error) {
	note = strings.TrimSpace(note)
	if n := len([]rune(note)); n < 2 || n > 500 {
		return Registration{}, errs.Fields([]errs.FieldError{{Field: field, Message: missing + "（2 至 500 个字符）"}})
	}
	return f.review(ctx, a, id, action, func(tx pgx.Tx, g Registration, _ capacity) error {
		_, err := tx.Exec(ctx, `UPDATE identity.registrations SET status = $2, review_note = $3, reviewed_by = $4, reviewed_at = $5 WHERE id = $1`,
			g.ID, status, note, a.UserID, f.now())
		return err
	})
}
