// Package stats answers the moderators' /stats (a snapshot of now, or a
// period of the day records against the one before), /funnel and
// /retention (newcomers by join week), and sends the weekly report.
package stats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/chart"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/answers"
	"github.com/qunbot/qunbot/flows/wakeup"
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
	// Report is the weekly report to the moderators.
	Report Report `yaml:"report"`
}

// Report says when the weekly report goes out and where.
type Report struct {
	Off  bool        `yaml:"off"`
	Cron config.Cron `yaml:"cron"` // default Monday 09:00 in the group's zone
	// Chat receives it; empty: the ad filter's log_chat where set, else
	// each moderator privately.
	Chat config.ChatKey `yaml:"chat"`
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
		"help":    "群统计：成员数与活跃人数；/stats 7d 看近 7 天与前 7 天的对比",
		"title":   "%s 统计（%s）",
		"members": "成员（qunbot 所见）：%d 人",
		"active":  "近 %s活跃：%d 人（%.0f%%）",
		"group":   "请在群里使用 /stats。",
		"joins":   "近 %s新成员：%d 人，其中 %s内发言 %d 人（激活率 %.0f%%）",

		"period.bad":       "看不懂 %q：写天数，如 /stats 7d、30d、90d（最多 400d）。",
		"period.title":     "%s 近 %d 天（%s 至 %s，较前 %d 天）",
		"period.members":   "成员（qunbot 所见）：%s 人（%s）",
		"period.dau":       "日均活跃：%s 人（%s）· 周活跃 %s · 月活跃 %s",
		"period.msgs":      "消息：%s 条（%s）",
		"period.joins":     "新成员：%s（%s）· 离开：%s · 验证通过 %s、未通过 %s",
		"period.checkin":   "签到：%s 次（%s）· 积分发放 %s、消耗 %s · 兑换 %s",
		"period.mod":       "删除广告：%s（%s）· 警告 %s、禁言 %s、踢出 %s、封禁 %s · 误判纠正 %s",
		"period.more":      "锁定删除 %s · 举报 %s · 联盟拦截 %s · 活动报名 %s、到场 %s · 问卷填完 %s",
		"period.none":      "这段时间还没有记录（记录从本版本开始）。",
		"period.questions": "提问：%s · 自动回复解答 %s、有人回答 %s · 解决率 %s · 中位回答时间 %s · 转给管理员 %s · 自动回复共 %s 次",
		"period.new":       "新",

		"help.funnel":    "新人漏斗：按入群周，入群 → 验证 → 首次发言 → 前 7 天活跃 → 30 天后仍活跃",
		"help.retention": "新人留存：按入群周，第 1、7、30 天仍在群并发言的比例",
		"weeks.bad":      "看不懂 %q：写周数，如 /funnel 4（最多 52）。",
		"cohort.none":    "最近 %d 周没有人入群（记录从本版本开始）。",
		"funnel.title":   "新人漏斗（按入群周，最近 %d 周）",
		"funnel.row":     "%s 起：入群 %d → 验证 %s → 发言 %s → 前 7 天活跃 %s → 30 天后仍活跃 %s",
		"ret.title":      "新人留存（按入群周；在群且当天发言 / 仍在群）",
		"ret.row":        "%s 起（%d 人）：第 1 天 %s · 第 7 天 %s · 第 30 天 %s",
		"ret.notyet":     "未到",

		"help.sources":    "新人来源：按入群链接或渠道活码（进群方式 state）统计入群、验证、发言、活跃、留下的人数",
		"sources.title":   "新人来源（最近 %d 周入群，%d 人）",
		"sources.row":     "%s：入群 %d → 验证 %s → 发言 %s → 前 7 天活跃 %s → 30 天后仍活跃 %s · 已离开 %s",
		"sources.more":    "另有 %d 个来源共 %d 人",
		"sources.link":    "「%s」的入群链接：%s\n通过它入群的人在 /sources 里记在「%[1]s」下。",
		"sources.badname": "来源名 %q 不行：写 1 到 30 个字，不以 qb: 开头，如 /sources link 海报A",
		"sources.cannot":  "这个平台在这里做不了来源链接。",

		"weekly.title":   "📊 周报 · %s",
		"weekly.layers":  "分层：核心 %s · 活跃 %s · 沉默 %s · 流失 %s",
		"weekly.wakeups": "唤醒（本周发出 / 召回）：",
		"weekly.stage":   "沉默 %s：%d / %d",
		"weekly.top":     "贡献最多：%s",
		"weekly.sources": "本周新人来源（入群 / 发言）：",
		"weekly.source":  "%s %d / %d",
	},
	"en": {
		"help":    "group statistics: members and active members; /stats 7d for the last 7 days against the 7 before",
		"title":   "%s statistics (%s)",
		"members": "Members (as qunbot has seen them): %d",
		"active":  "Active in the last %s: %d (%.0f%%)",
		"group":   "Use /stats in the group.",
		"joins":   "New in the last %s: %d, of whom %d spoke within %s (activation %.0f%%)",

		"period.bad":       "I can't read %q: give days, as in /stats 7d, 30d, 90d (at most 400d).",
		"period.title":     "%s, last %d days (%s to %s, against the %d before)",
		"period.members":   "Members (as qunbot has seen them): %s (%s)",
		"period.dau":       "Daily active on average: %s (%s) · weekly %s · monthly %s",
		"period.msgs":      "Messages: %s (%s)",
		"period.joins":     "Joined: %s (%s) · left: %s · verified %s, failed %s",
		"period.checkin":   "Check-ins: %s (%s) · points given %s, spent %s · rewards %s",
		"period.mod":       "Ads removed: %s (%s) · warnings %s, mutes %s, kicks %s, bans %s · filter corrected %s",
		"period.more":      "Locked removed %s · reports %s · federation refusals %s · event sign-ups %s, attended %s · questionnaires answered %s",
		"period.none":      "Nothing recorded for this period yet (records start with this version).",
		"period.questions": "Questions: %s · answered by an auto-reply %s, by someone %s · resolved %s · median time to answer %s · sent to moderators %s · auto-replies in all %s",
		"period.new":       "new",

		"help.funnel":    "newcomer funnel by join week: joined → verified → spoke → active in days 1–7 → still active after 30 days",
		"help.retention": "newcomer retention by join week: present and speaking on day 1, 7 and 30",
		"weeks.bad":      "I can't read %q: give weeks, as in /funnel 4 (at most 52).",
		"cohort.none":    "Nobody joined in the last %d weeks (records start with this version).",
		"funnel.title":   "Newcomer funnel by join week (last %d weeks)",
		"funnel.row":     "week of %s: joined %d → verified %s → spoke %s → active days 1–7 %s → active after day 30 %s",
		"ret.title":      "Newcomer retention by join week (present and spoke that day / still present)",
		"ret.row":        "week of %s (%d): day 1 %s · day 7 %s · day 30 %s",
		"ret.notyet":     "not yet",

		"help.sources":    "where newcomers came from: joined, verified, spoke, active and still here, by invite link or WeCom join way (state)",
		"sources.title":   "Where newcomers came from (joined in the last %d weeks: %d)",
		"sources.row":     "%s: joined %d → verified %s → spoke %s → active days 1–7 %s → active after day 30 %s · left %s",
		"sources.more":    "%d more sources with %d members",
		"sources.link":    "The link for %q: %s\nMembers who join through it count under %[1]q in /sources.",
		"sources.badname": "%q cannot name a source: give 1 to 30 characters, not starting with qb:, as in /sources link poster-a",
		"sources.cannot":  "This platform cannot make a source link here.",

		"weekly.title":   "📊 Weekly report · %s",
		"weekly.layers":  "Layers: core %s · active %s · silent %s · churned %s",
		"weekly.wakeups": "Wake-ups this week (sent / came back):",
		"weekly.stage":   "silent %s: %d / %d",
		"weekly.top":     "Top contributors: %s",
		"weekly.sources": "This week's newcomers by source (joined / spoke):",
		"weekly.source":  "%s %d / %d",
	},
}

