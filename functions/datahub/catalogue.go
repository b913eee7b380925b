package datahub

import (
	"slices"
	"strings"
)

// Field types a filter compiles against (FP-95): each decides which
// operators apply and how a value is parsed.
const (
	TypeText   = "text"
	TypeDate   = "date"
	TypeNumber = "number"
	TypeInt    = "int"
	TypeTime   = "timestamp"
)

// Sensitivity of a field (FP-93). Personal fields are masked in every
// answer unless the interface's creator held PermPersonal.
const (
	Public   = "public"
	Internal = "internal"
	Personal = "personal"
)

// Field is one column of a dataset as the catalogue describes it. Name is
// both the API name and the published function's result column: only
// names listed here ever reach SQL, quoted by quoteIdent.
type Field struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	Type        string `json:"type"`
	Sensitivity string `json:"sensitivity"`
	// Mask is how a personal field is masked: "name", "id_number",
	// "phone", "address".
	Mask        string `json:"mask,omitempty"`
	Description string `json:"description,omitempty"`
}

// Dataset is one catalogue entry over a published read function (never a
// table). Every source has district_code and township_code, which carry
// the data scope.
type Dataset struct {
	ID             string  `json:"id"`
	Title          string  `json:"title"`
	Description    string  `json:"description"`
	Classification string  `json:"classification"`
	Owner          string  `json:"owner"`
	Frequency      string  `json:"frequency"`
	Permission     string  `json:"permission"` // what a creator must hold to build an interface over it
	Key            string  `json:"key"`        // unique field for keyset paging and default order
	Fields         []Field `json:"fields"`
	source         string  // FROM expression: a published function, trusted code
	where          string  // fixed predicate, trusted code
}

// field finds a field by name.
func (d *Dataset) field(name string) (Field, bool) {
	i := slices.IndexFunc(d.Fields, func(f Field) bool { return f.Name == name })
	if i < 0 {
		return Field{}, false
	}
	return d.Fields[i], true
}

var entityFields = []Field{
	{Name: "credit_code", Title: "统一社会信用代码", Type: TypeText, Sensitivity: Public},
	{Name: "name", Title: "主体名称", Type: TypeText, Sensitivity: Public},
	{Name: "entity_type", Title: "主体类型", Type: TypeText, Sensitivity: Public, Description: "enterprise 企业、individual 个体工商户、cooperative 农民专业合作社等"},
	{Name: "legal_rep", Title: "法定代表人", Type: TypeText, Sensitivity: Personal, Mask: "name"},
	{Name: "established_on", Title: "成立日期", Type: TypeDate, Sensitivity: Public},
	{Name: "registered_capital", Title: "注册资本（万元）", Type: TypeNumber, Sensitivity: Public},
	{Name: "business_scope", Title: "经营范围", Type: TypeText, Sensitivity: Public},
	{Name: "address", Title: "住所", Type: TypeText, Sensitivity: Internal},
	{Name: "district_code", Title: "所属区县代码", Type: TypeText, Sensitivity: Public, Description: "GB/T 2260 行政区划代码"},
	{Name: "township_code", Title: "所属乡镇街道代码", Type: TypeText, Sensitivity: Public},
	{Name: "industry_code", Title: "行业代码", Type: TypeText, Sensitivity: Public, Description: "GB/T 4754-2017"},
	{Name: "status", Title: "登记状态", Type: TypeText, Sensitivity: Public, Description: "active 存续、revoked 吊销、deregistered 注销"},
	{Name: "updated_at", Title: "更新时间", Type: TypeTime, Sensitivity: Public},
}

func recordFields(refTitle, authorityTitle string) []Field {
	return []Field{
		{Name: "id", Title: "记录编号", Type: TypeInt, Sensitivity: Public},
		{Name: "credit_code", Title: "统一社会信用代码", Type: TypeText, Sensitivity: Public},
		{Name: "entity_name", Title: "主体名称", Type: TypeText, Sensitivity: Public},
		{Name: "ref_no", Title: refTitle, Type: TypeText, Sensitivity: Public},
		{Name: "title", Title: "事项", Type: TypeText, Sensitivity: Public},
		{Name: "authority", Title: authorityTitle, Type: TypeText, Sensitivity: Public},
		{Name: "occurred_on", Title: "日期", Type: TypeDate, Sensitivity: Public},
		{Name: "valid_until", Title: "有效期至", Type: TypeDate, Sensitivity: Public},
		{Name: "status", Title: "状态", Type: TypeText, Sensitivity: Public},
		{Name: "district_code", Title: "所属区县代码", Type: TypeText, Sensitivity: Public},
		{Name: "township_code", Title: "所属乡镇街道代码", Type: TypeText, Sensitivity: Public},
		{Name: "created_at", Title: "入库时间", Type: TypeTime, Sensitivity: Public},
	}
}

