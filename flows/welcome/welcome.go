// Package welcome greets newcomers once they are verified (or on join where
// verification is off): a welcome text, the group's rules, a newcomer perk —
// a fixed text or a unique code from a pool — and URL buttons. Joins in a
// burst are welcomed together in one message; the previous welcome is
// removed when a new one is posted.
package welcome

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/flows/codes"
	"github.com/qunbot/qunbot/flows/notes"
)

// Group fields the flow keeps.
const (
	fLast  = "w_last" // when the last welcome went out (ms)
	fMsg   = "w_msg"  // its message id
	fMsgAt = "w_msg_at"
	fBatch = "w_batch"
)

// Flow is the welcome flow.
type Flow struct{}

var words = i18n.Catalog{
	"zh-CN": {
		"text":       "欢迎 {{.Flow.Mentions}} 加入{{.Group.Title}}！",
		"perk.dm":    "%s，你的新人福利已私信发给你。",
		"perk.start": "%s，有一份新人福利给你：请私聊我并发送 /perk 领取。",
		"perk.none":  "你还没有可领取的新人福利。",
		"perk.sent":  "已私信发给你。",
		"pool.low":   "新人福利码池 %q 只剩 %d 个了，请补充 %s。",
		"pool.empty": "新人福利码池 %q 已用完，新成员领不到福利码了，请补充 %s。",
		"help.perk":  "领取你的新人福利",
	},
	"en": {
		"text":       "Welcome to {{.Group.Title}}, {{.Flow.Mentions}}!",
		"perk.dm":    "%s, your newcomer perk is in your private messages.",
		"perk.start": "%s, there is a newcomer perk for you: open a private chat with me and send /perk.",
		"perk.none":  "There is no newcomer perk for you.",
		"perk.sent":  "Sent to you privately.",
		"pool.low":   "Perk code pool %q has only %d codes left; add more to %s.",
		"pool.empty": "Perk code pool %q is empty: newcomers get no code; add more to %s.",
		"help.perk":  "get your newcomer perk",
	},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "welcome" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return defaults() }}
}

// Stage implements engine.EventHandler.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "perk", Help: words.T(locale, "help.perk")}}
}

// Handle implements engine.EventHandler.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Member.IsBot || ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	if ev.Kind == bot.EventJoin {
		// With verification on, the welcome waits for EventVerified; a join
		// reaches here only when verify let the member through (a rejoin
		// within rejoin_skip, an admin's add) or verify is off.
		return f.greet(ctx, fc)
	}
	if ev.Kind == bot.EventVerified {
		return f.greet(ctx, fc)
	}
	if ev.Kind == bot.EventLeave {
		fc.Do(bot.Action{Type: bot.ActCancel, Key: welcomeKey(ev.GroupKey(), ev.Member.ID)})
	}
	return nil
}

// welcomeKey names a newcomer's own welcome in the outbox.
func welcomeKey(group, member string) string { return "welcome:" + group + ":" + member }

var burstScript = redis.NewScript(`
local last = tonumber(redis.call('HGET', KEYS[1], 'w_last') or '0')
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
if now - last >= window and redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'w_last', ARGV[1])
  return 'now'
end
redis.call('LREM', KEYS[2], 0, ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[3])
if redis.call('LLEN', KEYS[2]) == 1 then return 'first:' .. tostring(math.max(last + window, now)) end
return 'batched'
`)

// greet welcomes one newcomer now, or adds them to the current burst.
func (f Flow) greet(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	group := fc.Event.GroupKey()
	res, err := burstScript.Run(ctx, fc.Store.Client(), []string{fc.Store.Key(group, "g"), fc.Store.Key(group, fBatch)},
		fc.Now.UnixMilli(), cfg.Burst.Window.D().Milliseconds(), fc.Event.Member.ID).Text()
	if err != nil {
		return fmt.Errorf("welcome burst: %w", err)
	}
	switch {
	case res == "now":
		m := fc.Event.Member
		return f.send(ctx, fc, cfg, []render.Member{render.NewMember(m.ID, m.Name, m.Username)})
	case strings.HasPrefix(res, "first:"):
		var at int64
		fmt.Sscan(strings.TrimPrefix(res, "first:"), &at)
		return fc.Schedule(ctx, fmt.Sprint(at), "burst", time.UnixMilli(at), map[string]string{"member": ""})
	}
	return nil
}

var takeBatchScript = redis.NewScript(`
local ids = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'w_last', ARGV[1])
return ids
`)

