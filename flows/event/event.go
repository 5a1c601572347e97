// Package event is sign-ups for community events (线上品鉴会, 线下社群日):
// a moderator posts an event from the config with /event NAME; members
// sign up by a button, up to its capacity, the rest on a waiting list; a
// place given back moves the first waiting member up and tells them;
// members who have a place are reminded privately before it starts; at
// the event they check in with its code (/attend CODE), which counts as
// attendance in the day's record and tags them.
package event

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/activity"
	"github.com/qunbot/qunbot/flows/tags"
)

// Config is the event section.
type Config struct {
	Events []Event `yaml:"events,seq"`
	// Remind is when members with a place are reminded, before the start.
	Remind []config.Duration `yaml:"remind"`
}

// Event is one event.
type Event struct {
	Name     string `yaml:"name"`
	Title    string `yaml:"title"`
	At       string `yaml:"at"` // RFC 3339, or "2006-01-02 15:04" in the group's zone
	Place    string `yaml:"place"`
	Capacity int    `yaml:"capacity"` // 0: no limit
	// Code is what members send to check in; empty: one is made when the
	// event is posted and sent to the moderator who posted it.
	Code     string               `yaml:"code"`
	Tag      string               `yaml:"tag"` // set on attendees
	Eligible activity.Eligibility `yaml:"eligible"`
	// Remind overrides the section's remind for this event.
	Remind []config.Duration `yaml:"remind"`
	// Lasts is how long after the start check-in stays open.
	Lasts config.Duration `yaml:"lasts"`
}

var nameRe = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// Start is when the event starts, read in loc.
func (e *Event) Start(loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, e.At); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", e.At, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("write the start as 2026-12-05 20:00 or RFC 3339")
	}
	return t, nil
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	seen := map[string]bool{}
	for i := range c.Events {
		e := &c.Events[i]
		at := fmt.Sprintf("events[%d].", i)
		if !nameRe.MatchString(e.Name) || seen[e.Name] {
			report(at+"name", "a unique name of 1 to 32 of a-z, 0-9, _ and -")
		}
		seen[e.Name] = true
		if _, err := e.Start(time.UTC); err != nil {
			report(at+"at", err.Error())
		}
		if e.Capacity < 0 {
			report(at+"capacity", "must not be negative (0: no limit)")
		}
		e.Eligible.Validate(at+"eligible", report)
	}
	for i, d := range c.Remind {
		if d <= 0 {
			report(fmt.Sprintf("remind[%d]", i), "must be above zero")
		}
	}
}

func (c *Config) event(name string) *Event {
	for i := range c.Events {
		if c.Events[i].Name == name {
			return &c.Events[i]
		}
	}
	return nil
}

// Flow is the event flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "event" }

// Schema implements engine.Flow: on where the config has a section.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any {
		return &Config{Remind: []config.Duration{config.Duration(24 * time.Hour), config.Duration(time.Hour)}}
	}}
}

// Stage implements engine.EventHandler: the sign-up buttons.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// An event's state: {g}:ev:<name> (code, posted), {g}:ev:<name>:in the
// sign-ups by when (the first capacity have places, the rest wait),
// {g}:ev:<name>:wl those who signed up onto the waiting list and have not
// been told of a place yet, {g}:ev:<name>:att the attendees.
type keys struct {
	s     *state.Store
	group string
	name  string
}

func (k keys) meta() string     { return k.s.Key(k.group, "ev", k.name) }
func (k keys) signups() string  { return k.s.Key(k.group, "ev", k.name, "in") }
func (k keys) waiting() string  { return k.s.Key(k.group, "ev", k.name, "wl") }
func (k keys) attended() string { return k.s.Key(k.group, "ev", k.name, "att") }

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "event", Args: "[NAME] [list]", Help: words.T(loc, "help.event"), Moderator: true},
		{Name: "attend", Args: "CODE", Help: words.T(loc, "help.attend")},
		{Name: "signup", Args: "NAME [cancel]", Help: words.T(loc, "help.signup")},
	}
}

