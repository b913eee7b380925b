package seed

import "context"

// batchSize rows travel together from the generator goroutine to COPY, so
// the channel hand-off costs little per row.
const batchSize = 1024

// stream runs a producer in its own goroutine and hands its rows to COPY
// (it is a pgx.CopyFromSource), so generation and the database's work
// overlap. Rows are typed structs filled in place in recycled batches, and
// Values returns pointers to their fields: no per-value allocation.
type stream[T any] struct {
	ch, free chan []T
	batch    []T
	i        int
	vals     []any
	fill     func(*T, []any) // points vals at the fields of a row
	err      error           // set by the producer before it closes ch
	done     chan struct{}
}

// newStream starts produce, which calls slot for each row it emits and fills
// the row slot returns. The returned stop cancels the producer and waits for it.
func newStream[T any](ctx context.Context, ncols int, fill func(*T, []any), produce func(slot func() (*T, error)) error) (*stream[T], func()) {
	ctx, cancel := context.WithCancel(ctx)
	s := &stream[T]{
		ch: make(chan []T, 4), free: make(chan []T, 6), vals: make([]any, ncols),
		fill: fill, done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		defer close(s.ch)
		buf := s.newBatch()
		send := func() error {
			select {
			case s.ch <- buf:
				buf = s.newBatch()
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		slot := func() (*T, error) {
			if len(buf) == batchSize {
				if err := send(); err != nil {
					return nil, err
				}
			}
			buf = buf[:len(buf)+1]
			return &buf[len(buf)-1], nil
		}
		if err := produce(slot); err != nil {
			s.err = err
			return
		}
		if len(buf) > 0 {
			_ = send() // a cancelled consumer no longer wants it
		}
	}()
	return s, func() {
		cancel()
		<-s.done
	}
}

// newBatch reuses a batch COPY has finished with, or makes one.
func (s *stream[T]) newBatch() []T {
	select {
	case b := <-s.free:
		return b[:0]
	default:
		return make([]T, 0, batchSize)
	}
}

// Next, Values and Err implement pgx.CopyFromSource. pgx encodes a row
// before asking for the next, so a batch can be recycled once Next leaves it.
func (s *stream[T]) Next() bool {
	s.i++
	for s.i >= len(s.batch) {
		if s.batch != nil {
			select {
			case s.free <- s.batch:
			default:
			}
			s.batch = nil
		}
		b, ok := <-s.ch
		if !ok {
			return false
		}
		s.batch, s.i = b, 0
	}
	return true
}

func (s *stream[T]) Values() ([]any, error) {
	s.fill(&s.batch[s.i], s.vals)
	return s.vals, nil
}

// Err is read after Next returned false, i.e. after ch was closed, so the
// producer's write to err happens before it.
func (s *stream[T]) Err() error { return s.err }
