package documents

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/shared/auth"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// Template is a template's current version.
type Template struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Kind      string    `json:"kind"`
	KindName  string    `json:"kind_name"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Fields    []Field   `json:"fields"`
	Version   string    `json:"version"`
	Builtin   bool      `json:"builtin"`
	Active    bool      `json:"active"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	CreatedAt time.Time `json:"created_at"`
	version   Version
}

// TemplateVersion is one saved state of a template.
type TemplateVersion struct {
	Version      string    `json:"version"`
	Title        string    `json:"title"`
	Body         string    `json:"body"`
	Fields       []Field   `json:"fields"`
	Change       string    `json:"change"`
	Summary      string    `json:"summary"`
	RestoredFrom string    `json:"restored_from,omitempty"`
	SavedBy      string    `json:"saved_by"`
	SavedByName  string    `json:"saved_by_name"`
	SavedAt      time.Time `json:"saved_at"`
}

const templateColumns = `t.id, t.code, t.kind, t.title, t.body, t.fields, t.major, t.minor, t.patch, t.builtin, t.active,
	t.updated_by, t.updated_at, t.created_at`

func scanTemplate(row pgx.Row) (Template, error) {
	var t Template
	var fields []byte
	err := row.Scan(&t.ID, &t.Code, &t.Kind, &t.Title, &t.Body, &fields, &t.version.Major, &t.version.Minor, &t.version.Patch,
		&t.Builtin, &t.Active, &t.UpdatedBy, &t.UpdatedAt, &t.CreatedAt)
	if err != nil {
		return t, store.Classify(err)
	}
	t.Version, t.KindName = t.version.String(), templateKinds[t.Kind]
	return t, json.Unmarshal(fields, &t.Fields)
}

func listTemplates(ctx context.Context, q store.Querier, kind string, all bool) ([]Template, error) {
	var w store.Where
	if kind != "" {
		w.Add("t.kind = ?", kind)
	}
	if !all {
		w.Add("t.active")
	}
	rows, err := q.Query(ctx, `SELECT `+templateColumns+` FROM docs.templates t`+w.SQL()+` ORDER BY t.kind = 'credit_repair' DESC, t.kind, t.id`, w.Args()...)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Template, error) { return scanTemplate(r) })
	return out, store.Classify(err)
}

func getTemplate(ctx context.Context, q store.Querier, code string, lock bool) (Template, error) {
	sql := `SELECT ` + templateColumns + ` FROM docs.templates t WHERE t.code = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	return scanTemplate(q.QueryRow(ctx, sql, code))
}

func getTemplateByID(ctx context.Context, q store.Querier, id int64) (Template, error) {
	return scanTemplate(q.QueryRow(ctx, `SELECT `+templateColumns+` FROM docs.templates t WHERE t.id = $1`, id))
}

func insertTemplate(ctx context.Context, tx pgx.Tx, in TemplateInput, a actor, now time.Time) (int64, error) {
	fields, err := json.Marshal(in.Fields)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO docs.templates (code, kind, title, body, fields, major, minor, patch, created_by, created_at, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, 1, 0, 0, $6, $7, $6, $7) RETURNING id`, in.Code, in.Kind, in.Title, in.Body, fields, a.Name, now).Scan(&id)
	return id, store.Classify(err)
}

