// Command certbench measures certificate throughput (issue 19: ≥ 50
// certificates/s on 2 cores) and writes the result into docs/benchmarks.md:
//
//   - render: certificate-print's renderer drawing a two-page certificate
//     of a four-nozzle dispenser (JJF 1069-2012 content, tables, QR code),
//     one worker per CPU;
//   - bare fpdf: the same library, font and page content (every text line
//     at its place, the QR's modules as rectangles) written straight, with
//     no layout code: the anchor, ratio = render / bare;
//   - issue: the whole path a verification.completed event takes (render,
//     store the PDF in object storage, the row and certificate.issued in
//     one transaction) against a real PostgreSQL and a directory store.
//
// Usage: go run ./tests/bench/certbench [-dur 5s] [-out docs/benchmarks.md]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/jackc/pgx/v5"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/sjzamr/smartreg/events"
	certificateprint "github.com/sjzamr/smartreg/functions/certificate-print"
	"github.com/sjzamr/smartreg/functions/certificate-print/render"
	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/config"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
	"github.com/sjzamr/smartreg/tests/bench/report"
)

func main() {
	dur := flag.Duration("dur", 5*time.Second, "measuring time per side")
	out := flag.String("out", "docs/benchmarks.md", "markdown file to update")
	admin := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL admin URL")
	flag.Parse()
	if err := run(*dur, *out, *admin); err != nil {
		fmt.Fprintln(os.Stderr, "certbench:", err)
		os.Exit(1)
	}
}

func sample(i int) events.VerificationCompletedData {
	d := events.VerificationCompletedData{VerificationID: int64(i + 1), CertificateNo: fmt.Sprintf("JD2026-%06d", i+1), Result: "pass", Class: "0.3级",
		Conclusion:  "合格（0.3级）",
		Institution: events.Institution{ID: "12130100MB0000019J", Name: "石家庄市计量检定测试所", Authorisation: "(冀)法计(2024)01001号", Address: "石家庄市长安区建设北大街 88 号", Phone: "0311-86000000", Postcode: "050000", Version: 1},
		Client:      events.Client{CreditCode: "91130102MA0000011X", Name: "长安区恒达加油站有限公司", Address: "石家庄市测试路 1 号", DistrictCode: "130102"},
		Instrument: events.VerifiedInstrument{ID: int64(i + 1), Name: "燃油加油机", Model: "CS46", SerialNo: fmt.Sprintf("JYJ-%06d", i), Manufacturer: "正星科技",
			ItemCode: "04", ItemName: "燃油加油机", CategoryCode: "0401", CategoryName: "燃油加油机"},
		Verifier: "张检定", Checker: "李核验", Approver: "王批准", VerifiedOn: "2026-03-09", ValidUntil: "2026-09-08", Basis: "JJG 443-2023《燃油加油机》",
		Standards: []events.StandardUsed{{ID: 1, Name: "燃油加油机检定装置", Range: "(0～150)L/min", Accuracy: "0.05级",
			Certificates: []events.StandardCertificate{{Kind: "assessment", Number: "[2024]冀量标石证字第001号", ValidUntil: "2028-06-30"}},
			Instruments: []events.StandardInstrument{{Name: "标准金属量器", Model: "20L", SerialNo: "BZ-2001", Accuracy: "二等", CertificateNo: "JL2025-0101",
				ValidUntil: "2027-01-31"}}}},
		Environment: events.Environment{Temperature: "18.5℃", Humidity: "42%RH", Place: "现场"},
		Data:        []events.DataRow{{Name: "示值误差", Value: "+0.12%", Limit: "±0.30%", Result: "合格"}}, CompletedAt: time.Now()}
	for n := 1; n <= 4; n++ {
		d.Nozzles = append(d.Nozzles, events.NozzleResult{Serial: fmt.Sprintf("%d号枪", n), Result: "pass", Error: fmt.Sprintf("+0.%d%%", n)})
	}
	return d
}

const verifyURL = "https://smartreg.sjz.gov.cn/certs/v1/verify/ABCDEFGHIJKLMNOPQRSTUVWX"

