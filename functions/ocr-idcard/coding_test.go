package ocridcard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/codes"
)

// registryStub creates the registry's published read functions that photo
// coding calls, over a table shaped as their results (named like no real
// registry table): functions never import each other, so the registry's
// migrations are not applied here. The real functions are tested by the
// registry (TestNameCandidates, TestPublicPageExcludesNonPublic).
const registryStub = `
CREATE SCHEMA IF NOT EXISTS registry;
CREATE TABLE registry.stub_coding_entities (credit_code text PRIMARY KEY, name text, entity_type text, legal_rep text,
    address text, district_code text, township_code text, status text);
CREATE FUNCTION registry.public_page(code text)
 RETURNS TABLE (credit_code text, name text, entity_type text, legal_rep text, established_on text,
    registered_capital text, business_scope text, address text, district_code text, township_code text,
    industry_code text, status text, version int, updated_at timestamptz, records json)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT s.credit_code, s.name, s.entity_type, s.legal_rep, NULL, NULL, NULL, s.address, s.district_code,
    s.township_code, NULL, s.status, 1, now(), NULL::json FROM registry.stub_coding_entities s WHERE s.credit_code = code $$;
CREATE FUNCTION registry.name_candidates(q text, district text, lim int)
 RETURNS TABLE (credit_code text, name text, entity_type text, legal_rep text, address text,
    district_code text, township_code text, status text, similarity real)
 LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT s.credit_code, s.name, s.entity_type, s.legal_rep, s.address, s.district_code, s.township_code, s.status,
    (CASE WHEN s.name = q THEN 1 ELSE 0.5 END)::real FROM registry.stub_coding_entities s
    WHERE position(substr(q, 1, 6) IN s.name) > 0 AND (coalesce(district, '') = '' OR s.district_code = district)
    ORDER BY 9 DESC, 1 LIMIT lim $$;
`

func creditCode(t *testing.T, district, org string) string {
	t.Helper()
	c, err := codes.MakeCreditCode("91", district, org)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// codingEntities puts one entity in 长安区 (130102) and one in 桥西区
// (130104), with names sharing their start.
func (h *harness) codingEntities(t *testing.T) (inside, foreign string) {
	t.Helper()
	inside, foreign = creditCode(t, "130102", "MA0ABCDE"), creditCode(t, "130104", "MA0FGHJK")
	for _, e := range [][]string{{inside, "石家庄市恒达建材有限公司", "130102"}, {foreign, "石家庄市恒达物流有限公司", "130104"}} {
		if _, err := h.pool.Exec(context.Background(), `INSERT INTO registry.stub_coding_entities
			VALUES ($1, $2, 'enterprise', '张建国', '石家庄市', $3, '', 'active')`, e[0], e[1], e[2]); err != nil {
			t.Fatal(err)
		}
	}
	return inside, foreign
}

func (h *harness) matches(t *testing.T, bearer string, q url.Values) (int, Matches, string) {
	t.Helper()
	rec := h.do(t, bearer, httptest.NewRequest("GET", "/ocr/v1/coding/matches?"+q.Encode(), nil))
	var m Matches
	json.Unmarshal(rec.Body.Bytes(), &m)
	return rec.Code, m, rec.Body.String()
}

// FP-52: a reading matches the registry by its exact code, else by name
// within the district, and only inside the caller's scope.
func TestCodingMatches(t *testing.T) {
	h := newHarness(t)
	inside, foreign := h.codingEntities(t)
	city := h.all()
	if _, m, body := h.matches(t, city, url.Values{"credit_code": {foreign}, "name": {"石家庄市恒达建材有限公司"}}); m.By != "credit_code" || len(m.Candidates) != 1 || m.Candidates[0].CreditCode != foreign {
		t.Fatalf("exact code: %s", body)
	}
	// A code failing its check falls back to the name, ranked.
	bad := inside[:17] + "0"
	if inside[17] == '0' {
		bad = inside[:17] + "1"
	}
	if _, m, body := h.matches(t, city, url.Values{"credit_code": {bad}, "name": {"石家庄市恒达建材有限公司"}}); m.By != "name" || len(m.Candidates) != 2 || m.Candidates[0].CreditCode != inside {
		t.Fatalf("by name: %s", body)
	}
	if _, m, body := h.matches(t, city, url.Values{"name": {"石家庄市恒达建材有限公司"}, "district": {"130104"}}); len(m.Candidates) != 1 || m.Candidates[0].CreditCode != foreign {
		t.Fatalf("by name in a district: %s", body)
	}
	// Scoped to 长安区: the foreign entity is never shown, even by its code.
	scoped := h.iss.Bearer(authtest.InDistricts([]string{PermIDCard + ":view"}, "130102"))
	if _, m, body := h.matches(t, scoped, url.Values{"credit_code": {foreign}, "name": {"石家庄市恒达物流有限公司"}}); strings.Contains(body, foreign) || len(m.Candidates) != 1 || m.Candidates[0].CreditCode != inside {
		t.Fatalf("scope: %s", body)
	}
	if code, _, body := h.matches(t, city, url.Values{}); code != 400 || !strings.Contains(body, "名称") {
		t.Errorf("empty query: %d %s", code, body)
	}
	if code, _, _ := h.matches(t, city, url.Values{"name": {"x"}, "district": {"999999"}}); code != 400 {
		t.Errorf("bad district: %d", code)
	}
}

// FP-51: a generated licence photo is read with real Tesseract; the code
// passes GB 32100 (or is flagged for correction, never silently wrong).
func TestReadLicenceRoute(t *testing.T) {
	h := newHarness(t)
	s := card()
	rec := h.do(t, h.all(), upload(t, "/ocr/v1/licences", map[string][]byte{"photo": s.LicenceJPEG}))
	if rec.Code != http.StatusOK {
		t.Fatalf("read: %d %s", rec.Code, rec.Body)
	}
	var l LicenceReading
	json.Unmarshal(rec.Body.Bytes(), &l)
	if l.CreditCode.Value != s.Licence.CreditCode && !l.CreditCode.Flagged {
		t.Fatalf("wrong code %q (truth %q) not flagged", l.CreditCode.Value, s.Licence.CreditCode)
	}
	if l.CreditCode.Value == s.Licence.CreditCode && l.District != s.Licence.CreditCode[2:8] {
		t.Errorf("district %q", l.District)
	}
	if l.Name.Value != s.Licence.Name && !l.Uncertain {
		t.Errorf("name %q (truth %q) read wrong and not marked uncertain", l.Name.Value, s.Licence.Name)
	}
	for name, data := range map[string][]byte{"not an image": []byte("hello"), "no card": s.BackJPEG[:0]} {
		rec := h.do(t, h.all(), upload(t, "/ocr/v1/licences", map[string][]byte{"photo": data}))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "photo") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}
