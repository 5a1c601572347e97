// Package verify keeps ad bots and zombie accounts out: a newcomer answers a
// challenge (a button, a question, a sum, or a join request answered in a
// direct message) before taking part; until then they are restricted where
// the platform allows it and anything they post is deleted.
//
// A challenge's state lives in the member's record and its deadline is a
// job in Redis, so a restart in the middle still ends it on time.
package verify

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
)

// Member fields the flow keeps.
const (
	fState    = "v_state" // pending, passed, failed
	fDeadline = "v_deadline"
	fKind     = "v_kind"
	fAnswer   = "v_answer"
	fTries    = "v_tries"
	fMsg      = "v_msg"
	fPassedAt = "v_passed_at"
	fRequest  = "v_request" // "1" while the challenge is a join request's
)

const (
	statePending = "pending"
	statePassed  = "passed"
	stateFailed  = "failed"
)

// Flow is the verify flow.
type Flow struct{}

var words = i18n.Catalog{
	"zh-CN": {
		"prompt.button":   "%s 欢迎！请在 %s内点击「%s」完成验证。",
		"flag.unverified": "⚠️ 新成员 %s (%s) 加入了「%s」，但没有通过验证渠道（这里机器人无法出题），请人工确认。",
		"prompt.question": "%s 欢迎！请在 %s内回答问题完成验证：%s",
		"prompt.math":     "%s 欢迎！请在 %s内回答完成验证：%s = ?",
		"dm.button":       "你申请加入「%s」。请在 %s内点击「%s」完成验证。",
		"dm.question":     "你申请加入「%s」。请在 %s内回答：%s",
		"dm.math":         "你申请加入「%s」。请在 %s内回答：%s = ?",
		"wrong":           "答案不对，还可以再试 %d 次。",
		"not_yours":       "这不是给你的验证。",
		"over":            "这个验证已经结束了。",
		"failed":          "%s 未通过验证。",
		"dm.passed":       "验证通过，欢迎加入！",
		"dm.failed":       "验证未通过，申请已被拒绝。",
	},
	"en": {
		"flag.unverified": "⚠️ New member %s (%s) joined %s without a verifying join way (the bot cannot challenge anyone there): please check by hand.",
		"prompt.button":   "Welcome, %s! Press “%s” within %s to show you are human.",
		"prompt.question": "Welcome, %s! Answer within %s to join the conversation: %s",
		"prompt.math":     "Welcome, %s! Answer within %s to join the conversation: %s = ?",
		"dm.button":       "You asked to join “%s”. Press “%s” within %s.",
		"dm.question":     "You asked to join “%s”. Answer within %s: %s",
		"dm.math":         "You asked to join “%s”. Answer within %s: %s = ?",
		"wrong":           "That is not right. Tries left: %d.",
		"not_yours":       "This check is not for you.",
		"over":            "This check is over.",
		"failed":          "%s did not pass the check.",
		"dm.passed":       "Verified. Welcome!",
		"dm.failed":       "The check was not passed; your request was declined.",
	},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "verify" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return defaults() }}
}

// Stage implements engine.EventHandler: verification is the gate.
func (Flow) Stage() engine.Stage { return engine.StageGate }

// HandlesPrivateChats implements engine.PrivateChats: join-request answers
// arrive in DMs.
func (Flow) HandlesPrivateChats() {}

// Handle implements engine.EventHandler.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Chat.Type == bot.ChatPrivate && ev.Kind != bot.EventJoinRequest {
		return f.private(ctx, fc)
	}
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		return nil
	}
	switch ev.Kind {
	case bot.EventJoin:
		return f.join(ctx, fc, cfg)
	case bot.EventLeave:
		if fc.Member.Fields[fState] == statePending {
			// gone before answering: settle now, quietly
			return f.fail(ctx, fc, cfg, ev.GroupKey(), ev.Member, fc.Member.Fields[fDeadline])
		}
	case bot.EventJoinRequest:
		return f.joinRequest(ctx, fc, cfg)
	case bot.EventButton:
		if strings.HasPrefix(ev.Button.Data, "verify:") {
			return f.press(ctx, fc, cfg, ev.GroupKey())
		}
	case bot.EventMessage, bot.EventCommand:
		if fc.Member.Fields[fState] == statePending && fc.Member.Fields[fRequest] != "1" {
			return f.heldMessage(ctx, fc, cfg)
		}
	}
	return nil
}

