// Package raid is the anti-raid mode. When joins in one group pass a rate
// (10 in 60s by default), the group is in raid mode for a while: newcomers
// are restricted at once, without a challenge or a welcome each; the
// challenges still queued for the joins that started the raid are
// withdrawn and those already posted are deleted; one notice tells the
// group and the moderators are told once. The mode ends by itself, or with
// /raid off, with one more notice. While a raider's restriction lasts,
// their messages are deleted too: a raid's accounts post the moment they
// join, before the restriction reaches the platform, and a bot without
// the right to restrict (or a platform without it) restricts nobody.
//
// The count is one Lua script per join on a sorted set of recent joins,
// so replicas agree on when a raid starts and only one of them announces
// it.
package raid

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
)

// Config is the raid section.
type Config struct {
	// Joins within Window start raid mode; so do Spam messages removed by
	// the ad filter within Window (0: spam does not).
	Joins  int             `yaml:"joins"`
	Spam   int             `yaml:"spam"`
	Window config.Duration `yaml:"window"`
	// For is how long raid mode lasts once started (or by /raid on).
	For config.Duration `yaml:"for"`
	// RestrictFor is how long a newcomer who joined during a raid stays
	// restricted (moderators lift it sooner with /unmute).
	RestrictFor config.Duration `yaml:"restrict_for"`
	// Notice posts one notice in the group when raid mode starts and ends.
	Notice bool `yaml:"notice"`
}

// SetDefaults implements config.Defaulter.
func (c *Config) SetDefaults() {
	c.Joins, c.Window, c.For, c.RestrictFor, c.Notice = 10, config.Duration(time.Minute), config.Duration(10*time.Minute), config.Duration(24*time.Hour), true
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.Joins < 2 {
		report("joins", "at least 2 (joins within window that start raid mode)")
	}
	if c.Spam == 1 || c.Spam < 0 {
		report("spam", "0 (off) or at least 2 (spam messages within window that start raid mode)")
	}
	if c.Window.D() <= 0 {
		report("window", "longer than zero, e.g. 60s")
	}
	if c.For.D() < time.Minute {
		report("for", "at least 1m")
	}
	if c.RestrictFor.D() < time.Minute {
		report("restrict_for", "at least 1m")
	}
}

// Flow is the raid flow. It runs in the gate stage before verification.
type Flow struct{}

var words = i18n.Catalog{
	"zh-CN": {
		"help":      "防突袭模式：/raid on [时长]、/raid off、/raid",
		"started":   "⚠️ 检测到大量新成员涌入，已开启防突袭模式（%s）：新成员暂时禁言，管理员会逐一审核。",
		"ended":     "防突袭模式已结束，新成员恢复正常验证。",
		"mods":      "群 %s 进入防突袭模式：%s内 %d 人加入。新成员将被禁言 %s；发送 /raid off 可提前结束。",
		"mods.spam": "群 %s 进入防突袭模式：%s内删除了 %d 条广告。新成员将被禁言 %s；发送 /raid off 可提前结束。",
		"on":        "已开启防突袭模式，持续 %s。",
		"off":       "已关闭防突袭模式。",
		"already":   "防突袭模式未开启。",
		"status":    "防突袭模式开启中，还剩 %s。",
		"inactive":  "防突袭模式未开启（%s 内加入 %d 人将自动开启）。",
		"usage":     "用法：/raid on [时长]、/raid off 或 /raid",
		"group":     "请在群里使用 /raid。",
	},
	"en": {
		"help":      "anti-raid mode: /raid on [duration], /raid off, /raid",
		"started":   "⚠️ A flood of newcomers: raid mode is on (%s). Newcomers are muted until a moderator reviews them.",
		"ended":     "Raid mode is over; newcomers are verified as usual again.",
		"mods":      "%s is in raid mode: %[3]d joins within %[2]s. Newcomers are muted for %[4]s; /raid off ends it early.",
		"mods.spam": "%s is in raid mode: %[3]d spam messages removed within %[2]s. Newcomers are muted for %[4]s; /raid off ends it early.",
		"on":        "Raid mode is on for %s.",
		"off":       "Raid mode is off.",
		"already":   "Raid mode is not on.",
		"status":    "Raid mode is on for another %s.",
		"inactive":  "Raid mode is off (it starts by itself at %[2]d joins within %[1]s).",
		"usage":     "Usage: /raid on [duration], /raid off or /raid",
		"group":     "Use /raid in the group.",
	},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "raid" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { c := &Config{}; c.SetDefaults(); return c }}
}

