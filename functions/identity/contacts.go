package identity

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// PermContact is the directory (FP-157): everyone holding it sees the
// department tree with each person's organisation and masked phone, and
// keeps their own favourites and groups.
const PermContact = "identity.contact"

// Contact is one person of the directory. The phone is masked: the full
// number is one audited request away (ContactPhone), made when calling.
type Contact struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	DeptID    string `json:"dept_id"`
	DeptName  string `json:"dept_name"`
	DeptPath  string `json:"dept_path"` // 石家庄市市场监督管理局 / 长安区… / …所
	Phone     string `json:"phone"`     // masked
	HasPhone  bool   `json:"has_phone"`
	Favourite bool   `json:"favourite"`
}

// ContactGroup is a person's own favourite group, for one-tap group calls.
type ContactGroup struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Members []Contact `json:"members"`
}

// Directory is the answer of GET /contacts: the people matching the
// query (favourites first), and the caller's groups.
type Directory struct {
	People    []Contact      `json:"people"`
	Truncated bool           `json:"truncated"`
	Groups    []ContactGroup `json:"groups"`
}

// maxContacts caps one answer; a search or a department narrows it.
const maxContacts = 500

const contactCols = `u.id, u.name, coalesce(u.dept_id, ''), coalesce(d.name, ''),
	coalesce((SELECT string_agg(a.name, ' / ' ORDER BY length(a.path)) FROM identity.departments a
		WHERE d.path LIKE a.path || '%'), ''), u.phone`

func scanContact(r pgx.Row) (Contact, error) {
	var c Contact
	var phone string
	var fav bool
	err := r.Scan(&c.ID, &c.Name, &c.DeptID, &c.DeptName, &c.DeptPath, &phone, &fav)
	c.Phone, c.HasPhone, c.Favourite = codes.MaskPhone(phone), phone != "", fav
	return c, err
}

// Contacts lists the active people matching q (name, department or
// phone digits) under a department, the caller's favourites first.
func (f *Function) Contacts(ctx context.Context, a Actor, q, deptID string) (Directory, error) {
	var out Directory
	w := store.Where{}
	w.Add("u.status = 'active'")
	ownerArg := w.Next(a.UserID)
	if q = strings.TrimSpace(q); q != "" {
		if utf8.RuneCountInString(q) > 50 {
			return out, errs.Fields([]errs.FieldError{{Field: "q", Message: "搜索词不超过 50 字"}})
		}
		like := store.Contains(q)
		w.Add("(u.name ILIKE ? OR d.name ILIKE ? OR (length(?::text) >= 4 AND u.phone LIKE ?))", like, like, q, like)
	}
	if deptID != "" {
		w.Add("d.path LIKE (SELECT path FROM identity.departments WHERE id = ?) || '%'", deptID)
	}
	rows, err := f.pool.Query(ctx, `SELECT `+contactCols+`,
			EXISTS (SELECT 1 FROM identity.contact_favourites cf WHERE cf.owner = `+ownerArg+` AND cf.user_id = u.id) AS fav
		FROM identity.users u LEFT JOIN identity.departments d ON d.id = u.dept_id`+w.SQL()+`
		ORDER BY fav DESC, d.path NULLS LAST, u.name, u.id LIMIT `+w.Next(maxContacts+1), w.Args()...)
	if err != nil {
		return out, store.Classify(err)
	}
	if out.People, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Contact, error) { return scanContact(r) }); err != nil {
		return out, store.Classify(err)
	}
	if len(out.People) > maxContacts {
		out.People, out.Truncated = out.People[:maxContacts], true
	}
	out.Groups, err = f.contactGroups(ctx, f.pool, a.UserID)
	return out, err
}

func (f *Function) contactGroups(ctx context.Context, q store.Querier, owner string) ([]ContactGroup, error) {
	rows, err := q.Query(ctx, `SELECT g.id, g.name, `+contactCols+`, true
		FROM identity.contact_groups g
		JOIN identity.contact_group_members m ON m.group_id = g.id
		JOIN identity.users u ON u.id = m.user_id AND u.status = 'active'
		LEFT JOIN identity.departments d ON d.id = u.dept_id
		WHERE g.owner = $1 ORDER BY g.name, g.id, u.name`, owner)
	if err != nil {
		return nil, store.Classify(err)
	}
	defer rows.Close()
	out := []ContactGroup{}
	for rows.Next() {
		var gid, gname string
		var c Contact
		var phone string
		var fav bool
		if err := rows.Scan(&gid, &gname, &c.ID, &c.Name, &c.DeptID, &c.DeptName, &c.DeptPath, &phone, &fav); err != nil {
			return nil, store.Classify(err)
		}
		c.Phone, c.HasPhone = codes.MaskPhone(phone), phone != ""
		if n := len(out); n == 0 || out[n-1].ID != gid {
			out = append(out, ContactGroup{ID: gid, Name: gname})
		}
		out[len(out)-1].Members = append(out[len(out)-1].Members, c)
	}
	// A group whose members all left still shows, empty.
	empty, err := q.Query(ctx, `SELECT id, name FROM identity.contact_groups g WHERE owner = $1
		AND NOT EXISTS (SELECT 1 FROM identity.contact_group_members m JOIN identity.users u ON u.id = m.user_id AND u.status = 'active'
			WHERE m.group_id = g.id) ORDER BY name`, owner)
	if err != nil {
		return nil, store.Classify(err)
	}
	for empty.Next() {
		var g ContactGroup
		if err := empty.Scan(&g.ID, &g.Name); err != nil {
			return nil, store.Classify(err)
		}
		g.Members = []Contact{}
		out = append(out, g)
	}
	return out, store.Classify(empty.Err())
}

