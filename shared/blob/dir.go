package blob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Dir stores objects in a local directory:
//
//	ROOT/objects/<key>   the bytes, then a metadata trailer
//	ROOT/tmp/            uploads in progress
//
// The metadata (content type, SHA-256, size) is a JSON trailer appended to
// the object's own file rather than a sidecar: one rename then publishes
// bytes and metadata together, so neither a crash nor a concurrent reader
// can pair new bytes with old metadata, and no lock is needed. The bytes
// stay at offset 0, so the files still open in an image viewer. Every file
// access goes through os.Root, which refuses to leave ROOT even if a key
// slipped past validation or a symlink appeared inside.
type Dir struct {
	root string
}

const (
	dirObjects = "objects"
	dirTmp     = "tmp"
	dirPerm    = 0o750 // objects include ID photos: no world access
	filePerm   = 0o640

	// trailer: <json meta><uint32 big-endian json length><magic>
	trailerMagic   = "SRBLOB01"
	trailerFixed   = 4 + len(trailerMagic)
	maxTrailerJSON = 4096

	staleTmpAge = 24 * time.Hour
)

type dirMeta struct {
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
}

// NewDir returns a Dir rooted at root, creating it if needed, and removes
// uploads a crashed process left behind.
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errs.New(errs.Invalid, "本地对象存储目录不能为空")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob: dir %q: %w", root, err)
	}
	for _, sub := range []string{dirObjects, dirTmp} {
		if err := os.MkdirAll(filepath.Join(abs, sub), dirPerm); err != nil {
			return nil, fmt.Errorf("blob: dir %q: %w", abs, err)
		}
	}
	d := &Dir{root: abs}
	d.removeStaleTmp()
	return d, nil
}

// Root is the directory the store lives in.
func (d *Dir) Root() string { return d.root }

// removeStaleTmp only touches old files, since another process may share
// the directory and be uploading right now.
func (d *Dir) removeStaleTmp() {
	entries, err := os.ReadDir(filepath.Join(d.root, dirTmp))
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTmpAge {
			_ = os.Remove(filepath.Join(d.root, dirTmp, e.Name()))
		}
	}
}

func (d *Dir) open() (*os.Root, error) {
	r, err := os.OpenRoot(d.root)
	if err != nil {
		return nil, fmt.Errorf("blob: dir %q: %w", d.root, err)
	}
	return r, nil
}

func objectPath(key string) string { return dirObjects + "/" + key }

// Put writes to a temp file, appends the trailer, syncs and renames it over
// the key, so readers see the old object or the new one, never a mix.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, contentType string) (Info, error) {
	if err := validateKey(key); err != nil {
		return Info{}, err
	}
	ct, err := contentTypeOf(contentType)
	if err != nil {
		return Info{}, err
	}
	root, err := d.open()
	if err != nil {
		return Info{}, err
	}
	defer root.Close()

	tmpName := dirTmp + "/" + rand.Text() + ".tmp"
	f, err := root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	published := false
	defer func() {
		if !published {
			_ = f.Close()
			_ = root.Remove(tmpName)
		}
	}()

	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q: read: %w", key, err)
	}
	meta := dirMeta{ContentType: ct, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	if err := writeTrailer(f, meta); err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	if err := publish(root, tmpName, key); err != nil {
		return Info{}, err
	}
	published = true

	fi, err := root.Stat(objectPath(key))
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q: %w", key, err)
	}
	return dirInfo(key, meta, fi), nil
}

// publish renames tmp onto the key. A concurrent Delete may prune the
// parent directory between MkdirAll and Rename, hence the retry.
func publish(root *os.Root, tmpName, key string) error {
	dst := objectPath(key)
	parent := path.Dir(dst)
	var err error
	for range 3 {
		if err = root.MkdirAll(parent, dirPerm); err == nil {
			if err = root.Rename(tmpName, dst); err == nil {
				syncDir(root, parent)
				return nil
			}
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
		errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
		return errs.Wrap(errs.Conflict, "对象键与已有对象的路径冲突（不能同时存在“a”和“a/b”）",
			fmt.Errorf("blob: put %q: %w", key, err))
	}
	return fmt.Errorf("blob: put %q: %w", key, err)
}

// syncDir makes the rename durable; failure only weakens durability, which
// the next Put or the OS will settle, so it is not reported.
func syncDir(root *os.Root, dir string) {
	if f, err := root.Open(dir); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
}

func writeTrailer(w io.Writer, m dirMeta) error {
	js, err := json.Marshal(m)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(js)+trailerFixed)
	buf = append(buf, js...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(js)))
	buf = append(buf, trailerMagic...)
	_, err = w.Write(buf)
	return err
}