// personFields are the persons dataset's: the ID number is personal,
// masked as 130102********1234 unless the caller may see it (the
// interface browser test reads it masked through curl).
var personFields = []Field{
	{Name: "id", Title: "记录编号", Type: TypeInt, Sensitivity: Public},
	{Name: "credit_code", Title: "统一社会信用代码", Type: TypeText, Sensitivity: Public},
	{Name: "entity_name", Title: "主体名称", Type: TypeText, Sensitivity: Public},
	{Name: "role", Title: "身份", Type: TypeText, Sensitivity: Public, Description: "legal_rep 法定代表人、person_in_charge 负责人"},
	{Name: "name", Title: "姓名", Type: TypeText, Sensitivity: Personal, Mask: "name"},
	{Name: "id_number", Title: "身份证号码", Type: TypeText, Sensitivity: Personal, Mask: "id_number", Description: "GB 11643 公民身份号码"},
	{Name: "district_code", Title: "所属区县代码", Type: TypeText, Sensitivity: Public},
	{Name: "township_code", Title: "所属乡镇街道代码", Type: TypeText, Sensitivity: Public},
	{Name: "created_at", Title: "入库时间", Type: TypeTime, Sensitivity: Public},
}

// Datasets is the catalogue (FP-93): every dataset over a published read
// function. Later functions' datasets join here as they publish theirs.
func Datasets() []*Dataset {
	return []*Dataset{
		{ID: "entities", Title: "市场主体基本信息", Description: "全市市场主体登记信息（企业、个体工商户、农民专业合作社等）",
			Classification: "基础信息", Owner: "登记注册科", Frequency: "实时", Permission: "registry.entity:view",
			Key: "credit_code", Fields: entityFields, source: "registry.datahub_entities()"},
		{ID: "licences", Title: "行政许可信息", Description: "市场主体取得的行政许可（公示部分）",
			Classification: "许可信息", Owner: "行政审批科", Frequency: "每日", Permission: "registry.entity:view",
			Key: "id", Fields: recordFields("许可证号", "发证机关"), source: "registry.datahub_records()", where: "kind = 'licence'"},
		{ID: "penalties", Title: "行政处罚信息", Description: "行政处罚决定（公示部分）",
			Classification: "监管信息", Owner: "执法稽查科", Frequency: "每日", Permission: "registry.entity:view",
			Key: "id", Fields: recordFields("决定书文号", "决定机关"), source: "registry.datahub_records()", where: "kind = 'penalty'"},
		{ID: "inspections", Title: "检查信息", Description: "日常检查、双随机抽查和专项检查结果（公示部分）",
			Classification: "监管信息", Owner: "信用监管科", Frequency: "每日", Permission: "registry.entity:view",
			Key: "id", Fields: recordFields("检查编号", "检查机关"), source: "registry.datahub_records()",
			where: "kind IN ('inspection', 'random_check', 'spot_check')"},
		{ID: "persons", Title: "法定代表人及负责人", Description: "市场主体的法定代表人、负责人及其身份证号码（个人信息，默认脱敏）",
			Classification: "基础信息", Owner: "登记注册科", Frequency: "实时", Permission: "registry.entity:view",
			Key: "id", Fields: personFields, source: "registry.datahub_persons()"},
	}
}

// catalogue indexes the datasets by id.
type catalogue map[string]*Dataset

func newCatalogue() catalogue {
	c := catalogue{}
	for _, d := range Datasets() {
		c[d.ID] = d
	}
	return c
}

// search lists datasets whose title, description or field titles contain
// q, optionally of one classification, in catalogue order.
func (c catalogue) search(q, classification string) []*Dataset {
	var out []*Dataset
	for _, d := range Datasets() {
		d := c[d.ID]
		if classification != "" && d.Classification != classification {
			continue
		}
		if q != "" && !strings.Contains(d.Title+d.Description+d.Owner, q) &&
			!slices.ContainsFunc(d.Fields, func(f Field) bool { return strings.Contains(f.Title+f.Name, q) }) {
			continue
		}
		out = append(out, d)
	}
	return out
}
