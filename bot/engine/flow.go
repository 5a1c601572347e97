package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/scheduler"
)

// Stage orders event handlers. The order is a contract: unverified members
// are held before the ad filter sees them, spam is dropped before commands
// and points, and the wake-up reset sees only real activity.
type Stage int

// Stages, in the order the engine runs them. Commands are dispatched between
// StageFilter and StagePoints.
const (
	StageGate    Stage = 10 // entry verification holds unverified members
	StageFilter  Stage = 20 // ad filter drops spam
	StageWelcome Stage = 30 // greetings and member bookkeeping
	StagePoints  Stage = 40 // check-in and activity points
	StageReset   Stage = 50 // wake-up tiers reset on activity
)

// Flow is one configurable behaviour. A flow implements EventHandler,
// Commander, or both.
type Flow interface {
	Name() string
	// Schema describes the flow's config section.
	Schema() config.FlowSchema
}

// EventHandler sees every event of the groups where the flow is enabled.
type EventHandler interface {
	Stage() Stage
	Handle(ctx context.Context, fc *FlowContext) error
}

// Gatekeeper is implemented by flows that also act at the gate, whatever
// their own stage: the ad filter turns away members whose name is an ad
// as they join, before verification posts a challenge naming them. Among
// the gate's handlers it runs in the order the flows are given.
type Gatekeeper interface {
	HandleGate(ctx context.Context, fc *FlowContext) error
}

// CommandSpec describes one command a flow offers.
type CommandSpec struct {
	Name      string
	Args      string // usage hint, e.g. "[@member] N"
	Help      string // one line, in the group's locale
	Moderator bool   // moderators and platform admins only
	// Group marks a command that reads a group (/stats, /modlog): in a
	// private chat with the bot, a moderator names the group as its first
	// argument (a number from the list the bare command shows, the group's
	// id or key, or a part of its title), and the answer comes privately.
	Group bool
}

// Commander answers commands. The engine calls HandleCommand only for the
// flow's own commands, after the moderator check.
type Commander interface {
	Commands(locale string) []CommandSpec
	HandleCommand(ctx context.Context, fc *FlowContext) error
}

// CommandClaimer is implemented by flows whose config names commands of
// its own (an auto-reply to /schedule): such a command is not "unknown";
// the flow answers it in Handle.
type CommandClaimer interface {
	Claims(conf any, command string) bool
}

// Preparer is implemented by flows that write on every message (counters,
// points): Prepare returns the flow's step, which the engine runs inside
// the update's ingest script — one Redis round trip for an ordinary
// message whatever flows are on, and written exactly when the update is
// recorded. It is called before the ingest, so fc.Member is nil; return
// nil for an event the flow does not count. Handle reads the answer with
// fc.Prepared.
type Preparer interface {
	Prepare(fc *FlowContext) *state.Step
}

// Undoer is implemented by Preparers whose step rewards the message
// (activity points): when an earlier stage stops the event (spam, an
// unverified member) and the flow's handler does not run, the engine calls
// Undo to take the reward back. Prepared holds what the step answered.
type Undoer interface {
	Undo(ctx context.Context, fc *FlowContext) error
}

// TimerHandler receives the jobs its flow scheduled with FlowContext.Schedule.
type TimerHandler interface {
	HandleTimer(ctx context.Context, fc *FlowContext) error
}

// PrivateChats is implemented by flows that handle private-chat events on a
// group's behalf (a join request answered in a DM). The engine runs them in
// private chats even where the private chat's config does not enable them;
// their Config is then nil and they resolve the group themselves.
type PrivateChats interface {
	HandlesPrivateChats()
}

// FlowContext is what a flow gets for one event: the event, the member's
// state, the group's resolved config, the clock, and a place for actions.
type FlowContext struct {
	Event  *bot.Event
	Member *state.Member
	Group  *config.Group
	// Config is the flow's own resolved config (the pointer its schema made).
	Config any
	Now    time.Time
	Clock  bot.Clock
	Store  *state.Store
	Caps   bot.Capability
	Log    *zap.Logger

	engine  *Engine
	cfg     *config.Config
	flow    string
	actions []bot.Action
	stopped string
	// answerIn is where actions without a chat go when it is not the
	// event's chat: the private chat a group's command was asked in
	answerIn string
	// within is the group a private chat's event acts on (Within)
	within  string
	emitted []bot.Event
	// clean is how long the event's message and the answers to it stay
	// (see Clean); 0: they stay
	clean time.Duration
	// prepared is each flow's step answer (see Preparer)
	prepared map[string][]int64
	// tallied is what the event adds to its group's day figures;
	// elsewhere what it adds to other groups' (CountIn)
	tallied   map[string]int64
	elsewhere map[string]map[string]int64
}

