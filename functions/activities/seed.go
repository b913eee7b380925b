package activities

import (
	"context"
	"fmt"
	"time"
)

// SeedDemo adds demo activities when there are none: one open for
// sign-up, one nearly full, one past with its summary. Run again, it
// changes nothing.
func (f *Function) SeedDemo(ctx context.Context) (string, error) {
	var n int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM activities.activities`).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	day := func(d, h int) time.Time {
		t := f.now().In(beijing).AddDate(0, 0, d)
		return time.Date(t.Year(), t.Month(), t.Day(), h, 0, 0, 0, beijing)
	}
	who := Actor{Username: "seed"}
	demo := []ActivityInput{
		{Theme: "“食品安全进社区”宣传咨询活动（示例）", Place: "石家庄市桥西区某社区广场", Organiser: "石家庄市市场监督管理局",
			StartsAt: day(10, 9), EndsAt: day(10, 11), Capacity: 50, Waitlist: 10, HowToJoin: "通过本页面报名，额满后可登记候补。",
			Description: "现场开展食品快检体验、食品安全知识问答和投诉举报咨询。（示例活动）"},
		{Theme: "小微企业质量提升培训班（示例）", Place: "石家庄市长安区某培训中心", Organiser: "石家庄市市场监督管理局质量发展处",
			StartsAt: day(5, 14), EndsAt: day(5, 17), Capacity: 3, Waitlist: 2, HowToJoin: "企业负责人或质量负责人报名参加。",
			Description: "讲解质量管理体系、标准化和计量基础知识。（示例活动）"},
	}
	for _, in := range demo {
		a, err := f.createDraft(ctx, who, in, "")
		if err != nil {
			return "", err
		}
		if _, err := f.SetStatus(ctx, who, a.ID, "published"); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("活动库：录入 %d 个示例活动（/activities/m）", len(demo)), nil
}