func title(e *Event) string {
	if e.Title != "" {
		return e.Title
	}
	return e.Name
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
	if ev.Command.Name == "attend" {
		if len(args) != 1 {
			fc.Reply(words.T(loc, "attend.usage"))
			return nil
		}
		text, err := f.attend(ctx, fc, cfg, args[0])
		if err != nil {
			return err
		}
		fc.Reply(text)
		return nil
	}
	if ev.Command.Name == "signup" {
		// sign-ups where the platform has no buttons
		var e *Event
		if len(args) >= 1 {
			e = cfg.event(args[0])
		}
		if e == nil || len(args) > 2 || (len(args) == 2 && args[1] != "cancel") {
			fc.Reply(words.T(loc, "signup.usage", names(cfg)))
			return nil
		}
		k := keys{fc.Store, ev.GroupKey(), e.Name}
		text, err := f.signUp(ctx, fc, e, k)
		if len(args) == 2 {
			text, err = f.cancel(ctx, fc, e, k)
		}
		if err != nil {
			return err
		}
		fc.Reply(text)
		return nil
	}
	if len(args) == 0 {
		return f.list(ctx, fc, cfg)
	}
	e := cfg.event(args[0])
	if e == nil {
		fc.Reply(words.T(loc, "unknown", args[0], names(cfg)))
		return nil
	}
	k := keys{fc.Store, ev.GroupKey(), e.Name}
	if len(args) == 2 && args[1] == "list" {
		return f.roster(ctx, fc, e, k)
	}
	return f.post(ctx, fc, cfg, e, k)
}

func names(cfg *Config) string {
	var n []string
	for _, e := range cfg.Events {
		n = append(n, e.Name)
	}
	return strings.Join(n, ", ")
}

// post puts up the sign-up message, makes the check-in code, and sets
// the reminders (once per event: posting again only puts the message up
// again).
func (f Flow) post(ctx context.Context, fc *engine.FlowContext, cfg *Config, e *Event, k keys) error {
	loc := fc.Locale()
	start, _ := e.Start(fc.Group.Location)
	if !start.After(fc.Now) {
		fc.Reply(words.T(loc, "past", title(e)))
		return nil
	}
	rdb := fc.Store.Client()
	code := e.Code
	if code == "" {
		n, err := rand.Int(rand.Reader, big.NewInt(900000))
		if err != nil {
			return fmt.Errorf("event code: %w", err)
		}
		code = strconv.FormatInt(100000+n.Int64(), 10)
	}
	ttl := start.Sub(fc.Now) + 90*24*time.Hour
	if _, err := rdb.HSetNX(ctx, k.meta(), "code", code).Result(); err != nil {
		return fmt.Errorf("%w: post an event: %w", state.ErrRedis, err)
	}
	rdb.Expire(ctx, k.meta(), ttl)
	code, err := rdb.HGet(ctx, k.meta(), "code").Result()
	if err != nil {
		return fmt.Errorf("%w: read an event: %w", state.ErrRedis, err)
	}
	remind := cfg.Remind
	if len(e.Remind) > 0 {
		remind = e.Remind
	}
	for _, d := range remind {
		if at := start.Add(-d.D()); at.After(fc.Now) {
			if err := fc.Schedule(ctx, e.Name+":"+config.FormatDuration(d.D()), "remind", at, map[string]string{"event": e.Name, "before": config.FormatDuration(d.D())}); err != nil {
				return err
			}
		}
	}
	n, err := rdb.ZCard(ctx, k.signups()).Result()
	if err != nil {
		return fmt.Errorf("%w: read sign-ups: %w", state.ErrRedis, err)
	}
	lines := []string{words.T(loc, "post", title(e), start.In(fc.Group.Location).Format("01-02 15:04"))}
	if e.Place != "" {
		lines = append(lines, words.T(loc, "place", e.Place))
	}
	lines = append(lines, places(loc, e, n))
	if d := e.Eligible.Describe(loc); d != "" {
		lines = append(lines, words.T(loc, "who", d))
	}
	a := bot.Action{Type: bot.ActSend, Chat: k.group, Text: strings.Join(lines, "\n")}
	if fc.Caps.Has(bot.CanButtons) {
		a.Buttons = [][]bot.ButtonSpec{{{Text: words.T(loc, "in.button"), Data: "ev:in:" + e.Name}, {Text: words.T(loc, "out.button"), Data: "ev:out:" + e.Name}}}
	} else {
		a.Text += "\n" + words.T(loc, "signup.how", e.Name)
	}
	fc.Do(a)
	if e.Code == "" {
		fc.Do(bot.Action{Type: bot.ActDM, Chat: k.group, Member: fc.Event.Member, Text: words.T(loc, "code", title(e), code)})
	}
	return nil
}

func places(loc string, e *Event, n int64) string {
	if e.Capacity == 0 {
		return words.T(loc, "count", n)
	}
	return words.T(loc, "places", e.Capacity, max(int64(e.Capacity)-n, 0))
}