// HandleTimer implements engine.TimerHandler: the burst window closed.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "burst" {
		return nil
	}
	cfg := fc.Config.(*Config)
	group := fc.Event.GroupKey()
	ids, err := takeBatchScript.Run(ctx, fc.Store.Client(), []string{fc.Store.Key(group, "g"), fc.Store.Key(group, fBatch)}, fc.Now.UnixMilli()).StringSlice()
	if err != nil {
		return fmt.Errorf("welcome burst: %w", err)
	}
	var members []render.Member
	for _, id := range ids {
		m, err := fc.Store.Member(ctx, group, id)
		if err != nil {
			return err
		}
		if m.Present {
			members = append(members, render.NewMember(id, m.Name, m.Username))
		}
	}
	for len(members) > 0 {
		n := min(len(members), cfg.Burst.Max)
		if err := f.send(ctx, fc, cfg, members[:n]); err != nil {
			return err
		}
		members = members[n:]
	}
	return nil
}

// send posts one welcome for members, and their rules and perks.
func (f Flow) send(ctx context.Context, fc *engine.FlowContext, cfg *Config, members []render.Member) error {
	group := fc.Event.GroupKey()
	loc := fc.Locale()
	mentions := make([]string, len(members))
	for i, m := range members {
		mentions[i] = m.Mention
	}
	data := fc.Data(map[string]any{"Mentions": strings.Join(mentions, " "), "Count": len(members)})
	data.Member, data.Members = members[0], members
	tmpl := cfg.Text
	if tmpl.IsZero() {
		tmpl = render.MustParse("welcome", words.T(loc, "text"))
	}
	text, err := tmpl.Render(data)
	if err != nil {
		return err
	}
	parts := []string{strings.TrimSpace(text)}
	rulesByDM := cfg.RulesDM && fc.Caps.Has(bot.CanDM)
	var rules string
	if !cfg.Rules.IsZero() {
		if rules, err = cfg.Rules.Render(data); err != nil {
			return err
		}
		rules = strings.TrimSpace(rules)
		if !rulesByDM && rules != "" {
			parts = append(parts, rules)
		}
	}
	if cfg.Codes == nil && !cfg.Perk.IsZero() {
		perk, err := cfg.Perk.Render(data)
		if err != nil {
			return err
		}
		if perk = strings.TrimSpace(perk); perk != "" {
			parts = append(parts, perk)
		}
	}
	g, err := fc.Store.GroupFields(ctx, group)
	if err != nil {
		return err
	}
	// The previous welcome goes, unless its own delete_after took it already.
	prevAt, _ := strconv.ParseInt(g[fMsgAt], 10, 64)
	if prev := g[fMsg]; prev != "" && cfg.DeleteAfter.D() > 0 && fc.Caps.Has(bot.CanDelete) &&
		fc.Now.Sub(time.UnixMilli(prevAt)) < cfg.DeleteAfter.D() {
		fc.Do(bot.Action{Type: bot.ActDelete, Chat: group, MessageID: prev})
	}
	if err := fc.Store.SetGroupFields(ctx, group, map[string]string{fMsg: "", fMsgAt: strconv.FormatInt(fc.Now.UnixMilli(), 10)}); err != nil {
		return err
	}
	var buttons [][]bot.ButtonSpec
	for _, b := range cfg.Buttons {
		buttons = append(buttons, []bot.ButtonSpec{{Text: b.Text, URL: b.URL}})
	}
	if cfg.RulesButton && cfg.Rules.IsZero() && fc.Caps.Has(bot.CanButtons) && notes.HasRules(fc) {
		buttons = append(buttons, []bot.ButtonSpec{notes.RulesButton(loc)})
	}
	welcome := bot.Action{Type: bot.ActSend, Chat: group, Text: strings.Join(parts, "\n\n"), Buttons: buttons,
		Member:   bot.Member{ID: members[0].ID, Name: members[0].Name, Username: members[0].Username},
		Remember: &bot.Remember{Group: group, Field: fMsg}}
	if len(members) > 1 {
		// a burst greeted together: each of them is notified
		for _, m := range members {
			welcome.Mentioned = append(welcome.Mentioned, bot.Member{ID: m.ID, Name: m.Name, Username: m.Username})
		}
	}
	if fc.Caps.Has(bot.CanAutoDelete) {
		welcome.DeleteAfter = cfg.DeleteAfter.D()
	}
	if len(members) == 1 {
		// withdrawn if the newcomer leaves while it waits in the outbox
		welcome.Key = welcomeKey(group, members[0].ID)
	}
	if fc.Caps.Has(bot.PostsAreTasks) {
		// a post here waits for the owner's confirmation: the platform's
		// own welcome (a WeCom welcome template, from `qunbot wecom
		// welcome-template`) greets instead; rules and perks still go
		// privately
		fc.Log.Debug("group welcome left to the platform's welcome template", zap.String("group", group))
	} else {
		fc.Do(welcome)
	}
	for _, m := range members {
		bm := bot.Member{ID: m.ID, Name: m.Name, Username: m.Username}
		if rulesByDM && rules != "" {
			fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: bm, Text: rules, Fallback: m.Mention + "\n" + rules})
		}
		if cfg.Codes != nil {
			if err := f.giveCode(ctx, fc, cfg, m, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// giveCode issues a member's perk code (or re-sends it with /perk) by DM.
func (f Flow) giveCode(ctx context.Context, fc *engine.FlowContext, cfg *Config, m render.Member, resend bool) error {
	group := fc.Event.GroupKey()
	loc := fc.Locale()
	p := codes.New(fc.Store, cfg.Codes.Pool)
	if err := p.Load(ctx, string(cfg.Codes.File)); err != nil {
		fc.Log.Error("perk codes not loaded; newcomers get no code", zap.String("pool", cfg.Codes.Pool), zap.Error(err))
		return nil
	}
	who := fc.Event.Platform + ":" + m.ID
	var code string
	var fresh bool
	var left int
	var err error
	if resend {
		code, err = p.GivenTo(ctx, who)
	} else {
		code, fresh, left, err = p.Issue(ctx, who)
	}
	if err != nil {
		return err
	}
	if !resend && !fresh {
		return nil // one code per member, ever: a rejoin gets none
	}
	if !resend {
		if err := f.warnPool(ctx, fc, cfg, p, code, left); err != nil {
			return err
		}
	}
	if code == "" {
		if resend {
			fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: bot.Member{ID: m.ID, Name: m.Name, Username: m.Username}, Text: words.T(loc, "perk.none")})
		}
		return nil
	}
	data := fc.Data(map[string]any{"Code": code})
	data.Member = m
	text, err := cfg.Perk.Render(data)
	if err != nil {
		return err
	}
	fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: bot.Member{ID: m.ID, Name: m.Name, Username: m.Username},
		Text: strings.TrimSpace(text), Fallback: words.T(loc, "perk.start", m.Mention)})
	return nil
}