// readTrailer returns the metadata of an object file whose total size is
// size; the object's bytes are the first meta.Size bytes.
func readTrailer(f io.ReaderAt, size int64) (dirMeta, error) {
	var m dirMeta
	if size < int64(trailerFixed) {
		return m, errors.New("file too short for a trailer")
	}
	fixed := make([]byte, trailerFixed)
	if _, err := f.ReadAt(fixed, size-int64(trailerFixed)); err != nil {
		return m, err
	}
	if string(fixed[4:]) != trailerMagic {
		return m, errors.New("no blob trailer (not written by blob.Dir?)")
	}
	n := int64(binary.BigEndian.Uint32(fixed[:4]))
	if n > maxTrailerJSON || n > size-int64(trailerFixed) {
		return m, fmt.Errorf("trailer length %d out of range", n)
	}
	js := make([]byte, n)
	if _, err := f.ReadAt(js, size-int64(trailerFixed)-n); err != nil {
		return m, err
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return m, fmt.Errorf("trailer: %w", err)
	}
	if m.Size != size-int64(trailerFixed)-n {
		return m, fmt.Errorf("trailer says %d bytes, file holds %d", m.Size, size-int64(trailerFixed)-n)
	}
	return m, nil
}

func dirInfo(key string, m dirMeta, fi fs.FileInfo) Info {
	return Info{
		Key:         key,
		Size:        m.Size,
		ContentType: m.ContentType,
		ETag:        m.SHA256,
		ModTime:     fi.ModTime(),
		SHA256:      m.SHA256,
	}
}

// openObject opens key and reads its metadata; the caller closes the file.
func (d *Dir) openObject(key string) (*os.File, Info, error) {
	if err := validateKey(key); err != nil {
		return nil, Info{}, err
	}
	root, err := d.open()
	if err != nil {
		return nil, Info{}, err
	}
	defer root.Close() // open files outlive their Root
	f, err := root.Open(objectPath(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, Info{}, notFound(key, err)
		}
		return nil, Info{}, fmt.Errorf("blob: get %q: %w", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		// "a" when only "a/b" exists: a directory, not an object.
		_ = f.Close()
		return nil, Info{}, notFound(key, fs.ErrNotExist)
	}
	var m dirMeta
	if err == nil {
		m, err = readTrailer(f, fi.Size())
	}
	if err != nil {
		_ = f.Close()
		return nil, Info{}, fmt.Errorf("blob: get %q: %w", key, err)
	}
	return f, dirInfo(key, m, fi), nil
}

// objectReader serves the object's bytes without the trailer; it is also an
// io.ReadSeeker, so callers may hand it to http.ServeContent.
type objectReader struct {
	*io.SectionReader
	f *os.File
}

func (r objectReader) Close() error { return r.f.Close() }

func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, info, err := d.openObject(key)
	if err != nil {
		return nil, Info{}, err
	}
	return objectReader{io.NewSectionReader(f, 0, info.Size), f}, info, nil
}

func (d *Dir) Stat(ctx context.Context, key string) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	f, info, err := d.openObject(key)
	if err != nil {
		return Info{}, err
	}
	_ = f.Close()
	return info, nil
}

// Delete removes the object and prunes directories it leaves empty.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := d.open()
	if err != nil {
		return err
	}
	defer root.Close()
	p := objectPath(key)
	fi, err := root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nil
	case err != nil:
		return fmt.Errorf("blob: delete %q: %w", key, err)
	case fi.IsDir():
		return nil // a key prefix, not an object
	}
	if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %q: %w", key, err)
	}
	// Remove fails on a non-empty directory, which ends the pruning.
	for dir := path.Dir(p); dir != dirObjects; dir = path.Dir(dir) {
		if root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// List walks only the directory the prefix names, then sorts: directory
// order ("a/b" before "a-c") differs from key order ("a-c" before "a/b").
func (d *Dir) List(ctx context.Context, prefix string, limit int) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	root, err := d.open()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	start := dirObjects
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = objectPath(prefix[:i])
	}
	fsys := root.FS()
	var out []Info
	err = fs.WalkDir(fsys, start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == start && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
				return fs.SkipAll // nothing under this prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		key := strings.TrimPrefix(p, dirObjects+"/")
		if !e.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := statFile(root, p, key)
		if err != nil {
			return err
		}
		// Same fields as an S3 listing, so callers cannot come to rely on
		// what only the local default provides.
		info.ContentType, info.SHA256 = "", ""
		out = append(out, info)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	if out == nil {
		out = []Info{}
	}
	return out, nil
}

func statFile(root *os.Root, p, key string) (Info, error) {
	f, err := root.Open(p)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	m, err := readTrailer(f, fi.Size())
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", key, err)
	}
	return dirInfo(key, m, fi), nil
}

// Ping checks the directory is still there and writable.
func (d *Dir) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := d.open()
	if err == nil {
		defer root.Close()
		name := dirTmp + "/ping-" + rand.Text() + ".tmp"
		err = root.WriteFile(name, nil, filePerm)
		if err == nil {
			err = root.Remove(name)
		}
	}
	if err != nil {
		return errs.Wrap(errs.Unavailable, "本地对象存储不可用", fmt.Errorf("blob: ping %q: %w", d.root, err))
	}
	return nil
}
