// Package checkin is the points ledger of a group: daily check-in with
// streaks and bonuses, levels and badges, /points and /rank, a rewards
// catalog with atomic redemption, moderators' awards, invite tracking and
// capped activity points. Every change is appended to a ledger stream that
// `qunbot points export` writes as CSV.
package checkin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
)

// Flow is the checkin flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "checkin" }

// Schema implements engine.Flow.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return defaults() }}
}

// Stage implements engine.EventHandler: points come after the gate and the
// ad filter, so unverified members and spam earn nothing.
func (Flow) Stage() engine.Stage { return engine.StagePoints }

// Commands implements engine.Commander.
func (Flow) Commands(locale string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "checkin", Help: words.T(locale, "help.checkin")},
		{Name: "points", Help: words.T(locale, "help.points"), Group: true},
		{Name: "rank", Help: words.T(locale, "help.rank")},
		{Name: "rewards", Help: words.T(locale, "help.rewards")},
		{Name: "redeem", Args: words.T(locale, "args.redeem"), Help: words.T(locale, "help.redeem")},
		{Name: "invite", Help: words.T(locale, "help.invite")},
		{Name: "award", Args: words.T(locale, "args.award"), Help: words.T(locale, "help.award"), Moderator: true},
	}
}

func ledger(fc *engine.FlowContext, cfg *Config) Ledger {
	return NewLedger(fc.Store, fc.Event.GroupKey(), cfg.LedgerMax)
}

// Handle implements engine.EventHandler: check-in words, activity points,
// and invitees who joined (or were verified).
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	if ev.Chat.Type != bot.ChatGroup {
		if ev.Kind == bot.EventMessage && !ev.Edited && isWord(cfg, ev.Text) {
			fc.Reply(words.T(fc.Locale(), "checkin.where", ev.Text)) // rather than silence
		}
		return nil
	}
	switch ev.Kind {
	case bot.EventMessage:
		if ev.Edited {
			return nil
		}
		if isWord(cfg, ev.Text) {
			fc.Clean(cfg.Clean.D())
			return f.checkIn(ctx, fc, cfg)
		}
		if cfg.Activity.Points > 0 {
			return f.activity(fc, cfg)
		}
	case bot.EventJoin, bot.EventVerified:
		return f.invited(ctx, fc, cfg)
	}
	return nil
}

func isWord(cfg *Config, text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	for _, w := range cfg.Words {
		if t == strings.ToLower(strings.TrimSpace(w)) {
			return true
		}
	}
	return false
}

// HandleCommand implements engine.Commander.
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		return nil
	}
	if fc.Event.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(fc.Locale(), "group.only"))
		return nil
	}
	if fc.Event.Command.Name != "award" {
		fc.Clean(cfg.Clean.D())
	}
	switch fc.Event.Command.Name {
	case "checkin":
		return f.checkIn(ctx, fc, cfg)
	case "points":
		return f.points(ctx, fc, cfg)
	case "rank":
		return f.rank(ctx, fc, cfg)
	case "rewards":
		return f.rewards(ctx, fc, cfg)
	case "redeem":
		return f.redeem(ctx, fc, cfg)
	case "invite":
		return f.invite(ctx, fc, cfg)
	case "award":
		return f.award(ctx, fc, cfg)
	}
	return nil
}

func (f Flow) checkIn(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	l := ledger(fc, cfg)
	me := fc.Event.Member.ID
	res, err := l.CheckIn(ctx, me, fc.Now, fc.Group.Location, cfg.Points, cfg.StreakBonus, cfg.Makeup)
	if err != nil {
		return err
	}
	if res.MonthEnded {
		if err := f.monthEnd(ctx, fc, cfg, res.Month); err != nil {
			return err
		}
	}
	if res.Done {
		fc.Count(kpi.Checkins, 1)
		fc.Count(kpi.PointsIn, res.Gained) // the streak bonus included
	}
	if !res.Done {
		if cfg.RepeatReply {
			f.notice(fc, words.T(loc, "checkin.again", res.Streak))
		}
		return nil
	}
	rank := res.Rank
	level := cfg.levelName(res.Earned)
	var text string
	if !cfg.Reply.IsZero() {
		text, err = cfg.Reply.Render(fc.Data(map[string]any{"Gained": res.Gained, "Bonus": res.Bonus, "Balance": res.Balance,
			"Streak": res.Streak, "Rank": rank, "Level": level}))
		if err != nil {
			return err
		}
	} else {
		text = words.T(loc, "checkin.ok", mention(fc.Event.Member), res.Gained)
		if res.Bonus > 0 {
			text += words.T(loc, "checkin.bonus", res.Streak, res.Bonus)
		}
		if res.CardUsed {
			text += words.T(loc, "checkin.card")
		}
		if rank > 0 {
			text += "\n" + words.T(loc, "checkin.status", res.Balance, res.Streak, rank)
		} else { // below the board's TopCap
			text += "\n" + words.T(loc, "checkin.status.unranked", res.Balance, res.Streak)
		}
	}
	fc.Reply(strings.TrimSpace(text))
	var badges []string
	if res.Total == 1 {
		badges = append(badges, "first")
	}
	for _, n := range []int64{7, 30} {
		if res.Streak == n {
			badges = append(badges, "streak"+strconv.FormatInt(n, 10))
		}
	}
	if err := f.giveBadges(ctx, fc, me, fc.Event.Member, badges); err != nil {
		return err
	}
	return f.levelUp(fc, cfg, fc.Event.Member, res.Earned-res.Gained, res.Earned)
}