// HandleTimer implements engine.TimerHandler: a deadline passed.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "timeout" {
		return nil
	}
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		return nil
	}
	return f.fail(ctx, fc, cfg, fc.Event.GroupKey(), fc.Event.Member, fc.Event.Timer.Args["deadline"])
}

func (f Flow) join(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	ev, m := fc.Event, fc.Member
	group := ev.GroupKey()
	if ev.Member.IsAdmin || ev.By != nil && ev.By.IsAdmin && cfg.TrustAdminAdds && ev.By.ID != ev.Member.ID {
		return nil // admins, and whoever an admin added
	}
	if m.Fields[fState] == statePassed {
		passed, _ := strconv.ParseInt(m.Fields[fPassedAt], 10, 64)
		if since := fc.Now.Sub(time.UnixMilli(passed)); m.Fields[fRequest] == "1" && since < cfg.Timeout.D()+time.Hour || since <= cfg.RejoinSkip.D() {
			return nil // approved through a join request just now, or a recent member rejoining
		}
	}
	if !fc.Caps.Has(bot.SeesMessages) {
		// Nobody can answer a challenge where the bot does not see messages
		// (a WeCom customer group). A join the platform vouches for passes;
		// any other is flagged to the moderators, who check by hand.
		if ev.Vouched {
			if err := fc.Store.SetFields(ctx, group, ev.Member.ID, map[string]string{fState: statePassed,
				fPassedAt: strconv.FormatInt(fc.Now.UnixMilli(), 10)}); err != nil {
				return fmt.Errorf("record vouched join: %w", err)
			}
			return nil // the join goes on to the welcome, as an admin's add does
		}
		title := ev.Chat.Title
		if title == "" {
			title = group
		}
		text := words.T(fc.Locale(), "flag.unverified", ev.Member.Name, ev.Member.ID, title)
		// the group's owner (where the platform names one) and the moderators
		gf, err := fc.Store.GroupFields(ctx, group)
		if err != nil {
			return err
		}
		if n := fc.TellModerators(text, gf["owner"]); n > 0 {
			fc.Log.Warn("newcomer could not be verified here; moderators told", zap.String("group", group), zap.String("member", ev.Member.ID), zap.Int("told", n))
		} else {
			fc.Log.Warn("newcomer could not be verified here, and nobody could be told: list moderators: in the config", zap.String("group", group), zap.String("member", ev.Member.ID))
		}
		fc.Stop("unverified")
		return nil
	}
	kind := cfg.Method
	if kind == MethodJoinRequest {
		kind = cfg.Challenge // joined without a request (e.g. added): check in the group
	}
	ch := newChallenge(kind, cfg, fc.Locale(), ev.Member.ID, rng(group, ev.Member.ID, fc.Now))
	deadline := fc.Now.Add(cfg.Timeout.D())
	text, err := f.prompt(fc, cfg, ch, "prompt")
	if err != nil {
		return err
	}
	if fc.Caps.Has(bot.CanRestrict) {
		fc.Do(bot.Action{Type: bot.ActRestrict, Member: ev.Member, AllowText: ch.kind != MethodButton})
	}
	// a challenge still queued when its member passes, fails or leaves is
	// withdrawn (Key), and one not sent by the deadline is not sent
	fc.Do(bot.Action{Type: bot.ActSend, Text: text, Buttons: ch.buttons, Member: ev.Member,
		Remember: &bot.Remember{Group: group, Member: ev.Member.ID, Field: fMsg},
		Key:      challengeKey(group, ev.Member.ID), Expires: deadline})
	if err := f.start(ctx, fc, group, ch, deadline, false); err != nil {
		return err
	}
	fc.Stop("verifying")
	return nil
}

