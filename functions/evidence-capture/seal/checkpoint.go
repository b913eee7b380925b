package seal

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size and the RFC 6962 root hash of that many entries.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   []byte
}

// Text is the checkpoint body as signed.
func (c Checkpoint) Text() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
}

// ParseCheckpoint reads a checkpoint body (extension lines are allowed and
// ignored, as the spec says).
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) < 3 || !strings.HasSuffix(text, "\n") {
		return Checkpoint{}, tampered("检查点格式错误")
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	size, err := strconv.ParseUint(strings.TrimSuffix(lines[1], "\n"), 10, 64)
	if err != nil || origin == "" {
		return Checkpoint{}, tampered("检查点格式错误")
	}
	root, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(root) != 32 {
		return Checkpoint{}, tampered("检查点根哈希格式错误")
	}
	return Checkpoint{Origin: origin, Size: size, Root: root}, nil
}

// SignCheckpoint signs a checkpoint as a signed note. The signer's name
// must be the checkpoint's origin (C2SP tlog-checkpoint).
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("seal: key name %q is not the log origin %q", s.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: c.Text()}, s)
}

// OpenCheckpoint checks a signed checkpoint against the log's public key
// (a note verifier key, "name+hash+base64") and returns its body.
func OpenCheckpoint(signed []byte, vkey string) (Checkpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("日志公钥格式错误: %w", err)
	}
	if err := canonicalSignatures(signed); err != nil {
		return Checkpoint{}, err
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, tampered("检查点签名无效 (%v)", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, tampered("检查点来源 %q 与公钥 %q 不符", c.Origin, v.Name())
	}
	return c, nil
}

// Receipt is a c2sp.org/tlog-proof: the signed checkpoint, the entry's
// index and its inclusion proof; Extra carries application data.
type Receipt struct {
	Extra      []byte
	Index      uint64
	Proof      [][]byte
	Checkpoint []byte // the signed note
}

const receiptHeader = "c2sp.org/tlog-proof@v1\n"

// Marshal writes the receipt in the tlog-proof text format.
func (r Receipt) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(receiptHeader)
	if len(r.Extra) > 0 {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(r.Extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", r.Index)
	for _, h := range r.Proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	b.WriteString("\n")
	b.Write(r.Checkpoint)
	return b.Bytes()
}

// ParseReceipt reads a tlog-proof, refusing anything not in its exact form.
func ParseReceipt(b []byte) (Receipt, error) {
	s := string(b)
	if !strings.HasPrefix(s, receiptHeader) {
		return Receipt{}, tampered("回执不是 c2sp.org/tlog-proof@v1 格式")
	}
	head, cp, ok := strings.Cut(strings.TrimPrefix(s, receiptHeader), "\n\n")
	if !ok {
		return Receipt{}, tampered("回执缺少检查点")
	}
	var r Receipt
	lines := strings.Split(head, "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		x, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil {
			return Receipt{}, tampered("回执附加数据格式错误")
		}
		r.Extra, lines = x, lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return Receipt{}, tampered("回执缺少序号")
	}
	idx, err := strconv.ParseUint(strings.TrimPrefix(lines[0], "index "), 10, 64)
	if err != nil || strconv.FormatUint(idx, 10) != strings.TrimPrefix(lines[0], "index ") {
		return Receipt{}, tampered("回执序号格式错误")
	}
	r.Index = idx
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != 32 {
			return Receipt{}, tampered("回执证明哈希格式错误")
		}
		r.Proof = append(r.Proof, h)
	}
	r.Checkpoint = []byte(cp)
	return r, nil
}

// PublicKey derives the note verifier key ("name+hash+base64") of an
// Ed25519 note signer key ("PRIVATE+KEY+name+hash+base64"), the key the log
// publishes for verifiers and witnesses.
func PublicKey(skey string) (string, error) {
	parts := strings.Split(skey, "+")
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("seal: not a note signer key")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("seal: not an Ed25519 note signer key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// canonicalSignatures refuses a note whose signature lines are not in the
// one base64 spelling of their bytes: the note library decodes leniently,
// so a signature re-spelt in its padding bits would still verify, and a
// receipt that is not byte for byte the one issued is a changed receipt.
func canonicalSignatures(signed []byte) error {
	s := string(signed)
	i := strings.LastIndex(s, "\n\n")
	if i < 0 {
		return tampered("检查点缺少签名")
	}
	for _, l := range strings.Split(strings.TrimSuffix(s[i+2:], "\n"), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "\u2014" {
			return tampered("检查点签名行格式错误")
		}
		if _, err := base64.StdEncoding.Strict().DecodeString(f[2]); err != nil {
			return tampered("检查点签名编码不规范")
		}
	}
	return nil
}
