package certificateprint

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

//go:embed openapi.yaml
var openapi []byte

// OpenAPI is the function's API document, served by the runtime.
func (f *Function) OpenAPI() (string, []byte) { return "/certs/v1/openapi.yaml", openapi }

// PermCertificate is the permission resource of certificates (action
// view), listed in shared/auth's catalogue.
const PermCertificate = "certs.certificate"

// The metrology parties' role codes (identity's built-in roles): an
// enterprise account sees its own certificates, an institution's staff
// those it issued.
const (
	roleEnterprise  = "metrology_enterprise"
	roleInstitution = "metrology_institution"
)

// Handler serves the API behind token verification, and the public
// authenticity page.
func (f *Function) Handler() http.Handler {
	m := httpx.NewMux()
	m.Use(f.verifier.Middleware)
	// FP-167: certificates of the caller's scope and party.
	m.Handle("GET /certs/v1/certificates", httpx.Endpoint(f.list), auth.Requires(PermCertificate, "view"), httpx.EntityListing(), // FP-167, 175
		httpx.Params(append([]string{"q", "code", "status", "kind"}, httpx.PageParams...)...))
	m.Handle("GET /certs/v1/certificates/{cert}", httpx.Endpoint(f.get), auth.Requires(PermCertificate, "view"), httpx.EntityIn("cert"))
	m.HandleFunc("GET /certs/v1/certificates/{cert}/pdf", f.pdf, auth.Requires(PermCertificate, "view"), httpx.EntityIn("cert")) // FP-167, 173
	// The page a certificate's QR opens: anyone may check it is genuine.
	m.HandleFunc("GET /certs/v1/verify/{token}", f.verify, httpx.Public(), httpx.AnyParams()) // FP-167
	return m
}

// viewer is the caller: their data scope, and the party an enterprise or
// institution account acts for.
type viewer struct {
	scope     auth.Scope
	kind, ref string // "" for a regulator
	bound     bool
}

func (f *Function) viewerOf(r *http.Request) (viewer, error) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return viewer{}, errs.New(errs.Unauthorized, auth.MsgLoginRequired)
	}
	v := viewer{scope: p.Scope}
	switch {
	case p.HasRole(roleEnterprise):
		v.kind = "enterprise"
	case p.HasRole(roleInstitution):
		v.kind = "institution"
	default:
		return v, nil
	}
	kind, ref, err := partyOf(r.Context(), f.pool, p.Username)
	if err != nil {
		return v, err
	}
	v.ref, v.bound = ref, kind == v.kind && ref != ""
	return v, nil
}

// filter is the SQL predicate over certificates c the viewer sees.
func (v viewer) filter(args *[]any) string {
	scope := v.scope.Filter("c.district_code", "c.township_code", args)
	if v.kind == "" {
		return scope
	}
	if !v.bound {
		return "FALSE"
	}
	*args = append(*args, v.ref)
	col := "c.credit_code"
	if v.kind == "institution" {
		col = "c.institution_id"
	}
	return fmt.Sprintf("(%s AND %s = $%d)", scope, col, len(*args))
}

func (v viewer) sees(c Certificate) bool {
	if !v.scope.Allows(c.DistrictCode, c.townshipCode) {
		return false
	}
	switch v.kind {
	case "enterprise":
		return v.bound && c.CreditCode == v.ref
	case "institution":
		return v.bound && c.InstitutionID == v.ref
	}
	return true
}

func (f *Function) list(r *http.Request) (any, error) {
	p, err := httpx.ParsePage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	flt := Filter{Q: strings.TrimSpace(q.Get("q")), Code: strings.ToUpper(q.Get("code")), Status: q.Get("status"), Kind: q.Get("kind")}
	if flt.Status != "" && flt.Status != "valid" && flt.Status != "superseded" {
		return nil, errs.Fields([]errs.FieldError{{Field: "status", Message: "状态应为 valid 或 superseded"}})
	}
	if flt.Kind != "" && flt.Kind != "certificate" && flt.Kind != "notice" {
		return nil, errs.Fields([]errs.FieldError{{Field: "kind", Message: "类型应为 certificate 或 notice"}})
	}
	v, err := f.viewerOf(r)
	if err != nil {
		return nil, err
	}
	items, total, err := f.listCertificates(r.Context(), f.pool, v, flt, p)
	return httpx.NewPage(items, total, p), err
}

// Detail is a certificate with all versions of it.
type Detail struct {
	Certificate Certificate   `json:"certificate"`
	Versions    []Certificate `json:"versions"`
}

// load reads a certificate the caller sees; outside their scope or party
// it is not found.
func (f *Function) load(ctx context.Context, r *http.Request) (Certificate, error) {
	id, err := strconv.ParseInt(r.PathValue("cert"), 10, 64)
	if err != nil || id <= 0 {
		return Certificate{}, errs.ErrNotFound
	}
	v, err := f.viewerOf(r)
	if err != nil {
		return Certificate{}, err
	}
	c, err := getCertificate(ctx, f.pool, id)
	if err != nil {
		return Certificate{}, err
	}
	if !v.sees(c) {
		return Certificate{}, errs.ErrNotFound
	}
	c.label(f)
	return c, nil
}