// signupScript signs a member up once; it answers {added, rank (0-based),
// count}. The order is by arrival (a counter, not the clock: two presses
// in one millisecond must not trade places later).
var signupScript = redis.NewScript(`
local added = 0
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
  added = redis.call('ZADD', KEYS[1], seq, ARGV[1])
end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[3])
if added == 1 and cap > 0 and rank >= cap then redis.call('SADD', KEYS[2], ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {added, rank, n}
`)

// cancelScript takes a sign-up back; it answers whether it was there and
// the members the waiting list moves up into the places (told once).
var cancelScript = redis.NewScript(`
local was = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
local cap = tonumber(ARGV[2])
local up = {}
if cap > 0 then
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, cap - 1)) do
    if redis.call('SREM', KEYS[2], m) == 1 then table.insert(up, m) end
  end
end
return {was, up}
`)

// Handle implements engine.EventHandler: the buttons, and a check-in
// code sent as a message.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	ev := fc.Event
	if cfg == nil || ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	if ev.Kind != bot.EventButton || ev.Button == nil || !strings.HasPrefix(ev.Button.Data, "ev:") {
		return nil
	}
	what, name, _ := strings.Cut(strings.TrimPrefix(ev.Button.Data, "ev:"), ":")
	e := cfg.event(name)
	if e == nil {
		return nil
	}
	k := keys{fc.Store, ev.GroupKey(), e.Name}
	var text string
	var err error
	switch what {
	case "in":
		text, err = f.signUp(ctx, fc, e, k)
	case "out":
		text, err = f.cancel(ctx, fc, e, k)
	}
	if err != nil {
		return err
	}
	fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: text})
	return nil
}

func (f Flow) signUp(ctx context.Context, fc *engine.FlowContext, e *Event, k keys) (string, error) {
	loc := fc.Locale()
	ev := fc.Event
	start, _ := e.Start(fc.Group.Location)
	if !start.After(fc.Now) {
		return words.T(loc, "started"), nil
	}
	m := fc.Member
	if m == nil {
		var err error
		if m, err = fc.Store.Member(ctx, k.group, ev.Member.ID); err != nil {
			return "", err
		}
	}
	if ok, why, err := e.Eligible.Check(ctx, fc, m); err != nil || !ok {
		return why, err
	}
	ttl := start.Sub(fc.Now) + 90*24*time.Hour
	res, err := signupScript.Run(ctx, fc.Store.Client(), []string{k.signups(), k.waiting(), k.meta()}, ev.Member.ID, 0, e.Capacity, ttl.Milliseconds()).Int64Slice()
	if err != nil {
		return "", fmt.Errorf("%w: sign up: %w", state.ErrRedis, err)
	}
	added, rank := res[0] == 1, res[1]
	if added {
		fc.Count(kpi.Signups, 1)
	}
	switch {
	case e.Capacity > 0 && rank >= int64(e.Capacity):
		return words.T(loc, "waiting", rank-int64(e.Capacity)+1), nil
	case added:
		return words.T(loc, "in", title(e), start.In(fc.Group.Location).Format("01-02 15:04")), nil
	}
	return words.T(loc, "in.again"), nil
}

func (f Flow) cancel(ctx context.Context, fc *engine.FlowContext, e *Event, k keys) (string, error) {
	loc := fc.Locale()
	res, err := cancelScript.Run(ctx, fc.Store.Client(), []string{k.signups(), k.waiting()}, fc.Event.Member.ID, e.Capacity).Slice()
	if err != nil {
		return "", fmt.Errorf("%w: cancel a sign-up: %w", state.ErrRedis, err)
	}
	if was, _ := res[0].(int64); was == 0 {
		return words.T(loc, "out.none"), nil
	}
	up, _ := res[1].([]any)
	start, _ := e.Start(fc.Group.Location)
	for _, u := range up {
		id, _ := u.(string)
		m, err := fc.Store.Member(ctx, k.group, id)
		if err != nil {
			return "", err
		}
		who := bot.Member{ID: id, Name: m.Name, Username: m.Username}
		fc.Do(bot.Action{Type: bot.ActDM, Chat: k.group, Member: who, Text: words.T(loc, "promoted", title(e), start.In(fc.Group.Location).Format("01-02 15:04")),
			Fallback: render.NewMember(id, m.Name, m.Username).Mention + " " + words.T(loc, "promoted", title(e), start.In(fc.Group.Location).Format("01-02 15:04"))})
	}
	return words.T(loc, "out", title(e)), nil
}

