package telegram_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
)

// A group that refuses a restriction for want of the right stops being
// offered restrictions for a while (flows then degrade as where a platform
// cannot), with one warning however many refusals; a refusal about the
// member is no missing right; the right is tried again after 10 minutes,
// or at once when the bot's membership changes (a promotion).
func TestMissingRightsStopTheirUse(t *testing.T) {
	e := setup(t)
	clock := bot.NewFakeClock(time.Unix(1767600000, 0))
	core, logs := observer.New(zap.WarnLevel)
	e.ad = telegram.New(telegram.Options{Config: e.cfg, Store: e.store, Clock: clock, Log: zap.New(core)})
	g := "telegram:" + group
	ctx := context.Background()
	e.api.override["restrictChatMember"] = func(url.Values) (int, string) {
		return 400, apiErr(400, "Bad Request: not enough rights to restrict/unrestrict chat member", nil)
	}
	e.api.override["banChatMember"] = func(url.Values) (int, string) {
		return 400, apiErr(400, "Bad Request: user is an administrator of the chat", nil)
	}
	restrict := bot.Action{Type: bot.ActRestrict, Chat: g, Member: bot.Member{ID: "5"}}
	if !e.ad.Capabilities(g).Has(bot.CanRestrict) {
		t.Fatal("a group the bot never used lacks restrictions")
	}
	for range 3 {
		if _, err := e.ad.Do(ctx, restrict); err == nil {
			t.Fatal("a refused restriction succeeded")
		}
	}
	if caps := e.ad.Capabilities(g); caps.Has(bot.CanRestrict) || !caps.Has(bot.CanDelete|bot.CanBan|bot.CanSend) {
		t.Errorf("after refusals for want of the right: %v", caps)
	}
	if n := logs.FilterMessageSnippet("lacks an admin right").Len(); n != 1 {
		t.Errorf("%d warnings for 3 refusals, want 1", n)
	}
	if _, err := e.ad.Do(ctx, bot.Action{Type: bot.ActBan, Chat: g, Member: bot.Member{ID: "7"}}); err == nil {
		t.Fatal("a refused ban succeeded")
	}
	if !e.ad.Capabilities(g).Has(bot.CanBan) {
		t.Error("a refusal about the member (an admin) took the ban right away")
	}
	if other := "telegram:-100999"; !e.ad.Capabilities(other).Has(bot.CanRestrict) {
		t.Error("another group lost restrictions")
	}
	clock.Advance(11 * time.Minute)
	if !e.ad.Capabilities(g).Has(bot.CanRestrict) {
		t.Error("not tried again after 10 minutes")
	}
	_, _ = e.ad.Do(ctx, restrict)
	if e.ad.Capabilities(g).Has(bot.CanRestrict) {
		t.Fatal("refused again, yet offered")
	}
	bot999 := user(999, "qunbot")
	e.api.push(`{"update_id":1,"my_chat_member":{"chat":` + chatJSON() + `,"from":` + user(7, "Owner") + `,"date":1767600000,` +
		`"old_chat_member":{"status":"member","user":` + bot999 + `},"new_chat_member":{"status":"administrator","user":` + bot999 + `}}}`)
	runFor(t, e, &sink{}, func() bool { return e.ad.Capabilities(g).Has(bot.CanRestrict) })
}
