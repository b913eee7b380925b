package outbox

import (
	"context"
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// HTTPPublisher posts events to a broker ingress (Knative's Broker URL, or
// K_SINK when bound by a SinkBinding) in structured mode.
type HTTPPublisher struct {
	client cloudevents.Client
	target string
}

// NewHTTPPublisher builds a publisher for target.
func NewHTTPPublisher(target string) (*HTTPPublisher, error) {
	p, err := cloudevents.NewHTTP(cehttp.WithTarget(target), cehttp.WithClient(http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("broker client: %w", err)
	}
	c, err := cloudevents.NewClient(p, cloudevents.WithTimeNow())
	if err != nil {
		return nil, fmt.Errorf("broker client: %w", err)
	}
	return &HTTPPublisher{client: c, target: target}, nil
}

// Publish sends e and fails unless the broker acknowledged it.
func (p *HTTPPublisher) Publish(ctx context.Context, e event.Event) error {
	ctx = cloudevents.WithEncodingStructured(ctx)
	if res := p.client.Send(ctx, e); !cloudevents.IsACK(res) {
		return fmt.Errorf("send %s to %s: %w", e.ID(), p.target, res)
	}
	return nil
}
