package checkin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/state"
)

// Invite tracking (裂变): /invite gives a member a personal link (once, then
// the same link); an invitee joining through it and, where verification is
// on, passing it, earns the inviter points after staying cfg.Invites.Stay.
// Re-joins and self-invites earn nothing; milestones add a bonus.

func (f Flow) linksKey(fc *engine.FlowContext) string {
	return fc.Store.Key(fc.Event.GroupKey(), "invites")
}

func (f Flow) invite(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	if cfg.Invites.Points <= 0 {
		fc.Reply(words.T(loc, "invite.off"))
		return nil
	}
	group, me := fc.Event.GroupKey(), fc.Event.Member
	link := fc.Member.Fields["inv_link"]
	if link == "" {
		l, ok, err := fc.InviteLink(ctx, group, me)
		if err != nil {
			return err
		}
		if !ok {
			fc.Reply(words.T(loc, "invite.cannot"))
			return nil
		}
		link = l
		if err := fc.Store.Client().HSet(ctx, f.linksKey(fc), link, me.ID).Err(); err != nil {
			return err
		}
		if err := fc.Store.SetFields(ctx, group, me.ID, map[string]string{"inv_link": link}); err != nil {
			return err
		}
	}
	text := words.T(loc, "invite.link", link, i18n.Duration(loc, cfg.Invites.Stay.D()), cfg.Invites.Points)
	fc.Do(bot.Action{Type: bot.ActDM, Chat: group, Member: me, Text: text, Fallback: mention(me) + " " + text})
	fc.Reply(words.T(loc, "invite.sent"))
	return nil
}

// invited records who invited a newcomer and schedules the credit. It runs
// on the join (no verification) or on EventVerified.
func (f Flow) invited(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	if cfg.Invites.Points <= 0 || fc.Event.Member.IsBot {
		return nil
	}
	link := fc.Member.Fields["join_link"]
	if link == "" {
		return nil
	}
	inviter, err := fc.Store.Client().HGet(ctx, f.linksKey(fc), link).Result()
	if err == redis.Nil || inviter == fc.Event.Member.ID {
		return nil // not one of ours, or a self-invite
	}
	if err != nil {
		return err
	}
	if fc.Member.Joins > 1 {
		return nil // a re-join earns nothing
	}
	group, me := fc.Event.GroupKey(), fc.Event.Member.ID
	fresh, err := fc.Store.SetOnce(ctx, group, me, "inv_by", inviter)
	if err != nil || !fresh {
		return err
	}
	// who each member brought in, for audiences (invited_by)
	if err := fc.Store.Client().ZAdd(ctx, InviteesKey(fc.Store, group, inviter), redis.Z{Score: float64(fc.Now.UnixMilli()), Member: me}).Err(); err != nil {
		return fmt.Errorf("%w: record an invitee: %w", state.ErrRedis, err)
	}
	return fc.Schedule(ctx, me, "credit", fc.Now.Add(cfg.Invites.Stay.D()), map[string]string{"inviter": inviter})
}

// HandleTimer implements engine.TimerHandler: an invitee's stay is up.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "credit" {
		return nil
	}
	cfg := fc.Config.(*Config)
	group, invitee := fc.Event.GroupKey(), fc.Event.Member.ID
	inviter := fc.Event.Timer.Args["inviter"]
	m := fc.Member
	if !m.Present || m.Joins > 1 {
		return nil // left before staying long enough, or came back later
	}
	if m.Fields["inv_by"] != inviter {
		return nil // the inviter was forgotten since (/forget takes inv_by away)
	}
	if _, on := fc.Group.Flow("verify"); on && m.Fields["v_state"] == "failed" {
		return nil
	}
	if _, on := fc.Group.Flow("verify"); on && m.Fields["v_state"] != "passed" && m.Fields["v_state"] != "" {
		return nil
	}
	fresh, err := fc.Store.SetOnce(ctx, group, invitee, "inv_credited", "1")
	if err != nil || !fresh {
		return err
	}
	l := NewLedger(fc.Store, group, cfg.LedgerMax)
	res, err := l.Award(ctx, inviter, int64(cfg.Invites.Points), "invite:"+invitee, fc.Now, true)
	if err != nil {
		return err
	}
	fc.Count(kpi.PointsIn, int64(cfg.Invites.Points))
	im, err := fc.Store.Member(ctx, group, inviter)
	if err != nil {
		return err
	}
	inv := bot.Member{ID: inviter, Name: im.Name, Username: im.Username}
	loc := fc.Locale()
	stay := i18n.Duration(loc, cfg.Invites.Stay.D())
	fc.Do(bot.Action{Type: bot.ActSend, Member: inv, Text: words.T(loc, "invite.credit", mention(inv), mention(fc.Event.Member), stay, mention(inv), cfg.Invites.Points)})
	if err := f.levelUp(fc, cfg, inv, res.Earned-int64(cfg.Invites.Points), res.Earned); err != nil {
		return err
	}
	count, err := fc.Store.IncrField(ctx, group, inviter, "inv_count", 1)
	if err != nil {
		return err
	}
	if bonus := cfg.Invites.Milestones[int(count)]; bonus > 0 {
		if res, err = l.Award(ctx, inviter, int64(bonus), "invite-milestone:"+strconv.FormatInt(count, 10), fc.Now, true); err != nil {
			return err
		}
		fc.Count(kpi.PointsIn, int64(bonus))
		fc.Do(bot.Action{Type: bot.ActSend, Member: inv, Text: words.T(loc, "invite.mile", mention(inv), count, bonus)})
		return f.levelUp(fc, cfg, inv, res.Earned-int64(bonus), res.Earned)
	}
	return nil
}

// InviteesKey is the set of members an inviter brought in (by join time).
func InviteesKey(s *state.Store, group, inviter string) string {
	return s.Key(group, "invitees", inviter)
}