// Name implements engine.Flow.
func (Flow) Name() string { return "stats" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any {
		weekly, _ := config.ParseCron("0 9 * * 1")
		return &Config{
			Report:           Report{Cron: weekly},
			Windows:          []config.Duration{config.Duration(24 * time.Hour), config.Duration(7 * 24 * time.Hour), config.Duration(30 * 24 * time.Hour)},
			NewMembers:       config.Duration(7 * 24 * time.Hour),
			ActivationWithin: config.Duration(3 * 24 * time.Hour),
		}
	}}
}

// Schedules implements engine.Scheduled: the weekly report.
func (Flow) Schedules(_ *config.Group, conf any) []engine.Schedule {
	cfg := conf.(*Config)
	// the platform's own member count, once a day, late: the day's last
	// figure
	out := []engine.Schedule{{Name: "count", Spec: countSpec.Spec, Cron: countSpec.Schedule, Grace: 10 * time.Minute}}
	if !cfg.Report.Off && cfg.Report.Cron.Schedule != nil {
		out = append(out, engine.Schedule{Name: "weekly", Spec: cfg.Report.Cron.Spec, Cron: cfg.Report.Cron.Schedule, Grace: 6 * time.Hour})
	}
	return out
}

var countSpec, _ = config.ParseCron("50 23 * * *")

