package outbox

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// StartHTTPRelay runs a Relay posting the pool's outbox to the Broker
// ingress at brokerURL (a function's K_SINK under Knative), with the
// sender-identity token in tokenFile when there is one, until the
// returned stop is called; stop waits for the relay to finish.
func StartHTTPRelay(ctx context.Context, pool *pgxpool.Pool, brokerURL, tokenFile string, log *slog.Logger) (stop func(), err error) {
	pub, err := NewHTTPPublisher(brokerURL, tokenFile)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	rctx, cancel := context.WithCancel(ctx)
	wg.Go(func() { _ = (&Relay{Pool: pool, Publisher: pub, Logger: log}).Run(rctx) })
	return func() { cancel(); wg.Wait() }, nil
}
