// Package posts is a group's content calendar: posts on cron schedules in
// the group's time zone, with rotating texts or a file of items, images,
// buttons, pins and auto-deletion, a daily cap and quiet hours, and
// moderator commands to list, send, pause and resume them.
//
// Fires are the engine's schedules (engine.Scheduled): each is claimed once in
// Redis, so two replicas post once, and a fire missed while qunbot was
// down is sent late within the grace window or skipped.
package posts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/audience"
	"github.com/qunbot/qunbot/flows/survey"
	"github.com/qunbot/qunbot/flows/wakeup"
)

// Flow is the posts flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "posts" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return defaults() }}
}

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "posts", Help: words.T(locale, "help.posts"), Moderator: true, Group: true},
		{Name: "post", Args: "now|pause|resume <name>", Help: words.T(locale, "help.post"), Moderator: true, Group: true},
	}
}

// Schedules implements engine.Scheduled: one schedule per post.
func (Flow) Schedules(_ *config.Group, conf any) []engine.Schedule {
	cfg := conf.(*Config)
	out := make([]engine.Schedule, 0, len(cfg.Items))
	for _, p := range cfg.Items {
		out = append(out, engine.Schedule{Name: p.Name, Spec: p.Cron.Spec, Cron: p.Cron.Schedule, Grace: cfg.Grace.D()})
	}
	return out
}

type keys struct{ group string }

func (k keys) paused(fc *engine.FlowContext) string { return fc.Store.Key(k.group, "posts", "paused") }
func (k keys) index(fc *engine.FlowContext) string  { return fc.Store.Key(k.group, "posts", "index") }
func (k keys) day(fc *engine.FlowContext, t time.Time) string {
	return fc.Store.Key(k.group, "posts", "day", t.In(fc.Group.Location).Format("2006-01-02"))
}

// HandleFire implements engine.Scheduled: a post is due.
func (f Flow) HandleFire(ctx context.Context, fc *engine.FlowContext) error {
	return f.scheduled(ctx, fc, fc.Event.Timer.Args["name"])
}

// HandleTimer implements engine.TimerHandler: a post held by quiet hours,
// or one asked for now (the dashboard's "now", see NowEvent).
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	switch fc.Event.Timer.Kind {
	case "held":
		return f.scheduled(ctx, fc, fc.Event.Timer.Args["name"])
	case "now":
		p := fc.Config.(*Config).post(fc.Event.Timer.Args["name"])
		if p == nil {
			return nil
		}
		return f.now(ctx, fc, keys{fc.Event.GroupKey()}, p)
	}
	return nil
}

// NowEvent is the event that sends a group's post now, as /post now does
// (past the daily cap and quiet hours, counted toward the day), for
// callers outside a command: the dashboard.
func NowEvent(id, platform, group, name string, at time.Time) bot.Event {
	return bot.Event{ID: id, Kind: bot.EventTimer, Platform: platform, Chat: bot.Chat{Key: group, Type: bot.ChatGroup},
		Timer: &bot.Timer{Flow: "posts", Kind: "now", Args: map[string]string{"name": name}}, Time: at}
}

// now is an explicit send: it skips the cap and quiet hours, but counts
// toward the day.
func (f Flow) now(ctx context.Context, fc *engine.FlowContext, k keys, p *Post) error {
	if err := fc.Store.Client().Incr(ctx, k.day(fc, fc.Now)).Err(); err != nil {
		return fmt.Errorf("count today's posts: %w", err)
	}
	return f.send(ctx, fc, k, p)
}

// SetPaused pauses or resumes a group's post.
func SetPaused(ctx context.Context, s *state.Store, group, name string, paused bool) error {
	k := s.Key(group, "posts", "paused")
	var err error
	if paused {
		err = s.Client().SAdd(ctx, k, name).Err()
	} else {
		err = s.Client().SRem(ctx, k, name).Err()
	}
	if err != nil {
		return fmt.Errorf("%w: pause or resume a post: %w", state.ErrRedis, err)
	}
	return nil
}

