// Package wakeup places members in tiers by their recorded activity (core,
// active, silent, churned) and wins back members who went quiet with an
// ordered list of stages: a gift after a week, content after two, an
// invitation after three, a personal note to the churned. Each stage goes
// once per silence period; speaking again starts over. Whether a member
// came back after each stage is recorded, and /tiers shows it.
package wakeup

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/codes"
	"github.com/qunbot/qunbot/flows/survey"
	"github.com/qunbot/qunbot/flows/tags"
)

// Flow is the wakeup flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "wakeup" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return defaults() }}
}

// Stage implements engine.EventHandler: after points, so only real activity
// (not spam the filter dropped) resets a member.
func (Flow) Stage() engine.Stage { return engine.StageReset }

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "tiers", Help: words.T(locale, "help.tiers"), Moderator: true, Group: true}}
}

// Schedules implements engine.Scheduled: the group's scan.
func (Flow) Schedules(g *config.Group, conf any) []engine.Schedule {
	cfg := conf.(*Config)
	if len(cfg.Stages) == 0 && !hasTierTags(g) {
		return nil
	}
	return []engine.Schedule{{Name: "scan", Spec: cfg.Scan.Spec, Cron: cfg.Scan.Schedule, Grace: cfg.Grace.D()}}
}

// Handle implements engine.EventHandler: a member who got a wake-up message
// and speaks within the comeback window counts as won back by that stage.
// The check reads the member record the engine already loaded, so it costs
// nothing unless the member has a wake-up outstanding.
func (Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	if (fc.Event.Kind != bot.EventMessage && fc.Event.Kind != bot.EventCommand) || fc.Event.Chat.Type != bot.ChatGroup || fc.Member == nil {
		return nil
	}
	last := fc.Member.Fields["wk_last"]
	if last == "" {
		return nil
	}
	cfg := fc.Config.(*Config)
	stage, at, _ := strings.Cut(last, ":")
	sentMs, _ := strconv.ParseInt(at, 10, 64)
	k := keys{fc.Store, fc.Event.GroupKey()}
	_, err := fc.Store.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		if fc.Now.Sub(time.UnixMilli(sentMs)) <= cfg.ComebackWindow.D() {
			p.HIncrBy(ctx, k.stats(), stage+":back", 1)
		}
		return nil
	})
	if err == nil {
		err = fc.Store.DelFields(ctx, k.group, fc.Member.ID, "wk_last")
	}
	if err != nil {
		return fmt.Errorf("record comeback: %w", err)
	}
	if fc.Now.Sub(time.UnixMilli(sentMs)) <= cfg.ComebackWindow.D() {
		fc.Count(kpi.Staged(kpi.Comebacks, stage), 1)
	}
	return nil
}

// HandleFire implements engine.Scheduled: the scan is due.
func (f Flow) HandleFire(ctx context.Context, fc *engine.FlowContext) error {
	if err := tierTags(ctx, fc); err != nil {
		return err
	}
	return f.scan(ctx, fc)
}

// hasTierTags reports whether the group's tags flow has tier rules (the
// daily scan keeps them, stages or not).
func hasTierTags(g *config.Group) bool {
	if g == nil {
		return false
	}
	c, on := g.Flow("tags")
	if !on {
		return false
	}
	for _, r := range c.(*tags.Config).Rules {
		if r.Tier != "" {
			return true
		}
	}
	return false
}

// tierTags keeps the tags flow's tier rules in step with the tiers, once
// a day with the scan: a member entering a tier gets its tag, one leaving
// loses it.
func tierTags(ctx context.Context, fc *engine.FlowContext) error {
	c, on := fc.Flow("tags")
	if !on {
		return nil
	}
	cfg := fc.Config.(*Config)
	group := fc.Event.GroupKey()
	for _, r := range c.(*tags.Config).Rules {
		if r.Tier == "" {
			continue
		}
		ids, err := TierMembers(ctx, fc.Store, group, cfg.Tiers, r.Tier, fc.Now)
		if err != nil {
			return err
		}
		added, removed, err := tags.Sync(ctx, fc.Store, group, r.Tag, "tier "+r.Tier, ids, fc.Now)
		if err != nil {
			return err
		}
		fc.Log.Info("tier tags kept in step", zap.String("group", group), zap.String("tier", r.Tier), zap.String("tag", r.Tag),
			zap.Int("members", len(ids)), zap.Int("added", added), zap.Int("removed", removed))
	}
	return nil
}

// HandleTimer implements engine.TimerHandler: a scan held by quiet hours.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "held" {
		return nil
	}
	return f.scan(ctx, fc)
}