// notice is a short answer that cleans itself up where it can.
func (f Flow) notice(fc *engine.FlowContext, text string) {
	a := bot.Action{Type: bot.ActSend, Text: text, ReplyTo: fc.Event.MessageID, Member: fc.Event.Member}
	if fc.Caps.Has(bot.CanAutoDelete) {
		a.DeleteAfter = time.Minute
	}
	fc.Do(a)
}

func mention(m bot.Member) string { return render.NewMember(m.ID, m.Name, m.Username).Mention }

func (f Flow) levelUp(fc *engine.FlowContext, cfg *Config, m bot.Member, before, after int64) error {
	if b, a := cfg.level(before), cfg.level(after); a > b {
		fc.Do(bot.Action{Type: bot.ActSend, Member: m, Text: words.T(fc.Locale(), "level.up", mention(m), cfg.Levels[a].Name)})
	}
	return nil
}

// giveBadges grants badges once each and announces the new ones.
func (f Flow) giveBadges(ctx context.Context, fc *engine.FlowContext, id string, m bot.Member, badges []string) error {
	day := fc.Now.In(fc.Group.Location).Format("2006-01-02")
	for _, b := range badges {
		fresh, err := fc.Store.SetOnce(ctx, fc.Event.GroupKey(), id, "b:"+b, day)
		if err != nil {
			return err
		}
		if fresh {
			fc.Do(bot.Action{Type: bot.ActSend, Member: m, Text: words.T(fc.Locale(), "badge.new", mention(m), badgeName(fc.Locale(), b))})
		}
	}
	return nil
}

func badgeName(loc, b string) string {
	if month, ok := strings.CutPrefix(b, "top3-"); ok {
		return words.T(loc, "badge.top3", month)
	}
	return words.T(loc, "badge."+b)
}

// monthEnd awards "top 3 of the month" for the month before, once, on
// the first check-in of a new month (no cron needed: a quiet group has
// nobody to tell).
func (f Flow) monthEnd(ctx context.Context, fc *engine.FlowContext, cfg *Config, prev time.Time) error {
	group := fc.Event.GroupKey()
	l := ledger(fc, cfg)
	top, err := l.Top(ctx, l.month(prev), 3)
	if err != nil {
		return err
	}
	for _, z := range top {
		id, _ := z.Member.(string)
		m, err := fc.Store.Member(ctx, group, id)
		if err != nil {
			return err
		}
		if err := f.giveBadges(ctx, fc, id, bot.Member{ID: id, Name: m.Name, Username: m.Username}, []string{"top3-" + prev.Format("2006-01")}); err != nil {
			return err
		}
	}
	return nil
}

// Prepare implements engine.Preparer: a message's activity points are
// credited in its ingest script (no round trip of their own).
func (f Flow) Prepare(fc *engine.FlowContext) *state.Step {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	if cfg.Activity.Points <= 0 || ev.Chat.Type != bot.ChatGroup || ev.Kind != bot.EventMessage || ev.Edited ||
		ev.Member.ID == "" || ev.Member.IsBot || isWord(cfg, ev.Text) {
		return nil
	}
	return ledger(fc, cfg).ActivityStep(ev.Member.ID, cfg.Activity.Points, cfg.Activity.DailyCap, today(fc), fc.Now)
}

// Undo implements engine.Undoer: a message stopped before the points
// stage (spam, an unverified member) earns nothing.
func (f Flow) Undo(ctx context.Context, fc *engine.FlowContext) error {
	res, _ := fc.Prepared()
	if !ActivityResult(res).OK {
		return nil
	}
	cfg := fc.Config.(*Config)
	return ledger(fc, cfg).UndoActivity(ctx, fc.Event.Member.ID, cfg.Activity.Points, today(fc), fc.Now)
}

func today(fc *engine.FlowContext) string { return fc.Now.In(fc.Group.Location).Format("2006-01-02") }

// activity announces a level the message's points reached; the points
// were credited by its ingest (see Prepare).
func (f Flow) activity(fc *engine.FlowContext, cfg *Config) error {
	res, ok := fc.Prepared()
	r := ActivityResult(res)
	if !ok || !r.OK {
		return nil
	}
	fc.Count(kpi.PointsIn, int64(cfg.Activity.Points))
	return f.levelUp(fc, cfg, fc.Event.Member, r.Earned-int64(cfg.Activity.Points), r.Earned)
}

func itoa(n int64) string { return fmt.Sprint(n) }
