package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/scheduler"
)

// events records the timer events the scheduler hands on; fail makes the
// next n deliveries fail (Redis away in the engine).
type events struct {
	mu   sync.Mutex
	got  []string
	fail int
}

func (e *events) HandleEvent(_ context.Context, ev bot.Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail > 0 {
		e.fail--
		return errors.New("redis away")
	}
	e.got = append(e.got, ev.Timer.Flow+"/"+ev.Timer.Kind+"@"+ev.Time.Format("15:04")+" "+ev.Chat.Key+" "+ev.Platform)
	return nil
}

func (e *events) take() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := strings.Join(e.got, ", ")
	e.got = nil
	return s
}

type fixedPlan map[string]scheduler.Entry

func (p fixedPlan) Plan(context.Context, time.Time, bool) (map[string]scheduler.Entry, bool, error) {
	return p, true, nil
}

// Jobs and schedules come back as timer events, each at its own time, in
// order; a failed job is tried again 30s later; a fire later than its
// grace window is skipped.
func TestTimerEvents(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := bot.NewFakeClock(t0)
	s := scheduler.New(scheduler.Options{Redis: c, Prefix: prefix, Clock: clock})
	hourly, _ := cron.ParseStandard("30 * * * *")
	sink := &events{}
	s.Connect(fixedPlan{"posts|console:g|tips": {Flow: "posts", Group: "console:g", Name: "tips", Platform: "console",
		Spec: "30 * * * *", Schedule: hourly, Location: time.UTC, Grace: 10 * time.Minute}}, sink)
	jobs := []scheduler.Job{
		{ID: "d1", Kind: "verify.deadline", At: t0.Add(10 * time.Minute), Args: map[string]string{"platform": "console", "group": "console:g", "member": "alice"}},
		{ID: "x1", Kind: "delete", At: t0.Add(40 * time.Minute), Args: map[string]string{"platform": "console", "chat": "console:g", "message": "7"}},
	}
	for _, j := range jobs {
		if err := s.Add(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	step := scheduler.AdvanceTo(s, clock, func(context.Context) error { return nil })
	if err := step(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := sink.take(), "verify/deadline@09:10 console:g console, posts/fire@09:30 console:g console, /delete@09:40 console:g console"; got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}

	// the engine fails (Redis away): the job comes back 30s later
	sink.fail = 1
	if err := s.Add(ctx, scheduler.Job{ID: "d2", Kind: "verify.deadline", At: clock.Now(), Args: map[string]string{"group": "console:g"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink.take(); got != "" {
		t.Errorf("a failed job was delivered: %s", got)
	}
	if err := step(ctx, clock.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := sink.take(); got != "verify/deadline@10:00 console:g " {
		t.Errorf("retried job: %q", got)
	}

	// down for two hours: the 10:30 and 11:30 fires are past their grace
	// window and skipped; the next runs on time
	clock.Set(t0.Add(3*time.Hour + 20*time.Minute))
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sink.take(); got != "" {
		t.Errorf("late fire ran: %s", got)
	}
	next, ok, err := s.NextFire(ctx, scheduler.EntryKey("posts", "console:g", "tips"))
	if err != nil || !ok || !next.Equal(t0.Add(3*time.Hour+30*time.Minute)) {
		t.Errorf("next fire %v %v %v", next, ok, err)
	}
}
