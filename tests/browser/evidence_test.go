package browser

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEvidenceUploadAndPublicVerify (FP-90): a file uploaded on 上传证据 is
// hashed in the browser (the page shows the same SHA-256 Go computes), sealed,
// and then found, without logging in, on the public verification page with
// its log index.
func TestEvidenceUploadAndPublicVerify(t *testing.T) {
	s := startStack(t)
	body := []byte("现场检查记录：价签与实际收费不符。" + time.Now().String())
	file := filepath.Join(t.TempDir(), "现场记录.txt")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	want := hex.EncodeToString(sum[:])

	p := adminPage(t, s)
	p.goTo("/evidence/upload")
	p.typeInto("title", `document.querySelector('input[data-test=upload-title], [data-test=upload-title] input')`, "浏览器测试证据")
	p.upload("evidence file", `document.querySelector('.el-upload__input')`, file)
	p.waitFor("hash computed in the browser", `all('[data-test=local-hashes] code').some((e) => txt(e) === `+jsString(want)+`)`)
	p.click("upload", `all('[data-test=upload-submit]')[0]`)
	p.waitLong("bundle shown", `all('[data-test=bundle-detail]').length`, 30*time.Second)
	p.waitFor("platform hash matches", `all('[data-test=local-hashes] .el-tag').some((e) => txt(e) === '一致')`)
	p.waitLong("receipt", `all('[data-test=receipt-ready]').length`, 30*time.Second)

	anon := openPage(t, newBrowser(t), s.url, "anonymous")
	anon.goTo("/evidence/verify")
	anon.upload("file to verify", `document.querySelector('.el-upload__input')`, file)
	anon.waitLong("found in the log", `all('[data-test=verify-found]').length`, 30*time.Second)
	if got := anon.text(`(document.querySelector('input[data-test=verify-hash], [data-test=verify-hash] input') || {}).value || ''`); got != want {
		t.Errorf("hash on the verification page = %q, want %q", got, want)
	}
	anon.waitFor("log index shown", `all('[data-test=verify-index]').some((e) => /^\d+$/.test(txt(e)))`)
}