func (f Flow) start(ctx context.Context, fc *engine.FlowContext, group string, ch challenge, deadline time.Time, request bool) error {
	req := ""
	if request {
		req = "1"
	}
	dl := strconv.FormatInt(deadline.UnixMilli(), 10)
	if err := fc.Store.SetFields(ctx, group, fc.Event.Member.ID, map[string]string{
		fState: statePending, fDeadline: dl, fKind: ch.kind, fAnswer: ch.answer, fTries: "0", fMsg: "", fRequest: req,
	}); err != nil {
		return fmt.Errorf("start challenge: %w", err)
	}
	if err := fc.Schedule(ctx, fc.Event.Member.ID+":"+dl, "timeout", deadline, map[string]string{"deadline": dl, "group": group}); err != nil {
		return fmt.Errorf("schedule challenge deadline: %w", err)
	}
	return nil
}

func (f Flow) prompt(fc *engine.FlowContext, cfg *Config, ch challenge, prefix string) (string, error) {
	loc := fc.Locale()
	timeout := i18n.Duration(fc.Locale(), cfg.Timeout.D())
	if !cfg.Prompt.IsZero() && prefix == "prompt" {
		return cfg.Prompt.Render(fc.Data(map[string]any{"Timeout": timeout, "Answer": ch.label, "Question": ch.question, "Attempts": cfg.Attempts}))
	}
	who := fc.Data(nil).Member.Mention
	if prefix == "dm" {
		who = fc.Event.Chat.Title
		if who == "" {
			who = fc.Event.GroupKey()
		}
	}
	switch ch.kind {
	case MethodButton:
		if loc == "zh-CN" {
			return words.T(loc, prefix+".button", who, timeout, ch.label), nil
		}
		return words.T(loc, prefix+".button", who, ch.label, timeout), nil
	case MethodMath:
		return words.T(loc, prefix+".math", who, timeout, ch.question), nil
	}
	return words.T(loc, prefix+".question", who, timeout, ch.question), nil
}

func (f Flow) joinRequest(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	ev := fc.Event
	group := ev.GroupKey()
	if cfg.Method != MethodJoinRequest || !fc.CapsFor(group).Has(bot.CanApprove) {
		return nil // requests are left to the group's admins
	}
	m := fc.Member
	if m.Fields[fState] == statePassed {
		passed, _ := strconv.ParseInt(m.Fields[fPassedAt], 10, 64)
		if fc.Now.Sub(time.UnixMilli(passed)) <= cfg.RejoinSkip.D() {
			return f.approve(ctx, fc, group, ev.Member)
		}
	}
	ch := newChallenge(cfg.Challenge, cfg, fc.Locale(), ev.Member.ID, rng(group, ev.Member.ID, fc.Now))
	text, err := f.prompt(fc, cfg, ch, "dm")
	if err != nil {
		return err
	}
	fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: ev.Member, Text: text, Buttons: ch.buttons})
	if err := fc.Store.Client().Set(ctx, requestKey(fc, ev.Platform, ev.Member.ID), group, cfg.Timeout.D()+time.Hour).Err(); err != nil {
		return fmt.Errorf("remember join request: %w", err)
	}
	if err := f.start(ctx, fc, group, ch, fc.Now.Add(cfg.Timeout.D()), true); err != nil {
		return err
	}
	fc.Stop("join request pending")
	return nil
}

func requestKey(fc *engine.FlowContext, platform, member string) string {
	return fc.Store.GlobalKey("verify", "request", platform, member)
}

// private handles a join-request applicant's answer in the DM.
func (f Flow) private(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	group, err := fc.Store.Client().Get(ctx, requestKey(fc, ev.Platform, ev.Member.ID)).Result()
	if err != nil {
		return nil // no pending request: not ours
	}
	g := fc.GroupConfig(group)
	conf, on := g.Flow("verify")
	if !on {
		return nil
	}
	cfg := conf.(*Config)
	m, err := fc.Store.Member(ctx, group, ev.Member.ID)
	if err != nil {
		return err
	}
	if m.Fields[fState] != statePending || m.Fields[fRequest] != "1" {
		return nil
	}
	switch {
	case ev.Kind == bot.EventButton && strings.HasPrefix(ev.Button.Data, "verify:"):
		fc.Member = m
		return f.press(ctx, fc, cfg, group)
	case ev.Kind == bot.EventMessage || ev.Kind == bot.EventCommand:
		fc.Member = m
		if m.Fields[fKind] == MethodButton {
			return nil
		}
		if matches(m.Fields[fKind], ev.Text, m.Fields[fAnswer], cfg.Answers) {
			return f.pass(ctx, fc, cfg, group, m.Fields[fDeadline])
		}
		return f.wrong(ctx, fc, cfg, group, m.Fields[fDeadline])
	}
	return nil
}

