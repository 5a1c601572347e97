// Package bottest runs flows through a real engine and real Redis with a
// fake clock, recording the actions they take: the harness for flow tests.
package bottest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/scheduler"
)

// Platforms is the schema of the platforms a flow test may name: the one
// the harness plays (its Recorder is named "console") and "other", a
// second platform for tests of what stays on the event's own platform.
// Any chat id without spaces is valid.
func Platforms() map[string]config.PlatformSchema {
	p := config.PlatformSchema{
		New: func() any { return &struct{}{} },
		ValidChat: func(id string) error {
			if id == "" || strings.ContainsAny(id, " \t\n") {
				return fmt.Errorf("chat id %q has spaces", id)
			}
			return nil
		},
	}
	return map[string]config.PlatformSchema{"console": p, "other": p}
}

// Group is the chat key events go to.
const Group = "console:g1"

// Recorder is an adapter that records actions instead of sending them;
// sent messages get ids m1, m2, ... Each action counts as carried out at
// once (its Then follow it), unless Fail says the platform refused it
// (its Else follow); either way its moderation log entry is written, as
// the outbox does.
type Recorder struct {
	Caps bot.Capability
	// Fail, when set, decides which actions the platform refuses.
	Fail func(a bot.Action) error
	// Count, when set, is the group's member count as the platform tells it.
	Count int
	// Admins are the group's platform admins by member id (AdminChecker).
	Admins map[string]bool

	mu      sync.Mutex
	actions []bot.Action
	next    int
	// after is the engine's AfterSend: a recorded message counts as sent,
	// so auto-deletes and remembered message ids work as in production.
	after func(context.Context, string, bot.Action, bot.Result) error
	done  func(context.Context, bot.Action, error)
}

// IsAdmin implements bot.AdminChecker.
func (r *Recorder) IsAdmin(_ context.Context, _, member string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.Admins[member], nil
}

// Name implements bot.Adapter.
func (r *Recorder) Name() string { return "console" }

// MemberCount implements bot.MemberCounter: Count, when set.
func (r *Recorder) MemberCount(context.Context, string) (int, error) {
	if r.Count == 0 {
		return 0, bot.ErrUnsupported
	}
	return r.Count, nil
}

// Capabilities implements bot.Adapter.
func (r *Recorder) Capabilities(string) bot.Capability { return r.Caps }

// SourceLink implements bot.SourceLinker, with a made-up link that names
// the source.
func (r *Recorder) SourceLink(_ context.Context, _, name string) (string, error) {
	return "https://example.invalid/src/" + name, nil
}

// Run implements bot.Adapter.
func (r *Recorder) Run(context.Context, bot.EventSink) error { return nil }

// Do implements bot.Adapter.
func (r *Recorder) Do(context.Context, bot.Action) (bot.Result, error) { return bot.Result{}, nil }

// Enqueue implements engine.Outbox: actions are recorded in order.
func (r *Recorder) Enqueue(actions ...bot.Action) error {
	for _, a := range actions {
		if err := r.enqueue(a); err != nil {
			return err
		}
	}
	return nil
}

func (r *Recorder) enqueue(a bot.Action) error {
	r.mu.Lock()
	r.actions = append(r.actions, a)
	r.next++
	id := fmt.Sprintf("m%d", r.next)
	after, done, fail := r.after, r.done, r.Fail
	r.mu.Unlock()
	var err error
	if fail != nil {
		err = fail(a)
	}
	if err == nil && a.IsMessage() && after != nil {
		if aerr := after(context.Background(), "console", a, bot.Result{MessageID: id}); aerr != nil {
			return aerr
		}
	}
	if done != nil {
		done(context.Background(), a, err)
	}
	next := a.Then
	if err != nil {
		next = a.Else
	}
	for _, n := range next {
		if err := r.enqueue(n); err != nil {
			return err
		}
	}
	return nil
}

// Take returns the actions recorded since the last Take.
func (r *Recorder) Take() []bot.Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.actions
	r.actions = nil
	return out
}

// Harness is an engine on real Redis with a fake clock.
type Harness struct {
	T      testing.TB
	Engine *engine.Engine
	// Sched owns time: Advance moves the clock through it.
	Sched  *scheduler.Scheduler
	Out    *Recorder
	Clock  *bot.FakeClock
	Store  *state.Store
	Redis  redis.UniversalClient
	Prefix string
	seq    int
	mu     sync.Mutex
}

