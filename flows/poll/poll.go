// Package poll is votes in the group: /poll 问题 | 选项一 | 选项二. Where
// the platform has native polls (Telegram) qunbot sends one and records
// each member's vote from the poll_answer updates (unless the poll is
// anonymous); elsewhere the options are buttons. A poll closes at its
// time (or by /poll close) with the results: counts and shares.
package poll

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/activity"
)

// Config is the poll section.
type Config struct {
	// Native uses the platform's own polls where it has them.
	Native bool `yaml:"native"`
	// Anonymous native polls: nobody's vote is known, qunbot's included
	// (results are then the platform's own); button polls always know.
	Anonymous bool `yaml:"anonymous"`
	// Multiple lets a member pick several options.
	Multiple bool `yaml:"multiple"`
	// CloseAfter closes a poll opened without a time.
	CloseAfter config.Duration `yaml:"close_after"`
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.CloseAfter.D() < time.Minute {
		report("close_after", "at least 1m")
	}
}

// Flow is the poll flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "poll" }

// Schema implements engine.Flow: on everywhere (moderators open polls).
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{Native: true, CloseAfter: config.Duration(24 * time.Hour)} }, DefaultOn: true}
}

// Stage implements engine.EventHandler: the votes.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// A poll lives under a number per group: {g}:poll:<id> is a hash (q,
// opts joined by \x1f, at, state open|closed, native, anon, multi);
// {g}:poll:<id>:v holds each member's vote (option indices, comma-
// separated); {g}:poll:open the open ones.
type keys struct {
	s     *state.Store
	group string
	id    string
}

func (k keys) poll() string  { return k.s.Key(k.group, "poll", k.id) }
func (k keys) votes() string { return k.s.Key(k.group, "poll", k.id, "v") }
func (k keys) open() string  { return k.s.Key(k.group, "poll", "open") }
func (k keys) msgField() string {
	return "poll_msg_" + k.id
}

const keep = 90 * 24 * time.Hour

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "poll", Args: words.T(loc, "args"), Help: words.T(loc, "help"), Moderator: true}}
}

