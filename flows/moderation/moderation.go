// Package moderation gives moderators their commands: warnings, mutes,
// kicks and bans on a replied-to message or a mentioned member, spam and
// ham reports that teach the ad filter's classifier, the audit log, and a
// dry run of the filter on any text. Only platform admins and configured
// moderators may use them (the engine refuses others and logs the try);
// every action is appended to the group's audit log.
package moderation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/raid"
)

// Flow is the moderation flow.
type Flow struct{}

// Config is the moderation section.
type Config struct {
	// MuteDefault is /mute's duration when none is given.
	MuteDefault config.Duration `yaml:"mute_default"`
	// WarnDecay is how long a warning counts where the ad filter (whose
	// ladder.decay applies otherwise) is off.
	WarnDecay config.Duration `yaml:"warn_decay"`
	// ModlogSize is how many entries /modlog shows.
	ModlogSize int `yaml:"modlog_size"`
	// Ladder is what /warn's warnings lead to where the ad filter is off
	// (where it is on, its ladder applies to spam and /warn alike, so a
	// member has one count); its decay is warn_decay.
	Ladder []adfilter.Step `yaml:"ladder"`
	// ReportChat receives members' reports (/report, @admin); empty: the
	// moderators privately, or the group when none can be told.
	ReportChat config.ChatKey `yaml:"report_chat"`
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.MuteDefault <= 0 {
		report("mute_default", "must be above zero")
	}
	if c.WarnDecay <= 0 {
		report("warn_decay", "must be above zero")
	}
	if c.ModlogSize < 1 || c.ModlogSize > 50 {
		report("modlog_size", "must be 1 to 50")
	}
	for i, st := range c.Ladder {
		if st.At < 1 || (st.Action != "warn" && st.Action != "mute" && st.Action != "kick" && st.Action != "ban") {
			report(fmt.Sprintf("ladder[%d]", i), "a step is {at: N ≥ 1, action: warn|mute|kick|ban, for: duration}")
		}
	}
}

// Name implements engine.Flow.
func (Flow) Name() string { return "moderation" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any {
		return &Config{MuteDefault: config.Duration(time.Hour), WarnDecay: config.Duration(30 * 24 * time.Hour), ModlogSize: 10,
			Ladder: []adfilter.Step{{At: 1, Action: "warn"}, {At: 3, Action: "mute", For: config.Duration(24 * time.Hour)}, {At: 5, Action: "ban"}}}
	}}
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	target := words.T(loc, "args.target")
	return []engine.CommandSpec{
		{Name: "warn", Args: target + " [" + words.T(loc, "args.reason") + "]", Help: words.T(loc, "help.warn"), Moderator: true},
		{Name: "unwarn", Args: target, Help: words.T(loc, "help.unwarn"), Moderator: true},
		{Name: "warns", Args: target, Help: words.T(loc, "help.warns"), Moderator: true},
		{Name: "mute", Args: target + " [1h]", Help: words.T(loc, "help.mute"), Moderator: true},
		{Name: "unmute", Args: target, Help: words.T(loc, "help.unmute"), Moderator: true},
		{Name: "kick", Args: target, Help: words.T(loc, "help.kick"), Moderator: true},
		{Name: "ban", Args: target + " [7d]", Help: words.T(loc, "help.ban"), Moderator: true},
		{Name: "unban", Args: target, Help: words.T(loc, "help.unban"), Moderator: true},
		{Name: "spam", Help: words.T(loc, "help.spam"), Moderator: true},
		{Name: "ham", Help: words.T(loc, "help.ham"), Moderator: true},
		{Name: "modlog", Help: words.T(loc, "help.modlog"), Moderator: true, Group: true},
		{Name: "filter", Args: "test|name <text>", Help: words.T(loc, "help.filter"), Moderator: true},
		{Name: "tasks", Args: "[group]", Help: words.T(loc, "help.tasks"), Moderator: true},
		{Name: "del", Help: words.T(loc, "help.del"), Moderator: true},
		{Name: "purge", Help: words.T(loc, "help.purge"), Moderator: true},
		{Name: "pin", Help: words.T(loc, "help.pin"), Moderator: true},
		{Name: "unpin", Help: words.T(loc, "help.unpin"), Moderator: true},
		{Name: "report", Help: words.T(loc, "help.report")},
	}
}