// lines are the certificate's text, for the bare anchor: what pdftotext
// reads off render's output, laid out line by line.
func lines(d events.VerificationCompletedData) [][]string {
	p1 := []string{"证书编号：" + d.CertificateNo, "检 定 证 书", "VERIFICATION CERTIFICATE", "送检单位 " + d.Client.Name, "计量器具名称 " + d.Instrument.Name,
		"型号 / 规格 " + d.Instrument.Model, "出厂编号 " + d.Instrument.SerialNo, "制造单位 " + d.Instrument.Manufacturer, "检定依据 " + d.Basis,
		"检定结论 " + d.Conclusion, "准确度等级 " + d.Class, "批准人 " + d.Approver + " 核验员 " + d.Checker + " 检定员 " + d.Verifier,
		"检定日期 2026年03月09日", "有效期至 2026年09月08日", "检定机构（印章）：" + d.Institution.Name, "计量授权证书号：" + d.Institution.Authorisation,
		"地址：" + d.Institution.Address, "邮政编码：050000 电话：0311-86000000", "签发日期：2026年03月10日", "扫码核验证书真伪", "证书编号：" + d.CertificateNo + " 第 1 页 共 2 页"}
	p2 := []string{"检定机构授权说明", "本机构经计量行政部门授权开展强制检定，计量授权证书号：" + d.Institution.Authorisation + "。", "检定环境条件",
		"温度：18.5℃ 相对湿度：42%RH 地点：现场", "检定所使用的计量标准", "计量标准名称 测量范围 准确度等级 计量标准证书编号 有效期至",
		"燃油加油机检定装置 (0～150)L/min 0.05级 考核 [2024]冀量标石证字第001号 2028-06-30", "主要标准器", "名称 型号 编号 准确度等级 检定/校准证书编号 有效期至",
		"标准金属量器 20L BZ-2001 二等 JL2025-0101 2027-01-31", "检定结果", "检定项目 检定结果 最大允许误差 / 要求 结论", "示值误差 +0.12% ±0.30% 合格",
		"按枪检定结果（共 4 枪）", "序号 枪编号 示值误差 结论 备注"}
	for _, n := range d.Nozzles {
		p2 = append(p2, n.Serial+" "+n.Error+" 合格 —")
	}
	p2 = append(p2, "说明", "1. 本证书的检定结果仅对所检计量器具在检定时的计量特性有效。", "2. 未经本机构书面批准，不得部分复制本证书。",
		"3. 扫描首页二维码可核验本证书的真伪和版本。", "证书编号："+d.CertificateNo+" 第 2 页 共 2 页")
	return [][]string{p1, p2}
}

// bare writes the same text and QR with fpdf directly.
func bare(font []byte, d events.VerificationCompletedData) ([]byte, error) {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(true)
	p.AddUTF8FontFromBytes("sc", "", font)
	for i, page := range lines(d) {
		p.AddPage()
		p.SetFont("sc", "", 11)
		for _, l := range page {
			p.CellFormat(0, 7, l, "", 1, "L", false, 0, "")
		}
		if i == 0 {
			q, err := qrcode.New(verifyURL, qrcode.Medium)
			if err != nil {
				return nil, err
			}
			bm := q.Bitmap()
			m := 30.0 / float64(len(bm))
			for y, row := range bm {
				for x, dark := range row {
					if dark {
						p.Rect(150+float64(x)*m, 216+float64(y)*m, m, m, "F")
					}
				}
			}
		}
	}
	var b bytes.Buffer
	err := p.Output(&b)
	return b.Bytes(), err
}

// cpu is the process's user+system CPU time so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rate is a side's throughput: by the wall clock, and per CPU-second of
// this process (what 2 dedicated cores would give is twice that; the
// machine is shared, so the wall-clock rate understates it).
type rate struct{ wall, perCPU float64 }

func (r rate) cores() float64 { return r.perCPU * float64(runtime.GOMAXPROCS(0)) }

