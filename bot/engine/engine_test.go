package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/metrics"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/scheduler"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// recorder is a flow that logs what it sees into a shared trace.
type recorder struct {
	name  string
	stage engine.Stage
	trace *trace
	cmds  []engine.CommandSpec
	do    func(fc *engine.FlowContext) error
}

type trace struct {
	mu    sync.Mutex
	steps []string
}

func (t *trace) add(s string) { t.mu.Lock(); t.steps = append(t.steps, s); t.mu.Unlock() }
func (t *trace) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.steps, " ")
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &struct{}{} }, DefaultOn: true}
}
func (r *recorder) Stage() engine.Stage { return r.stage }
func (r *recorder) Handle(_ context.Context, fc *engine.FlowContext) error {
	r.trace.add(r.name)
	if r.do != nil {
		return r.do(fc)
	}
	return nil
}

// commander is a flow that only answers commands.
type commander struct {
	name  string
	trace *trace
	specs []engine.CommandSpec
	do    func(fc *engine.FlowContext) error
}

func (c *commander) Name() string { return c.name }
func (c *commander) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &struct{}{} }, DefaultOn: true}
}
func (c *commander) Commands(string) []engine.CommandSpec { return c.specs }
func (c *commander) HandleCommand(_ context.Context, fc *engine.FlowContext) error {
	c.trace.add("/" + fc.Event.Command.Name)
	if c.do != nil {
		return c.do(fc)
	}
	fc.Reply("ok " + fc.Event.Command.ArgText)
	return nil
}

// fakeAdapter declares capabilities; its outbox records actions.
type fakeAdapter struct{ caps bot.Capability }

func (f fakeAdapter) Name() string                                       { return "console" }
func (f fakeAdapter) Capabilities(string) bot.Capability                 { return f.caps }
func (f fakeAdapter) Run(context.Context, bot.EventSink) error           { return nil }
func (f fakeAdapter) Do(context.Context, bot.Action) (bot.Result, error) { return bot.Result{}, nil }

type sliceOutbox struct {
	mu      sync.Mutex
	actions []bot.Action
}

func (o *sliceOutbox) Enqueue(as ...bot.Action) error {
	o.mu.Lock()
	o.actions = append(o.actions, as...)
	o.mu.Unlock()
	return nil
}

func (o *sliceOutbox) texts() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, a := range o.actions {
		out = append(out, string(a.Type)+":"+a.Text)
	}
	return out
}

func (o *sliceOutbox) all() []bot.Action {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]bot.Action(nil), o.actions...)
}

type harness struct {
	engine *engine.Engine
	sched  *scheduler.Scheduler
	out    *sliceOutbox
	trace  *trace
	store  *state.Store
	clock  *bot.FakeClock
	m      *metrics.Metrics
}

func newHarness(t testing.TB, yaml string, flows func(tr *trace) []engine.Flow) *harness {
	t.Helper()
	c, prefix := redistest.Client(t)
	return newHarnessOn(t, c, prefix, yaml, flows)
}