func updateTemplate(ctx context.Context, tx pgx.Tx, id int64, in TemplateInput, v Version, a actor, now time.Time) error {
	fields, err := json.Marshal(in.Fields)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE docs.templates SET kind = $2, title = $3, body = $4, fields = $5, major = $6, minor = $7, patch = $8,
		updated_by = $9, updated_at = $10 WHERE id = $1`, id, in.Kind, in.Title, in.Body, fields, v.Major, v.Minor, v.Patch, a.Name, now)
	return store.Classify(err)
}

func insertTemplateVersion(ctx context.Context, tx pgx.Tx, id int64, v Version, in TemplateInput, change, restoredFrom string, a actor, now time.Time) error {
	fields, err := json.Marshal(in.Fields)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO docs.template_versions (template_id, major, minor, patch, title, body, fields, change, summary,
			restored_from, saved_by, saved_by_name, saved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		id, v.Major, v.Minor, v.Patch, in.Title, in.Body, fields, change, in.Summary, restoredFrom, a.ID, a.Name, now)
	return store.Classify(err)
}

const templateVersionColumns = `major, minor, patch, title, body, fields, change, summary, restored_from, saved_by, saved_by_name, saved_at`

func scanTemplateVersion(row pgx.Row) (TemplateVersion, error) {
	var v TemplateVersion
	var ver Version
	var fields []byte
	if err := row.Scan(&ver.Major, &ver.Minor, &ver.Patch, &v.Title, &v.Body, &fields, &v.Change, &v.Summary, &v.RestoredFrom,
		&v.SavedBy, &v.SavedByName, &v.SavedAt); err != nil {
		return v, store.Classify(err)
	}
	v.Version = ver.String()
	return v, json.Unmarshal(fields, &v.Fields)
}

func templateVersions(ctx context.Context, q store.Querier, id int64) ([]TemplateVersion, error) {
	rows, err := q.Query(ctx, `SELECT `+templateVersionColumns+` FROM docs.template_versions WHERE template_id = $1
		ORDER BY major DESC, minor DESC, patch DESC`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TemplateVersion, error) { return scanTemplateVersion(r) })
	return out, store.Classify(err)
}

func templateVersion(ctx context.Context, q store.Querier, id int64, v Version) (TemplateVersion, error) {
	return scanTemplateVersion(q.QueryRow(ctx, `SELECT `+templateVersionColumns+` FROM docs.template_versions
		WHERE template_id = $1 AND major = $2 AND minor = $3 AND patch = $4`, id, v.Major, v.Minor, v.Patch))
}

// Document states (FP-43, FP-45).
var stateNames = map[string]string{
	"draft":     "草稿",
	"submitted": "已提交",
	"approved":  "审核通过",
	"rejected":  "已退回",
	"published": "已发布",
}

// Document is a document with its current version.
type Document struct {
	ID              int64      `json:"id"`
	TemplateCode    string     `json:"template_code"`
	TemplateTitle   string     `json:"template_title"`
	Kind            string     `json:"kind"`
	KindName        string     `json:"kind_name"`
	TemplateVersion string     `json:"template_version"`
	CreditCode      string     `json:"credit_code"`
	EntityName      string     `json:"entity_name"`
	DistrictCode    string     `json:"district_code"`
	TownshipCode    string     `json:"township_code"`
	Title           string     `json:"title"`
	State           string     `json:"state"`
	StateName       string     `json:"state_name"`
	Version         string     `json:"version"`
	OwnerID         string     `json:"owner_id"`
	OwnerName       string     `json:"owner_name"`
	RejectReason    string     `json:"reject_reason"`
	ReviewedBy      string     `json:"reviewed_by"`
	ReviewedAt      *time.Time `json:"reviewed_at"`
	PublishedAt     *time.Time `json:"published_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	// Access is what the caller may do with it: read, edit, print, share.
	Access []string `json:"access"`

	values      map[string]string
	version     Version
	tmplVersion Version
	templateID  int64
	ownerDept   string
}

// docColumns read a document with its template and current version.
const docColumns = `d.id, t.id, t.code, t.title, t.kind, v.template_major, v.template_minor, v.template_patch, d.credit_code, d.entity_name,
	d.district_code, d.township_code, d.title, d.state, d.major, d.minor, d.patch, d.owner_id, d.owner_name, d.owner_dept,
	d.reject_reason, d.reviewed_by, d.reviewed_at, d.published_at, d.created_at, d.updated_at, v."values"`

