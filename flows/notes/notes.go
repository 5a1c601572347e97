// Package notes is the group's rules and its notes (Rose's): /rules shows
// the rules from the config; moderators /save a note, anyone reads it
// with /get NAME or #NAME, /notes lists them, /clear removes one.
package notes

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// Config is the notes section.
type Config struct {
	// Rules are the group's rules (a template), shown by /rules.
	Rules render.Template `yaml:"rules"`
}

// Flow is the notes flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "notes" }

// Schema implements engine.Flow: on unless a config turns it off.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }, DefaultOn: true}
}

// Stage implements engine.EventHandler: #name in a message.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

var words = i18n.Catalog{
	"zh-CN": {
		"help.rules": "群规", "help.save": "保存一条笔记：/save 名称 内容", "help.get": "查看笔记（也可以发 #名称）", "help.notes": "笔记列表", "help.clear": "删除一条笔记",
		"norules": "本群还没有设置群规。", "button": "📜 群规", "sent": "群规已私信发给你。", "usage.save": "用法：/save 名称 内容", "usage.get": "用法：/get 名称", "usage.clear": "用法：/clear 名称",
		"badname": "笔记名称是 1 到 32 个字母、数字、汉字、_ 或 -。", "saved": "已保存笔记 #%s。", "none": "没有叫 #%s 的笔记。", "list": "本群笔记（发 #名称 查看）：", "empty": "本群还没有笔记。", "cleared": "已删除笔记 #%s。",
	},
	"en": {
		"help.rules": "the group's rules", "help.save": "save a note: /save NAME TEXT", "help.get": "show a note (or send #NAME)", "help.notes": "the group's notes", "help.clear": "remove a note",
		"norules": "This group has no rules set.", "button": "📜 Rules", "sent": "The rules are in your private messages.", "usage.save": "Usage: /save NAME TEXT", "usage.get": "Usage: /get NAME", "usage.clear": "Usage: /clear NAME",
		"badname": "A note's name is 1 to 32 letters, digits, _ or -.", "saved": "Saved note #%s.", "none": "No note #%s.", "list": "Notes here (send #NAME to see one):", "empty": "No notes here yet.", "cleared": "Removed note #%s.",
	},
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "rules", Help: words.T(loc, "help.rules")},
		{Name: "get", Args: "NAME", Help: words.T(loc, "help.get")},
		{Name: "notes", Help: words.T(loc, "help.notes")},
		{Name: "save", Args: "NAME TEXT", Help: words.T(loc, "help.save"), Moderator: true},
		{Name: "clear", Args: "NAME", Help: words.T(loc, "help.clear"), Moderator: true},
	}
}

