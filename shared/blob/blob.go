// Package blob stores objects: QR images, ID photos, evidence bundles,
// certificates, documents and recordings. Two implementations share one
// behaviour, checked by one contract test suite:
//
//   - *S3 talks to any S3-compatible server (AWS, MinIO, versitygw, Ceph)
//     with path-style addressing; it is what Knative deployments use.
//   - *Dir keeps objects in a local directory; it is the one-process default.
//
// Functions should declare the small interface they need; Store exists for
// the composition roots, which pick an implementation at run time with Open.
//
// # Locations accepted by Open
//
//	file:///var/lib/smartreg/blob        a *Dir rooted at that absolute path
//	file:.data/blob or .data/blob        a *Dir at a path relative to the working directory
//	s3://BUCKET?endpoint=URL&region=R    an *S3 (bucket created if missing)
//	s3://KEY:SECRET@BUCKET?endpoint=URL  the same with static credentials
//
// For s3, endpoint is the server's base URL (http://127.0.0.1:7070); omit it
// for AWS itself. region defaults to us-east-1. Without KEY:SECRET in the URL
// the AWS SDK's default chain supplies credentials: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY first, then shared config files and web identity.
// A secret containing reserved characters must be percent-encoded.
// Example for the local versitygw started by infra/local/scripts:
//
//	s3://smartreg:smartreg-secret@smartreg?endpoint=http://127.0.0.1:7070
//
// # Keys
//
// Keys are "/"-separated UTF-8 paths such as "qr/130100/91130100XXXX.png".
// Both implementations reject the same keys, so the local default fails
// where production would: empty, longer than 1024 bytes, absolute, with a
// backslash, a control character, an empty, "." or ".." segment, or a
// segment longer than 255 bytes. Like a POSIX-backed S3 server (versitygw),
// *Dir cannot hold both "a" and "a/b"; keep keys leaf-shaped.
//
// # Metadata
//
// Put streams the reader once, computing its SHA-256 on the way, and records
// it with the content type. List returns Key, Size, ETag and ModTime only,
// since S3 listings carry no metadata: Stat a key for ContentType and SHA256.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sjzamr/smartreg/shared/errs"
)

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	ETag        string // opaque, without quotes
	ModTime     time.Time
	SHA256      string // lowercase hex, when known
}

// Store is the behaviour both implementations share. Not-found errors
// satisfy errors.Is(err, errs.ErrNotFound); bad keys are errs.Invalid.
type Store interface {
	// Put streams r (of any length) to key, replacing what was there. A
	// failed Put leaves any previous object untouched.
	Put(ctx context.Context, key string, r io.Reader, contentType string) (Info, error)
	// Get opens key; the caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns up to limit objects whose key starts with prefix, sorted
	// by key (byte order); limit <= 0 means all of them.
	List(ctx context.Context, prefix string, limit int) ([]Info, error)
	// Ping checks the store is reachable and usable, for readiness probes.
	Ping(ctx context.Context) error
}

var (
	_ Store = (*S3)(nil)
	_ Store = (*Dir)(nil)
)

// DefaultContentType is recorded when Put is given none.
const DefaultContentType = "application/octet-stream"

const (
	maxKeyLen         = 1024 // S3's limit
	maxSegmentLen     = 255  // NAME_MAX on the filesystems versitygw and Dir use
	maxContentTypeLen = 255
	metaSHA256        = "sha256" // S3 user metadata name (x-amz-meta-sha256)
)

