package seal

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TileHeight is the C2SP tlog-tiles height: 2^8 hashes to a full tile.
const (
	TileHeight = 8
	TileWidth  = 1 << TileHeight
	HashSize   = 32
)

// Hasher is RFC 6962 with SHA-256, the log's hashing.
var Hasher = rfc6962.DefaultHasher

// LeafHash is the RFC 6962 leaf hash of an entry.
func LeafHash(entry []byte) []byte { return Hasher.HashLeaf(entry) }

// TilePath is the C2SP tlog-tiles path of a tile ("tile/0/x001/234.p/7");
// width below TileWidth is a partial tile.
func TilePath(level, index uint64, width int) string {
	return "tile/" + fmt.Sprint(level) + "/" + encodeIndex(index) + partial(width)
}

// EntriesPath is the path of an entry bundle ("tile/entries/000.p/3").
func EntriesPath(index uint64, width int) string {
	return "tile/entries/" + encodeIndex(index) + partial(width)
}

func partial(width int) string {
	if width >= TileWidth {
		return ""
	}
	return fmt.Sprintf(".p/%d", width)
}

// encodeIndex writes a tile index as 3-digit groups, all but the last with
// an x prefix (C2SP tlog-tiles).
func encodeIndex(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// TileWidthAt is how many hashes tile (level, index) holds in a tree of
// the given size (0 when it does not exist yet).
func TileWidthAt(level, index, size uint64) int {
	count := size >> (TileHeight * level) // nodes at level 8·level
	start := index * TileWidth
	if count <= start {
		return 0
	}
	return int(min(count-start, TileWidth))
}

// TileReader gives a tile's bytes: width hashes of 32 bytes.
type TileReader interface {
	ReadTile(ctx context.Context, level, index uint64, width int) ([]byte, error)
}

// nodeHashes reads the hashes of perfect subtree nodes of a tree of the
// given size from its tiles, each tile read once.
func nodeHashes(ctx context.Context, tr TileReader, size uint64, ids []compact.NodeID) ([][]byte, error) {
	type key struct{ level, index uint64 }
	tiles := map[key][]byte{}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		tl := uint64(id.Level) / TileHeight
		r := id.Level % TileHeight
		first := id.Index << r // first hash at the tile level under this node
		k := key{tl, first / TileWidth}
		t, ok := tiles[k]
		if !ok {
			w := TileWidthAt(k.level, k.index, size)
			if w == 0 {
				return nil, tampered("瓦片 %s 不存在", TilePath(k.level, k.index, 1))
			}
			b, err := tr.ReadTile(ctx, k.level, k.index, w)
			if err != nil {
				return nil, err
			}
			if len(b) != w*HashSize {
				return nil, tampered("瓦片 %s 长度错误", TilePath(k.level, k.index, w))
			}
			tiles[k], t = b, b
		}
		off := first % TileWidth
		n := uint64(1) << r
		if (off+n)*HashSize > uint64(len(t)) {
			return nil, tampered("瓦片 %s 缺少节点", TilePath(k.level, k.index, len(t)/HashSize))
		}
		out[i] = subtreeRoot(t[off*HashSize : (off+n)*HashSize])
	}
	return out, nil
}

// subtreeRoot folds 2^r consecutive hashes into their perfect subtree's root.
func subtreeRoot(b []byte) []byte {
	hs := make([][]byte, len(b)/HashSize)
	for i := range hs {
		hs[i] = b[i*HashSize : (i+1)*HashSize]
	}
	for len(hs) > 1 {
		next := make([][]byte, len(hs)/2)
		for i := range next {
			next[i] = Hasher.HashChildren(hs[2*i], hs[2*i+1])
		}
		hs = next
	}
	return hs[0]
}

// InclusionProof builds the proof of entry index in a tree of size from
// the tiles.
func InclusionProof(ctx context.Context, tr TileReader, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	hs, err := nodeHashes(ctx, tr, size, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hs, Hasher.HashChildren)
}

// ConsistencyProof builds the proof that the tree of size1 is a prefix of
// the tree of size2, from the tiles of the larger tree.
func ConsistencyProof(ctx context.Context, tr TileReader, size1, size2 uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	hs, err := nodeHashes(ctx, tr, size2, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hs, Hasher.HashChildren)
}

// RootFromTiles recomputes a tree's root from its level-0 tiles alone and
// checks that every higher tile agrees with the tiles below it, so a
// tampered byte anywhere in the tiles is found.
func RootFromTiles(ctx context.Context, tr TileReader, size uint64) ([]byte, error) {
	f := &compact.RangeFactory{Hash: Hasher.HashChildren}
	r := f.NewEmptyRange(0)
	want := map[compact.NodeID][]byte{} // nodes at tile levels, from the build
	visit := func(id compact.NodeID, h []byte) {
		if id.Level%TileHeight == 0 && id.Level > 0 {
			want[id] = h
		}
	}
	for i := uint64(0); i*TileWidth < size; i++ {
		w := TileWidthAt(0, i, size)
		b, err := tr.ReadTile(ctx, 0, i, w)
		if err != nil {
			return nil, err
		}
		if len(b) != w*HashSize {
			return nil, tampered("瓦片 %s 长度错误", TilePath(0, i, w))
		}
		for j := 0; j < w; j++ {
			if err := r.Append(b[j*HashSize:(j+1)*HashSize], visit); err != nil {
				return nil, err
			}
		}
	}
	for level := uint64(1); size>>(TileHeight*level) > 0; level++ {
		for i := uint64(0); i*TileWidth < size>>(TileHeight*level); i++ {
			w := TileWidthAt(level, i, size)
			b, err := tr.ReadTile(ctx, level, i, w)
			if err != nil {
				return nil, err
			}
			if len(b) != w*HashSize {
				return nil, tampered("瓦片 %s 长度错误", TilePath(level, i, w))
			}
			for j := 0; j < w; j++ {
				h := want[compact.NewNodeID(uint(level*TileHeight), i*TileWidth+uint64(j))]
				if string(h) != string(b[j*HashSize:(j+1)*HashSize]) {
					return nil, tampered("瓦片 %s 与下层瓦片不一致", TilePath(level, i, w))
				}
			}
		}
	}
	if size == 0 {
		return Hasher.EmptyRoot(), nil
	}
	return r.GetRootHash(nil)
}
