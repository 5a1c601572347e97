package engine

import (
	"context"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/scheduler"
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

// Plan implements scheduler.Planner: the schedules the flows want in every
// known group (seen by the bot, or named in the config), after a config
// change or a new group; changed is false when neither happened.
func (e *Engine) Plan(ctx context.Context, now time.Time, force bool) (map[string]scheduler.Entry, bool, error) {
	cfg := e.cfg.Load()
	if !force && cfg == e.reconciled.Load() && !e.reconcileNeeded.Load() {
		return nil, false, nil
	}
	e.reconcileNeeded.Store(false)
	groups, err := e.opt.Store.Client().HGetAll(ctx, e.opt.Store.GlobalKey("groups")).Result()
	if err != nil {
		e.reconcileNeeded.Store(true)
		return nil, false, err
	}
	// groups named in the config get their schedules before any traffic
	for key := range cfg.Groups {
		if platform, _, ok := strings.Cut(key, ":"); ok {
			if _, seen := groups[key]; !seen {
				groups[key] = platform
			}
		}
	}
	plan := map[string]scheduler.Entry{}
	for group, platform := range groups {
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
				en := scheduler.Entry{Flow: f.Name(), Group: group, Name: sc.Name, Platform: platform,
					Spec: sc.Spec, Schedule: sc.Cron, Location: g.Location, Grace: sc.Grace}
				plan[en.Key()] = en
			}
		}
	}
	e.reconciled.Store(cfg)
	return plan, true, nil
}
