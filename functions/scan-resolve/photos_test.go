package scanresolve

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/auth"
)

// recordWithPhoto posts an inspection with one photo as the inspector's
// app would and returns the answer.
func recordWithPhoto(t *testing.T, h http.Handler, token, bearer string, photo []byte) Inspection {
	t.Helper()
	body, ct := inspectionForm(t, token, photo, "现场.png")
	rec := postInspection(h, body, ct, bearer, "application/json")
	var out Inspection
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		t.Fatalf("record inspection: %d %s", rec.Code, rec.Body)
	}
	return out
}

// registryRecord adds the registry's record of an inspection recorded by
// scanning, with the details registry.inspectionRecord writes.
func (e *env) registryRecord(cc string, in Inspection, photos int) {
	e.t.Helper()
	d, _ := json.Marshal(map[string]any{"inspection_id": in.ID, "items": in.Items, "conclusion": in.Conclusion,
		"remarks": in.Remarks, "photos": photos, "source": "scan"})
	e.record(cc, in.Kind, in.Title, string(d))
}

func TestInspectionPhotosOnPublicPageAndConsole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := e.fn(e.pool, e.rdb, e.cfg())
	h := f.Handler()
	token, cc := e.entity("active", "有照片的超市")
	inspector := e.issuer.Bearer(auth.Principal{UserID: "u-insp", Name: "李检查", Roles: []string{"inspector"},
		Perms: []string{"scan.inspection:create", "scan.inspection:view"}, Scope: auth.All()})
	photo := pngBytes(t)
	in := recordWithPhoto(t, h, token, inspector, photo)
	if len(in.PhotoURLs) != 1 || in.PhotoURLs[0] != "/scan/v1/inspections/"+in.ID+"/photos/1" || in.InspectorName != "李检查" {
		t.Fatalf("answer = %+v", in)
	}
	e.registryRecord(cc, in, 1)

	link := "/q/" + token + "/photos/" + in.ID + "/1"
	page := get(t, h, "/q/"+token)
	if !strings.Contains(page.Body.String(), `href="`+link+`"`) {
		t.Fatalf("the public page has no link to the photo:\n%s", page.Body)
	}
	var v View
	if err := json.Unmarshal(get(t, h, "/q/"+token+".json").Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	var linked []string
	for _, s := range v.Sections {
		for _, r := range s.Records {
			linked = append(linked, r.Photos...)
		}
	}
	if len(linked) != 1 || linked[0] != link {
		t.Errorf("JSON photo links = %v, want [%s]", linked, link)
	}

	got := get(t, h, link)
	if got.Code != http.StatusOK || got.Header().Get("Content-Type") != "image/png" || !bytes.Equal(got.Body.Bytes(), photo) ||
		got.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("public photo: %d %s, %d bytes", got.Code, got.Header().Get("Content-Type"), got.Body.Len())
	}
	for _, bad := range []string{"/q/" + token + "/photos/" + in.ID + "/2", "/q/" + token + "/photos/" + in.ID + "/0",
		"/q/" + token + "/photos/not-a-uuid/1"} {
		if c := get(t, h, bad).Code; c != http.StatusNotFound {
			t.Errorf("%s answered %d, want 404", bad, c)
		}
	}
	// Another code's token does not open this inspection's photos.
	other, _ := e.entity("active", "别家")
	if c := get(t, h, "/q/"+other+"/photos/"+in.ID+"/1").Code; c != http.StatusNotFound {
		t.Errorf("photo through another code answered %d, want 404", c)
	}
	// A forged token is refused before any query.
	forged := token[:len(token)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(token, "A")]
	before := e.pgN.n.Load()
	if c := get(t, h, "/q/"+forged+"/photos/"+in.ID+"/1").Code; c != http.StatusNotFound {
		t.Errorf("forged token answered %d, want 404", c)
	}
	if n := e.pgN.n.Load() - before; n != 0 {
		t.Errorf("a forged photo link ran %d queries", n)
	}

	// The console lists the entity's inspections and opens the photo
	// whatever the code's state; the public link closes with the code.
	consoleURL := in.PhotoURLs[0]
	if c := get(t, h, consoleURL).Code; c != http.StatusUnauthorized {
		t.Errorf("console photo without login answered %d, want 401", c)
	}
	var list InspectionPage
	lr := get(t, h, "/scan/v1/inspections?credit_code="+cc, "Authorization", inspector)
	if lr.Code != http.StatusOK || json.Unmarshal(lr.Body.Bytes(), &list) != nil || list.Total != 1 || len(list.Items) != 1 ||
		list.Items[0].PhotoURLs[0] != consoleURL || len(list.Items[0].Items) != 2 || list.Items[0].Photos != nil {
		t.Fatalf("list: %d %s", lr.Code, lr.Body)
	}
	if c := get(t, h, "/scan/v1/inspections", "Authorization", inspector).Code; c != http.StatusBadRequest {
		t.Errorf("list without an entity answered %d, want 400", c)
	}
	e.setStatus(token, "invalid")
	if c := get(t, h, link).Code; c != http.StatusNotFound {
		t.Errorf("public photo of an invalid code answered %d, want 404", c)
	}
	cp := get(t, h, consoleURL, "Authorization", inspector)
	if cp.Code != http.StatusOK || !bytes.Equal(cp.Body.Bytes(), photo) {
		t.Errorf("console photo: %d, %d bytes", cp.Code, cp.Body.Len())
	}
}

func TestPublicPhotosCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.cfg()
	cfg.PublicPhotos = false
	f := e.fn(e.pool, e.rdb, cfg)
	h := f.Handler()
	token, cc := e.entity("active", "不公示照片的超市")
	inspector := e.issuer.Bearer(auth.Principal{UserID: "u-insp", Name: "李检查", Roles: []string{"inspector"}, Scope: auth.All()})
	in := recordWithPhoto(t, h, token, inspector, pngBytes(t))
	e.registryRecord(cc, in, 1)
	page := get(t, h, "/q/"+token).Body.String()
	if !strings.Contains(page, "食品安全抽查") || strings.Contains(page, "/photos/") {
		t.Fatalf("page shows the record without photo links? record shown: %v, link shown: %v",
			strings.Contains(page, "食品安全抽查"), strings.Contains(page, "/photos/"))
	}
	if c := get(t, h, "/q/"+token+"/photos/"+in.ID+"/1").Code; c != http.StatusNotFound {
		t.Errorf("photo link answered %d with public photos off, want 404", c)
	}
}