// Stage implements engine.EventHandler.
func (Flow) Stage() engine.Stage { return engine.StageGate }

const fUntil = "raid_until"

// FieldRaider is the member field that marks a newcomer held by a raid:
// when (Unix ms). Moderation's /unmute clears it.
const FieldRaider = "raider"

// noteJoin records a join and says whether the group is in raid mode,
// whether this join started it, and who joined within the window.
var noteJoin = redis.NewScript(`
local now, window, threshold, dur = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local untilv = tonumber(redis.call('HGET', KEYS[2], 'raid_until') or '0')
if untilv > now then return {1, untilv, 0} end
if redis.call('ZCARD', KEYS[1]) >= threshold then
  untilv = now + dur
  redis.call('HSET', KEYS[2], 'raid_until', untilv)
  local out = {1, untilv, 1}
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do out[#out+1] = m end
  return out
end
return {0, 0, 0}
`)

// Handle implements engine.EventHandler.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind == bot.EventSpam && ev.Chat.Type == bot.ChatGroup {
		return f.spam(ctx, fc)
	}
	if (ev.Kind == bot.EventMessage || ev.Kind == bot.EventCommand) && ev.Chat.Type == bot.ChatGroup {
		return f.held(ctx, fc)
	}
	if ev.Kind != bot.EventJoin || ev.Chat.Type != bot.ChatGroup || ev.Member.IsBot {
		return nil
	}
	if ev.By != nil && ev.By.IsAdmin {
		return nil // an admin adding someone is not a raid
	}
	cfg := fc.Config.(*Config)
	group := ev.GroupKey()
	res, err := noteJoin.Run(ctx, fc.Store.Client(), []string{fc.Store.Key(group, "raid", "joins"), fc.Store.Key(group, "g")},
		fc.Now.UnixMilli(), cfg.Window.D().Milliseconds(), cfg.Joins, cfg.For.D().Milliseconds(), ev.Member.ID).Slice()
	if err != nil {
		return fmt.Errorf("raid: count joins: %w", err)
	}
	if n, _ := res[0].(int64); n == 0 {
		return nil
	}
	untilMS, _ := res[1].(int64)
	until := time.UnixMilli(untilMS)
	if started, _ := res[2].(int64); started == 1 {
		var recent []string
		for _, m := range res[3:] {
			if s, ok := m.(string); ok && s != ev.Member.ID {
				recent = append(recent, s)
			}
		}
		note := words.T(fc.Locale(), "mods", title(fc), i18n.Duration(fc.Locale(), cfg.Window.D()), cfg.Joins, i18n.Duration(fc.Locale(), cfg.RestrictFor.D()))
		if err := f.start(ctx, fc, cfg, until, recent, note); err != nil {
			return err
		}
	}
	return f.hold(ctx, fc, cfg, ev.Member)
}

// held deletes a message of a member a raid restricted, while the
// restriction lasts: it stops the raider whose first message came before
// the restriction, and every raider where the bot cannot restrict. It is
// no activity and no newcomer's first words.
func (f Flow) held(ctx context.Context, fc *engine.FlowContext) error {
	ev, m := fc.Event, fc.Member
	if m == nil || ev.Member.IsAdmin || fc.IsModerator() {
		return nil
	}
	at, _ := strconv.ParseInt(m.Fields[FieldRaider], 10, 64)
	cfg := fc.Config.(*Config)
	if at == 0 || fc.Now.Sub(time.UnixMilli(at)) >= cfg.RestrictFor.D() {
		return nil
	}
	group := ev.GroupKey()
	fc.Stop("raid")
	if !ev.Edited {
		if err := fc.Store.Unrecord(ctx, group, ev.Member.ID, m.PrevActive, m.LastActive); err != nil {
			return err
		}
	}
	if fc.Caps.Has(bot.CanDelete) && ev.MessageID != "" {
		fc.Do(bot.Action{Type: bot.ActDelete, MessageID: ev.MessageID, Member: ev.Member})
	}
	return nil
}

