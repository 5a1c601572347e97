package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/scheduler"
)

// platformLog is the platform both replicas talk to: it notes each send.
type platformLog struct {
	mu   sync.Mutex
	sent []string
}

func (p *platformLog) Do(_ context.Context, a bot.Action) (bot.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, a.Text)
	return bot.Result{MessageID: "m"}, nil
}

func (p *platformLog) count(text string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.sent {
		if s == text {
			n++
		}
	}
	return n
}

// replica is an engine with a durable outbox, as `run` builds it.
type replica struct {
	engine *engine.Engine
	out    *outbox.Outbox
	store  *state.Store
}

const crashLease = 300 * time.Millisecond

func newCrashReplica(t *testing.T, c redis.UniversalClient, prefix, name string, p *platformLog, limits config.Limits, doneBatch time.Duration) *replica {
	t.Helper()
	fl := []engine.Flow{&recorder{name: "points", stage: engine.StagePoints, trace: &trace{}, do: func(fc *engine.FlowContext) error {
		fc.Reply("credited " + fc.Event.ID)
		return nil
	}}}
	cfg, err := config.Parse("test.yaml", []byte("flows: {}\n"), engine.Schema(fl, bottest.Platforms()))
	if err != nil {
		t.Fatal(err)
	}
	store := state.New(c, prefix)
	sched := scheduler.New(scheduler.Options{Redis: c, Prefix: prefix})
	e, err := engine.New(engine.Options{Store: store, Timers: sched, Flows: fl, ProcessingLease: crashLease, DoneBatch: doneBatch}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched.Connect(e, e)
	out := outbox.New(p, outbox.Options{Name: "console", Limits: limits,
		Journal: outbox.NewJournal(c, prefix, "console", name, crashLease)})
	e.Attach(fakeAdapter{caps: bot.AllCapabilities}, out)
	return &replica{engine: e, out: out, store: store}
}

// deliver hands ev to r as a platform does: again while it is in flight.
func deliver(t *testing.T, r *replica, ev bot.Event) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := r.engine.HandleEvent(context.Background(), ev)
		if err == nil {
			return
		}
		if !errors.Is(err, state.ErrInFlight) || time.Now().After(deadline) {
			t.Fatalf("delivery: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The kill window, one step at a time: replica A takes an update and dies
// after a step; the platform delivers the update again to replica B (it
// was not acknowledged, or A died before the inbox forgot it). Whatever
// the step, the member is counted once, the reply goes out once, and the
// update ends done.
func TestKillAtEachStep(t *testing.T) {
	unlimited := config.Limits{Workers: 2}
	// one message an hour: what A queues waits in its journal
	held := config.Limits{Global: config.Rate{N: 1, Per: time.Hour}, Workers: 1}
	tests := []struct {
		name string
		// die runs A's part; it returns once A is "dead"
		die func(t *testing.T, c redis.UniversalClient, prefix string, p *platformLog, ev bot.Event)
	}{
		{"after recording, before the flows", func(t *testing.T, c redis.UniversalClient, prefix string, p *platformLog, ev bot.Event) {
			s := state.New(c, prefix)
			_, _, err := s.Ingest(context.Background(), state.Ingest{Group: ev.GroupKey(), UpdateID: ev.ID, Member: ev.Member.ID,
				Name: ev.Member.Name, Kind: state.KindMessage, At: ev.Time, Lease: crashLease})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"after queueing, before sending", func(t *testing.T, c redis.UniversalClient, prefix string, p *platformLog, ev bot.Event) {
			a := newCrashReplica(t, c, prefix, "a", p, held, time.Hour)
			if err := a.out.Enqueue(bot.Action{Type: bot.ActSend, Chat: ev.Chat.Key, Text: "spends the hour's message"}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return p.count("spends the hour's message") == 1 })
			deliver(t, a, ev)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_ = a.out.Close(ctx) // the reply stays in A's journal
		}},
		{"after sending, before the done mark", func(t *testing.T, c redis.UniversalClient, prefix string, p *platformLog, ev bot.Event) {
			a := newCrashReplica(t, c, prefix, "a", p, unlimited, time.Hour) // the mark waits for a batch that never comes
			deliver(t, a, ev)
			waitFor(t, func() bool { return p.count("credited "+ev.ID) == 1 })
		}},
		{"after the done mark, before the acknowledgement", func(t *testing.T, c redis.UniversalClient, prefix string, p *platformLog, ev bot.Event) {
			a := newCrashReplica(t, c, prefix, "a", p, unlimited, time.Hour)
			deliver(t, a, ev)
			if err := a.engine.Settle(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return p.count("credited "+ev.ID) == 1 })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, prefix := redistest.Client(t)
			p := &platformLog{}
			ev := msg("alice", "hi", false)
			tt.die(t, c, prefix, p, ev)
			b := newCrashReplica(t, c, prefix, "b", p, unlimited, 20*time.Millisecond)
			defer b.out.Close(context.Background())
			deliver(t, b, ev)
			if err := b.engine.Settle(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return p.count("credited "+ev.ID) >= 1 })
			time.Sleep(3 * crashLease) // time for a second copy to show
			if n := p.count("credited " + ev.ID); n != 1 {
				t.Errorf("reply sent %d times, want once", n)
			}
			m, err := b.store.Member(context.Background(), ev.GroupKey(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if m.Messages != 1 {
				t.Errorf("messages = %d, want 1", m.Messages)
			}
			if done, err := b.store.WorkDone(context.Background(), ev.GroupKey(), ev.ID); err != nil || !done {
				t.Errorf("update done = %v (%v), want done", done, err)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("not within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
