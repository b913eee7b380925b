package province

import (
	"fmt"
	"time"
)

// districts are Shijiazhuang's county-level divisions the generated data
// uses.
var districts = []string{"130102", "130104", "130105", "130107", "130108", "130109", "130110", "130111", "130121", "130123"}

var categories = []struct{ code, name string }{
	{"0101", "电子计价秤"}, {"0401", "燃油加油机"}, {"0502", "压缩天然气加气机"}, {"1101", "弹簧管式一般压力表"},
	{"1201", "无创自动测量血压计"}, {"1401", "出租汽车计价器"},
}

// checkChars is GB 32100's alphabet, for well-formed generated codes.
const checkChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditCode builds a syntactically plausible code for record n (the
// province's data is not ours to validate; the check character is not
// computed).
func creditCode(district string, n int) string {
	return fmt.Sprintf("91%sPV%07d%c", district, n, checkChars[n%len(checkChars)])
}

// Generate fills the simulator with enterprises, instruments (perEnt per
// enterprise, the last ones short) and one verification per instrument,
// deterministically, all changed at or after base (one second apart per
// block of 100, so the watermark's boundary is exercised).
func (s *Simulator) Generate(instruments, perEnt int, base time.Time) {
	ents := (instruments + perEnt - 1) / perEnt
	var er, ir, vr []Record
	for e := 0; e < ents; e++ {
		d := districts[e%len(districts)]
		er = append(er, Record{"id": fmt.Sprintf("E%07d", e), "tyshxydm": creditCode(d, e), "qymc": fmt.Sprintf("石家庄市第%d计量器具使用单位有限公司", e+1),
			"xzqhdm": d, "dz": fmt.Sprintf("石家庄市测试大街%d号", e+1), "lxr": "联系人", "lxdh": fmt.Sprintf("0311-8%07d", e),
			"gxsj": base.Add(time.Duration(e/100) * time.Second).UTC().Format(time.RFC3339Nano)})
	}
	for i := 0; i < instruments; i++ {
		e := i / perEnt
		d := districts[e%len(districts)]
		c := categories[i%len(categories)]
		at := base.Add(time.Duration(i/100) * time.Second).UTC().Format(time.RFC3339Nano)
		ir = append(ir, Record{"id": fmt.Sprintf("Q%08d", i), "tyshxydm": creditCode(d, e), "xzqhdm": d, "qjmc": c.name,
			"ggxh": fmt.Sprintf("XH-%d", i%50), "ccbh": fmt.Sprintf("CC%08d", i), "zzdw": "某计量器具制造有限公司", "qjzl": c.code,
			"syzt": "in_use", "yxqz": time.Date(2026, 1+time.Month(i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), "gxsj": at})
		vr = append(vr, Record{"id": fmt.Sprintf("V%08d", i), "zsbh": fmt.Sprintf("HBJD2025-%08d", i), "qjid": fmt.Sprintf("Q%08d", i),
			"jdjg": "河北省计量监督检测研究院", "jdjl": "合格", "jdrq": "2025-06-01", "yxqz": "2026-05-31", "xzqhdm": d, "gxsj": at})
	}
	s.Put(Enterprises, er...)
	s.Put(Instruments, ir...)
	s.Put(Verifications, vr...)
}

// Demo is a simulator with a small data set, for the local platform.
func Demo(key, secret string) *Simulator {
	s := New(key, secret)
	s.Generate(60, 3, time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC))
	return s
}