// spam counts a message the ad filter removed; a flood of them starts raid
// mode like a flood of joins.
func (f Flow) spam(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	if cfg.Spam == 0 {
		return nil
	}
	group := fc.Event.GroupKey()
	res, err := noteJoin.Run(ctx, fc.Store.Client(), []string{fc.Store.Key(group, "raid", "spam"), fc.Store.Key(group, "g")},
		fc.Now.UnixMilli(), cfg.Window.D().Milliseconds(), cfg.Spam, cfg.For.D().Milliseconds(), fc.Event.Member.ID+":"+fc.Event.MessageID).Slice()
	if err != nil {
		return fmt.Errorf("raid: count spam: %w", err)
	}
	if started, _ := res[2].(int64); started == 1 {
		untilMS, _ := res[1].(int64)
		note := words.T(fc.Locale(), "mods.spam", title(fc), i18n.Duration(fc.Locale(), cfg.Window.D()), cfg.Spam, i18n.Duration(fc.Locale(), cfg.RestrictFor.D()))
		return f.start(ctx, fc, cfg, time.UnixMilli(untilMS), nil, note)
	}
	return nil
}

// hold restricts a newcomer of a raid at once; no challenge, no welcome.
func (f Flow) hold(ctx context.Context, fc *engine.FlowContext, cfg *Config, m bot.Member) error {
	group := fc.Event.GroupKey()
	if err := fc.Store.SetFields(ctx, group, m.ID, map[string]string{FieldRaider: strconv.FormatInt(fc.Now.UnixMilli(), 10)}); err != nil {
		return err
	}
	if fc.CapsFor(group).Has(bot.CanRestrict) {
		fc.Do(bot.Action{Type: bot.ActRestrict, Chat: group, Member: m, Until: fc.Now.Add(cfg.RestrictFor.D())})
	}
	fc.Stop("raid")
	return nil
}

// start announces raid mode once: the challenges of the joins that
// started it are withdrawn (or deleted, if already posted) and those
// members restricted like the rest; one notice; the moderators told.
func (f Flow) start(ctx context.Context, fc *engine.FlowContext, cfg *Config, until time.Time, recent []string, note string) error {
	group := fc.Event.GroupKey()
	loc := fc.Locale()
	caps := fc.CapsFor(group)
	for _, id := range recent {
		fc.Do(bot.Action{Type: bot.ActCancel, Chat: group, Key: "verify:challenge:" + group + ":" + id})
		m, err := fc.Store.Member(ctx, group, id)
		if err != nil {
			return err
		}
		if msg := m.Fields["v_msg"]; msg != "" && m.Fields["v_state"] == "pending" && caps.Has(bot.CanDelete) {
			fc.Do(bot.Action{Type: bot.ActDelete, Chat: group, MessageID: msg, Member: bot.Member{ID: id}})
		}
		if caps.Has(bot.CanRestrict) && m.Present {
			fc.Do(bot.Action{Type: bot.ActRestrict, Chat: group, Member: bot.Member{ID: id, Name: m.Name}, Until: fc.Now.Add(cfg.RestrictFor.D())})
		}
		if err := fc.Store.SetFields(ctx, group, id, map[string]string{FieldRaider: strconv.FormatInt(fc.Now.UnixMilli(), 10)}); err != nil {
			return err
		}
	}
	left := i18n.Duration(fc.Locale(), until.Sub(fc.Now).Round(time.Minute))
	if cfg.Notice {
		fc.Do(bot.Action{Type: bot.ActSend, Chat: group, Text: words.T(loc, "started", left)})
	}
	if note != "" {
		n := fc.TellModerators(note)
		fc.Log.Warn("raid mode on", zap.String("group", group), zap.Time("until", until), zap.Int("recent_joins", len(recent)+1), zap.Int("moderators_told", n))
	}
	// the end is announced when it comes
	return fc.Schedule(ctx, strconv.FormatInt(until.UnixMilli(), 10), "end", until, map[string]string{"until": strconv.FormatInt(until.UnixMilli(), 10)})
}

