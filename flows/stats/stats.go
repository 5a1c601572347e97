// Package stats answers the moderators' /stats: members in the group and
// how many were active over configured windows, read from the last-active
// sorted set in one round trip per window.
package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
)

// Config is the stats section.
type Config struct {
	// Windows are the activity windows /stats reports, e.g. [1d, 7d, 30d].
	Windows []config.Duration `yaml:"windows"`
	// NewMembers is the window of joins the activation line covers (0 hides
	// it); ActivationWithin is how soon after joining a newcomer must speak
	// to count as activated.
	NewMembers       config.Duration `yaml:"new_members"`
	ActivationWithin config.Duration `yaml:"activation_within"`
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if len(c.Windows) == 0 {
		report("windows", "list at least one window, e.g. [1d, 7d, 30d]")
	}
	if c.NewMembers.D() > 0 && c.ActivationWithin.D() <= 0 {
		report("activation_within", "set how soon a newcomer must speak, e.g. 3d")
	}
	for i, w := range c.Windows {
		if w.D() <= 0 {
			report(fmt.Sprintf("windows[%d]", i), "a window must be longer than zero")
		}
	}
}

// Flow is the stats flow.
type Flow struct{}

var words = i18n.Catalog{
	"zh-CN": {
		"help":    "群统计：成员数与活跃人数",
		"title":   "%s 统计（%s）",
		"members": "成员：%d 人",
		"active":  "近 %s 活跃：%d 人（%.0f%%）",
		"group":   "请在群里使用 /stats。",
		"joins":   "近 %s 新成员：%d 人，其中 %s 内发言 %d 人（激活率 %.0f%%）",
	},
	"en": {
		"help":    "group statistics: members and active members",
		"title":   "%s statistics (%s)",
		"members": "Members: %d",
		"active":  "Active in the last %s: %d (%.0f%%)",
		"group":   "Use /stats in the group.",
		"joins":   "New in the last %s: %d, of whom %d spoke within %s (activation %.0f%%)",
	},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "stats" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any {
		return &Config{
			Windows:          []config.Duration{config.Duration(24 * time.Hour), config.Duration(7 * 24 * time.Hour), config.Duration(30 * 24 * time.Hour)},
			NewMembers:       config.Duration(7 * 24 * time.Hour),
			ActivationWithin: config.Duration(3 * 24 * time.Hour),
		}
	}}
}

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "stats", Help: words.T(locale, "help"), Moderator: true, Group: true}}
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group"))
		return nil
	}
	cfg := fc.Config.(*Config)
	group := fc.Event.GroupKey()
	total, err := fc.Store.Present(ctx, group)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	title := fc.Event.Chat.Title
	if title == "" {
		title = group
	}
	lines := []string{
		words.T(loc, "title", title, fc.Now.In(fc.Group.Location).Format("2006-01-02 15:04")),
		words.T(loc, "members", total),
	}
	for _, w := range cfg.Windows {
		n, err := fc.Store.ActiveSince(ctx, group, fc.Now.Add(-w.D()))
		if err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(n) / float64(total)
		}
		lines = append(lines, words.T(loc, "active", humanDuration(w.D()), n, pct))
	}
	if cfg.NewMembers.D() > 0 {
		joined, active, err := fc.Store.Activation(ctx, group, fc.Now.Add(-cfg.NewMembers.D()), fc.Now.Add(time.Millisecond), cfg.ActivationWithin.D())
		if err != nil {
			return fmt.Errorf("stats: %w", err)
		}
		pct := 0.0
		if joined > 0 {
			pct = 100 * float64(active) / float64(joined)
		}
		if loc == "zh-CN" {
			lines = append(lines, words.T(loc, "joins", humanDuration(cfg.NewMembers.D()), joined, humanDuration(cfg.ActivationWithin.D()), active, pct))
		} else {
			lines = append(lines, words.T(loc, "joins", humanDuration(cfg.NewMembers.D()), joined, active, humanDuration(cfg.ActivationWithin.D()), pct))
		}
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

func humanDuration(d time.Duration) string { return config.FormatDuration(d) }
