package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sjzamr/smartreg/shared/errs"
)

// S3Config names an S3-compatible bucket. Empty AccessKey and SecretKey
// mean the AWS SDK default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// shared config files, web identity on Kubernetes).
type S3Config struct {
	Endpoint  string // base URL such as http://127.0.0.1:7070; empty for AWS
	Region    string // default us-east-1
	Bucket    string
	AccessKey string
	SecretKey string
}

// S3 stores objects in one bucket of an S3-compatible server.
type S3 struct {
	client   *s3.Client
	bucket   string
	region   string
	partSize int
}

const (
	defaultRegion = "us-east-1"
	// Objects up to one part go in a single PutObject; larger streams
	// become multipart uploads of this part size, so memory per upload is
	// one part and the 10 000-part limit allows about 78 GiB.
	defaultPartSize = 8 << 20
	maxParts        = 10000
	// CopyObject refuses larger sources; see recordSHA256.
	maxCopySize = 5 << 30
)

// NewS3 builds the client without contacting the server; call Ping or
// EnsureBucket for that.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errs.New(errs.Invalid, "对象存储配置缺少存储桶名")
	}
	if (cfg.AccessKey == "") != (cfg.SecretKey == "") {
		return nil, errs.New(errs.Invalid, "对象存储访问密钥应同时提供 KEY 和 SECRET")
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, errs.New(errs.Invalid, "对象存储 endpoint 应为 http:// 或 https:// 开头的地址")
		}
	}
	if cfg.Region == "" {
		cfg.Region = defaultRegion
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(cfg.Region),
		// The SDK's default CRC checksums and aws-chunked trailers are not
		// understood by every S3-compatible server; SigV4 already signs
		// the SHA-256 of each (seekable, buffered) body we send.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if cfg.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 config: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// Path-style works on every S3-compatible server without
		// wildcard DNS for bucket subdomains.
		o.UsePathStyle = true
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &S3{client: client, bucket: cfg.Bucket, region: cfg.Region, partSize: defaultPartSize}, nil
}

// Bucket is the bucket the store writes to.
func (s *S3) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket unless it exists. It asks first, so it
// needs no CreateBucket permission where the bucket is provisioned.
func (s *S3) EnsureBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket})
	if err == nil {
		return nil
	}
	if httpStatus(err) != 404 {
		return unavailable(fmt.Errorf("blob: s3 head bucket %q: %w", s.bucket, err))
	}
	in := &s3.CreateBucketInput{Bucket: &s.bucket}
	if s.region != defaultRegion {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(s.region),
		}
	}
	_, err = s.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return unavailable(fmt.Errorf("blob: s3 create bucket %q: %w", s.bucket, err))
	}
	return nil
}

// Ping checks the server answers and the bucket is reachable with our
// credentials.
func (s *S3) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return unavailable(fmt.Errorf("blob: s3 ping %q: %w", s.bucket, err))
	}
	return nil
}

// Put reads one part into memory; a stream that ends within it is sent as
// a single PutObject, anything longer as a multipart upload.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, contentType string) (Info, error) {
	if err := validateKey(key); err != nil {
		return Info{}, err
	}
	ct, err := contentTypeOf(contentType)
	if err != nil {
		return Info{}, err
	}
	r = ctxReader{ctx, r}
	// A growing buffer, not one part-sized slice, so the many small
	// uploads (QR images) do not each allocate a full part.
	var buf bytes.Buffer
	full, err := readPart(r, &buf, s.partSize)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q: read: %w", key, err)
	}
	if full {
		return s.putMultipart(ctx, key, r, ct, &buf)
	}
	sum := sha256.Sum256(buf.Bytes())
	sha := hex.EncodeToString(sum[:])
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(buf.Bytes()),
		ContentLength: aws.Int64(int64(buf.Len())),
		ContentType:   &ct,
		Metadata:      map[string]string{metaSHA256: sha},
	})
	if err != nil {
		return Info{}, s.err("put", key, err)
	}
	return s.statAfterPut(ctx, key, sha)
}

// readPart replaces buf's contents with up to size bytes of r and reports
// whether it filled them, which means more may follow.
func readPart(r io.Reader, buf *bytes.Buffer, size int) (full bool, err error) {
	buf.Reset()
	n, err := io.CopyN(buf, r, int64(size))
	if err == io.EOF {
		return false, nil
	}
	return n == int64(size), err
}

