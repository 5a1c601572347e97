package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/httpapi"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/dashboard"
)

func cmdRun(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := jsonLogger(e.stderr)
	defer log.Sync() //nolint:errcheck // stderr
	clock := &bot.OffsetClock{}
	a, err := newApp(ctx, *path, e, log, clock)
	if err != nil {
		return err
	}
	defer a.close()
	// update marks of the one-key-per-update layout are read where they
	// are, so this only gives their memory back; a Redis away at start
	// leaves them to expire on their own
	if n, err := a.store.MigrateDedupe(ctx); err != nil {
		log.Warn("old update marks not moved; they expire within 25h", zap.Error(err))
	} else if n > 0 {
		log.Info("update marks moved to the update tables", zap.Int("moved", n))
	}
	// packed member records need longer listpack values than Redis's
	// default to stay packed (see state.RaiseListpackLimit)
	if a.conn.Embedded {
		// the embedded store has no encodings to tune
	} else if err := state.RaiseListpackLimit(ctx, a.store.Client()); err != nil {
		log.Warn("hash-max-listpack-value not raised: member records take about twice the memory; set it to 1024 in the Redis configuration", zap.Error(err))
	}
	// last-active sets of the one-set layout move into their buckets
	// before serving: counts and scans read only the buckets
	if n, err := a.store.MigrateActive(ctx); err != nil {
		log.Warn("old per-member sets not moved; counts and lookups miss their members until the next start moves them", zap.Error(err))
	} else if n > 0 {
		log.Info("per-member sets (last active, joins, first words) and @username indexes moved into buckets", zap.Int("entries", n))
	}
	if n, err := checkin.MigrateBalances(ctx, a.store); err != nil {
		log.Warn("old points boards not moved; audiences and wake-ups by points miss their balances until the next start moves them", zap.Error(err))
	} else if n > 0 {
		log.Info("balances moved into buckets; boards keep their top", zap.Int("balances", n), zap.Int("top", checkin.TopCap))
	}
	// Boards written before their caps shrink in the background: each
	// also shrinks at its next write, so nothing waits for a scan of
	// every key (it is stopped, and waited for, before the store closes).
	tctx, stop := context.WithCancel(ctx)
	trimmed := make(chan struct{})
	go func() { defer close(trimmed); trimBoards(tctx, a, log); moveRecords(tctx, a, log) }()
	defer func() { stop(); <-trimmed }()
	return serve(ctx, a, clock, e)
}

// trimBoards brings contribution sets and months' points boards written
// before their caps down to their tops; only those are read.
func trimBoards(ctx context.Context, a *app, log *zap.Logger) {
	if n, err := a.store.TrimTop(ctx, "{*}:contrib", state.ContribCap, 0); err != nil {
		if ctx.Err() == nil {
			log.Warn("contribution sets not trimmed; each shrinks at its next write", zap.Error(err))
		}
	} else if n > 0 {
		log.Info("contribution sets trimmed to their top", zap.Int("sets", n), zap.Int("keep", state.ContribCap))
	}
	if n, err := checkin.TrimMonths(ctx, a.store); err != nil {
		if ctx.Err() == nil {
			log.Warn("monthly points boards not trimmed; each shrinks at its next write", zap.Error(err))
		}
	} else if n > 0 {
		log.Info("monthly points boards trimmed to their top", zap.Int("boards", n), zap.Int("keep", checkin.MonthCap))
	}
}

// moveRecords packs member records of the hash-per-member layout into
// their buckets. They are read where they are until then, and each moves
// at its member's next write anyway, so this runs while qunbot serves.
func moveRecords(ctx context.Context, a *app, log *zap.Logger) {
	if n, err := a.store.MigrateRecords(ctx); err != nil {
		if ctx.Err() == nil {
			log.Warn("member records not all packed; each moves at its member's next write", zap.Error(err))
		}
	} else if n > 0 {
		log.Info("member records packed into buckets", zap.Int("records", n))
	}
}

// jsonLogger writes one JSON object per line, for log collectors.
func jsonLogger(w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), zapcore.InfoLevel))
}

