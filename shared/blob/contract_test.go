package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/errs"
)

func TestDirContract(t *testing.T) {
	testContract(t, func(t *testing.T) blob.Store { return newDir(t) })
}

func TestS3Contract(t *testing.T) {
	requireS3(t)
	testContract(t, func(t *testing.T) blob.Store { return newS3(t) })
}

func newDir(t *testing.T) *blob.Dir {
	t.Helper()
	d, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var bucketSeq atomic.Int64

// newS3 gives each test its own bucket, created through EnsureBucket.
func newS3(t *testing.T) *blob.S3 {
	t.Helper()
	requireS3(t)
	s, err := blob.NewS3(t.Context(), blob.S3Config{
		Endpoint:  gw.endpoint,
		Bucket:    fmt.Sprintf("test-%d", bucketSeq.Add(1)),
		AccessKey: gw.access,
		SecretKey: gw.secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

// testContract is the behaviour every blob.Store must have.
func testContract(t *testing.T, newStore func(*testing.T) blob.Store) {
	t.Run("round-trip", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		body := []byte("营业执照 certificate body")
		put := mustPut(t, s, "docs/licence.txt", body, "text/plain; charset=utf-8")
		want := blob.Info{Key: "docs/licence.txt", Size: int64(len(body)),
			ContentType: "text/plain; charset=utf-8", SHA256: sha(body)}
		checkInfo(t, "put", put, want)
		if put.ETag == "" || put.ModTime.IsZero() {
			t.Errorf("put info lacks ETag or ModTime: %+v", put)
		}

		got, info := mustGet(t, s, "docs/licence.txt")
		if !bytes.Equal(got, body) {
			t.Errorf("get = %q, want %q", got, body)
		}
		checkInfo(t, "get", info, want)
		st, err := s.Stat(ctx, "docs/licence.txt")
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "stat", st, want)
		if st.ETag != put.ETag || !st.ModTime.Equal(put.ModTime) || info.ETag != put.ETag {
			t.Errorf("ETag/ModTime differ: put %q %v, get %q, stat %q %v",
				put.ETag, put.ModTime, info.ETag, st.ETag, st.ModTime)
		}
	})

	t.Run("default-content-type-and-empty-object", func(t *testing.T) {
		s := newStore(t)
		put := mustPut(t, s, "empty", nil, "")
		checkInfo(t, "put", put, blob.Info{Key: "empty", ContentType: blob.DefaultContentType, SHA256: sha(nil)})
		got, info := mustGet(t, s, "empty")
		if len(got) != 0 || info.ContentType != blob.DefaultContentType {
			t.Errorf("get = %q, %+v", got, info)
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		mustPut(t, s, "qr/a.png", []byte("first version"), "image/png")
		mustPut(t, s, "qr/a.png", []byte("second"), "image/jpeg")
		got, info := mustGet(t, s, "qr/a.png")
		checkInfo(t, "get", info, blob.Info{Key: "qr/a.png", Size: 6, ContentType: "image/jpeg", SHA256: sha([]byte("second"))})
		if string(got) != "second" {
			t.Errorf("get = %q", got)
		}
		if l, _ := s.List(ctx, "qr/", 0); len(l) != 1 {
			t.Errorf("list after overwrite = %+v, want one object", l)
		}
	})

	t.Run("failed-put-keeps-old-object", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		mustPut(t, s, "keep", []byte("old"), "text/plain")
		broken := io.MultiReader(strings.NewReader("partial new bytes"), errReader{errors.New("disk on fire")})
		if _, err := s.Put(ctx, "keep", broken, "text/plain"); err == nil {
			t.Fatal("put from a failing reader succeeded")
		}
		if _, err := s.Put(ctx, "absent", io.MultiReader(strings.NewReader("x"), errReader{io.ErrClosedPipe}), ""); err == nil {
			t.Fatal("put from a failing reader succeeded")
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cancelled, "keep", strings.NewReader("new"), "text/plain"); err == nil {
			t.Fatal("put with a cancelled context succeeded")
		}
		if got, _ := mustGet(t, s, "keep"); string(got) != "old" {
			t.Errorf("get = %q, want the old object", got)
		}
		checkNotFound(t, s, "absent")
	})

	t.Run("list-prefix-limit", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		keys := []string{"list/b/1", "list/a/2", "list/a-x", "list/a/1", "lists/z", "list/a/3", "other"}
		for i, k := range keys {
			mustPut(t, s, k, bytes.Repeat([]byte("x"), i+1), "text/plain")
		}
		cases := []struct {
			prefix string
			limit  int
			want   []string
		}{
			{"list/a/", 0, []string{"list/a/1", "list/a/2", "list/a/3"}},
			{"list/a/", 2, []string{"list/a/1", "list/a/2"}},
			// Byte order: "-" sorts before "/".
			{"list/", 0, []string{"list/a-x", "list/a/1", "list/a/2", "list/a/3", "list/b/1"}},
			{"list", 0, []string{"list/a-x", "list/a/1", "list/a/2", "list/a/3", "list/b/1", "lists/z"}},
			{"list/a", 1, []string{"list/a-x"}},
			{"", -1, []string{"list/a-x", "list/a/1", "list/a/2", "list/a/3", "list/b/1", "lists/z", "other"}},
			{"nothing/", 0, nil},
			{"list/a/1/deeper/", 0, nil},
		}
		for _, c := range cases {
			l, err := s.List(ctx, c.prefix, c.limit)
			if err != nil {
				t.Fatalf("list %q: %v", c.prefix, err)
			}
			if l == nil {
				t.Errorf("list %q returned nil, want an empty slice", c.prefix)
			}
			var got []string
			for _, i := range l {
				got = append(got, i.Key)
				want := int64(indexOf(keys, i.Key) + 1)
				if i.Size != want || i.ETag == "" || i.ModTime.IsZero() {
					t.Errorf("list %q: %+v, want size %d, an ETag and a ModTime", c.prefix, i, want)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("list(%q, %d) = %q, want %q", c.prefix, c.limit, got, c.want)
			}
		}
	})

	t.Run("delete-idempotent", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		mustPut(t, s, "evidence/2024/x.zip", []byte("zip"), "application/zip")
		mustPut(t, s, "evidence/2024/y.zip", []byte("zip"), "application/zip")
		for range 2 {
			if err := s.Delete(ctx, "evidence/2024/x.zip"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, "never/was"); err != nil {
			t.Errorf("delete of an absent key: %v", err)
		}
		// A key prefix is not an object: deleting it deletes nothing.
		if err := s.Delete(ctx, "evidence/2024"); err != nil {
			t.Errorf("delete of a key prefix: %v", err)
		}
		checkNotFound(t, s, "evidence/2024/x.zip")
		if l, _ := s.List(ctx, "evidence/", 0); len(l) != 1 || l[0].Key != "evidence/2024/y.zip" {
			t.Errorf("list after delete = %+v", l)
		}
	})

	t.Run("not-found", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "dir/file", []byte("x"), "")
		for _, k := range []string{"missing", "dir/missing", "dir", "dir/file/below"} {
			checkNotFound(t, s, k)
		}
	})

	t.Run("chinese-keys", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		key := "证照/石家庄市/长安区/营业执照 2024（副本）.pdf"
		body := []byte("%PDF-1.7 中文")
		mustPut(t, s, key, body, "application/pdf")
		mustPut(t, s, "证照/石家庄市/桥西区/许可证.pdf", body, "application/pdf")
		got, info := mustGet(t, s, key)
		if !bytes.Equal(got, body) || info.Key != key || info.SHA256 != sha(body) {
			t.Errorf("get = %q, %+v", got, info)
		}
		l, err := s.List(ctx, "证照/石家庄市/长", 0)
		if err != nil || len(l) != 1 || l[0].Key != key {
			t.Errorf("list = %+v, %v", l, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		checkNotFound(t, s, key)
	})

	t.Run("stream-20MB-unknown-length", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		const size = 20 << 20
		// Reserved characters in the key exercise the multipart path's
		// server-side copy, whose source must be percent-encoded.
		key := "证据/录像 a+b%20c&d.bin"
		h := sha256.New()
		// Only Read is visible: no Len, Seek or Size to learn the length.
		src := struct{ io.Reader }{io.TeeReader(io.LimitReader(newRandReader(1), size), h)}
		put, err := s.Put(ctx, key, src, "video/mp4")
		if err != nil {
			t.Fatal(err)
		}
		want := blob.Info{Key: key, Size: size, ContentType: "video/mp4", SHA256: hex.EncodeToString(h.Sum(nil))}
		checkInfo(t, "put", put, want)
		st, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, "stat", st, want)

		rc, info, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got := sha256.New()
		n, err := io.Copy(got, rc)
		if err != nil || n != size || hex.EncodeToString(got.Sum(nil)) != want.SHA256 {
			t.Errorf("get read %d bytes (err %v), sha %x; want %d, %s", n, err, got.Sum(nil), size, want.SHA256)
		}
		checkInfo(t, "get", info, want)
	})

	t.Run("invalid-keys", func(t *testing.T) {
		s, ctx := newStore(t), t.Context()
		bad := []string{
			"", "/etc/passwd", "../escape", "a/../../escape", "a/..", "..",
			`..\escape`, `a\b`, "a//b", "a/", "./a", "a/./b", "a\x00b", "a\nb",
			"\xff\xfe", strings.Repeat("k", 1025), strings.Repeat("k", 256) + "/x",
		}
		for _, k := range bad {
			_, err := s.Put(ctx, k, strings.NewReader("x"), "")
			checkInvalid(t, fmt.Sprintf("put %q", k), err)
			_, _, err = s.Get(ctx, k)
			checkInvalid(t, fmt.Sprintf("get %q", k), err)
			_, err = s.Stat(ctx, k)
			checkInvalid(t, fmt.Sprintf("stat %q", k), err)
			checkInvalid(t, fmt.Sprintf("delete %q", k), s.Delete(ctx, k))
		}
		for _, p := range []string{"/abs", "../", "a/../", `a\`, "a//"} {
			_, err := s.List(ctx, p, 0)
			checkInvalid(t, fmt.Sprintf("list %q", p), err)
		}
		_, err := s.Put(ctx, "ok", strings.NewReader("x"), "not a type")
		checkInvalid(t, "put with a bad content type", err)
		if l, _ := s.List(ctx, "", 0); len(l) != 0 {
			t.Errorf("rejected puts left objects: %+v", l)
		}
	})

	t.Run("ping", func(t *testing.T) {
		if err := newStore(t).Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func mustPut(t *testing.T, s blob.Store, key string, body []byte, ct string) blob.Info {
	t.Helper()
	info, err := s.Put(t.Context(), key, bytes.NewReader(body), ct)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
	return info
}

func mustGet(t *testing.T, s blob.Store, key string) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b, info
}

// checkInfo compares the fields every implementation must agree on.
func checkInfo(t *testing.T, op string, got, want blob.Info) {
	t.Helper()
	if got.Key != want.Key || got.Size != want.Size || got.ContentType != want.ContentType || got.SHA256 != want.SHA256 {
		t.Errorf("%s info = {%q %d %q %s}, want {%q %d %q %s}", op,
			got.Key, got.Size, got.ContentType, got.SHA256, want.Key, want.Size, want.ContentType, want.SHA256)
	}
}

func checkNotFound(t *testing.T, s blob.Store, key string) {
	t.Helper()
	_, _, err := s.Get(t.Context(), key)
	if !errors.Is(err, errs.ErrNotFound) || errs.CodeOf(err) != errs.NotFound {
		t.Errorf("get %q: err = %v, want not found", key, err)
	}
	_, err = s.Stat(t.Context(), key)
	if !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("stat %q: err = %v, want not found", key, err)
	}
}

// checkInvalid wants errs.Invalid with a message a user can read.
func checkInvalid(t *testing.T, what string, err error) {
	t.Helper()
	e := errs.As(err)
	if e == nil || e.Code != errs.Invalid {
		t.Errorf("%s: err = %v, want invalid", what, err)
		return
	}
	if !strings.ContainsFunc(e.Message, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		t.Errorf("%s: message %q is not Chinese", what, e.Message)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return -1
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// randReader yields deterministic incompressible bytes.
type randReader struct{ r *rand.ChaCha8 }

func newRandReader(seed byte) randReader {
	var s [32]byte
	s[0] = seed
	return randReader{rand.NewChaCha8(s)}
}

func (r randReader) Read(p []byte) (int, error) { return r.r.Read(p) }
