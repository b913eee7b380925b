package outbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
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

// OIDCTokenFile is where Knative's SinkBinding mounts the function's
// sender-identity token for its sink's audience when the cluster runs
// Eventing with authentication-oidc: the Broker then refuses events
// without it. Knative refreshes the file, so it is read for every post.
const OIDCTokenFile = "/oidc/token"

// NewHTTPPublisher builds a publisher for target. When tokenFile exists,
// each post carries its content as a Bearer token.
func NewHTTPPublisher(target, tokenFile string) (*HTTPPublisher, error) {
	client := http.Client{Timeout: 10 * time.Second, Transport: bearerFile{file: tokenFile, next: http.DefaultTransport}}
	p, err := cloudevents.NewHTTP(cehttp.WithTarget(target), cehttp.WithClient(client))
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

// bearerFile adds the token read from file to each request; without the
// file (OIDC off, or a workstation) requests go out unchanged.
type bearerFile struct {
	file string
	next http.RoundTripper
}

func (b bearerFile) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.file == "" {
		return b.next.RoundTrip(r)
	}
	tok, err := os.ReadFile(b.file)
	if errors.Is(err, fs.ErrNotExist) {
		return b.next.RoundTrip(r)
	}
	if err != nil {
		return nil, fmt.Errorf("read OIDC token: %w", err)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	return b.next.RoundTrip(r)
}
