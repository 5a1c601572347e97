// Package privacy answers a member's requests about their data: /mydata
// sends them what a group keeps about them, /forgetme erases it, /forget
// lets a moderator erase a member's (see state.Store.MemberData and
// ForgetMember for what is kept and what goes). It is on in every
// group: a member's right to be forgotten does not wait for a config.
package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// Flow is the privacy flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "privacy" }

// Config is the privacy section.
type Config struct {
	// ForgetLeftAfter erases, in a daily run, the data of members who left
	// the group this long ago and did not come back (0: kept until they
	// ask). Data minimisation: what a group keeps about someone who is
	// gone serves nobody after a while.
	ForgetLeftAfter config.Duration `yaml:"forget_left_after"`
	// Retention is when that run happens (cron, in the group's time zone;
	// default 04:30 every day).
	Retention config.Cron `yaml:"retention"`
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.ForgetLeftAfter < 0 || c.ForgetLeftAfter > 0 && c.ForgetLeftAfter.D() < 24*time.Hour {
		report("forget_left_after", "must be 0 (keep) or at least 1d: a member who leaves and comes back the same day keeps their points")
	}
}

// Schema implements engine.Flow: on unless a config turns it off.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any {
		at, _ := config.ParseCron("30 4 * * *")
		return &Config{Retention: at}
	}, DefaultOn: true}
}

// Schedules implements engine.Scheduled: the retention run, where it is on.
func (Flow) Schedules(_ *config.Group, conf any) []engine.Schedule {
	cfg := conf.(*Config)
	if cfg.ForgetLeftAfter <= 0 {
		return nil
	}
	return []engine.Schedule{{Name: "retention", Spec: cfg.Retention.Spec, Cron: cfg.Retention.Schedule, Grace: 24 * time.Hour}}
}

// HandleFire implements engine.Scheduled: members who left before the
// cut-off are forgotten, 500 at a time (one walk of the group's keys
// each); the moderation log gets one line with how many, without ids.
func (Flow) HandleFire(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	if cfg.ForgetLeftAfter <= 0 {
		return nil
	}
	group := fc.Event.GroupKey()
	gone, err := fc.Store.LeftBefore(ctx, group, fc.Now.Add(-cfg.ForgetLeftAfter.D()))
	if err != nil || len(gone) == 0 {
		return err
	}
	items := 0
	for lo := 0; lo < len(gone); lo += 500 {
		got, err := fc.Store.ForgetMembers(ctx, group, gone[lo:min(lo+500, len(gone))])
		if err != nil {
			return err
		}
		items += got.Keys + got.Entries
	}
	fc.Log.Info("retention: members who left long ago forgotten", zap.String("group", group), zap.Int("members", len(gone)), zap.Int("items", items))
	loc := fc.Locale()
	return adfilter.Audit(ctx, fc.Store, group, adfilter.Entry{At: fc.Now, By: "qunbot",
		Action: words.T(loc, "did.retention", len(gone), i18n.Duration(loc, cfg.ForgetLeftAfter.D()), items)})
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "forget", Args: words.T(loc, "args.target"), Help: words.T(loc, "help.forget"), Moderator: true},
		{Name: "forgetme", Help: words.T(loc, "help.forgetme")},
		{Name: "mydata", Help: words.T(loc, "help.mydata")},
	}
}