// ContactPhone is one active person's full number, for a call; every read
// is in the operation log (personal data).
func (f *Function) ContactPhone(ctx context.Context, a Actor, id string) (string, error) {
	var phone string
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT phone FROM identity.users WHERE id = $1 AND status = 'active'`, id).Scan(&phone)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.New(errs.NotFound, "联系人不存在")
		} else if err != nil {
			return err
		}
		if phone == "" {
			return errs.New(errs.NotFound, "该联系人未登记电话")
		}
		return f.opLog(ctx, tx, a, "contact.phone.view", "user", id, nil, map[string]string{"phone": codes.MaskPhone(phone)})
	})
	return phone, store.Classify(err)
}

// SetFavourite adds or removes a person from the caller's favourites.
func (f *Function) SetFavourite(ctx context.Context, a Actor, id string, on bool) error {
	var err error
	if on {
		var tag pgconn.CommandTag
		tag, err = f.pool.Exec(ctx, `INSERT INTO identity.contact_favourites (owner, user_id, created_at)
			SELECT $1, id, $3 FROM identity.users WHERE id = $2 AND status = 'active' ON CONFLICT DO NOTHING`, a.UserID, id, f.now())
		if err == nil && tag.RowsAffected() == 0 && !f.isActiveUser(ctx, id) {
			return errs.New(errs.NotFound, "联系人不存在")
		}
	} else {
		_, err = f.pool.Exec(ctx, `DELETE FROM identity.contact_favourites WHERE owner = $1 AND user_id = $2`, a.UserID, id)
	}
	return store.Classify(err)
}

func (f *Function) isActiveUser(ctx context.Context, id string) bool {
	var ok bool
	_ = f.pool.QueryRow(ctx, `SELECT true FROM identity.users WHERE id = $1 AND status = 'active'`, id).Scan(&ok)
	return ok
}

// GroupInput names a favourite group and its members.
type GroupInput struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// maxGroupMembers bounds a group to what one multi-party call can hold.
const maxGroupMembers = 50

func (in *GroupInput) check() error {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 50:
		return errs.Fields([]errs.FieldError{{Field: "name", Message: "请填写群组名称（不超过 50 字）"}})
	case len(in.Members) == 0:
		return errs.Fields([]errs.FieldError{{Field: "members", Message: "请至少选择一名成员"}})
	case len(in.Members) > maxGroupMembers:
		return errs.Fields([]errs.FieldError{{Field: "members", Message: "群组成员不超过 50 人"}})
	}
	return nil
}

// SaveGroup creates (id "") or replaces one of the caller's groups.
func (f *Function) SaveGroup(ctx context.Context, a Actor, id string, in GroupInput) (ContactGroup, error) {
	now := f.now()
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM identity.users WHERE id = ANY($1) AND status = 'active'`, dedupe(in.Members)).Scan(&n); err != nil {
			return err
		}
		if n != len(dedupe(in.Members)) {
			return errs.Fields([]errs.FieldError{{Field: "members", Message: "成员中有不存在或已冻结的用户"}})
		}
		var err error
		if id == "" {
			err = tx.QueryRow(ctx, `INSERT INTO identity.contact_groups (owner, name, created_at, updated_at) VALUES ($1,$2,$3,$3) RETURNING id`,
				a.UserID, in.Name, now).Scan(&id)
		} else {
			var tag pgconn.CommandTag
			tag, err = tx.Exec(ctx, `UPDATE identity.contact_groups SET name = $3, updated_at = $4 WHERE id = $1 AND owner = $2`, id, a.UserID, in.Name, now)
			if err == nil && tag.RowsAffected() == 0 {
				return errs.New(errs.NotFound, "群组不存在")
			}
			if err == nil {
				_, err = tx.Exec(ctx, `DELETE FROM identity.contact_group_members WHERE group_id = $1`, id)
			}
		}
		if err != nil {
			if store.IsUniqueViolation(err) {
				return errs.Fields([]errs.FieldError{{Field: "name", Message: "已有同名群组：" + in.Name}})
			}
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO identity.contact_group_members (group_id, user_id) SELECT $1, unnest($2::text[])`, id, dedupe(in.Members))
		return err
	})
	if err != nil {
		return ContactGroup{}, store.Classify(err)
	}
	groups, err := f.contactGroups(ctx, f.pool, a.UserID)
	for _, g := range groups {
		if g.ID == id {
			return g, err
		}
	}
	return ContactGroup{}, err
}

// DeleteGroup removes one of the caller's groups.
func (f *Function) DeleteGroup(ctx context.Context, a Actor, id string) error {
	tag, err := f.pool.Exec(ctx, `DELETE FROM identity.contact_groups WHERE id = $1 AND owner = $2`, id, a.UserID)
	if err == nil && tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "群组不存在")
	}
	return store.Classify(err)
}

func dedupe(ids []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