// Count adds delta to one of the group's day figures (kpi.Name, or
// kpi.Staged for per-stage ones). It is written with the update's done
// mark, in the same round trip and only once; scheduled work writes it
// when done.
func (fc *FlowContext) Count(n kpi.Name, delta int64) {
	if fc.within != "" {
		fc.CountIn(fc.within, n, delta)
		return
	}
	fc.counts()[string(n)] += delta
}

// CountIn is Count for another group than the event's (a join request
// settled in a private chat counts in its group). It is written when the
// event is done, in a round trip of its own.
func (fc *FlowContext) CountIn(group string, n kpi.Name, delta int64) {
	if group == fc.Event.GroupKey() && fc.Event.Chat.Type == bot.ChatGroup {
		fc.Count(n, delta)
		return
	}
	if fc.elsewhere == nil {
		fc.elsewhere = map[string]map[string]int64{}
	}
	if fc.elsewhere[group] == nil {
		fc.elsewhere[group] = map[string]int64{}
	}
	fc.elsewhere[group][string(n)] += delta
}

func (fc *FlowContext) counts() map[string]int64 {
	if fc.tallied == nil {
		fc.tallied = map[string]int64{}
	}
	return fc.tallied
}

// Prepared returns what the flow's step answered in the ingest script;
// ok is false when it did not run: the flow returned no step, or the
// update was taken over from a process that died after recording it (the
// step ran then, and must not count twice).
func (fc *FlowContext) Prepared() (res []int64, ok bool) {
	res, ok = fc.prepared[fc.flow]
	return res, ok
}

// Emit raises an internal event (e.g. EventVerified) that every flow sees
// after the current event, with the same member.
func (fc *FlowContext) Emit(kind bot.EventKind) {
	ev := *fc.Event
	ev.Kind, ev.Command, ev.Button, ev.Timer, ev.ID = kind, nil, nil, nil, ""
	fc.emitted = append(fc.emitted, ev)
}

// Schedule sets a job that comes back to this flow's HandleTimer at at,
// with the event's platform, group and member. id makes it unique: the
// same id scheduled twice runs once.
func (fc *FlowContext) Schedule(ctx context.Context, id, kind string, at time.Time, args map[string]string) error {
	return fc.engine.opt.Timers.Add(ctx, fc.job(fc.flow, id, kind, at, args))
}

// ScheduleEachIn is Schedule for many jobs of one kind and time, in one
// round trip (ids[i] with args[i]), for flow's HandleTimer: this flow's,
// or another's whose work it asks for (a moderator's /spam has the ad
// filter remove a spam wave's copies, each in its own group).
func (fc *FlowContext) ScheduleEachIn(ctx context.Context, flow, kind string, at time.Time, ids []string, args []map[string]string) error {
	jobs := make([]scheduler.Job, len(ids))
	for i, id := range ids {
		jobs[i] = fc.job(flow, id, kind, at, args[i])
	}
	return fc.engine.opt.Timers.Add(ctx, jobs...)
}

func (fc *FlowContext) job(flow, id, kind string, at time.Time, args map[string]string) scheduler.Job {
	all := map[string]string{"platform": fc.Event.Platform, "group": fc.Event.GroupKey(), "member": fc.Event.Member.ID, "name": fc.Event.Member.Name, "username": fc.Event.Member.Username}
	for k, v := range args {
		all[k] = v
	}
	return scheduler.Job{ID: flow + "." + kind + ":" + all["group"] + ":" + id, Kind: flow + "." + kind, At: at, Args: all}
}

// HoldForQuietHours reports whether now falls in quiet hours; if so it
// schedules the flow's "held" timer for when they end (with id made unique
// per moment), so the work is done then instead.
func (fc *FlowContext) HoldForQuietHours(ctx context.Context, q config.QuietHours, id string, args map[string]string) (bool, error) {
	local := fc.Now.In(fc.Group.Location)
	if !q.Contains(local) {
		return false, nil
	}
	until := q.Ends(local)
	fc.Log.Info("held until quiet hours end", zap.String("flow", fc.flow), zap.String("group", fc.Event.GroupKey()),
		zap.String("what", id), zap.Time("until", until))
	return true, fc.Schedule(ctx, id+"@"+local.Format("2006-01-02T15:04"), "held", until, args)
}