// HandleCommand implements engine.Commander.
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		return nil
	}
	loc := fc.Locale()
	cmd := fc.Event.Command
	if cmd.Name == "tasks" {
		return f.tasks(ctx, fc)
	}
	if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group.only"))
		return nil
	}
	switch cmd.Name {
	case "modlog":
		return f.modlog(ctx, fc, cfg)
	case "filter":
		return f.filterTest(ctx, fc)
	case "spam", "ham":
		return f.report(ctx, fc, cmd.Name == "spam")
	case "del", "purge", "pin", "unpin":
		return f.messages(ctx, fc, cmd.Name)
	case "report":
		return f.reportToModerators(ctx, fc)
	}
	target, args, err := resolveTarget(ctx, fc)
	var unknown engine.UnknownTarget
	if errors.As(err, &unknown) {
		fc.Reply(words.T(loc, "target.unknown", unknown.Name))
		return nil
	}
	if err != nil {
		return err
	}
	if target.ID == "" {
		fc.Reply(words.T(loc, "target.none", cmd.Name))
		return nil
	}
	if target.IsAdmin || fc.Group.IsModerator(target.ID) || fc.Group.IsModerator(fc.Event.Platform+":"+target.ID) {
		if cmd.Name != "warns" {
			fc.Reply(words.T(loc, "target.moderator", mention(target)))
			return nil
		}
	}
	return f.act(ctx, fc, cfg, cmd.Name, target, args)
}

// resolveTarget finds the member a command is about (engine's Target).
func resolveTarget(ctx context.Context, fc *engine.FlowContext) (bot.Member, []string, error) {
	return fc.Target(ctx)
}

func (f Flow) act(ctx context.Context, fc *engine.FlowContext, cfg *Config, name string, t bot.Member, args []string) error {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	af, filterOn := adfilterConfig(fc)
	decay := cfg.WarnDecay.D()
	if filterOn {
		decay = af.Ladder.Decay.D()
	}
	who := mention(t)
	var did string
	switch name {
	case "warn", "unwarn", "warns":
		delta := map[string]int{"warn": 1, "unwarn": -1, "warns": 0}[name]
		if name == "unwarn" {
			// nothing to take back: say so, log nothing
			if had, err := adfilter.WarningCount(ctx, fc.Store, group, t.ID, decay, fc.Now); err != nil {
				return err
			} else if had == 0 {
				fc.Reply(words.T(loc, "unwarn.none", who))
				return nil
			}
		}
		n, err := adfilter.Warnings(ctx, fc.Store, group, t.ID, delta, false, decay, fc.Now)
		if err != nil {
			return err
		}
		if name == "warns" {
			fc.Reply(words.T(loc, "warns", who, n, i18n.Duration(loc, decay)))
			return nil
		}
		if name == "unwarn" {
			did = words.T(loc, "did.unwarn", n)
			fc.Reply(words.T(loc, "unwarned", who, n))
			break
		}
		reason := strings.Join(args, " ")
		if reason == "" {
			reason = words.T(loc, "reason.none")
		}
		did = ladder(fc, cfg, t, n, reason)
	case "mute", "ban":
		d := time.Duration(0)
		if name == "mute" {
			d = cfg.MuteDefault.D()
		}
		if len(args) > 0 {
			v, err := config.ParseDuration(args[0])
			if err != nil || v <= 0 {
				fc.Reply(words.T(loc, "duration.bad", args[0]))
				return nil
			}
			d = v
		}
		var until time.Time
		if d > 0 {
			until = fc.Now.Add(d)
		}
		typ, capab := bot.ActRestrict, bot.CanRestrict
		if name == "ban" {
			typ, capab = bot.ActBan, bot.CanBan
		}
		if !fc.Caps.For(t).Has(capab) {
			fc.Reply(cannot(fc, t, name))
			return nil
		}
		span := words.T(loc, "forever")
		if d > 0 {
			span = i18n.Duration(loc, d)
		}
		fc.Count(map[string]kpi.Name{"mute": kpi.Mutes, "ban": kpi.Bans}[name], 1)
		confirmed(fc, bot.Action{Type: typ, Member: t, Until: until}, name+" "+span, strings.Join(args, " "),
			words.T(loc, "done."+name, who, span), words.T(loc, "failed", name, who))
		return nil
	case "unmute", "kick", "unban":
		typ, capab := map[string]bot.ActionType{"unmute": bot.ActUnrestrict, "kick": bot.ActKick, "unban": bot.ActUnban}[name],
			map[string]bot.Capability{"unmute": bot.CanRestrict, "kick": bot.CanKick, "unban": bot.CanBan}[name]
		if name == "unmute" {
			// a raid's hold ends too: its messages are no longer deleted,
			// which is all there is to lift where the bot cannot restrict
			m, err := fc.Store.Member(ctx, group, t.ID)
			if err != nil {
				return err
			}
			if m.Fields[raid.FieldRaider] != "" {
				if err := fc.Store.SetFields(ctx, group, t.ID, map[string]string{raid.FieldRaider: ""}); err != nil {
					return err
				}
				if !fc.Caps.For(t).Has(capab) {
					fc.Reply(words.T(loc, "done.unmute", who))
					return audit(ctx, fc, t, name, strings.Join(args, " "))
				}
			}
		}
		if !fc.Caps.For(t).Has(capab) {
			fc.Reply(cannot(fc, t, name))
			return nil
		}
		if name == "kick" {
			fc.Count(kpi.Kicks, 1)
		}
		confirmed(fc, bot.Action{Type: typ, Member: t}, name, strings.Join(args, " "),
			words.T(loc, "done."+name, who), words.T(loc, "failed", name, who))
		return nil
	}
	return audit(ctx, fc, t, did, strings.Join(args, " "))
}