// HandleTimer implements engine.TimerHandler: the reminders.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	if cfg == nil || fc.Event.Timer.Kind != "remind" {
		return nil
	}
	e := cfg.event(fc.Event.Timer.Args["event"])
	if e == nil {
		return nil // gone from the config
	}
	loc := fc.Locale()
	k := keys{fc.Store, fc.Event.GroupKey(), e.Name}
	limit := int64(-1)
	if e.Capacity > 0 {
		limit = int64(e.Capacity) - 1
	}
	ids, err := fc.Store.Client().ZRange(ctx, k.signups(), 0, limit).Result()
	if err != nil {
		return fmt.Errorf("%w: read sign-ups: %w", state.ErrRedis, err)
	}
	start, _ := e.Start(fc.Group.Location)
	d, _ := config.ParseDuration(fc.Event.Timer.Args["before"])
	text := words.T(loc, "remind", title(e), i18n.Duration(loc, d), start.In(fc.Group.Location).Format("01-02 15:04"))
	if e.Place != "" {
		text += "\n" + words.T(loc, "place", e.Place)
	}
	for _, id := range ids {
		m, err := fc.Store.Member(ctx, k.group, id)
		if err != nil {
			return err
		}
		fc.Do(bot.Action{Type: bot.ActDM, Chat: k.group, Member: bot.Member{ID: id, Name: m.Name, Username: m.Username}, Text: text, Bulk: true})
	}
	return nil
}

// attend checks a member in with a code: the event whose code it is,
// from an hour before its start until lasts after (default 6 h), for
// members with a place.
func (f Flow) attend(ctx context.Context, fc *engine.FlowContext, cfg *Config, code string) (string, error) {
	loc := fc.Locale()
	ev := fc.Event
	rdb := fc.Store.Client()
	for i := range cfg.Events {
		e := &cfg.Events[i]
		k := keys{fc.Store, ev.GroupKey(), e.Name}
		c, err := rdb.HGet(ctx, k.meta(), "code").Result()
		if errors.Is(err, redis.Nil) || c != code {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%w: read an event: %w", state.ErrRedis, err)
		}
		start, _ := e.Start(fc.Group.Location)
		lasts := e.Lasts.D()
		if lasts <= 0 {
			lasts = 6 * time.Hour
		}
		if fc.Now.Before(start.Add(-time.Hour)) || fc.Now.After(start.Add(lasts)) {
			return words.T(loc, "attend.closed", title(e)), nil
		}
		rank, err := rdb.ZRank(ctx, k.signups(), ev.Member.ID).Result()
		if errors.Is(err, redis.Nil) || (err == nil && e.Capacity > 0 && rank >= int64(e.Capacity)) {
			return words.T(loc, "attend.noplace", title(e)), nil
		}
		if err != nil {
			return "", fmt.Errorf("%w: read sign-ups: %w", state.ErrRedis, err)
		}
		added, err := rdb.SAdd(ctx, k.attended(), ev.Member.ID).Result()
		if err != nil {
			return "", fmt.Errorf("%w: check in: %w", state.ErrRedis, err)
		}
		rdb.Expire(ctx, k.attended(), 400*24*time.Hour)
		if added == 0 {
			return words.T(loc, "attend.again", title(e)), nil
		}
		fc.Count(kpi.Attended, 1)
		if e.Tag != "" {
			if err := tags.Add(ctx, fc.Store, ev.GroupKey(), ev.Member.ID, e.Tag, "attended "+e.Name, 0, fc.Now); err != nil {
				return "", err
			}
		}
		return words.T(loc, "attended", title(e)), nil
	}
	return words.T(loc, "attend.bad"), nil
}

