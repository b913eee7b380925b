package evidencecapture

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
)

// VerifyURL is the public verification page of a bundle: the page looks
// the manifest's hash up in the log without a login.
func (f *Function) VerifyURL(b Bundle) string {
	return f.cfg.Public.URL() + "/console/#/evidence/verify?sha256=" + url.QueryEscape(b.SHA256)
}

// Certificate is the 出证 (FP-90): a PDF of the evidence with its hashes,
// log index, checkpoint, a QR code to the public verification page, and
// the receipt, both printed and embedded as a file, so the certificate
// alone carries what the offline verifier needs besides the bundle.
// It waits for the receipt (ErrPending until a checkpoint covers it).
func (f *Function) Certificate(ctx context.Context, b Bundle) ([]byte, error) {
	receipt, err := f.Receipt(ctx, b)
	if err != nil {
		return nil, err
	}
	link := f.VerifyURL(b)
	qr, err := qrcode.Encode(link, qrcode.Medium, 512)
	if err != nil {
		return nil, fmt.Errorf("certificate QR: %w", err)
	}
	loc := time.FixedZone("CST", 8*3600)
	r, err := seal.ParseReceipt(receipt)
	if err != nil {
		return nil, err
	}
	fields := []recordField{
		{"证书编号", b.ID},
		{"证据名称", b.Title},
		{"证据类型", kindName(b.Kind)},
		{"封存时间", b.CreatedAt.In(loc).Format("2006年01月02日 15:04:05（北京时间）")},
		{"清单 SHA-256", b.SHA256},
		{"清单 SM3", b.SM3},
		{"存证日志", f.tlog.Origin()},
		{"日志序号", fmt.Sprint(b.LogIndex)},
		{"日志公钥", f.tlog.PublicKey()},
	}
	for _, file := range b.Files {
		fields = append(fields, recordField{"文件", fmt.Sprintf("%s（%d 字节）", file.Path, file.Size)},
			recordField{"SHA-256", file.SHA256}, recordField{"SM3", file.SM3})
	}
	fields = append(fields, lines("检查点", r.Checkpoint)...)
	fields = append(fields, lines("存证回执", receipt)...)
	return fieldsPDF(fieldsDoc{
		title: "电子数据存证证书", fields: fields, at: b.CreatedAt, labelW: 30,
		qr: qr, qrCaption: "扫码或打开以下地址公开验证：" + link,
		footer: "本证书的回执（C2SP tlog-proof）已作为附件嵌入；凭证据包、回执与日志公钥即可离线核验（smartreg evidence verify），无需信任本平台。",
		attachments: []fpdf.Attachment{
			{Content: receipt, Filename: "receipt.tlog-proof", Description: "存证回执（C2SP tlog-proof）"},
			{Content: b.manifest, Filename: "manifest.json", Description: "证据包清单"},
		},
	})
}

// lines labels the first of the text's lines, one field a line.
func lines(label string, text []byte) []recordField {
	var out []recordField
	for i, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		if i > 0 {
			label = ""
		}
		out = append(out, recordField{label, l})
	}
	return out
}

func kindName(k string) string {
	switch k {
	case "web":
		return "网页取证"
	case "upload":
		return "上传文件"
	}
	return k
}
