package engine

import (
	"context"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot/config"
)

// Schedule is a recurring fire a flow wants in a group: a post on a
// content calendar, a wake-up scan.
type Schedule struct {
	Name string        // unique within the flow and group
	Spec string        // as written; a changed spec reschedules
	Cron cron.Schedule // parsed (config.Cron)
	// Grace is how late a fire may still run (a restart); later fires are
	// skipped and logged.
	Grace time.Duration
}

// Scheduled is implemented by flows with recurring work. The engine keeps
// their next fire times in Redis and claims each fire once across replicas.
type Scheduled interface {
	Schedules(g *config.Group, conf any) []Schedule
	// HandleFire runs a fire; fc.Event is an EventTimer with Timer.Kind
	// "fire" and Args "name" and "due" (RFC 3339).
	HandleFire(ctx context.Context, fc *FlowContext) error
}

const entrySep = "|"

// knowGroup remembers a group the bot has seen, so schedules can be set
// for groups that only the defaults configure.
func (e *Engine) knowGroup(ctx context.Context, platform, group string) error {
	if _, ok := e.known.Load(group); ok {
		return nil
	}
	if err := e.opt.Store.Client().HSet(ctx, e.opt.Store.GlobalKey("groups"), group, platform).Err(); err != nil {
		return err
	}
	e.known.Store(group, platform)
	e.reconcileNeeded.Store(true)
	return nil
}

// reconcile makes the stored schedules match the config for every known
// group: new ones added, changed specs rescheduled, removed ones dropped.
func (e *Engine) reconcile(ctx context.Context, now time.Time) error {
	cfg := e.cfg.Load()
	if e.opt.Crons == nil || (cfg == e.reconciled.Load() && !e.reconcileNeeded.Load()) {
		return nil
	}
	e.reconcileNeeded.Store(false)
	groups, err := e.opt.Store.Client().HGetAll(ctx, e.opt.Store.GlobalKey("groups")).Result()
	if err != nil {
		return err
	}
	// groups named in the config get their schedules before any traffic
	for key := range cfg.Groups {
		if _, ok := groups[key]; !ok && strings.Contains(key, ":") {
			groups[key] = strings.SplitN(key, ":", 2)[0]
		}
	}
	want := map[string]bool{}
	for group := range groups {
		g := cfg.Group(group)
		for _, f := range e.flows {
			s, ok := f.(Scheduled)
			if !ok {
				continue
			}
			conf, on := g.Flow(f.Name())
			if !on {
				continue
			}
			for _, sc := range s.Schedules(g, conf) {
				entry := f.Name() + entrySep + group + entrySep + sc.Name
				want[entry] = true
				if err := e.opt.Crons.Ensure(ctx, entry, sc.Spec, sc.Cron.Next(now.In(g.Location))); err != nil {
					return err
				}
			}
		}
	}
	entries, err := e.opt.Crons.Entries(ctx)
	if err != nil {
		return err
	}
	for _, entry := range entries {
		if !want[entry] {
			if err := e.opt.Crons.Remove(ctx, entry); err != nil {
				return err
			}
		}
	}
	e.reconciled.Store(cfg)
	return nil
}

// fireCrons runs the schedules due by now.
func (e *Engine) fireCrons(ctx context.Context, now time.Time) error {
	if e.opt.Crons == nil {
		return nil
	}
	if err := e.reconcile(ctx, now); err != nil {
		return err
	}
	cfg := e.cfg.Load()
	fires, err := e.opt.Crons.Due(ctx, now, 100)
	if err != nil {
		return err
	}
	for _, f := range fires {
		parts := strings.SplitN(f.Entry, entrySep, 3)
		if len(parts) != 3 {
			_ = e.opt.Crons.Remove(ctx, f.Entry)
			continue
		}
		flowName, group, name := parts[0], parts[1], parts[2]
		g := cfg.Group(group)
		var sch Scheduled
		var sc *Schedule
		for _, fl := range e.flows {
			if s, ok := fl.(Scheduled); ok && fl.Name() == flowName {
				if conf, on := g.Flow(flowName); on {
					for _, x := range s.Schedules(g, conf) {
						if x.Name == name {
							sch, sc = s, &x
						}
					}
				}
			}
		}
		if sc == nil {
			_ = e.opt.Crons.Remove(ctx, f.Entry)
			continue
		}
		next := sc.Cron.Next(now.In(g.Location))
		won, err := e.opt.Crons.Claim(ctx, f, next)
		if err != nil {
			return err
		}
		if !won {
			continue // another replica took it
		}
		if late := now.Sub(f.At); late > sc.Grace {
			e.opt.Log.Warn("scheduled fire missed beyond its grace window; skipped",
				zap.String("schedule", f.Entry), zap.Time("due", f.At), zap.Duration("late", late), zap.Duration("grace", sc.Grace))
			continue
		}
		platform, _ := e.known.Load(group)
		p, _ := platform.(string)
		if p == "" {
			p = strings.SplitN(group, ":", 2)[0]
		}
		j := Job{ID: f.Entry, Kind: flowName + ".fire", At: f.At,
			Args: map[string]string{"platform": p, "group": group, "member": "", "name": name, "due": f.At.Format(time.RFC3339)}}
		if err := e.runTimerWith(ctx, flowName, sch.HandleFire, "fire", j); err != nil {
			e.opt.Log.Error("scheduled fire failed", zap.String("schedule", f.Entry), zap.Error(err))
		}
	}
	return nil
}

// NextFire returns when a flow's schedule in a group fires next.
func (e *Engine) NextFire(ctx context.Context, flow, group, name string) (time.Time, bool, error) {
	if e.opt.Crons == nil {
		return time.Time{}, false, nil
	}
	if err := e.reconcile(ctx, e.opt.Clock.Now()); err != nil {
		return time.Time{}, false, err
	}
	return e.opt.Crons.NextOf(ctx, flow+entrySep+group+entrySep+name)
}
