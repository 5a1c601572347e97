package checkin

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/flows/codes"
	"go.uber.org/zap"
)

func (f Flow) points(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	m, err := fc.Store.Member(ctx, fc.Event.GroupKey(), fc.Event.Member.ID)
	if err != nil {
		return err
	}
	n := func(k string) int64 { v, _ := strconv.ParseInt(m.Fields[k], 10, 64); return v }
	text := words.T(loc, "points.me", mention(fc.Event.Member), n("pts"))
	if lv := cfg.levelName(n("pts_earned")); lv != "" {
		text += words.T(loc, "points.level", lv)
	}
	// the stored streak is broken once a day passed without a check-in
	streak := n("ci_streak")
	local := fc.Now.In(fc.Group.Location)
	if last := m.Fields["ci_last"]; last != local.Format("2006-01-02") && last != local.AddDate(0, 0, -1).Format("2006-01-02") {
		streak = 0
	}
	text += words.T(loc, "points.streak", streak, n("ci_best"), n("ci_total"))
	if c := n("ci_cards"); c > 0 {
		text += words.T(loc, "points.cards", c)
	}
	var badges []string
	for k := range m.Fields {
		if b, ok := strings.CutPrefix(k, "b:"); ok {
			badges = append(badges, badgeName(loc, b))
		}
	}
	if len(badges) > 0 {
		sort.Strings(badges)
		text += words.T(loc, "points.badges", strings.Join(badges, " · "))
	}
	fc.Reply(text)
	return nil
}

func (f Flow) rank(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	l := ledger(fc, cfg)
	top, err := l.Top(ctx, l.board(), cfg.RankSize)
	if err != nil {
		return err
	}
	if len(top) == 0 || top[0].Score <= 0 {
		fc.Reply(words.T(loc, "rank.none"))
		return nil
	}
	lines := []string{words.T(loc, "rank.title", cfg.RankSize)}
	for i, z := range top {
		id, _ := z.Member.(string)
		m, err := fc.Store.Member(ctx, fc.Event.GroupKey(), id)
		if err != nil {
			return err
		}
		lines = append(lines, words.T(loc, "rank.line", i+1, mention(bot.Member{ID: id, Name: m.Name, Username: m.Username}), int64(z.Score)))
	}
	me := fc.Event.Member.ID
	r, err := l.Rank(ctx, me)
	if err != nil {
		return err
	}
	if r > 0 {
		score, _ := fc.Store.Client().ZScore(ctx, l.board(), me).Result()
		lines = append(lines, words.T(loc, "rank.me", r, int64(score)))
	} else if m, err := fc.Store.Member(ctx, fc.Event.GroupKey(), me); err != nil {
		return err
	} else if pts, _ := strconv.ParseInt(m.Fields["pts"], 10, 64); pts > 0 {
		lines = append(lines, words.T(loc, "rank.me.unranked", TopCap, pts))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

func (f Flow) rewards(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	if len(cfg.Rewards) == 0 {
		fc.Reply(words.T(loc, "rewards.none"))
		return nil
	}
	l := ledger(fc, cfg)
	lines := []string{words.T(loc, "rewards.title")}
	for _, r := range cfg.Rewards {
		line := words.T(loc, "rewards.line", r.ID, r.Name, r.Cost)
		if r.Stock > 0 {
			sold, err := l.Sold(ctx, r.ID)
			if err != nil {
				return err
			}
			if left := r.Stock - sold; left > 0 {
				line += words.T(loc, "rewards.left", left)
			} else {
				line += words.T(loc, "rewards.out")
			}
		}
		lines = append(lines, line)
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

func (f Flow) redeem(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	args := fc.Event.Command.Args
	if len(args) == 0 {
		fc.Reply(words.T(loc, "redeem.usage"))
		return nil
	}
	r := cfg.reward(args[0])
	if r == nil {
		fc.Reply(words.T(loc, "redeem.unknown", args[0]))
		return nil
	}
	me := fc.Event.Member
	l := ledger(fc, cfg)
	status, bal, _, err := l.Redeem(ctx, me.ID, r, fc.Now)
	if err != nil {
		return err
	}
	switch status {
	case RedeemNoPoints:
		fc.Reply(words.T(loc, "redeem.nopoints", r.Name, r.Cost, bal))
		return nil
	case RedeemSoldOut:
		fc.Reply(words.T(loc, "redeem.soldout", r.Name))
		return nil
	case RedeemLimit:
		fc.Reply(words.T(loc, "redeem.limit", r.Name, r.PerMember))
		return nil
	}
	fc.Count(kpi.Rewards, 1)
	fc.Count(kpi.PointsOut, r.Cost)
	group := fc.Event.GroupKey()
	switch r.Issue {
	case "code":
		p := codes.New(fc.Store, r.Codes.Pool)
		if err := p.Load(ctx, string(r.Codes.File)); err != nil {
			fc.Log.Error("reward codes not loaded")
		}
		code, _, err := p.Pop(ctx)
		if err != nil {
			return err
		}
		if code == "" {
			if _, err := l.Award(ctx, me.ID, r.Cost, "refund:"+r.ID, fc.Now, false); err != nil {
				return err
			}
			if err := l.Unsell(ctx, me.ID, r.ID); err != nil {
				return err
			}
			fc.Count(kpi.Rewards, -1) // not redeemed after all
			fc.Count(kpi.PointsOut, -r.Cost)
			fc.Reply(words.T(loc, "redeem.nocode", r.Name))
			return nil
		}
		fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: me, Text: words.T(loc, "redeem.code", r.Name, code),
			Fallback: mention(me) + " " + words.T(loc, "redeem.code", r.Name, code)})
		fc.Reply(words.T(loc, "redeem.ok", mention(me), r.Name, r.Cost, bal) + "\n" + words.T(loc, "redeem.sent"))
	case "text":
		text, err := r.Text.Render(fc.Data(nil))
		if err != nil {
			return err
		}
		fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: me, Text: strings.TrimSpace(text), Fallback: mention(me) + " " + strings.TrimSpace(text)})
		fc.Reply(words.T(loc, "redeem.ok", mention(me), r.Name, r.Cost, bal) + "\n" + words.T(loc, "redeem.sent"))
	case "contact":
		fc.Reply(words.T(loc, "redeem.ok", mention(me), r.Name, r.Cost, bal) + "\n" + words.T(loc, "redeem.contact", r.Name))
		notifyModerators(fc, words.T(loc, "mod.redeemed", mention(me), r.Name, fc.Event.Platform+":"+me.ID))
	case "makeup_card":
		if _, err := fc.Store.IncrField(ctx, group, me.ID, "ci_cards", 1); err != nil {
			return err
		}
		fc.Reply(words.T(loc, "redeem.ok", mention(me), r.Name, r.Cost, bal) + "\n" + words.T(loc, "redeem.card"))
	}
	return nil
}

