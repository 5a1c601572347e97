package scheduler

import (
	"context"
	"time"
)

// Ticker runs due work; the Scheduler implements it.
type Ticker interface {
	Tick(ctx context.Context) error
	NextJob(ctx context.Context) (time.Time, bool, error)
}

// SettableClock is a clock that can be moved (the console's, the tests').
type SettableClock interface {
	Now() time.Time
	Set(t time.Time)
}

// AdvanceTo returns a function that walks a simulated clock from job to
// job up to a target time, so `advance 8d` fires everything due in those
// eight days in time order, each at its own time, and lets the bot settle
// after each.
func AdvanceTo(t Ticker, clock SettableClock, settle func(ctx context.Context) error) func(ctx context.Context, target time.Time) error {
	return func(ctx context.Context, target time.Time) error {
		// settles schedules for groups seen since the last tick
		if err := t.Tick(ctx); err != nil {
			return err
		}
		for {
			next, ok, err := t.NextJob(ctx)
			if err != nil {
				return err
			}
			if !ok || next.After(target) {
				break
			}
			if next.After(clock.Now()) {
				clock.Set(next)
			}
			if err := t.Tick(ctx); err != nil {
				return err
			}
			if err := settle(ctx); err != nil {
				return err
			}
		}
		clock.Set(target)
		if err := t.Tick(ctx); err != nil {
			return err
		}
		return settle(ctx)
	}
}
