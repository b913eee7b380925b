package scanresolve

import (
	"context"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/conformance"
)

// scopeFixture is two entities with codes, scans and inspections with
// photos: one of 长安区 (130102, inside the caller's scope), one of 桥西区
// (130104, outside it), each inspected by an inspector of its own.
type scopeFixture struct {
	inTok, inCC, inID    string
	outTok, outCC, outID string
	bearer               string // an inspector of 长安区 holding every permission of the routes
}

const foreignInspector = "桥西检查员甲"

func newScopeFixture(t *testing.T, e *env, f *Function) scopeFixture {
	t.Helper()
	h := f.Handler()
	var fx scopeFixture
	fx.inTok, fx.inCC = e.entityIn("130102", "active", "长安区福源商贸有限公司")
	fx.outTok, fx.outCC = e.entityIn("130104", "active", "桥西区福源商贸有限公司")
	cityWide := func(name string) string {
		return e.issuer.Bearer(auth.Principal{UserID: "u-" + name, Name: name, Roles: []string{"inspector"}, Scope: auth.All()})
	}
	fx.inID = recordWithPhoto(t, h, fx.inTok, cityWide("长安检查员乙"), pngBytes(t)).ID
	fx.outID = recordWithPhoto(t, h, fx.outTok, cityWide(foreignInspector), pngBytes(t)).ID
	for _, tok := range []string{fx.inTok, fx.outTok} {
		if rec := get(t, h, "/q/"+tok); rec.Code != http.StatusOK {
			t.Fatalf("scan %s: %d", tok, rec.Code)
		}
	}
	if err := f.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := authtest.InDistricts(conformance.Permissions(h), "130102")
	p.Name, p.Roles = "长安检查员丙", []string{"inspector"}
	fx.bearer = e.issuer.Bearer(p)
	return fx
}

// TestConformance runs the platform's shared checks: no forged event gets
// in, every route declares its access and entity data and requires only
// grantable permissions, and no route reads or records inspections,
// photos or statistics of an entity outside the caller's data scope
// (FP-6; issue 10: a 长安区 user listed 桥西区 inspections with the
// inspectors' names, downloaded their photos and recorded inspections on
// 桥西区 entities).
func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	h := f.Handler()
	conformance.Events(t, Name, f)
	conformance.Routes(t, h)

	fx := newScopeFixture(t, e, f)
	conformance.Scope(t, h, conformance.ScopeFixture{
		Bearer:  fx.bearer,
		Inside:  map[string]string{"token": fx.inTok, "credit_code": fx.inCC, "inspection": fx.inID},
		Foreign: map[string]string{"token": fx.outTok, "credit_code": fx.outCC, "inspection": fx.outID},
		Params:  map[string]string{"n": "1"},
		Bodies: map[string]string{"POST /scan/v1/inspections": `{"token":"{{entity}}","kind":"inspection","title":"日常监督检查",` +
			`"authority":"石家庄市市场监督管理局","inspected_on":"2025-06-01","conclusion":"合格","items":[{"name":"证照公示","result":"合格"}]}`},
		Queries:        map[string]string{"GET /scan/v1/stats": "group=top", "GET /scan/v1/stats/export": "group=top&format=csv"},
		InsideMarkers:  []string{fx.inCC},
		ForeignMarkers: []string{fx.outCC, fx.outID, "桥西区福源商贸有限公司", foreignInspector},
	})
}

// The routes the shared scope test cannot probe the way a client reaches
// them: the list by code, the H5 form's multipart post with a photo, and
// the inspector's page.
func TestInspectionsStayInScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	h := f.Handler()
	fx := newScopeFixture(t, e, f)

	// The console lists by code too: a 桥西区 code answers as a missing one.
	rec := get(t, h, "/scan/v1/inspections?token="+fx.outTok, "Authorization", fx.bearer)
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), foreignInspector) {
		t.Errorf("list by a foreign code: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, h, "/scan/v1/inspections?token="+fx.inTok, "Authorization", fx.bearer); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), fx.inID) {
		t.Errorf("list by an inside code: %d %s", rec.Code, rec.Body)
	}
	// Naming an inside entity and a foreign code shows nothing foreign.
	if rec := get(t, h, "/scan/v1/inspections?credit_code="+fx.inCC+"&token="+fx.outTok, "Authorization", fx.bearer); rec.Code != http.StatusOK ||
		strings.Contains(rec.Body.String(), foreignInspector) || !strings.Contains(rec.Body.String(), `"total":0`) {
		t.Errorf("list of an inside entity by a foreign code: %d %s", rec.Code, rec.Body)
	}

	// The H5 form with a photo, on a 桥西区 code: refused before the photo
	// is stored, and nothing recorded.
	before := countPhotos(t, e.blobDir)
	body, ct := inspectionForm(t, fx.outTok, pngBytes(t), "现场.png")
	rec = postInspection(h, body, ct, fx.bearer, "text/html")
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "不在您的数据权限范围内") {
		t.Errorf("form post on a foreign code: %d %s", rec.Code, rec.Body)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM scan.inspections WHERE credit_code = $1`, fx.outCC).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d inspections of the foreign entity (%v), want only the fixture's 1", n, err)
	}
	if after := countPhotos(t, e.blobDir); after != before {
		t.Errorf("a refused inspection stored %d photos", after-before)
	}

	// The inspector's page offers the form only where it would be accepted.
	if page := get(t, h, "/q/"+fx.outTok, "Authorization", fx.bearer).Body.String(); strings.Contains(page, "提交检查记录") ||
		!strings.Contains(page, "不在您的数据权限范围内") || !strings.Contains(page, "桥西区福源商贸有限公司") {
		t.Errorf("a 长安区 inspector's page of a 桥西区 code offers the form or lacks the public page")
	}
	if page := get(t, h, "/q/"+fx.inTok, "Authorization", fx.bearer).Body.String(); !strings.Contains(page, "提交检查记录") {
		t.Error("a 长安区 inspector's page of a 长安区 code has no form")
	}
}

func countPhotos(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".png") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
