package documents

import (
	"context"
	"html/template"
	"io"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Verification is what the public verification page shows of a published
// version (FP-43): enough to tell a genuine document from a forged or
// altered one, and whether it is still the one in force.
type Verification struct {
	Code           string     `json:"code"`
	Title          string     `json:"title"`
	EntityName     string     `json:"entity_name"`
	CreditCode     string     `json:"credit_code"`
	Version        string     `json:"version"`
	State          string     `json:"state"` // published | corrected
	StateName      string     `json:"state_name"`
	PublishedAt    *time.Time `json:"published_at"`
	Authority      string     `json:"authority"`
	PDFSHA256      string     `json:"pdf_sha256"`
	DOCXSHA256     string     `json:"docx_sha256"`
	CurrentVersion string     `json:"current_version"`
	CurrentURL     string     `json:"current_url"` // the version in force, when this one was corrected
	Note           string     `json:"note"`        // the correction note of the version in force
}

// Verify looks up a published version by its code; the public may call it.
func (f *Function) Verify(ctx context.Context, code string) (Verification, error) {
	if len(code) > 64 {
		return Verification{}, errs.New(errs.NotFound, "未找到该验证码对应的文书")
	}
	id, v, err := versionByCode(ctx, f.pool, code)
	if err != nil {
		if errs.CodeOf(err) == errs.NotFound {
			return Verification{}, errs.New(errs.NotFound, "未找到该验证码对应的文书")
		}
		return Verification{}, err
	}
	d, err := getDocument(ctx, f.pool, id, false)
	if err != nil {
		return Verification{}, err
	}
	out := Verification{Code: code, Title: d.Title, EntityName: d.EntityName, CreditCode: d.CreditCode, Version: v.Version,
		State: v.Publication, StateName: v.PublicationName, PublishedAt: v.PublishedAt, Authority: f.cfg.Authority,
		PDFSHA256: v.PDFSHA256, DOCXSHA256: v.DOCXSHA256, CurrentVersion: d.Version}
	if v.Publication == "corrected" {
		cur, err := docVersion(ctx, f.pool, id, d.version)
		if err != nil {
			return Verification{}, err
		}
		out.Note = cur.Note
		if cur.verifyCode != "" {
			out.CurrentURL = f.verifyURL(cur.verifyCode)
		}
	}
	return out, nil
}

// CheckResult compares a file with a published version.
type CheckResult struct {
	Verification
	Match  bool   `json:"match"`
	SHA256 string `json:"sha256"`
	Format string `json:"format"` // pdf | docx | "" (neither)
}

// MaxCheckBytes bounds an uploaded file to compare.
const MaxCheckBytes = 20 << 20

// Check tells whether data is exactly the published PDF (or DOCX) of the
// version: any change to the file, a single byte, changes its SHA-256.
func (f *Function) Check(ctx context.Context, code string, data []byte) (CheckResult, error) {
	v, err := f.Verify(ctx, code)
	if err != nil {
		return CheckResult{}, err
	}
	sum := sha256Hex(data)
	out := CheckResult{Verification: v, SHA256: sum}
	switch sum {
	case v.PDFSHA256:
		out.Match, out.Format = true, "pdf"
	case v.DOCXSHA256:
		out.Match, out.Format = true, "docx"
	}
	return out, nil
}

// verifyPage is the public page the QR code opens.
var verifyPage = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>文书核验 - {{.V.Title}}</title>
<style>
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;background:#f4f6f9;color:#222}
main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:20px;margin:8px 0 16px}
.card{background:#fff;border-radius:8px;padding:16px;margin-bottom:12px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.state{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600}
.published{background:#e8f5e9;color:#1b5e20}.corrected{background:#fff3e0;color:#e65100}
dl{display:grid;grid-template-columns:7em 1fr;gap:6px 8px;margin:0}dt{color:#666}dd{margin:0;word-break:break-all}
code{font-size:12px}.ok{color:#1b5e20;font-weight:600}.bad{color:#b71c1c;font-weight:600}
button{padding:6px 16px}
</style></head><body><main>
<h1>文书核验</h1>
{{with .Result}}<div class="card" data-test="check-result">
{{if .Match}}<p class="ok">核验一致：所提交的文件与发布的{{if eq .Format "pdf"}} PDF {{else}} DOCX {{end}}完全一致。</p>
{{else}}<p class="bad">核验不一致：所提交的文件与发布版本不同，可能已被篡改，请以本页信息为准。</p>{{end}}
<p>所提交文件 SHA-256：<code>{{.SHA256}}</code></p></div>{{end}}
<div class="card">
<p><span class="state {{.V.State}}" data-test="verify-state">{{.V.StateName}}</span></p>
<dl>
<dt>文书名称</dt><dd data-test="verify-title">{{.V.Title}}</dd>
<dt>市场主体</dt><dd>{{.V.EntityName}}</dd>
<dt>信用代码</dt><dd>{{.V.CreditCode}}</dd>
<dt>版本</dt><dd data-test="verify-version">{{.V.Version}}</dd>
<dt>发布时间</dt><dd>{{if .V.PublishedAt}}{{.V.PublishedAt.Format "2006-01-02 15:04"}}{{end}}</dd>
<dt>发布机关</dt><dd>{{.V.Authority}}</dd>
<dt>PDF 哈希</dt><dd><code data-test="verify-hash">{{.V.PDFSHA256}}</code></dd>
<dt>DOCX 哈希</dt><dd><code>{{.V.DOCXSHA256}}</code></dd>
</dl>
{{if .V.CurrentURL}}<p>本版本已更正，现行版本为 {{.V.CurrentVersion}}（更正说明：{{.V.Note}}）。<a href="{{.V.CurrentURL}}">查看现行版本</a></p>{{end}}
</div>
<div class="card"><form method="post" action="{{.Action}}" enctype="multipart/form-data">
<p>核对手中的文件：选择 PDF 或 DOCX 文件，与发布版本逐字节比对。</p>
<input type="file" name="file" accept=".pdf,.docx" required> <button type="submit">核验</button></form></div>
<p style="color:#888;font-size:12px">SHA-256 可用 sha256sum（Linux）或 certutil -hashfile 文件 SHA256（Windows）自行计算比对。</p>
</main></body></html>`))

func writeVerifyPage(w io.Writer, v Verification, result *CheckResult, action string) error {
	return verifyPage.Execute(w, struct {
		V      Verification
		Result *CheckResult
		Action string
	}{v, result, action})
}
