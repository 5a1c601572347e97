package wecom

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qunbot/qunbot/bot"
)

// An app WeCom refuses an API (errcode 48002: the permission is not
// granted) stops being offered what needs it, in every group, with one
// warning however many refusals; a refusal about the argument (84061, a
// customer no staff has as a contact) takes nothing away; after 10
// minutes it is tried again.
func TestRefusedPermissionsStopTheirUse(t *testing.T) {
	e := setup(t)
	core, logs := observer.New(zap.WarnLevel)
	e.a.opt.Log = zap.New(core)
	e.a.cfg.Contact.TagGroup = "qunbot"
	ctx := context.Background()
	chat, other := "wecom:ext:wrChatTAG", "wecom:ext:wrOther"
	if err := e.store.SetGroupFields(ctx, chat, map[string]string{"owner": "owner1"}); err != nil {
		t.Fatal(err)
	}
	e.fake.mu.Lock()
	e.fake.strangers = map[string]bool{"wmStranger": true}
	e.fake.mu.Unlock()
	// a customer no one has as a contact: refused, nothing taken away
	if _, err := e.a.Do(ctx, bot.Action{Type: bot.ActTag, Chat: chat, Member: bot.Member{ID: "wmStranger"}, Text: "VIP"}); err == nil {
		t.Fatal("tagging a stranger succeeded")
	}
	if !e.a.Capabilities(chat).Has(bot.CanTag) {
		t.Fatal("a refusal about the customer took tagging away")
	}
	e.fake.mu.Lock()
	e.fake.deny = map[string]int{"/cgi-bin/externalcontact/mark_tag": 48002}
	e.fake.mu.Unlock()
	for range 3 {
		if _, err := e.a.Do(ctx, bot.Action{Type: bot.ActTag, Chat: chat, Member: bot.Member{ID: "wmC1"}, Text: "VIP"}); err == nil {
			t.Fatal("a refused tag succeeded")
		}
	}
	for _, c := range []string{chat, other} {
		if caps := e.a.Capabilities(c); caps.Has(bot.CanTag) || !caps.Has(bot.CanSend|bot.CanDM) {
			t.Errorf("%s after refusals: %v", c, caps)
		}
	}
	if n := logs.FilterMessageSnippet("refuses the app").Len(); n != 1 {
		t.Errorf("%d warnings for 3 refusals, want 1", n)
	}
	e.clock.Advance(11 * time.Minute)
	if !e.a.Capabilities(chat).Has(bot.CanTag) {
		t.Error("not tried again after 10 minutes")
	}
	for code := range deniedCodes {
		if _, ok := denied(&Error{Method: "x", Code: code}); !ok {
			t.Errorf("errcode %d not taken as a refusal", code)
		}
	}
	if _, ok := denied(&Error{Method: "x", Code: 84061}); ok {
		t.Error("84061 (about the customer) taken as a refusal of the app")
	}
}