// notifyModerators tells the moderators, and the log, about a redemption
// a person must fulfil.
func notifyModerators(fc *engine.FlowContext, text string) {
	n := fc.TellModerators(text)
	fc.Log.Info(text, zap.Int("moderators_told", n))
}

// award: /award @member N [reason], or as a reply: /award N [reason].
func (f Flow) award(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	args := fc.Event.Command.Args
	var target bot.Member
	if len(args) > 0 && strings.HasPrefix(args[0], "@") {
		id, err := fc.Store.ByUsername(ctx, fc.Event.GroupKey(), args[0])
		if err != nil {
			return err
		}
		if id == "" {
			fc.Reply(words.T(loc, "award.who", args[0]))
			return nil
		}
		m, err := fc.Store.Member(ctx, fc.Event.GroupKey(), id)
		if err != nil {
			return err
		}
		target = bot.Member{ID: id, Name: m.Name, Username: m.Username}
		args = args[1:]
	} else if fc.Event.ReplyTo != nil {
		target = fc.Event.ReplyTo.Member
	}
	if target.ID == "" || len(args) == 0 {
		fc.Reply(words.T(loc, "award.usage"))
		return nil
	}
	n, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || n == 0 || n > 1_000_000 || n < -1_000_000 {
		fc.Reply(words.T(loc, "award.usage"))
		return nil
	}
	reason := strings.Join(args[1:], " ")
	if reason == "" {
		reason = words.T(loc, "reason.award")
	}
	res, err := ledger(fc, cfg).Award(ctx, target.ID, n, "award:"+fc.Event.Member.ID+": "+reason, fc.Now, n > 0)
	if err != nil {
		return err
	}
	if !res.OK {
		fc.Reply(words.T(loc, "award.negative", mention(target), res.Balance, -n))
		return nil
	}
	if n > 0 {
		fc.Count(kpi.PointsIn, n)
	} else {
		fc.Count(kpi.PointsOut, -n)
	}
	fc.Reply(words.T(loc, "award.ok", mention(target), n, reason, res.Balance))
	if n > 0 {
		return f.levelUp(fc, cfg, target, res.Earned-n, res.Earned)
	}
	return nil
}
