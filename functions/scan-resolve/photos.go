package scanresolve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
	"github.com/sjzamr/smartreg/shared/store"
)

// maxPhotoLinks bounds the photo links of one record on the public page,
// whatever count the registry holds.
const maxPhotoLinks = 20

// Photos of an inspection recorded by scanning are shown two ways:
//   - on the public page (FP-30, FP-32), as links /q/{token}/photos/{id}/{n},
//     answered only while the code is active and SCAN_PUBLIC_PHOTOS is on;
//   - in the console, /scan/v1/inspections/{id}/photos/{n}, for holders of
//     scan.inspection:view, whatever the code's state.
// Both stream the object from storage; nothing is kept in Redis, photos
// are rare next to page scans.

// handlePublicPhoto answers a photo link of the public page.
func (f *Function) handlePublicPhoto(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	id, n, ok := photoRef(r)
	if !f.cfg.PublicPhotos || !ok || !f.tokens.Valid(token) {
		// Like a forged token: no query for a link that cannot exist.
		f.fail(w, r, errs.New(errs.NotFound, "照片不存在"))
		return
	}
	set, err := f.inspectionPhotos(r.Context(), id)
	switch {
	case errors.Is(err, errs.ErrNotFound) || (err == nil && set.token != token):
		f.fail(w, r, errs.New(errs.NotFound, "照片不存在"))
	case err != nil:
		f.fail(w, r, err)
	case set.status != "active":
		f.fail(w, r, errs.New(errs.NotFound, "该码已失效"))
	default:
		f.servePhoto(w, r, set.keys, n, "public, max-age=86400")
	}
}

// handleInspectionPhoto answers a photo for the console.
func (f *Function) handleInspectionPhoto(w http.ResponseWriter, r *http.Request) {
	id, n, ok := photoRef(r)
	if !ok {
		f.fail(w, r, errs.New(errs.NotFound, "照片不存在"))
		return
	}
	set, err := f.inspectionPhotos(r.Context(), id)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.servePhoto(w, r, set.keys, n, "private, max-age=3600")
}

// photoSet is an inspection's photos and the code it was recorded on.
type photoSet struct {
	token, status string // status of the code now ("" when it is gone)
	keys          []string
}

// inspectionPhotos reads inspection id's photo keys and its code's status.
func (f *Function) inspectionPhotos(ctx context.Context, id string) (photoSet, error) {
	var s photoSet
	var keys []byte
	err := f.pool.QueryRow(ctx, `SELECT i.token, coalesce(c.status, ''), i.photos FROM scan.inspections i
		LEFT JOIN qr.codes c ON c.token = i.token WHERE i.id = $1`, id).Scan(&s.token, &s.status, &keys)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, errs.Wrap(errs.NotFound, "检查记录不存在", err)
	}
	if err != nil {
		return s, store.Classify(err)
	}
	return s, json.Unmarshal(keys, &s.keys)
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
		f.fail(w, r, errs.New(errs.NotFound, "照片不存在"))
		return
	}
	body, info, err := f.blobs.Get(r.Context(), keys[n-1])
	if err != nil {
		if errors.Is(err, errs.ErrNotFound) {
			f.log.Warn("inspection photo missing from storage", "key", keys[n-1])
			f.fail(w, r, errs.New(errs.NotFound, "照片不存在"))
			return
		}
		f.fail(w, r, errs.Wrap(errs.Unavailable, "照片暂时无法读取，请稍后重试", err))
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
		f.log.Warn("send inspection photo", "key", keys[n-1], "err", err)
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

// InspectionPage is a page of inspections recorded by scanning.
type InspectionPage struct {
	Items    []Inspection `json:"items"`
	Total    int          `json:"total"`
	Page     int          `json:"page"`
	PageSize int          `json:"page_size"`
}

// handleListInspections lists an entity's (or a code's) inspections,
// newest first, for the console's 一户一档.
func (f *Function) handleListInspections(w http.ResponseWriter, r *http.Request) {
	pg, err := httpx.ParsePage(r)
	q := r.URL.Query()
	cc, token := strings.ToUpper(strings.TrimSpace(q.Get("credit_code"))), strings.TrimSpace(q.Get("token"))
	if err == nil && cc == "" && token == "" {
		err = errs.Fields([]errs.FieldError{{Field: "credit_code", Message: "请提供统一社会信用代码或二维码标识"}})
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	out, err := f.listInspections(r.Context(), cc, token, pg)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, out)
}

func (f *Function) listInspections(ctx context.Context, cc, token string, pg httpx.Page) (InspectionPage, error) {
	out := InspectionPage{Items: []Inspection{}, Page: pg.Page, PageSize: pg.Size}
	rows, err := f.pool.Query(ctx, `SELECT id, token, credit_code, kind, title, authority, to_char(inspected_on, 'YYYY-MM-DD'),
			items, conclusion, remarks, jsonb_array_length(photos), inspector_id, inspector_name, created_at, count(*) OVER ()
		FROM scan.inspections
		WHERE ($1 = '' OR credit_code = $1) AND ($2 = '' OR token = $2)
		ORDER BY created_at DESC, id LIMIT $3 OFFSET $4`, cc, token, pg.Size, pg.Offset())
	if err != nil {
		return out, store.Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var in Inspection
		var items []byte
		var photos int
		if err := rows.Scan(&in.ID, &in.Token, &in.CreditCode, &in.Kind, &in.Title, &in.Authority, &in.InspectedOn, &items,
			&in.Conclusion, &in.Remarks, &photos, &in.InspectorID, &in.InspectorName, &in.CreatedAt, &out.Total); err != nil {
			return out, store.Classify(err)
		}
		if err := json.Unmarshal(items, &in.Items); err != nil {
			return out, err
		}
		in.PhotoURLs = consolePhotoURLs(in.ID, photos)
		out.Items = append(out.Items, in)
	}
	return out, store.Classify(rows.Err())
}