// Within runs fn as if the event had happened in group: with its config,
// the flow's config there, its capabilities and its day figures, and
// actions without a chat going to it. A moderator's button pressed in a
// private chat (a member's report) acts on the group it concerns. Within
// the event's own group it is just fn.
func (fc *FlowContext) Within(group string, fn func() error) error {
	if fc.Event.Chat.Type == bot.ChatGroup && fc.Event.Chat.Key == group {
		return fn()
	}
	g := fc.cfg.Group(group)
	conf, _ := g.Flow(fc.flow)
	saved := struct {
		group  *config.Group
		conf   any
		caps   bot.Capability
		evg    string
		within string
	}{fc.Group, fc.Config, fc.Caps, fc.Event.Group, fc.within}
	fc.Group, fc.Config, fc.Caps, fc.Event.Group, fc.within = g, conf, fc.CapsFor(group), group, group
	defer func() {
		fc.Group, fc.Config, fc.Caps, fc.Event.Group, fc.within = saved.group, saved.conf, saved.caps, saved.evg, saved.within
	}()
	return fn()
}

// IsModeratorOf reports whether member may moderate group: listed under
// its moderators, or an admin there as the platform says (AdminChecker);
// for a press or a command in a private chat.
func (fc *FlowContext) IsModeratorOf(ctx context.Context, group string, m bot.Member) (bool, error) {
	g := fc.cfg.Group(group)
	if g.IsModerator(fc.Event.Platform+":"+m.ID) || g.IsModerator(m.ID) {
		return true, nil
	}
	if fc.Event.Chat.Key == group && m.IsAdmin {
		return true, nil
	}
	at, ok := fc.engine.adapter(fc.Event.Platform)
	if !ok {
		return false, nil
	}
	ac, can := at.adapter.(bot.AdminChecker)
	if !can {
		return false, nil
	}
	admin, err := ac.IsAdmin(ctx, group, m.ID)
	if err != nil {
		return false, fmt.Errorf("is %s an admin of %s: %w", m.ID, group, err)
	}
	return admin, nil
}

// GroupConfig returns another group's resolved config (a DM that concerns
// a group).
func (fc *FlowContext) GroupConfig(key string) *config.Group { return fc.cfg.Group(key) }

// RootConfig is the whole config in force for this event (listener,
// every group), for flows that act across groups.
func (fc *FlowContext) RootConfig() *config.Config { return fc.cfg }

// CapsFor returns what the event's adapter can do in another chat.
func (fc *FlowContext) CapsFor(chat string) bot.Capability {
	at, ok := fc.engine.adapter(fc.Event.Platform)
	if !ok {
		return 0
	}
	return at.adapter.Capabilities(chat)
}

// InviteLink asks the event's adapter for a member's personal invite link;
// ok is false where the platform has none.
func (fc *FlowContext) InviteLink(ctx context.Context, chat string, m bot.Member) (link string, ok bool, err error) {
	il, can := capable[bot.InviteLinker](fc, chat, bot.CanInviteLinks)
	if !can {
		return "", false, nil
	}
	link, err = il.InviteLink(ctx, chat, m.ID, m.Name)
	return link, err == nil, err
}

// capable answers the event's adapter as T, if it is one and declares
// want in chat.
func capable[T any](fc *FlowContext, chat string, want bot.Capability) (T, bool) {
	var none T
	at, found := fc.engine.adapter(fc.Event.Platform)
	if !found || !at.adapter.Capabilities(chat).Has(want) {
		return none, false
	}
	t, ok := at.adapter.(T)
	return t, ok
}

// SourceLink asks the event's adapter for a link or QR code whose joins
// count as the join source name; ok is false where the platform makes
// none.
func (fc *FlowContext) SourceLink(ctx context.Context, chat, name string) (link string, ok bool, err error) {
	sl, can := capable[bot.SourceLinker](fc, chat, bot.CanSourceLinks)
	if !can {
		return "", false, nil
	}
	link, err = sl.SourceLink(ctx, chat, name)
	return link, err == nil, err
}

// NextFire returns when one of this flow's schedules (by name) fires next
// in the event's group.
func (fc *FlowContext) NextFire(ctx context.Context, name string) (time.Time, bool, error) {
	return fc.engine.opt.Timers.NextFire(ctx, scheduler.EntryKey(fc.flow, fc.Event.GroupKey(), name))
}

// NextFire is when a flow's named schedule in a group fires next, for
// callers outside an event (the dashboard's calendar).
func (e *Engine) NextFire(ctx context.Context, flow, group, name string) (time.Time, bool, error) {
	return e.opt.Timers.NextFire(ctx, scheduler.EntryKey(flow, group, name))
}

