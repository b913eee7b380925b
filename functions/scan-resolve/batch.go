package scanresolve

import (
	"context"
	"sync"
	"time"
)

// batcher serves calls in batches: each worker takes one call, plus every
// call that queued while the workers were busy (up to max), and serves
// them with one round trip. Idle, a call is served at once, alone; in a
// burst of cold scans the round trips, and their system calls, are shared.
// On this platform's two-core machine a system call costs more than the
// database's work for one page, so a burst's throughput depends on it.
type batcher[Q, R any] struct {
	in      chan *batchCall[Q, R]
	max     int
	timeout time.Duration
	run     func(ctx context.Context, qs []Q) ([]R, error)
}

type batchCall[Q, R any] struct {
	ctx  context.Context
	q    Q
	r    R
	err  error
	done chan struct{}
}

func newBatcher[Q, R any](max int, timeout time.Duration, run func(context.Context, []Q) ([]R, error)) *batcher[Q, R] {
	return &batcher[Q, R]{in: make(chan *batchCall[Q, R]), max: max, timeout: timeout, run: run}
}

// start runs n workers until ctx ends. The number of workers bounds the
// round trips in flight.
func (b *batcher[Q, R]) start(ctx context.Context, wg *sync.WaitGroup, n int) {
	for range n {
		wg.Go(func() { b.work(ctx) })
	}
}

// do queues q and waits for its result. A call whose ctx ends while its
// batch runs returns at once; the batch still completes for the others.
func (b *batcher[Q, R]) do(ctx context.Context, q Q) (R, error) {
	c := &batchCall[Q, R]{ctx: ctx, q: q, done: make(chan struct{})}
	var zero R
	select {
	case b.in <- c:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case <-c.done:
		return c.r, c.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (b *batcher[Q, R]) work(ctx context.Context) {
	batch := make([]*batchCall[Q, R], 0, b.max)
	qs := make([]Q, 0, b.max)
	for {
		batch, qs = batch[:0], qs[:0]
		select {
		case c := <-b.in:
			batch = append(batch, c)
		case <-ctx.Done():
			return
		}
	drain:
		for len(batch) < b.max {
			select {
			case c := <-b.in:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		for _, c := range batch {
			qs = append(qs, c.q)
		}
		// The batch runs on behalf of its first call, carrying that call's
		// values (trace, request marks) but not its cancellation: the
		// others wait on it too.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), b.timeout)
		rs, err := b.run(rctx, qs)
		cancel()
		for i, c := range batch {
			if err != nil {
				c.err = err
			} else {
				c.r = rs[i]
			}
			close(c.done)
		}
	}
}
