package documents

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// The built-in templates (FP-37): 自律承诺书 of several subjects, and the
// 信用修复申请书 of 《市场监督管理信用修复管理办法》 (国家市场监督管理总局, 2021).

// entityFields head every built-in template: filled from the registry by
// the credit code.
func entityFields(nameLabel string) []Field {
	return []Field{
		{Key: "entity_name", Label: nameLabel, Type: FieldText, Required: true, MaxLen: 100, Prefill: "name",
			Prompt: "与营业执照一致的名称，由统一社会信用代码自动带出"},
		{Key: "credit_code", Label: "统一社会信用代码", Type: FieldCreditCode, Required: true, Prefill: "credit_code",
			Prompt: "18 位统一社会信用代码（GB 32100）"},
		{Key: "legal_rep", Label: "法定代表人（负责人）", Type: FieldText, Required: true, MaxLen: 50, Prefill: "legal_rep"},
		{Key: "address", Label: "住所（经营场所）", Type: FieldText, Required: true, MaxLen: 200, Prefill: "address"},
	}
}

// pledgeSubjects are the 自律承诺书 built in: subject, code, and the
// commitments that make each one.
var pledgeSubjects = []struct {
	code, subject string
	items         []string
}{
	{"pledge_integrity", "诚信经营", []string{
		"严格遵守《中华人民共和国反不正当竞争法》《中华人民共和国价格法》等法律法规，依法经营、公平竞争；",
		"如实公示企业信息，按时报送年度报告，不弄虚作假、不隐瞒真实情况；",
		"明码标价，不哄抬价格，不进行虚假或者引人误解的商业宣传；",
		"重合同、守信用，依法履行合同义务，不利用合同格式条款侵害交易相对人权益；",
		"自觉接受市场监督管理部门和社会公众的监督。"}},
	{"pledge_data", "数据保护", []string{
		"严格遵守《中华人民共和国个人信息保护法》《中华人民共和国数据安全法》，依法收集、使用个人信息；",
		"不过度收集、不非法买卖、提供或者公开消费者个人信息；",
		"建立数据安全管理制度，采取必要措施防止信息泄露、篡改、丢失；",
		"发生或者可能发生个人信息泄露时，立即采取补救措施并依法告知和报告；",
		"自觉接受市场监督管理部门和社会公众的监督。"}},
	{"pledge_consumer", "消费者权益保护", []string{
		"严格遵守《中华人民共和国消费者权益保护法》，保障消费者的知情权、选择权和公平交易权；",
		"落实七日无理由退货等规定，不设置不公平、不合理的交易条件；",
		"建立消费纠纷和解机制，及时处理消费者投诉，先行赔付；",
		"不销售假冒伪劣商品，不作虚假宣传；",
		"自觉接受市场监督管理部门和社会公众的监督。"}},
	{"pledge_environment", "环境保护", []string{
		"严格遵守《中华人民共和国环境保护法》等法律法规，依法落实环境保护主体责任；",
		"按规定处置废弃物，不非法排放污染物；",
		"不生产、销售国家明令淘汰或者不符合能效、环保标准的产品；",
		"减少过度包装，落实限制商品过度包装要求；",
		"自觉接受有关部门和社会公众的监督。"}},
	{"pledge_food", "食品安全", []string{
		"严格遵守《中华人民共和国食品安全法》，落实食品安全主体责任；",
		"严格执行进货查验和记录制度，不采购、不销售来源不明或者不符合食品安全标准的食品；",
		"保持经营场所清洁卫生，从业人员持有效健康证明上岗；",
		"不使用非食用物质和超范围、超限量使用食品添加剂；",
		"发生食品安全事故时立即处置并依法报告，自觉接受监督检查。"}},
	{"pledge_quality", "产品质量", []string{
		"严格遵守《中华人民共和国产品质量法》，对所生产、销售的产品质量负责；",
		"不生产、销售假冒伪劣产品，不伪造产地、冒用他人厂名厂址和质量标志；",
		"严格执行强制性国家标准，建立产品质量追溯制度；",
		"发现产品存在缺陷时，依法停止销售、召回并报告；",
		"自觉接受市场监督管理部门和社会公众的监督。"}},
}

