package main

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/adapters"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/metrics"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/embedded"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/flows/lottery"
	"github.com/qunbot/qunbot/scheduler"
)

// app is one assembled qunbot: config, store, engine.
type app struct {
	cfgPath string
	schema  config.Schema
	log     *zap.Logger
	metrics *metrics.Metrics
	conn    *state.Conn
	store   *state.Store
	engine  *engine.Engine
	prefix  string // Redis key prefix
	// sched owns time: jobs and schedules become timer events.
	sched *scheduler.Scheduler
	clock bot.Clock
	// stopEmbedded stops the in-process store, when one serves.
	stopEmbedded func()
}

// schemaOf is what the config loader knows: the flows' sections and the
// built-in platforms'.
func schemaOf(fl []engine.Flow) config.Schema {
	return engine.Schema(fl, platform.Schemas(adapters.Builtin()))
}

// loadConfig loads the config, or returns an error listing every problem.
func loadConfig(path string, schema config.Schema) (*config.Config, error) {
	cfg, err := config.Load(path, schema)
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			return nil, fmt.Errorf("config has %d problem(s):\n%w", len(ps), err)
		}
		return nil, err
	}
	return cfg, nil
}

func newApp(ctx context.Context, cfgPath string, e env, log *zap.Logger, clock bot.Clock) (*app, error) {
	fl := flows.Builtin()
	if _, simulated := clock.(*bot.FakeClock); simulated {
		// a simulation on a fixed clock repeats itself, lottery draws too;
		// qunbot run always draws seeds from crypto/rand
		for i, f := range fl {
			if _, ok := f.(lottery.Flow); ok {
				fl[i] = lottery.Flow{Seeds: mrand.NewChaCha8([32]byte{'q', 'u', 'n', 'b', 'o', 't'})}
			}
		}
	}
	schema := schemaOf(fl)
	cfg, err := loadConfig(cfgPath, schema)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	m.ConfigLoads.WithLabelValues("ok").Inc()
	opts := state.Options{URL: cfg.Redis.URL.Reveal(), Addrs: cfg.Redis.Addrs, MasterName: cfg.Redis.MasterName, Password: cfg.Redis.Password.Reveal()}
	if u := e.getenv("QUNBOT_REDIS_URL"); u != "" {
		opts = state.Options{URL: u}
	}
	prefix := cfg.Redis.Prefix
	if p := e.getenv("QUNBOT_REDIS_PREFIX"); p != "" {
		prefix = p
	}
	// go-redis logs through a package-level logger; route it to ours so
	// JSON logs stay JSON.
	redis.SetLogger(redisLogger{log})
	var stopEmbedded func()
	if opts.URL == "" && len(opts.Addrs) == 0 {
		url, stop, err := embedded.Start()
		if err != nil {
			return nil, err
		}
		opts.URL, stopEmbedded = url, stop
	}
	conn, err := state.Open(opts)
	if err != nil {
		if stopEmbedded != nil {
			stopEmbedded()
		}
		return nil, err
	}
	conn.Embedded = stopEmbedded != nil
	if conn.Embedded {
		log.Info("no Redis configured (redis.url or QUNBOT_REDIS_URL): using an embedded in-process store; state is lost on exit — for trying qunbot, not for production")
	} else {
		log.Info("using Redis", zap.String("addr", conn.Addr), zap.String("prefix", prefix))
	}
	conn.Client.AddHook(state.NewHook(m.ObserveRedis))
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := conn.Client.Ping(pctx).Err(); err != nil {
		// Not fatal: the bot keeps running, /readyz fails, and events are
		// refused (and redelivered by the platform) until Redis is back.
		log.Error("Redis is not reachable; qunbot is not ready until it is", zap.String("addr", conn.Addr), zap.Error(err))
	}
	store := state.New(conn.Client, prefix)
	// four batches on the wire keep a single-threaded Redis busy
	store.Pipeline(cfg.Redis.Pipeline, 4)
	sched := scheduler.New(scheduler.Options{Redis: conn.Client, Prefix: prefix, Clock: clock, Log: log})
	eng, err := engine.New(engine.Options{Store: store, Timers: sched, Clock: clock, Log: log, Metrics: m, Flows: fl,
		DoneBatch: 20 * time.Millisecond}, cfg)
	if err != nil {
		conn.Close()
		if stopEmbedded != nil {
			stopEmbedded()
		}
		return nil, err
	}
	sched.Connect(eng, eng)
	return &app{cfgPath: cfgPath, schema: schema, log: log, metrics: m, conn: conn, store: store, engine: eng, sched: sched, clock: clock, prefix: prefix, stopEmbedded: stopEmbedded}, nil
}

type redisLogger struct{ log *zap.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn("redis client: " + fmt.Sprintf(format, v...))
}

// attach connects an adapter to the engine through a new outbox.
// With durable, the outbox keeps its queue and its limits in Redis,
// shared with the other replicas (run); the console's simulated group
// needs neither.
func (a *app) attach(ad bot.Adapter, limits config.Limits, durable bool) *outbox.Outbox {
	var j *outbox.Journal
	var sh *outbox.Shared
	if durable {
		j = outbox.NewJournal(a.conn.Client, a.prefix, ad.Name(), instanceName(), 0)
		sh = outbox.NewShared(a.conn.Client, a.prefix, ad.Name())
	}
	ob := outbox.New(ad, outbox.Options{
		Name: ad.Name(), Limits: limits, Log: a.log, Metrics: a.metrics, Clock: a.clock, Journal: j, Shared: sh,
		OnSent: func(ctx context.Context, act bot.Action, r bot.Result) error {
			return a.engine.AfterSend(ctx, ad.Name(), act, r)
		},
		OnUnreachable: a.engine.Unreachable,
		OnDone:        a.engine.AfterDone,
	})
	a.engine.Attach(ad, ob)
	return ob
}

// instanceName names this process in the outbox journal: host and pid.
func instanceName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

func (a *app) close() {
	a.engine.FlushDone()
	a.conn.Close()
	if a.stopEmbedded != nil {
		a.stopEmbedded()
	}
}