// heldMessage: an unverified member posted. The message goes; a typed
// answer is checked.
func (f Flow) heldMessage(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	ev, m := fc.Event, fc.Member
	group := ev.GroupKey()
	fc.Stop("unverified")
	fc.Count(kpi.Held, 1)
	if !ev.Edited && m != nil {
		// a held message (a challenge's answer among them) is no
		// newcomer's first words, nor activity
		if err := fc.Store.Unrecord(ctx, group, ev.Member.ID, m.PrevActive, m.LastActive); err != nil {
			return err
		}
	}
	if fc.Caps.Has(bot.CanDelete) && ev.MessageID != "" {
		fc.Do(bot.Action{Type: bot.ActDelete, MessageID: ev.MessageID, Member: ev.Member})
	}
	if m.Fields[fKind] == MethodButton {
		return nil
	}
	if matches(m.Fields[fKind], ev.Text, m.Fields[fAnswer], cfg.Answers) {
		return f.pass(ctx, fc, cfg, group, m.Fields[fDeadline])
	}
	return f.wrong(ctx, fc, cfg, group, m.Fields[fDeadline])
}

func (f Flow) press(ctx context.Context, fc *engine.FlowContext, cfg *Config, group string) error {
	ev := fc.Event
	fc.Stop("verify button")
	rest := strings.TrimPrefix(ev.Button.Data, "verify:")
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return nil
	}
	target, choice := rest[:i], rest[i+1:]
	answer := func(text string) {
		fc.Do(bot.Action{Type: bot.ActAnswerPress, Member: ev.Member, Text: text, CallbackID: ev.Button.ID})
	}
	if target != ev.Member.ID {
		answer(words.T(fc.Locale(), "not_yours"))
		return nil
	}
	m := fc.Member
	if m.Fields[fState] != statePending || m.Fields[fKind] != MethodButton {
		answer(words.T(fc.Locale(), "over"))
		return nil
	}
	if choice == m.Fields[fAnswer] {
		answer("") // a press is answered once: silently on success
		return f.pass(ctx, fc, cfg, group, m.Fields[fDeadline])
	}
	return f.wrong(ctx, fc, cfg, group, m.Fields[fDeadline]) // answers with the notice
}

func (f Flow) wrong(ctx context.Context, fc *engine.FlowContext, cfg *Config, group, deadline string) error {
	ev := fc.Event
	tries, err := fc.Store.IncrField(ctx, group, ev.Member.ID, fTries, 1)
	if err != nil {
		return err
	}
	if int(tries) >= cfg.Attempts {
		if ev.Kind == bot.EventButton {
			fc.Do(bot.Action{Type: bot.ActAnswerPress, Member: ev.Member, CallbackID: ev.Button.ID})
		}
		return f.fail(ctx, fc, cfg, group, ev.Member, deadline)
	}
	a := bot.Action{Type: bot.ActSend, Text: words.T(fc.Locale(), "wrong", cfg.Attempts-int(tries)), Member: ev.Member}
	if ev.Chat.Type == bot.ChatPrivate {
		a.Type, a.Chat = bot.ActDM, group
	} else if fc.Caps.Has(bot.CanAutoDelete) {
		a.DeleteAfter = 30 * time.Second
	}
	if ev.Kind == bot.EventButton {
		// a wrong press is answered on the button itself
		a = bot.Action{Type: bot.ActAnswerPress, Member: ev.Member, Text: a.Text, CallbackID: ev.Button.ID}
	}
	fc.Do(a)
	return nil
}