// Entry is a post of the content calendar as it stands in a group.
type Entry struct {
	Name, Spec string
	Paused     bool
	// File posts: the next item's place and how many there are
	File        bool
	Next, Items int
	SentToday   int
}

// Calendar reads a group's posts: paused or not, where a file post
// stands, how many were sent today (day: the group's date).
func Calendar(ctx context.Context, s *state.Store, group string, cfg *Config, day string) ([]Entry, error) {
	rdb := s.Client()
	paused, err := rdb.SMembers(ctx, s.Key(group, "posts", "paused")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: read paused posts: %w", state.ErrRedis, err)
	}
	idx, err := rdb.HGetAll(ctx, s.Key(group, "posts", "index")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: read post positions: %w", state.ErrRedis, err)
	}
	today, err := rdb.Get(ctx, s.Key(group, "posts", "day", day)).Int()
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("%w: count today's posts: %w", state.ErrRedis, err)
	}
	out := make([]Entry, 0, len(cfg.Items))
	for _, p := range cfg.Items {
		e := Entry{Name: p.Name, Spec: p.Cron.Spec, Paused: slices.Contains(paused, p.Name), SentToday: today}
		if p.File != "" {
			items, _ := readItems(string(p.File))
			e.File, e.Items = true, len(items)
			fmt.Sscan(idx[p.Name], &e.Next)
		}
		out = append(out, e)
	}
	return out, nil
}

func (f Flow) scheduled(ctx context.Context, fc *engine.FlowContext, name string) error {
	cfg := fc.Config.(*Config)
	p := cfg.post(name)
	if p == nil {
		return nil // removed from the config since
	}
	k := keys{fc.Event.GroupKey()}
	log := fc.Log.With(zap.String("group", k.group), zap.String("post", name))
	paused, err := fc.Store.Client().SIsMember(ctx, k.paused(fc), name).Result()
	if err != nil {
		return fmt.Errorf("read paused posts: %w", err)
	}
	if paused {
		log.Info("post paused; fire skipped")
		return nil
	}
	if held, err := fc.HoldForQuietHours(ctx, cfg.QuietHours, name, map[string]string{"name": name}); held || err != nil {
		return err
	}
	ok, err := takeDaily(ctx, fc, k, cfg.DailyCap)
	if err != nil {
		return err
	}
	if !ok {
		log.Warn("daily post cap reached; post skipped", zap.Int("daily_cap", cfg.DailyCap))
		return nil
	}
	return f.send(ctx, fc, k, p)
}

