package dispatch

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sjzamr/smartreg/shared/auditlog"
	"github.com/sjzamr/smartreg/shared/auth"
)

// SeedDemo puts demo resources on the map when there are none (FP-143):
// for each district of the base map a market-supervision station at its
// label, a camera, a rapid-test kit and a patrol vehicle nearby. Names say
// （示例）. Run again, it changes nothing.
func (f *Function) SeedDemo(ctx context.Context) (string, error) {
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM dispatch.resources`).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	var doc struct {
		Features []struct {
			Properties struct {
				Code  string     `json:"code"`
				Name  string     `json:"name"`
				Label [2]float64 `json:"label"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(basemap, &doc); err != nil {
		return "", fmt.Errorf("dispatch: base map: %w", err)
	}
	who := auditlog.System(Name)
	city := auth.Scope{Kind: auth.ScopeAll}
	for _, ft := range doc.Features {
		p := ft.Properties
		for i, r := range []struct {
			kind, name, phone string
			dlat, dlng        float64
		}{
			{"station", p.Name + "市场监管所（示例）", "0311-8000 0000", 0, 0},
			{"camera", p.Name + "农贸市场监控（示例）", "", 0.006, 0.008},
			{"device", p.Name + "食品快检箱（示例）", "", -0.004, 0.005},
			{"vehicle", p.Name + "执法车（示例）", "", 0.01, -0.012},
		} {
			lat, lng := p.Label[1]+r.dlat, p.Label[0]+r.dlng
			in := ResourceInput{Kind: r.kind, Name: r.name, Code: fmt.Sprintf("DEMO-%s-%d", p.Code, i), Phone: r.phone,
				Lat: &lat, Lng: &lng, District: p.Code}
			if err := in.check(); err != nil {
				return "", fmt.Errorf("dispatch: demo resource %s: %w", r.name, err)
			}
			if _, err := f.SaveResource(ctx, who, city, "", in); err != nil {
				return "", err
			}
		}
	}
	return fmt.Sprintf("已加载指挥调度演示资源：%d 个区县各 1 个监管所、摄像头、快检设备和执法车", len(doc.Features)), nil
}