// cannot says why name cannot be done to t: a channel is not a member,
// or the platform or the bot's rights do not allow it.
func cannot(fc *engine.FlowContext, t bot.Member, name string) string {
	if c := map[string]bot.Capability{"mute": bot.CanRestrict, "unmute": bot.CanRestrict, "kick": bot.CanKick}[name]; t.IsChannel && c != 0 && fc.Caps.Has(c) {
		return words.T(fc.Locale(), "cannot.channel", name)
	}
	return words.T(fc.Locale(), "cannot", name)
}

// ladder takes the step of the warning ladder in force for a member's
// n-th live warning (the ad filter's where it is on, so a member has one
// count; else moderation's own) and says what was done.
func ladder(fc *engine.FlowContext, cfg *Config, t bot.Member, n int, reason string) string {
	if af, on := adfilterConfig(fc); on {
		return strings.Join(adfilter.ApplyLadder(fc, af, t, n, reason, true), " · ")
	}
	if len(cfg.Ladder) > 0 {
		own := &adfilter.Config{Ladder: adfilter.Ladder{Decay: cfg.WarnDecay, Steps: cfg.Ladder}}
		return strings.Join(adfilter.ApplyLadder(fc, own, t, n, reason, true), " · ")
	}
	loc := fc.Locale()
	fc.Count(kpi.Warns, 1)
	fc.Do(bot.Action{Type: bot.ActSend, Member: t, Text: words.T(loc, "warned", mention(t), reason, n)})
	return words.T(loc, "did.warn", n)
}

// WarnDecay is how long a warning counts in the event's group: the ad
// filter's ladder decay where it is on, else moderation's warn_decay.
func WarnDecay(fc *engine.FlowContext) time.Duration {
	if af, on := adfilterConfig(fc); on {
		return af.Ladder.Decay.D()
	}
	if c, ok := fc.Flow("moderation"); ok {
		if mc, ok := c.(*Config); ok {
			return mc.WarnDecay.D()
		}
	}
	return Flow{}.Schema().New().(*Config).WarnDecay.D()
}

// Warn gives a member a warning for reason on another flow's behalf (a
// locked sticker, a reported message) and applies the ladder as /warn
// does; it returns what was done, for the audit log. With moderation off
// in the group, the ad filter's ladder applies where it is on, else a
// plain warning is counted.
func Warn(ctx context.Context, fc *engine.FlowContext, t bot.Member, reason string) (string, error) {
	cfg, _ := fc.Flow("moderation")
	mc, ok := cfg.(*Config)
	if !ok {
		mc = Flow{}.Schema().New().(*Config)
	}
	n, err := adfilter.Warnings(ctx, fc.Store, fc.Event.GroupKey(), t.ID, 1, false, WarnDecay(fc), fc.Now)
	if err != nil {
		return "", err
	}
	return ladder(fc, mc, t, n, reason), nil
}