// title names the group in the moderators' note.
func title(fc *engine.FlowContext) string {
	if t := fc.Event.Chat.Title; t != "" {
		return t
	}
	return fc.Event.GroupKey()
}

// HandleTimer implements engine.TimerHandler: raid mode's time is up. A
// raid ended early (/raid off) or extended (/raid on) since is not this
// timer's to end.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "end" {
		return nil
	}
	group := fc.Event.GroupKey()
	gf, err := fc.Store.GroupFields(ctx, group)
	if err != nil {
		return err
	}
	if gf[fUntil] != fc.Event.Timer.Args["until"] {
		return nil
	}
	if err := fc.Store.SetGroupFields(ctx, group, map[string]string{fUntil: "0"}); err != nil {
		return err
	}
	fc.Log.Info("raid mode over", zap.String("group", group))
	if cfg, ok := fc.Config.(*Config); ok && cfg.Notice {
		fc.Do(bot.Action{Type: bot.ActSend, Chat: group, Text: words.T(fc.Locale(), "ended")})
	}
	return nil
}

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "raid", Args: "[on [duration] | off]", Help: words.T(locale, "help"), Moderator: true}}
}

// HandleCommand implements engine.Commander: /raid on [duration], /raid off,
// /raid (status).
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group"))
		return nil
	}
	cfg := fc.Config.(*Config)
	group := fc.Event.GroupKey()
	gf, err := fc.Store.GroupFields(ctx, group)
	if err != nil {
		return err
	}
	untilMS, _ := strconv.ParseInt(gf[fUntil], 10, 64)
	active := untilMS > fc.Now.UnixMilli()
	args := fc.Event.Command.Args
	switch {
	case len(args) == 0:
		if active {
			fc.Reply(words.T(loc, "status", i18n.Duration(loc, time.UnixMilli(untilMS).Sub(fc.Now).Round(time.Minute))))
		} else {
			fc.Reply(words.T(loc, "inactive", i18n.Duration(loc, cfg.Window.D()), cfg.Joins))
		}
	case args[0] == "on":
		d := cfg.For.D()
		if len(args) > 1 {
			v, err := config.ParseDuration(args[1])
			if err != nil || v < time.Minute {
				fc.Reply(words.T(loc, "usage"))
				return nil
			}
			d = v
		}
		until := fc.Now.Add(d)
		if err := fc.Store.SetGroupFields(ctx, group, map[string]string{fUntil: strconv.FormatInt(until.UnixMilli(), 10)}); err != nil {
			return err
		}
		fc.Log.Warn("raid mode on by a moderator", zap.String("group", group), zap.String("by", fc.Event.Member.ID), zap.Time("until", until))
		fc.Reply(words.T(loc, "on", i18n.Duration(loc, d)))
		c := *cfg
		c.Notice = false // the moderator's reply says it
		return f.start(ctx, fc, &c, until, nil, "")
	case args[0] == "off":
		if !active {
			fc.Reply(words.T(loc, "already"))
			return nil
		}
		if err := fc.Store.SetGroupFields(ctx, group, map[string]string{fUntil: "0"}); err != nil {
			return err
		}
		fc.Log.Info("raid mode off by a moderator", zap.String("group", group), zap.String("by", fc.Event.Member.ID))
		fc.Reply(words.T(loc, "off"))
	default:
		fc.Reply(words.T(loc, "usage"))
	}
	return nil
}
