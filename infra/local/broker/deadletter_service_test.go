package broker

import (
	"context"
	"testing"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/store/storetest"
)

func TestDeadLetterSinkStoresKnativeFailuresOnce(t *testing.T) {
	pool := storetest.New(t, Migration())
	s, err := NewDeadLetterSink(pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDeadLetterSink(nil); err == nil {
		t.Fatal("missing pool accepted")
	}
	e := newEvent(t, events.EntityRegistered)
	e.SetExtension("knativeerrordest", "http://registry.smartreg.svc.cluster.local")
	e.SetExtension("knativeerrorcode", "503")
	e.SetExtension("knativeerrordata", "database unavailable")
	for range 2 { // Knative delivers at least once
		if _, err := s.Receive(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	dl, err := DeadLetters(context.Background(), pool, true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 1 || dl[0].EventID != e.ID() || dl[0].LastStatus != 503 || dl[0].LastError != "database unavailable" ||
		dl[0].Subscriber != "http://registry.smartreg.svc.cluster.local" {
		t.Fatalf("dead letters = %+v", dl)
	}
}