// confirmed queues a moderator's action so that the group hears "done"
// only once the platform has done it, and hears that it failed if it did
// not; the moderation log entry is written then, with the outcome.
func confirmed(fc *engine.FlowContext, a bot.Action, what, reason, done, failed string) {
	reply := func(text string) bot.Action {
		return bot.Action{Type: bot.ActSend, Chat: fc.Event.Chat.Key, Text: text, ReplyTo: fc.Event.MessageID, Member: fc.Event.Member, Flow: "moderation"}
	}
	a.Then = []bot.Action{reply(done)}
	a.Else = []bot.Action{reply(failed)}
	a.Audit = &bot.Audit{By: fc.Event.Member.ID, What: what, Reason: reason}
	fc.Do(a)
}

// report handles /spam and /ham on a replied-to message.
func (f Flow) report(ctx context.Context, fc *engine.FlowContext, spam bool) error {
	loc := fc.Locale()
	r := fc.Event.ReplyTo
	if r == nil || r.Text == "" {
		fc.Reply(words.T(loc, "report.reply"))
		return nil
	}
	af, on := adfilterConfig(fc)
	model := "default"
	if on && af.Classifier != nil {
		model = af.Classifier.Model
	}
	if err := adfilter.Teach(ctx, fc.Store, model, r.Text, spam); err != nil {
		return err
	}
	if on && af.Scorer() != nil {
		af.Scorer().Forget()
	}
	t := r.Member
	if !spam {
		fc.Count(kpi.Ham, 1)
		fc.Reply(words.T(loc, "ham.ok"))
		return audit(ctx, fc, t, "ham", adfilter.Excerpt(r.Text, 80))
	}
	if fc.Caps.Has(bot.CanDelete) {
		fc.Do(bot.Action{Type: bot.ActDelete, MessageID: r.MessageID, Member: t})
	}
	if on {
		// the copies newcomers posted elsewhere go too
		if err := adfilter.SweepCopies(ctx, fc, af, r.Text, r.MessageID); err != nil {
			return err
		}
	}
	did := "spam: deleted, learned"
	moderator := t.IsAdmin || fc.Group.IsModerator(t.ID) || fc.Group.IsModerator(fc.Event.Platform+":"+t.ID)
	if t.ID != "" && !moderator && fc.Caps.Has(bot.CanBan) {
		fc.Do(bot.Action{Type: bot.ActBan, Member: t})
		fc.Count(kpi.Bans, 1)
		did = "spam: deleted, banned, learned"
	}
	fc.Reply(words.T(loc, "spam.ok", mention(t)))
	return audit(ctx, fc, t, did, adfilter.Excerpt(r.Text, 80))
}