// warnPool tells the operator (log) and the group's moderators (DM) when
// the pool runs low or out, once per load of the file.
func (f Flow) warnPool(ctx context.Context, fc *engine.FlowContext, cfg *Config, p codes.Pool, code string, left int) error {
	low := cfg.Codes.Low
	if low == 0 {
		low = 10
	}
	kind := ""
	switch {
	case code == "" || left == 0:
		kind = "empty"
	case left <= low:
		kind = "low"
	default:
		return nil
	}
	first, err := p.WarnOnce(ctx, kind)
	if err != nil || !first {
		return err
	}
	loc := fc.Locale()
	msg := words.T(loc, "pool."+kind, cfg.Codes.Pool, left, cfg.Codes.File)
	if kind == "empty" {
		msg = words.T(loc, "pool.empty", cfg.Codes.Pool, cfg.Codes.File)
	}
	n := fc.TellModerators(msg)
	fc.Log.Warn(msg, zap.String("pool", cfg.Codes.Pool), zap.Int("left", left), zap.String("group", fc.Event.GroupKey()),
		zap.Int("moderators_told", n))
	return nil
}

// HandleCommand implements engine.Commander: /perk re-sends the member's perk.
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	loc := fc.Locale()
	m := fc.Event.Member
	rm := render.NewMember(m.ID, m.Name, m.Username)
	if cfg == nil || cfg.Codes == nil {
		if cfg != nil && !cfg.Perk.IsZero() && fc.Event.Chat.Type == bot.ChatGroup {
			text, err := cfg.Perk.Render(fc.Data(nil))
			if err != nil {
				return err
			}
			fc.Reply(strings.TrimSpace(text))
			return nil
		}
		fc.Reply(words.T(loc, "perk.none"))
		return nil
	}
	if fc.Event.Chat.Type == bot.ChatGroup {
		fc.Reply(words.T(loc, "perk.sent"))
	}
	return f.giveCode(ctx, fc, cfg, rm, true)
}
