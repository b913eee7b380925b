package identity

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Department is one unit of the tree 市局 → 区县局 → 所 with its
// jurisdiction (district and township codes, GB/T 2260).
type Department struct {
	ID            string       `json:"id"`
	ParentID      *string      `json:"parent_id"`
	Name          string       `json:"name"`
	Level         string       `json:"level"` // city | district | station
	DistrictCodes []string     `json:"district_codes"`
	TownshipCodes []string     `json:"township_codes"`
	Sort          int          `json:"sort"`
	Path          string       `json:"-"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
	Children      []Department `json:"children,omitempty"`
}

// DeptInput creates or edits a department. ParentID and Level are fixed
// once created: moving a unit would silently move its users' data scope.
type DeptInput struct {
	ParentID      *string  `json:"parent_id"`
	Name          string   `json:"name"`
	Level         string   `json:"level"`
	DistrictCodes []string `json:"district_codes"`
	TownshipCodes []string `json:"township_codes"`
	Sort          int      `json:"sort"`
}

var levelNames = map[string]string{"city": "市局", "district": "区县局", "station": "市场监管所"}

// Validate checks names, the level and every division code.
func (in *DeptInput) Validate() error {
	var fe []errs.FieldError
	in.Name = strings.TrimSpace(in.Name)
	if n := len([]rune(in.Name)); n < 2 || n > 100 {
		fe = append(fe, errs.FieldError{Field: "name", Message: "部门名称应为 2 至 100 个字符"})
	}
	if _, ok := levelNames[in.Level]; !ok {
		fe = append(fe, errs.FieldError{Field: "level", Message: "部门层级应为 city（市局）、district（区县局）或 station（所）"})
	}
	in.DistrictCodes = uniq(in.DistrictCodes)
	in.TownshipCodes = uniq(in.TownshipCodes)
	for _, d := range in.DistrictCodes {
		if err := codes.CheckDistrict(d); err != nil {
			fe = append(fe, errs.FieldError{Field: "district_codes", Message: d + "：" + messageOf(err)})
		}
	}
	for _, t := range in.TownshipCodes {
		if len(t) < 6 {
			fe = append(fe, errs.FieldError{Field: "township_codes", Message: t + "：乡镇街道代码应为 9 位"})
			continue
		}
		if err := codes.CheckTownship(t[:6], t); err != nil {
			fe = append(fe, errs.FieldError{Field: "township_codes", Message: t + "：" + messageOf(err)})
		} else if !slices.Contains(in.DistrictCodes, t[:6]) {
			fe = append(fe, errs.FieldError{Field: "township_codes", Message: t + "：所属区县不在管辖区县中"})
		}
	}
	return errs.Fields(fe)
}

func messageOf(err error) string {
	if e := errs.As(err); e != nil {
		return e.Message
	}
	return err.Error()
}

func uniq(in []string) []string {
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// deptIndex is the whole tree in memory: a city has a few hundred units.
type deptIndex struct {
	byID map[string]Department
	list []Department // ordered by path
}

// subtree is the department and every unit below it.
func (x deptIndex) subtree(id string) []Department {
	d, ok := x.byID[id]
	if !ok {
		return nil
	}
	var out []Department
	for _, c := range x.list {
		if strings.HasPrefix(c.Path, d.Path) {
			out = append(out, c)
		}
	}
	return out
}

// Departments lists the units the caller manages, flat or as a tree.
func (f *Function) Departments(ctx context.Context, a Actor, tree bool) ([]Department, error) {
	c, err := f.capacityOf(ctx, f.pool, a.UserID)
	if err != nil {
		return nil, err
	}
	var out []Department
	for _, d := range c.index.list {
		if c.manages(d.ID) {
			out = append(out, d)
		}
	}
	if out == nil {
		out = []Department{}
	}
	if !tree {
		return out, nil
	}
	return buildTree(out), nil
}

// publicDept is what the registration form may see of a department.
type publicDept struct {
	ID       string  `json:"id"`
	ParentID *string `json:"parent_id"`
	Name     string  `json:"name"`
	Level    string  `json:"level"`
}

// publicDepartments lists every department for the registration form.
func (f *Function) publicDepartments(ctx context.Context) ([]publicDept, error) {
	x, err := loadDepts(ctx, f.pool)
	if err != nil {
		return nil, err
	}
	out := make([]publicDept, 0, len(x.list))
	for _, d := range x.list {
		out = append(out, publicDept{d.ID, d.ParentID, d.Name, d.Level})
	}
	return out, nil
}

// buildTree nests the departments; a unit whose parent is not in the list
// becomes a root (a district admin's tree starts at his bureau).
func buildTree(list []Department) []Department {
	in := map[string]bool{}
	for _, d := range list {
		in[d.ID] = true
	}
	children := map[string][]Department{}
	var roots []Department
	for _, d := range list {
		if d.ParentID != nil && in[*d.ParentID] {
			children[*d.ParentID] = append(children[*d.ParentID], d)
		} else {
			roots = append(roots, d)
		}
	}
	var attach func(d Department) Department
	attach = func(d Department) Department {
		for _, c := range children[d.ID] {
			d.Children = append(d.Children, attach(c))
		}
		sort.SliceStable(d.Children, func(i, j int) bool { return d.Children[i].Sort < d.Children[j].Sort })
		return d
	}
	out := make([]Department, 0, len(roots))
	for _, r := range roots {
		out = append(out, attach(r))
	}
	return out
}

// wantParentLevel is the level a parent must have for each level.
var wantParentLevel = map[string]string{"district": "city", "station": "district"}

// CreateDepartment adds a unit below a parent the caller manages.
func (f *Function) CreateDepartment(ctx context.Context, a Actor, in DeptInput) (Department, error) {
	if err := in.Validate(); err != nil {
		return Department{}, err
	}
	var out Department
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		path := "/"
		switch {
		case in.ParentID == nil && in.Level != "city":
			return errs.Fields([]errs.FieldError{{Field: "parent_id", Message: "请选择上级部门"}})
		case in.ParentID == nil:
			if !c.all {
				return errs.New(errs.Forbidden, "只有全市数据权限的管理员可以创建市局")
			}
		default:
			p, ok := c.index.byID[*in.ParentID]
			if !ok {
				return errs.Fields([]errs.FieldError{{Field: "parent_id", Message: "上级部门不存在"}})
			}
			if !c.manages(p.ID) {
				return errs.New(errs.Forbidden, "上级部门不在您的数据权限范围内")
			}
			if wantParentLevel[in.Level] != p.Level {
				return errs.Fields([]errs.FieldError{{Field: "level", Message: levelNames[in.Level] + "的上级应为" + levelNames[wantParentLevel[in.Level]]}})
			}
			if err := within(in, p); err != nil {
				return err
			}
			path = p.Path
		}
		id := newID()
		out, err = insertDept(ctx, tx, Department{ID: id, ParentID: in.ParentID, Name: in.Name, Level: in.Level,
			DistrictCodes: in.DistrictCodes, TownshipCodes: in.TownshipCodes, Sort: in.Sort, Path: path + id + "/", CreatedAt: f.now()})
		if err != nil {
			return dupName(err)
		}
		return f.opLog(ctx, tx, a, "dept.create", "department", out.ID, nil, out)
	})
	return out, err
}

// within checks a child's jurisdiction lies inside its parent's.
func within(in DeptInput, p Department) error {
	ps := deptScope(p)
	for _, d := range in.DistrictCodes {
		narrowed := slices.ContainsFunc(in.TownshipCodes, func(t string) bool { return t[:6] == d })
		if !slices.Contains(p.DistrictCodes, d) || !narrowed && !ps.Allows(d, "") {
			return errs.Fields([]errs.FieldError{{Field: "district_codes", Message: d + "：超出上级部门的管辖范围"}})
		}
	}
	for _, t := range in.TownshipCodes {
		if !ps.Allows(t[:6], t) {
			return errs.Fields([]errs.FieldError{{Field: "township_codes", Message: t + "：超出上级部门的管辖范围"}})
		}
	}
	return nil
}

func dupName(err error) error {
	if errs.CodeOf(err) == errs.Conflict {
		return &errs.Error{Code: errs.Conflict, Message: "同一上级下已有同名部门", Err: err,
			Fields: []errs.FieldError{{Field: "name", Message: "同一上级下已有同名部门"}}}
	}
	return err
}

// UpdateDepartment changes a unit's name, jurisdiction and order.
func (f *Function) UpdateDepartment(ctx context.Context, a Actor, id string, in DeptInput) (Department, error) {
	var out Department
	err := store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := deptForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		in.ParentID, in.Level = old.ParentID, old.Level
		if err := in.Validate(); err != nil {
			return err
		}
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if !c.manages(id) {
			return errs.New(errs.Forbidden, "该部门不在您的数据权限范围内")
		}
		if old.ParentID != nil {
			if err := within(in, c.index.byID[*old.ParentID]); err != nil {
				return err
			}
		}
		out, err = updateDept(ctx, tx, id, in, f.now())
		if err != nil {
			return dupName(err)
		}
		return f.opLog(ctx, tx, a, "dept.update", "department", id, old, out)
	})
	return out, err
}

// DeleteDepartment removes an empty unit: no sub-units, users or
// applications.
func (f *Function) DeleteDepartment(ctx context.Context, a Actor, id string) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		old, err := deptForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		c, err := f.capacityOf(ctx, tx, a.UserID)
		if err != nil {
			return err
		}
		if !c.manages(id) {
			return errs.New(errs.Forbidden, "该部门不在您的数据权限范围内")
		}
		busy, err := deptInUse(ctx, tx, id)
		if err != nil {
			return err
		}
		if busy {
			return errs.New(errs.Conflict, "该部门下仍有下级部门、用户、注册申请或被角色引用，不能删除")
		}
		if err := deleteDept(ctx, tx, id); err != nil {
			return err
		}
		return f.opLog(ctx, tx, a, "dept.delete", "department", id, old, nil)
	})
}