func (f *Function) get(r *http.Request) (any, error) {
	c, err := f.load(r.Context(), r)
	if err != nil {
		return nil, err
	}
	vs, err := f.versionsOf(r.Context(), f.pool, c.VerificationID)
	return Detail{Certificate: c, Versions: vs}, err
}

func (f *Function) pdf(w http.ResponseWriter, r *http.Request) {
	c, err := f.load(r.Context(), r)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	rc, _, err := f.blob.Get(r.Context(), c.blobKey)
	if err != nil {
		httpx.Fail(w, r, errs.Wrap(errs.Unavailable, "证书文件暂不可用，请稍后重试", err))
		return
	}
	defer rc.Close()
	name := fmt.Sprintf("%s_%s_v%d.pdf", c.KindName, c.CertificateNo, c.Version)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="certificate.pdf"; filename*=UTF-8''`+pathEscape(name))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = io.Copy(w, rc)
}

func pathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Messages of the authenticity page.
const (
	MsgGenuine    = "该证书真实有效"
	MsgSuperseded = "该证书为真，但已换版作废，请以最新版本为准"
	MsgUnknown    = "未查询到该证书，请谨防伪造证书"
)

var verifyPage = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>检定证书真伪核验 - 石家庄市市场监督管理局</title>
<style>body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f7fa;color:#303133}
main{max-width:640px;margin:0 auto;padding:16px}h1{font-size:20px;margin:8px 0 16px}
.verdict{padding:14px 16px;border-radius:6px;font-size:18px;margin-bottom:16px}
.ok{background:#f0f9eb;color:#529b2e;border:1px solid #c2e7b0}.warn{background:#fdf6ec;color:#b88230;border:1px solid #f5dab1}
.bad{background:#fef0f0;color:#c45656;border:1px solid #fbc4c4}table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #ebeef5;font-size:14px}th{width:34%;color:#606266;font-weight:normal}
footer{color:#909399;font-size:12px;margin-top:16px}</style></head>
<body><main><h1>强制检定证书真伪核验</h1>
{{if .Found}}<div class="verdict {{if .Current}}ok{{else}}warn{{end}}" data-verdict="{{if .Current}}genuine{{else}}superseded{{end}}">{{.Message}}</div>
<table>
<tr><th>证书类型</th><td>{{.C.KindName}}</td></tr>
<tr><th>证书编号</th><td data-certificate-no>{{.C.CertificateNo}}</td></tr>
<tr><th>版本</th><td>第 {{.C.Version}} 版{{if .Latest}}（最新为第 {{.Latest}} 版）{{end}}</td></tr>
<tr><th>检定机构</th><td>{{.C.InstitutionName}}</td></tr>
<tr><th>送检单位</th><td>{{.C.ClientName}}</td></tr>
<tr><th>计量器具</th><td>{{.C.InstrumentName}}（出厂编号 {{.C.SerialNo}}）</td></tr>
<tr><th>检定结论</th><td>{{if eq .C.Result "pass"}}合格{{else}}不合格{{end}}</td></tr>
<tr><th>检定日期</th><td>{{.C.VerifiedOn}}</td></tr>
{{if .C.ValidUntil}}<tr><th>有效期至</th><td>{{.C.ValidUntil}}</td></tr>{{end}}
<tr><th>签发时间</th><td>{{.Issued}}</td></tr>
<tr><th>文件校验值（SHA-256）</th><td style="word-break:break-all">{{.C.SHA256}}</td></tr>
</table>
{{else}}<div class="verdict bad" data-verdict="unknown">{{.Message}}</div>{{end}}
<footer>石家庄市市场监督管理局 · 强检计量器具监管平台。纸质证书信息与本页不一致的，请向签发机构或市场监管部门反映（12315）。</footer>
</main></body></html>`))

// verify is the public page behind a certificate's QR: whether it is
// genuine and current, and what it certifies.
func (f *Function) verify(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Found, Current bool
		Message        string
		C              Certificate
		Latest         int
		Issued         string
	}{Message: MsgUnknown}
	status := http.StatusNotFound
	token := r.PathValue("token")
	if len(token) <= 64 {
		c, err := byToken(r.Context(), f.pool, token)
		switch {
		case err == nil:
			c.label(f)
			data.Found, data.C, data.Current, status = true, c, c.Status == "valid", http.StatusOK
			data.Issued = c.IssuedAt.In(cst).Format("2006-01-02 15:04")
			data.Message = MsgGenuine
			if !data.Current {
				data.Message = MsgSuperseded
				if cur, err := currentOf(r.Context(), f.pool, c.VerificationID); err == nil {
					data.Latest = cur.Version
				}
			}
		case errs.CodeOf(err) != errs.NotFound:
			httpx.Fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_ = verifyPage.Execute(w, data)
}
