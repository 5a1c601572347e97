package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/metrics"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/scheduler"
)

// Outbox queues actions for one adapter; the engine defines what it needs
// and bot/outbox implements it.
type Outbox interface {
	// Enqueue queues the actions of one event together, so the outbox
	// orders them by lane as a whole, the same way on every run.
	Enqueue(actions ...bot.Action) error
}

// Timers keeps delayed work (a challenge's deadline, an auto-delete) until
// it is due; the scheduler implements it and hands the work back as
// EventTimer events.
type Timers interface {
	Add(ctx context.Context, jobs ...scheduler.Job) error
	Remove(ctx context.Context, id string) error
	// NextFire returns when a recurring schedule (scheduler.EntryKey)
	// fires next.
	NextFire(ctx context.Context, entry string) (time.Time, bool, error)
}

// Options configure an Engine.
type Options struct {
	Store   *state.Store
	Timers  Timers
	Clock   bot.Clock
	Log     *zap.Logger
	Metrics *metrics.Metrics
	Flows   []Flow
	// FlowTimeout bounds one flow's work on one event (default 10s).
	FlowTimeout time.Duration
	// ProcessingLease is how long a redelivered update waits for the
	// process handling it before another takes over (default 15s).
	ProcessingLease time.Duration
	// DoneBatch gathers the "done" marks of handled updates for this long
	// and writes them in one round trip (0: each at once). A crash within
	// it leaves those updates to a redelivery after the lease; the
	// platforms redeliver only what was not acknowledged, which a handled
	// update mostly is.
	DoneBatch time.Duration
}

// Engine runs flows over events. It is safe for concurrent use: adapters
// call HandleEvent from as many goroutines as they like.
type Engine struct {
	opt      Options
	flows    []Flow
	mws      []Middleware
	handlers []stagedHandler
	cmds     map[string]Flow
	cfg      atomic.Pointer[config.Config]

	mu       sync.RWMutex
	adapters map[string]attached
	// titles caches group titles known to be stored, so recording a title
	// costs a round trip only when it changes.
	titles sync.Map
	// known caches groups registered for schedules (group → platform).
	known           sync.Map
	reconciled      atomic.Pointer[config.Config]
	reconcileNeeded atomic.Bool

	doneMu   sync.Mutex
	pending  *doneBatch              // handled, to be marked done with the next write
	inflight map[*doneBatch]struct{} // being written
	// days is the last KPI day tallied per group: the first tally of a
	// new day closes the day before (its WAU and MAU)
	days sync.Map
}

type stagedHandler struct {
	stage Stage
	flow  Flow
	run   Handler
	// gate: a Gatekeeper's gate handler, beside the flow's own; the
	// flow's steps and undo belong to its own
	gate bool
}

type attached struct {
	adapter bot.Adapter
	outbox  Outbox
}

// Schema collects the config sections of flows and the platforms' schemas
// (platform.Schemas), for config.Load.
func Schema(flows []Flow, platforms map[string]config.PlatformSchema) config.Schema {
	s := config.Schema{Flows: map[string]config.FlowSchema{}, Platforms: platforms}
	for _, f := range flows {
		s.Flows[f.Name()] = f.Schema()
	}
	return s
}

