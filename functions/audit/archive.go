package audit

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// maintainLockKey keeps two replicas from archiving at the same time.
const maintainLockKey = 7_210_000_202

// Archive describes one partition moved to object storage.
type Archive struct {
	Partition   string    `json:"partition"`
	Parent      string    `json:"parent"`
	Month       string    `json:"month"` // YYYY-MM, Beijing calendar
	ObjectKey   string    `json:"object_key"`
	ManifestKey string    `json:"manifest_key"`
	Rows        int64     `json:"rows"`
	SHA256      string    `json:"sha256"`
	ArchivedAt  time.Time `json:"archived_at"`
}

// Manifest is stored beside each archive so the file can be verified
// without the database: sha256 of the gzip object, its row count and range.
type Manifest struct {
	Partition string    `json:"partition"`
	Table     string    `json:"table"`
	Month     string    `json:"month"`
	Object    string    `json:"object"`
	Format    string    `json:"format"`
	Rows      int64     `json:"rows"`
	Bytes     int64     `json:"bytes"`
	SHA256    string    `json:"sha256"`
	Columns   []string  `json:"columns"`
	CreatedAt time.Time `json:"created_at"`
}

// MaintainResult says what a maintenance run did.
type MaintainResult struct {
	Archived []Archive `json:"archived"`
	Skipped  bool      `json:"skipped"` // another replica was maintaining
}

// Maintain creates the partitions ahead and archives every partition whose
// month ended more than RetentionMonths whole months ago: current month
// plus RetentionMonths previous months stay online. A partition is dropped
// only after its archive was written, read back and verified against its
// SHA-256 and row count, in the same transaction that records the archive.
func (f *Function) Maintain(ctx context.Context) (MaintainResult, error) {
	var res MaintainResult
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("acquire: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, maintainLockKey).Scan(&locked); err != nil {
		return res, fmt.Errorf("lock maintenance: %w", err)
	}
	if !locked {
		res.Skipped = true
		return res, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, maintainLockKey) //nolint:errcheck
	now := f.now()
	if err := f.ensureAhead(ctx); err != nil {
		return res, err
	}
	cur := now.In(shanghai())
	cutoff := time.Date(cur.Year(), cur.Month(), 1, 0, 0, 0, 0, shanghai()).AddDate(0, -f.cfg.RetentionMonths, 0)
	parts, err := partitions(ctx, conn.Conn())
	if err != nil {
		return res, err
	}
	for _, p := range parts {
		if !p.month.Before(cutoff) {
			continue
		}
		a, err := f.archive(ctx, conn.Conn(), p)
		if err != nil {
			return res, fmt.Errorf("archive %s: %w", p.name, err)
		}
		f.log.InfoContext(ctx, "audit partition archived", "partition", p.name, "rows", a.Rows, "key", a.ObjectKey)
		res.Archived = append(res.Archived, a)
	}
	if len(res.Archived) > 0 {
		f.forget() // a late row for an archived month must create it again
	}
	return res, nil
}

type partition struct {
	name, parent string
	month        time.Time // first day, Beijing time
}

func partitions(ctx context.Context, conn *pgx.Conn) ([]partition, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname, p.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		JOIN pg_namespace n ON n.oid = p.relnamespace
		WHERE n.nspname = 'audit' AND p.relname IN ('login_log', 'op_log') ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	var out []partition
	for rows.Next() {
		var p partition
		if err := rows.Scan(&p.name, &p.parent); err != nil {
			return nil, err
		}
		i := strings.LastIndex(p.name, "_p")
		if i < 0 {
			continue
		}
		m, err := time.ParseInLocation("200601", p.name[i+2:], shanghai())
		if err != nil {
			continue // not one of ours
		}
		p.month = m
		out = append(out, p)
	}
	return out, rows.Err()
}