var nameRe = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,32}$`)

func key(s *state.Store, group string) string { return s.Key(group, "notes") }

func get(ctx context.Context, fc *engine.FlowContext, name string) error {
	loc := fc.Locale()
	v, err := fc.Store.Client().HGet(ctx, key(fc.Store, fc.Event.GroupKey()), strings.ToLower(name)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("%w: read a note: %w", state.ErrRedis, err)
	}
	if v == "" {
		fc.Reply(words.T(loc, "none", name))
		return nil
	}
	fc.Reply(v)
	return nil
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	if ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	loc := fc.Locale()
	args := ev.Command.Args
	rdb := fc.Store.Client()
	k := key(fc.Store, ev.GroupKey())
	switch ev.Command.Name {
	case "rules":
		if cfg.Rules.IsZero() {
			fc.Reply(words.T(loc, "norules"))
			return nil
		}
		text, err := cfg.Rules.Render(fc.Data(nil))
		if err != nil {
			return fmt.Errorf("rules: %w", err)
		}
		fc.Reply(strings.TrimSpace(text))
	case "get":
		if len(args) != 1 {
			fc.Reply(words.T(loc, "usage.get"))
			return nil
		}
		return get(ctx, fc, strings.TrimPrefix(args[0], "#"))
	case "notes":
		names, err := rdb.HKeys(ctx, k).Result()
		if err != nil {
			return fmt.Errorf("%w: list notes: %w", state.ErrRedis, err)
		}
		if len(names) == 0 {
			fc.Reply(words.T(loc, "empty"))
			return nil
		}
		slices.Sort(names)
		fc.Reply(words.T(loc, "list") + " #" + strings.Join(names, " #"))
	case "save":
		if len(args) < 2 {
			fc.Reply(words.T(loc, "usage.save"))
			return nil
		}
		name := strings.ToLower(strings.TrimPrefix(args[0], "#"))
		if !nameRe.MatchString(name) {
			fc.Reply(words.T(loc, "badname"))
			return nil
		}
		text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(ev.Command.ArgText), args[0]))
		if err := rdb.HSet(ctx, k, name, text).Err(); err != nil {
			return fmt.Errorf("%w: save a note: %w", state.ErrRedis, err)
		}
		fc.Reply(words.T(loc, "saved", name))
		return adfilter.Audit(ctx, fc.Store, ev.GroupKey(), adfilter.Entry{At: fc.Now, By: ev.Member.ID, Action: "note saved", Reason: "#" + name + ": " + adfilter.Excerpt(text, 60)})
	case "clear":
		if len(args) != 1 {
			fc.Reply(words.T(loc, "usage.clear"))
			return nil
		}
		name := strings.ToLower(strings.TrimPrefix(args[0], "#"))
		n, err := rdb.HDel(ctx, k, name).Result()
		if err != nil {
			return fmt.Errorf("%w: remove a note: %w", state.ErrRedis, err)
		}
		if n == 0 {
			fc.Reply(words.T(loc, "none", name)) // nothing changed: nothing logged
			return nil
		}
		fc.Reply(words.T(loc, "cleared", name))
		return adfilter.Audit(ctx, fc.Store, ev.GroupKey(), adfilter.Entry{At: fc.Now, By: ev.Member.ID, Action: "note removed", Reason: "#" + name})
	}
	return nil
}

// HasRules reports whether the event's group has rules for /rules.
func HasRules(fc *engine.FlowContext) bool {
	c, on := fc.Flow("notes")
	cfg, ok := c.(*Config)
	return on && ok && !cfg.Rules.IsZero()
}

// RulesButton is the button that shows the group's rules (the welcome's).
func RulesButton(loc string) bot.ButtonSpec {
	return bot.ButtonSpec{Text: words.T(loc, "button"), Data: "notes:rules"}
}

// rulesPressed sends the rules privately to whoever pressed the button,
// in the group (for a while) where the platform cannot reach them.
func rulesPressed(fc *engine.FlowContext, cfg *Config) error {
	ev := fc.Event
	loc := fc.Locale()
	if cfg.Rules.IsZero() {
		fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: words.T(loc, "norules")})
		return nil
	}
	text, err := cfg.Rules.Render(fc.Data(nil))
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	text = strings.TrimSpace(text)
	fallback := render.NewMember(ev.Member.ID, ev.Member.Name, ev.Member.Username).Mention + "\n" + text
	fc.Do(bot.Action{Type: bot.ActDM, Chat: ev.GroupKey(), Member: ev.Member, Text: text, Fallback: fallback})
	fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: words.T(loc, "sent")})
	return nil
}

var hashRe = regexp.MustCompile(`^#([\p{L}\p{N}_-]{1,32})$`)

// Handle implements engine.EventHandler: a message that is "#name" shows
// the note (only notes that exist answer: #hashtags stay chat).
func (Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind == bot.EventButton && ev.Button != nil && ev.Button.Data == "notes:rules" && ev.Chat.Type == bot.ChatGroup {
		return rulesPressed(fc, fc.Config.(*Config))
	}
	if ev.Kind != bot.EventMessage || ev.Chat.Type != bot.ChatGroup || ev.Member.IsBot {
		return nil
	}
	m := hashRe.FindStringSubmatch(strings.TrimSpace(ev.Text))
	if m == nil {
		return nil
	}
	v, err := fc.Store.Client().HGet(ctx, key(fc.Store, ev.GroupKey()), strings.ToLower(m[1])).Result()
	if err != nil || v == "" {
		return nil // no such note: an ordinary hashtag
	}
	fc.Reply(v)
	return nil
}