const docFrom = ` FROM docs.documents d JOIN docs.templates t ON t.id = d.template_id
	JOIN docs.document_versions v ON v.document_id = d.id AND (v.major, v.minor, v.patch) = (d.major, d.minor, d.patch)`

func scanDoc(row pgx.Row) (Document, error) {
	var d Document
	var values []byte
	err := row.Scan(&d.ID, &d.templateID, &d.TemplateCode, &d.TemplateTitle, &d.Kind, &d.tmplVersion.Major, &d.tmplVersion.Minor,
		&d.tmplVersion.Patch, &d.CreditCode, &d.EntityName, &d.DistrictCode, &d.TownshipCode, &d.Title, &d.State,
		&d.version.Major, &d.version.Minor, &d.version.Patch, &d.OwnerID, &d.OwnerName, &d.ownerDept, &d.RejectReason,
		&d.ReviewedBy, &d.ReviewedAt, &d.PublishedAt, &d.CreatedAt, &d.UpdatedAt, &values)
	if err != nil {
		return d, store.Classify(err)
	}
	d.Version, d.TemplateVersion = d.version.String(), d.tmplVersion.String()
	d.KindName, d.StateName = templateKinds[d.Kind], stateNames[d.State]
	return d, json.Unmarshal(values, &d.values)
}

func getDocument(ctx context.Context, q store.Querier, id int64, lock bool) (Document, error) {
	sql := `SELECT ` + docColumns + docFrom + ` WHERE d.id = $1`
	if lock {
		sql += ` FOR UPDATE OF d`
	}
	return scanDoc(q.QueryRow(ctx, sql, id))
}

func insertDocument(ctx context.Context, tx pgx.Tx, d Document, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO docs.documents (template_id, credit_code, entity_name, district_code, township_code, title, state,
			major, minor, patch, owner_id, owner_name, owner_dept, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'draft', 1, 0, 0, $7, $8, $9, $10, $10) RETURNING id`,
		d.templateID, d.CreditCode, d.EntityName, d.DistrictCode, d.TownshipCode, d.Title, d.OwnerID, d.OwnerName, d.ownerDept, now).Scan(&id)
	return id, store.Classify(err)
}

// versionRow is a document version as it is written.
type versionRow struct {
	v, tv         Version
	values        map[string]string
	text          string
	change, kind  string
	summary, note string
	by            actor
	at            time.Time
}

func insertDocVersion(ctx context.Context, tx pgx.Tx, id int64, r versionRow) error {
	values, err := json.Marshal(r.values)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO docs.document_versions (document_id, major, minor, patch, template_major, template_minor, template_patch,
			"values", text, change, kind, summary, note, saved_by, saved_by_name, saved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		id, r.v.Major, r.v.Minor, r.v.Patch, r.tv.Major, r.tv.Minor, r.tv.Patch, values, r.text, r.change, r.kind,
		r.summary, r.note, r.by.ID, r.by.Name, r.at)
	return store.Classify(err)
}

// setCurrent points the document at version v.
func setCurrent(ctx context.Context, tx pgx.Tx, id int64, v Version, search string, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE docs.documents SET major = $2, minor = $3, patch = $4, search_text = $5, updated_at = $6 WHERE id = $1`,
		id, v.Major, v.Minor, v.Patch, search, now)
	return store.Classify(err)
}

// DocumentVersion is one saved state of a document.
type DocumentVersion struct {
	Version         string            `json:"version"`
	TemplateVersion string            `json:"template_version"`
	Values          map[string]string `json:"values"`
	Text            string            `json:"text"`
	Change          string            `json:"change"`
	Kind            string            `json:"kind"` // edit | restore | correction
	Summary         string            `json:"summary"`
	Note            string            `json:"note"` // the correction note
	SavedBy         string            `json:"saved_by"`
	SavedByName     string            `json:"saved_by_name"`
	SavedAt         time.Time         `json:"saved_at"`
	// Publication is "", "published" or "corrected" (已更正: replaced by a
	// correction, still shown and verifiable).
	Publication     string     `json:"publication"`
	PublicationName string     `json:"publication_name"`
	VerifyURL       string     `json:"verify_url"`
	PublishedAt     *time.Time `json:"published_at"`
	PDFSHA256       string     `json:"pdf_sha256"`
	DOCXSHA256      string     `json:"docx_sha256"`

	v, tv      Version
	verifyCode string
	pdfKey     string
	docxKey    string
}