func (f Flow) pass(ctx context.Context, fc *engine.FlowContext, cfg *Config, group, deadline string) error {
	ev := fc.Event
	ok, err := fc.Store.CompareAndSet(ctx, group, ev.Member.ID, fState, statePending, fDeadline, deadline, map[string]string{
		fState: statePassed, fPassedAt: strconv.FormatInt(fc.Now.UnixMilli(), 10),
	})
	if err != nil || !ok {
		return err // settled already (a second press, or the deadline)
	}
	m, err := fc.Store.Member(ctx, group, ev.Member.ID)
	if err != nil {
		return err
	}
	fc.CountIn(group, kpi.Verified, 1)
	if m.Fields[fRequest] == "1" {
		fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: ev.Member, Text: words.T(fc.Locale(), "dm.passed")})
		return f.approve(ctx, fc, group, ev.Member)
	}
	caps := fc.CapsFor(group)
	fc.Do(bot.Action{Type: bot.ActCancel, Chat: group, Key: challengeKey(group, ev.Member.ID)})
	if caps.Has(bot.CanRestrict) {
		fc.Do(bot.Action{Type: bot.ActUnrestrict, Chat: group, Member: ev.Member})
	}
	if msg := m.Fields[fMsg]; msg != "" && caps.Has(bot.CanDelete) {
		fc.Do(bot.Action{Type: bot.ActDelete, Chat: group, MessageID: msg, Member: ev.Member})
	}
	fc.Emit(bot.EventVerified)
	return nil
}

// challengeKey names a member's challenge message in the outbox.
func challengeKey(group, member string) string { return "verify:challenge:" + group + ":" + member }

func (f Flow) approve(ctx context.Context, fc *engine.FlowContext, group string, m bot.Member) error {
	fc.Do(bot.Action{Type: bot.ActApprove, Chat: group, Member: m})
	return fc.Store.SetFields(ctx, group, m.ID, map[string]string{fState: statePassed, fRequest: "1",
		fPassedAt: strconv.FormatInt(fc.Now.UnixMilli(), 10)})
}

// fail settles a challenge that ran out of time or attempts: the challenge
// message goes, and the member is removed, banned, muted, or declined.
func (f Flow) fail(ctx context.Context, fc *engine.FlowContext, cfg *Config, group string, member bot.Member, deadline string) error {
	ok, err := fc.Store.CompareAndSet(ctx, group, member.ID, fState, statePending, fDeadline, deadline, map[string]string{fState: stateFailed})
	if err != nil || !ok {
		return err // passed (or settled) before the deadline
	}
	fc.CountIn(group, kpi.VerifyFailed, 1)
	m, err := fc.Store.Member(ctx, group, member.ID)
	if err != nil {
		return err
	}
	if m.Name != "" {
		member.Name, member.Username = m.Name, m.Username
	}
	loc := fc.GroupConfig(group).Locale
	if m.Fields[fRequest] == "1" {
		fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: member, Text: words.T(loc, "dm.failed")})
		fc.Do(bot.Action{Type: bot.ActDecline, Chat: group, Member: member})
		return nil
	}
	caps := fc.CapsFor(group)
	fc.Do(bot.Action{Type: bot.ActCancel, Chat: group, Key: challengeKey(group, member.ID)})
	if msg := m.Fields[fMsg]; msg != "" && caps.Has(bot.CanDelete) {
		fc.Do(bot.Action{Type: bot.ActDelete, Chat: group, MessageID: msg, Member: member})
	}
	if !m.Present {
		return nil // left already: nothing to remove
	}
	mention := member.Name
	if member.Username != "" {
		mention = "@" + member.Username
	}
	notice := bot.Action{Type: bot.ActSend, Chat: group, Member: member, Text: words.T(loc, "failed", mention)}
	if caps.Has(bot.CanAutoDelete) {
		notice.DeleteAfter = time.Minute
	}
	until := time.Time{}
	if cfg.FailFor.D() > 0 {
		until = fc.Now.Add(cfg.FailFor.D())
	}
	switch {
	case cfg.OnFail == "ban" && caps.Has(bot.CanBan):
		fc.Do(bot.Action{Type: bot.ActBan, Chat: group, Member: member, Until: until})
	case cfg.OnFail == "mute" && caps.Has(bot.CanRestrict):
		if until.IsZero() {
			until = fc.Now.Add(24 * time.Hour)
		}
		fc.Do(bot.Action{Type: bot.ActRestrict, Chat: group, Member: member, Until: until})
	case caps.Has(bot.CanKick):
		fc.Do(bot.Action{Type: bot.ActKick, Chat: group, Member: member})
	default:
		fc.Log.Warn("verification failed but the platform can neither remove nor restrict; moderators are told",
			zapGroup(group), zapMember(member.ID))
	}
	fc.Do(notice)
	return nil
}