// Open returns the store a location names; see the package comment for the
// format. An s3 location is checked (and its bucket created) before Open
// returns, so a misconfigured platform fails at start, not on first upload.
func Open(ctx context.Context, location string) (Store, error) {
	if !strings.Contains(location, ":") {
		return NewDir(location)
	}
	u, err := url.Parse(location)
	if err != nil {
		// url.Error repeats the input, which may carry a secret.
		return nil, errs.New(errs.Invalid, "对象存储地址格式错误")
	}
	switch u.Scheme {
	case "file":
		return openFile(u)
	case "s3":
		cfg, err := s3ConfigFromURL(u)
		if err != nil {
			return nil, err
		}
		s, err := NewS3(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if err := s.EnsureBucket(ctx); err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, errs.Wrap(errs.Invalid, "不支持的对象存储地址，请使用 file:// 或 s3://",
			fmt.Errorf("blob: unsupported scheme %q", u.Scheme))
	}
}

func openFile(u *url.URL) (*Dir, error) {
	path := u.Path
	if u.Opaque != "" {
		path = u.Opaque
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, errs.Wrap(errs.Invalid, "file:// 地址只能指向本机目录",
			fmt.Errorf("blob: file location with host %q", u.Host))
	}
	if u.RawQuery != "" || path == "" {
		return nil, errs.Wrap(errs.Invalid, "file:// 地址格式错误，应为 file:///绝对路径",
			fmt.Errorf("blob: bad file location %q", u.Redacted()))
	}
	return NewDir(path)
}

func s3ConfigFromURL(u *url.URL) (S3Config, error) {
	bad := func(msg string, cause error) (S3Config, error) {
		return S3Config{}, errs.Wrap(errs.Invalid, msg, fmt.Errorf("blob: location %q: %w", u.Redacted(), cause))
	}
	if u.Host == "" || u.Path != "" && u.Path != "/" {
		return bad("s3:// 地址应为 s3://存储桶名?endpoint=…", errors.New("want a bucket name as host"))
	}
	cfg := S3Config{Bucket: u.Host}
	if u.User != nil {
		cfg.AccessKey = u.User.Username()
		cfg.SecretKey, _ = u.User.Password()
		if cfg.AccessKey == "" || cfg.SecretKey == "" {
			return bad("s3:// 地址中的访问密钥应为 KEY:SECRET 形式", errors.New("incomplete userinfo"))
		}
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("s3:// 地址参数格式错误", errors.New("bad query"))
	}
	for name, vals := range query {
		if len(vals) != 1 {
			return bad("s3:// 地址参数 "+name+" 只能出现一次", fmt.Errorf("repeated parameter %q", name))
		}
		switch name {
		case "endpoint":
			cfg.Endpoint = vals[0]
		case "region":
			cfg.Region = vals[0]
		default:
			// A typo such as "endpiont" would otherwise silently send
			// objects to AWS.
			return bad("s3:// 地址含未知参数 "+name+"（支持 endpoint、region）", fmt.Errorf("unknown parameter %q", name))
		}
	}
	return cfg, nil
}

// validateKey enforces the key rules in the package comment. It is the only
// guard Dir needs against path traversal besides os.Root.
func validateKey(key string) error {
	if key == "" {
		return invalidKey(key, "对象键不能为空")
	}
	if len(key) > maxKeyLen {
		return invalidKey(key, "对象键过长，最多 1024 字节")
	}
	if strings.HasPrefix(key, "/") {
		return invalidKey(key, "对象键不能以“/”开头（不允许绝对路径）")
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := validateSegment(key, seg); err != nil {
			return err
		}
	}
	return validateChars(key)
}

// validatePrefix accepts what validateKey accepts, plus the empty prefix, a
// trailing "/" and a partial last segment ("qr/2024" matches "qr/20240101").
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > maxKeyLen {
		return invalidKey(prefix, "对象键前缀过长，最多 1024 字节")
	}
	if strings.HasPrefix(prefix, "/") {
		return invalidKey(prefix, "对象键前缀不能以“/”开头（不允许绝对路径）")
	}
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		for seg := range strings.SplitSeq(prefix[:i], "/") {
			if err := validateSegment(prefix, seg); err != nil {
				return err
			}
		}
	}
	return validateChars(prefix)
}

func validateSegment(key, seg string) error {
	switch {
	case seg == "..":
		return invalidKey(key, "对象键不能包含“..”路径段")
	case seg == "" || seg == ".":
		return invalidKey(key, "对象键不能包含空路径段或“.”（如“a//b”“a/./b”或以“/”结尾）")
	case len(seg) > maxSegmentLen:
		return invalidKey(key, "对象键的每一段最多 255 字节")
	}
	return nil
}

func validateChars(key string) error {
	if !utf8.ValidString(key) {
		return invalidKey(key, "对象键必须是有效的 UTF-8 文本")
	}
	if strings.Contains(key, `\`) {
		return invalidKey(key, "对象键不能包含反斜杠“\\”，路径分隔请使用“/”")
	}
	if strings.IndexFunc(key, unicode.IsControl) >= 0 {
		return invalidKey(key, "对象键不能包含控制字符")
	}
	return nil
}

func invalidKey(key, msg string) error {
	return errs.Wrap(errs.Invalid, msg, fmt.Errorf("blob: bad key %q", key))
}

// contentTypeOf validates ct and supplies the default.
func contentTypeOf(ct string) (string, error) {
	if ct == "" {
		return DefaultContentType, nil
	}
	if len(ct) > maxContentTypeLen {
		return "", errs.Wrap(errs.Invalid, "内容类型过长，最多 255 字节", fmt.Errorf("blob: content type of %d bytes", len(ct)))
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		return "", errs.Wrap(errs.Invalid, "内容类型格式错误，应如“image/png”", fmt.Errorf("blob: content type %q: %w", ct, err))
	}
	return ct, nil
}

func notFound(key string, cause error) error {
	return errs.Wrap(errs.NotFound, "对象不存在", fmt.Errorf("blob: %q: %w", key, cause))
}

// ctxReader makes a long copy stop when the request is cancelled, since
// most readers (request bodies aside) ignore contexts.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
