package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

// Entry is one recurring schedule the planner wants: a flow's schedule in
// a group.
type Entry struct {
	Flow, Group, Name string
	Platform          string
	Spec              string // as written; a changed spec reschedules
	Schedule          cron.Schedule
	Location          *time.Location // the group's time zone
	// Grace is how late a fire may still run (after a restart); later
	// fires are skipped and logged.
	Grace time.Duration
}

// Key is the entry's name in Redis: flow|group|name.
func (e Entry) Key() string { return EntryKey(e.Flow, e.Group, e.Name) }

// EntryKey names a flow's schedule in a group.
func EntryKey(flow, group, name string) string { return flow + "|" + group + "|" + name }

// Planner says which recurring schedules should exist. The engine is one:
// it knows the flows, the config and the groups seen.
type Planner interface {
	// Plan returns the wanted entries by Key, or changed=false when
	// nothing changed since the last call (unless force).
	Plan(ctx context.Context, now time.Time, force bool) (plan map[string]Entry, changed bool, err error)
}

// Clock tells the scheduler the time.
type Clock interface{ Now() time.Time }

// Scheduler owns time: delayed jobs and recurring schedules in Redis, each
// claimed once across replicas, turned into bot.EventTimer events that go
// to the engine like any other event.
type Scheduler struct {
	jobs  *Jobs
	crons *Crons
	clock Clock
	log   *zap.Logger

	mu      sync.Mutex
	planner Planner
	sink    bot.EventSink
	plan    map[string]Entry
}

// Options configure a Scheduler.
type Options struct {
	Redis redis.UniversalClient
	// Prefix is the key prefix: jobs live at prefix{jobs}, schedules at
	// prefix{cron} (hash tags keep each on one Cluster slot).
	Prefix string
	Clock  Clock
	Log    *zap.Logger
}

// New returns a scheduler; Connect gives it the planner and the sink.
func New(o Options) *Scheduler {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Scheduler{jobs: NewJobs(o.Redis, o.Prefix+"{jobs}"), crons: NewCrons(o.Redis, o.Prefix+"{cron}"), clock: o.Clock, log: o.Log}
}

// Connect sets who plans the schedules and who receives the timer events
// (both the engine).
func (s *Scheduler) Connect(p Planner, sink bot.EventSink) {
	s.mu.Lock()
	s.planner, s.sink = p, sink
	s.mu.Unlock()
}

// Add schedules a job; a job with the same ID is replaced.
func (s *Scheduler) Add(ctx context.Context, jobs ...Job) error { return s.jobs.Add(ctx, jobs...) }

// Remove cancels a job.
func (s *Scheduler) Remove(ctx context.Context, id string) error { return s.jobs.Remove(ctx, id) }

// Jobs is the delayed-job queue (for tests and tools that count it).
func (s *Scheduler) Jobs() *Jobs { return s.jobs }

// NextFire returns when a schedule (EntryKey) fires next.
func (s *Scheduler) NextFire(ctx context.Context, entry string) (time.Time, bool, error) {
	if err := s.reconcile(ctx, s.clock.Now()); err != nil {
		return time.Time{}, false, err
	}
	return s.crons.NextOf(ctx, entry)
}

// NextJob returns when the earliest job or schedule is due.
func (s *Scheduler) NextJob(ctx context.Context) (time.Time, bool, error) {
	t, ok, err := s.jobs.Next(ctx)
	if err != nil {
		return t, ok, err
	}
	if err := s.reconcile(ctx, s.clock.Now()); err != nil {
		return t, ok, err
	}
	c, cok, err := s.crons.Next(ctx)
	if err != nil {
		return t, ok, err
	}
	if cok && (!ok || c.Before(t)) {
		return c, true, nil
	}
	return t, ok, nil
}

// Run ticks now (work that fell due while qunbot was down is settled at
// once) and then every second, until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("scheduled work not run", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick fires the schedules and runs the jobs due by the clock's now,
// earliest first. The console and tests call it after moving the clock.
func (s *Scheduler) Tick(ctx context.Context) error {
	if err := s.fireCrons(ctx, s.clock.Now()); err != nil {
		return fmt.Errorf("tick: %w", err)
	}
	for {
		jobs, err := s.jobs.Claim(ctx, s.clock.Now(), 100)
		if err != nil {
			return fmt.Errorf("tick: %w", err)
		}
		for _, j := range jobs {
			s.runJob(ctx, j)
		}
		if len(jobs) < 100 {
			return nil
		}
	}
}

func (s *Scheduler) connected() (Planner, bot.EventSink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.planner, s.sink
}

