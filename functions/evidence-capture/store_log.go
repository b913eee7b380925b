package evidencecapture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"github.com/sjzamr/smartreg/functions/evidence-capture/seal"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/store"
)

// logPrefix is where the log's static files (checkpoint, tiles) live in
// object storage, so the log can be served and mirrored as plain files.
const logPrefix = "evidence/log/"

// Log is the transparency log: appends are batched into one transaction
// each (an entry is acknowledged once its index is committed), and one
// integration loop folds the sequenced entries into the tree, writes the
// tiles and signs a checkpoint.
type Log struct {
	pool     *pgxpool.Pool
	blob     Blob
	signer   note.Signer
	verifier note.Verifier
	now      func() time.Time
	log      *slog.Logger
	maxBatch int
	vkey     string

	reqs chan appendReq
	mu   sync.Mutex // serialises Integrate within this process
}

type appendReq struct {
	entry []byte
	done  chan appendRes
}

type appendRes struct {
	index uint64
	err   error
}

// newLog builds the log; nothing runs until Run.
func newLog(pool *pgxpool.Pool, b Blob, skey string, now func() time.Time, l *slog.Logger, maxBatch int) (*Log, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("evidence-capture: EVIDENCE_LOG_KEY: %w", err)
	}
	vkey, err := seal.PublicKey(skey)
	if err != nil {
		return nil, fmt.Errorf("evidence-capture: EVIDENCE_LOG_KEY: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Log{pool: pool, blob: b, signer: signer, verifier: verifier, vkey: vkey, now: now, log: l, maxBatch: maxBatch,
		reqs: make(chan appendReq, maxBatch*4)}, nil
}

// PublicKey is the log's note verifier key, published for verifiers.
func (l *Log) PublicKey() string { return l.vkey }

// Origin is the log's name, the first line of its checkpoints.
func (l *Log) Origin() string { return l.signer.Name() }

// Append sequences an entry and returns its index once committed. It needs
// the sequencer running (Run).
func (l *Log) Append(ctx context.Context, entry []byte) (uint64, error) {
	done := make(chan appendRes, 1)
	select {
	case l.reqs <- appendReq{entry: entry, done: done}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-done:
		return r.index, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Run sequences appends in batches and integrates about every interval,
// until ctx ends.
func (l *Log) Run(ctx context.Context, every time.Duration) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := l.Integrate(ctx); err != nil && ctx.Err() == nil {
					l.log.Error("evidence log integration", "err", err)
				}
			}
		}
	}()
	for {
		var batch []appendReq
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case r := <-l.reqs:
			batch = append(batch, r)
		}
		// Take whatever else is waiting, up to the batch size: under load
		// batches fill, alone an append costs one transaction.
	fill:
		for len(batch) < l.maxBatch {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		idx, err := l.sequence(ctx, batch)
		for i, r := range batch {
			if err != nil {
				r.done <- appendRes{err: err}
			} else {
				r.done <- appendRes{index: idx[i]}
			}
		}
	}
}

// sequence gives the batch's entries their indexes in one transaction; an
// entry already in the log (or twice in the batch) keeps its index.
func (l *Log) sequence(ctx context.Context, batch []appendReq) ([]uint64, error) {
	out := make([]uint64, len(batch))
	err := store.InTx(ctx, l.pool, func(tx pgx.Tx) error {
		var size int64
		if err := tx.QueryRow(ctx, `SELECT sequenced FROM evidence.log_state FOR UPDATE`).Scan(&size); err != nil {
			return err
		}
		hashes := make([][]byte, len(batch))
		for i, r := range batch {
			hashes[i] = seal.LeafHash(r.entry)
		}
		known := map[string]uint64{}
		rows, err := tx.Query(ctx, `SELECT leaf_hash, idx FROM evidence.log_entries WHERE leaf_hash = ANY($1)`, hashes)
		if err != nil {
			return err
		}
		for rows.Next() {
			var h []byte
			var i int64
			if err := rows.Scan(&h, &i); err != nil {
				return err
			}
			known[string(h)] = uint64(i)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var idxs []int64
		var entries, leaves [][]byte
		for i, r := range batch {
			if x, ok := known[string(hashes[i])]; ok {
				out[i] = x
				continue
			}
			known[string(hashes[i])] = uint64(size)
			out[i] = uint64(size)
			idxs, entries, leaves = append(idxs, size), append(entries, r.entry), append(leaves, hashes[i])
			size++
		}
		if len(idxs) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO evidence.log_entries (idx, entry, leaf_hash, created_at)
			SELECT * , $4::timestamptz FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])`, idxs, entries, leaves, l.now()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE evidence.log_state SET sequenced = $1`, size)
		return err
	})
	return out, store.Classify(err)
}

