package evidencecapture

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"testing"

	"github.com/sjzamr/smartreg/shared/auditlog/auditlogtest"
	"github.com/sjzamr/smartreg/shared/auth/authtest"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

// FP-8: sealing a bundle writes its operation-log row (who, from where,
// the bundle as sealed with its hashes and log index) in the bundle's
// transaction; a refused upload writes none.
func TestEveryChangeIsInTheOperationLog(t *testing.T) {
	h := newHarnessOn(t, storetest.New(t, append(Migrations(), auditlogtest.Migration())...), t.TempDir()).started(t)
	bearer := h.iss.Bearer(authtest.CityWide(PermBundle + ":create"))
	upload := func(title string) int {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("title", title)
		fw, _ := mw.CreateFormFile("file", "现场.txt")
		fw.Write([]byte("价签不符"))
		mw.Close()
		req := httptest.NewRequest("POST", "/evidence/v1/bundles", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return h.do(t, bearer, req).Code
	}
	if c := upload(""); c != 400 {
		t.Fatalf("blank title: %d", c)
	}
	if c := upload("现场记录"); c != 201 {
		t.Fatalf("upload: %d", c)
	}
	ops := auditlogtest.Ops(t, h.f.pool, "")
	if len(ops) != 1 {
		t.Fatalf("%d operation rows, want 1", len(ops))
	}
	o := ops[0]
	var sha, idx string
	h.f.pool.QueryRow(t.Context(), `SELECT sha256, log_index::text FROM evidence.bundles WHERE id::text = $1`, o.ObjectID).Scan(&sha, &idx)
	if o.Action != "evidence.bundle.seal" || o.ObjectType != "evidence_bundle" || o.Source != Source || o.UserID == "" || o.IP == "" ||
		len(o.Before) != 0 || auditlogtest.Field(o.After, "sha256") != sha || sha == "" || auditlogtest.Field(o.After, "title") != "现场记录" {
		t.Errorf("row %+v (after %s), bundle sha %s index %s", o, o.After, sha, idx)
	}
}
