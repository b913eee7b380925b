package scanresolve

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// scanRecord is one scan as buffered and stored. Strings are small
// (substrings of a cached entry's header, not of its page). The JSON names
// are those of a batch spilled to Redis: a spill written by an older
// process still replays.
type scanRecord struct {
	facts
	ID      [16]byte  `json:"id"`
	At      time.Time `json:"at"`
	Token   string    `json:"token"`
	Channel string    `json:"channel"`
	UA      string    `json:"ua"`
	OS      string    `json:"os"`
	IPHash  string    `json:"ip"`
	Role    string    `json:"role"`
}

// COPY's binary format: a signature, flags and header-extension length,
// then per row the field count and each field as length + bytes, then -1.
// pgx's CopyFrom boxes every value into an interface (eleven allocations a
// row, half of the hot path's at 18 000 scans/s), and the text format makes
// PostgreSQL parse every uuid and timestamp; this is a few appends into one
// buffer and a memcpy per field on the server.
const copyBinaryHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// pgEpoch is where PostgreSQL's timestamps count microseconds from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *scanRecord) appendCopyRow(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, 13)
	b = binary.BigEndian.AppendUint32(b, 16)
	b = append(b, s.ID[:]...)
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint64(b, uint64(s.At.Sub(pgEpoch).Microseconds()))
	for _, v := range [...]string{s.Token, s.CC, s.District, s.Township, s.Industry, s.Status, s.Channel, s.UA, s.OS, s.IPHash, s.Role} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

// ScanCounts is what the recorder has done since the function started.
type ScanCounts struct {
	Accepted int64 `json:"accepted"` // scans handed to the recorder
	Written  int64 `json:"written"`  // rows committed to scan.scans (by this process, spill replays included)
	Spilled  int64 `json:"spilled"`  // rows parked in the Redis spill while PostgreSQL failed
	Dropped  int64 `json:"dropped"`  // rows lost because the buffer was full with both stores down
	Pending  int64 `json:"pending"`  // rows in memory now
}

// recorder buffers scans in memory and writes them with COPY every
// FlushInterval or FlushRows rows. When PostgreSQL fails, a batch goes to
// a Redis stream (the spill) and is replayed later by any replica, with
// ON CONFLICT on the scan id so a batch whose COPY outcome was unknown is
// not counted twice. A graceful shutdown flushes what is buffered; a crash
// loses at most one interval of scans (see docs/functions/scan-resolve.md).
type recorder struct {
	pool  *pgxpool.Pool
	rdb   *redis.Client
	log   *slog.Logger
	cfg   Config
	spill string

	mu   sync.Mutex
	buf  []scanRecord
	kick chan struct{}

	flushMu    sync.Mutex // one writer at a time
	partitions map[string]bool

	idPrefix [8]byte
	seq      atomic.Uint64

	accepted, written, spilled, dropped atomic.Int64
}

func newRecorder(pool *pgxpool.Pool, rdb *redis.Client, log *slog.Logger, cfg Config) *recorder {
	r := &recorder{pool: pool, rdb: rdb, log: log, cfg: cfg, spill: cfg.RedisPrefix + "spill",
		kick: make(chan struct{}, 1), partitions: map[string]bool{}}
	_, _ = rand.Read(r.idPrefix[:])
	return r
}