// measure runs fn in one goroutine per CPU for d and reports the rate.
func measure(d time.Duration, fn func(i int) error) (rate, error) {
	c0 := cpu()
	var n atomic.Int64
	var firstErr atomic.Value
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Go(func() {
			for time.Now().Before(stop) {
				if err := fn(int(n.Add(1))); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return rate{}, err
	}
	used := (cpu() - c0).Seconds()
	return rate{wall: float64(n.Load()) / time.Since(start).Seconds(), perCPU: float64(n.Load()) / used}, nil
}

func run(d time.Duration, out, adminURL string) error {
	r := render.New()
	font := render.Font()
	one := sample(0)
	pdf, pages, err := r.Render(render.Doc{Data: one, Version: 1, VerifyURL: verifyURL, IssuedAt: time.Now()})
	if err != nil {
		return err
	}
	bpdf, err := bare(font, one)
	if err != nil {
		return err
	}
	load := loadavg()
	renderRate, err := measure(d, func(i int) error {
		_, _, err := r.Render(render.Doc{Data: sample(i), Version: 1, VerifyURL: verifyURL, IssuedAt: time.Now()})
		return err
	})
	if err != nil {
		return err
	}
	bareRate, err := measure(d, func(i int) error { _, err := bare(font, sample(i)); return err })
	if err != nil {
		return err
	}
	issueRate, err := issue(d, adminURL)
	if err != nil {
		return err
	}
	fmt.Printf("render %.1f/s (%.1f/s on %d cores), bare fpdf %.1f/s (%.1f), issue %.1f/s (%.1f)\n", renderRate.wall, renderRate.cores(),
		runtime.GOMAXPROCS(0), bareRate.wall, bareRate.cores(), issueRate.wall, issueRate.cores())
	return report.Write(out, "certbench", report.Section{
		Title: "Certificates per second: certificate-print vs bare fpdf",
		Intro: fmt.Sprintf("`go run ./tests/bench/certbench` on %d CPUs (GOMAXPROCS), %s per side, one worker per CPU. "+
			"The certificate: a four-nozzle fuel dispenser, %d pages, %d bytes (JJF 1069-2012 content, standards table, nozzle table, QR). "+
			"Bare fpdf: the same library, font, text and QR modules written line by line without layout (%d bytes); ratio = render / bare. "+
			"Issue: the event's whole path — render, store the PDF (directory store), insert the row and certificate.issued in one PostgreSQL transaction. "+
			"Target ≥ 50 certificates/s on 2 cores: the CPU column divides by this process's own CPU time (the machine is shared; "+
			"issue's column leaves out PostgreSQL's CPU, which runs in its own processes). Load average (1 min) at the start / end: %s / %s (the machine is shared).",
			runtime.GOMAXPROCS(0), d, pages, len(pdf), len(bpdf), load, loadavg()),
		Rows: [][]string{{"side", "certificates/s (wall clock, shared machine)", "certificates/s per CPU-second × cores", "ratio to bare fpdf (CPU)"},
			{"certificate-print render", fmt.Sprintf("%.1f", renderRate.wall), fmt.Sprintf("%.1f", renderRate.cores()), fmt.Sprintf("%.2f", renderRate.perCPU/bareRate.perCPU)},
			{"bare fpdf, same page", fmt.Sprintf("%.1f", bareRate.wall), fmt.Sprintf("%.1f", bareRate.cores()), "1.00"},
			{"issue (render + object store + transaction)", fmt.Sprintf("%.1f", issueRate.wall), fmt.Sprintf("%.1f", issueRate.cores()),
				fmt.Sprintf("%.2f", issueRate.perCPU/bareRate.perCPU)}},
	})
}

// issue measures Function.Issue end to end on a scratch database.
func issue(d time.Duration, adminURL string) (rate, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return rate{}, err
	}
	_, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS bench_certs WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE bench_certs`); err != nil {
		return rate{}, err
	}
	defer func() { _, _ = conn.Exec(ctx, `DROP DATABASE IF EXISTS bench_certs WITH (FORCE)`); conn.Close(ctx) }()
	dsn := strings.Replace(adminURL, "/postgres?", "/bench_certs?", 1)
	pool, err := store.Connect(ctx, dsn, int32(2*runtime.GOMAXPROCS(0)))
	if err != nil {
		return rate{}, err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool, append([]store.Migration{store.Platform()}, certificateprint.Migrations()...)...); err != nil {
		return rate{}, err
	}
	dir, err := os.MkdirTemp("", "certbench")
	if err != nil {
		return rate{}, err
	}
	defer os.RemoveAll(dir)
	b, err := blob.Open(ctx, "file://"+dir)
	if err != nil {
		return rate{}, err
	}
	f, err := certificateprint.New(certificateprint.Deps{Logger: httpx.NewLogger(io.Discard, "error"), Pool: pool, Blob: b, Render: render.New(),
		Verifier: noVerifier{}, Now: time.Now}, config.Defaults[certificateprint.Config]())
	if err != nil {
		return rate{}, err
	}
	return measure(d, func(i int) error {
		return store.InTx(ctx, pool, func(tx pgx.Tx) error { _, err := f.Issue(ctx, tx, sample(i)); return err })
	})
}

type noVerifier struct{}

func (noVerifier) Middleware(h http.Handler) http.Handler { return h }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