func (f Flow) list(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	if len(cfg.Events) == 0 {
		fc.Reply(words.T(loc, "none"))
		return nil
	}
	lines := []string{words.T(loc, "list")}
	for i := range cfg.Events {
		e := &cfg.Events[i]
		k := keys{fc.Store, fc.Event.GroupKey(), e.Name}
		n, err := fc.Store.Client().ZCard(ctx, k.signups()).Result()
		if err != nil {
			return fmt.Errorf("%w: read sign-ups: %w", state.ErrRedis, err)
		}
		start, _ := e.Start(fc.Group.Location)
		lines = append(lines, fmt.Sprintf("• %s %s %s — %s", e.Name, title(e), start.In(fc.Group.Location).Format("01-02 15:04"), places(loc, e, n)))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// roster shows who has a place, who waits and who came.
func (f Flow) roster(ctx context.Context, fc *engine.FlowContext, e *Event, k keys) error {
	loc := fc.Locale()
	rdb := fc.Store.Client()
	ids, err := rdb.ZRange(ctx, k.signups(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("%w: read sign-ups: %w", state.ErrRedis, err)
	}
	came, err := rdb.SMembers(ctx, k.attended()).Result()
	if err != nil {
		return fmt.Errorf("%w: read attendance: %w", state.ErrRedis, err)
	}
	here := map[string]bool{}
	for _, id := range came {
		here[id] = true
	}
	var in, wait []string
	for i, id := range ids {
		m, err := fc.Store.Member(ctx, k.group, id)
		if err != nil {
			return err
		}
		name := render.NewMember(id, m.Name, m.Username).Mention
		if here[id] {
			name += " ✓"
		}
		if e.Capacity > 0 && i >= e.Capacity {
			wait = append(wait, name)
		} else {
			in = append(in, name)
		}
	}
	lines := []string{words.T(loc, "roster", title(e), len(in), len(came)), strings.Join(in, " ")}
	if len(wait) > 0 {
		lines = append(lines, words.T(loc, "roster.wait", len(wait)), strings.Join(wait, " "))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"help.event": "活动报名：/event 名称 发布报名；/event 名称 list 看名单", "help.attend": "活动现场签到：/attend 签到码", "help.signup": "报名活动（/signup 名称），取消：/signup 名称 cancel",
		"signup.usage": "用法：/signup 活动名 [cancel]。活动：%s", "signup.how": "发送 /signup %s 报名。",
		"group.only": "请在群里使用这个命令。", "unknown": "没有活动“%s”。可选：%s", "none": "配置里还没有活动（event.events）。", "list": "活动：",
		"past": "活动“%s”已经开始或结束了。", "post": "📅 %s\n时间：%s", "place": "地点：%s", "count": "已报名 %d 人。",
		"places": "名额 %d 个，剩余 %d 个（满员后可排队候补）。", "who": "报名条件：%s。",
		"in.button": "✋ 报名", "out.button": "取消报名", "code": "“%s”的现场签到码是 %s：活动开始时告诉大家发送 /attend %[2]s。",
		"started": "活动已经开始，报名已截止。", "waiting": "名额已满，你在候补第 %d 位；有人取消时会私信通知你。",
		"in": "报名成功：%s，%s。开始前会私信提醒你。", "in.again": "你已经报过名了。", "out.none": "你还没有报名。", "out": "已取消“%s”的报名。",
		"promoted": "🎉 有人取消了，你从候补转为正式报名：%s，%s。", "remind": "⏰ 提醒：“%s”还有 %s 开始（%s）。",
		"attend.usage": "用法：/attend 签到码", "attend.bad": "签到码不对。", "attend.closed": "“%s”现在不在签到时间内。",
		"attend.noplace": "你没有“%s”的正式名额，签到未记录。", "attend.again": "你已经签到过“%s”了。", "attended": "✅ 签到成功：%s，欢迎！",
		"roster": "“%s”：正式 %d 人，已签到 %d 人", "roster.wait": "候补 %d 人：",
	},
	"en": {
		"help.event": "event sign-ups: /event NAME posts one; /event NAME list shows who", "help.attend": "check in at an event: /attend CODE", "help.signup": "sign up for an event (/signup NAME), cancel: /signup NAME cancel",
		"signup.usage": "Usage: /signup EVENT [cancel]. Events: %s", "signup.how": "Send /signup %s to sign up.",
		"group.only": "Use this command in the group.", "unknown": "No event “%s”. Available: %s", "none": "No events in the config (event.events).", "list": "Events:",
		"past": "“%s” has started or is over.", "post": "📅 %s\nWhen: %s", "place": "Where: %s", "count": "%d signed up.",
		"places": "%d places, %d left (then a waiting list).", "who": "Who may sign up: %s.",
		"in.button": "✋ Sign up", "out.button": "Cancel", "code": "The check-in code of “%s” is %s: at the event, ask everyone to send /attend %[2]s.",
		"started": "It has started: sign-ups are closed.", "waiting": "It is full: you are number %d on the waiting list; you will hear privately when a place frees up.",
		"in": "You are in: %s, %s. You will be reminded privately.", "in.again": "You are signed up already.", "out.none": "You are not signed up.", "out": "Your sign-up for “%s” is cancelled.",
		"promoted": "🎉 A place freed up: you are in for %s, %s.", "remind": "⏰ Reminder: “%s” starts in %s (%s).",
		"attend.usage": "Usage: /attend CODE", "attend.bad": "That code is not right.", "attend.closed": "Check-in for “%s” is not open now.",
		"attend.noplace": "You have no place at “%s”: check-in not recorded.", "attend.again": "You checked in at “%s” already.", "attended": "✅ Checked in: %s. Welcome!",
		"roster": "“%s”: %d with places, %d checked in", "roster.wait": "%d waiting:",
	},
}
