package dashboard

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
)

// PingTask is the rollup PingSource's task
// (infra/knative/pingsources/dashboard-rollup.yaml).
const PingTask = "dashboard-rollup"

// Receive keeps the rollup current: an entity event recomputes its
// district, the PingSource tick the whole rollup. Both are recomputations
// from the source, so a redelivery or an out-of-order event leaves the
// right numbers and no dedupe table is needed.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	var district, credit string
	switch e.Type() {
	case events.EntityRegistered:
		d, err := events.Decode[events.EntityRegisteredData](e)
		if err != nil {
			return nil, err
		}
		district, credit = d.Entity.DistrictCode, d.Entity.CreditCode
	case events.EntityUpdated:
		d, err := events.Decode[events.EntityUpdatedData](e)
		if err != nil {
			return nil, err
		}
		district, credit = d.Entity.DistrictCode, d.Entity.CreditCode
	case events.EntityDeregistered:
		d, err := events.Decode[events.EntityDeregisteredData](e)
		if err != nil {
			return nil, err
		}
		credit = d.CreditCode
		var lerr error
		if district, lerr = districtOf(ctx, f.pool, d.CreditCode); errors.Is(lerr, pgx.ErrNoRows) {
			return nil, nil // gone from the registry: the next full refresh settles it
		} else if lerr != nil {
			return nil, lerr
		}
	case events.Ping:
		data, err := events.Decode[events.PingData](e)
		if err != nil {
			return nil, err
		}
		switch data["task"] {
		case PingTask:
			// The topic boards' rollups (FP-118, FP-119) follow the same tick.
			if err := f.RefreshAll(ctx); err != nil {
				return nil, err
			}
			return nil, f.RefreshTopics(ctx)
		case AnomalyTask:
			res, err := f.DetectAnomalies(ctx)
			if err == nil {
				f.log.Info("anomalies detected", "found", res.Found, "new", res.New, "resolved", res.Resolved, "alerts", res.Alerts)
			}
			return nil, err
		case ReportTask:
			n, err := f.Deliver(ctx)
			if n > 0 {
				f.log.Info("reports delivered", "count", n)
			}
			return nil, err
		}
		return nil, nil
	default:
		return nil, nil
	}
	if err := refreshDistrict(ctx, f.pool, district, f.now()); err != nil {
		return nil, err
	}
	// The entity's anomalies (FP-102) are recomputed from the source too,
	// so a redelivery finds what is already there and changes nothing.
	_, err := f.detect(ctx, credit, "event:"+e.Type()+":"+e.ID())
	return nil, err
}
