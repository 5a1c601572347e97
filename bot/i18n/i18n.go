// Package i18n holds qunbot's built-in strings in zh-CN and en.
//
// Each flow keeps its own Catalog next to its code, so a reader finds a
// flow's words where the flow is; the engine's own words are in Core.
package i18n

import (
	"fmt"
	"strings"
	"time"
)

// Catalog maps locale → key → format string (fmt verbs).
type Catalog map[string]map[string]string

// T formats key in locale, falling back to en, then to the key itself, so a
// missing translation shows up as a readable key rather than as nothing.
func (c Catalog) T(locale, key string, args ...any) string {
	f, ok := c[locale][key]
	if !ok {
		f, ok = c["en"][key]
	}
	if !ok {
		f = key
	}
	if len(args) == 0 {
		return f
	}
	return fmt.Sprintf(f, args...)
}

// Core is the engine's own strings.
var Core = Catalog{
	"zh-CN": {
		"source.qb:invite": "成员邀请链接",
		"source.qb:link":   "群链接",
		"source.qb:qr":     "群二维码",
		"source.qb:added":  "成员拉入",
		"source.":          "未知（公开群名或平台未告知）",
		"cmd.unknown":      "未知命令 /%s。发送 /help 查看可用命令。",
		"cmd.moderators":   "/%s 仅限管理员使用。",
		"cmd.nogroups":     "/%s 要说明是哪个群：你不是我所知道的任何群的管理员。请在群里使用。",
		"cmd.pickgroup":    "/%[1]s 要说明是哪个群，例如 /%[1]s 1：",
		"cmd.failed":       "处理 /%s 时出错了，请稍后再试。",
		"dm.unreachable":   "%s，我无法私信你，请先点开我的头像并点击“开始”。",
		"help.header":      "可用命令：",
		"help.moderators":  "管理员命令：",
		"help.none":        "本群没有启用任何命令。",
	},
	"en": {
		"source.qb:invite": "members' invite links",
		"source.qb:link":   "the group's link",
		"source.qb:qr":     "the group's QR code",
		"source.qb:added":  "added by a member",
		"source.":          "unknown (the group's public name, or the platform did not say)",
		"cmd.unknown":      "Unknown command /%s. Send /help for the list.",
		"cmd.moderators":   "/%s is for moderators only.",
		"cmd.nogroups":     "/%s needs a group: you moderate none that I know. Use it in the group.",
		"cmd.pickgroup":    "/%[1]s needs a group, e.g. /%[1]s 1:",
		"cmd.failed":       "Something went wrong with /%s. Please try again later.",
		"dm.unreachable":   "%s, I cannot message you privately. Please open a chat with me and press Start first.",
		"help.header":      "Commands:",
		"help.moderators":  "Moderator commands:",
		"help.none":        "No commands are enabled in this group.",
	},
}

// Duration writes d for people: "2 分钟", "1 天 2 小时" in Chinese, "1 day",
// "2 hours 30 minutes" in English — not the config's "2m" or "1d2h".
// Seconds show only under a minute.
func Duration(locale string, d time.Duration) string {
	if d < 0 {
		d = -d
	}
	type unit struct {
		size    time.Duration
		zh, one string
		many    string
	}
	units := []unit{
		{24 * time.Hour, "天", "day", "days"},
		{time.Hour, "小时", "hour", "hours"},
		{time.Minute, "分钟", "minute", "minutes"},
	}
	if d < time.Minute {
		units = []unit{{time.Second, "秒", "second", "seconds"}}
	}
	var parts []string
	for _, u := range units {
		n := int64(d / u.size)
		d %= u.size
		if n == 0 {
			continue
		}
		switch {
		case locale == "zh-CN":
			parts = append(parts, fmt.Sprintf("%d %s", n, u.zh))
		case n == 1:
			parts = append(parts, "1 "+u.one)
		default:
			parts = append(parts, fmt.Sprintf("%d %s", n, u.many))
		}
	}
	if len(parts) == 0 {
		if locale == "zh-CN" {
			return "0 秒"
		}
		return "0 seconds"
	}
	return strings.Join(parts, " ")
}

// SourceName is how a join source reads (bot.Event.Source): the name an
// operator gave its link or join way, or what one of qunbot's own kinds
// ("qb:invite", "qb:link", "qb:qr", "qb:added"; "" unknown) means.
func SourceName(locale, source string) string {
	if source == "" || strings.HasPrefix(source, "qb:") {
		if s := Core.T(locale, "source."+source); s != "source."+source {
			return s
		}
	}
	return source
}
