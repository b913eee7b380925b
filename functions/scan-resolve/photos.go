package scanresolve

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// maxPhotoLinks bounds the photo links of one record on the public page,
// whatever count the registry holds.
const maxPhotoLinks = 20

// Photos of an inspection recorded by scanning are shown two ways:
//   - on the public page (FP-30, FP-32), as links /q/{token}/photos/{id}/{n},
//     answered only while the code is active and SCAN_PUBLIC_PHOTOS is on;
//   - in the console, /scan/v1/inspections/{id}/photos/{n}, for holders of
//     scan.inspection:view whose data scope holds the entity, whatever the
//     code's state.
// Both stream the object from storage; nothing is kept in Redis, photos
// are rare next to page scans.

// errNoPhoto is every refusal of a photo: a link that cannot exist, an
// inspection of another code, or one outside the caller's scope.
var errNoPhoto = errs.New(errs.NotFound, "照片不存在")

// handlePublicPhoto answers a photo link of the public page.
func (f *Function) handlePublicPhoto(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	id, n, ok := photoRef(r)
	if !f.cfg.PublicPhotos || !ok || !f.tokens.Valid(token) {
		// Like a forged token: no query for a link that cannot exist.
		httpx.Fail(w, r, errNoPhoto)
		return
	}
	set, err := selectPhotos(r.Context(), f.pool, id)
	switch {
	case errors.Is(err, errs.ErrNotFound) || (err == nil && set.token != token):
		httpx.Fail(w, r, errNoPhoto)
	case err != nil:
		httpx.Fail(w, r, err)
	case set.status != "active":
		httpx.Fail(w, r, errs.New(errs.NotFound, "该码已失效"))
	default:
		f.servePhoto(w, r, set.keys, n, "public, max-age=86400")
	}
}

// handleInspectionPhoto answers a photo for the console, of an entity
// inside the caller's data scope.
func (f *Function) handleInspectionPhoto(w http.ResponseWriter, r *http.Request) {
	id, n, ok := photoRef(r)
	if !ok {
		httpx.Fail(w, r, errNoPhoto)
		return
	}
	set, err := selectPhotos(r.Context(), f.pool, id)
	switch {
	case err != nil:
		httpx.Fail(w, r, err)
	case !scopeOf(r).Allows(set.district, set.township):
		httpx.Fail(w, r, errs.New(errs.NotFound, "检查记录不存在"))
	default:
		f.servePhoto(w, r, set.keys, n, "private, max-age=3600")
	}
}

// photoRef reads {inspection} and {n} (1-based) from the path.
func photoRef(r *http.Request) (string, int, bool) {
	id := r.PathValue("inspection")
	n, err := strconv.Atoi(r.PathValue("n"))
	return id, n, err == nil && n >= 1 && uuid.Validate(id) == nil
}

// servePhoto streams the nth of the inspection's photos.
func (f *Function) servePhoto(w http.ResponseWriter, r *http.Request, keys []string, n int, cache string) {
	if n > len(keys) {
		httpx.Fail(w, r, errNoPhoto)
		return
	}
	log := httpx.Logger(r.Context())
	body, info, err := f.blob.Get(r.Context(), keys[n-1])
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			log.WarnContext(r.Context(), "inspection photo missing from storage", "key", keys[n-1])
			httpx.Fail(w, r, errNoPhoto)
			return
		}
		httpx.Fail(w, r, errs.Wrap(errs.Unavailable, "照片暂时无法读取，请稍后重试", err))
		return
	}
	defer body.Close()
	h := w.Header()
	// Only the image types readPhotos accepted are stored; nosniff and an
	// empty CSP keep a browser from treating one as anything else.
	h.Set("Content-Type", info.ContentType)
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	if info.ETag != "" {
		h.Set("ETag", `"`+info.ETag+`"`)
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, body); err != nil {
		log.WarnContext(r.Context(), "send inspection photo", "key", keys[n-1], "err", err)
	}
}

// consolePhotoURLs are the console's links to an inspection's photos.
func consolePhotoURLs(id string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "/scan/v1/inspections/" + id + "/photos/" + strconv.Itoa(i+1)
	}
	return out
}