func (f Flow) scan(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	group := fc.Event.GroupKey()
	log := fc.Log.With(zap.String("group", group), zap.String("flow", "wakeup"))
	if held, err := fc.HoldForQuietHours(ctx, cfg.QuietHours, "scan", nil); held || err != nil {
		return err
	}
	local := fc.Now.In(fc.Group.Location)
	k := keys{fc.Store, group}
	dayKey := k.day(local.Format("2006-01-02"))
	limit := 0
	if cfg.DailyCap > 0 {
		used, err := fc.Store.Client().Get(ctx, dayKey).Int()
		if err != nil && err != redis.Nil {
			return fmt.Errorf("read today's wake-ups: %w", err)
		}
		if limit = cfg.DailyCap - used; limit <= 0 {
			log.Info("daily wake-up cap reached; scan skipped", zap.Int("daily_cap", cfg.DailyCap))
			return nil
		}
	}
	n, err := Scan(ctx, fc.Store, group, cfg, fc.Now, limit, func(due []Due) error {
		return f.deliver(ctx, fc, cfg, k, due)
	})
	if err != nil {
		return err
	}
	if n > 0 {
		if err := fc.Store.Client().IncrBy(ctx, dayKey, int64(n)).Err(); err != nil {
			return fmt.Errorf("count today's wake-ups: %w", err)
		}
		fc.Store.Client().PExpire(ctx, dayKey, 48*time.Hour)
	}
	if n > 0 {
		log.Info("wake-up scan done", zap.Int("members", n))
	}
	return nil
}

// deliver sends one page of due members their stage: a direct message to
// each where possible, else group messages mentioning Batch at a time.
func (f Flow) deliver(ctx context.Context, fc *engine.FlowContext, cfg *Config, k keys, due []Due) error {
	// read the members' records in one round trip
	ids := make([]string, len(due))
	for i, d := range due {
		ids[i] = d.ID
	}
	recs, err := fc.Store.Members(ctx, k.group, ids)
	if err != nil {
		return fmt.Errorf("read members due a wake-up: %w", err)
	}
	byStage := map[int][]Due{}
	var skipped []Due
	members := map[string]bot.Member{}
	dmOff := map[string]bool{}
	for i, m := range recs {
		d := due[i]
		if m.IsBot || !m.Present && !m.LeftAt.IsZero() {
			skipped = append(skipped, d) // bots and members who left are never messaged
			continue
		}
		members[d.ID] = bot.Member{ID: d.ID, Name: m.Name, Username: m.Username}
		if off, _ := strconv.ParseInt(m.Fields["dm_off"], 10, 64); off > 0 && fc.Now.Sub(time.UnixMilli(off)) < 30*24*time.Hour {
			dmOff[d.ID] = true
		}
		byStage[d.Stage] = append(byStage[d.Stage], d)
	}
	if err := markSkipped(ctx, k, cfg, skipped); err != nil {
		return err
	}
	canDM := cfg.DM && fc.Caps.Has(bot.CanDM)
	for si, ds := range byStage {
		st := cfg.Stages[si]
		if err := markSent(ctx, k, st, ds, fc.Now); err != nil {
			return err
		}
		fc.Count(kpi.Staged(kpi.Wakeups, stageKey(st)), int64(len(ds)))
		var group []bot.Member
		for _, d := range ds {
			m := members[d.ID]
			values, err := f.perk(ctx, fc, cfg, st, m, canDM && !dmOff[d.ID])
			if err != nil {
				return err
			}
			values["Silent"] = int(fc.Now.Sub(d.Last).Hours() / 24)
			if !canDM || dmOff[d.ID] {
				group = append(group, m)
				continue
			}
			text, err := st.Text.Render(data(fc, m, nil, values))
			if err != nil {
				return err
			}
			if form := surveyForm(fc, st); form != nil {
				// the questionnaire replaces the plain note: the note, then
				// its first question, answered in the private chat
				_, started, err := survey.Begin(ctx, fc, k.group, form, m, strings.TrimSpace(text))
				if err != nil {
					return err
				}
				if started {
					continue
				}
				// answered before: the plain note
			}
			fc.Do(bot.Action{Type: bot.ActDM, Chat: k.group, Member: m, Text: strings.TrimSpace(text), Fallback: strings.TrimSpace(text), Bulk: true})
		}
		for len(group) > 0 {
			n := min(cfg.Batch, len(group))
			batch := group[:n]
			group = group[n:]
			values := map[string]any{"Points": st.Points, "Code": "", "Silent": int(st.After.D().Hours() / 24)}
			text, err := st.Text.Render(data(fc, bot.Member{}, batch, values))
			if err != nil {
				return err
			}
			fc.Do(bot.Action{Type: bot.ActSend, Chat: k.group, Text: strings.TrimSpace(text), Bulk: true, Mentioned: batch})
		}
	}
	return nil
}

// surveyForm is the questionnaire a stage starts, if it names one the
// group's survey flow has.
func surveyForm(fc *engine.FlowContext, st Stage) *survey.Form {
	if st.Survey == "" {
		return nil
	}
	c, on := fc.Flow("survey")
	sc, ok := c.(*survey.Config)
	if !on || !ok {
		return nil
	}
	return sc.Form(st.Survey)
}