// HandleFire implements engine.Scheduled: the weekly report on the 7
// days before today (the group's zone) against the 7 before them.
func (Flow) HandleFire(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	if fc.Event.Timer.Args["name"] == "count" {
		if conf, on := fc.Flow("wakeup"); on {
			c, err := wakeup.TierCounts(ctx, fc.Store, fc.Event.GroupKey(), conf.(*wakeup.Config).Tiers, fc.Now)
			if err != nil {
				return fmt.Errorf("tier counts: %w", err)
			}
			fc.Gauge(kpi.TierCore, c.Core)
			fc.Gauge(kpi.TierActive, c.Active)
			fc.Gauge(kpi.TierSilent, c.Silent)
			fc.Gauge(kpi.TierChurned, c.Churned)
		}
		n, ok, err := fc.MemberCount(ctx, fc.Event.GroupKey())
		if err != nil {
			// not a failure of the fire: the count waits for tomorrow
			fc.Log.Warn("platform member count not read", zap.String("group", fc.Event.GroupKey()), zap.Error(err))
			return nil
		}
		if ok {
			fc.Gauge(kpi.Counted, int64(n))
		}
		return nil
	}
	loc := fc.Locale()
	title := fc.Event.Chat.Title
	if title == "" {
		title = fc.Event.GroupKey()
	}
	end := fc.Now.In(fc.Group.Location).AddDate(0, 0, -1)
	lines, err := periodLines(ctx, fc, 7, end)
	if err != nil || lines == nil {
		return err
	}
	lines[0] = words.T(loc, "weekly.title", lines[0])
	extra, err := weeklyExtra(ctx, fc, end)
	if err != nil {
		return err
	}
	text := strings.Join(append(lines, extra...), "\n")
	a := bot.Action{Text: text, Bulk: true}
	a.ImagePNG, err = weeklyChart(ctx, fc, end)
	if err != nil {
		// the report still goes, as text
		fc.Log.Warn("weekly report chart not drawn", zap.String("group", fc.Event.GroupKey()), zap.Error(err))
	}
	to := string(cfg.Report.Chat)
	if to == "" {
		// the moderators' log chat, where the group has one
		if af, on := fc.Flow("adfilter"); on {
			to = string(af.(*adfilter.Config).LogChat)
		}
	}
	if to != "" {
		a.Type, a.Chat = bot.ActSend, to
		fc.Do(a)
		return nil
	}
	if fc.TellModeratorsWith(a) == 0 {
		fc.Log.Info("weekly report: the group names no moderators and no report.chat; not sent", zap.String("group", fc.Event.GroupKey()))
	}
	return nil
}

// weeklyChart draws the daily active members of the two weeks the report
// compares.
func weeklyChart(ctx context.Context, fc *engine.FlowContext, end time.Time) ([]byte, error) {
	days, err := kpi.Read(ctx, fc.Store, fc.Event.GroupKey(), end.AddDate(0, 0, -13).Format("2006-01-02"), end.Format("2006-01-02"), fc.Now)
	if err != nil {
		return nil, err
	}
	labels := make([]string, len(days))
	values := make([]int64, len(days))
	for i, d := range days {
		labels[i] = d.Date[5:]
		values[i] = d.Values[string(kpi.Active)]
	}
	return chart.Bars("Daily active members, 14 days", labels, values)
}