// add buffers one scan; it never blocks on I/O.
func (r *recorder) add(s scanRecord) {
	copy(s.ID[:8], r.idPrefix[:])
	binary.BigEndian.PutUint64(s.ID[8:], r.seq.Add(1))
	r.accepted.Add(1)
	r.mu.Lock()
	if len(r.buf) >= r.cfg.MaxBuffered {
		r.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	r.buf = append(r.buf, s)
	full := len(r.buf) >= r.cfg.FlushRows
	r.mu.Unlock()
	if full {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *recorder) counts() ScanCounts {
	r.mu.Lock()
	n := len(r.buf)
	r.mu.Unlock()
	return ScanCounts{Accepted: r.accepted.Load(), Written: r.written.Load(), Spilled: r.spilled.Load(),
		Dropped: r.dropped.Load(), Pending: int64(n)}
}

// run flushes on every tick or full buffer, and replays the spill every
// few seconds (at start too, for batches a previous process left there).
func (r *recorder) run(ctx context.Context) {
	t := time.NewTicker(r.cfg.FlushInterval)
	defer t.Stop()
	replay := time.NewTicker(5 * time.Second)
	defer replay.Stop()
	r.replaySpill(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		case <-replay.C:
			r.replaySpill(ctx)
			continue
		}
		// Not cancelled by Stop: a COPY cut off halfway would only move
		// the batch to the spill. Bounded, so a hung database cannot stall
		// the loop for long.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		r.flushBuffer(fctx)
		cancel()
	}
}

// flush writes the buffer and replays the spill; it fails when anything
// is still pending afterwards.
func (r *recorder) flush(ctx context.Context) error {
	if err := r.flushBuffer(ctx); err != nil {
		return err
	}
	err := r.replaySpill(ctx)
	if err != nil && r.spilled.Load() == 0 && r.counts().Pending == 0 {
		// Redis is unreachable but this process parked nothing there:
		// everything it recorded is in PostgreSQL.
		r.log.Warn("scan spill not readable", "err", err)
		return nil
	}
	return err
}

// final is the shutdown flush: to PostgreSQL, else to the Redis spill.
func (r *recorder) final(ctx context.Context) error {
	err := r.flushBuffer(ctx)
	if n := r.counts().Pending; n > 0 {
		return fmt.Errorf("scan-resolve: %d scans could not be saved at shutdown: %w", n, err)
	}
	return nil
}

func (r *recorder) take() []scanRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.buf
	r.buf = make([]scanRecord, 0, max(len(b), 64))
	return b
}

// putBack returns an unsaved batch to the front of the buffer.
func (r *recorder) putBack(b []scanRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(b, r.buf...)
}

func (r *recorder) flushBuffer(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	batch := r.take()
	if len(batch) == 0 {
		return nil
	}
	err := r.copyBatch(ctx, batch, false)
	if err == nil {
		r.written.Add(int64(len(batch)))
		return nil
	}
	r.log.Warn("writing scans failed, spilling to Redis", "rows", len(batch), "err", err)
	if serr := r.spillBatch(ctx, batch); serr != nil {
		r.log.Error("spilling scans to Redis failed, keeping them in memory", "rows", len(batch), "err", serr)
		r.putBack(batch)
		return errors.Join(err, serr)
	}
	r.spilled.Add(int64(len(batch)))
	return nil
}

// copyBatch writes a batch in one transaction (copyScans); a replayed
// batch skips rows already written.
func (r *recorder) copyBatch(ctx context.Context, batch []scanRecord, dedupe bool) error {
	if err := r.ensurePartitions(ctx, batch); err != nil {
		return err
	}
	buf := make([]byte, 0, len(copyBinaryHeader)+len(batch)*160+2)
	buf = append(buf, copyBinaryHeader...)
	for i := range batch {
		buf = batch[i].appendCopyRow(buf)
	}
	buf = binary.BigEndian.AppendUint16(buf, 0xffff)
	return copyScans(ctx, r.pool, buf, dedupe)
}

// ensurePartitions creates the monthly partitions a batch needs, once per
// process and month.
func (r *recorder) ensurePartitions(ctx context.Context, batch []scanRecord) error {
	for i := range batch {
		name := batch[i].At.UTC().Format("200601")
		if r.partitions[name] {
			continue
		}
		if err := createScanPartition(ctx, r.pool, batch[i].At); err != nil {
			return err
		}
		r.partitions[name] = true
	}
	return nil
}

func (r *recorder) spillBatch(ctx context.Context, batch []scanRecord) error {
	raw, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	return r.rdb.XAdd(sctx, &redis.XAddArgs{Stream: r.spill, Values: []string{"batch", string(raw)}}).Err()
}

// replaySpill moves spilled batches into PostgreSQL, deleting each stream
// entry only after its rows are committed.
func (r *recorder) replaySpill(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	for {
		msgs, err := r.rdb.XRangeN(ctx, r.spill, "-", "+", 20).Result()
		if err != nil {
			return fmt.Errorf("read scan spill: %w", err)
		}
		if len(msgs) == 0 {
			return nil
		}
		for _, m := range msgs {
			raw, _ := m.Values["batch"].(string)
			var batch []scanRecord
			if err := json.Unmarshal([]byte(raw), &batch); err != nil {
				r.log.Error("dropping unreadable scan spill entry", "id", m.ID, "err", err)
			} else if len(batch) > 0 {
				if err := r.copyBatch(ctx, batch, true); err != nil {
					return fmt.Errorf("replay scan spill: %w", err)
				}
				r.written.Add(int64(len(batch)))
			}
			if err := r.rdb.XDel(ctx, r.spill, m.ID).Err(); err != nil {
				return fmt.Errorf("acknowledge scan spill: %w", err)
			}
		}
	}
}