var numerals = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}

func pledgeTemplate(code, subject string, items []string) TemplateInput {
	var b strings.Builder
	b.WriteString("承诺主体：{{entity_name}}\n统一社会信用代码：{{credit_code}}\n法定代表人（负责人）：{{legal_rep}}\n住所（经营场所）：{{address}}\n\n")
	fmt.Fprintf(&b, "　　为营造诚实守信的市场环境，本单位就%s自愿作出如下承诺：\n", subject)
	for i, it := range items {
		fmt.Fprintf(&b, "　　%s、%s\n", numerals[i], it)
	}
	b.WriteString("　　其他承诺事项：{{extra}}\n")
	b.WriteString("　　本承诺自签署之日起生效，有效期至{{valid_until}}。如违反上述承诺，本单位愿意承担相应的法律责任，并同意将违诺情况记入信用记录、依法公示。\n\n")
	b.WriteString(">承诺主体（盖章）：{{signature}}\n>承诺日期：{{sign_date}}")
	fields := append(entityFields("承诺主体名称"),
		Field{Key: "extra", Label: "其他承诺事项", Type: FieldText, Multiline: true, MaxLen: 1000, Prompt: "可不填；填写本单位自愿增加的承诺"},
		Field{Key: "valid_until", Label: "承诺有效期至", Type: FieldDate, Required: true, Min: "today", Prompt: "承诺有效期的截止日期，不早于今天"},
		Field{Key: "signature", Label: "法定代表人（负责人）签字", Type: FieldSignature, Required: true, Prefill: "legal_rep",
			Prompt: "法定代表人（负责人）姓名；打印后签字并加盖公章"},
		Field{Key: "sign_date", Label: "承诺日期", Type: FieldDate, Required: true, Max: "today"},
	)
	return TemplateInput{Code: code, Kind: "pledge", Title: subject + "自律承诺书", Body: b.String(), Fields: fields,
		Summary: "内置模板"}
}

// Record kinds a 信用修复申请书 may name, as the registry's record kinds
// map to them (第二条: 经营异常名录, 严重违法失信名单, 行政处罚信息).
var repairKinds = map[string]string{
	"abnormal_list":   "列入经营异常名录",
	"serious_illegal": "列入严重违法失信名单",
	"penalty":         "行政处罚信息公示",
}