// weeklyExtra is what the weekly report adds to /stats 7d: the layer
// report against the healthy ranges, wake-up comebacks per stage, where
// the week's newcomers came from, and the top contributors.
func weeklyExtra(ctx context.Context, fc *engine.FlowContext, end time.Time) ([]string, error) {
	loc := fc.Locale()
	var lines []string
	if conf, ok := fc.Flow("wakeup"); ok {
		c, err := wakeup.TierCounts(ctx, fc.Store, fc.Event.GroupKey(), conf.(*wakeup.Config).Tiers, fc.Now)
		if err != nil {
			return nil, fmt.Errorf("weekly report: %w", err)
		}
		total := c.Core + c.Active + c.Silent + c.Churned
		if total > 0 {
			share := func(n int64, lo, hi float64) string {
				p := 100 * float64(n) / float64(total)
				mark := "✓"
				if p < lo || p > hi {
					mark = "⚠"
				}
				return fmt.Sprintf("%d (%.0f%%, %s %.0f–%.0f%%)", n, p, mark, lo, hi)
			}
			lines = append(lines, words.T(loc, "weekly.layers", share(c.Core, 5, 8), share(c.Active, 25, 30), share(c.Silent, 40, 50), share(c.Churned, 15, 20)))
		}
	}
	days, err := kpi.Read(ctx, fc.Store, fc.Event.GroupKey(), end.AddDate(0, 0, -6).Format("2006-01-02"), end.Format("2006-01-02"), fc.Now)
	if err != nil {
		return nil, fmt.Errorf("weekly report: %w", err)
	}
	week := sumUp(days)
	var stages []string
	for k, sent := range week.v {
		stage, ok := strings.CutPrefix(k, string(kpi.Wakeups)+":")
		if !ok || sent == 0 {
			continue
		}
		secs, _ := strconv.ParseInt(strings.TrimSuffix(stage, "s"), 10, 64)
		back := week.v[string(kpi.Comebacks)+":"+stage]
		stages = append(stages, words.T(loc, "weekly.stage", i18n.Duration(loc, time.Duration(secs)*time.Second), sent, back))
	}
	sort.Strings(stages)
	if len(stages) > 0 {
		lines = append(lines, words.T(loc, "weekly.wakeups")+" "+strings.Join(stages, " · "))
	}
	// the week's newcomers by what brought them, when any source is known
	zone := fc.Group.Location
	from := time.Date(end.Year(), end.Month(), end.Day()-6, 0, 0, 0, 0, zone)
	ms, err := newcomersSince(ctx, fc.Store, fc.Event.GroupKey(), from, from.AddDate(0, 0, 7).Add(-time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("weekly report: %w", err)
	}
	if srcs := kpi.BySource(ms, fc.Now); len(srcs) > 1 || len(srcs) == 1 && srcs[0].Source != "" {
		var parts []string
		for _, c := range srcs[:min(len(srcs), 3)] {
			parts = append(parts, words.T(loc, "weekly.source", i18n.SourceName(loc, c.Source), c.Joined, c.Spoke))
		}
		lines = append(lines, words.T(loc, "weekly.sources")+" "+strings.Join(parts, " · "))
	}
	top, err := fc.Store.TopContributors(ctx, fc.Event.GroupKey(), 5, fc.Now)
	if err != nil {
		return nil, fmt.Errorf("weekly report: %w", err)
	}
	var names []string
	for _, c := range top {
		m, err := fc.Store.Member(ctx, fc.Event.GroupKey(), c.ID)
		if err != nil {
			return nil, fmt.Errorf("weekly report: %w", err)
		}
		name := m.Name
		if name == "" {
			name = c.ID
		}
		names = append(names, name)
	}
	if len(names) > 0 {
		lines = append(lines, words.T(loc, "weekly.top", strings.Join(names, "、")))
	}
	return lines, nil
}

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "stats", Args: "[7d|30d|90d]", Help: words.T(locale, "help"), Moderator: true, Group: true},
		{Name: "funnel", Args: "[weeks]", Help: words.T(locale, "help.funnel"), Moderator: true, Group: true},
		{Name: "retention", Args: "[weeks]", Help: words.T(locale, "help.retention"), Moderator: true, Group: true},
		{Name: "sources", Args: "[weeks] | link NAME", Help: words.T(locale, "help.sources"), Moderator: true, Group: true},
	}
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
	switch name := fc.Event.Command.Name; name {
	case "sources":
		if args := fc.Event.Command.Args; len(args) > 0 && args[0] == "link" {
			return sourceLink(ctx, fc, strings.Join(args[1:], " "))
		}
		return cohorts(ctx, fc, name)
	case "funnel", "retention":
		return cohorts(ctx, fc, name)
	}
	if args := fc.Event.Command.Args; len(args) > 0 {
		days, ok := periodDays(args[0])
		if !ok {
			fc.Reply(words.T(loc, "period.bad", args[0]))
			return nil
		}
		return period(ctx, fc, days)
	}
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
		lines = append(lines, words.T(loc, "active", humanDuration(loc, w.D()), n, pct))
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
			lines = append(lines, words.T(loc, "joins", humanDuration(loc, cfg.NewMembers.D()), joined, humanDuration(loc, cfg.ActivationWithin.D()), active, pct))
		} else {
			lines = append(lines, words.T(loc, "joins", humanDuration(loc, cfg.NewMembers.D()), joined, active, humanDuration(loc, cfg.ActivationWithin.D()), pct))
		}
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

