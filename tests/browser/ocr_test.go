package browser

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sjzamr/smartreg/tests/cardgen"
)

// ocrSample is a generated phone photo set (tests/cardgen) written to
// files the browser can upload. Seed 300 is one recognize was tuned on:
// this test is about the console, not about accuracy (ocrbench is).
func ocrSample(t *testing.T) (cardgen.Sample, map[string]string) {
	t.Helper()
	s := cardgen.NewSample(rand.New(rand.NewPCG(300, 1)), cardgen.Realistic)
	dir := t.TempDir()
	files := map[string]string{}
	for name, b := range map[string][]byte{"front": s.FrontJPEG, "back": s.BackJPEG, "licence": s.LicenceJPEG} {
		files[name] = filepath.Join(dir, name+".jpg")
		if err := os.WriteFile(files[name], b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s, files
}

// waitLong is waitFor with room for Tesseract's first load on a busy
// machine (the engines load on the first recognition).
func (p *page) waitLong(what, expr string, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		var ok bool
		if err := p.eval("!!("+expr+")", &ok); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (p *page) upload(what, input, file string) {
	p.t.Helper()
	p.waitFor(what, input)
	p.run("upload "+what, chromedp.SetUploadFiles(node(input), []string{file}))
}

func adminPage(t *testing.T, s *stack) *page {
	t.Helper()
	pw := s.initialPasswords(t)
	admin := openPage(t, newBrowser(t), s.url, "admin")
	admin.login("admin", pw["admin"], adminPW)
	return admin
}

// TestIDCardOCRFlow (FP-11, FP-12): a card's photos are uploaded in the
// console, the fields are shown, what the applicant typed is marked where
// it differs, one field is corrected and the result saved; the identity
// verification (simulator) answers with its result.
func TestIDCardOCRFlow(t *testing.T) {
	s := startStack(t)
	sample, files := ocrSample(t)
	p := adminPage(t, s)
	p.goTo("/ocr/idcards")
	p.upload("front photo", `all('input[data-test=front]')[0]`, files["front"])
	p.upload("back photo", `all('input[data-test=back]')[0]`, files["back"])
	p.click("recognize", `all('[data-test=recognize]')[0]`)
	p.waitLong("the fields", `all('input[data-test=field-id_number]').some((e) => e.value === `+jsString(sample.Person.IDNumber)+`)`, 90*time.Second)
	p.waitFor("the birth date", `all('input[data-test=field-birth]').some((e) => e.value === `+jsString(sample.Person.Birth.Format("2006-01-02"))+`)`)
	// What the applicant typed: a different name is marked.
	p.typeInto("typed name", `all('input[data-test=typed-name]')[0]`, "王小明")
	p.waitFor("mismatch marked", `all('[data-test=mismatch]').length === 1`)
	// The person corrects the read name to the applicant's and saves.
	p.typeInto("corrected name", `all('input[data-test=field-name]')[0]`, "王小明")
	p.waitFor("mismatch cleared", `all('[data-test=mismatch]').length === 0`)
	p.click("save", `all('[data-test=save]')[0]`)
	p.waitFor("saved", `all('[data-test=saved]').length`)
	p.click("verify", `all('[data-test=verify]')[0]`)
	p.waitLong("verification shown", `all('[data-test=verification]').some((e) => txt(e).includes('核验一致'))`, 30*time.Second)
}

// TestPhotoCodingFlow (FP-51–53): a licence photo → credit code and name
// → the registered entity → its code (issued with one click when it has
// none yet).
func TestPhotoCodingFlow(t *testing.T) {
	s := startStack(t)
	sample, files := ocrSample(t)
	p := adminPage(t, s)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if st := s.api(t, "POST", "/identity/v1/login", "", map[string]string{"username": "admin", "password": adminPW}, &login); st != 200 {
		t.Fatalf("login: %d", st)
	}
	lic := sample.Licence
	body := map[string]any{"credit_code": lic.CreditCode, "name": lic.Name, "entity_type": "enterprise", "legal_rep": lic.Representative,
		"established_on": "2020-05-01", "address": lic.Address, "district_code": lic.CreditCode[2:8], "industry_code": "5211"}
	if st := s.api(t, "POST", "/registry/v1/entities", login.AccessToken, body, nil); st != 201 && st != 200 {
		t.Fatalf("register entity: %d", st)
	}
	p.goTo("/ocr/coding")
	p.upload("licence photo", `all('input[data-test=licence]')[0]`, files["licence"])
	p.click("read", `all('[data-test=read]')[0]`)
	p.waitLong("the reading", `all('input[data-test=code]').some((e) => e.value.length === 18)`, 90*time.Second)
	// The correction step: whatever was read, the person sets the code and name as printed.
	p.typeInto("code", `all('input[data-test=code]')[0]`, lic.CreditCode)
	p.typeInto("name", `all('input[data-test=name]')[0]`, lic.Name)
	p.click("match", `all('[data-test=match]')[0]`)
	p.waitFor("the entity", `all('[data-test=chosen]').some((e) => txt(e).includes(`+jsString(lic.CreditCode)+`))`)
	p.waitFor("its code or the issue button", `all('[data-test=qr]').length || all('[data-test=issue]').length`)
	var issue bool
	if err := p.eval(`all('[data-test=issue]').length > 0`, &issue); err != nil {
		t.Fatal(err)
	}
	if issue {
		p.click("issue", `all('[data-test=issue]')[0]`)
	}
	p.waitFor("the active code with its poster", `all('[data-test=qr]').some((e) => txt(e).includes('有效') && e.querySelector('img') && txt(e).includes('海报'))`)
}
