package monitor

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/store"
)

// licenceRule is the disclosure rule: it looks at the shop, not a text.
var licenceRule = Rule{ID: "ecommerce-licence", Name: "未公示营业执照信息", Type: "disclosure", Version: "1",
	Article: "《中华人民共和国电子商务法》第十五条"}

// RunModel runs a model over the online objects updated in its window and
// stores the clues it finds (a clue already found is not found again).
func (f *Function) RunModel(ctx context.Context, id int64) (found, added int, err error) {
	m, err := getModel(ctx, f.pool, id)
	if err != nil {
		return 0, 0, err
	}
	now := f.now()
	objs, err := onlineObjects(ctx, f.pool, m, now.AddDate(0, 0, -m.WindowDays))
	if err != nil {
		return 0, 0, err
	}
	var clues []Clue
	want := func(typ string) bool { return len(m.Types) == 0 || slices.Contains(m.Types, typ) }
	licenceSeen := map[string]bool{}
	for _, o := range objs {
		base := Clue{ModelID: m.ID, ObjectURL: o.URL, ObjectName: o.Name, EntityName: o.EntityName, CreditCode: o.CreditCode,
			District: o.District, Platform: o.Platform, CreatedAt: now}
		for _, r := range Rules() {
			if !want(r.Type) {
				continue
			}
			hits, _ := r.Check(o.Name + "。" + o.Text)
			for _, h := range hits {
				c := base
				c.RuleID, c.RuleVersion, c.Article, c.Term, c.Snippet = r.ID, RulesetVersion+"/"+r.Version, r.Article, h.Term, h.Snippet
				clues = append(clues, c)
			}
		}
		if want(licenceRule.Type) && !o.HasLicence && o.EntityName != "" && !licenceSeen[o.EntityName] {
			licenceSeen[o.EntityName] = true
			c := base
			c.RuleID, c.RuleVersion, c.Article, c.Term = licenceRule.ID, RulesetVersion+"/"+licenceRule.Version, licenceRule.Article, "营业执照"
			c.Snippet = "店铺页面未公示营业执照信息：" + o.EntityName
			clues = append(clues, c)
		}
	}
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if added, err = insertClues(ctx, tx, clues); err != nil {
			return err
		}
		// FP-87: the entities with new clues are graded again at once.
		var codes []string
		for _, c := range clues {
			codes = append(codes, c.CreditCode)
		}
		_, err = recompute(ctx, tx, codes, "监测模型运行："+itoa(m.ID), now)
		return err
	})
	return len(clues), added, store.Classify(err)
}
