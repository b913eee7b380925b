package blob_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sjzamr/smartreg/shared/blob"
	"github.com/sjzamr/smartreg/shared/errs"
)

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	for _, loc := range []string{"file://" + dir, "file://localhost" + dir, dir} {
		s, err := blob.Open(t.Context(), loc)
		if err != nil {
			t.Fatalf("open %q: %v", loc, err)
		}
		d, ok := s.(*blob.Dir)
		if !ok || d.Root() != dir {
			t.Errorf("open %q = %T %v, want *blob.Dir at %s", loc, s, s, dir)
		}
	}
	t.Chdir(dir)
	s, err := blob.Open(t.Context(), "file:rel/blob")
	if err != nil {
		t.Fatal(err)
	}
	if d := s.(*blob.Dir); d.Root() != filepath.Join(dir, "rel", "blob") {
		t.Errorf("relative root = %s", d.Root())
	}
}

func TestOpenS3(t *testing.T) {
	requireS3(t)
	ctx := t.Context()
	withKey := "s3://" + url.UserPassword(gw.access, gw.secret).String() + "@open-userinfo?endpoint=" +
		url.QueryEscape(gw.endpoint) + "&region=us-east-1"
	s, err := blob.Open(ctx, withKey)
	if err != nil {
		t.Fatal(err)
	}
	if s3, ok := s.(*blob.S3); !ok || s3.Bucket() != "open-userinfo" {
		t.Fatalf("open = %T, want *blob.S3 on bucket open-userinfo", s)
	}
	mustPut(t, s, "hello", []byte("world"), "text/plain")
	if got, _ := mustGet(t, s, "hello"); string(got) != "world" {
		t.Errorf("get = %q", got)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", gw.access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", gw.secret)
	s, err = blob.Open(ctx, "s3://open-env?endpoint="+gw.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejects(t *testing.T) {
	const secret = "TopSecret42"
	for _, loc := range []string{
		"",
		"ftp://host/x",
		"file://otherhost/var/x",
		"file:///var/x?mode=1",
		"s3://",
		"s3://bucket/extra/path",
		"s3://onlykey@bucket",
		"s3://bucket?endpiont=http://127.0.0.1:7070",
		"s3://bucket?endpoint=127.0.0.1:7070",
		"s3://k:" + secret + "@bucket?region=a&region=b",
		"s3://k:" + secret + "@bucket?endpoint=%zz",
	} {
		_, err := blob.Open(t.Context(), loc)
		checkInvalid(t, "open "+loc, err)
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("open %q: error reveals the secret: %v", loc, err)
		}
	}
}

// With the server unreachable, Open and Ping report unavailable rather than
// hanging or passing.
func TestS3Unreachable(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := blob.NewS3(ctx, blob.S3Config{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), Bucket: "b", AccessKey: "k", SecretKey: "s",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); errs.CodeOf(err) != errs.Unavailable {
		t.Errorf("ping = %v, want unavailable", err)
	}
	if err := s.EnsureBucket(ctx); errs.CodeOf(err) != errs.Unavailable {
		t.Errorf("ensure bucket = %v, want unavailable", err)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	requireS3(t)
	s, err := blob.NewS3(t.Context(), blob.S3Config{
		Endpoint: gw.endpoint, Bucket: "creds", AccessKey: gw.access, SecretKey: "wrong",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("ping with a wrong secret succeeded")
	}
	_, _, err = s.Get(t.Context(), "x")
	if err == nil || errors.Is(err, errs.ErrNotFound) {
		t.Errorf("get with a wrong secret: err = %v, want an error other than not found", err)
	}
}

func TestS3EnsureBucketIdempotent(t *testing.T) {
	s := newS3(t)
	for range 2 {
		if err := s.EnsureBucket(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}
