package adfilter

import (
	"context"
	"strings"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
)

// HandleGate implements engine.Gatekeeper: a member whose name is an ad
// ("加微信abc123 领福利", "t.me/+casino") is turned away as they join or
// ask to join (adfilter.names), at the gate: after it, verification would
// post a challenge and the welcome a greeting, each showing the ad to the
// group.
func (Flow) HandleGate(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind != bot.EventJoin && ev.Kind != bot.EventJoinRequest || ev.Member.ID == "" || ev.Member.IsBot {
		return nil
	}
	cfg := fc.Config.(*Config)
	if cfg.scorer == nil || cfg.Names.Join == "off" || IsExempt(fc, cfg) || ev.Member.IsAdmin {
		return nil
	}
	if by := ev.By; by != nil && by.ID != ev.Member.ID && (by.IsAdmin || fc.Group.IsModerator(ev.Platform+":"+by.ID) || fc.Group.IsModerator(by.ID)) {
		return nil // an admin added them: theirs to judge
	}
	v := cfg.scorer.NameVerdict(ev.Member)
	if !v.Spam() {
		return nil
	}
	loc := fc.Locale()
	who, hits := mention(ev.Member), nameHits(&v)
	if cfg.DryRun || cfg.Names.Join == "report" {
		return Report(ctx, fc, cfg, words.T(loc, "report.name", who, ev.Member.ID, v.Score, hits, words.T(loc, "did.report")))
	}
	fc.Stop("spam name")
	fc.Count(kpi.Ads, 1)
	group := ev.GroupKey()
	caps := fc.CapsFor(group)
	audit := func(what string) *bot.Audit {
		return &bot.Audit{By: "adfilter", What: what + " (spam name)", Reason: hits}
	}
	var done string
	switch {
	case ev.Kind == bot.EventJoinRequest && caps.Has(bot.CanApprove):
		fc.Do(bot.Action{Type: bot.ActDecline, Chat: group, Member: ev.Member, Audit: audit("decline")})
		done = words.T(loc, "did.decline")
	case ev.Kind == bot.EventJoinRequest:
		done = words.T(loc, "did.cannot", "decline")
	case cfg.Names.Join == "ban" && caps.Has(bot.CanBan):
		fc.Do(bot.Action{Type: bot.ActBan, Chat: group, Member: ev.Member, Audit: audit("ban")})
		fc.Count(kpi.Bans, 1)
		done = words.T(loc, "did.banned")
	case caps.Has(bot.CanKick):
		fc.Do(bot.Action{Type: bot.ActKick, Chat: group, Member: ev.Member, Audit: audit("kick")})
		fc.Count(kpi.Kicks, 1)
		done = words.T(loc, "did.kicked")
	default:
		done = words.T(loc, "did.cannot", cfg.Names.Join)
	}
	return Report(ctx, fc, cfg, words.T(loc, "report.name", who, ev.Member.ID, v.Score, hits, done))
}

// nameHits lists the rules a name set off, without scores:
// "contact wechat, keyword 刷单".
func nameHits(v *Verdict) string {
	var b strings.Builder
	for i, h := range v.Hits() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(h.Rule + " " + h.Detail)
	}
	return b.String()
}
