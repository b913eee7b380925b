package seal

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/proof"
)

// Result is what a successful verification establishes.
type Result struct {
	Manifest   Manifest   `json:"manifest"`
	Digest     Digest     `json:"manifest_digest"`
	Index      uint64     `json:"log_index"`
	Checkpoint Checkpoint `json:"-"`
	LogSize    uint64     `json:"log_size"`
	LogOrigin  string     `json:"log_origin"`
}

// VerifyReceipt checks that entry is at r.Index of the log whose signed
// checkpoint r carries, under the log's public key.
func VerifyReceipt(entry []byte, r Receipt, vkey string) (Checkpoint, error) {
	cp, err := OpenCheckpoint(r.Checkpoint, vkey)
	if err != nil {
		return Checkpoint{}, err
	}
	if r.Index >= cp.Size {
		return Checkpoint{}, tampered("回执序号 %d 超出日志大小 %d", r.Index, cp.Size)
	}
	if err := proof.VerifyInclusion(Hasher, r.Index, cp.Size, LeafHash(entry), r.Proof, cp.Root); err != nil {
		return Checkpoint{}, tampered("包含证明不成立 (%v)", err)
	}
	return cp, nil
}

// VerifyBundle checks a bundle offline: its files against its manifest, the
// manifest against the log entry, and the entry against the receipt's
// inclusion proof and signed checkpoint.
func VerifyBundle(fsys fs.FS, vkey string) (Result, error) {
	mb, err := fs.ReadFile(fsys, ManifestName)
	if err != nil {
		return Result{}, tampered("证据包缺少 %s", ManifestName)
	}
	rb, err := fs.ReadFile(fsys, ReceiptName)
	if err != nil {
		return Result{}, tampered("证据包缺少 %s", ReceiptName)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrTampered, err)
	}
	if !bytes.Equal(m.Marshal(), mb) {
		return Result{}, tampered("清单不是规范格式（可能被改动）")
	}
	if err := CheckFiles(fsys, m); err != nil {
		return Result{}, err
	}
	r, err := ParseReceipt(rb)
	if err != nil {
		return Result{}, err
	}
	cp, err := VerifyReceipt(Entry(mb), r, vkey)
	if err != nil {
		return Result{}, err
	}
	return Result{Manifest: m, Digest: Sum(mb), Index: r.Index, Checkpoint: cp, LogSize: cp.Size, LogOrigin: cp.Origin}, nil
}

// DirTiles reads tiles from a directory mirror of the log.
type DirTiles string

// ReadTile reads tile/<level>/<index>[.p/<width>] under the directory.
func (d DirTiles) ReadTile(_ context.Context, level, index uint64, width int) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(TilePath(level, index, width))))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, tampered("镜像缺少瓦片 %s", TilePath(level, index, width))
	}
	return b, err
}

// VerifyTiles checks a mirror of the log's tiles against a verified
// checkpoint: the root recomputed from the tiles is the signed root, and,
// for a receipt, the inclusion proof rebuilt from the tiles is the same.
func VerifyTiles(ctx context.Context, tr TileReader, cp Checkpoint, r *Receipt) error {
	root, err := RootFromTiles(ctx, tr, cp.Size)
	if err != nil {
		return err
	}
	if !bytes.Equal(root, cp.Root) {
		return tampered("由瓦片计算的根哈希与检查点不符")
	}
	if r == nil {
		return nil
	}
	p, err := InclusionProof(ctx, tr, r.Index, cp.Size)
	if err != nil {
		return err
	}
	if len(p) != len(r.Proof) {
		return tampered("瓦片给出的证明与回执不同")
	}
	for i := range p {
		if !bytes.Equal(p[i], r.Proof[i]) {
			return tampered("瓦片给出的证明与回执不同")
		}
	}
	return nil
}

// Witness keeps the last checkpoint it accepted from a log (in a file) and
// accepts a newer one only with a valid consistency proof: a log that
// rewrote its history is refused.
type Witness struct {
	StatePath string
	VKey      string
}

// ErrFork means two checkpoints of the log are not consistent.
var ErrFork = errors.New("日志历史被改写（检查点不一致）")