func creditRepairTemplate() TemplateInput {
	body := `申请人：{{entity_name}}
统一社会信用代码：{{credit_code}}
法定代表人（负责人）：{{legal_rep}}
住所（经营场所）：{{address}}
联系人：{{contact}}　　联系电话：{{phone}}

{{authority}}：
　　本单位依据《市场监督管理信用修复管理办法》，申请对下列失信信息进行信用修复：
　　失信信息类别：{{record_kind}}
　　决定文书号：{{decision_no}}
　　作出决定机关：{{decision_authority}}
　　列入（作出决定）日期：{{decision_date}}
　　罚款、没收违法所得金额（如有）：{{fine_amount}}
　　申请修复的理由，已履行法定义务、纠正违法行为的情况：
{{reason}}
　　本单位郑重承诺：已经履行法定义务、纠正违法行为，今后严格遵守法律法规，依法诚信经营，自觉接受监督；所提交材料真实、合法、有效，如有虚假，愿意承担相应的法律责任，并同意撤销信用修复决定、恢复公示。
　　其他承诺事项：{{extra}}
　　随本申请书提交的材料：
{{attachments}}

>申请人（盖章）：{{signature}}
>申请日期：{{apply_date}}`
	fields := append(entityFields("申请人名称"),
		Field{Key: "contact", Label: "联系人", Type: FieldText, Required: true, MaxLen: 50},
		Field{Key: "phone", Label: "联系电话", Type: FieldText, Required: true, MinLen: 7, MaxLen: 20, Prompt: "手机或固定电话"},
		Field{Key: "authority", Label: "受理机关", Type: FieldText, Required: true, MaxLen: 100,
			Prompt: "作出失信决定的市场监督管理部门，如：石家庄市长安区市场监督管理局"},
		Field{Key: "record_kind", Label: "失信信息类别", Type: FieldChoice, Required: true, Prefill: "repairable.kind",
			Options: []string{repairKinds["abnormal_list"], repairKinds["serious_illegal"], repairKinds["penalty"]},
			Prompt:  "可从本主体的记录中选择，自动带出文书号、机关和日期"},
		Field{Key: "decision_no", Label: "决定文书号", Type: FieldText, Required: true, MaxLen: 100, Prefill: "repairable.ref_no"},
		Field{Key: "decision_authority", Label: "作出决定机关", Type: FieldText, Required: true, MaxLen: 100, Prefill: "repairable.authority"},
		Field{Key: "decision_date", Label: "列入（作出决定）日期", Type: FieldDate, Required: true, Max: "today", Prefill: "repairable.occurred_on"},
		Field{Key: "fine_amount", Label: "罚款、没收违法所得金额", Type: FieldAmount, Min: "0", Prompt: "行政处罚信息修复时填写，单位：元"},
		Field{Key: "reason", Label: "申请理由及履行情况", Type: FieldText, Required: true, Multiline: true, MinLen: 10, MaxLen: 3000,
			Prompt: "说明已履行行政处罚决定、补报年报或纠正违法行为的情况"},
		Field{Key: "extra", Label: "其他承诺事项", Type: FieldText, Multiline: true, MaxLen: 1000},
		Field{Key: "attachments", Label: "附件材料", Type: FieldText, Required: true, Multiline: true, MaxLen: 2000,
			Prompt: "逐项列出，如：1. 守信承诺书；2. 已缴纳罚款的缴款凭证；3. 营业执照复印件"},
		Field{Key: "signature", Label: "法定代表人（负责人）签字", Type: FieldSignature, Required: true, Prefill: "legal_rep"},
		Field{Key: "apply_date", Label: "申请日期", Type: FieldDate, Required: true, Max: "today"},
	)
	return TemplateInput{Code: "credit_repair", Kind: "credit_repair", Title: "信用修复申请书", Body: body, Fields: fields,
		Summary: "内置模板，依据《市场监督管理信用修复管理办法》（2021）"}
}

// Builtins are the templates Start writes when they are missing.
func Builtins() []TemplateInput {
	out := []TemplateInput{creditRepairTemplate()}
	for _, p := range pledgeSubjects {
		out = append(out, pledgeTemplate(p.code, p.subject, p.items))
	}
	return out
}

func (f *Function) ensureBuiltins(ctx context.Context) error {
	return store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		now := f.now()
		for _, in := range Builtins() {
			in.normalize()
			if err := in.validate(true); err != nil {
				return fmt.Errorf("documents: built-in template %s: %w", in.Code, err)
			}
			fields, err := json.Marshal(in.Fields)
			if err != nil {
				return err
			}
			var id int64
			err = tx.QueryRow(ctx, `INSERT INTO docs.templates (code, kind, title, body, fields, major, minor, patch, builtin,
					created_by, created_at, updated_by, updated_at)
				VALUES ($1, $2, $3, $4, $5, 1, 0, 0, true, 'system', $6, 'system', $6)
				ON CONFLICT (code) DO NOTHING RETURNING id`, in.Code, in.Kind, in.Title, in.Body, fields, now).Scan(&id)
			if err == pgx.ErrNoRows {
				continue
			}
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO docs.template_versions (template_id, major, minor, patch, title, body, fields,
					change, summary, saved_by, saved_by_name, saved_at)
				VALUES ($1, 1, 0, 0, $2, $3, $4, 'initial', $5, 'system', '系统', $6)`, id, in.Title, in.Body, fields, in.Summary, now); err != nil {
				return err
			}
		}
		return nil
	})
}