func humanDuration(loc string, d time.Duration) string { return i18n.Duration(loc, d) }

// periodDays reads "7d" (or "7"): 1 to 400 days.
func periodDays(arg string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(arg), "d"))
	return n, err == nil && n >= 1 && n <= 400
}

// period answers /stats Nd from the group's day records: the last n days
// (today included) against the n days before.
func period(ctx context.Context, fc *engine.FlowContext, n int) error {
	lines, err := periodLines(ctx, fc, n, fc.Now.In(fc.Group.Location))
	if err != nil {
		return err
	}
	if lines == nil {
		fc.Reply(words.T(fc.Locale(), "period.none"))
		return nil
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// periodLines are the n days ending on end against the n before; nil
// when nothing was recorded.
func periodLines(ctx context.Context, fc *engine.FlowContext, n int, end time.Time) ([]string, error) {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	to := end.Format("2006-01-02")
	from := end.AddDate(0, 0, -(2*n - 1)).Format("2006-01-02")
	all, err := kpi.Read(ctx, fc.Store, group, from, to, fc.Now)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	prev, cur := sumUp(all[:n]), sumUp(all[n:])
	if cur.days == 0 {
		return nil, nil
	}
	title := fc.Event.Chat.Title
	if title == "" {
		title = group
	}
	num := func(v int64) string { return thousands(v) }
	trend := func(k kpi.Name) string { return change(loc, cur.v[string(k)], prev.v[string(k)], prev.days > 0) }
	// over the period's calendar days, quiet ones included
	avg := func(t totals, k kpi.Name) float64 { return float64(t.v[string(k)]) / float64(n) }
	lines := []string{
		words.T(loc, "period.title", title, n, all[n].Date, to, n),
		words.T(loc, "period.members", num(cur.last[string(kpi.Members)]), delta(cur.last[string(kpi.Members)], prev.last[string(kpi.Members)], prev.days > 0)),
		words.T(loc, "period.dau", strconv.FormatFloat(avg(cur, kpi.Active), 'f', 1, 64),
			changeF(loc, avg(cur, kpi.Active), avg(prev, kpi.Active), prev.days > 0),
			num(cur.last[string(kpi.WAU)]), num(cur.last[string(kpi.MAU)])),
		words.T(loc, "period.msgs", num(cur.v[string(kpi.Messages)]), trend(kpi.Messages)),
		words.T(loc, "period.joins", num(cur.v[string(kpi.Joins)]), trend(kpi.Joins), num(cur.v[string(kpi.Leaves)]),
			num(cur.v[string(kpi.Verified)]), num(cur.v[string(kpi.VerifyFailed)])),
		words.T(loc, "period.checkin", num(cur.v[string(kpi.Checkins)]), trend(kpi.Checkins), num(cur.v[string(kpi.PointsIn)]),
			num(cur.v[string(kpi.PointsOut)]), num(cur.v[string(kpi.Rewards)])),
		words.T(loc, "period.mod", num(cur.v[string(kpi.Ads)]), trend(kpi.Ads), num(cur.v[string(kpi.Warns)]), num(cur.v[string(kpi.Mutes)]),
			num(cur.v[string(kpi.Kicks)]), num(cur.v[string(kpi.Bans)]), num(cur.v[string(kpi.Ham)])),
	}
	more := []kpi.Name{kpi.Locked, kpi.Reports, kpi.FedBans, kpi.Signups, kpi.Attended, kpi.Surveys}
	if slices.ContainsFunc(more, func(k kpi.Name) bool { return cur.v[string(k)] > 0 }) {
		lines = append(lines, words.T(loc, "period.more", num(cur.v[string(kpi.Locked)]), num(cur.v[string(kpi.Reports)]), num(cur.v[string(kpi.FedBans)]),
			num(cur.v[string(kpi.Signups)]), num(cur.v[string(kpi.Attended)]), num(cur.v[string(kpi.Surveys)])))
	}
	if q := cur.v[string(kpi.Questions)]; q > 0 || cur.v[string(kpi.AutoReplies)] > 0 {
		f, err := answers.Read(ctx, fc.Store, group, all[n:])
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		median := "—"
		if f.Samples > 0 {
			median = i18n.Duration(loc, f.Median)
		}
		lines = append(lines, words.T(loc, "period.questions", num(q), num(f.Auto), num(f.Answered), fmt.Sprintf("%.0f%%", 100*f.Rate()),
			median, num(f.Escalated), num(cur.v[string(kpi.AutoReplies)])))
	}
	return lines, nil
}

// totals are a period's counts summed and its gauges' last values; days
// counts the days with a record.
type totals struct {
	v, last map[string]int64
	days    int
}

func sumUp(days []kpi.Day) totals {
	t := totals{v: map[string]int64{}, last: map[string]int64{}}
	for _, d := range days {
		if len(d.Values) == 0 {
			continue
		}
		t.days++
		for k, v := range d.Values {
			if kpi.Gauges[kpi.Name(k)] {
				t.last[k] = v
			} else {
				t.v[k] += v
			}
		}
	}
	return t
}

// change is the relative change against the period before, as +12% or
// −3%, or "new" when there was nothing before.
func change(loc string, cur, prev int64, known bool) string {
	return changeF(loc, float64(cur), float64(prev), known)
}

func changeF(loc string, cur, prev float64, known bool) string {
	switch {
	case !known:
		return "–"
	case prev == 0 && cur == 0:
		return "±0%"
	case prev == 0:
		return words.T(loc, "period.new")
	}
	p := 100 * (cur - prev) / prev
	if p >= 0 {
		return fmt.Sprintf("+%.0f%%", p)
	}
	return fmt.Sprintf("−%.0f%%", -p)
}

// delta is a gauge's change: +12 or −3.
func delta(cur, prev int64, known bool) string {
	switch {
	case !known:
		return "–"
	case cur >= prev:
		return fmt.Sprintf("+%d", cur-prev)
	}
	return fmt.Sprintf("−%d", prev-cur)
}

// thousands writes 12345 as 12,345.
func thousands(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// cohorts answers /funnel and /retention (the members who joined in the
// last weeks, 4 by default, by join week) and /sources (by what brought
// them).
func cohorts(ctx context.Context, fc *engine.FlowContext, name string) error {
	loc := fc.Locale()
	weeks := 4
	if args := fc.Event.Command.Args; len(args) > 0 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 || n > 52 {
			fc.Reply(words.T(loc, "weeks.bad", args[0]))
			return nil
		}
		weeks = n
	}
	zone := fc.Group.Location
	now := fc.Now.In(zone)
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone).AddDate(0, 0, -((int(now.Weekday())+6)%7)-7*(weeks-1))
	ms, err := newcomersSince(ctx, fc.Store, fc.Event.GroupKey(), monday, fc.Now)
	if err != nil {
		return fmt.Errorf("%s: %w", fc.Event.Command.Name, err)
	}
	if len(ms) == 0 {
		fc.Reply(words.T(loc, "cohort.none", weeks))
		return nil
	}
	pct := func(n, of int) string {
		if of == 0 {
			return "0"
		}
		return fmt.Sprintf("%d (%.0f%%)", n, 100*float64(n)/float64(of))
	}
	var lines []string
	switch name {
	case "sources":
		cs := kpi.BySource(ms, fc.Now)
		lines = append(lines, words.T(loc, "sources.title", weeks, len(ms)))
		const shown = 10
		for i, c := range cs {
			if i == shown {
				rest := 0
				for _, c := range cs[shown:] {
					rest += c.Joined
				}
				lines = append(lines, words.T(loc, "sources.more", len(cs)-shown, rest))
				break
			}
			lines = append(lines, words.T(loc, "sources.row", i18n.SourceName(loc, c.Source), c.Joined, pct(c.Verified, c.Joined),
				pct(c.Spoke, c.Joined), pct(c.Active7, c.Joined), pct(c.Active30, c.Joined), pct(c.Left, c.Joined)))
		}
	case "funnel":
		cs := kpi.Cohorts(ms, zone, fc.Now)
		lines = append(lines, words.T(loc, "funnel.title", weeks))
		for _, c := range cs {
			lines = append(lines, words.T(loc, "funnel.row", c.Week, c.Joined, pct(c.Verified, c.Joined), pct(c.Spoke, c.Joined),
				pct(c.Active7, c.Joined), pct(c.Active30, c.Joined)))
		}
	default:
		cs := kpi.Cohorts(ms, zone, fc.Now)
		lines = append(lines, words.T(loc, "ret.title"))
		for _, c := range cs {
			var r [3]string
			for i := range r {
				if c.Due[i] == 0 {
					r[i] = words.T(loc, "ret.notyet")
					continue
				}
				r[i] = fmt.Sprintf("%.0f%% / %.0f%%", 100*float64(c.Active[i])/float64(c.Due[i]), 100*float64(c.Present[i])/float64(c.Due[i]))
			}
			lines = append(lines, words.T(loc, "ret.row", c.Week, c.Joined, r[0], r[1], r[2]))
		}
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// CohortsSince groups the members who joined from from until now by
// their join week in zone (the funnel and the retention table).
func CohortsSince(ctx context.Context, s *state.Store, group string, from, now time.Time, zone *time.Location) ([]kpi.Cohort, error) {
	ms, err := newcomersSince(ctx, s, group, from, now)
	if err != nil {
		return nil, err
	}
	return kpi.Cohorts(ms, zone, now), nil
}

// SourcesSince groups the members who joined from from until now by what
// brought them (/sources, the dashboard's sources table).
func SourcesSince(ctx context.Context, s *state.Store, group string, from, now time.Time) ([]kpi.Cohort, error) {
	ms, err := newcomersSince(ctx, s, group, from, now)
	if err != nil {
		return nil, err
	}
	return kpi.BySource(ms, now), nil
}

// newcomersSince reads the members who joined from from until now.
func newcomersSince(ctx context.Context, s *state.Store, group string, from, now time.Time) ([]kpi.Newcomer, error) {
	ms, err := s.Newcomers(ctx, group, from, now.Add(time.Millisecond))
	if err != nil {
		return nil, err
	}
	in := make([]kpi.Newcomer, len(ms))
	for i, m := range ms {
		in[i] = kpi.Newcomer{JoinedAt: m.JoinedAt, LeftAt: m.LeftAt, Present: m.Present, Verified: m.Verified, Spoke: m.Spoke,
			Active1to7: m.Active1to7, Active30: m.Active30, Day1: m.Day1, Day7: m.Day7, Day30: m.Day30, Source: m.Source}
	}
	return in, nil
}

// sourceLink answers /sources link NAME: a link (Telegram: an invite link
// of that name; WeCom: a join way's QR code with that state) whose joins
// count as NAME. The same name gives the same link again.
func sourceLink(ctx context.Context, fc *engine.FlowContext, name string) error {
	loc := fc.Locale()
	name = strings.TrimSpace(name)
	// 30: the most a WeCom join way's state takes (Telegram's link names: 32)
	if n := utf8.RuneCountInString(name); n == 0 || n > 30 || strings.HasPrefix(name, "qb:") {
		fc.Reply(words.T(loc, "sources.badname", name))
		return nil
	}
	group := fc.Event.GroupKey()
	key := fc.Store.Key(group, "srclinks")
	link, err := fc.Store.Client().HGet(ctx, key, name).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("sources link: %w", err)
	}
	if link == "" {
		l, ok, err := fc.SourceLink(ctx, group, name)
		if err != nil {
			return fmt.Errorf("sources link %q: %w", name, err)
		}
		if !ok {
			fc.Reply(words.T(loc, "sources.cannot"))
			return nil
		}
		link = l
		if err := fc.Store.Client().HSet(ctx, key, name, link).Err(); err != nil {
			return fmt.Errorf("sources link: %w", err)
		}
	}
	fc.Reply(words.T(loc, "sources.link", name, link))
	return nil
}