// serve runs until ctx ends (SIGINT/SIGTERM): intake stops, the outboxes
// drain, and serve returns nil so the process exits 0.
func serve(ctx context.Context, a *app, clock *bot.OffsetClock, e env) error {
	log := a.log
	cfg := a.engine.Config()

	opened, err := a.openPlatforms(ctx, cfg, clock, e)
	if err != nil {
		return err
	}
	srv := httpapi.New(readiness{engine: a.engine, adapters: opened}, a.metrics.Registry, log)
	if err := srv.Start(cfg.HTTP.Listen); err != nil {
		return err
	}
	paths := []string{"/healthz", "/readyz", "/metrics"}
	var status *dashboard.Status // nil: no dashboard
	if base := cfg.HTTP.Dashboard; base != "off" {
		status = &dashboard.Status{}
		status.Loaded(time.Now())
		dash, err := dashboard.New(dashboard.Options{Store: a.store, Engine: a.engine, Token: e.getenv("QUNBOT_DASHBOARD_TOKEN"), Now: clock.Now, Log: log,
			Status: status, Check: func(b []byte) error { _, err := config.Parse("pasted.yaml", b, a.schema); return err }})
		if err != nil {
			return err
		}
		dash.Mount(srv.Mux, base)
		paths = append(paths, base+" (dashboard)")
		if e.getenv("QUNBOT_DASHBOARD_TOKEN") == "" {
			log.Info("dashboard: QUNBOT_DASHBOARD_TOKEN is not set; moderators log in with the bot's /dashboard links")
		}
	}
	log.Info("http listening", zap.String("addr", srv.Addr()), zap.Strings("paths", paths))

	intake, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	var wg sync.WaitGroup

	watcher := config.NewWatcher(a.cfgPath, a.schema, func(c *config.Config) {
		a.engine.SetConfig(c)
		if status != nil {
			status.Loaded(time.Now())
		}
		a.metrics.ConfigLoads.WithLabelValues("ok").Inc()
		log.Info("config reloaded", zap.String("file", a.cfgPath))
	}, func(err error) {
		a.metrics.ConfigLoads.WithLabelValues("rejected").Inc()
		if status != nil {
			status.Rejected(time.Now(), err)
		}
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				log.Error("config problem", zap.String("at", p.Error()))
			}
			log.Error("config reload rejected; the last good config stays in force", zap.Int("problems", len(ps)))
			return
		}
		log.Error("config reload failed; the last good config stays in force", zap.Error(err))
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := watcher.Run(intake); err != nil {
			log.Error("config watcher stopped; reload with SIGHUP still works", zap.Error(err))
		}
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-intake.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading config")
				watcher.Reload()
			}
		}
	}()

	wg.Add(1)
	go func() {
		defer wg.Done()
		// work that fell due while qunbot was down (a challenge's deadline)
		// is settled at once, then every second
		a.sched.Run(intake)
	}()

	for _, o := range opened {
		if r, ok := o.adapter.(platform.Router); ok {
			for pattern, h := range r.Routes() {
				srv.Mux.Handle(pattern, h)
				log.Info("http route", zap.String("adapter", o.name), zap.String("pattern", pattern))
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := o.adapter.Run(intake, a.engine)
			if intake.Err() != nil {
				return
			}
			if err == nil {
				// the console's input ended: the rest of qunbot serves on
				log.Info("adapter finished", zap.String("adapter", o.name))
				return
			}
			o.stopped.Store(&err)
			log.Error("adapter stopped; /readyz reports it", zap.String("adapter", o.name), zap.Error(err))
		}()
	}

	<-ctx.Done()
	log.Info("shutting down: intake stopped, draining the outbox")
	stopIntake()
	dctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, o := range opened {
		if err := o.outbox.Close(dctx); err != nil {
			log.Error("outbox not fully drained", zap.String("adapter", o.name), zap.Error(err))
		}
	}
	if err := srv.Shutdown(dctx); err != nil {
		log.Error("http shutdown", zap.Error(err))
	}
	waitOrTimeout(&wg, 2*time.Second)
	log.Info("stopped")
	return nil
}

// waitOrTimeout waits for the background loops; the console's stdin read
// cannot be interrupted, so shutdown does not wait on it forever.
func waitOrTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