func newHarnessOn(t testing.TB, c interface {
	redisClient
}, prefix, yaml string, flows func(tr *trace) []engine.Flow) *harness {
	t.Helper()
	tr := &trace{}
	fl := flows(tr)
	cfg, err := config.Parse("test.yaml", []byte(yaml), engine.Schema(fl, bottest.Platforms()))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	store := state.New(c, prefix)
	clock := bot.NewFakeClock(t0)
	m := metrics.New()
	sched := scheduler.New(scheduler.Options{Redis: c, Prefix: prefix, Clock: clock})
	e, err := engine.New(engine.Options{Store: store, Timers: sched, Clock: clock, Flows: fl, Metrics: m}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched.Connect(e, e)
	out := &sliceOutbox{}
	e.Attach(fakeAdapter{caps: bot.AllCapabilities}, out)
	return &harness{engine: e, sched: sched, out: out, trace: tr, store: store, clock: clock, m: m}
}

var nextID int

func msg(member, text string, admin bool) bot.Event {
	nextID++
	return bot.Event{
		ID: fmt.Sprintf("u%d", nextID), Kind: bot.EventMessage, Platform: "console",
		Chat:   bot.Chat{Key: "console:g1", Type: bot.ChatGroup, Title: "G"},
		Member: bot.Member{ID: member, Name: member, IsAdmin: admin}, Text: text, MessageID: fmt.Sprint(nextID),
		Time: t0,
	}
}

func stagedFlows(tr *trace) []engine.Flow {
	return []engine.Flow{
		&recorder{name: "reset", stage: engine.StageReset, trace: tr},
		&recorder{name: "points", stage: engine.StagePoints, trace: tr},
		&commander{name: "cmds", trace: tr, specs: []engine.CommandSpec{{Name: "hello"}, {Name: "mod", Moderator: true}}},
		&recorder{name: "filter", stage: engine.StageFilter, trace: tr, do: func(fc *engine.FlowContext) error {
			if strings.Contains(fc.Event.Text, "spam") {
				fc.Do(bot.Action{Type: bot.ActDelete, MessageID: fc.Event.MessageID})
				fc.Stop("spam")
			}
			return nil
		}},
		&recorder{name: "gate", stage: engine.StageGate, trace: tr},
	}
}

func TestFlowOrder(t *testing.T) {
	tests := []struct {
		text  string
		want  string
		texts []string
	}{
		{"hi", "gate filter points reset", nil},
		{"/hello world", "gate filter /hello points reset", []string{"send:ok world"}},
		{"buy spam", "gate filter", []string{"delete:"}},
		{"/hello spam", "gate filter", []string{"delete:"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			h := newHarness(t, "flows: {}\n", stagedFlows)
			if err := h.engine.HandleEvent(context.Background(), msg("alice", tt.text, false)); err != nil {
				t.Fatal(err)
			}
			if got := h.trace.String(); got != tt.want {
				t.Errorf("order = %q, want %q", got, tt.want)
			}
			if got := strings.Join(h.out.texts(), "|"); got != strings.Join(tt.texts, "|") {
				t.Errorf("actions = %q, want %q", got, tt.texts)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	yaml := "locale: en\nmoderators: [\"console:carol\"]\n"
	tests := []struct {
		member string
		admin  bool
		text   string
		want   string
	}{
		{"alice", false, "/mod", "send:/mod is for moderators only."},
		{"bob", true, "/mod", "send:ok "},
		{"carol", false, "/mod x", "send:ok x"},
		{"alice", false, "/nothing", "send:Unknown command /nothing. Send /help for the list."},
		{"alice", false, "/HELLO@somebot a b", "send:ok a b"},
	}
	for _, tt := range tests {
		t.Run(tt.member+tt.text, func(t *testing.T) {
			h := newHarness(t, yaml, stagedFlows)
			if err := h.engine.HandleEvent(context.Background(), msg(tt.member, tt.text, tt.admin)); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(h.out.texts(), "|"); got != tt.want {
				t.Errorf("actions = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDisabledFlowDoesNotRun(t *testing.T) {
	h := newHarness(t, "groups:\n  \"console:g1\":\n    points: { enabled: false }\n    cmds: off\n", stagedFlows)
	if err := h.engine.HandleEvent(context.Background(), msg("alice", "/hello", false)); err != nil {
		t.Fatal(err)
	}
	if got := h.trace.String(); got != "gate filter reset" {
		t.Errorf("order = %q", got)
	}
	if got := h.out.texts(); len(got) != 1 || !strings.Contains(got[0], "未知命令") {
		t.Errorf("actions = %q, want the unknown-command notice", got)
	}
}

// Two engines sharing one Redis, each handed the same update (a webhook
// retry landing on another replica): flows run once; a delivery that
// arrives while the other is still handling it hears "in flight" (the
// platform delivers it again), one after it is done is a duplicate.
func TestDedupeAcrossEngines(t *testing.T) {
	c1, prefix := redistest.Client(t)
	c2, _ := redistest.Client(t)
	a := newHarnessOn(t, c1, prefix, "flows: {}\n", stagedFlows)
	b := newHarnessOn(t, c2, prefix, "flows: {}\n", stagedFlows)
	ev := msg("alice", "/hello", false)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		for _, h := range []*harness{a, b} {
			wg.Add(1)
			go func(h *harness) {
				defer wg.Done()
				if err := h.engine.HandleEvent(context.Background(), ev); err != nil && !errors.Is(err, state.ErrInFlight) {
					t.Error(err)
				}
			}(h)
		}
	}
	wg.Wait()
	if n := len(a.out.texts()) + len(b.out.texts()); n != 1 {
		t.Fatalf("replied %d times, want once", n)
	}
	// every other delivery is a duplicate or in flight, never handled
	if err := a.engine.HandleEvent(context.Background(), ev); err != nil {
		t.Fatalf("a delivery after it was done: %v", err)
	}
	if n := len(a.out.texts()) + len(b.out.texts()); n != 1 {
		t.Fatalf("replied %d times after a late redelivery", n)
	}
	// a replica that only ever heard "in flight" has no duplicate series
	count := func(m *metrics.Metrics) float64 {
		if testutil.CollectAndCount(m.EventsDup) == 0 {
			return 0
		}
		return testutil.ToFloat64(m.EventsDup)
	}
	if dups := count(a.m) + count(b.m); dups < 1 {
		t.Errorf("duplicates counted = %v", dups)
	}
}

func TestPanickingFlowIsContained(t *testing.T) {
	h := newHarness(t, "flows: {}\n", func(tr *trace) []engine.Flow {
		return []engine.Flow{
			&recorder{name: "bad", stage: engine.StageFilter, trace: tr, do: func(*engine.FlowContext) error { panic("boom") }},
			&recorder{name: "good", stage: engine.StagePoints, trace: tr},
		}
	})
	if err := h.engine.HandleEvent(context.Background(), msg("alice", "hi", false)); err != nil {
		t.Fatal(err)
	}
	if got := h.trace.String(); got != "bad good" {
		t.Errorf("trace = %q, want the good flow to run after the panic", got)
	}
	if v := testutil.ToFloat64(h.m.FlowErrors.WithLabelValues("bad")); v != 1 {
		t.Errorf("flow errors = %v", v)
	}
}

// A Redis failure inside a flow fails the event and forgets its update id,
// so the platform's redelivery is processed.
func TestRedisErrorInFlowAllowsRedelivery(t *testing.T) {
	fail := true
	h := newHarness(t, "flows: {}\n", func(tr *trace) []engine.Flow {
		return []engine.Flow{&recorder{name: "points", stage: engine.StagePoints, trace: tr, do: func(fc *engine.FlowContext) error {
			if fail {
				return fmt.Errorf("award: %w", state.ErrRedis)
			}
			fc.Reply("credited")
			return nil
		}}}
	})
	ev := msg("alice", "hi", false)
	if err := h.engine.HandleEvent(context.Background(), ev); !errors.Is(err, state.ErrRedis) {
		t.Fatalf("err = %v, want a redis error", err)
	}
	fail = false
	if err := h.engine.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got := h.out.texts(); len(got) != 1 || got[0] != "send:credited" {
		t.Errorf("after redelivery: %q", got)
	}
}

func TestRedisDown(t *testing.T) {
	conn, err := state.Open(state.Options{URL: "redis://127.0.0.1:1/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cfg, err := config.Parse("t.yaml", []byte("flows: {}\n"), engine.Schema(nil, bottest.Platforms()))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Store: state.New(conn.Client, "qb:"), Timers: scheduler.New(scheduler.Options{Redis: conn.Client, Prefix: "qb:"})}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.HandleEvent(context.Background(), msg("a", "hi", false)); !errors.Is(err, state.ErrRedis) {
		t.Errorf("HandleEvent err = %v, want a redis error", err)
	}
	if err := e.Ready(context.Background()); err == nil {
		t.Error("Ready with Redis down = nil")
	}
}

func TestAutoDeleteSurvivesInRedis(t *testing.T) {
	h := newHarness(t, "flows: {}\n", stagedFlows)
	ctx := context.Background()
	a := bot.Action{Type: bot.ActSend, Chat: "console:g1", Text: "hi", DeleteAfter: 10 * time.Minute}
	if err := h.engine.AfterSend(ctx, "console", a, bot.Result{MessageID: "77"}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(9 * time.Minute)
	if err := h.sched.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.out.texts()); n != 0 {
		t.Fatalf("deleted early: %v", h.out.texts())
	}
	h.clock.Advance(time.Minute)
	if err := h.sched.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	if len(h.out.actions) != 1 || h.out.actions[0].Type != bot.ActDelete || h.out.actions[0].MessageID != "77" {
		t.Fatalf("actions = %+v, want one deletion of #77", h.out.actions)
	}
}

// A message the platform sent in parts: every part is deleted when its
// time comes, and a pin takes the first.
func TestMessageInPartsDeletedAndPinnedWhole(t *testing.T) {
	h := newHarness(t, "flows: {}\n", stagedFlows)
	ctx := context.Background()
	a := bot.Action{Type: bot.ActSend, Chat: "console:g1", Text: "long", DeleteAfter: time.Minute, Pin: true}
	if err := h.engine.AfterSend(ctx, "console", a, bot.Result{MessageID: "79", Earlier: []string{"77", "78"}}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	if err := h.sched.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	var pinned, deleted []string
	for _, x := range h.out.actions {
		switch x.Type {
		case bot.ActPin:
			pinned = append(pinned, x.MessageID)
		case bot.ActDelete:
			deleted = append(deleted, x.MessageID)
		}
	}
	slices.Sort(deleted)
	if !slices.Equal(pinned, []string{"77"}) || !slices.Equal(deleted, []string{"77", "78", "79"}) {
		t.Errorf("pinned %v, deleted %v; want the first pinned and all three deleted", pinned, deleted)
	}
}

func TestDuplicateCommandNamesRejected(t *testing.T) {
	tr := &trace{}
	fl := []engine.Flow{&commander{name: "a", trace: tr, specs: []engine.CommandSpec{{Name: "x"}}}, &commander{name: "b", trace: tr, specs: []engine.CommandSpec{{Name: "x"}}}}
	cfg, _ := config.Parse("t.yaml", []byte("flows: {}\n"), engine.Schema(fl, bottest.Platforms()))
	if _, err := engine.New(engine.Options{Flows: fl}, cfg); err == nil {
		t.Fatal("two flows offering /x accepted")
	}
}

// shapingAdapter joins an event's messages into one, as a platform that
// takes one answer per message would.
type shapingAdapter struct{ fakeAdapter }

func (shapingAdapter) Shape(actions []bot.Action) []bot.Action {
	if len(actions) < 2 {
		return actions
	}
	joined := actions[0]
	for _, a := range actions[1:] {
		joined.Text += "+" + a.Text
	}
	return []bot.Action{joined}
}

// An adapter that implements bot.Shaper sees an event's actions before
// they are queued; the engine knows nothing of why.
func TestAdapterShapesActions(t *testing.T) {
	flows := func(tr *trace) []engine.Flow {
		return []engine.Flow{&recorder{name: "points", stage: engine.StagePoints, trace: tr, do: func(fc *engine.FlowContext) error {
			fc.Reply("checked in")
			fc.Do(bot.Action{Type: bot.ActSend, Text: "level up"})
			return nil
		}}}
	}
	h := newHarness(t, "locale: en\n", flows)
	h.engine.Attach(shapingAdapter{fakeAdapter{caps: bot.CanSend}}, h.out)
	if err := h.engine.HandleEvent(context.Background(), msg("alice", "签到", false)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.out.texts(), "|"); got != "send:checked in+level up" {
		t.Fatalf("actions %q", got)
	}
}

// Moderators on the event's platform (prefixed or bare) and the extra ids
// are told once each; moderators of another platform are not.
func TestTellModerators(t *testing.T) {
	tests := []struct {
		name  string
		mods  string
		extra []string
		want  string
	}{
		{"prefixed and bare", `["console:a", "b", "other:c", "console:a"]`, []string{"owner"}, "dm:owner dm:a dm:b"},
		{"owner is also a moderator", `["console:owner"]`, []string{"owner"}, "dm:owner"},
		{"nobody", `["other:c"]`, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			flows := func(tr *trace) []engine.Flow {
				return []engine.Flow{&recorder{name: "points", stage: engine.StagePoints, trace: tr, do: func(fc *engine.FlowContext) error {
					n = fc.TellModerators("look", tt.extra...)
					return nil
				}}}
			}
			h := newHarness(t, "moderators: "+tt.mods+"\nflows: { points: {} }\n", flows)
			if err := h.engine.HandleEvent(context.Background(), msg("alice", "hi", false)); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range h.out.all() {
				got = append(got, string(a.Type)+":"+a.Member.ID)
			}
			if s := strings.Join(got, " "); s != tt.want || n != len(got) {
				t.Errorf("told %q (n=%d), want %q", s, n, tt.want)
			}
		})
	}
}

// A group's command asked in a private chat: the moderator picks the
// group from a numbered list, by number, id or title; the answer comes in
// the private chat; a member who moderates no group is told so.
func TestGroupCommandInPrivateChat(t *testing.T) {
	yaml := "locale: en\nmoderators: [\"console:carol\"]\ngroups:\n  \"console:g1\": {}\n  \"console:g2\": {}\n"
	h := newHarness(t, yaml, func(tr *trace) []engine.Flow {
		return []engine.Flow{&commander{name: "stats", trace: tr, specs: []engine.CommandSpec{{Name: "stats", Moderator: true, Group: true}},
			do: func(fc *engine.FlowContext) error {
				fc.Reply("stats of " + fc.Event.GroupKey() + " " + strings.Join(fc.Event.Command.Args, ","))
				return nil
			}}}
	})
	// g2 has a title the bot learned from a message there
	ev := msg("alice", "hello", false)
	ev.Chat = bot.Chat{Key: "console:g2", Type: bot.ChatGroup, Title: "Coffee Lovers"}
	if err := h.engine.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	h.out.take()
	private := func(member, text string) []bot.Action {
		t.Helper()
		e := msg(member, text, false)
		e.Chat = bot.Chat{Key: "console:@" + member, Type: bot.ChatPrivate}
		e.Kind, e.Command = bot.EventCommand, bot.ParseCommand(text, "")
		if err := h.engine.HandleEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		return h.out.take()
	}
	tests := []struct {
		member, text, want string
	}{
		{"carol", "/stats", "1. console:g1 (console:g1)\n2. Coffee Lovers (console:g2)"},
		{"carol", "/stats 2", "stats of console:g2 "},
		{"carol", "/stats g1 7d", "stats of console:g1 7d"},
		{"carol", "/stats console:g1", "stats of console:g1 "},
		{"carol", "/stats coffee", "stats of console:g2 "},
		{"carol", "/stats nowhere", "1. console:g1"},
		{"alice", "/stats 1", "you moderate none"},
	}
	for _, tt := range tests {
		acts := private(tt.member, tt.text)
		if len(acts) != 1 || !strings.Contains(acts[0].Text, tt.want) || acts[0].Chat != "console:@"+tt.member {
			t.Errorf("%s %q: %+v, want %q in the private chat", tt.member, tt.text, acts, tt.want)
		}
	}
}

func (o *sliceOutbox) take() []bot.Action {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.actions
	o.actions = nil
	return out
}