// Integrate folds the sequenced entries into the tree: tiles into the
// database and object storage, a signed checkpoint, all in one
// transaction, so a crash leaves either the old tree or the new one. It
// returns the size of the newest checkpoint.
func (l *Log) Integrate(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var size uint64
	var signed []byte
	err := store.InTx(ctx, l.pool, func(tx pgx.Tx) error {
		var seq, integ int64
		var hashes [][]byte
		// NOWAIT-free: appends lock the same row only for a moment.
		if err := tx.QueryRow(ctx, `SELECT sequenced, integrated, compact FROM evidence.log_state FOR UPDATE`).Scan(&seq, &integ, &hashes); err != nil {
			return err
		}
		var have bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM evidence.log_checkpoints WHERE size = $1)`, integ).Scan(&have); err != nil {
			return err
		}
		size = uint64(integ)
		if seq == integ && have {
			return nil
		}
		f := &compact.RangeFactory{Hash: seal.Hasher.HashChildren}
		cr, err := f.NewRange(0, uint64(integ), hashes)
		if err != nil {
			return fmt.Errorf("evidence log: stored compact range: %w", err)
		}
		tiles := map[[2]uint64][]byte{}
		dirty := map[[2]uint64]bool{}
		var loadErr error
		put := func(level, index uint64, h []byte) {
			k := [2]uint64{level, index / seal.TileWidth}
			t, ok := tiles[k]
			if !ok {
				err := tx.QueryRow(ctx, `SELECT data FROM evidence.log_tiles WHERE level = $1 AND idx = $2`, int(k[0]), int64(k[1])).Scan(&t)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					loadErr = err
				}
			}
			off := int(index%seal.TileWidth) * seal.HashSize
			// A retried integration rewrites the same bytes at the same place.
			t = append(t[:min(off, len(t))], h...)
			tiles[k], dirty[k] = t, true
		}
		rows, err := tx.Query(ctx, `SELECT leaf_hash FROM evidence.log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`, integ, seq)
		if err != nil {
			return err
		}
		leaves, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return err
		}
		i := uint64(integ)
		for _, h := range leaves {
			put(0, i, h)
			if err := cr.Append(h, func(id compact.NodeID, h []byte) {
				if id.Level%seal.TileHeight == 0 {
					put(uint64(id.Level/seal.TileHeight), id.Index, h)
				}
			}); err != nil {
				return err
			}
			i++
		}
		if loadErr != nil {
			return loadErr
		}
		if i != uint64(seq) {
			return fmt.Errorf("evidence log: entries %d..%d incomplete (got to %d)", integ, seq, i)
		}
		root := seal.Hasher.EmptyRoot()
		if i > 0 {
			if root, err = cr.GetRootHash(nil); err != nil {
				return err
			}
		}
		for k := range dirty {
			t := tiles[k]
			if _, err := tx.Exec(ctx, `INSERT INTO evidence.log_tiles (level, idx, data) VALUES ($1, $2, $3)
				ON CONFLICT (level, idx) DO UPDATE SET data = EXCLUDED.data`, int(k[0]), int64(k[1]), t); err != nil {
				return err
			}
			if err := l.putFile(ctx, seal.TilePath(k[0], k[1], len(t)/seal.HashSize), t); err != nil {
				return err
			}
			if k[0] == 0 {
				if err := l.putEntryBundle(ctx, tx, k[1], len(t)/seal.HashSize); err != nil {
					return err
				}
			}
		}
		cp := seal.Checkpoint{Origin: l.Origin(), Size: i, Root: root}
		if signed, err = seal.SignCheckpoint(cp, l.signer); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO evidence.log_checkpoints (size, signed, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (size) DO NOTHING`, int64(i), signed, l.now()); err != nil {
			return err
		}
		size = i
		_, err = tx.Exec(ctx, `UPDATE evidence.log_state SET integrated = $1, compact = $2`, int64(i), cr.Hashes())
		return err
	})
	if err != nil {
		return 0, store.Classify(err)
	}
	if signed != nil {
		// The mutable checkpoint file follows the committed state; a crash
		// before this write leaves an older, still valid checkpoint.
		if err := l.putFile(ctx, "checkpoint", signed); err != nil {
			return size, err
		}
	}
	return size, nil
}

