// Package help answers /help with the commands the group's enabled flows
// offer, in the group's locale. Moderators also see moderator commands,
// and turn members' commands off and on (/disable, /enable; the engine
// drops a turned-off command).
package help

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/render"
)

// Config is the help section.
type Config struct {
	// Header is a template shown above the list, e.g. the group's rules link.
	Header render.Template `yaml:"header"`
}

// Flow is the help flow.
type Flow struct{}

var words = i18n.Catalog{
	"zh-CN": {
		"help":          "显示这条帮助",
		"help.disable":  "对成员关闭命令（管理员不受影响；成员发的会被删除）",
		"help.enable":   "重新开放命令",
		"help.disabled": "查看已关闭的命令",
		"args.commands": "命令…",
		"disable.usage": "用法：/%s rank points（可一次写多个命令）",
		"disable.bad":   "/%s 不是本群成员可用的命令（管理员命令本来就只有管理员能用）。",
		"disabled.done": "已对成员关闭：%s",
		"enabled.done":  "已重新开放：%s",
		"disable.nochg": "没有变化：%s",
		"disabled.list": "对成员关闭的命令：%s",
		"disabled.none": "没有关闭的命令。",
	},
	"en": {
		"help":          "show this help",
		"help.disable":  "turn commands off for members (moderators keep them; members' uses are deleted)",
		"help.enable":   "turn commands back on",
		"help.disabled": "the commands turned off here",
		"args.commands": "CMD…",
		"disable.usage": "Usage: /%s rank points (several at once)",
		"disable.bad":   "/%s is not a members' command here (moderators' commands are theirs alone already).",
		"disabled.done": "Turned off for members: %s",
		"enabled.done":  "Turned back on: %s",
		"disable.nochg": "Nothing changed: %s",
		"disabled.list": "Turned off for members: %s",
		"disabled.none": "No command is turned off.",
	},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "help" }

// Schema implements engine.Flow: help is on unless a config turns it off.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }, DefaultOn: true}
}

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "help", Help: words.T(locale, "help")},
		{Name: "disable", Args: words.T(locale, "args.commands"), Help: words.T(locale, "help.disable"), Moderator: true},
		{Name: "enable", Args: words.T(locale, "args.commands"), Help: words.T(locale, "help.enable"), Moderator: true},
		{Name: "disabled", Help: words.T(locale, "help.disabled")},
	}
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	switch name := fc.Event.Command.Name; name {
	case "disable", "enable", "disabled":
		if fc.Event.Chat.Type != bot.ChatGroup {
			fc.Reply(words.T(fc.Locale(), "group.only"))
			return nil
		}
		return toggle(ctx, fc, name)
	}
	cfg := fc.Config.(*Config)
	loc := fc.Locale()
	var b strings.Builder
	if !cfg.Header.IsZero() && fc.Event.Chat.Type == bot.ChatGroup {
		h, err := cfg.Header.Render(fc.Data(nil))
		if err != nil {
			return fmt.Errorf("help header: %w", err)
		}
		if h = strings.TrimSpace(h); h != "" {
			b.WriteString(h + "\n")
		}
	}
	var member, mod []engine.CommandSpec
	for _, c := range fc.Commands() {
		if c.Moderator {
			mod = append(mod, c)
		} else {
			member = append(member, c)
		}
	}
	if !fc.IsModerator() {
		mod = nil
		if fc.Event.Chat.Type == bot.ChatGroup {
			// a member is not offered what is turned off for them
			off, err := fc.Store.DisabledCommands(ctx, fc.Event.GroupKey())
			if err != nil {
				return err
			}
			member = slices.DeleteFunc(member, func(c engine.CommandSpec) bool { return slices.Contains(off, c.Name) })
		}
	}
	if len(member)+len(mod) == 0 {
		fc.Reply(strings.TrimSpace(b.String() + i18n.Core.T(loc, "help.none")))
		return nil
	}
	list := func(header string, cmds []engine.CommandSpec) {
		if len(cmds) == 0 {
			return
		}
		b.WriteString(header + "\n")
		for _, c := range cmds {
			line := "/" + c.Name
			if c.Args != "" {
				line += " " + c.Args
			}
			b.WriteString(line + " — " + c.Help + "\n")
		}
	}
	list(i18n.Core.T(loc, "help.header"), member)
	list(i18n.Core.T(loc, "help.moderators"), mod)
	fc.Reply(strings.TrimRight(b.String(), "\n"))
	return nil
}

// toggle is /disable, /enable and /disabled. Only members' commands of
// the group's enabled flows can be turned off: moderators' commands are
// theirs alone already, and a name that is no command here is refused
// rather than stored.
func toggle(ctx context.Context, fc *engine.FlowContext, name string) error {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	if name == "disabled" {
		off, err := fc.Store.DisabledCommands(ctx, group)
		if err != nil {
			return err
		}
		if len(off) == 0 {
			fc.Reply(words.T(loc, "disabled.none"))
			return nil
		}
		fc.Reply(words.T(loc, "disabled.list", slashed(off)))
		return nil
	}
	args := fc.Event.Command.Args
	if len(args) == 0 {
		fc.Reply(words.T(loc, "disable.usage", name))
		return nil
	}
	members := map[string]bool{}
	for _, c := range fc.Commands() {
		if !c.Moderator {
			members[c.Name] = true
		}
	}
	var cmds []string
	for _, a := range args {
		c := strings.ToLower(strings.TrimPrefix(a, "/"))
		c, _, _ = strings.Cut(c, "@") // /rank@yourbot
		if !members[c] {
			fc.Reply(words.T(loc, "disable.bad", c))
			return nil
		}
		if !slices.Contains(cmds, c) {
			cmds = append(cmds, c)
		}
	}
	n, err := fc.Store.SetDisabled(ctx, group, name == "disable", cmds...)
	if err != nil {
		return err
	}
	switch {
	case n == 0:
		fc.Reply(words.T(loc, "disable.nochg", slashed(cmds)))
	case name == "disable":
		fc.Reply(words.T(loc, "disabled.done", slashed(cmds)))
	default:
		fc.Reply(words.T(loc, "enabled.done", slashed(cmds)))
	}
	return nil
}

func slashed(cmds []string) string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = "/" + c
	}
	return strings.Join(out, " ")
}
