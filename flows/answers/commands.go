package answers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/state"
)

var words = i18n.Catalog{
	"zh-CN": {
		"help.answers": "自动回复列表", "help.answer": "试一句话会触发哪条自动回复；添加或删除群里的自动回复",
		"usage":     "用法：/answer test <一句话> · /answer add <关键词> <回复> · /answer del <关键词>",
		"list.none": "还没有自动回复。", "list.config": "配置里的自动回复：", "list.chat": "群里添加的自动回复（/answer add）：",
		"list.shadow": "（配置里有同样的关键词，以配置为准）",
		"test.none":   "这句话不会触发任何自动回复。", "test.hits": "会触发（按顺序，第一条回复）：",
		"test.question": "这句话算提问：没有自动回复时会记为待解答。",
		"add.ok":        "已添加：说到“%s”时自动回复。", "add.long": "关键词最多 50 个字，回复最多 1000 个字。",
		"del.ok": "已删除“%s”。", "del.none": "群里没有“%s”这条自动回复（配置里的要改配置文件）。",
		"escalate":    "❓ %s（%s）%s 的提问还没人回答：\n%s\n群：%s",
		"done.button": "✅ 已解决", "open.button": "查看原消息", "done.ok": "已标记为解决。", "done.notmod": "只有这个群的管理员能标记。", "done.gone": "这个问题已经过期了。",
	},
	"en": {
		"help.answers": "the auto-replies", "help.answer": "test which auto-reply a message fires; add or remove the group's own",
		"usage":     "Usage: /answer test <text> · /answer add <keyword> <reply> · /answer del <keyword>",
		"list.none": "No auto-replies yet.", "list.config": "Auto-replies in the config:", "list.chat": "Added in this group (/answer add):",
		"list.shadow": " (the config has the same keyword; the config wins)",
		"test.none":   "This message fires no auto-reply.", "test.hits": "It fires (in order; the first replies):",
		"test.question": "It counts as a question: without an auto-reply it stays open until answered.",
		"add.ok":        "Added: a message with “%s” gets the reply.", "add.long": "Keywords up to 50 characters, replies up to 1,000.",
		"del.ok": "Removed “%s”.", "del.none": "No answer “%s” was added in this group (config rules change in the config file).",
		"escalate":    "❓ A question by %s (%s) at %s has no answer yet:\n%s\nGroup: %s",
		"done.button": "✅ Done", "open.button": "Open the message", "done.ok": "Marked done.", "done.notmod": "Only the group's moderators can mark it.", "done.gone": "This question has expired.",
	},
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "answers", Help: words.T(loc, "help.answers"), Moderator: true},
		{Name: "answer", Args: "test|add|del …", Help: words.T(loc, "help.answer"), Moderator: true},
	}
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	loc := fc.Locale()
	ev := fc.Event
	if ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	group := ev.GroupKey()
	chat, err := chatAnswers(ctx, cfg, fc.Store, group, true)
	if err != nil {
		return err
	}
	if ev.Command.Name == "answers" {
		fc.Reply(list(loc, cfg, chat))
		return nil
	}
	args := ev.Command.Args
	if len(args) == 0 {
		fc.Reply(words.T(loc, "usage"))
		return nil
	}
	rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(ev.Command.ArgText), args[0]))
	switch args[0] {
	case "test":
		if rest == "" {
			fc.Reply(words.T(loc, "usage"))
			return nil
		}
		fc.Reply(test(loc, cfg, chat, rest))
	case "add":
		if len(args) < 3 {
			fc.Reply(words.T(loc, "usage"))
			return nil
		}
		kw := args[1]
		reply := strings.TrimSpace(strings.TrimPrefix(rest, kw))
		if len([]rune(kw)) > 50 || len([]rune(reply)) > 1000 {
			fc.Reply(words.T(loc, "add.long"))
			return nil
		}
		if err := fc.Store.Client().HSet(ctx, chatKey(fc.Store, group), kw, reply).Err(); err != nil {
			return fmt.Errorf("%w: add an answer: %w", state.ErrRedis, err)
		}
		if _, err := chatAnswers(ctx, cfg, fc.Store, group, true); err != nil {
			return err
		}
		fc.Reply(words.T(loc, "add.ok", kw))
	case "del":
		if len(args) < 2 {
			fc.Reply(words.T(loc, "usage"))
			return nil
		}
		n, err := fc.Store.Client().HDel(ctx, chatKey(fc.Store, group), args[1]).Result()
		if err != nil {
			return fmt.Errorf("%w: remove an answer: %w", state.ErrRedis, err)
		}
		if n == 0 {
			fc.Reply(words.T(loc, "del.none", args[1]))
			return nil
		}
		if _, err := chatAnswers(ctx, cfg, fc.Store, group, true); err != nil {
			return err
		}
		fc.Reply(words.T(loc, "del.ok", args[1]))
	default:
		fc.Reply(words.T(loc, "usage"))
	}
	return nil
}

func list(loc string, cfg *Config, chat map[string]string) string {
	if len(cfg.Rules) == 0 && len(chat) == 0 {
		return words.T(loc, "list.none")
	}
	var b strings.Builder
	inConfig := map[string]bool{}
	if len(cfg.Rules) > 0 {
		b.WriteString(words.T(loc, "list.config"))
		for _, r := range cfg.Rules {
			var trig []string
			for _, k := range r.Keywords {
				inConfig[k] = true
				trig = append(trig, k)
			}
			if r.Command != "" {
				trig = append(trig, "/"+r.Command)
			}
			if r.Regex != "" {
				trig = append(trig, "regex "+r.Regex)
			}
			if len(r.Similar) > 0 {
				trig = append(trig, fmt.Sprintf("≈ %q (%.2f)", r.Similar[0], r.MinSimilarity))
			}
			fmt.Fprintf(&b, "\n• %s: %s", r.Name, strings.Join(trig, ", "))
			if r.Private {
				b.WriteString(" (DM)")
			}
		}
	}
	if len(chat) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(words.T(loc, "list.chat"))
		keys := make([]string, 0, len(chat))
		for k := range chat {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\n• %s → %s", k, excerpt(chat[k], 40))
			if inConfig[k] {
				b.WriteString(words.T(loc, "list.shadow"))
			}
		}
	}
	return b.String()
}

func test(loc string, cfg *Config, chat map[string]string, text string) string {
	hits := Find(cfg, chat, text, "", true)
	var b strings.Builder
	if len(hits) == 0 {
		b.WriteString(words.T(loc, "test.none"))
	} else {
		b.WriteString(words.T(loc, "test.hits"))
		for _, h := range hits {
			fmt.Fprintf(&b, "\n• %s — %s", h.Name, h.Why)
		}
	}
	if IsQuestion(text) && !cfg.Questions.Off {
		b.WriteString("\n" + words.T(loc, "test.question"))
	}
	return b.String()
}

func excerpt(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func sortStrings(s []string) { slices.Sort(s) }