func (f Flow) modlog(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	es, err := adfilter.Recent(ctx, fc.Store, fc.Event.GroupKey(), int64(cfg.ModlogSize))
	if err != nil {
		return err
	}
	if len(es) == 0 {
		fc.Reply(words.T(loc, "modlog.none"))
		return nil
	}
	lines := []string{words.T(loc, "modlog.title", len(es))}
	for _, e := range es {
		name := e.Name
		if name == "" {
			name = e.Member
		}
		line := fmt.Sprintf("%s %s → %s (%s): %s", e.At.In(fc.Group.Location).Format("01-02 15:04"), e.By, name, e.Member, e.Action)
		if e.Member == "" { // about the group, not a member (a lock, /purge)
			line = fmt.Sprintf("%s %s: %s", e.At.In(fc.Group.Location).Format("01-02 15:04"), e.By, e.Action)
		}
		if e.Reason != "" {
			line += " — " + adfilter.Excerpt(e.Reason, 60)
		}
		if e.Result != "" && e.Result != "ok" {
			line += " [" + adfilter.Excerpt(e.Result, 80) + "]"
		}
		lines = append(lines, line)
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// filterTest scores a text as the group's filter would (as from a
// newcomer when the text says so, else a regular member).
func (f Flow) filterTest(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	args := fc.Event.Command.Args
	if len(args) < 2 || args[0] != "test" && args[0] != "name" {
		fc.Reply(words.T(loc, "filter.usage"))
		return nil
	}
	af, on := adfilterConfig(fc)
	if !on || af.Scorer() == nil {
		fc.Reply(words.T(loc, "filter.off"))
		return nil
	}
	text := strings.TrimSpace(strings.TrimPrefix(fc.Event.Command.ArgText, args[0]))
	var v adfilter.Verdict
	if args[0] == "name" {
		// as a member's name: the rules alone (see adfilter.names)
		v = af.Scorer().NameVerdict(bot.Member{Name: text})
	} else {
		model, err := af.Scorer().Model(ctx, fc.Store, fc.Now)
		if err != nil {
			return err
		}
		v = af.Scorer().Score(adfilter.Input{Text: text}, model)
	}
	var nz adfilter.Normalizer
	lines := []string{words.T(loc, "filter.result", v.Score, v.Threshold, verdict(loc, v.Spam())), words.T(loc, "filter.form", string(nz.Normalize(text)))}
	for _, h := range v.Hits() {
		lines = append(lines, fmt.Sprintf("• %s %s +%.2f", h.Rule, h.Detail, h.Score))
	}
	if len(v.Hits()) == 0 {
		lines = append(lines, words.T(loc, "filter.none"))
	}
	switch {
	case v.P >= 0 && v.Sure > 0 && v.Sure < 1:
		lines = append(lines, words.T(loc, "filter.model", v.P, v.Sure))
	case v.P >= 0:
		lines = append(lines, words.T(loc, "filter.model.tips", v.P))
	}
	if args[0] == "name" && v.Spam() && af.Names.Join != "off" {
		lines = append(lines, words.T(loc, "filter.name", af.Names.Join))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// tasks shows the latest posts the platform delivers only after a person
// confirms them (WeCom customer groups), and their status. In a private
// chat (staff writing to the app) the group is the argument.
func (f Flow) tasks(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	if args := fc.Event.Command.Args; len(args) > 0 {
		group = args[0]
	} else if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "tasks.usage"))
		return nil
	}
	ts, ok, err := fc.Tasks(ctx, group, 10)
	if err != nil {
		return err
	}
	if !ok {
		fc.Reply(words.T(loc, "tasks.none.platform"))
		return nil
	}
	if len(ts) == 0 {
		fc.Reply(words.T(loc, "tasks.none", group))
		return nil
	}
	lines := []string{words.T(loc, "tasks.title", group)}
	for _, t := range ts {
		lines = append(lines, fmt.Sprintf("• %s %s: %s", t.Created.In(fc.Group.Location).Format("01-02 15:04"), t.ID, t.Status))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

func verdict(loc string, spam bool) string {
	if spam {
		return words.T(loc, "filter.spam")
	}
	return words.T(loc, "filter.ok")
}

func adfilterConfig(fc *engine.FlowContext) (*adfilter.Config, bool) {
	c, ok := fc.Flow("adfilter")
	if !ok {
		return nil, false
	}
	af, ok := c.(*adfilter.Config)
	return af, ok
}

func audit(ctx context.Context, fc *engine.FlowContext, t bot.Member, action, reason string) error {
	return adfilter.Audit(ctx, fc.Store, fc.Event.GroupKey(), adfilter.Entry{At: fc.Now, By: fc.Event.Member.ID, Action: action,
		Member: t.ID, Name: t.Name, Reason: reason})
}

func mention(m bot.Member) string { return render.NewMember(m.ID, m.Name, m.Username).Mention }

var words = i18n.Catalog{
	"zh-CN": {
		"args.target":         "(回复消息|@成员)",
		"args.reason":         "原因",
		"help.warn":           "警告成员（累计触发禁言/移出）",
		"help.unwarn":         "撤销一次警告",
		"help.warns":          "查看成员的警告次数",
		"help.mute":           "禁言成员",
		"help.unmute":         "解除禁言",
		"help.kick":           "移出成员",
		"help.ban":            "封禁成员",
		"help.unban":          "解除封禁",
		"help.spam":           "（回复）标记为广告：删除、封禁并学习",
		"help.ham":            "（回复）标记为正常消息并学习",
		"help.modlog":         "最近的管理记录",
		"help.filter":         "测试一段文字（或一个名字）会触发哪些过滤规则",
		"help.tasks":          "待群主确认的群发任务及其状态（企业微信客户群）",
		"tasks.usage":         "用法：/tasks <群>，例如 /tasks wecom:ext:wrOgQhDgAA",
		"tasks.none.platform": "这个平台的消息直接发送，没有待确认的任务。",
		"tasks.none":          "%s 没有群发任务记录。",
		"tasks.title":         "%s 最近的群发任务：",
		"group.only":          "请在群里使用这个命令。",
		"target.none":         "请回复要处理的成员的消息，或写上 @用户名：/%s @用户名",
		"target.moderator":    "%s 是管理员，不能对其执行这个操作。",
		"warns":               "%s 当前有 %d 次有效警告（每次 %s后失效）。",
		"unwarned":            "已撤销 %s 的一次警告，剩余 %d 次。",
		"warned":              "⚠️ %s 收到警告：%s（第 %d 次）。",
		"reason.none":         "违反群规",
		"did.warn":            "警告（第 %d 次）",
		"did.unwarn":          "撤销警告（剩 %d 次）",
		"duration.bad":        "时长 %q 无效，例如 30m、1h、7d。",
		"cannot":              "这里做不到 /%s：这个平台不支持，或机器人缺少所需的管理员权限（如「封禁用户」）。",
		"cannot.channel":      "不能对频道 /%s：以频道身份发言的不是成员，只能 /ban（封禁该频道）或删除它的消息。",
		"forever":             "永久",
		"done.mute":           "🔇 已禁言 %s（%s）。",
		"done.ban":            "⛔ 已封禁 %s（%s）。",
		"done.unmute":         "🔊 已解除 %s 的禁言。",
		"done.kick":           "👋 已将 %s 移出群。",
		"done.unban":          "✅ 已解除 %s 的封禁。",
		"failed":              "❌ /%s %s 没有成功：平台拒绝了这个操作，原因见 /modlog。",
		"report.reply":        "请回复要标记的消息。",
		"ham.ok":              "✅ 已记为正常消息，过滤器会学习。",
		"spam.ok":             "🚫 已删除并处理 %s 的广告，过滤器会学习。",
		"modlog.none":         "还没有管理记录。",
		"help.del":            "（回复）删除那条消息",
		"help.purge":          "（回复）删除从那条消息到这条命令之间的消息",
		"help.pin":            "（回复）置顶那条消息",
		"help.unpin":          "取消置顶（回复那条消息；不回复则取消最近一条）",
		"help.report":         "（回复）把这条消息报告给管理员（也可以回复 @admin）",
		"rep.reply":           "请回复要报告的那条消息，再发 /report 或 @admin。",
		"rep.self":            "不能报告自己的消息。",
		"rep.again":           "这条消息已经报告过了，管理员会处理。",
		"rep.text":            "🚩 %s 报告了 %s（%s）在「%s」的消息：\n%s",
		"rep.del":             "🗑 删除",
		"rep.warn":            "⚠️ 警告",
		"rep.ban":             "⛔ 封禁",
		"rep.ok":              "✅ 无需处理",
		"rep.open":            "打开消息",
		"rep.sent":            "✅ 已通知管理员。",
		"rep.gone":            "这条报告已过期。",
		"rep.notmod":          "只有这个群的管理员可以处理报告。",
		"rep.handled":         "已经由 %s 处理（%s）。",
		"rep.dismissed":       "已标记为无需处理。",
		"rep.reason":          "被成员举报",
		"rep.done":            "已处理。",
		"msg.reply":           "请回复要操作的那条消息再发 /%s。",
		"msg.cannot":          "这个平台不能在这里 /%s。",
		"purge.many":          "一次最多清理 %d 条消息；请回复更近的一条。",
		"target.unknown":      "我在这个群里没见过 %s：回复他的消息，或用他的 @用户名 或 ID。",
		"unwarn.none":         "%s 没有警告，无需撤销。",
		"modlog.title":        "最近 %d 条管理记录：",
		"filter.usage":        "用法：/filter test <文字>，或 /filter name <名字>",
		"filter.name":         "以此名字入群：%s",
		"filter.off":          "本群没有启用广告过滤（adfilter）。",
		"filter.result":       "得分 %.2f（阈值 %.2f）：%s",
		"filter.form":         "归一化：%s",
		"filter.none":         "没有规则命中。",
		"filter.model":        "模型：P(广告) %.2f，达到 %.2f 时单独判定",
		"filter.model.tips":   "模型：P(广告) %.2f（只加减分，不单独判定）",
		"filter.spam":         "会被判定为广告",
		"filter.ok":           "不会被拦截",
	},
	"en": {
		"args.target":         "(reply|@member)",
		"args.reason":         "reason",
		"help.warn":           "Warn a member (warnings add up to a mute or removal)",
		"help.unwarn":         "Take back a warning",
		"help.warns":          "A member's warnings",
		"help.mute":           "Mute a member",
		"help.unmute":         "Lift a mute",
		"help.kick":           "Remove a member",
		"help.ban":            "Ban a member",
		"help.unban":          "Lift a ban",
		"help.spam":           "(reply) Mark as spam: delete, ban, learn",
		"help.ham":            "(reply) Mark as not spam and learn",
		"help.modlog":         "Recent moderation actions",
		"help.filter":         "Which filter rules a text (or a name) fires",
		"help.tasks":          "Posts waiting for a group owner's confirmation (WeCom customer groups)",
		"tasks.usage":         "Usage: /tasks <group>, e.g. /tasks wecom:ext:wrOgQhDgAA",
		"tasks.none.platform": "Posts on this platform go out directly: no tasks.",
		"tasks.none":          "No tasks recorded for %s.",
		"tasks.title":         "Latest tasks of %s:",
		"group.only":          "Use this command in the group.",
		"target.none":         "Reply to the member's message, or name them: /%s @username",
		"target.moderator":    "%s is a moderator: not done.",
		"warns":               "%s has %d live warnings (each lasts %s).",
		"unwarned":            "Took back a warning of %s; %d left.",
		"warned":              "⚠️ %s, you are warned: %s (warning %d).",
		"reason.none":         "breaking the rules",
		"did.warn":            "warned (%d)",
		"did.unwarn":          "unwarned (%d left)",
		"duration.bad":        "%q is not a duration: write 30m, 1h, 7d.",
		"cannot":              "/%s is not possible here: the platform does not allow it, or the bot lacks the admin right it needs (such as Ban users).",
		"cannot.channel":      "/%s is not possible for a channel: one that speaks in the group as a channel is not a member; it can only be banned (/ban) and its messages deleted.",
		"forever":             "for good",
		"done.mute":           "🔇 Muted %s (%s).",
		"done.ban":            "⛔ Banned %s (%s).",
		"done.unmute":         "🔊 %s may speak again.",
		"done.kick":           "👋 Removed %s.",
		"done.unban":          "✅ Lifted the ban on %s.",
		"failed":              "❌ /%s %s did not happen: the platform refused it; /modlog says why.",
		"report.reply":        "Reply to the message you mean.",
		"ham.ok":              "✅ Noted as not spam; the filter learns from it.",
		"spam.ok":             "🚫 Removed the spam of %s; the filter learns from it.",
		"modlog.none":         "No moderation actions yet.",
		"help.del":            "(reply) delete that message",
		"help.purge":          "(reply) delete the messages from that one to this command",
		"help.pin":            "(reply) pin that message",
		"help.unpin":          "unpin (reply to the message; without a reply the latest pinned one)",
		"help.report":         "(reply) report the message to the moderators (or reply @admin)",
		"rep.reply":           "Reply to the message you report, then send /report or @admin.",
		"rep.self":            "You cannot report your own message.",
		"rep.again":           "This message is reported already; the moderators will look at it.",
		"rep.text":            "🚩 %s reported a message of %s (%s) in %s:\n%s",
		"rep.del":             "🗑 Delete",
		"rep.warn":            "⚠️ Warn",
		"rep.ban":             "⛔ Ban",
		"rep.ok":              "✅ Nothing to do",
		"rep.open":            "Open the message",
		"rep.sent":            "✅ The moderators are told.",
		"rep.gone":            "This report has expired.",
		"rep.notmod":          "Only this group's moderators can act on a report.",
		"rep.handled":         "Handled already by %s (%s).",
		"rep.dismissed":       "Marked as nothing to do.",
		"rep.reason":          "reported by members",
		"rep.done":            "Done.",
		"msg.reply":           "Reply to the message, then send /%s.",
		"msg.cannot":          "This platform cannot /%s here.",
		"purge.many":          "At most %d messages at a time; reply to a later one.",
		"target.unknown":      "I have not seen %s in this group: reply to their message, or use their @username or id.",
		"unwarn.none":         "%s has no warnings; nothing to take back.",
		"modlog.title":        "Last %d moderation actions:",
		"filter.usage":        "Usage: /filter test <text>, or /filter name <name>",
		"filter.name":         "Joining with this name: %s",
		"filter.off":          "The ad filter (adfilter) is not on in this group.",
		"filter.result":       "Score %.2f (threshold %.2f): %s",
		"filter.form":         "Normalised: %s",
		"filter.none":         "No rule fires.",
		"filter.model":        "Model: P(spam) %.2f; it decides alone from %.2f",
		"filter.model.tips":   "Model: P(spam) %.2f (it only tips the score, never decides alone)",
		"filter.spam":         "would be removed as spam",
		"filter.ok":           "would pass",
	},
}

// purgeMax bounds one /purge (Telegram deletes messages of the last 48
// hours only; older ones fail on their own and are logged as failed).
const purgeMax = 200

// messages handles /del, /purge and /pin on a replied-to message.
func (f Flow) messages(ctx context.Context, fc *engine.FlowContext, name string) error {
	loc := fc.Locale()
	ev := fc.Event
	r := ev.ReplyTo
	if name == "unpin" && r == nil {
		r = &bot.Reply{} // no reply: the latest pinned message
	}
	if r == nil || (r.MessageID == "" && name != "unpin") {
		fc.Reply(words.T(loc, "msg.reply", name))
		return nil
	}
	capab := bot.CanDelete
	if name == "pin" || name == "unpin" {
		capab = bot.CanPin
	}
	if !fc.Caps.Has(capab) {
		fc.Reply(words.T(loc, "msg.cannot", name))
		return nil
	}
	group := ev.GroupKey()
	switch name {
	case "pin":
		fc.Do(bot.Action{Type: bot.ActPin, Chat: ev.Chat.Key, MessageID: r.MessageID, Member: r.Member,
			Audit: &bot.Audit{By: ev.Member.ID, What: "pin", Reason: adfilter.Excerpt(r.Text, 60)}})
	case "unpin":
		fc.Do(bot.Action{Type: bot.ActUnpin, Chat: ev.Chat.Key, MessageID: r.MessageID, Member: r.Member,
			Audit: &bot.Audit{By: ev.Member.ID, What: "unpin", Reason: adfilter.Excerpt(r.Text, 60)}})
	case "del":
		fc.Do(bot.Action{Type: bot.ActDelete, Chat: ev.Chat.Key, MessageID: r.MessageID, Member: r.Member,
			Audit: &bot.Audit{By: ev.Member.ID, What: "delete", Reason: adfilter.Excerpt(r.Text, 60)}})
		fc.Do(bot.Action{Type: bot.ActDelete, Chat: ev.Chat.Key, MessageID: ev.MessageID, Member: ev.Member})
	case "purge":
		from, err1 := strconv.Atoi(r.MessageID)
		to, err2 := strconv.Atoi(ev.MessageID)
		if err1 != nil || err2 != nil || to < from {
			fc.Reply(words.T(loc, "msg.cannot", name)) // message ids that are not a sequence
			return nil
		}
		if to-from+1 > purgeMax {
			fc.Reply(words.T(loc, "purge.many", purgeMax))
			return nil
		}
		for id := from; id <= to; id++ {
			fc.Do(bot.Action{Type: bot.ActDelete, Chat: ev.Chat.Key, MessageID: strconv.Itoa(id)})
		}
		return adfilter.Audit(ctx, fc.Store, group, adfilter.Entry{At: fc.Now, By: ev.Member.ID, Action: "purge",
			Reason: fmt.Sprintf("%d messages (%s to %s)", to-from+1, r.MessageID, ev.MessageID)})
	}
	return nil
}