// Last is the checkpoint the witness holds (nil before the first).
func (w Witness) Last() ([]byte, error) {
	b, err := os.ReadFile(w.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Observe checks a newly fetched signed checkpoint. proofFn gives the
// consistency proof from the held size to the new one (built from the
// log's tiles or asked of the log). The state moves forward only when the
// new checkpoint is consistent with the held one.
func (w Witness) Observe(signed []byte, proofFn func(size1, size2 uint64) ([][]byte, error)) (Checkpoint, error) {
	cp, err := OpenCheckpoint(signed, w.VKey)
	if err != nil {
		return Checkpoint{}, err
	}
	prevSigned, err := w.Last()
	if err != nil {
		return Checkpoint{}, err
	}
	if prevSigned != nil {
		prev, err := OpenCheckpoint(prevSigned, w.VKey)
		if err != nil {
			return Checkpoint{}, fmt.Errorf("见证状态文件损坏: %w", err)
		}
		switch {
		case cp.Size < prev.Size:
			return Checkpoint{}, fmt.Errorf("%w: 日志从 %d 条缩小到 %d 条", ErrFork, prev.Size, cp.Size)
		case cp.Size == prev.Size:
			if !bytes.Equal(cp.Root, prev.Root) {
				return Checkpoint{}, fmt.Errorf("%w: 同为 %d 条但根哈希不同", ErrFork, cp.Size)
			}
			return cp, nil
		}
		var p [][]byte
		if prev.Size > 0 {
			if p, err = proofFn(prev.Size, cp.Size); err != nil {
				return Checkpoint{}, fmt.Errorf("%w: 无法取得一致性证明 (%v)", ErrFork, err)
			}
		}
		if err := proof.VerifyConsistency(Hasher, prev.Size, cp.Size, p, prev.Root, cp.Root); err != nil {
			return Checkpoint{}, fmt.Errorf("%w: %d → %d 条的一致性证明不成立", ErrFork, prev.Size, cp.Size)
		}
	}
	tmp := w.StatePath + ".tmp"
	if err := os.WriteFile(tmp, signed, 0o644); err != nil {
		return Checkpoint{}, err
	}
	return cp, os.Rename(tmp, w.StatePath)
}

// Summary renders a result for people (the CLI's output).
func (r Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "证据包校验通过\n  编号: %s\n  标题: %s\n  文件: %d 个\n", r.Manifest.ID, r.Manifest.Title, len(r.Manifest.Files))
	fmt.Fprintf(&b, "  清单 SHA-256: %s\n  清单 SM3: %s\n", r.Digest.SHA256, r.Digest.SM3)
	fmt.Fprintf(&b, "  日志: %s，序号 %s / 共 %d 条\n", r.LogOrigin, strconv.FormatUint(r.Index, 10), r.LogSize)
	return b.String()
}

// MarshalJSON keeps the checkpoint's root readable in JSON output.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"origin": c.Origin, "size": c.Size, "root": c.Root})
}

// HTTPTiles reads tiles from a log served over HTTP: Base is the log's
// prefix (".../evidence/v1/log/"), under which checkpoint and tile/ live.
type HTTPTiles struct {
	Base   string
	Client *http.Client
}

// ReadTile fetches tile/<level>/<index>[.p/<width>].
func (h HTTPTiles) ReadTile(ctx context.Context, level, index uint64, width int) ([]byte, error) {
	return h.get(ctx, TilePath(level, index, width))
}

// Checkpoint fetches the log's newest signed checkpoint.
func (h HTTPTiles) Checkpoint(ctx context.Context) ([]byte, error) { return h.get(ctx, "checkpoint") }

func (h HTTPTiles) get(ctx context.Context, name string) ([]byte, error) {
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(h.Base, "/")+"/"+name, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", name, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}

// OpenBundle opens a bundle given as a directory or a zip file.
func OpenBundle(p string) (fs.FS, func() error, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, err
	}
	if st.IsDir() {
		return os.DirFS(p), func() error { return nil }, nil
	}
	z, err := zip.OpenReader(p)
	if err != nil {
		return nil, nil, fmt.Errorf("%s 既不是目录也不是 zip 证据包: %w", p, err)
	}
	return z, z.Close, nil
}