// HandleCommand implements engine.Commander. In a group, the command and
// its answer leave the chat after a minute where the bot can delete: who
// asked to be forgotten, or to see their data, is nobody else's business.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	fc.Clean(time.Minute)
	switch fc.Event.Command.Name {
	case "forgetme":
		return forgetMe(ctx, fc)
	case "mydata":
		return myData(ctx, fc)
	}
	loc := fc.Locale()
	if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group.only"))
		return nil
	}
	t, args, err := fc.Target(ctx)
	var unknown engine.UnknownTarget
	switch {
	case errors.As(err, &unknown):
		fc.Reply(words.T(loc, "target.unknown", unknown.Name))
		return nil
	case err != nil:
		return err
	case t.ID == "":
		fc.Reply(words.T(loc, "target.none"))
		return nil
	case t.IsAdmin || fc.Group.IsModerator(t.ID) || fc.Group.IsModerator(fc.Event.Platform+":"+t.ID):
		fc.Reply(words.T(loc, "target.moderator", mention(t)))
		return nil
	}
	got, err := fc.Store.ForgetMember(ctx, fc.Event.GroupKey(), t.ID)
	if err != nil {
		return err
	}
	fc.Reply(words.T(loc, "forgotten", mention(t), got.Keys+got.Entries))
	// the log keeps that it was done, and by whom, not the name
	return adfilter.Audit(ctx, fc.Store, fc.Event.GroupKey(), adfilter.Entry{At: fc.Now, By: fc.Event.Member.ID,
		Action: words.T(loc, "did.forget", got.Keys+got.Entries), Member: t.ID, Reason: strings.Join(args, " ")})
}

// forgetMe is a member's own request: it says what goes and asks again;
// "/forgetme yes" erases, in the group or the private chat it is sent in.
func forgetMe(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	me := fc.Event.Member
	if args := fc.Event.Command.Args; len(args) == 0 || !strings.EqualFold(args[0], "yes") && args[0] != "确认" {
		fc.Reply(words.T(loc, "forgetme.ask"))
		return nil
	}
	got, err := fc.Store.ForgetMember(ctx, fc.Event.GroupKey(), me.ID)
	if err != nil {
		return err
	}
	fc.Reply(words.T(loc, "forgetme.done", got.Keys+got.Entries))
	return adfilter.Audit(ctx, fc.Store, fc.Event.GroupKey(), adfilter.Entry{At: fc.Now, By: me.ID,
		Action: words.T(loc, "did.forget", got.Keys+got.Entries), Member: me.ID})
}

// myData sends a member what the group keeps about them (see
// state.Store.MemberData) as a JSON document, privately: a file where the
// platform takes uploads, else the text. Asked in the group, the group
// only hears that it was sent; a member the bot cannot reach privately is
// told to start a chat with it, and nothing of the data is shown there.
func myData(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	me := fc.Event.Member
	group := fc.Event.GroupKey()
	data, err := fc.Store.MemberData(ctx, group, me.ID)
	if err != nil {
		return err
	}
	doc := struct {
		Group  string        `json:"group"`
		Member string        `json:"member"`
		At     time.Time     `json:"at"`
		Data   []state.Datum `json:"data"`
	}{group, me.ID, fc.Now.UTC(), data}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("member data: %w", err)
	}
	a := bot.Action{Type: bot.ActSend, Member: me, Text: words.T(loc, "mydata.caption", len(data))}
	switch {
	case fc.Caps.Has(bot.CanUpload):
		a.File = &bot.File{Name: "qunbot-data.json", Data: js}
	case len(js) <= maxDataText:
		a.Text += "\n" + string(js)
	default:
		// no files here, and too much for a few messages (a long ledger):
		// what is kept where, and who can send the whole
		a.Text = words.T(loc, "mydata.summary", len(data)) + "\n" + summary(data)
	}
	if fc.Event.Chat.Type != bot.ChatGroup {
		a.ReplyTo = fc.Event.MessageID
		fc.Do(a)
		return nil
	}
	a.Type, a.Chat, a.Fallback = bot.ActDM, group, words.T(loc, "mydata.nodm", mention(me))
	fc.Do(a)
	notice := bot.Action{Type: bot.ActSend, Text: words.T(loc, "mydata.sent"), ReplyTo: fc.Event.MessageID, Member: me}
	if fc.Caps.Has(bot.CanAutoDelete) {
		notice.DeleteAfter = time.Minute
	}
	fc.Do(notice)
	return nil
}

// maxDataText is the most JSON /mydata sends as text where files cannot go:
// two WeCom messages' worth.
const maxDataText = 4000