var publicationNames = map[string]string{"": "", "published": "已发布", "corrected": "已更正"}

const docVersionColumns = `major, minor, patch, template_major, template_minor, template_patch, "values", text, change, kind, summary, note,
	saved_by, saved_by_name, saved_at, publication, coalesce(verify_code, ''), published_at, pdf_key, pdf_sha256, docx_key, docx_sha256`

func scanDocVersion(row pgx.Row) (DocumentVersion, error) {
	var v DocumentVersion
	var values []byte
	err := row.Scan(&v.v.Major, &v.v.Minor, &v.v.Patch, &v.tv.Major, &v.tv.Minor, &v.tv.Patch, &values, &v.Text, &v.Change, &v.Kind,
		&v.Summary, &v.Note, &v.SavedBy, &v.SavedByName, &v.SavedAt, &v.Publication, &v.verifyCode, &v.PublishedAt,
		&v.pdfKey, &v.PDFSHA256, &v.docxKey, &v.DOCXSHA256)
	if err != nil {
		return v, store.Classify(err)
	}
	v.Version, v.TemplateVersion, v.PublicationName = v.v.String(), v.tv.String(), publicationNames[v.Publication]
	return v, json.Unmarshal(values, &v.Values)
}

func docVersions(ctx context.Context, q store.Querier, id int64) ([]DocumentVersion, error) {
	rows, err := q.Query(ctx, `SELECT `+docVersionColumns+` FROM docs.document_versions WHERE document_id = $1
		ORDER BY major DESC, minor DESC, patch DESC`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DocumentVersion, error) { return scanDocVersion(r) })
	return out, store.Classify(err)
}

func docVersion(ctx context.Context, q store.Querier, id int64, v Version) (DocumentVersion, error) {
	return scanDocVersion(q.QueryRow(ctx, `SELECT `+docVersionColumns+` FROM docs.document_versions
		WHERE document_id = $1 AND major = $2 AND minor = $3 AND patch = $4`, id, v.Major, v.Minor, v.Patch))
}

// versionByCode finds a published (or corrected) version by the code of
// its verification page.
func versionByCode(ctx context.Context, q store.Querier, code string) (int64, DocumentVersion, error) {
	var id int64
	var v DocumentVersion
	rows, err := q.Query(ctx, `SELECT document_id, `+docVersionColumns+` FROM docs.document_versions WHERE verify_code = $1`, code)
	if err != nil {
		return 0, v, store.Classify(err)
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, v, errs.ErrNotFound
	}
	var values []byte
	err = rows.Scan(&id, &v.v.Major, &v.v.Minor, &v.v.Patch, &v.tv.Major, &v.tv.Minor, &v.tv.Patch, &values, &v.Text, &v.Change, &v.Kind,
		&v.Summary, &v.Note, &v.SavedBy, &v.SavedByName, &v.SavedAt, &v.Publication, &v.verifyCode, &v.PublishedAt,
		&v.pdfKey, &v.PDFSHA256, &v.docxKey, &v.DOCXSHA256)
	if err != nil {
		return 0, v, store.Classify(err)
	}
	v.Version, v.TemplateVersion, v.PublicationName = v.v.String(), v.tv.String(), publicationNames[v.Publication]
	return id, v, json.Unmarshal(values, &v.Values)
}

