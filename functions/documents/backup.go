package documents

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// backupTables are the document rows a backup holds, in the order a
// restore inserts them (references first), with the columns that order
// their rows and the serial column whose sequence a restore moves on.
// docs.backups, the log of backups itself, is not part of a backup.
var backupTables = []struct {
	name, order, serial string
}{
	{"templates", "id", "id"},
	{"template_versions", "template_id, major, minor, patch", ""},
	{"documents", "id", "id"},
	{"document_versions", "document_id, major, minor, patch", ""},
	{"document_events", "id", "id"},
	{"grants", "document_id, grantee_kind, grantee_id", ""},
	{"links", "id", "id"},
}

// BackupTables names the tables a backup holds, in restore order.
func BackupTables() []string {
	out := make([]string, len(backupTables))
	for i, t := range backupTables {
		out[i] = "docs." + t.name
	}
	return out
}

// Manifest lists a backup's files with their SHA-256 (FP-41). It is the
// backup's last file: a backup without one is incomplete.
type Manifest struct {
	Format    int              `json:"format"`
	Schema    string           `json:"schema"`
	Schedule  string           `json:"schedule"`
	CreatedAt time.Time        `json:"created_at"`
	Tables    []ManifestTable  `json:"tables"`
	Objects   []ManifestObject `json:"objects"`
}