// Tasks lists the latest delayed posts (tasks) of a chat on the event's
// platform; ok is false where the platform has none.
func (fc *FlowContext) Tasks(ctx context.Context, chat string, n int) (tasks []bot.Task, ok bool, err error) {
	at, found := fc.engine.adapter(fc.Event.Platform)
	if !found {
		return nil, false, nil
	}
	tl, can := at.adapter.(bot.TaskLister)
	if !can {
		return nil, false, nil
	}
	tasks, err = tl.Tasks(ctx, chat, n)
	return tasks, true, err
}

// MemberCount asks the event's adapter how many members the platform
// counts in chat; ok is false where it cannot tell.
func (fc *FlowContext) MemberCount(ctx context.Context, chat string) (n int, ok bool, err error) {
	at, found := fc.engine.adapter(fc.Event.Platform)
	if !found {
		return 0, false, nil
	}
	mc, can := at.adapter.(bot.MemberCounter)
	if !can {
		return 0, false, nil
	}
	n, err = mc.MemberCount(ctx, chat)
	if errors.Is(err, bot.ErrUnsupported) {
		return 0, false, nil
	}
	return n, err == nil, err
}

// Gauge sets one of the group's day figures to v (a level, not a count:
// the last value set that day stands). It is written like Count.
func (fc *FlowContext) Gauge(n kpi.Name, v int64) {
	fc.counts()["="+string(n)] = v
}

// Flow returns the event's group's config of another flow, if enabled.
func (fc *FlowContext) Flow(name string) (any, bool) { return fc.Group.Flow(name) }

// Locale is the group's locale.
func (fc *FlowContext) Locale() string { return fc.Group.Locale }

// Do queues an action; the chat defaults to the event's chat. A message
// that deletes itself expires when it would be deleted: sent later than
// that, it would only flash past.
func (fc *FlowContext) Do(a bot.Action) {
	if a.Chat == "" {
		a.Chat = fc.Event.Chat.Key
		if fc.within != "" {
			a.Chat = fc.within
		} else if fc.answerIn != "" {
			a.Chat = fc.answerIn // a group's command asked in a private chat
		}
	}
	if a.Thread == "" && fc.Event.Thread != "" && a.Chat == fc.Event.Chat.Key && (a.Type == bot.ActSend || a.Type == bot.ActPoll || a.Type == bot.ActDM) {
		// an answer to a message in a forum topic stays in that topic, a
		// reply or not (a notice after its message was deleted, a private
		// answer's fallback in the group)
		a.Thread = fc.Event.Thread
	}
	if a.DeleteAfter > 0 && a.Expires.IsZero() {
		a.Expires = fc.Now.Add(a.DeleteAfter)
	}
	if a.Flow == "" {
		a.Flow = fc.flow
	}
	fc.actions = append(fc.actions, a)
}

// Reply sends text to the event's chat as a reply to the event's message.
func (fc *FlowContext) Reply(text string) {
	fc.Do(bot.Action{Type: bot.ActSend, Text: text, ReplyTo: fc.Event.MessageID, Member: fc.Event.Member})
}

// Clean has the event's message and the plain answers to it (texts that
// reply to it, without buttons, pins or a remembered id) deleted after d,
// where the platform can delete: a busy group's check-ins and their
// answers leave no trace once read. The message goes by the engine's
// scheduled deletion, as a self-deleting answer does, so a restart does
// not keep it. A shorter delay an answer already has stays.
func (fc *FlowContext) Clean(d time.Duration) {
	if d > 0 && fc.Event.Chat.Type == bot.ChatGroup {
		fc.clean = d
	}
}

// Stop ends processing of the event: later flows do not see it.
func (fc *FlowContext) Stop(reason string) { fc.stopped = reason }

// Stopped returns the reason processing was stopped, or "".
func (fc *FlowContext) Stopped() string { return fc.stopped }

// Actions returns the actions queued so far.
func (fc *FlowContext) Actions() []bot.Action { return fc.actions }

// IsModerator reports whether the event's member may use moderator
// commands: a platform admin, or listed under moderators: in the config.
func (fc *FlowContext) IsModerator() bool {
	m := fc.Event.Member
	return m.IsAdmin || fc.Group.IsModerator(fc.Event.Platform+":"+m.ID) || fc.Group.IsModerator(m.ID)
}

// TellModerators sends text privately to the group's moderators on the
// event's platform (entries "platform:id" of this platform, and bare ids)
// and to the extra member ids given (a group's owner), each once. It
// returns how many were told, so a flow says "moderators told" only when
// someone was.
func (fc *FlowContext) TellModerators(text string, extra ...string) int {
	return fc.TellModeratorsWith(bot.Action{Text: text}, extra...)
}

