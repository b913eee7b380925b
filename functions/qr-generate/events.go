package qrgenerate

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"

	"github.com/sjzamr/smartreg/events"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/outbox"
)

// Receive handles the events qr-generate's Triggers route to it:
// entity.registered (issue), entity.updated (keep copied fields current,
// issue if missed), entity.deregistered (invalidate) and the nightly
// "qr-sweep" tick. Each event is handled once (outbox.Once); others are
// acknowledged and ignored.
func (f *Function) Receive(ctx context.Context, e event.Event) (*event.Event, error) {
	var apply func(tx pgx.Tx) error
	switch e.Type() {
	case events.EntityRegistered:
		d, err := events.Decode[events.EntityRegisteredData](e)
		if err != nil {
			return nil, err
		}
		apply = func(tx pgx.Tx) error { return f.applyEntity(ctx, tx, d.Entity) }
	case events.EntityUpdated:
		d, err := events.Decode[events.EntityUpdatedData](e)
		if err != nil {
			return nil, err
		}
		apply = func(tx pgx.Tx) error { return f.applyEntity(ctx, tx, d.Entity) }
	case events.EntityDeregistered:
		d, err := events.Decode[events.EntityDeregisteredData](e)
		if err != nil {
			return nil, err
		}
		apply = func(tx pgx.Tx) error { return f.applyDeregistered(ctx, tx, d) }
	case events.Ping:
		d, err := events.Decode[events.PingData](e)
		if err != nil || d["task"] != SweepTask {
			return nil, err
		}
		apply = func(tx pgx.Tx) error {
			_, err := f.sweep(ctx, tx)
			return err
		}
	default:
		return nil, nil
	}
	_, err := outbox.Once(ctx, f.pool, Name, e, apply)
	return nil, err
}

// applyEntity records the entity's latest snapshot (ignoring one older
// than what we hold, since events may arrive out of order), keeps the
// code's copied fields current, issues a code to an active entity without
// one, and invalidates the code of an entity that left the active state.
func (f *Function) applyEntity(ctx context.Context, tx pgx.Tx, e events.Entity) error {
	now := f.now()
	applied, err := upsertEntity(ctx, tx, e, now)
	if err != nil || !applied {
		return err // !applied: a stale event, a newer snapshot is already held
	}
	c, err := f.link(lockCodeOfEntity(ctx, tx, e.CreditCode))
	switch {
	case errors.Is(err, errs.ErrNotFound):
		if e.Status != "active" {
			return nil
		}
		return f.issueOne(ctx, tx, e)
	case err != nil:
		return err
	}
	if c.EntityName != e.Name || c.EntityType != e.EntityType || c.DistrictCode != e.DistrictCode ||
		c.TownshipCode != e.TownshipCode || c.IndustryCode != e.IndustryCode {
		if err := copyEntityFields(ctx, tx, c.Token, e, now); err != nil {
			return err
		}
	}
	if e.Status != "active" && (c.Status == StatusActive || c.Status == StatusPending) {
		_, err := f.invalidateLocked(ctx, tx, c, deregReason(e.Status), System)
		return err
	}
	return nil
}

func deregReason(status string) string {
	if status == "revoked" {
		return "主体已被吊销营业执照"
	}
	return "主体已注销"
}

// applyDeregistered invalidates the code of an entity revoked or
// deregistered (FP-24).
func (f *Function) applyDeregistered(ctx context.Context, tx pgx.Tx, d events.EntityDeregisteredData) error {
	if err := recordDeregistration(ctx, tx, d, f.now()); err != nil {
		return err
	}
	token, err := liveCodeOf(ctx, tx, d.CreditCode)
	if errors.Is(err, errs.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	reason := deregReason(d.Status)
	if d.Reason != "" {
		reason += "：" + d.Reason
	}
	before, err := f.link(selectCode(ctx, tx, token, true))
	if err != nil {
		return err
	}
	_, err = f.invalidateLocked(ctx, tx, before, reason, System)
	return err
}