// Start is the harness clock's start.
var Start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// New builds a harness with the given flows and config YAML. Pass a
// prefix (from another harness) to share its Redis state: a restart.
func New(t testing.TB, flows []engine.Flow, yaml string, prefix ...string) *Harness {
	t.Helper()
	c, p := redistest.Client(t)
	if len(prefix) > 0 {
		p = prefix[0]
	}
	cfg, err := config.Parse("test.yaml", []byte(yaml), engine.Schema(flows, Platforms()))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	store := state.New(c, p)
	clock := bot.NewFakeClock(Start)
	sched := scheduler.New(scheduler.Options{Redis: c, Prefix: p, Clock: clock})
	e, err := engine.New(engine.Options{Store: store, Timers: sched, Clock: clock, Flows: flows}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched.Connect(e, e)
	out := &Recorder{Caps: bot.AllCapabilities, after: e.AfterSend, done: e.AfterDone}
	e.Attach(out, out)
	return &Harness{T: t, Engine: e, Sched: sched, Out: out, Clock: clock, Store: store, Redis: c, Prefix: p}
}

func (h *Harness) id() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	// unique per harness: two harnesses on one Redis (two replicas) must
	// not look like one update delivered twice
	return fmt.Sprintf("t%d-%p", h.seq, h)
}

// Event sends an event into the group and fails the test on error.
func (h *Harness) Event(ev bot.Event) {
	h.T.Helper()
	if ev.ID == "" {
		ev.ID = h.id()
	}
	if ev.Platform == "" {
		ev.Platform = "console"
	}
	if ev.Chat.Key == "" {
		ev.Chat = bot.Chat{Key: Group, Type: bot.ChatGroup, Title: "G"}
	}
	if ev.Time.IsZero() {
		ev.Time = h.Clock.Now()
	}
	if err := h.Engine.HandleEvent(context.Background(), ev); err != nil {
		h.T.Fatalf("%s event: %v", ev.Kind, err)
	}
}

// Member is a member of the test group.
func Member(name string) bot.Member { return bot.Member{ID: name, Name: name, Username: name} }

// Command sends a message (a command) from who, as a reply to replyTo's
// message when it is set, and answers the actions it led to.
func (h *Harness) Command(who, text string, replyTo *bot.Reply) []bot.Action {
	h.T.Helper()
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventMessage, Member: Member(who), Text: text, MessageID: "c" + text, ReplyTo: replyTo})
	return h.Out.Take()
}

// Texts renders actions as "type:member text" lines, for assertions on
// what was said.
func Texts(acts []bot.Action) string {
	var s []string
	for _, a := range acts {
		s = append(s, string(a.Type)+":"+a.Member.ID+" "+a.Text)
	}
	return strings.Join(s, "\n")
}

// Join sends a join.
func (h *Harness) Join(name string) { h.Event(bot.Event{Kind: bot.EventJoin, Member: Member(name)}) }

// Say sends a group message.
func (h *Harness) Say(name, text string) {
	h.Event(bot.Event{Kind: bot.EventMessage, Member: Member(name), Text: text, MessageID: h.id()})
}

// Press presses a button.
func (h *Harness) Press(name, data string) {
	h.Event(bot.Event{Kind: bot.EventButton, Member: Member(name), Button: &bot.Button{ID: h.id(), Data: data}})
}

// Advance moves the clock and runs due jobs and schedules, each at its own
// time, as the console's advance does.
func (h *Harness) Advance(d time.Duration) {
	h.T.Helper()
	step := scheduler.AdvanceTo(h.Sched, h.Clock, func(context.Context) error { return nil })
	if err := step(context.Background(), h.Clock.Now().Add(d)); err != nil {
		h.T.Fatal(err)
	}
}

// Fields reads a member's flow fields.
func (h *Harness) Fields(member string) map[string]string {
	h.T.Helper()
	m, err := h.Store.Member(context.Background(), Group, member)
	if err != nil {
		h.T.Fatal(err)
	}
	return m.Fields
}

// Summary renders actions as "type:member" words, for compact assertions.
// Cancels (ActCancel) are left out: they withdraw queued actions and never
// reach a platform; tests of them read the actions themselves.
func Summary(actions []bot.Action) string {
	var s []string
	for _, a := range actions {
		if a.Type == bot.ActCancel {
			continue // outbox bookkeeping, not a platform action
		}
		w := string(a.Type)
		if a.Member.ID != "" {
			w += ":" + a.Member.ID
		}
		s = append(s, w)
	}
	return strings.Join(s, " ")
}