// putMultipart uploads buf (a full first part) and the rest of r. The
// SHA-256 is only known at the end, after S3 has fixed the object's
// metadata, so recordSHA256 rewrites it in place afterwards.
func (s *S3) putMultipart(ctx context.Context, key string, r io.Reader, ct string, buf *bytes.Buffer) (Info, error) {
	up, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, ContentType: &ct,
	})
	if err != nil {
		return Info{}, s.err("put", key, err)
	}
	completed := false
	defer func() {
		if !completed {
			// The caller's context may be what failed; abort anyway so
			// the server drops the parts.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_, _ = s.client.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
				Bucket: &s.bucket, Key: &key, UploadId: up.UploadId,
			})
		}
	}()

	h := sha256.New()
	var parts []types.CompletedPart
	var size int64
	for num := int32(1); buf.Len() > 0; num++ {
		if num > maxParts {
			return Info{}, errs.Wrap(errs.Invalid, "文件过大，超出对象存储单个对象的上限",
				fmt.Errorf("blob: put %q: more than %d parts of %d bytes", key, maxParts, s.partSize))
		}
		part := buf.Bytes()
		h.Write(part)
		size += int64(len(part))
		out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &s.bucket, Key: &key, UploadId: up.UploadId,
			PartNumber:    aws.Int32(num),
			Body:          bytes.NewReader(part),
			ContentLength: aws.Int64(int64(len(part))),
		})
		if err != nil {
			return Info{}, s.err("put part", key, err)
		}
		parts = append(parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		if _, err := readPart(r, buf, s.partSize); err != nil {
			return Info{}, fmt.Errorf("blob: put %q: read: %w", key, err)
		}
	}
	_, err = s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &key, UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return Info{}, s.err("put complete", key, err)
	}
	completed = true
	sha := hex.EncodeToString(h.Sum(nil))
	if size <= maxCopySize {
		if err := s.recordSHA256(ctx, key, ct, sha); err != nil {
			return Info{}, err
		}
	}
	// Larger objects keep no sha256 metadata: copying them would need a
	// multipart copy. Put still reports the hash for the caller to keep.
	return s.statAfterPut(ctx, key, sha)
}

// recordSHA256 copies the object onto itself with replaced metadata, a
// server-side operation that moves no bytes through us.
func (s *S3) recordSHA256(ctx context.Context, key, ct, sha string) error {
	_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            &s.bucket,
		Key:               &key,
		CopySource:        aws.String(copySource(s.bucket, key)),
		MetadataDirective: types.MetadataDirectiveReplace,
		ContentType:       &ct,
		Metadata:          map[string]string{metaSHA256: sha},
	})
	if err != nil {
		return s.lostDuringPut("put metadata", key, err)
	}
	return nil
}

// lostDuringPut reports an object deleted between our writing and reading
// it back as a conflict: Put returning "not found" would mislead.
func (s *S3) lostDuringPut(op, key string, err error) error {
	if errors.Is(err, errs.ErrNotFound) || isNotFound(err) {
		return errs.Wrap(errs.Conflict, "对象在写入过程中被并发删除，请重试", fmt.Errorf("blob: s3 %s %q: %w", op, key, err))
	}
	return fmt.Errorf("blob: s3 %s %q: %w", op, key, err)
}

// copySource percent-encodes everything but unreserved characters and "/":
// servers differ on "+" (space or plus?), so it is escaped too.
func copySource(bucket, key string) string {
	var b strings.Builder
	b.WriteString(bucket)
	b.WriteByte('/')
	for _, c := range []byte(key) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '_', c == '.', c == '~', c == '/':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// statAfterPut returns what Stat would, so Put's Info matches later
// reads (ModTime, ETag after any metadata copy); sha is authoritative.
func (s *S3) statAfterPut(ctx context.Context, key, sha string) (Info, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return Info{}, s.lostDuringPut("put stat", key, err)
	}
	info.SHA256 = sha
	return info, nil
}

func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := validateKey(key); err != nil {
		return nil, Info{}, err
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, Info{}, s.err("get", key, err)
	}
	return out.Body, s3Info(key, out.ContentLength, out.ContentType, out.ETag, out.LastModified, out.Metadata), nil
}

func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := validateKey(key); err != nil {
		return Info{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return Info{}, s.err("stat", key, err)
	}
	return s3Info(key, out.ContentLength, out.ContentType, out.ETag, out.LastModified, out.Metadata), nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil && !isNotFound(err) {
		return s.err("delete", key, err)
	}
	return nil
}

func (s *S3) List(ctx context.Context, prefix string, limit int) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &prefix}
	if limit > 0 && limit < 1000 {
		in.MaxKeys = aws.Int32(int32(limit))
	}
	out := []Info{}
	for p := s3.NewListObjectsV2Paginator(s.client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("blob: s3 list %q: %w", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, s3Info(aws.ToString(o.Key), o.Size, nil, o.ETag, o.LastModified, nil))
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

func s3Info(key string, size *int64, ct, etag *string, mod *time.Time, meta map[string]string) Info {
	info := Info{
		Key:         key,
		Size:        aws.ToInt64(size),
		ContentType: aws.ToString(ct),
		ETag:        strings.Trim(aws.ToString(etag), `"`),
		ModTime:     aws.ToTime(mod),
	}
	for k, v := range meta {
		// Servers differ in how they case x-amz-meta-* names.
		if strings.EqualFold(k, metaSHA256) {
			info.SHA256 = v
		}
	}
	return info
}

func (s *S3) err(op, key string, err error) error {
	if isNotFound(err) {
		return notFound(key, fmt.Errorf("s3 %s: %w", op, err))
	}
	return fmt.Errorf("blob: s3 %s %q: %w", op, key, err)
}

// isNotFound covers GetObject's NoSuchKey and HeadObject's body-less 404.
func isNotFound(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func unavailable(err error) error {
	return errs.Wrap(errs.Unavailable, "对象存储不可用", err)
}
