package metrology

import (
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/store"
)

// catalogueCSV is the SAMR 2020 No. 42 catalogue as shipped; origin and
// caveats in catalogue/README.md.
//
//go:embed catalogue/samr-2020-42.csv
var catalogueCSV string

// Item is a 项别 of the catalogue with its categories.
type Item struct {
	Code       string     `json:"code"`
	Name       string     `json:"name"`
	Categories []Category `json:"categories"`
}

// Category is a 种别: what an instrument is registered as.
type Category struct {
	Code        string `json:"code"`
	ItemCode    string `json:"item_code"`
	ItemName    string `json:"item_name"`
	Name        string `json:"name"`
	Supervision string `json:"supervision"`
	// CycleMonths is the usual verification cycle; 0 means first
	// verification only, replaced when due (水表, 燃气表, 电能表).
	CycleMonths int    `json:"cycle_months"`
	Nozzles     bool   `json:"nozzles"` // verified per nozzle (FP-173)
	Unsure      bool   `json:"unsure"`  // not checked against the notice's text
	Note        string `json:"note"`
}

// Catalogue is the parsed table.
type Catalogue struct {
	Items      []Item
	categories map[string]Category
}

// LoadCatalogue parses the shipped CSV.
func LoadCatalogue() (*Catalogue, error) {
	recs, err := csv.NewReader(strings.NewReader(catalogueCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("metrology: catalogue: %w", err)
	}
	c := &Catalogue{categories: map[string]Category{}}
	want := "item_code,item_name,category_code,category_name,supervision,cycle_months,nozzles,unsure,note"
	if len(recs) < 2 || strings.Join(recs[0], ",") != want {
		return nil, fmt.Errorf("metrology: catalogue header %v, want %s", recs[0], want)
	}
	for i, r := range recs[1:] {
		cycle, err1 := strconv.Atoi(r[5])
		nozzles, err2 := strconv.ParseBool(r[6])
		unsure, err3 := strconv.ParseBool(r[7])
		if err1 != nil || err2 != nil || err3 != nil || len(r[0]) != 2 || !strings.HasPrefix(r[2], r[0]) || len(r[2]) != 4 {
			return nil, fmt.Errorf("metrology: catalogue line %d: %v", i+2, r)
		}
		cat := Category{Code: r[2], ItemCode: r[0], ItemName: r[1], Name: r[3], Supervision: r[4], CycleMonths: cycle,
			Nozzles: nozzles, Unsure: unsure, Note: r[8]}
		if _, dup := c.categories[cat.Code]; dup {
			return nil, fmt.Errorf("metrology: catalogue: category %s twice", cat.Code)
		}
		c.categories[cat.Code] = cat
		if n := len(c.Items); n == 0 || c.Items[n-1].Code != cat.ItemCode {
			c.Items = append(c.Items, Item{Code: cat.ItemCode, Name: cat.ItemName})
		}
		it := &c.Items[len(c.Items)-1]
		if it.Name != cat.ItemName {
			return nil, fmt.Errorf("metrology: catalogue line %d: item %s named %q and %q", i+2, it.Code, it.Name, cat.ItemName)
		}
		it.Categories = append(it.Categories, cat)
	}
	return c, nil
}

// Category looks a category up by code.
func (c *Catalogue) Category(code string) (Category, bool) {
	cat, ok := c.categories[code]
	return cat, ok
}

// sync writes the catalogue into metrology.catalogue_* (upserts; rows are
// never deleted, instruments may reference them).
func (c *Catalogue) sync(ctx context.Context, pool *pgxpool.Pool) error {
	return store.InTx(ctx, pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, it := range c.Items {
			b.Queue(`INSERT INTO metrology.catalogue_items (code, name) VALUES ($1, $2)
				ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name WHERE catalogue_items.name <> EXCLUDED.name`, it.Code, it.Name)
			for _, cat := range it.Categories {
				b.Queue(`INSERT INTO metrology.catalogue_categories (code, item_code, name, supervision, cycle_months, nozzles, unsure, note)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
					ON CONFLICT (code) DO UPDATE SET item_code = EXCLUDED.item_code, name = EXCLUDED.name, supervision = EXCLUDED.supervision,
						cycle_months = EXCLUDED.cycle_months, nozzles = EXCLUDED.nozzles, unsure = EXCLUDED.unsure, note = EXCLUDED.note
					WHERE (catalogue_categories.*) IS DISTINCT FROM (EXCLUDED.*)`,
					cat.Code, cat.ItemCode, cat.Name, cat.Supervision, cat.CycleMonths, cat.Nozzles, cat.Unsure, cat.Note)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
}
