package documents

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
)

// renderDOCX writes a rendered document as an Office Open XML word
// processing file (ECMA-376, the DOCX that Word, WPS and LibreOffice open):
// the parts are few and written here, so nothing between the text and the
// file can drop a character. Text is in 宋体 (SimSun); characters above the
// Basic Multilingual Plane (𠮷) get a run in SimSun-ExtB, the face Windows
// and WPS carry for CJK Extension B. A published version ends with its
// verification QR code and line.
func renderDOCX(r Rendered, m Meta) ([]byte, error) {
	var body strings.Builder
	para(&body, r.Title, "Title", "center")
	for _, b := range r.Blocks {
		para(&body, b.Text, "", map[string]string{"right": "right"}[b.Align])
	}
	footer := "版本 " + m.Version
	if m.published() {
		footer += "　验证码 " + m.Code + "　" + m.Authority + " 发布于 " + m.Date.Format("2006年1月2日")
	} else {
		footer += "　未发布，仅供核对"
	}
	var png []byte
	if m.published() {
		var err error
		if png, err = qrcode.Encode(m.VerifyURL, qrcode.Medium, 512); err != nil {
			return nil, fmt.Errorf("documents: docx qr: %w", err)
		}
		body.WriteString(qrParagraph)
		para(&body, "扫码核验文书真伪、状态和版本："+m.VerifyURL, "Small", "right")
	}
	para(&body, footer, "Small", "center")

	date := m.Date
	if date.IsZero() {
		date = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	parts := []struct{ name, data string }{
		{"[Content_Types].xml", contentTypes},
		{"_rels/.rels", rootRels},
		{"word/document.xml", documentHead + body.String() + documentTail},
		{"word/styles.xml", styles},
		{"word/_rels/document.xml.rels", documentRels(png != nil)},
		{"docProps/core.xml", fmt.Sprintf(coreProps, esc(r.Title+" "+m.EntityName), esc(m.EntityName), date.UTC().Format(time.RFC3339), date.UTC().Format(time.RFC3339))},
		{"docProps/app.xml", appProps},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: date})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	for _, p := range parts {
		if err := add(p.name, []byte(p.data)); err != nil {
			return nil, fmt.Errorf("documents: docx: %w", err)
		}
	}
	if png != nil {
		if err := add("word/media/qr.png", png); err != nil {
			return nil, fmt.Errorf("documents: docx: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("documents: docx: %w", err)
	}
	return buf.Bytes(), nil
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// para writes one paragraph; runs split where the text crosses between
// the Basic Multilingual Plane and the planes above it.
func para(b *strings.Builder, text, style, align string) {
	b.WriteString("<w:p>")
	if style != "" || align != "" {
		b.WriteString("<w:pPr>")
		if style != "" {
			b.WriteString(`<w:pStyle w:val="` + style + `"/>`)
		}
		if align != "" {
			b.WriteString(`<w:jc w:val="` + align + `"/>`)
		}
		b.WriteString("</w:pPr>")
	}
	var run strings.Builder
	supp := false
	flush := func() {
		if run.Len() == 0 {
			return
		}
		b.WriteString("<w:r>")
		if supp {
			b.WriteString(`<w:rPr><w:rFonts w:ascii="SimSun-ExtB" w:hAnsi="SimSun-ExtB" w:eastAsia="SimSun-ExtB" w:cs="SimSun-ExtB" w:hint="eastAsia"/></w:rPr>`)
		}
		for i, part := range strings.Split(run.String(), "\t") {
			if i > 0 {
				b.WriteString("<w:tab/>")
			}
			if part != "" {
				b.WriteString(`<w:t xml:space="preserve">` + esc(part) + `</w:t>`)
			}
		}
		b.WriteString("</w:r>")
		run.Reset()
	}
	for _, r := range text {
		if s := r > 0xFFFF; s != supp {
			flush()
			supp = s
		}
		run.WriteRune(r)
	}
	flush()
	b.WriteString("</w:p>")
}

const contentTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/>` +
	`<Default Extension="png" ContentType="image/png"/>` +
	`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
	`<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>` +
	`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
	`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>` +
	`</Types>`

const rootRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
	`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>` +
	`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
	`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>` +
	`</Relationships>`

func documentRels(image bool) string {
	s := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`
	if image {
		s += `<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/qr.png"/>`
	}
	return s + `</Relationships>`
}

const documentHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ` +
	`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ` +
	`xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" ` +
	`xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" ` +
	`xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body>`

// A4 with 2.5 cm margins (twentieths of a point).
const documentTail = `<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>` +
	`<w:pgMar w:top="1417" w:right="1417" w:bottom="1587" w:left="1417" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr>` +
	`</w:body></w:document>`

// qrParagraph places the verification QR code (28 mm square, in EMU).
const qrParagraph = `<w:p><w:pPr><w:jc w:val="right"/></w:pPr><w:r><w:drawing>` +
	`<wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="1008000" cy="1008000"/><wp:docPr id="1" name="验证二维码"/>` +
	`<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>` +
	`<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>` +
	`<pic:nvPicPr><pic:cNvPr id="1" name="qr.png"/><pic:cNvPicPr/></pic:nvPicPr>` +
	`<pic:blipFill><a:blip r:embed="rId2"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>` +
	`<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="1008000" cy="1008000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr>` +
	`</pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`

const styles = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">` +
	`<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="宋体" w:cs="Times New Roman"/>` +
	`<w:sz w:val="24"/><w:szCs w:val="24"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/></w:rPr></w:rPrDefault>` +
	`<w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="420" w:lineRule="auto"/><w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults>` +
	`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/>` +
	`<w:pPr><w:spacing w:before="240" w:after="360"/><w:jc w:val="center"/></w:pPr>` +
	`<w:rPr><w:rFonts w:eastAsia="黑体"/><w:b/><w:sz w:val="36"/><w:szCs w:val="36"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Small"><w:name w:val="Small"/><w:basedOn w:val="Normal"/>` +
	`<w:rPr><w:color w:val="777777"/><w:sz w:val="16"/><w:szCs w:val="16"/></w:rPr></w:style>` +
	`</w:styles>`

const coreProps = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
	`xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ` +
	`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>%s</dc:title><dc:creator>%s</dc:creator>` +
	`<dcterms:created xsi:type="dcterms:W3CDTF">%s</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">%s</dcterms:modified>` +
	`</cp:coreProperties>`

const appProps = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>SmartReg documents</Application></Properties>`
