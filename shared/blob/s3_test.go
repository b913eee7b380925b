package blob_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// A stream that fails after the first part must abort its multipart upload,
// or the server keeps the parts (and bills for them) forever.
func TestS3AbortsFailedMultipart(t *testing.T) {
	s := newS3(t)
	ctx := t.Context()
	mustPut(t, s, "big", []byte("old"), "")
	src := io.MultiReader(io.LimitReader(newRandReader(2), 9<<20), errReader{errors.New("camera unplugged")})
	if _, err := s.Put(ctx, "big", src, "video/mp4"); err == nil || !strings.Contains(err.Error(), "camera unplugged") {
		t.Fatalf("put = %v, want the reader's error", err)
	}
	if got, _ := mustGet(t, s, "big"); string(got) != "old" {
		t.Errorf("get = %q, want the old object", got)
	}
	raw := s3.New(s3.Options{
		BaseEndpoint: aws.String(gw.endpoint), Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(gw.access, gw.secret, ""),
	})
	out, err := raw.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.Bucket())})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left behind", len(out.Uploads))
	}
}