// perk grants a stage's points and draws its code (by DM only: a code
// mentioned in the group would be anyone's).
func (f Flow) perk(ctx context.Context, fc *engine.FlowContext, cfg *Config, st Stage, m bot.Member, dm bool) (map[string]any, error) {
	values := map[string]any{"Points": st.Points, "Code": ""}
	if st.Points > 0 {
		if _, err := checkin.GroupLedger(fc.Store, fc.Group, fc.Event.GroupKey()).Award(ctx, m.ID, int64(st.Points), "wakeup:"+stageKey(st), fc.Now, false); err != nil {
			return nil, err
		}
	}
	if st.Codes != nil && dm {
		p := codes.New(fc.Store, st.Codes.Pool)
		if err := p.Load(ctx, string(st.Codes.File)); err != nil {
			fc.Log.Error("wake-up codes not loaded", zap.String("pool", st.Codes.Pool), zap.Error(err))
		}
		code, left, err := p.Pop(ctx)
		if err != nil {
			return nil, err
		}
		if code == "" {
			fc.Log.Warn("wake-up code pool is empty; message sent without a code", zap.String("pool", st.Codes.Pool))
		} else if left < 10 {
			fc.Log.Warn("wake-up code pool running low", zap.String("pool", st.Codes.Pool), zap.Int("left", left))
		}
		values["Code"] = code
	}
	return values, nil
}

// data is template data for one member, or for a batch mentioned together
// (then .Member.Mention and .Member.Name list them all).
func data(fc *engine.FlowContext, m bot.Member, batch []bot.Member, values map[string]any) render.Data {
	d := fc.Data(values)
	if batch == nil {
		d.Member = render.NewMember(m.ID, m.Name, m.Username)
		return d
	}
	var mentions, names []string
	for _, b := range batch {
		rm := render.NewMember(b.ID, b.Name, b.Username)
		d.Members = append(d.Members, rm)
		mentions = append(mentions, rm.Mention)
		names = append(names, rm.Name)
	}
	d.Member = render.Member{Name: strings.Join(names, "、"), Mention: strings.Join(mentions, " ")}
	return d
}

// HandleCommand implements engine.Commander: /tiers.
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		return nil
	}
	loc := fc.Locale()
	if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group.only"))
		return nil
	}
	group := fc.Event.GroupKey()
	c, err := TierCounts(ctx, fc.Store, group, cfg.Tiers, fc.Now)
	if err != nil {
		return err
	}
	days := func(d config.Duration) int { return int(d.D().Hours() / 24) }
	lines := []string{
		words.T(loc, "tiers.title"),
		words.T(loc, "tiers.counts", c.Core, c.Active, c.Silent, days(cfg.Tiers.Silent), c.Churned, days(cfg.Tiers.Churned)),
	}
	k := keys{fc.Store, group}
	stats, err := fc.Store.Client().HGetAll(ctx, k.stats()).Result()
	if err != nil {
		return fmt.Errorf("read wake-up stats: %w", err)
	}
	if len(cfg.Stages) > 0 {
		lines = append(lines, words.T(loc, "tiers.stages", days(cfg.ComebackWindow)))
	}
	for _, st := range cfg.Stages {
		sent, _ := strconv.ParseInt(stats[stageKey(st)+":sent"], 10, 64)
		back, _ := strconv.ParseInt(stats[stageKey(st)+":back"], 10, 64)
		rate := "—"
		if sent > 0 {
			rate = fmt.Sprintf("%.0f%%", float64(back)*100/float64(sent))
		}
		lines = append(lines, words.T(loc, "tiers.stage", i18n.Duration(loc, st.After.D()), sent, back, rate))
	}
	if next, ok, err := fc.NextFire(ctx, "scan"); err == nil && ok {
		lines = append(lines, words.T(loc, "tiers.next", next.In(fc.Group.Location).Format("01-02 15:04")))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"help.tiers":   "成员分层与唤醒效果",
		"group.only":   "请在群里使用这个命令。",
		"tiers.title":  "👥 成员分层：",
		"tiers.counts": "核心 %d · 活跃 %d · 沉默 %d（%d 天未发言）· 流失 %d（%d 天未发言）",
		"tiers.stages": "唤醒效果（%d 天内回来发言算召回）：",
		"tiers.stage":  "• 沉默 %s：已发 %d · 召回 %d（%s）",
		"tiers.next":   "下次扫描：%s",
	},
	"en": {
		"help.tiers":   "Member tiers and how wake-up messages do",
		"group.only":   "Use this command in the group.",
		"tiers.title":  "👥 Member tiers:",
		"tiers.counts": "core %d · active %d · silent %d (quiet %d days) · churned %d (quiet %d days)",
		"tiers.stages": "Wake-up results (back = spoke within %d days):",
		"tiers.stage":  "• after %s: sent %d · back %d (%s)",
		"tiers.next":   "Next scan: %s",
	},
}