// summary counts a member's data by where it is kept and what it is.
func summary(data []state.Datum) string {
	counts := map[string]int{}
	var order []string
	for _, d := range data {
		family, _, _ := strings.Cut(d.Key, ":")
		k := family + " (" + d.Kind + ")"
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	lines := make([]string, len(order))
	for i, k := range order {
		lines[i] = fmt.Sprintf("%s: %d", k, counts[k])
	}
	return strings.Join(lines, "\n")
}

func mention(m bot.Member) string { return render.NewMember(m.ID, m.Name, m.Username).Mention }

var words = i18n.Catalog{
	"zh-CN": {
		"args.target":      "(回复消息|@成员)",
		"help.forget":      "删除成员在本群的数据（积分、签到、标签、问卷、投票、报名等；管理记录保留）",
		"help.forgetme":    "删除你在本群的数据",
		"group.only":       "请在群里使用这个命令。",
		"target.none":      "请回复要删除数据的成员的消息，或写上 @用户名：/forget @用户名",
		"target.unknown":   "我在这个群里没见过 %s：回复他的消息，或用他的 @用户名 或 ID。",
		"target.moderator": "%s 是管理员，不能删除其数据。",
		"forgotten":        "已删除 %s 在本群的数据（%d 项）。管理记录和警告保留。",
		"did.forget":       "删除成员数据（%d 项）",
		"forgetme.ask":     "这会删除你在本群的全部数据：积分和签到记录、等级和徽章、标签、问卷答案、投票、抽奖和活动报名、邀请记录。管理记录和警告保留。确认请发送 /forgetme yes",
		"forgetme.done":    "已删除你在本群的数据（%d 项）。之后再发言会重新开始记录。",
		"help.mydata":      "私信你本群保存的你的数据",
		"did.retention":    "删除 %d 位离群超过 %s 的成员的数据（%d 项）",
		"mydata.caption":   "本群保存的你的数据（%d 项），JSON 格式：",
		"mydata.sent":      "已私信发给你。",
		"mydata.nodm":      "%s 我无法私信你：请先私聊我（点我的头像，发送 /start），再发送 /mydata。",
		"mydata.summary":   "本群保存的你的数据共 %d 项，太多，无法在这里逐条发送。各类数量如下；完整文件请向群管理员索取（qunbot member-data）。",
	},
	"en": {
		"args.target":      "(reply|@member)",
		"help.forget":      "erase a member's data in this group (points, check-ins, tags, answers, votes, sign-ups; the moderation log stays)",
		"help.forgetme":    "erase your data in this group",
		"group.only":       "Use this command in the group.",
		"target.none":      "Reply to the member's message, or name them: /forget @username",
		"target.unknown":   "I have not seen %s in this group: reply to their message, or use their @username or id.",
		"target.moderator": "%s is a moderator: their data stays.",
		"forgotten":        "Erased the data of %s in this group (%d items). The moderation log and warnings stay.",
		"did.forget":       "erased member data (%d items)",
		"forgetme.ask":     "This erases all your data in this group: points and check-ins, level and badges, tags, questionnaire answers, votes, lottery entries and event sign-ups, invites. The moderation log and warnings stay. To confirm, send /forgetme yes",
		"forgetme.done":    "Erased your data in this group (%d items). If you write again, you are recorded anew from then on.",
		"help.mydata":      "get what this group keeps about you, privately",
		"did.retention":    "erased the data of %d members who left over %s ago (%d items)",
		"mydata.caption":   "What this group keeps about you (%d items), as JSON:",
		"mydata.sent":      "Sent to you privately.",
		"mydata.nodm":      "%s I cannot message you privately: start a chat with me first (open my profile, send /start), then send /mydata again.",
		"mydata.summary":   "This group keeps %d items about you, too many to send here one by one. Here is how many of each; ask the group's moderators for the whole file (qunbot member-data).",
	},
}