// Parse reads "/poll [WHEN] question | option | option…".
func Parse(text string, now time.Time, loc *time.Location) (q string, opts []string, at time.Time, ok bool) {
	text = strings.TrimSpace(text)
	if first, rest, found := strings.Cut(text, " "); found {
		if t, isTime := activity.When(first, now, loc); isTime {
			at, text = t, strings.TrimSpace(rest)
		}
	}
	parts := strings.Split(strings.ReplaceAll(text, "｜", "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	if len(parts) < 3 || len(parts) > 11 || parts[0] == "" || len([]rune(parts[0])) > 255 {
		return "", nil, time.Time{}, false
	}
	for _, o := range parts[1:] {
		if o == "" || len([]rune(o)) > 100 || strings.ContainsRune(o, '\x1f') {
			return "", nil, time.Time{}, false
		}
	}
	return parts[0], parts[1:], at, true
}

// HandleCommand implements engine.Commander.
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	loc := fc.Locale()
	if ev.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group.only"))
		return nil
	}
	args := ev.Command.Args
	group := ev.GroupKey()
	switch {
	case len(args) == 0:
		return f.list(ctx, fc)
	case len(args) == 2 && (args[0] == "results" || args[0] == "close"):
		k := keys{fc.Store, group, args[1]}
		kv, err := fc.Store.Client().HGetAll(ctx, k.poll()).Result()
		if err != nil {
			return fmt.Errorf("%w: read a poll: %w", state.ErrRedis, err)
		}
		if kv["q"] == "" {
			fc.Reply(words.T(loc, "unknown", args[1]))
			return nil
		}
		if args[0] == "close" {
			if kv["state"] != "open" {
				fc.Reply(words.T(loc, "closed.already", args[1]))
				return nil
			}
			return f.close(ctx, fc, k)
		}
		text, err := results(ctx, fc, k, kv)
		if err != nil {
			return err
		}
		fc.Reply(text)
		return nil
	}
	q, opts, at, ok := Parse(ev.Command.ArgText, fc.Now, fc.Group.Location)
	if !ok {
		fc.Reply(words.T(loc, "usage"))
		return nil
	}
	if at.IsZero() {
		at = fc.Now.Add(cfg.CloseAfter.D())
	}
	rdb := fc.Store.Client()
	n, err := rdb.Incr(ctx, fc.Store.Key(group, "poll", "seq")).Result()
	if err != nil {
		return fmt.Errorf("%w: number a poll: %w", state.ErrRedis, err)
	}
	k := keys{fc.Store, group, strconv.FormatInt(n, 10)}
	native := cfg.Native && fc.Caps.Has(bot.CanPoll)
	if !native && !fc.Caps.Has(bot.CanButtons) {
		fc.Reply(words.T(loc, "cannot"))
		return nil
	}
	b := func(v bool) string {
		if v {
			return "1"
		}
		return "0"
	}
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.poll(), "q", q, "opts", strings.Join(opts, "\x1f"), "at", at.Unix(), "state", "open",
			"native", b(native), "anon", b(native && cfg.Anonymous), "multi", b(cfg.Multiple), "by", ev.Member.ID)
		p.Expire(ctx, k.poll(), at.Sub(fc.Now)+keep)
		p.SAdd(ctx, k.open(), k.id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: open a poll: %w", state.ErrRedis, err)
	}
	if err := fc.Schedule(ctx, k.id, "close", at, map[string]string{"id": k.id}); err != nil {
		return err
	}
	closes := words.T(loc, "closes", k.id, at.In(fc.Group.Location).Format("01-02 15:04"))
	if native {
		fc.Do(bot.Action{Type: bot.ActPoll, Chat: group, Poll: &bot.Poll{ID: k.id, Question: q, Options: opts, Anonymous: cfg.Anonymous, Multiple: cfg.Multiple},
			Remember: &bot.Remember{Group: group, Field: k.msgField()}})
		fc.Reply(closes)
		return nil
	}
	lines := []string{"📊 " + q}
	var rows [][]bot.ButtonSpec
	for i, o := range opts {
		lines = append(lines, fmt.Sprintf("%d. %s", i+1, o))
		rows = append(rows, []bot.ButtonSpec{{Text: o, Data: "poll:v:" + k.id + ":" + strconv.Itoa(i)}})
	}
	if cfg.Multiple {
		lines = append(lines, words.T(loc, "multiple"))
	}
	lines = append(lines, closes)
	fc.Do(bot.Action{Type: bot.ActSend, Chat: group, Text: strings.Join(lines, "\n"), Buttons: rows})
	return nil
}

