// Package seal is the evidence format and its checks: bundles (files plus a
// manifest hashed with SHA-256 and SM3), the transparency log's checkpoints
// (C2SP tlog-checkpoint, signed notes), its static tiles (C2SP tlog-tiles),
// receipts (c2sp.org/tlog-proof) and the offline verifier and witness.
//
// It is its own package, free of the database and of the function, so that
// the offline verifier (`smartreg evidence verify`) needs nothing but a
// bundle, its receipt and the log's public key, and anyone can read how a
// receipt is checked in one place.
package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// Format names the manifest's version; it is part of every log entry.
const Format = "smartreg-evidence/1"

// ManifestName and ReceiptName are the two fixed files of a bundle
// directory; every other file is evidence listed in the manifest.
const (
	ManifestName = "manifest.json"
	ReceiptName  = "receipt.tlog-proof"
)

// File is one evidence file of a bundle.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	SM3    string `json:"sm3"`
	Type   string `json:"type,omitempty"`
}

// Manifest describes a bundle: what was captured, when, by whom, and the
// hashes of every file. Its own bytes are hashed into the log entry.
type Manifest struct {
	Format    string            `json:"format"`
	ID        string            `json:"id"`
	CreatedAt time.Time         `json:"created_at"`
	Title     string            `json:"title,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
	Files     []File            `json:"files"`
}

// Digest is a pair of hashes of the same bytes.
type Digest struct {
	SHA256 string `json:"sha256"`
	SM3    string `json:"sm3"`
}

// Sum hashes b with both algorithms.
func Sum(b []byte) Digest {
	s := sha256.Sum256(b)
	h := sm3.New()
	h.Write(b)
	return Digest{SHA256: hex.EncodeToString(s[:]), SM3: hex.EncodeToString(h.Sum(nil))}
}

// SumReader hashes a stream with both algorithms at once.
func SumReader(r io.Reader) (Digest, int64, error) {
	s, m := sha256.New(), sm3.New()
	n, err := io.Copy(io.MultiWriter(s, m), r)
	if err != nil {
		return Digest{}, n, err
	}
	return Digest{SHA256: hex.EncodeToString(s.Sum(nil)), SM3: hex.EncodeToString(m.Sum(nil))}, n, nil
}

// Entry is the log entry that seals a manifest: the format and both hashes
// of the manifest's exact bytes, so that the log commits to the manifest
// under either algorithm.
func Entry(manifest []byte) []byte {
	d := Sum(manifest)
	return []byte(Format + " sha256:" + d.SHA256 + " sm3:" + d.SM3 + "\n")
}

// CleanPath checks a file name inside a bundle: relative, slash-separated,
// no dot segments, and not one of the fixed names.
func CleanPath(p string) error {
	switch {
	case p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == "..":
		return fmt.Errorf("文件名 %q 不合法", p)
	case p == ManifestName || p == ReceiptName:
		return fmt.Errorf("文件名 %q 为证据包保留", p)
	}
	return nil
}

// NewManifest lists files (name → content) in name order with their hashes.
func NewManifest(id string, at time.Time, title string, meta map[string]string, files map[string][]byte) (Manifest, error) {
	m := Manifest{Format: Format, ID: id, CreatedAt: at.UTC(), Title: title, Meta: meta}
	names := make([]string, 0, len(files))
	for n := range files {
		if err := CleanPath(n); err != nil {
			return Manifest{}, err
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := Sum(files[n])
		m.Files = append(m.Files, File{Path: n, Size: int64(len(files[n])), SHA256: d.SHA256, SM3: d.SM3})
	}
	return m, nil
}

// Marshal is the manifest's canonical bytes (indented JSON, final newline).
func (m Manifest) Marshal() []byte {
	b, _ := json.MarshalIndent(m, "", "  ") // a Manifest always marshals
	return append(b, '\n')
}

// ParseManifest reads a manifest and checks its shape.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("清单不是有效的 JSON: %w", err)
	}
	if m.Format != Format {
		return Manifest{}, fmt.Errorf("清单格式 %q 不受支持", m.Format)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if err := CleanPath(f.Path); err != nil {
			return Manifest{}, err
		}
		if seen[f.Path] {
			return Manifest{}, fmt.Errorf("清单重复列出文件 %q", f.Path)
		}
		seen[f.Path] = true
	}
	return m, nil
}

// WriteDir writes a bundle directory: the files, the manifest and, when
// given, the receipt.
func WriteDir(dir string, manifest []byte, files map[string][]byte, receipt []byte) error {
	for n, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), manifest, 0o644); err != nil {
		return err
	}
	if receipt != nil {
		return os.WriteFile(filepath.Join(dir, ReceiptName), receipt, 0o644)
	}
	return nil
}

// ErrTampered is wrapped by every verification failure that means the
// evidence, its manifest, its receipt or the log is not what was sealed.
var ErrTampered = errors.New("证据校验未通过")

func tampered(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrTampered, fmt.Sprintf(format, a...))
}

// CheckFiles compares a bundle's files with its manifest: every listed file
// present with both hashes and its size, and no file that is not listed.
func CheckFiles(fsys fs.FS, m Manifest) error {
	listed := map[string]File{}
	for _, f := range m.Files {
		listed[f.Path] = f
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if p == ManifestName || p == ReceiptName {
			return nil
		}
		if _, ok := listed[p]; !ok {
			return tampered("文件 %s 不在清单中", p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, f := range m.Files {
		r, err := fsys.Open(f.Path)
		if err != nil {
			return tampered("缺少清单中的文件 %s", f.Path)
		}
		d, n, err := SumReader(r)
		r.Close()
		if err != nil {
			return fmt.Errorf("读取 %s: %w", f.Path, err)
		}
		switch {
		case n != f.Size:
			return tampered("文件 %s 大小为 %d，清单记录为 %d", f.Path, n, f.Size)
		case d.SHA256 != f.SHA256:
			return tampered("文件 %s 的 SHA-256 与清单不符", f.Path)
		case d.SM3 != f.SM3:
			return tampered("文件 %s 的 SM3 与清单不符", f.Path)
		}
	}
	return nil
}
