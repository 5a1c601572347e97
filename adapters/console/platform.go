package console

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/platform"
)

// Config is the simulated group's section under adapters.console.
type Config struct {
	Group  config.ChatKey `yaml:"group"` // chat key, default console:demo
	Title  string         `yaml:"title"`
	Limits config.Limits  `yaml:"limits"`
}

// SetDefaults implements config.Defaulter. One worker keeps a transcript
// in order.
func (c *Config) SetDefaults() {
	c.Group = "console:demo"
	c.Limits.Workers = 1
}

// Platform registers the console: chat keys "console:<group>" and
// "console:@<member>" for a member's private chat. It is the fallback
// platform: `run` serves it on stdin when nothing else is configured.
func Platform() platform.Platform {
	return platform.Platform{
		Name:      "console",
		Config:    func() any { c := &Config{}; c.SetDefaults(); return c },
		ValidChat: ValidChat,
		Open: func(_ context.Context, conf any, d platform.Deps) (bot.Adapter, error) {
			c := conf.(*Config)
			clock, ok := d.Clock.(Clock)
			if !ok {
				return nil, fmt.Errorf("console: the clock %T cannot be moved", d.Clock)
			}
			group := string(c.Group)
			opt := Options{Group: group, Title: c.Title, In: d.Stdin, Out: d.Stdout, Errs: d.Stderr, Clock: clock,
				Hooks: Hooks{Settle: d.Settle, AdvanceTo: d.AdvanceTo}}
			if d.Config != nil {
				opt.Location = d.Config.Group(group).Location
			}
			return New(opt), nil
		},
		Limits: func(conf any) config.Limits {
			l := conf.(*Config).Limits
			if l.Workers <= 0 {
				l.Workers = 1
			}
			return l
		},
		Fallback: true,
	}
}

// ValidChat checks a console chat id: a group name, or @member.
func ValidChat(id string) error {
	name := strings.TrimPrefix(id, "@")
	if name == "" || strings.ContainsAny(name, " \t\n:") {
		return errors.New("a console chat is a name without spaces or colons, or @member")
	}
	return nil
}