func (f Flow) list(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	ids, err := fc.Store.Client().SMembers(ctx, keys{fc.Store, group, ""}.open()).Result()
	if err != nil {
		return fmt.Errorf("%w: list polls: %w", state.ErrRedis, err)
	}
	if len(ids) == 0 {
		fc.Reply(words.T(loc, "none") + "\n" + words.T(loc, "usage"))
		return nil
	}
	slices.SortFunc(ids, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	lines := []string{words.T(loc, "list")}
	for _, id := range ids {
		k := keys{fc.Store, group, id}
		kv, err := fc.Store.Client().HGetAll(ctx, k.poll()).Result()
		if err != nil {
			return fmt.Errorf("%w: read a poll: %w", state.ErrRedis, err)
		}
		n, _ := fc.Store.Client().HLen(ctx, k.votes()).Result()
		at, _ := strconv.ParseInt(kv["at"], 10, 64)
		lines = append(lines, words.T(loc, "item", id, kv["q"], n, time.Unix(at, 0).In(fc.Group.Location).Format("01-02 15:04")))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// voteScript records a member's vote while the poll is open: ARGV[2] is
// the option list ("" takes the vote back); with ARGV[3] = 'toggle' the
// one option is added to or taken out of the member's. It answers the
// member's vote after it, or an error reply 'closed'.
var voteScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return redis.error_reply('closed') end
local v = ARGV[2]
if ARGV[3] == 'toggle' then
  local cur = redis.call('HGET', KEYS[2], ARGV[1]) or ''
  local set, out, found = {}, {}, false
  for o in string.gmatch(cur, '[^,]+') do
    if o == v then found = true else table.insert(out, o) end
  end
  if not found then table.insert(out, v) end
  table.sort(out, function(a, b) return tonumber(a) < tonumber(b) end)
  v = table.concat(out, ',')
end
if v == '' then redis.call('HDEL', KEYS[2], ARGV[1]) else redis.call('HSET', KEYS[2], ARGV[1], v) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return v
`)

// Handle implements engine.EventHandler: a press on a button poll, or a
// vote in a native one.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind != bot.EventButton || ev.Button == nil || !strings.HasPrefix(ev.Button.Data, "poll:") || ev.Chat.Type != bot.ChatGroup || ev.Member.ID == "" {
		return nil
	}
	loc := fc.Locale()
	parts := strings.SplitN(ev.Button.Data, ":", 4)
	if len(parts) != 4 {
		return nil
	}
	k := keys{fc.Store, ev.GroupKey(), parts[2]}
	opts, err := fc.Store.Client().HGet(ctx, k.poll(), "opts").Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: read a poll: %w", state.ErrRedis, err)
	}
	options := strings.Split(opts, "\x1f")
	vote, mode := parts[3], "set"
	if parts[1] == "v" { // a button
		i, err := strconv.Atoi(vote)
		if err != nil || i < 0 || i >= len(options) {
			return nil
		}
		if multi, _ := fc.Store.Client().HGet(ctx, k.poll(), "multi").Result(); multi == "1" {
			mode = "toggle"
		}
	} else if vote != "" { // a native vote: indices the platform checked
		for _, o := range strings.Split(vote, ",") {
			if i, err := strconv.Atoi(o); err != nil || i < 0 || i >= len(options) {
				return nil
			}
		}
	}
	got, err := voteScript.Run(ctx, fc.Store.Client(), []string{k.poll(), k.votes()}, ev.Member.ID, vote, mode).Text()
	answer := func(text string) {
		if ev.Button.ID != "" {
			fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: text})
		}
	}
	switch {
	case err != nil && strings.Contains(err.Error(), "closed"):
		answer(words.T(loc, "closed"))
		return nil
	case err != nil && !errors.Is(err, redis.Nil):
		return fmt.Errorf("%w: vote: %w", state.ErrRedis, err)
	}
	var chosen []string
	for _, o := range strings.Split(got, ",") {
		if i, err := strconv.Atoi(o); err == nil && i < len(options) {
			chosen = append(chosen, options[i])
		}
	}
	if len(chosen) == 0 {
		answer(words.T(loc, "unvoted"))
		return nil
	}
	answer(words.T(loc, "voted", strings.Join(chosen, "、")))
	return nil
}

// HandleTimer implements engine.TimerHandler: a poll's closing time.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "close" {
		return nil
	}
	k := keys{fc.Store, fc.Event.GroupKey(), fc.Event.Timer.Args["id"]}
	return f.close(ctx, fc, k)
}

// close ends a poll and posts its results. Run again (a restart in the
// middle) it says the same, and the engine sends it once.
func (f Flow) close(ctx context.Context, fc *engine.FlowContext, k keys) error {
	rdb := fc.Store.Client()
	kv, err := rdb.HGetAll(ctx, k.poll()).Result()
	if err != nil {
		return fmt.Errorf("%w: read a poll: %w", state.ErrRedis, err)
	}
	if kv["q"] == "" {
		return nil
	}
	// closed by another update (/poll close before its time): said then
	if kv["state"] == "closed" && kv["closed_by"] != fc.Event.ID {
		return nil
	}
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.poll(), "state", "closed", "closed_by", fc.Event.ID)
		p.SRem(ctx, k.open(), k.id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: close a poll: %w", state.ErrRedis, err)
	}
	kv["state"] = "closed"
	if kv["native"] == "1" {
		g, err := fc.Store.GroupFields(ctx, k.group)
		if err != nil {
			return err
		}
		if msg := g[k.msgField()]; msg != "" {
			fc.Do(bot.Action{Type: bot.ActClosePoll, Chat: k.group, MessageID: msg})
		}
	}
	text, err := results(ctx, fc, k, kv)
	if err != nil {
		return err
	}
	fc.Do(bot.Action{Type: bot.ActSend, Chat: k.group, Text: text})
	return nil
}

// Results counts a poll's votes: per option, and the members who voted.
func Results(votes map[string]string, options int) (counts []int, voters int) {
	counts = make([]int, options)
	for _, v := range votes {
		voted := false
		for _, o := range strings.Split(v, ",") {
			if i, err := strconv.Atoi(o); err == nil && i >= 0 && i < options {
				counts[i]++
				voted = true
			}
		}
		if voted {
			voters++
		}
	}
	return counts, voters
}

func results(ctx context.Context, fc *engine.FlowContext, k keys, kv map[string]string) (string, error) {
	loc := fc.Locale()
	head := words.T(loc, "results."+kv["state"], k.id, kv["q"])
	if kv["anon"] == "1" {
		return head + "\n" + words.T(loc, "anonymous"), nil
	}
	votes, err := fc.Store.Client().HGetAll(ctx, k.votes()).Result()
	if err != nil {
		return "", fmt.Errorf("%w: read votes: %w", state.ErrRedis, err)
	}
	options := strings.Split(kv["opts"], "\x1f")
	counts, voters := Results(votes, len(options))
	lines := []string{head}
	for i, o := range options {
		share := 0
		if voters > 0 {
			share = (counts[i]*100 + voters/2) / voters
		}
		lines = append(lines, strings.TrimSpace(fmt.Sprintf("%s — %d (%d%%) %s", o, counts[i], share, strings.Repeat("▇", share/10))))
	}
	lines = append(lines, words.T(loc, "voters", voters))
	return strings.Join(lines, "\n"), nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"args": "[结束时间] 问题 | 选项 | 选项… | results ID | close ID", "help": "发起投票；不带参数列出进行中的投票",
		"group.only": "请在群里使用这个命令。", "usage": "用法：/poll 问题 | 选项一 | 选项二（2 到 10 个选项；可在最前面写结束时间，如 /poll 2h 问题 | A | B）",
		"cannot": "这个平台在这里既没有投票也没有按钮，发不了投票。", "unknown": "没有投票 %s。", "closed.already": "投票 %s 已经结束。",
		"closes": "投票 #%s，%s 截止。", "multiple": "（可多选：再点一次取消）", "none": "现在没有进行中的投票。", "list": "进行中的投票：",
		"item": "#%s %s（%d 人已投，%s 截止）", "closed": "投票已经结束。", "voted": "已投：%s", "unvoted": "已撤回你的投票。",
		"results.open": "📊 投票 #%s 目前结果：%s", "results.closed": "📊 投票 #%s 结果：%s", "voters": "共 %d 人投票。",
		"anonymous": "（匿名投票：结果见投票本身，qunbot 不记录个人选择）",
	},
	"en": {
		"args": "[WHEN] question | option | option… | results ID | close ID", "help": "open a poll; alone: the open ones",
		"group.only": "Use this command in the group.", "usage": "Usage: /poll question | option one | option two (2 to 10 options; a closing time may come first: /poll 2h question | A | B)",
		"cannot": "This platform has neither polls nor buttons here: no poll possible.", "unknown": "No poll %s.", "closed.already": "Poll %s is closed already.",
		"closes": "Poll #%s closes at %s.", "multiple": "(pick several: press again to take one back)", "none": "No open polls.", "list": "Open polls:",
		"item": "#%s %s (%d voted, closes %s)", "closed": "This poll is closed.", "voted": "Your vote: %s", "unvoted": "Your vote is taken back.",
		"results.open": "📊 Poll #%s so far: %s", "results.closed": "📊 Poll #%s results: %s", "voters": "%d members voted.",
		"anonymous": "(an anonymous poll: the results are in the poll itself; qunbot records no one's choice)",
	},
}