func (l *Log) putFile(ctx context.Context, name string, b []byte) error {
	if l.blob == nil {
		return nil
	}
	_, err := l.blob.Put(ctx, logPrefix+name, bytes.NewReader(b), "application/octet-stream")
	return err
}

// putEntryBundle writes tile/entries/N (C2SP tlog-tiles entry bundle:
// each entry as a big-endian uint16 length and its bytes).
func (l *Log) putEntryBundle(ctx context.Context, tx pgx.Tx, tile uint64, width int) error {
	if l.blob == nil {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT entry FROM evidence.log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
		int64(tile*seal.TileWidth), int64(tile*seal.TileWidth)+int64(width))
	if err != nil {
		return err
	}
	var b []byte
	for rows.Next() {
		var e []byte
		if err := rows.Scan(&e); err != nil {
			return err
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(e)))
		b = append(b, e...)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return l.putFile(ctx, seal.EntriesPath(tile, width), b)
}

// Checkpoint is the newest signed checkpoint.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	var b []byte
	err := l.pool.QueryRow(ctx, `SELECT signed FROM evidence.log_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&b)
	return b, store.Classify(err)
}

// CheckpointAt is the signed checkpoint of one size, if one was signed.
func (l *Log) CheckpointAt(ctx context.Context, size uint64) ([]byte, error) {
	var b []byte
	err := l.pool.QueryRow(ctx, `SELECT signed FROM evidence.log_checkpoints WHERE size = $1`, int64(size)).Scan(&b)
	return b, store.Classify(err)
}

// ReadTile reads a tile's first width hashes from the database (a tile
// only grows, so its prefix is the tile at any earlier size).
func (l *Log) ReadTile(ctx context.Context, level, index uint64, width int) ([]byte, error) {
	var b []byte
	err := l.pool.QueryRow(ctx, `SELECT data FROM evidence.log_tiles WHERE level = $1 AND idx = $2`, int(level), int64(index)).Scan(&b)
	if err != nil {
		return nil, store.Classify(err)
	}
	if len(b) < width*seal.HashSize {
		return nil, errs.New(errs.NotFound, "瓦片尚未生成")
	}
	return b[:width*seal.HashSize], nil
}

// ErrPending means the entry is sequenced but not yet in a checkpoint.
var ErrPending = errs.New(errs.Conflict, "证据已入队，正在写入存证日志，请稍后再取回执")

// Receipt is the tlog-proof of entry index against the newest checkpoint.
func (l *Log) Receipt(ctx context.Context, index uint64, extra []byte) (seal.Receipt, error) {
	signed, err := l.Checkpoint(ctx)
	if errors.Is(err, errs.ErrNotFound) {
		return seal.Receipt{}, ErrPending
	}
	if err != nil {
		return seal.Receipt{}, err
	}
	n, err := note.Open(signed, note.VerifierList(l.verifier))
	if err != nil {
		return seal.Receipt{}, err
	}
	cp, err := seal.ParseCheckpoint(n.Text)
	if err != nil {
		return seal.Receipt{}, err
	}
	if index >= cp.Size {
		return seal.Receipt{}, ErrPending
	}
	p, err := seal.InclusionProof(ctx, l, index, cp.Size)
	if err != nil {
		return seal.Receipt{}, err
	}
	return seal.Receipt{Extra: extra, Index: index, Proof: p, Checkpoint: signed}, nil
}

// BlobTiles reads the log's static tiles from object storage: what a
// mirror serves, checked by verifiers against a signed checkpoint.
type BlobTiles struct{ Blob Blob }

// ReadTile reads tile (level, index) of the given width.
func (b BlobTiles) ReadTile(ctx context.Context, level, index uint64, width int) ([]byte, error) {
	rc, _, err := b.Blob.Get(ctx, logPrefix+seal.TilePath(level, index, width))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Entry is the entry at index.
func (l *Log) Entry(ctx context.Context, index uint64) ([]byte, error) {
	var b []byte
	err := l.pool.QueryRow(ctx, `SELECT entry FROM evidence.log_entries WHERE idx = $1`, int64(index)).Scan(&b)
	return b, store.Classify(err)
}
