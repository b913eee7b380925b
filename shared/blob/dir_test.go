package blob_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/errs"
)

func TestDirTraversal(t *testing.T) {
	parent := t.TempDir()
	d, err := blob.NewDir(filepath.Join(parent, "store"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"../outside", "../../outside", "a/../../outside", "/" + filepath.Join(parent, "outside"), `..\outside`} {
		_, err := d.Put(t.Context(), k, strings.NewReader("x"), "")
		checkInvalid(t, "put "+k, err)
	}
	if _, err := os.Stat(filepath.Join(parent, "outside")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected key wrote outside the store: %v", err)
	}
	_, err = d.Put(t.Context(), "../x", strings.NewReader("x"), "")
	if e := errs.As(err); e == nil || !strings.Contains(e.Message, "..") {
		t.Errorf("put ../x: %v; want a message naming “..”", err)
	}

	// A symlink planted inside the store must not lead out of it.
	if err := os.WriteFile(filepath.Join(parent, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(d.Root(), "objects", "link")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Get(t.Context(), "link/secret"); err == nil {
		t.Error("get through a symlink escaped the store")
	}
	if _, err := d.Put(t.Context(), "link/planted", strings.NewReader("x"), ""); err == nil {
		t.Error("put through a symlink escaped the store")
	}
	if _, err := os.Stat(filepath.Join(parent, "planted")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("put wrote through the symlink: %v", err)
	}
}

func TestDirConflictingKeys(t *testing.T) {
	d := newDir(t)
	mustPut(t, d, "a", []byte("file"), "")
	_, err := d.Put(t.Context(), "a/b", strings.NewReader("x"), "")
	if errs.CodeOf(err) != errs.Conflict {
		t.Errorf("put a/b over file a: err = %v, want conflict", err)
	}
	mustPut(t, d, "x/y", []byte("file"), "")
	_, err = d.Put(t.Context(), "x", strings.NewReader("x"), "")
	if errs.CodeOf(err) != errs.Conflict {
		t.Errorf("put x over directory x: err = %v, want conflict", err)
	}
	if err := d.Delete(t.Context(), "x"); err != nil {
		t.Errorf("delete of a key prefix: %v", err)
	}
	if got, _ := mustGet(t, d, "x/y"); string(got) != "file" {
		t.Errorf("x/y = %q after deleting prefix x", got)
	}
}

// The object's bytes stay at the start of its file, and nothing is left in
// tmp/ or in emptied directories.
func TestDirLayout(t *testing.T) {
	d := newDir(t)
	body := []byte("\x89PNG fake image")
	mustPut(t, d, "qr/2024/a.png", body, "image/png")
	raw, err := os.ReadFile(filepath.Join(d.Root(), "objects", "qr", "2024", "a.png"))
	if err != nil || !bytes.HasPrefix(raw, body) {
		t.Fatalf("file = %q, %v; want it to start with the object", raw, err)
	}
	_, _ = d.Put(t.Context(), "qr/failed", errReader{errors.New("boom")}, "")
	if tmp, _ := os.ReadDir(filepath.Join(d.Root(), "tmp")); len(tmp) != 0 {
		t.Errorf("tmp holds %d leftover files", len(tmp))
	}
	if err := d.Delete(t.Context(), "qr/2024/a.png"); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(filepath.Join(d.Root(), "objects")); len(left) != 0 {
		t.Errorf("delete left empty directories: %v", left)
	}
}

func TestDirReopen(t *testing.T) {
	root := t.TempDir()
	d1, err := blob.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	put := mustPut(t, d1, "persist/me", []byte("still here"), "text/plain")
	d2, err := blob.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d2.Stat(t.Context(), "persist/me")
	if err != nil {
		t.Fatal(err)
	}
	checkInfo(t, "stat after reopen", st, put)
}

// A file not written by Dir is reported, not served with made-up metadata.
func TestDirForeignFile(t *testing.T) {
	d := newDir(t)
	if err := os.WriteFile(filepath.Join(d.Root(), "objects", "foreign"), []byte("no trailer here"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(t.Context(), "foreign"); err == nil || errors.Is(err, errs.ErrNotFound) {
		t.Errorf("stat of a foreign file: err = %v, want a corruption error", err)
	}
}