// TellModeratorsWith is TellModerators with more than text (a picture).
func (fc *FlowContext) TellModeratorsWith(a bot.Action, extra ...string) int {
	told := map[string]bool{}
	tell := func(id string) {
		if id == "" || told[id] {
			return
		}
		told[id] = true
		dm := a
		dm.Type, dm.Chat, dm.Member = bot.ActDM, fc.Event.GroupKey(), bot.Member{ID: id}
		fc.Do(dm)
	}
	for _, id := range extra {
		tell(id)
	}
	prefix := fc.Event.Platform + ":"
	for _, mod := range fc.Group.Moderators {
		id, ok := strings.CutPrefix(mod, prefix)
		if !ok && strings.Contains(mod, ":") {
			continue // a moderator on another platform
		}
		tell(id)
	}
	return len(told)
}

// Commands lists the commands of the flows enabled in the group, sorted by
// name, in the group's locale.
func (fc *FlowContext) Commands() []CommandSpec {
	var out []CommandSpec
	for _, f := range fc.engine.flows {
		c, ok := f.(Commander)
		if !ok {
			continue
		}
		if _, on := fc.Group.Flow(f.Name()); !on {
			continue
		}
		out = append(out, c.Commands(fc.Locale())...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Data returns template data for the event's member and group.
func (fc *FlowContext) Data(flowValues map[string]any) render.Data {
	m := fc.Event.Member
	if flowValues == nil {
		flowValues = map[string]any{}
	}
	return render.Data{
		Member: render.NewMember(m.ID, m.Name, m.Username),
		Group:  render.Group{ID: fc.Event.GroupKey(), Title: fc.Event.Chat.Title, Platform: fc.Event.Platform},
		Flow:   flowValues,
		Now:    fc.Now.In(fc.Group.Location),
	}
}

// ErrUnknownTarget: a command names a member (by @username or id) that
// qunbot has never seen in the group. The error Target returns is an
// UnknownTarget, which says the name.
var ErrUnknownTarget = errors.New("no such member in this group")

// UnknownTarget is the member name a command gave that matches nobody.
type UnknownTarget struct{ Name string }

func (e UnknownTarget) Error() string        { return ErrUnknownTarget.Error() + ": " + e.Name }
func (e UnknownTarget) Is(target error) bool { return target == ErrUnknownTarget }

// Target finds the member a command is about: the author of the
// replied-to message, or an @username or numeric id as the first
// argument; it answers the arguments that remain (an empty member: none
// named). A member named who was never seen in the group is
// ErrUnknownTarget. However named, the member is checked against the
// platform's admins (AdminChecker), so naming an admin by id reaches no
// further than replying to them.
func (fc *FlowContext) Target(ctx context.Context) (bot.Member, []string, error) {
	args := fc.Event.Command.Args
	t, rest, err := fc.target(ctx, args)
	if err != nil || t.ID == "" || t.IsAdmin {
		return t, rest, err
	}
	if at, ok := fc.engine.adapter(fc.Event.Platform); ok {
		if ac, can := at.adapter.(bot.AdminChecker); can {
			admin, err := ac.IsAdmin(ctx, fc.Event.GroupKey(), t.ID)
			if err != nil {
				// unsure: the command must not reach an admin
				return bot.Member{}, nil, fmt.Errorf("is %s an admin: %w", t.ID, err)
			}
			t.IsAdmin = admin
		}
	}
	return t, rest, nil
}

func (fc *FlowContext) target(ctx context.Context, args []string) (bot.Member, []string, error) {
	if r := fc.Event.ReplyTo; r != nil && r.Member.ID != "" {
		return r.Member, args, nil
	}
	if len(args) == 0 {
		return bot.Member{}, args, nil
	}
	group := fc.Event.GroupKey()
	a := args[0]
	id := ""
	switch {
	case strings.HasPrefix(a, "@"):
		var err error
		if id, err = fc.Store.ByUsername(ctx, group, a); err != nil {
			return bot.Member{}, nil, err
		}
		if id == "" {
			return bot.Member{}, nil, UnknownTarget{a}
		}
	default:
		if _, err := strconv.ParseInt(a, 10, 64); err != nil {
			return bot.Member{}, args, nil // not a member: the command's own argument
		}
		id = a
	}
	m, err := fc.Store.Member(ctx, group, id)
	if err != nil {
		return bot.Member{}, nil, err
	}
	if m.Name == "" && m.LastActive.IsZero() && m.JoinedAt.IsZero() {
		return bot.Member{}, nil, UnknownTarget{a}
	}
	return bot.Member{ID: id, Name: m.Name, Username: m.Username}, args[1:], nil
}