func (f *Function) archive(ctx context.Context, conn *pgx.Conn, p partition) (Archive, error) {
	a := Archive{Partition: p.name, Parent: p.parent, Month: p.month.Format("2006-01")}
	at := f.now()
	// A month written to again after its archive (a late row) is archived
	// once more as its own object: the suffix keeps the keys apart.
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	base := fmt.Sprintf("audit/%s/%s/%s-%d-%s", p.parent, a.Month, p.name, at.Unix(), hex.EncodeToString(suffix[:]))
	a.ObjectKey, a.ManifestKey = base+".jsonl.gz", base+".manifest.json"
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// SHARE blocks late inserts into this month while it is exported,
		// so what is dropped is exactly what was archived.
		ident := pgx.Identifier{"audit", p.name}.Sanitize()
		if _, err := tx.Exec(ctx, `LOCK TABLE `+ident+` IN SHARE MODE`); err != nil {
			return err
		}
		rows, sum, size, err := f.exportPartition(ctx, tx, ident, a.ObjectKey)
		if err != nil {
			return err
		}
		if err := f.verify(ctx, a.ObjectKey, rows, sum); err != nil {
			return err
		}
		a.Rows, a.SHA256, a.ArchivedAt = rows, sum, at
		cols := []string{"id", "at", "user_id", "username", "ip", "device", "result", "reason", "location", "source", "event_id"}
		if p.parent == "op_log" {
			cols = []string{"id", "at", "user_id", "username", "ip", "action", "object_type", "object_id", "before", "after", "result",
				"district_code", "township_code", "source", "event_id"}
		}
		m := Manifest{Partition: p.name, Table: "audit." + p.parent, Month: a.Month, Object: a.ObjectKey, Format: "jsonl+gzip",
			Rows: rows, Bytes: size, SHA256: sum, Columns: cols, CreatedAt: at.UTC()}
		raw, _ := json.MarshalIndent(m, "", "  ")
		if _, err := f.blob.Put(ctx, a.ManifestKey, strings.NewReader(string(raw)), "application/json"); err != nil {
			return fmt.Errorf("put manifest: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit.archives (partition, parent, month, object_key, manifest_key, rows, sha256, archived_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.name, p.parent, p.month, a.ObjectKey, a.ManifestKey, rows, sum, at); err != nil {
			return fmt.Errorf("record archive: %w", err)
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+pgx.Identifier{"audit", p.parent}.Sanitize()+` DETACH PARTITION `+ident); err != nil {
			return fmt.Errorf("detach: %w", err)
		}
		if _, err := tx.Exec(ctx, `DROP TABLE `+ident); err != nil {
			return fmt.Errorf("drop: %w", err)
		}
		return nil
	})
	return a, err
}

// export streams the partition as gzip'd JSON lines into object storage.
func (f *Function) exportPartition(ctx context.Context, tx pgx.Tx, ident, key string) (rows int64, sum string, size int64, err error) {
	pr, pw := io.Pipe()
	h := sha256.New()
	counter := &countWriter{}
	done := make(chan error, 1)
	go func() {
		zw := gzip.NewWriter(io.MultiWriter(pw, h, counter))
		bw := bufio.NewWriter(zw)
		err := func() error {
			rs, err := tx.Query(ctx, `SELECT row_to_json(t)::text FROM `+ident+` t ORDER BY at, id`)
			if err != nil {
				return err
			}
			defer rs.Close()
			for rs.Next() {
				var line string
				if err := rs.Scan(&line); err != nil {
					return err
				}
				bw.WriteString(line)
				bw.WriteByte('\n')
				rows++
			}
			if err := rs.Err(); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			return zw.Close()
		}()
		pw.CloseWithError(err)
		done <- err
	}()
	info, perr := f.blob.Put(ctx, key, pr, "application/gzip")
	pr.CloseWithError(errors.New("reader closed"))
	if qerr := <-done; qerr != nil {
		return 0, "", 0, fmt.Errorf("read partition: %w", qerr)
	}
	if perr != nil {
		return 0, "", 0, fmt.Errorf("put archive: %w", perr)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if info.SHA256 != "" && info.SHA256 != sum {
		return 0, "", 0, fmt.Errorf("object store sha256 %s differs from written %s", info.SHA256, sum)
	}
	return rows, sum, counter.n, nil
}

// verify reads the archive back: same SHA-256, same number of lines, each a
// JSON object. Only then may the partition go.
func (f *Function) verify(ctx context.Context, key string, rows int64, sum string) error {
	rc, _, err := f.blob.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read back archive: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(rc, h))
	if err != nil {
		return fmt.Errorf("read back archive: %w", err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var n int64
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			return fmt.Errorf("archive line %d is not JSON", n+1)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read back archive: %w", err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil { // trailing bytes count toward the hash
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum || n != rows {
		return fmt.Errorf("archive verification failed: %d/%d rows, sha256 %s/%s", n, rows, got, sum)
	}
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
