package laws

import (
	"context"
	"fmt"
)

// demoLocal are local regulations for the demo: the corpus has none of
// Hebei's. Their text is written for the demo, not the official text, and
// says so in the title (示例).
var demoLocal = []DocumentInput{
	{Title: "河北省食品小作坊小餐饮小摊点管理条例（示例文本）", ShortTitle: "河北省食品小作坊小餐饮小摊点管理条例", Nature: "地方性法规",
		Region: "河北省", Body: "河北省人民代表大会常务委员会", PublishedOn: "2016-03-29", EffectiveOn: "2016-06-01",
		Text: `第一章 总则
第一条 为了加强对食品小作坊、小餐饮和小摊点的监督管理，保证食品安全，保障公众身体健康和生命安全，根据有关法律、行政法规，结合本省实际，制定本条例。（示例文本）
第二条 本条例所称食品小作坊，是指有固定生产加工场所，从业人员较少，生产加工规模小，生产条件简单，从事传统、低风险食品生产加工活动的生产者。
第二章 食品小作坊
第八条 食品小作坊应当依法取得食品小作坊登记证，并在生产加工场所的显著位置公示。
第九条 食品小作坊不得生产加工婴幼儿配方食品、保健食品、特殊医学用途配方食品以及其他特殊食品。
第三章 法律责任
第四十条 未取得食品小作坊登记证从事食品生产加工活动的，由县级市场监督管理部门没收违法所得和违法生产加工的食品，并处以罚款。（示例文本）`},
	{Title: "石家庄市优化营商环境条例（示例文本）", ShortTitle: "石家庄市优化营商环境条例", Nature: "地方性法规",
		Region: "石家庄市", Body: "石家庄市人民代表大会常务委员会", PublishedOn: "2021-12-01", EffectiveOn: "2022-01-01",
		Text: `第一章 总则
第一条 为了持续优化营商环境，激发市场主体活力，推动经济高质量发展，根据国务院《优化营商环境条例》等法律、法规，结合本市实际，制定本条例。（示例文本）
第二章 市场主体保护
第十条 市场监督管理部门应当推行市场主体登记全程电子化，实现营业执照申请、审核、发放和签名全程网上办理。
第十一条 对市场主体的轻微违法行为，依法实行包容审慎监管，首次违法且危害后果轻微并及时改正的，可以不予行政处罚。（示例文本）`},
}

// SeedDemo loads the shipped corpus when the library holds none of it,
// and the demo local regulations when they are missing; run again, it
// changes nothing. It returns what it did, for the CLI to print.
func (f *Function) SeedDemo(ctx context.Context) (string, error) {
	var corpus, local int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE origin = 'corpus'), count(*) FILTER (WHERE region <> '')
		FROM laws.documents`).Scan(&corpus, &local); err != nil {
		return "", err
	}
	msg := ""
	if corpus == 0 {
		fsys, err := Corpus()
		if err != nil {
			return "", err
		}
		run, err := f.Import(ctx, Actor{Username: "seed"}, fsys, "内置法规库（2025-04-19）")
		if err != nil {
			return "", err
		}
		msg += fmt.Sprintf("法律法规库：导入 %d 部法规（检索索引在服务启动时建立）", run.Created)
	}
	if local == 0 {
		for _, in := range demoLocal {
			if _, err := f.CreateDocument(ctx, Actor{Username: "seed"}, in); err != nil {
				return "", err
			}
		}
		if msg != "" {
			msg += "；"
		}
		msg += fmt.Sprintf("录入 %d 部地方性法规示例", len(demoLocal))
	}
	return msg, nil
}
