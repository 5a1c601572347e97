package dashboard

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/i18n"
)

var pageNames = []string{"login", "overview", "group", "members", "member", "moderation", "posts", "config"}

func (s *Server) parse() error {
	funcs := template.FuncMap{
		"pathq":  url.PathEscape,
		"spark":  spark,
		"heat":   heat,
		"ratio":  ratio,
		"inc":    func(i int) int { return i + 1 },
		"dur":    func(lang string, d time.Duration) string { return i18n.Duration(lang, d) },
		"ranges": func() []int { return Ranges },
		"totalsOrder": func() []string {
			return []string{"members", "members_platform", "dau", "wau", "mau", "msgs", "joins", "leaves", "verified", "checkins", "points_in", "ads", "warns", "bans", "ham", "posts"}
		},
		"funnelBar": funnelBar,
		"source":    i18n.SourceName,
		"pct": func(n, of int) string {
			if of == 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
		},
		"postOps": func(paused bool) []string {
			if paused {
				return []string{"resume", "now"}
			}
			return []string{"pause", "now"}
		},
	}
	s.pages = map[string]*template.Template{}
	for _, p := range pageNames {
		t, err := template.New(p).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return fmt.Errorf("dashboard templates: %w", err)
		}
		s.pages[p] = t
	}
	return nil
}

// spark draws a sparkline as inline SVG (no script needed).
func spark(vs []int64) template.HTML {
	if len(vs) < 2 {
		return ""
	}
	var hi int64 = 1
	for _, v := range vs {
		hi = max(hi, v)
	}
	const w, h = 120.0, 28.0
	pts := make([]string, len(vs))
	for i, v := range vs {
		pts[i] = fmt.Sprintf("%.1f,%.1f", float64(i)*w/float64(len(vs)-1), h-1-float64(v)*(h-2)/float64(hi))
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f"><polyline fill="none" stroke="#4a7bd0" stroke-width="1.5" points="%s"/></svg>`,
		w, h, w, h, strings.Join(pts, " ")))
}

// heat is a retention cell: active of due, shaded by the share.
func heat(active, due int) template.HTML {
	if due == 0 {
		return `<td class="na">—</td>`
	}
	p := 100 * float64(active) / float64(due)
	// white at 0%, deep blue at 60% and above
	l := 97 - min(p, 60)*0.75
	return template.HTML(fmt.Sprintf(`<td data-active="%d" data-due="%d" style="background:hsl(215,70%%,%.0f%%)%s">%.0f%% <small>%d/%d</small></td>`,
		active, due, l, map[bool]string{true: ";color:#fff", false: ""}[l < 60], p, active, due))
}

func ratio(a, b int64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
}

func funnelBar(lang, key string, n, of int) template.HTML {
	w := 0.0
	if of > 0 {
		w = 100 * float64(n) / float64(of)
	}
	return template.HTML(fmt.Sprintf(`<div data-step="%s"><span class="lbl">%s</span><span class="bar" style="width:%.1f%%;max-width:30em"></span> %d (%.0f%%)</div>`,
		template.HTMLEscapeString(strings.TrimPrefix(key, "f.")), template.HTMLEscapeString(T(lang, key)), w*0.3, n, w))
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Format("2006-01-02 15:04")
}

