// Package help answers /help with the commands the group's enabled flows
// offer, in the group's locale. Moderators also see moderator commands.
package help

import (
	"context"
	"fmt"
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
	"zh-CN": {"help": "显示这条帮助"},
	"en":    {"help": "show this help"},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "help" }

// Schema implements engine.Flow: help is on unless a config turns it off.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }, DefaultOn: true}
}

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "help", Help: words.T(locale, "help")}}
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(_ context.Context, fc *engine.FlowContext) error {
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
