package metrology

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/store"
)

// SeedDemo loads a small demonstration set when metrology holds no
// institution yet (so it is idempotent): a verification institution with
// three measurement standards, instrument users in three districts with
// fuel dispensers, scales and pressure gauges (some overdue, with their
// alarms raised), so `go tool task up` shows every page with content. It
// reports whether it loaded anything.
func (f *Function) SeedDemo(ctx context.Context) (bool, error) {
	if err := f.cat.sync(ctx, f.pool); err != nil {
		return false, err
	}
	var present bool
	if err := f.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM metrology.institutions)`).Scan(&present); err != nil || present {
		return false, store.Classify(err)
	}
	inst, err := codes.MakeCreditCode("12", "130100", "MB0D0001")
	if err != nil {
		return false, err
	}
	now := f.now()
	today := f.today()
	err = store.InTx(ctx, f.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO metrology.institutions (id, name, authorisation_no, authorised_until, address, phone, postcode,
				cert_prefix, created_at, updated_at)
			VALUES ($1, '石家庄市计量检定测试所（演示）', '(冀)法计(2024)01001号', '2029-12-31', '石家庄市长安区建设北大街 88 号', '0311-86000000',
				'050000', 'SJJ', $2, $2)`, inst, now); err != nil {
			return err
		}
		for _, s := range []struct {
			name, rng, acc string
			cats           []string
		}{
			{"燃油加油机检定装置", "(0～150)L/min", "0.05级", []string{"0401", "0501", "0502", "0503"}},
			{"非自动衡器检定装置", "(0～300)kg", "F2级", []string{"0101", "0102", "0103", "0104", "0105"}},
			{"弹簧管式压力表检定装置", "(0～60)MPa", "0.05级", []string{"1101"}},
		} {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO metrology.standards (institution_id, name, range_text, accuracy, categories, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, inst, s.name, s.rng, s.acc, s.cats, now).Scan(&id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO metrology.standard_certificates (standard_id, kind, number, valid_until) VALUES
				($1, 'assessment', $2, '2029-06-30'), ($1, 'social_public', $3, '2029-06-30')`, id,
				fmt.Sprintf("[2024]冀量标石证字第%03d号", id), fmt.Sprintf("[2024]冀社量标石证字第%03d号", id)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO metrology.standard_instruments (standard_id, name, model, serial_no, accuracy, certificate_no, valid_until)
				VALUES ($1, $2, '标准型', $3, '二等', $4, '2028-01-31')`, id, "主要标准器（"+s.name+"）", fmt.Sprintf("BZ-%04d", id),
				fmt.Sprintf("JL2025-%04d", id)); err != nil {
				return err
			}
		}
		for i, e := range []struct{ district, name string }{
			{"130102", "长安区恒达加油站有限公司"}, {"130102", "长安区万家福超市有限公司"}, {"130104", "桥西区中心加气站有限公司"},
			{"130104", "桥西区仁和医院有限公司"}, {"130108", "裕华区东方农贸市场有限公司"}, {"130108", "裕华区通达锅炉房有限公司"},
		} {
			code, err := codes.MakeCreditCode("91", e.district, fmt.Sprintf("MA0D%04d", i+1))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO metrology.enterprises (credit_code, name, district_code, address, contact, phone, email, created_at, updated_at)
				VALUES ($1, $2, $3, $4, '王经理', $5, 'demo@example.com', $6, $6)`, code, e.name, e.district, "石家庄市演示路 "+fmt.Sprint(i+1)+" 号",
				fmt.Sprintf("1380000%04d", i+1), now); err != nil {
				return err
			}
			var loc int64
			if err := tx.QueryRow(ctx, `INSERT INTO metrology.usage_locations (credit_code, name, created_at) VALUES ($1, '经营场所', $2) RETURNING id`,
				code, now).Scan(&loc); err != nil {
				return err
			}
			for j := 0; j < 3; j++ {
				cat := []string{"0401", "0101", "1101"}[(i+j)%3]
				if e.district == "130104" && cat == "0401" {
					cat = "0502"
				}
				until := today.AddDate(0, 1+j*2, 0)
				if j == 2 && i%2 == 0 {
					until = today.AddDate(0, 0, -10-i) // overdue
				}
				serials := []string{}
				if cat == "0401" || cat == "0502" {
					serials = []string{"1号枪", "2号枪", "3号枪", "4号枪"}
				}
				name, _ := f.cat.Category(cat)
				var id int64
				if err := tx.QueryRow(ctx, `INSERT INTO metrology.instruments (credit_code, category_code, name, model, serial_no, manufacturer,
						location_id, status, nozzle_serials, last_verified_on, valid_until, last_result, created_at, updated_at)
					VALUES ($1, $2, $3, '演示型', $4, '演示制造有限公司', $5, 'in_use', $6, $7, $8, 'pass', $9, $9) RETURNING id`,
					code, cat, name.Name, fmt.Sprintf("DEMO-%02d-%d", i+1, j+1), loc, serials, until.AddDate(-1, 0, 1), until, now).Scan(&id); err != nil {
					return err
				}
				if err := logChange(ctx, tx, id, "created", "", "in_use", "seed", now); err != nil {
					return err
				}
			}
		}
		_, err := f.RaiseOverdue(ctx, tx)
		return err
	})
	return err == nil, store.Classify(err)
}