var words = i18n.Catalog{
	"zh-CN": {
		"overview": "总览", "logout": "退出", "login": "登录", "login.token": "运营令牌", "login.go": "登录",
		"login.hint":    "运营者用环境变量 QUNBOT_DASHBOARD_TOKEN 里的令牌登录；管理员在和机器人的私聊里发 /dashboard，得到一次性登录链接（10 分钟内有效）。",
		"login.notoken": "没有设置 QUNBOT_DASHBOARD_TOKEN：只能用机器人发的一次性链接登录。",
		"login.wrong":   "令牌不对。", "login.toomany": "失败次数太多，请 15 分钟后再试。",
		"login.expired": "这个登录链接已过期，请在私聊里重新发 /dashboard。", "login.used": "这个登录链接已经用过了，请在私聊里重新发 /dashboard。",
		"login.badlink": "这个登录链接无效。", "notfound": "没有这个页面，或你无权查看。",
		"nogroups": "还没有可查看的群。", "group": "群", "msgs7": "7 天消息", "wow": "周环比", "joins7": "7 天入群", "ads7": "7 天删广告", "dau30": "30 天日活",
		"members": "成员", "moderation": "管理", "range": "范围", "days": "天", "thisrange": "最近 %d 天", "before": "之前同期",
		"k.members": "成员数", "k.members_platform": "平台成员数", "k.dau": "日活", "k.dau.avg": "日活（日均）", "k.wau": "周活", "k.mau": "月活", "k.msgs": "消息",
		"k.joins": "入群", "k.leaves": "退群", "k.verified": "通过验证", "k.checkins": "签到", "k.points_in": "发放积分", "k.ads": "删除广告",
		"k.warns": "警告", "k.bans": "封禁", "k.ham": "误判纠正", "k.posts": "定时内容",
		"c.members": "成员数", "c.active": "活跃（日/周/月）", "c.msgs": "消息", "c.joins": "入群与退群", "c.checkins": "签到与删除广告", "c.layers": "分层占比（%）",
		"layers": "分层报告", "tier": "层级", "count": "人数", "share": "占比", "healthy": "健康范围",
		"t.core": "核心", "t.active": "活跃", "t.silent": "沉默", "t.churned": "流失", "t.left": "已退群",
		"nolayers": "还没有分层记录（需要开启唤醒流程）。",
		"funnel":   "新人转化", "f.joined": "入群", "f.verified": "通过验证", "f.spoke": "首次发言", "f.active7": "7 天内活跃", "f.active30": "30 天后仍活跃",
		"nojoins": "这段时间没有新人。", "retention": "留存（按入群周）", "week": "周",
		"sources": "新人来源（入群链接、渠道活码）", "source": "来源", "f.left": "已离开",
		"wakeups": "唤醒", "stage": "沉默多久", "sent": "发送", "back": "回归", "rate": "回归率", "nowakeups": "这段时间没有唤醒。",
		"leaders": "贡献榜", "member": "成员", "contrib": "贡献", "points": "积分",
		"search": "搜索", "search.hint": "名字、@用户名或 ID", "name": "名字", "lastactive": "最后活跃", "nomatch": "没有找到。",
		"streak": "连续签到", "best": "最长", "badges": "徽章", "tags": "标签", "warnings": "警告", "joined": "入群时间", "present": "在群里",
		"ledger": "积分明细", "when": "时间", "delta": "变动", "reason": "原因", "balance": "余额",
		"mod.hint": "广告过滤删除的消息可以标记“不是广告”（平台上不会恢复，但会撤销这次警告，并像 /ham 一样教给模型），或者封禁发送者。每个操作都记在管理记录里。",
		"posts":    "内容日历", "post": "内容", "schedule": "时间表", "nextfire": "下次发送", "state": "状态", "paused": "已暂停", "running": "进行中",
		"op.pause": "暂停", "op.resume": "恢复", "op.now": "立即发送", "cap": "每日上限", "quiet": "免打扰时段", "noposts": "这个群没有定时内容。",
		"config": "配置", "cfg.file": "文件", "cfg.loaded": "加载于", "cfg.rejected": "最近一次被拒绝的重新加载", "cfg.norejects": "没有被拒绝的重新加载。",
		"cfg.validate": "检查一段配置", "cfg.check": "检查", "cfg.valid": "没有问题：这段配置可以使用。", "cfg.running": "正在使用的配置（密钥已隐藏）",
		"by": "操作者", "action": "操作", "notspam": "不是广告", "ban": "封禁", "rev.ham": "已标记为不是广告", "rev.ban": "已封禁", "nomod": "还没有管理记录。",
	},
	"en": {
		"overview": "Overview", "logout": "Log out", "login": "Log in", "login.token": "Operator token", "login.go": "Log in",
		"login.hint":    "Operators log in with the token in QUNBOT_DASHBOARD_TOKEN; moderators send /dashboard to the bot in a private chat for a one-time link (valid 10 minutes).",
		"login.notoken": "QUNBOT_DASHBOARD_TOKEN is not set: only the bot's one-time links log in.",
		"login.wrong":   "Wrong token.", "login.toomany": "Too many failed logins; try again in 15 minutes.",
		"login.expired": "This login link has expired; send /dashboard to the bot again.", "login.used": "This login link was used already; send /dashboard to the bot again.",
		"login.badlink": "This login link is not valid.", "notfound": "No such page, or not yours to see.",
		"nogroups": "No groups to show yet.", "group": "Group", "msgs7": "Messages 7d", "wow": "Week over week", "joins7": "Joins 7d", "ads7": "Ads removed 7d", "dau30": "Daily active, 30d",
		"members": "Members", "moderation": "Moderation", "range": "Range", "days": "d", "thisrange": "Last %d days", "before": "The period before",
		"k.members": "Members", "k.members_platform": "Members (platform)", "k.dau": "DAU", "k.dau.avg": "DAU (daily average)", "k.wau": "WAU", "k.mau": "MAU", "k.msgs": "Messages",
		"k.joins": "Joins", "k.leaves": "Leaves", "k.verified": "Verified", "k.checkins": "Check-ins", "k.points_in": "Points credited", "k.ads": "Ads removed",
		"k.warns": "Warnings", "k.bans": "Bans", "k.ham": "Not-spam corrections", "k.posts": "Scheduled posts",
		"c.members": "Members", "c.active": "Active (daily/weekly/monthly)", "c.msgs": "Messages", "c.joins": "Joins and leaves", "c.checkins": "Check-ins and ads removed", "c.layers": "Layer shares (%)",
		"layers": "Layer report", "tier": "Tier", "count": "Members", "share": "Share", "healthy": "Healthy range",
		"t.core": "Core", "t.active": "Active", "t.silent": "Silent", "t.churned": "Churned", "t.left": "Left",
		"nolayers": "No layer records yet (the wake-up flow records them).",
		"funnel":   "Onboarding funnel", "f.joined": "Joined", "f.verified": "Verified", "f.spoke": "First message", "f.active7": "Active in days 1–7", "f.active30": "Active after day 30",
		"nojoins": "No newcomers in this period.", "retention": "Retention by join week", "week": "Week",
		"sources": "Where newcomers came from (invite links, WeCom join ways)", "source": "Source", "f.left": "Left",
		"wakeups": "Wake-ups", "stage": "Silent for", "sent": "Sent", "back": "Came back", "rate": "Comeback rate", "nowakeups": "No wake-ups in this period.",
		"leaders": "Leaderboard", "member": "Member", "contrib": "Contribution", "points": "Points",
		"search": "Search", "search.hint": "name, @username or id", "name": "Name", "lastactive": "Last active", "nomatch": "Nobody found.",
		"streak": "Check-in streak", "best": "best", "badges": "Badges", "tags": "Tags", "warnings": "Warnings", "joined": "Joined", "present": "In the group",
		"ledger": "Points ledger", "when": "When", "delta": "Change", "reason": "Reason", "balance": "Balance",
		"mod.hint": "A message the ad filter removed can be called \"not spam\" (nothing is restored on the platform, but the warning is taken back and the model learns it as with /ham), or its sender banned. Every action is in the audit log.",
		"posts":    "Content calendar", "post": "Post", "schedule": "Schedule", "nextfire": "Next", "state": "State", "paused": "paused", "running": "running",
		"op.pause": "Pause", "op.resume": "Resume", "op.now": "Send now", "cap": "Daily cap", "quiet": "Quiet hours", "noposts": "This group has no scheduled posts.",
		"config": "Config", "cfg.file": "File", "cfg.loaded": "loaded", "cfg.rejected": "The last reload rejected, at", "cfg.norejects": "No reload was rejected.",
		"cfg.validate": "Check a config", "cfg.check": "Check", "cfg.valid": "No problems: this config would load.", "cfg.running": "The config in force (secrets hidden)",
		"by": "By", "action": "Action", "notspam": "Not spam", "ban": "Ban", "rev.ham": "marked not spam", "rev.ban": "banned", "nomod": "No moderation actions yet.",
	},
}

// T translates a console string.
func T(lang, key string, args ...any) string { return words.T(lang, key, args...) }
