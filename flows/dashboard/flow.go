// Package dashboard is qunbot's web console — overview, group, member and
// moderation pages, server-rendered with a small chart library (uPlot)
// embedded in the binary — and the /dashboard command that hands a
// moderator a one-time login link in a private chat.
package dashboard

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/state"
)

// Config is the dashboard flow's section (nothing to set: the console's
// path and address are under http:).
type Config struct{}

// Flow answers /dashboard.
type Flow struct{}

var cmdWords = i18n.Catalog{
	"zh-CN": {
		"help":    "网页控制台的登录链接（私聊）",
		"private": "请在和我的私聊里发 /dashboard：登录链接不能发在群里。",
		"nogroup": "你不是任何群的管理员（按配置），没有可以查看的群。",
		"off":     "网页控制台没有开启（http.dashboard: off）。",
		"link":    "网页控制台登录链接（%s 内有效，只能用一次，别转发）：\n%s\n可查看：%s",
	},
	"en": {
		"help":    "a login link to the web console (private chat)",
		"private": "Send /dashboard to me in a private chat: a login link must not be posted in a group.",
		"nogroup": "You moderate no group (by the config), so there is nothing to show you.",
		"off":     "The web console is off (http.dashboard: off).",
		"link":    "Your web console login link (valid %s, works once, do not forward it):\n%s\nGroups: %s",
	},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "dashboard" }

// Schema implements engine.Flow: on unless a config turns it off.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }, DefaultOn: true}
}

// Commands implements engine.Commander. In a private chat the engine
// lets through a moderator of any group; the link shows the groups the
// member moderates by the config.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "dashboard", Help: cmdWords.T(loc, "help"), Moderator: true}}
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	root := fc.RootConfig()
	if fc.Event.Chat.Type == bot.ChatGroup {
		fc.Reply(cmdWords.T(loc, "private"))
		return nil
	}
	if root.HTTP.Dashboard == "off" {
		fc.Reply(cmdWords.T(loc, "off"))
		return nil
	}
	groups, err := ModeratedGroups(ctx, fc.Store, root, fc.Event.Platform, fc.Event.Member.ID)
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		fc.Reply(cmdWords.T(loc, "nogroup"))
		return nil
	}
	who := fc.Event.Platform + ":" + fc.Event.Member.ID
	a := &auth{store: fc.Store, now: func() time.Time { return fc.Now }}
	t, err := a.Link(ctx, who, groups)
	if err != nil {
		return fmt.Errorf("dashboard link: %w", err)
	}
	fc.Reply(cmdWords.T(loc, "link", i18n.Duration(loc, LinkLife), loginURL(root.HTTP.PublicURL, root.HTTP.Dashboard, t), strings.Join(groups, ", ")))
	return nil
}

// loginURL is where a link token logs in.
func loginURL(public, base, token string) string {
	return public + base + "login/link?t=" + url.QueryEscape(token)
}

// ModeratedGroups are the groups of a platform (named in the config or
// seen by the bot) whose configured moderators include a member.
func ModeratedGroups(ctx context.Context, s *state.Store, cfg *config.Config, platform, member string) ([]string, error) {
	seen, err := s.Client().HGetAll(ctx, s.GlobalKey("groups")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: list groups: %w", state.ErrRedis, err)
	}
	for key := range cfg.Groups {
		seen[key] = platform
	}
	var out []string
	for key := range seen {
		if !strings.HasPrefix(key, platform+":") {
			continue
		}
		g := cfg.Group(key)
		if g.IsModerator(platform+":"+member) || g.IsModerator(member) {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out, nil
}
