package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/qunbot/qunbot/adapters"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/scheduler"
)

// opened is one platform's adapter as `run` serves it.
type opened struct {
	name    string
	adapter bot.Adapter
	outbox  *outbox.Outbox
	// stopped holds why the adapter's Run returned while qunbot still ran.
	stopped atomic.Pointer[error]
}

// openPlatforms opens every platform the config configures, in the order
// adapters.Builtin lists them; with none configured, the fallback
// platform (the console) serves with its defaults.
func (a *app) openPlatforms(ctx context.Context, cfg *config.Config, clock scheduler.SettableClock, e env) ([]*opened, error) {
	builtin := adapters.Builtin()
	var out []*opened
	for _, p := range builtin {
		conf, ok := cfg.Adapter(p.Name)
		if !ok {
			continue
		}
		o, err := a.openPlatform(ctx, p, conf, cfg, clock, e)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, p := range builtin {
		if !p.Fallback {
			continue
		}
		a.log.Info(fmt.Sprintf("no platform adapter configured: the %s adapter serves on stdin (type help)", p.Name))
		o, err := a.openPlatform(ctx, p, p.Config(), cfg, clock, e)
		if err != nil {
			return nil, err
		}
		return []*opened{o}, nil
	}
	return nil, errors.New("no platform configured under adapters, and none to fall back to")
}

// openPlatform opens one adapter and attaches it to the engine through a
// new outbox.
func (a *app) openPlatform(ctx context.Context, p platform.Platform, conf any, cfg *config.Config, clock scheduler.SettableClock, e env) (*opened, error) {
	o := &opened{name: p.Name}
	settle := func(ctx context.Context) error {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return o.outbox.Flush(fctx)
	}
	deps := platform.Deps{
		Store: a.store, Log: a.log, Clock: clock, Config: cfg,
		Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr,
		Settle: settle, AdvanceTo: scheduler.AdvanceTo(a.sched, clock, settle),
	}
	ad, err := p.Open(ctx, conf, deps)
	if err != nil {
		return nil, fmt.Errorf("open the %s adapter: %w", p.Name, err)
	}
	o.adapter = ad
	o.outbox = a.attach(ad, p.Limits(conf), true)
	return o, nil
}

// readiness is what /readyz reports: the engine (config, Redis) and every
// adapter `run` opened, by name.
type readiness struct {
	engine interface {
		Ready(ctx context.Context) error
	}
	adapters []*opened
}

// Ready implements httpapi.ReadyChecker.
func (r readiness) Ready(ctx context.Context) error {
	var errs []error
	if err := r.engine.Ready(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, o := range r.adapters {
		if stopped := o.stopped.Load(); stopped != nil {
			errs = append(errs, fmt.Errorf("%s adapter stopped: %w", o.name, *stopped))
			continue
		}
		if h, ok := o.adapter.(platform.Health); ok {
			if err := h.Health(); err != nil {
				errs = append(errs, fmt.Errorf("%s adapter: %w", o.name, err))
			}
		}
	}
	return errors.Join(errs...)
}