// New builds an engine. The flows' event handlers are ordered by Stage, and
// within a stage by their order in opt.Flows.
func New(opt Options, cfg *config.Config) (*Engine, error) {
	if opt.Clock == nil {
		opt.Clock = bot.SystemClock{}
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	if opt.FlowTimeout <= 0 {
		opt.FlowTimeout = 10 * time.Second
	}
	if opt.Timers == nil {
		return nil, errors.New("engine: Options.Timers is required (the scheduler)")
	}
	mws := []Middleware{Recoverer(), Timeout(opt.FlowTimeout)}
	e := &Engine{opt: opt, flows: opt.Flows, mws: mws, cmds: map[string]Flow{}, adapters: map[string]attached{}}
	for _, f := range opt.Flows {
		if h, ok := f.(EventHandler); ok {
			e.handlers = append(e.handlers, stagedHandler{stage: h.Stage(), flow: f, run: chain(f.Name(), h.Handle, mws)})
		}
		if g, ok := f.(Gatekeeper); ok {
			e.handlers = append(e.handlers, stagedHandler{stage: StageGate, flow: f, run: chain(f.Name(), g.HandleGate, mws), gate: true})
		}
		if c, ok := f.(Commander); ok {
			for _, loc := range config.Locales {
				for _, spec := range c.Commands(loc) {
					if other, dup := e.cmds[spec.Name]; dup && other != f {
						return nil, fmt.Errorf("command /%s is offered by both %s and %s", spec.Name, other.Name(), f.Name())
					}
					e.cmds[spec.Name] = f
				}
			}
		}
	}
	sort.SliceStable(e.handlers, func(i, j int) bool { return e.handlers[i].stage < e.handlers[j].stage })
	e.SetConfig(cfg)
	return e, nil
}

// SetConfig swaps the config atomically; events in flight finish with the
// config they started with.
func (e *Engine) SetConfig(cfg *config.Config) { e.cfg.Store(cfg) }

// Config returns the config in force.
func (e *Engine) Config() *config.Config { return e.cfg.Load() }

// Attach connects an adapter and the outbox that carries out its actions.
func (e *Engine) Attach(a bot.Adapter, out Outbox) {
	e.mu.Lock()
	e.adapters[a.Name()] = attached{adapter: a, outbox: out}
	e.mu.Unlock()
}

func (e *Engine) adapter(platform string) (attached, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	a, ok := e.adapters[platform]
	return a, ok
}

func ingestKind(k bot.EventKind) state.Kind {
	switch k {
	case bot.EventJoin:
		return state.KindJoin
	case bot.EventLeave:
		return state.KindLeave
	case bot.EventMessage, bot.EventCommand:
		return state.KindMessage
	case bot.EventButton, bot.EventEdit:
		return state.KindTouch
	}
	return state.KindSeen
}

// HandleEvent de-duplicates and records the event, runs the flows, and
// queues their actions. An error means the event was not processed and the
// platform should redeliver it (the update id is forgotten again). Timer
// events (scheduled work come due) take the same path without the
// ingest: they are not activity, and the scheduler claims each once.
func (e *Engine) HandleEvent(ctx context.Context, ev bot.Event) error {
	cfg := e.cfg.Load()
	if cfg == nil {
		return errors.New("handle event: no config loaded")
	}
	if ev.Kind == bot.EventTimer {
		return e.handleTimer(ctx, cfg, ev)
	}
	if ev.Kind == bot.EventMessage && ev.Command == nil && !ev.CommandChecked && !ev.Edited {
		if c := bot.ParseCommand(ev.Text, ""); c != nil {
			ev.Command = c
		}
	}
	if ev.Command != nil {
		ev.Kind = bot.EventCommand
	}
	ingestAs := ev.Kind
	if ev.Edited {
		ingestAs = bot.EventEdit
	}
	if ev.Time.IsZero() {
		ev.Time = e.opt.Clock.Now()
	}
	e.opt.Metrics.EventsIn.WithLabelValues(ev.Platform, string(ev.Kind)).Inc()
	fc := e.newContext(cfg, &ev, nil)
	steps, owners := e.prepare(fc)
	member, results, dup, err := e.opt.Store.IngestSteps(ctx, state.Ingest{
		Group: ev.GroupKey(), UpdateID: ev.ID,
		// a channel speaking in a group is no person: the counts leave it
		// out as they leave out bots
		Member: ev.Member.ID, Name: ev.Member.Name, Username: ev.Member.Username, IsBot: ev.Member.IsBot || ev.Member.IsChannel,
		Kind: ingestKind(ingestAs), At: ev.Time, InviteLink: ev.InviteLink, Source: ev.Source, Lease: e.opt.ProcessingLease,
	}, steps)
	if errors.Is(err, state.ErrInFlight) {
		e.opt.Log.Info("update is being handled elsewhere; the platform should deliver it again later",
			zap.String("event", ev.ID), zap.String("group", ev.GroupKey()))
		return fmt.Errorf("handle %s event %s: %w", ev.Kind, ev.ID, err)
	}
	if err != nil {
		e.opt.Log.Error("event not processed: member state unavailable; the platform should redeliver it",
			zap.String("event", ev.ID), zap.String("kind", string(ev.Kind)), zap.String("group", ev.GroupKey()), zap.Error(err))
		return fmt.Errorf("handle %s event %s in %s: %w", ev.Kind, ev.ID, ev.GroupKey(), err)
	}
	if dup {
		e.opt.Metrics.EventsDup.WithLabelValues(ev.Platform).Inc()
		return nil
	}
	if ev.Chat.Type == bot.ChatGroup {
		if err := e.knowGroup(ctx, ev.Platform, ev.Chat.Key); err != nil {
			return fmt.Errorf("handle %s event %s: %w", ev.Kind, ev.ID, err)
		}
	}
	if ev.Chat.Type == bot.ChatGroup && ev.Chat.Title != "" {
		if t, ok := e.titles.Load(ev.Chat.Key); !ok || t != ev.Chat.Title {
			// scheduled work (a burst welcome) has no event to read it from
			if err := e.opt.Store.SetGroupFields(ctx, ev.Chat.Key, map[string]string{"title": ev.Chat.Title}); err != nil {
				return fmt.Errorf("handle %s event %s: %w", ev.Kind, ev.ID, err)
			}
			e.titles.Store(ev.Chat.Key, ev.Chat.Title)
		}
	}
	fc.Member = member
	if results != nil {
		fc.prepared = make(map[string][]int64, len(results))
		for i, r := range results {
			fc.prepared[owners[i]] = r
		}
	}
	err = e.runFlows(ctx, fc)
	if err == nil {
		err = e.runEmitted(ctx, fc, 0)
	}
	if err != nil {
		e.forget(ctx, ev)
		return fmt.Errorf("handle %s event %s in %s: %w", ev.Kind, ev.ID, ev.GroupKey(), err)
	}
	answerPress(&ev, fc)
	if err := e.finish(ctx, fc); err != nil {
		e.forget(ctx, ev)
		return err
	}
	t := e.tally(fc)
	day := ""
	if fc.Group != nil && ev.Chat.Type == bot.ChatGroup {
		day = ev.Time.In(fc.Group.Location).Format("2006-01-02")
	}
	if ev.ID != "" {
		// only now is it "seen": a crash before this leaves it to the
		// next delivery, which takes over once the lease runs out; its
		// day's figures are written with the mark, once
		e.markDone(ctx, state.Update{Group: ev.GroupKey(), ID: ev.ID, Tally: t, Day: day})
	} else if t != nil {
		e.writeTallies(ctx, []state.Update{{Group: ev.GroupKey(), Tally: t, Day: day}})
	}
	e.tallyElsewhere(ctx, cfg, fc)
	return nil
}

// tallyElsewhere writes what the event counted in other groups (CountIn).
func (e *Engine) tallyElsewhere(ctx context.Context, cfg *config.Config, fc *FlowContext) {
	var us []state.Update
	for group, counts := range fc.elsewhere {
		g := cfg.Group(group)
		if g == nil {
			continue
		}
		day := fc.Now.In(g.Location).Format("2006-01-02")
		us = append(us, state.Update{Group: group, Day: day, Tally: &state.Tally{Group: group, Day: day, Counts: counts, At: fc.Now}})
	}
	if len(us) > 0 {
		e.writeTallies(ctx, us)
	}
}

// kpiStep is the owner name of the engine's own step: a member's
// message counted in the day's record inside the ingest.
const kpiStep = "engine:kpi"

// disabledStep is the owner name of the engine's step that reads whether
// a command is turned off (see Engine.disabled).
const disabledStep = "engine:disabled"

// countsMessage reports whether an event is a member's message the day's
// record counts (unless a flow stops it).
func countsMessage(ev *bot.Event) bool {
	return (ev.Kind == bot.EventMessage || ev.Kind == bot.EventCommand) && ev.Chat.Type == bot.ChatGroup &&
		!ev.Edited && !ev.Member.IsBot && !ev.Member.IsChannel && ev.Member.ID != ""
}

// tally is what the event adds to its group's day record at its done
// mark: what the flows counted, joins, leaves and join requests, and the
// correction of a message the ingest counted that a flow then stopped
// (spam, an unverified member's). Ordinary messages add nothing here:
// the ingest counted them.
func (e *Engine) tally(fc *FlowContext) *state.Tally {
	ev := fc.Event
	if ev.Chat.Type != bot.ChatGroup || fc.Group == nil {
		return nil
	}
	counts := fc.counts()
	active, unactive, presence := "", "", false
	switch ev.Kind {
	case bot.EventMessage, bot.EventCommand:
		res, ok := fc.prepared[kpiStep]
		first := ok && len(res) == 1 && res[0] == 1
		switch {
		case ok && fc.stopped != "":
			counts[string(kpi.Messages)]--
			if first {
				counts[string(kpi.Active)]--
				unactive = ev.Member.ID
			}
		case first:
			active = ev.Member.ID // into the day's HyperLogLog, once a day
		}
	case bot.EventJoin:
		counts[string(kpi.Joins)]++
		presence = true
	case bot.EventLeave:
		counts[string(kpi.Leaves)]++
		presence = true
	case bot.EventJoinRequest:
		counts[string(kpi.JoinRequests)]++
	}
	for k, v := range counts {
		if v == 0 {
			delete(counts, k)
		}
	}
	if len(counts) == 0 && !presence && active == "" {
		return nil
	}
	return &state.Tally{Group: ev.GroupKey(), Day: ev.Time.In(fc.Group.Location).Format("2006-01-02"),
		Active: active, Unactive: unactive, Presence: presence, Counts: counts, At: ev.Time}
}

// closing lists the days the tallies finish: the day before a group's
// first tally of a new day (once per process; replicas closing it too
// write the same figures).
func (e *Engine) closing(us []state.Update) []state.DayOf {
	var out []state.DayOf
	for _, u := range us {
		if u.Day == "" {
			continue
		}
		if prev, ok := e.days.Swap(u.Group, u.Day); !ok || prev.(string) < u.Day {
			if d, err := time.Parse("2006-01-02", u.Day); err == nil {
				out = append(out, state.DayOf{Group: u.Group, Day: d.AddDate(0, 0, -1).Format("2006-01-02")})
			}
		} else if prev.(string) > u.Day {
			e.days.Store(u.Group, prev) // a late event of an earlier day
		}
	}
	return out
}

// writeTallies writes tallies of updates that have no done mark (no id,
// scheduled work) at once.
func (e *Engine) writeTallies(ctx context.Context, us []state.Update) {
	if err := e.opt.Store.Tallies(ctx, us, e.closing(us)); err != nil {
		e.opt.Log.Warn("day figures not recorded", zap.String("group", us[0].Group), zap.Error(err))
	}
}

// doneBatch is done marks written in one round trip.
type doneBatch struct {
	updates []state.Update
	once    sync.Once
	written chan struct{}
	err     error
}

// markDone marks a handled update done, at once or with the next batch.
func (e *Engine) markDone(ctx context.Context, u state.Update) {
	if e.opt.DoneBatch <= 0 {
		us := []state.Update{u}
		if err := e.opt.Store.Tallies(ctx, us, e.closing(us)); err != nil {
			e.opt.Log.Warn("update handled but not marked done; a redelivery after the lease would run its flows again",
				zap.String("event", u.ID), zap.Error(err))
		}
		return
	}
	e.doneMu.Lock()
	b := e.pending
	if b == nil {
		b = &doneBatch{written: make(chan struct{})}
		e.pending = b
		time.AfterFunc(e.opt.DoneBatch, func() { e.writeDone(b) })
	}
	b.updates = append(b.updates, u)
	e.doneMu.Unlock()
}

// writeDone writes a batch of done marks, once, whoever asks first (its
// timer or Settle).
func (e *Engine) writeDone(b *doneBatch) {
	b.once.Do(func() {
		e.doneMu.Lock()
		if e.pending == b {
			e.pending = nil
		}
		if e.inflight == nil {
			e.inflight = map[*doneBatch]struct{}{}
		}
		e.inflight[b] = struct{}{}
		e.doneMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if b.err = e.opt.Store.Tallies(ctx, b.updates, e.closing(b.updates)); b.err != nil {
			e.opt.Log.Warn("handled updates not marked done; a redelivery after the lease would run their flows again",
				zap.Int("updates", len(b.updates)), zap.Error(b.err))
		}
		e.doneMu.Lock()
		delete(e.inflight, b)
		e.doneMu.Unlock()
		close(b.written)
	})
}

// Settle writes the done marks of every update handled so far and waits
// until they are in Redis. An adapter calls it before it acknowledges
// handled updates to the platform (moves the polling offset, removes them
// from the inbox): an update the platform will not send again must be
// marked done, or a crash in between would leave it to nobody. An error
// means the marks may not be written: do not acknowledge.
func (e *Engine) Settle(ctx context.Context) error {
	e.doneMu.Lock()
	wait := make([]*doneBatch, 0, len(e.inflight)+1)
	for b := range e.inflight {
		wait = append(wait, b)
	}
	p := e.pending
	e.doneMu.Unlock()
	if p != nil {
		e.writeDone(p)
		wait = append(wait, p)
	}
	for _, b := range wait {
		select {
		case <-b.written:
			if b.err != nil {
				return fmt.Errorf("settle handled updates: %w", b.err)
			}
		case <-ctx.Done():
			return fmt.Errorf("settle handled updates: %w", ctx.Err())
		}
	}
	return nil
}

// FlushDone writes the done marks still gathered for the next batch; call
// it before the store closes.
func (e *Engine) FlushDone() {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	_ = e.Settle(ctx) // a failure was logged by the write
}

// forget leaves a failed update to its redelivery, with a context of its
// own: when the event's context is what ended, the redelivery must still
// find the update forgotten.
func (e *Engine) forget(ctx context.Context, ev bot.Event) {
	if ev.ID == "" {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := e.opt.Store.Forget(fctx, ev.GroupKey(), ev.ID); err != nil {
		e.opt.Log.Error("could not forget update after failure; its redelivery waits for the lease",
			zap.String("update", ev.ID), zap.Error(err))
	}
}

// newContext is what every flow gets for one event.
func (e *Engine) newContext(cfg *config.Config, ev *bot.Event, m *state.Member) *FlowContext {
	var caps bot.Capability
	if at, ok := e.adapter(ev.Platform); ok {
		caps = at.adapter.Capabilities(ev.Chat.Key)
	}
	return &FlowContext{
		Event: ev, Member: m, Group: cfg.Group(ev.GroupKey()), Now: ev.Time, Clock: e.opt.Clock,
		Store: e.opt.Store, Caps: caps, Log: e.opt.Log, engine: e, cfg: cfg,
	}
}

// finish is the one tail of every event: auto-deletes of messages the
// flows delete now are cancelled, and the actions go to the outbox.
func (e *Engine) finish(ctx context.Context, fc *FlowContext) error {
	if err := e.cancelAutoDeletes(ctx, fc.Event.Platform, fc.actions); err != nil {
		e.opt.Log.Error("pending auto-deletes not cancelled; a message may be deleted twice", zap.Error(err))
	}
	if err := e.clean(ctx, fc); err != nil {
		return err
	}
	origin := ""
	if fc.Event.ID != "" {
		origin = fc.Event.GroupKey() + "/" + fc.Event.ID
	}
	return e.dispatch(fc.Event.Platform, origin, fc.actions)
}

// clean carries out FlowContext.Clean: the answers to the event's message
// delete themselves, and the message's own deletion is scheduled (by the
// id auto-deletes use, so scheduling it again on a retry is one job).
func (e *Engine) clean(ctx context.Context, fc *FlowContext) error {
	ev := fc.Event
	if fc.clean <= 0 || ev.MessageID == "" {
		return nil
	}
	if fc.Caps.Has(bot.CanAutoDelete) {
		for i := range fc.actions {
			a := &fc.actions[i]
			if a.Type != bot.ActSend || a.Chat != ev.Chat.Key || a.ReplyTo != ev.MessageID ||
				len(a.Buttons) > 0 || a.Pin || a.Remember != nil || a.DeleteAfter > 0 && a.DeleteAfter <= fc.clean {
				continue
			}
			a.DeleteAfter = fc.clean
			if a.Expires.IsZero() || a.Expires.After(fc.Now.Add(fc.clean)) {
				a.Expires = fc.Now.Add(fc.clean)
			}
		}
	}
	if !fc.Caps.Has(bot.CanDelete) {
		return nil
	}
	err := e.opt.Timers.Add(ctx, scheduler.Job{
		ID: deleteJobID(ev.Platform, ev.Chat.Key, ev.MessageID), Kind: "delete", At: fc.Now.Add(fc.clean),
		Args: map[string]string{"platform": ev.Platform, "chat": ev.Chat.Key, "message": ev.MessageID, "member": ev.Member.ID},
	})
	if err != nil {
		return fmt.Errorf("schedule the deletion of message %s: %w", ev.MessageID, err)
	}
	return nil
}

// handleTimer runs scheduled work come due in the flow that set it, with
// the member's state as it is now.
func (e *Engine) handleTimer(ctx context.Context, cfg *config.Config, ev bot.Event) error {
	t := ev.Timer
	if t == nil {
		return fmt.Errorf("timer event %s without a timer", ev.ID)
	}
	if t.Flow == "" {
		return e.engineTimer(ev)
	}
	handle := e.timerHandler(t.Flow, t.Kind)
	if handle == nil {
		e.opt.Log.Error("no flow for scheduled work; dropped", zap.String("timer", ev.ID), zap.String("flow", t.Flow), zap.String("kind", t.Kind))
		return nil
	}
	conf, on := cfg.Group(ev.GroupKey()).Flow(t.Flow)
	if !on {
		return nil // the flow was turned off since: nothing to do
	}
	// a schedule's fire runs once even when its job is claimed again (the
	// replica that ran it died before acknowledging it)
	once := t.Kind == "fire" && ev.ID != ""
	if once {
		done, err := e.opt.Store.WorkDone(ctx, ev.GroupKey(), ev.ID)
		if err != nil {
			return err
		}
		if done {
			e.opt.Log.Info("scheduled fire ran already; not again", zap.String("timer", ev.ID))
			return nil
		}
	}
	m, err := e.opt.Store.Member(ctx, ev.GroupKey(), ev.Member.ID)
	if err != nil {
		return err
	}
	gf, err := e.opt.Store.GroupFields(ctx, ev.GroupKey())
	if err != nil {
		return err
	}
	ev.Chat.Title = gf["title"]
	fc := e.newContext(cfg, &ev, m)
	fc.flow, fc.Config = t.Flow, conf
	if err := e.flowErr(t.Flow, chain(t.Flow, handle, e.mws)(ctx, fc)); err != nil {
		return err
	}
	if err := e.runEmitted(ctx, fc, 0); err != nil {
		return err
	}
	if err := e.finish(ctx, fc); err != nil {
		return err
	}
	if t := e.tally(fc); t != nil {
		e.writeTallies(ctx, []state.Update{{Group: ev.GroupKey(), Tally: t, Day: t.Day}})
	}
	e.tallyElsewhere(ctx, cfg, fc)
	if once {
		if err := e.opt.Store.MarkWorkDone(ctx, ev.GroupKey(), ev.ID); err != nil {
			e.opt.Log.Warn("scheduled fire ran but not marked; a reclaimed job could run it again", zap.String("timer", ev.ID), zap.Error(err))
		}
	}
	return nil
}

// timerHandler finds the handler of a flow's scheduled work: a recurring
// schedule's fire, or a job the flow set.
func (e *Engine) timerHandler(flow, kind string) Handler {
	for _, f := range e.flows {
		if f.Name() != flow {
			continue
		}
		if s, ok := f.(Scheduled); ok && kind == "fire" {
			return s.HandleFire
		}
		if th, ok := f.(TimerHandler); ok {
			return th.HandleTimer
		}
	}
	return nil
}

// engineTimer is the engine's own scheduled work: deleting a message
// whose time is up.
func (e *Engine) engineTimer(ev bot.Event) error {
	args := ev.Timer.Args
	if ev.Timer.Kind != "delete" {
		e.opt.Log.Error("unknown scheduled work; dropped", zap.String("timer", ev.ID), zap.String("kind", ev.Timer.Kind))
		return nil
	}
	a := bot.Action{Type: bot.ActDelete, Chat: args["chat"], MessageID: args["message"], Flow: "auto-delete",
		Member: bot.Member{ID: args["member"]}}
	if err := e.dispatch(args["platform"], "", []bot.Action{a}); err != nil {
		e.opt.Log.Error("scheduled deletion failed", zap.String("timer", ev.ID), zap.Error(err))
	}
	return nil
}

// answerPress makes sure a button press is answered exactly once (a
// platform shows a spinner until it is): flows answer with a notice, or the
// engine answers silently.
func answerPress(ev *bot.Event, fc *FlowContext) {
	if ev.Kind != bot.EventButton || ev.Button == nil {
		return
	}
	for _, a := range fc.actions {
		if a.Type == bot.ActAnswerPress {
			return
		}
	}
	fc.actions = append(fc.actions, bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, Member: ev.Member, CallbackID: ev.Button.ID, Flow: "engine"})
}

// runEmitted runs the internal events flows raised (a newcomer verified),
// with a fresh member record; their actions join the parent's.
func (e *Engine) runEmitted(ctx context.Context, parent *FlowContext, depth int) error {
	if len(parent.emitted) == 0 {
		return nil
	}
	if depth > 3 {
		e.opt.Log.Error("flows raised events in a loop; stopped", zap.String("group", parent.Event.GroupKey()))
		return nil
	}
	for i := range parent.emitted {
		ev := parent.emitted[i]
		m, err := e.opt.Store.Member(ctx, ev.GroupKey(), ev.Member.ID)
		if err != nil {
			return err
		}
		fc := &FlowContext{
			Event: &ev, Member: m, Group: parent.cfg.Group(ev.GroupKey()), Now: parent.Now, Clock: e.opt.Clock,
			Store: e.opt.Store, Caps: parent.Caps, Log: e.opt.Log, engine: e, cfg: parent.cfg,
			tallied: parent.counts(), // what raised events count is the update's
		}
		if parent.elsewhere == nil {
			parent.elsewhere = map[string]map[string]int64{}
		}
		fc.elsewhere = parent.elsewhere
		if err := e.runFlows(ctx, fc); err != nil {
			return err
		}
		if err := e.runEmitted(ctx, fc, depth+1); err != nil {
			return err
		}
		parent.actions = append(parent.actions, fc.actions...)
	}
	return nil
}

// runFlows runs the handlers in stage order and dispatches a command to its
// flow after the filter stage. Redis errors abort (the event is retried);
// other flow errors are logged and counted, and the other flows still run.
func (e *Engine) runFlows(ctx context.Context, fc *FlowContext) error {
	commandDone := fc.Event.Kind != bot.EventCommand
	var ran map[string]bool
	if len(fc.prepared) > 0 {
		ran = make(map[string]bool, len(e.handlers))
	}
	for _, h := range e.handlers {
		if !commandDone && h.stage > StageFilter {
			commandDone = true
			if err := e.runCommand(ctx, fc); err != nil {
				return err
			}
		}
		if fc.stopped != "" {
			return e.undo(ctx, fc, ran)
		}
		if ran != nil && !h.gate {
			ran[h.flow.Name()] = true
		}
		conf, on := fc.Group.Flow(h.flow.Name())
		if _, private := h.flow.(PrivateChats); !on && private && fc.Event.Chat.Type == bot.ChatPrivate {
			on = true
		}
		if !on {
			continue
		}
		fc.flow, fc.Config = h.flow.Name(), conf
		if err := e.flowErr(h.flow.Name(), h.run(ctx, fc)); err != nil {
			return err
		}
	}
	if !commandDone && fc.stopped == "" {
		return e.runCommand(ctx, fc)
	}
	return nil
}

// prepare asks the flows on in the event's group for their steps (see
// Preparer); owners[i] is steps[i]'s flow.
func (e *Engine) prepare(fc *FlowContext) (steps []state.Step, owners []string) {
	if fc.Group == nil {
		return nil, nil
	}
	for _, h := range e.handlers {
		p, ok := h.flow.(Preparer)
		if !ok || h.gate {
			continue
		}
		conf, on := fc.Group.Flow(h.flow.Name())
		if !on {
			continue
		}
		fc.flow, fc.Config = h.flow.Name(), conf
		if st := p.Prepare(fc); st != nil {
			steps = append(steps, *st)
			owners = append(owners, h.flow.Name())
		}
	}
	fc.flow, fc.Config = "", nil
	if ev := fc.Event; ev.Command != nil && ev.Chat.Type == bot.ChatGroup {
		steps = append(steps, *e.opt.Store.DisabledStep(ev.GroupKey(), ev.Command.Name))
		owners = append(owners, disabledStep)
	}
	if countsMessage(fc.Event) {
		day := fc.Event.Time.In(fc.Group.Location).Format("2006-01-02")
		steps = append(steps, *e.opt.Store.MessageStep(fc.Event.GroupKey(), fc.Event.Member.ID, day))
		owners = append(owners, kpiStep)
	}
	return steps, owners
}

// undo takes back what the steps of flows that did not run rewarded: the
// event was stopped before their stage.
func (e *Engine) undo(ctx context.Context, fc *FlowContext, ran map[string]bool) error {
	for _, h := range e.handlers {
		name := h.flow.Name()
		u, ok := h.flow.(Undoer)
		if _, prepared := fc.prepared[name]; !ok || h.gate || !prepared || ran[name] {
			continue
		}
		conf, _ := fc.Group.Flow(name)
		fc.flow, fc.Config = name, conf
		if err := e.flowErr(name, u.Undo(ctx, fc)); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) flowErr(flow string, err error) error {
	if err == nil {
		return nil
	}
	e.opt.Metrics.FlowErrors.WithLabelValues(flow).Inc()
	if state.Transient(err) {
		e.opt.Log.Error("flow failed: redis unavailable; the event will be handled again", zap.String("flow", flow), zap.Error(err))
		return err
	}
	e.opt.Log.Error("flow failed", zap.String("flow", flow), zap.Error(err))
	return nil
}

func (e *Engine) runCommand(ctx context.Context, fc *FlowContext) error {
	if fc.stopped != "" {
		return nil
	}
	cmd := fc.Event.Command
	loc := fc.Locale()
	if off, err := e.disabled(ctx, fc); off || err != nil {
		return err
	}
	f, ok := e.cmds[cmd.Name]
	conf, on := fc.Group.Flow(nameOf(f))
	if !ok || !on {
		if e.claimed(fc, cmd.Name) {
			return nil // a flow answers it from its config (its Handle sees the event)
		}
		fc.flow = "engine"
		e.notice(fc, i18n.Core.T(loc, "cmd.unknown", cmd.Name))
		return nil
	}
	c := f.(Commander)
	for _, spec := range c.Commands(loc) {
		if spec.Name == cmd.Name && spec.Group && fc.Event.Chat.Type == bot.ChatPrivate {
			gfc, err := e.pickGroup(ctx, fc)
			if err != nil || gfc == nil {
				return err // nil: it answered (the list, or why not)
			}
			err = e.runCommand(ctx, gfc)
			fc.actions = append(fc.actions, gfc.actions...)
			return err
		}
		if spec.Name == cmd.Name && spec.Moderator && !fc.IsModerator() && !moderatesPrivately(fc) {
			e.opt.Log.Warn("moderator command refused",
				zap.String("command", cmd.Name), zap.String("group", fc.Event.GroupKey()),
				zap.String("member", fc.Event.Member.ID), zap.String("name", fc.Event.Member.Name))
			fc.flow = "engine"
			e.notice(fc, i18n.Core.T(loc, "cmd.moderators", cmd.Name))
			return nil
		}
	}
	fc.flow, fc.Config = f.Name(), conf
	h := chain(f.Name(), c.HandleCommand, e.mws)
	if err := h(ctx, fc); err != nil {
		if ferr := e.flowErr(f.Name(), err); ferr != nil {
			return ferr
		}
		e.notice(fc, i18n.Core.T(loc, "cmd.failed", cmd.Name))
	}
	return nil
}

// disabled reports whether the event is a member's command the group's
// moderators turned off (/disable), and if so drops it: no answer, and
// the command leaves the chat where the bot can delete it, as Rose does,
// so a member spamming /rank gets nothing from it. Moderators are never
// stopped.
func (e *Engine) disabled(ctx context.Context, fc *FlowContext) (bool, error) {
	if fc.Event.Chat.Type != bot.ChatGroup || fc.IsModerator() {
		return false, nil
	}
	var off bool
	if res, ok := fc.prepared[disabledStep]; ok && len(res) == 1 {
		off = res[0] == 1 // read by the ingest
	} else {
		// a redelivery taken over after a crash runs no steps
		var err error
		if off, err = fc.Store.Disabled(ctx, fc.Event.GroupKey(), fc.Event.Command.Name); err != nil {
			return false, err
		}
	}
	if !off {
		return false, nil
	}
	e.opt.Log.Info("disabled command dropped", zap.String("command", fc.Event.Command.Name),
		zap.String("group", fc.Event.GroupKey()), zap.String("member", fc.Event.Member.ID))
	if fc.Caps.Has(bot.CanDelete) && fc.Event.MessageID != "" {
		fc.flow = "engine"
		fc.Do(bot.Action{Type: bot.ActDelete, MessageID: fc.Event.MessageID, Member: fc.Event.Member})
	}
	return true, nil
}

// notice replies briefly; in groups it removes itself after a minute so
// refusals do not clutter the chat.
func (e *Engine) notice(fc *FlowContext, text string) {
	a := bot.Action{Type: bot.ActSend, Text: text, ReplyTo: fc.Event.MessageID, Member: fc.Event.Member}
	if fc.Event.Chat.Type == bot.ChatGroup && fc.Caps.Has(bot.CanAutoDelete) {
		a.DeleteAfter = time.Minute
	}
	fc.Do(a)
}

func nameOf(f Flow) string {
	if f == nil {
		return ""
	}
	return f.Name()
}

// Do queues actions on a platform's outbox, for work that starts outside an
// event (scheduled jobs, the HTTP admin).
func (e *Engine) Do(platform string, actions ...bot.Action) error {
	return e.dispatch(platform, "", actions)
}

func (e *Engine) dispatch(platform, origin string, actions []bot.Action) error {
	if len(actions) == 0 {
		return nil
	}
	at, ok := e.adapter(platform)
	if !ok {
		return fmt.Errorf("dispatch %d actions: no adapter for platform %q", len(actions), platform)
	}
	if sh, ok := at.adapter.(bot.Shaper); ok {
		actions = sh.Shape(actions)
	}
	if origin != "" {
		for i := range actions {
			actions[i].Origin = origin + "#" + strconv.Itoa(i)
		}
	}
	if err := at.outbox.Enqueue(actions...); err != nil {
		return fmt.Errorf("queue %d actions for %s: %w", len(actions), platform, err)
	}
	return nil
}

// AfterSend is the outbox's callback after a message was sent: it schedules
// the message's deletion when the action asked for one. The deletion is
// stored in Redis, so it survives a restart.
func (e *Engine) AfterSend(ctx context.Context, platform string, a bot.Action, res bot.Result) error {
	if res.MessageID == "" {
		return nil
	}
	if r := a.Remember; r != nil {
		var err error
		if r.Member != "" {
			err = e.opt.Store.SetFields(ctx, r.Group, r.Member, map[string]string{r.Field: res.MessageID})
		} else {
			err = e.opt.Store.SetGroupFields(ctx, r.Group, map[string]string{r.Field: res.MessageID})
		}
		if err != nil {
			return fmt.Errorf("remember message %s: %w", res.MessageID, err)
		}
	}
	chat := a.Chat
	if res.Chat != "" {
		chat = res.Chat
	}
	if a.Pin {
		first := res.MessageID
		if len(res.Earlier) > 0 {
			first = res.Earlier[0] // the start of a message sent in parts
		}
		pin := bot.Action{Type: bot.ActPin, Chat: chat, MessageID: first, Flow: a.Flow}
		if err := e.dispatch(platform, "", []bot.Action{pin}); err != nil {
			return fmt.Errorf("pin message %s: %w", res.MessageID, err)
		}
	}
	if a.DeleteAfter <= 0 {
		return nil
	}
	at := e.opt.Clock.Now().Add(a.DeleteAfter)
	for _, id := range append(slices.Clone(res.Earlier), res.MessageID) {
		if err := e.opt.Timers.Add(ctx, scheduler.Job{
			ID: deleteJobID(platform, chat, id), Kind: "delete", At: at,
			Args: map[string]string{"platform": platform, "chat": chat, "message": id, "member": a.Member.ID},
		}); err != nil {
			return err
		}
	}
	return nil
}

// AfterDone is the outbox's callback once an action's outcome is final:
// an action that carries an Audit is written to the group's moderation
// log now, with what the platform answered, so the log says what
// happened rather than what was asked.
func (e *Engine) AfterDone(ctx context.Context, a bot.Action, err error) {
	if a.Audit == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "failed: " + err.Error()
	}
	vals := []any{"at", e.opt.Clock.Now().UnixMilli(), "by", a.Audit.By, "action", a.Audit.What,
		"member", a.Member.ID, "name", a.Member.Name, "reason", a.Audit.Reason, "result", result}
	if a.Audit.Text != "" {
		vals = append(vals, "text", a.Audit.Text)
	}
	if werr := e.opt.Store.AppendModlog(ctx, a.Chat, vals...); werr != nil {
		e.opt.Log.Error("moderation log entry not written", zap.String("group", a.Chat), zap.String("action", a.Audit.What), zap.Error(werr))
	}
}

// Unreachable is the outbox's callback when a direct message could not
// reach its member (they never started the bot, or blocked it): the
// member's record says so for a while (dm_off, a time), so flows that
// message many members mention them in the group instead.
func (e *Engine) Unreachable(ctx context.Context, a bot.Action) {
	if a.Chat == "" || a.Member.ID == "" {
		return
	}
	if err := e.opt.Store.SetFields(ctx, a.Chat, a.Member.ID, map[string]string{"dm_off": strconv.FormatInt(e.opt.Clock.Now().UnixMilli(), 10)}); err != nil {
		e.opt.Log.Warn("could not record an unreachable member", zap.String("member", a.Member.ID), zap.Error(err))
	}
}

func deleteJobID(platform, chat, msg string) string {
	return scheduler.ID("delete", platform, chat, msg)
}

// cancelAutoDeletes drops the pending auto-deletion of messages a flow
// deletes now, so they are not deleted twice.
func (e *Engine) cancelAutoDeletes(ctx context.Context, platform string, actions []bot.Action) error {
	for _, a := range actions {
		if a.Type == bot.ActDelete && a.Flow != "auto-delete" && a.MessageID != "" {
			if err := e.opt.Timers.Remove(ctx, deleteJobID(platform, a.Chat, a.MessageID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Ready checks what /readyz reports: a config is loaded and Redis answers.
func (e *Engine) Ready(ctx context.Context) error {
	if e.cfg.Load() == nil {
		return errors.New("no config loaded")
	}
	return e.opt.Store.Ping(ctx)
}

// claimed reports whether a flow on in the event's group answers a
// command its config names (CommandClaimer).
func (e *Engine) claimed(fc *FlowContext, name string) bool {
	for _, f := range e.opt.Flows {
		c, ok := f.(CommandClaimer)
		if !ok {
			continue
		}
		if conf, on := fc.Group.Flow(f.Name()); on && c.Claims(conf, name) {
			return true
		}
	}
	return false
}

// moderatesPrivately: in a private chat, a moderator command is open to
// a member the config names as moderator of any group (the chat itself
// belongs to no group; the command decides which groups it serves).
func moderatesPrivately(fc *FlowContext) bool {
	if fc.Event.Chat.Type != bot.ChatPrivate {
		return false
	}
	m := fc.Event.Platform + ":" + fc.Event.Member.ID
	for key, g := range fc.cfg.Groups {
		if strings.HasPrefix(key, fc.Event.Platform+":") && (g.IsModerator(m) || g.IsModerator(fc.Event.Member.ID)) {
			return true
		}
	}
	return false
}

// pickGroup turns a group's command asked in a private chat into the same
// command in the group its first argument names, answered in the private
// chat. The groups offered are those of the chat's platform that the
// member moderates (by the config: platform admins cannot be told from a
// private chat). Without a name, or with one that fits several, it lists
// them numbered and returns nil.
func (e *Engine) pickGroup(ctx context.Context, fc *FlowContext) (*FlowContext, error) {
	cfg := e.cfg.Load()
	ev := fc.Event
	loc := fc.Locale()
	known, err := e.opt.Store.Client().HGetAll(ctx, e.opt.Store.GlobalKey("groups")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: list groups: %w", state.ErrRedis, err)
	}
	for g := range cfg.Groups {
		if _, ok := known[g]; !ok && strings.HasPrefix(g, ev.Platform+":") {
			known[g] = ev.Platform
		}
	}
	type choice struct{ key, title string }
	var mine []choice
	for g, platform := range known {
		gc := cfg.Group(g)
		if platform != ev.Platform || !(gc.IsModerator(ev.Platform+":"+ev.Member.ID) || gc.IsModerator(ev.Member.ID)) {
			continue
		}
		mine = append(mine, choice{key: g})
	}
	slices.SortFunc(mine, func(a, b choice) int { return strings.Compare(a.key, b.key) })
	for i := range mine {
		f, err := e.opt.Store.GroupFields(ctx, mine[i].key)
		if err != nil {
			return nil, err
		}
		mine[i].title = f["title"]
	}
	cmd := ev.Command
	if len(mine) == 0 {
		e.notice(fc, i18n.Core.T(loc, "cmd.nogroups", cmd.Name))
		return nil, nil
	}
	pick := mine
	if len(cmd.Args) > 0 {
		arg := cmd.Args[0]
		pick = nil
		if n, err := strconv.Atoi(arg); err == nil && n >= 1 && n <= len(mine) && !strings.HasPrefix(arg, "-") {
			pick = mine[n-1 : n]
		}
		for _, c := range mine {
			if len(pick) == 0 && (c.key == arg || strings.HasSuffix(c.key, ":"+arg)) {
				pick = []choice{c}
			}
		}
		if len(pick) == 0 {
			for _, c := range mine {
				if c.title != "" && strings.Contains(strings.ToLower(c.title), strings.ToLower(arg)) {
					pick = append(pick, c)
				}
			}
		}
	}
	if len(pick) != 1 {
		var b strings.Builder
		b.WriteString(i18n.Core.T(loc, "cmd.pickgroup", cmd.Name))
		for i, c := range mine {
			title := c.title
			if title == "" {
				title = c.key
			}
			fmt.Fprintf(&b, "\n%d. %s (%s)", i+1, title, c.key)
		}
		e.notice(fc, b.String())
		return nil, nil
	}
	g := pick[0]
	in := *ev
	in.Chat = bot.Chat{Key: g.key, Type: bot.ChatGroup, Title: g.title}
	args := cmd.Args[1:]
	in.Command = &bot.Command{Name: cmd.Name, Args: args, ArgText: strings.Join(args, " ")}
	m, err := e.opt.Store.Member(ctx, g.key, ev.Member.ID)
	if err != nil {
		return nil, err
	}
	gfc := e.newContext(cfg, &in, m)
	gfc.answerIn = ev.Chat.Key
	return gfc, nil
}