func publishVersion(ctx context.Context, tx pgx.Tx, id int64, v Version, code string, out outputs, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE docs.document_versions SET publication = 'published', verify_code = $5, published_at = $6,
			pdf_key = $7, pdf_sha256 = $8, docx_key = $9, docx_sha256 = $10
		WHERE document_id = $1 AND major = $2 AND minor = $3 AND patch = $4`,
		id, v.Major, v.Minor, v.Patch, code, now, out.pdfKey, out.pdfSHA, out.docxKey, out.docxSHA)
	return store.Classify(err)
}

// HistoryEvent is one workflow step of a document.
type HistoryEvent struct {
	Action     string    `json:"action"`
	ActionName string    `json:"action_name"`
	Version    string    `json:"version"`
	ActorID    string    `json:"actor_id"`
	ActorName  string    `json:"actor_name"`
	Reason     string    `json:"reason"`
	At         time.Time `json:"at"`
}

var actionNames = map[string]string{
	"created": "起草", "edited": "修改", "restored": "恢复版本", "submitted": "提交审核", "approved": "审核通过",
	"rejected": "退回", "published": "发布", "corrected": "更正",
}

func insertEvent(ctx context.Context, tx pgx.Tx, id int64, action string, v Version, a actor, reason string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO docs.document_events (document_id, action, version, actor_id, actor_name, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, action, v.String(), a.ID, a.Name, reason, now)
	return store.Classify(err)
}

func docEvents(ctx context.Context, q store.Querier, id int64) ([]HistoryEvent, error) {
	rows, err := q.Query(ctx, `SELECT action, version, actor_id, actor_name, reason, at FROM docs.document_events
		WHERE document_id = $1 ORDER BY id DESC`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryEvent, error) {
		var e HistoryEvent
		err := r.Scan(&e.Action, &e.Version, &e.ActorID, &e.ActorName, &e.Reason, &e.At)
		e.ActionName = actionNames[e.Action]
		return e, err
	})
	return out, store.Classify(err)
}

// Grant is one grantee's access to a document (FP-42).
type Grant struct {
	Kind      string    `json:"kind"` // user | role | dept
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Perms     []string  `json:"perms"`
	GrantedBy string    `json:"granted_by"`
	GrantedAt time.Time `json:"granted_at"`
}

func docGrants(ctx context.Context, q store.Querier, id int64) ([]Grant, error) {
	rows, err := q.Query(ctx, `SELECT grantee_kind, grantee_id, grantee_name, perms, granted_by, granted_at FROM docs.grants
		WHERE document_id = $1 ORDER BY grantee_kind, grantee_id`, id)
	if err != nil {
		return nil, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Grant, error) {
		var g Grant
		return g, r.Scan(&g.Kind, &g.ID, &g.Name, &g.Perms, &g.GrantedBy, &g.GrantedAt)
	})
	return out, store.Classify(err)
}

func upsertGrant(ctx context.Context, tx pgx.Tx, id int64, g Grant) error {
	_, err := tx.Exec(ctx, `INSERT INTO docs.grants (document_id, grantee_kind, grantee_id, grantee_name, perms, granted_by, granted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (document_id, grantee_kind, grantee_id) DO UPDATE SET grantee_name = EXCLUDED.grantee_name,
			perms = EXCLUDED.perms, granted_by = EXCLUDED.granted_by, granted_at = EXCLUDED.granted_at`,
		id, g.Kind, g.ID, g.Name, g.Perms, g.GrantedBy, g.GrantedAt)
	return store.Classify(err)
}

func deleteGrant(ctx context.Context, tx pgx.Tx, id int64, kind, grantee string) (Grant, error) {
	var g Grant
	err := tx.QueryRow(ctx, `DELETE FROM docs.grants WHERE document_id = $1 AND grantee_kind = $2 AND grantee_id = $3
		RETURNING grantee_kind, grantee_id, grantee_name, perms, granted_by, granted_at`, id, kind, grantee).
		Scan(&g.Kind, &g.ID, &g.Name, &g.Perms, &g.GrantedBy, &g.GrantedAt)
	return g, store.Classify(err)
}

// Filter is a document search (FP-45: by entity, type, state, dates and
// full text), always within what the caller may read.
type Filter struct {
	CreditCode string
	Entity     string // part of the entity's name
	Template   string // template code
	Kind       string
	State      string
	From, To   *time.Time // updated on or after From, before To
	Text       string     // anywhere in the current text
	Mine       bool       // only the caller's own
}

// readable is the SQL predicate of the documents p may read: inside p's
// data scope, and p's own, granted to p (as a user, one of p's roles or
// p's department), or, for reviewers and publishers, past the draft.
func readable(w *store.Where, p *auth.Principal) {
	w.AddWith(func(args *[]any) string { return p.Scope.Filter("d.district_code", "d.township_code", args) })
	official := p.Can(PermDocument, "review") || p.Can(PermDocument, "publish")
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	w.Add(`(d.owner_id = ? OR (? AND d.state <> 'draft') OR EXISTS (SELECT 1 FROM docs.grants g WHERE g.document_id = d.id AND
		((g.grantee_kind = 'user' AND g.grantee_id = ?) OR (g.grantee_kind = 'role' AND g.grantee_id = ANY(?::text[]))
		 OR (g.grantee_kind = 'dept' AND g.grantee_id = ? AND ? <> ''))))`,
		p.UserID, official, p.UserID, roles, p.DeptID, p.DeptID)
}

func searchDocuments(ctx context.Context, q store.Querier, p *auth.Principal, f Filter, limit, offset int) ([]Document, int, error) {
	var w store.Where
	readable(&w, p)
	if f.CreditCode != "" {
		w.Add("d.credit_code = ?", f.CreditCode)
	}
	if f.Entity != "" {
		w.Add("d.entity_name ILIKE ?", store.Contains(f.Entity))
	}
	if f.Template != "" {
		w.Add("t.code = ?", f.Template)
	}
	if f.Kind != "" {
		w.Add("t.kind = ?", f.Kind)
	}
	if f.State != "" {
		w.Add("d.state = ?", f.State)
	}
	if f.From != nil {
		w.Add("d.updated_at >= ?", *f.From)
	}
	if f.To != nil {
		w.Add("d.updated_at < ?", *f.To)
	}
	if f.Text != "" {
		w.Add("d.search_text ILIKE ?", store.Contains(f.Text))
	}
	if f.Mine {
		w.Add("d.owner_id = ?", p.UserID)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM docs.documents d JOIN docs.templates t ON t.id = d.template_id`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, store.Classify(err)
	}
	rows, err := q.Query(ctx, `SELECT `+docColumns+docFrom+w.SQL()+` ORDER BY d.updated_at DESC, d.id DESC LIMIT `+w.Next(limit)+
		` OFFSET `+w.Next(offset), w.Args()...)
	if err != nil {
		return nil, 0, store.Classify(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Document, error) { return scanDoc(r) })
	return out, total, store.Classify(err)
}

// link is a forward link as stored.
type link struct {
	id         int64
	documentID int64
	v          Version
	format     string
	expiresAt  time.Time
}

func insertLink(ctx context.Context, tx pgx.Tx, tokenHash string, l link, by string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO docs.links (token_sha256, document_id, major, minor, patch, format, expires_at, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, tokenHash, l.documentID, l.v.Major, l.v.Minor, l.v.Patch, l.format, l.expiresAt, by, now)
	return store.Classify(err)
}

func useLink(ctx context.Context, tx pgx.Tx, tokenHash string) (link, error) {
	var l link
	err := tx.QueryRow(ctx, `UPDATE docs.links SET downloads = downloads + 1 WHERE token_sha256 = $1
		RETURNING id, document_id, major, minor, patch, format, expires_at`, tokenHash).
		Scan(&l.id, &l.documentID, &l.v.Major, &l.v.Minor, &l.v.Patch, &l.format, &l.expiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, errs.New(errs.NotFound, "链接不存在或已失效")
	}
	return l, store.Classify(err)
}
