package crawlershard

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/sjzamr/smartreg/events"
)

// Receive crawls the shard a crawl.shard.requested event names. A
// redelivery (or a second instance given the same shard) is harmless: the
// host leases keep one worker per host and done URLs are never fetched
// again, so the second run finds only what is left.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != events.CrawlShardRequested {
		return nil, nil
	}
	d, err := events.Decode[events.CrawlShardRequestedData](e)
	if err != nil {
		return nil, err
	}
	// One delivery crawls for at most the budget; what is left goes on in
	// a fresh event, so no delivery outlives the broker's attempt timeout.
	bctx, cancel := context.WithTimeout(ctx, f.cfg.ShardBudget)
	defer cancel()
	err = f.CrawlShard(bctx, d.JobID, d.Shard)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil { // the budget ran out
		return nil, f.continueShard(ctx, d)
	}
	return nil, nil
}