// ManifestTable is one table's rows, one JSON object a line.
type ManifestTable struct {
	Table  string `json:"table"`
	File   string `json:"file"` // relative to the backup's prefix
	Rows   int    `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ManifestObject is one stored file of the documents.
type ManifestObject struct {
	Key    string `json:"key"`  // where it lives in the object store
	File   string `json:"file"` // relative to the backup's prefix
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// BackupRun is one backup, as GET /docs/v1/backups lists them.
type BackupRun struct {
	ID             int64      `json:"id"`
	Schedule       string     `json:"schedule"`
	Prefix         string     `json:"prefix"`
	Manifest       string     `json:"manifest"`
	ManifestSHA256 string     `json:"manifest_sha256"`
	Rows           int        `json:"rows"`
	Objects        int        `json:"objects"`
	Bytes          int64      `json:"bytes"`
	Status         string     `json:"status"` // running | done | failed | pruned
	Error          string     `json:"error"`
	StartedAt      time.Time  `json:"started_at"`
	FinishedAt     *time.Time `json:"finished_at"`
}

var schedules = map[string]bool{"daily": true, "weekly": true, "monthly": true, "manual": true}

// Backup copies every document row and every stored file into a prefix of
// its own under DOCS_BACKUP_PREFIX, with a manifest of hashes (FP-41). The
// rows are read in one repeatable-read snapshot, so they are consistent
// with each other and with the files they name. A tick delivered twice
// (eventID seen before, backup done) does nothing.
func (f *Function) Backup(ctx context.Context, schedule, eventID string) (BackupRun, error) {
	if !schedules[schedule] {
		return BackupRun{}, errs.Fields([]errs.FieldError{{Field: "schedule", Message: "备份周期应为 daily、weekly、monthly 或 manual"}})
	}
	now := f.now().UTC()
	var ev any
	if eventID != "" {
		ev = eventID
	}
	var run BackupRun
	err := f.pool.QueryRow(ctx, `INSERT INTO docs.backups (schedule, event_id, prefix, status, started_at)
		VALUES ($1, $2, '', 'running', $3) ON CONFLICT (event_id) DO NOTHING RETURNING id`, schedule, ev, now).Scan(&run.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		err := f.pool.QueryRow(ctx, `SELECT id FROM docs.backups WHERE event_id = $1`, eventID).Scan(&run.ID)
		if err != nil {
			return BackupRun{}, store.Classify(err)
		}
		prev, err := f.backupRun(ctx, run.ID)
		if err != nil || prev.Status == "done" {
			return prev, err
		}
		// A failed or interrupted attempt: this delivery tries again.
	} else if err != nil {
		return BackupRun{}, store.Classify(err)
	}
	prefix := fmt.Sprintf("%s%s/%s-%d/", f.cfg.BackupPrefix, schedule, now.Format("20060102T150405Z"), run.ID)
	m, size, err := f.writeBackup(ctx, prefix, schedule, now)
	var sum string
	if err == nil {
		var raw []byte
		if raw, err = json.MarshalIndent(m, "", "  "); err == nil {
			sum = sha256Hex(raw)
			_, err = f.blob.Put(ctx, prefix+"manifest.json", bytes.NewReader(raw), "application/json")
		}
	}
	status, msg := "done", ""
	if err != nil {
		status, msg = "failed", clip(err.Error(), 500)
	}
	rows := 0
	for _, t := range m.Tables {
		rows += t.Rows
	}
	if _, uerr := f.pool.Exec(context.WithoutCancel(ctx), `UPDATE docs.backups SET prefix = $2, manifest_sha256 = $3, rows = $4, objects = $5,
			bytes = $6, status = $7, error = $8, finished_at = $9 WHERE id = $1`,
		run.ID, prefix, sum, rows, len(m.Objects), size, status, msg, f.now().UTC()); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		f.log.ErrorContext(ctx, "documents backup failed", "schedule", schedule, "prefix", prefix, "err", err)
		return BackupRun{}, err
	}
	f.log.InfoContext(ctx, "documents backup done", "schedule", schedule, "prefix", prefix, "rows", rows, "objects", len(m.Objects))
	if err := f.prune(ctx, schedule); err != nil {
		// The new backup is whole; an old one left behind is retried by
		// the next run.
		f.log.WarnContext(ctx, "documents backup prune failed", "schedule", schedule, "err", err)
	}
	return f.backupRun(ctx, run.ID)
}

// prune deletes the files of the schedule's done backups beyond the ones
// it keeps, newest first; manual backups are kept until deleted by hand.
func (f *Function) prune(ctx context.Context, schedule string) error {
	keep := map[string]int{"daily": f.cfg.KeepDaily, "weekly": f.cfg.KeepWeekly, "monthly": f.cfg.KeepMonthly}[schedule]
	if keep == 0 {
		return nil
	}
	rows, err := f.pool.Query(ctx, `SELECT id, prefix FROM docs.backups WHERE schedule = $1 AND status = 'done'
		ORDER BY id DESC OFFSET $2`, schedule, keep)
	if err != nil {
		return store.Classify(err)
	}
	type old struct {
		id     int64
		prefix string
	}
	olds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (old, error) {
		var o old
		return o, r.Scan(&o.id, &o.prefix)
	})
	if err != nil {
		return store.Classify(err)
	}
	for _, o := range olds {
		if !strings.HasPrefix(o.prefix, f.cfg.BackupPrefix) {
			continue // never delete outside the backups' own prefix
		}
		files, err := f.blob.List(ctx, o.prefix, 0)
		if err != nil {
			return err
		}
		for _, fl := range files {
			if err := f.blob.Delete(ctx, fl.Key); err != nil {
				return err
			}
		}
		if _, err := f.pool.Exec(ctx, `UPDATE docs.backups SET status = 'pruned' WHERE id = $1`, o.id); err != nil {
			return store.Classify(err)
		}
	}
	return nil
}

func (f *Function) writeBackup(ctx context.Context, prefix, schedule string, now time.Time) (Manifest, int64, error) {
	m := Manifest{Format: 1, Schema: "docs", Schedule: schedule, CreatedAt: now, Tables: []ManifestTable{}, Objects: []ManifestObject{}}
	type object struct{ key, sha string }
	var objects []object
	dumps := map[string][]byte{}
	err := pgx.BeginTxFunc(ctx, f.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, t := range backupTables {
			rows, err := tx.Query(ctx, `SELECT to_jsonb(t)::text FROM docs.`+t.name+` t ORDER BY `+t.order)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			n := 0
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					rows.Close()
					return err
				}
				buf.WriteString(line)
				buf.WriteByte('\n')
				n++
			}
			if err := rows.Err(); err != nil {
				return err
			}
			dumps[t.name] = buf.Bytes()
			m.Tables = append(m.Tables, ManifestTable{Table: "docs." + t.name, File: "rows/" + t.name + ".jsonl", Rows: n})
		}
		rows, err := tx.Query(ctx, `SELECT k, s FROM docs.document_versions, LATERAL (VALUES (pdf_key, pdf_sha256), (docx_key, docx_sha256)) AS o(k, s)
			WHERE k <> '' ORDER BY k`)
		if err != nil {
			return err
		}
		objects, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (object, error) {
			var o object
			return o, r.Scan(&o.key, &o.sha)
		})
		return err
	})
	if err != nil {
		return m, 0, fmt.Errorf("documents: backup snapshot: %w", err)
	}
	var size int64
	for i := range m.Tables {
		t := &m.Tables[i]
		data := dumps[strings.TrimPrefix(t.Table, "docs.")]
		t.Bytes, t.SHA256 = int64(len(data)), sha256Hex(data)
		if _, err := f.blob.Put(ctx, prefix+t.File, bytes.NewReader(data), "application/x-ndjson"); err != nil {
			return m, size, err
		}
		size += t.Bytes
	}
	for _, o := range objects {
		data, err := readAll(ctx, f.blob, o.key)
		if err != nil {
			return m, size, fmt.Errorf("documents: backup %s: %w", o.key, err)
		}
		if sum := sha256Hex(data); sum != o.sha {
			return m, size, fmt.Errorf("documents: backup %s: stored SHA-256 %s, the row says %s", o.key, sum, o.sha)
		}
		mo := ManifestObject{Key: o.key, File: "objects/" + o.key, Bytes: int64(len(data)), SHA256: o.sha}
		if _, err := f.blob.Put(ctx, prefix+mo.File, bytes.NewReader(data), "application/octet-stream"); err != nil {
			return m, size, err
		}
		size += mo.Bytes
		m.Objects = append(m.Objects, mo)
	}
	return m, size, nil
}

func readAll(ctx context.Context, b Blob, key string) ([]byte, error) {
	rc, _, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func (f *Function) backupRun(ctx context.Context, id int64) (BackupRun, error) {
	var r BackupRun
	err := f.pool.QueryRow(ctx, `SELECT id, schedule, prefix, manifest_sha256, rows, objects, bytes, status, error, started_at, finished_at
		FROM docs.backups WHERE id = $1`, id).Scan(&r.ID, &r.Schedule, &r.Prefix, &r.ManifestSHA256, &r.Rows, &r.Objects, &r.Bytes,
		&r.Status, &r.Error, &r.StartedAt, &r.FinishedAt)
	if r.Prefix != "" {
		r.Manifest = r.Prefix + "manifest.json"
	}
	return r, store.Classify(err)
}

// Backups lists the latest backups, newest first.
func (f *Function) Backups(ctx context.Context, limit int) ([]BackupRun, error) {
	rows, err := f.pool.Query(ctx, `SELECT id FROM docs.backups ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, store.Classify(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, store.Classify(err)
	}
	out := []BackupRun{}
	for _, id := range ids {
		r, err := f.backupRun(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// RestoreResult is what a restore wrote.
type RestoreResult struct {
	ManifestSHA256 string         `json:"manifest_sha256"`
	Rows           map[string]int `json:"rows"`
	Objects        int            `json:"objects"`
}

// Restore puts a backup back (FP-41): every file is checked against the
// manifest first, then the rows go into an empty docs schema in one
// transaction (the sequences moved past them) and the files into the
// object store under their own keys. from holds the backup, to receives
// the files; they may be one store. A docs schema that holds any document
// row is refused: a restore never merges.
func Restore(ctx context.Context, pool *pgxpool.Pool, from, to Blob, manifestKey string) (RestoreResult, error) {
	res := RestoreResult{Rows: map[string]int{}}
	raw, err := readAll(ctx, from, manifestKey)
	if err != nil {
		return res, fmt.Errorf("documents: restore: manifest %s: %w", manifestKey, err)
	}
	res.ManifestSHA256 = sha256Hex(raw)
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.Format != 1 || m.Schema != "docs" {
		return res, fmt.Errorf("documents: restore: %s is not a documents backup manifest", manifestKey)
	}
	prefix := strings.TrimSuffix(manifestKey, "manifest.json")
	tables := map[string][]byte{}
	for _, t := range m.Tables {
		data, err := readAll(ctx, from, prefix+t.File)
		if err != nil {
			return res, fmt.Errorf("documents: restore: %s: %w", t.File, err)
		}
		if sha256Hex(data) != t.SHA256 || int64(len(data)) != t.Bytes {
			return res, fmt.Errorf("documents: restore: %s does not match its manifest hash", t.File)
		}
		tables[t.Table] = data
	}
	objects := map[string][]byte{}
	for _, o := range m.Objects {
		data, err := readAll(ctx, from, prefix+o.File)
		if err != nil {
			return res, fmt.Errorf("documents: restore: %s: %w", o.File, err)
		}
		if sha256Hex(data) != o.SHA256 {
			return res, fmt.Errorf("documents: restore: %s does not match its manifest hash", o.File)
		}
		objects[o.Key] = data
	}
	err = store.InTx(ctx, pool, func(tx pgx.Tx) error {
		for _, t := range backupTables {
			var any bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM docs.`+t.name+`)`).Scan(&any); err != nil {
				return err
			}
			if any {
				return fmt.Errorf("documents: restore: docs.%s is not empty; restore into an empty database", t.name)
			}
		}
		for _, t := range backupTables {
			data, ok := tables["docs."+t.name]
			if !ok {
				return fmt.Errorf("documents: restore: the manifest lacks docs.%s", t.name)
			}
			n := 0
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				if _, err := tx.Exec(ctx, `INSERT INTO docs.`+t.name+` SELECT * FROM jsonb_populate_record(NULL::docs.`+t.name+`, $1::jsonb)`, sc.Text()); err != nil {
					return fmt.Errorf("documents: restore docs.%s row %d: %w", t.name, n+1, err)
				}
				n++
			}
			if err := sc.Err(); err != nil {
				return err
			}
			if t.serial != "" {
				if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('docs.`+t.name+`', '`+t.serial+`'),
					COALESCE((SELECT max(`+t.serial+`) FROM docs.`+t.name+`), 0) + 1, false)`); err != nil {
					return err
				}
			}
			res.Rows["docs."+t.name] = n
		}
		for key, data := range objects {
			if _, err := to.Put(ctx, key, bytes.NewReader(data), contentTypeOf(key)); err != nil {
				return fmt.Errorf("documents: restore %s: %w", key, err)
			}
			res.Objects++
		}
		return nil
	})
	return res, err
}

func contentTypeOf(key string) string {
	switch {
	case strings.HasSuffix(key, ".pdf"):
		return typePDF
	case strings.HasSuffix(key, ".docx"):
		return typeDOCX
	}
	return "application/octet-stream"
}