// TimerEvent turns a job into the event the engine handles. A job's kind
// is "flow.kind" ("verify.deadline"), or a kind of the engine's own
// without a flow ("delete").
func TimerEvent(j Job, now time.Time) bot.Event {
	flow, kind, ok := strings.Cut(j.Kind, ".")
	if !ok {
		flow, kind = "", j.Kind
	}
	chat := j.Args["group"]
	if chat == "" {
		chat = j.Args["chat"]
	}
	return bot.Event{
		ID: "timer:" + j.ID, Kind: bot.EventTimer, Platform: j.Args["platform"],
		Chat:   bot.Chat{Key: chat, Type: bot.ChatGroup},
		Member: bot.Member{ID: j.Args["member"], Name: j.Args["name"], Username: j.Args["username"]},
		Time:   now, Timer: &bot.Timer{Flow: flow, Kind: kind, Args: j.Args},
	}
}

func (s *Scheduler) runJob(ctx context.Context, j Job) {
	_, sink := s.connected()
	if sink == nil {
		s.log.Error("scheduled job with nobody to run it; dropped", zap.String("job", j.ID))
		_ = s.jobs.Ack(ctx, j.ID)
		return
	}
	if err := sink.HandleEvent(ctx, TimerEvent(j, s.clock.Now())); err != nil {
		// Redis went away mid-job: try again shortly rather than lose it.
		s.log.Error("scheduled job failed; retrying in 30s", zap.String("job", j.ID), zap.Error(err))
		j.At = s.clock.Now().Add(30 * time.Second)
		if aerr := s.jobs.Add(ctx, j); aerr != nil {
			// the claim runs out and the job is due again then
			s.log.Error("scheduled job not rescheduled; it is claimed again in a minute", zap.String("job", j.ID), zap.Error(aerr))
			return
		}
	}
	if err := s.jobs.Ack(ctx, j.ID); err != nil {
		s.log.Warn("scheduled job done but not acknowledged; it may run again in a minute", zap.String("job", j.ID), zap.Error(err))
	}
}

// reconcile makes the stored schedules match the planner's: new ones
// added, changed specs rescheduled, removed ones dropped.
func (s *Scheduler) reconcile(ctx context.Context, now time.Time) error {
	planner, _ := s.connected()
	if planner == nil {
		return nil
	}
	s.mu.Lock()
	force := s.plan == nil
	s.mu.Unlock()
	plan, changed, err := planner.Plan(ctx, now, force)
	if err != nil || !changed {
		return err
	}
	for key, e := range plan {
		if err := s.crons.Ensure(ctx, key, e.Spec, e.Schedule.Next(now.In(e.Location))); err != nil {
			return err
		}
	}
	entries, err := s.crons.Entries(ctx)
	if err != nil {
		return err
	}
	for _, key := range entries {
		if _, ok := plan[key]; !ok {
			if err := s.crons.Remove(ctx, key); err != nil {
				return err
			}
		}
	}
	s.mu.Lock()
	s.plan = plan
	s.mu.Unlock()
	return nil
}

// fireCrons claims the schedules due by now and hands each fire to the
// sink as a timer event.
func (s *Scheduler) fireCrons(ctx context.Context, now time.Time) error {
	if err := s.reconcile(ctx, now); err != nil {
		return err
	}
	_, sink := s.connected()
	fires, err := s.crons.Due(ctx, now, 100)
	if err != nil {
		return err
	}
	for _, f := range fires {
		s.mu.Lock()
		e, ok := s.plan[f.Entry]
		s.mu.Unlock()
		if !ok || sink == nil {
			_ = s.crons.Remove(ctx, f.Entry)
			continue
		}
		won, err := s.crons.Claim(ctx, f, e.Schedule.Next(now.In(e.Location)))
		if err != nil {
			return err
		}
		if !won {
			continue // another replica took it
		}
		if late := now.Sub(f.At); late > e.Grace {
			s.log.Warn("scheduled fire missed beyond its grace window; skipped",
				zap.String("schedule", f.Entry), zap.Time("due", f.At), zap.Duration("late", late), zap.Duration("grace", e.Grace))
			continue
		}
		// the fire becomes a job, run by the job loop right after: a
		// replica that dies before its actions are queued leaves it to be
		// claimed again, and the engine runs each fire once (its id)
		j := Job{ID: "fire:" + f.Entry + "@" + f.At.Format(time.RFC3339), Kind: e.Flow + ".fire", At: f.At,
			Args: map[string]string{"platform": e.Platform, "group": e.Group, "member": "", "name": e.Name, "due": f.At.Format(time.RFC3339)}}
		if err := s.jobs.Add(ctx, j); err != nil {
			s.log.Error("scheduled fire lost", zap.String("schedule", f.Entry), zap.Error(err))
		}
	}
	return nil
}