// capScript counts a post against the day's cap, if it is under it.
var capScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > 0 and n >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 172800000)
return 1
`)

func takeDaily(ctx context.Context, fc *engine.FlowContext, k keys, limit int) (bool, error) {
	n, err := capScript.Run(ctx, fc.Store.Client(), []string{k.day(fc, fc.Now)}, limit).Int()
	if err != nil {
		return false, fmt.Errorf("count today's posts: %w", err)
	}
	return n == 1, nil
}

// send posts p now.
func (f Flow) send(ctx context.Context, fc *engine.FlowContext, k keys, p *Post) error {
	text, err := f.content(ctx, fc, k, p)
	if err != nil {
		return err
	}
	if text == "" {
		return nil
	}
	var row []bot.ButtonSpec
	for _, b := range p.Buttons {
		row = append(row, bot.ButtonSpec{Text: b.Text, URL: b.URL})
	}
	if p.Survey != "" && fc.Caps.Has(bot.CanButtons) {
		row = append(row, survey.StartButton(fc.Locale(), p.Survey)) // a press starts it privately
	}
	a := bot.Action{Type: bot.ActSend, Chat: k.group, Text: text, Image: p.Image, Pin: p.Pin, DeleteAfter: p.DeleteAfter.D(), Bulk: true}
	if len(row) > 0 {
		a.Buttons = [][]bot.ButtonSpec{row}
	}
	if p.Pin && !fc.Caps.Has(bot.CanPin) {
		a.Pin = false
		fc.Log.Warn("this platform cannot pin here; post sent unpinned", zap.String("post", p.Name))
	}
	if !p.Audience.IsZero() {
		return f.toAudience(ctx, fc, p, a)
	}
	fc.Do(a)
	fc.Count(kpi.Posts, 1)
	return nil
}

// mentionBatch is how many members one group message mentions.
const mentionBatch = 20

// toAudience sends a post to the members its audience picks: each
// privately where the platform can, else in the group, mentioning them
// in batches. The daily cap and quiet hours applied to the fire.
func (f Flow) toAudience(ctx context.Context, fc *engine.FlowContext, p *Post, a bot.Action) error {
	var tiers wakeup.Tiers
	if c, on := fc.Flow("wakeup"); on {
		tiers = c.(*wakeup.Config).Tiers
	} else {
		tiers = wakeup.DefaultTiers()
	}
	ids, _, err := audience.Resolve(ctx, fc.Store, a.Chat, p.Audience, tiers, fc.Now, true)
	if err != nil {
		return err
	}
	log := fc.Log.With(zap.String("post", p.Name), zap.Int("audience", len(ids)))
	if len(ids) == 0 {
		log.Info("post's audience is empty; nothing sent")
		return nil
	}
	if fc.Caps.Has(bot.CanDM) {
		for _, id := range ids {
			dm := a
			dm.Type, dm.Member, dm.Pin, dm.DeleteAfter = bot.ActDM, bot.Member{ID: id}, false, 0
			fc.Do(dm)
		}
	} else {
		for i := 0; i < len(ids); i += mentionBatch {
			var ms []string
			var named []bot.Member
			for _, id := range ids[i:min(i+mentionBatch, len(ids))] {
				m, err := fc.Store.Member(ctx, a.Chat, id)
				if err != nil {
					return err
				}
				ms = append(ms, render.NewMember(id, m.Name, m.Username).Mention)
				named = append(named, bot.Member{ID: id, Name: m.Name, Username: m.Username})
			}
			batch := a
			batch.Text = strings.Join(ms, " ") + "\n" + a.Text
			batch.Mentioned = named
			batch.Pin = batch.Pin && i == 0
			fc.Do(batch)
		}
	}
	log.Info("post sent to its audience", zap.Bool("private", fc.Caps.Has(bot.CanDM)))
	fc.Count(kpi.Posts, 1)
	return nil
}

// content renders the post's next text: its template, the next of its
// rotating texts, or the next item of its file.
func (f Flow) content(ctx context.Context, fc *engine.FlowContext, k keys, p *Post) (string, error) {
	data := func(n int64) map[string]any { return map[string]any{"Post": p.Name, "Number": n} }
	switch {
	case !p.Text.IsZero():
		s, err := p.Text.Render(fc.Data(data(0)))
		return strings.TrimSpace(s), err
	case len(p.Texts) > 0:
		n, err := fc.Store.Client().HIncrBy(ctx, k.index(fc), p.Name, 1).Result()
		if err != nil {
			return "", fmt.Errorf("advance post rotation: %w", err)
		}
		s, err := p.Texts[(n-1)%int64(len(p.Texts))].Render(fc.Data(data(n)))
		return strings.TrimSpace(s), err
	}
	items, err := readItems(string(p.File))
	if err != nil || len(items) == 0 {
		fc.Log.Error("post file unreadable or empty; post skipped", zap.String("post", p.Name), zap.Error(err))
		return "", nil
	}
	n, err := fc.Store.Client().HIncrBy(ctx, k.index(fc), p.Name, 1).Result()
	if err != nil {
		return "", fmt.Errorf("advance post file: %w", err)
	}
	if n > int64(len(items)) && !p.Loop {
		// stay at the end, so /posts shows it finished
		fc.Store.Client().HIncrBy(ctx, k.index(fc), p.Name, -1)
		fc.Log.Warn("post file finished; add items or set loop: true", zap.String("post", p.Name), zap.Int("items", len(items)))
		return "", nil
	}
	return items[(n-1)%int64(len(items))], nil
}

// HandleCommand implements engine.Commander.
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		return nil
	}
	loc := fc.Locale()
	if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group.only"))
		return nil
	}
	k := keys{fc.Event.GroupKey()}
	if fc.Event.Command.Name == "posts" {
		return f.list(ctx, fc, cfg, k)
	}
	args := fc.Event.Command.Args
	if len(args) != 2 {
		fc.Reply(words.T(loc, "post.usage"))
		return nil
	}
	p := cfg.post(args[1])
	if p == nil {
		fc.Reply(words.T(loc, "post.unknown", args[1]))
		return nil
	}
	switch args[0] {
	case "now":
		return f.now(ctx, fc, k, p)
	case "pause":
		if err := SetPaused(ctx, fc.Store, k.group, p.Name, true); err != nil {
			return err
		}
		fc.Reply(words.T(loc, "post.paused", p.Name))
	case "resume":
		if err := SetPaused(ctx, fc.Store, k.group, p.Name, false); err != nil {
			return err
		}
		fc.Reply(words.T(loc, "post.resumed", p.Name))
	default:
		fc.Reply(words.T(loc, "post.usage"))
	}
	return nil
}

func (f Flow) list(ctx context.Context, fc *engine.FlowContext, cfg *Config, k keys) error {
	loc := fc.Locale()
	if len(cfg.Items) == 0 {
		fc.Reply(words.T(loc, "posts.none"))
		return nil
	}
	cal, err := Calendar(ctx, fc.Store, k.group, cfg, fc.Now.In(fc.Group.Location).Format("2006-01-02"))
	if err != nil {
		return err
	}
	lines := []string{words.T(loc, "posts.title")}
	today := 0
	for _, e := range cal {
		today = e.SentToday
		next, ok, err := fc.NextFire(ctx, e.Name)
		if err != nil {
			return err
		}
		when := "—"
		if ok {
			when = next.In(fc.Group.Location).Format("01-02 15:04")
		}
		line := words.T(loc, "posts.line", e.Name, e.Spec, when)
		if e.File {
			line += words.T(loc, "posts.file", e.Next, e.Items)
		}
		if e.Paused {
			line += words.T(loc, "posts.paused")
		}
		lines = append(lines, line)
	}
	if cfg.DailyCap > 0 {
		lines = append(lines, words.T(loc, "posts.cap", today, cfg.DailyCap))
	}
	if q := cfg.QuietHours.String(); q != "" {
		lines = append(lines, words.T(loc, "posts.quiet", q))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"help.posts":   "内容日历：定时帖子与下次发布时间",
		"help.post":    "立即发布、暂停或恢复一个定时帖子",
		"group.only":   "请在群里使用这个命令。",
		"post.usage":   "用法：/post now|pause|resume <名称>",
		"post.unknown": "没有名为 %s 的定时帖子。发送 /posts 查看。",
		"post.paused":  "⏸ 已暂停定时帖子 %s。",
		"post.resumed": "▶️ 已恢复定时帖子 %s。",
		"posts.none":   "本群没有配置定时帖子。",
		"posts.title":  "📅 内容日历：",
		"posts.line":   "• %s（%s）下次：%s",
		"posts.file":   " · 已发 %d/%d 条",
		"posts.paused": " · 已暂停",
		"posts.cap":    "今日已发 %d 条，上限 %d 条。",
		"posts.quiet":  "免打扰时段：%s",
	},
	"en": {
		"help.posts":   "Content calendar: scheduled posts and their next times",
		"help.post":    "Send, pause or resume a scheduled post",
		"group.only":   "Use this command in the group.",
		"post.usage":   "Usage: /post now|pause|resume <name>",
		"post.unknown": "No scheduled post named %s. Send /posts for the list.",
		"post.paused":  "⏸ Paused the scheduled post %s.",
		"post.resumed": "▶️ Resumed the scheduled post %s.",
		"posts.none":   "No scheduled posts in this group.",
		"posts.title":  "📅 Content calendar:",
		"posts.line":   "• %s (%s) next: %s",
		"posts.file":   " · %d/%d items sent",
		"posts.paused": " · paused",
		"posts.cap":    "%d posted today, cap %d.",
		"posts.quiet":  "Quiet hours: %s",
	},
}
