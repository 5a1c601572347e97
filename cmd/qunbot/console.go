package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qunbot/qunbot/adapters/console"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/scheduler"
)

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// humanLogger writes readable log lines to w (the console's stderr, so a
// transcript on stdout stays clean).
func humanLogger(w io.Writer, level zapcore.Level) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	enc.CallerKey = ""
	enc.StacktraceKey = ""
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), level)
	return zap.New(core)
}

func cmdConsole(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/example.yaml", "config file")
	nowFlag := fs.String("now", "", "start the clock at this RFC3339 time; with stdin not a terminal the output is deterministic")
	jsonOut := fs.Bool("json", false, "print each bot action as one JSON object per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	interactive := isTerminal(e.stdin)
	var clock console.Clock
	switch {
	case *nowFlag != "":
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return fmt.Errorf("--now %q: use RFC3339, e.g. 2026-01-05T09:00:00+08:00", *nowFlag)
		}
		if interactive {
			oc := &bot.OffsetClock{}
			oc.Set(t)
			clock = oc
		} else {
			clock = bot.NewFakeClock(t)
		}
	default:
		clock = &bot.OffsetClock{}
	}
	log := humanLogger(e.stderr, zapcore.InfoLevel)
	defer log.Sync() //nolint:errcheck // stderr
	a, err := newApp(ctx, *path, e, log, clock)
	if err != nil {
		return err
	}
	defer a.close()
	cfg := a.engine.Config()
	return serveConsole(ctx, a, cfg, clock, e.stdin, e.stdout, e.stderr, *jsonOut, !interactive)
}

// newConsole builds the console adapter and its outbox, wired to the
// engine.
func (a *app) newConsole(cfg *config.Config, clock console.Clock, in io.Reader, out, errs io.Writer, jsonOut, echo bool) (*console.Adapter, *outbox.Outbox) {
	p := console.Platform()
	conf, ok := cfg.Adapter(p.Name)
	if !ok {
		conf = p.Config()
	}
	cc := conf.(*console.Config)
	limits := p.Limits(conf)
	group := string(cc.Group)
	ad := console.New(console.Options{
		Group: group, Title: cc.Title, In: in, Out: out, Errs: errs, JSON: jsonOut, Echo: echo,
		Clock: clock, Location: cfg.Group(group).Location,
	})
	ob := a.attach(ad, limits, false)
	settle := func(ctx context.Context) error {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return ob.Flush(fctx)
	}
	ad.SetHooks(console.Hooks{Settle: settle, AdvanceTo: scheduler.AdvanceTo(a.sched, clock, settle)})
	return ad, ob
}

// serveConsole runs the console adapter until its input ends, then drains
// the outbox.
func serveConsole(ctx context.Context, a *app, cfg *config.Config, clock console.Clock, in io.Reader, out, errs io.Writer, jsonOut, echo bool) error {
	ad, ob := a.newConsole(cfg, clock, in, out, errs, jsonOut, echo)
	runErr := ad.Run(ctx, a.engine)
	dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ob.Close(dctx); err != nil {
		a.log.Error("outbox not drained", zap.Error(err))
	}
	return runErr
}
