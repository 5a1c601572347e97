package moderation_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
)

func TestReportReachesModeratorsOnceAndIsHandledOnce(t *testing.T) {
	a := bottest.New(t, flows(), yaml)
	b := bottest.New(t, flows(), yaml, a.Prefix) // a second replica on the same Redis
	a.Say("spammy", "part-time job, DM me")
	msg := &bot.Reply{MessageID: "m1", Member: bottest.Member("spammy"), Text: "part-time job, DM me"}

	acts := a.Command("ann", "/report", msg)
	var report *bot.Action
	for i := range acts {
		if acts[i].Type == bot.ActDM && acts[i].Member.ID == "mod" {
			report = &acts[i]
		}
	}
	if report == nil || !strings.Contains(report.Text, "part-time job") || len(report.Buttons) == 0 {
		t.Fatalf("the moderator was not told: %s", bottest.Texts(acts))
	}
	// reported again, on the other replica, by "@admin": told once
	if got := bottest.Texts(b.Command("bob", "@admin spam here", msg)); !strings.Contains(got, "reported already") || strings.Contains(got, "dm:mod") {
		t.Errorf("a second report: %s", got)
	}
	var ban string
	for _, btn := range report.Buttons[0] {
		if strings.HasPrefix(btn.Data, "rep:ban:") {
			ban = btn.Data
		}
	}
	// a member's press does nothing
	a.Out.Take()
	a.Press("eve", ban)
	if got := bottest.Texts(a.Out.Take()); strings.Contains(got, "ban:") || !strings.Contains(got, "moderators") {
		t.Errorf("a member's press: %s", got)
	}
	// the moderator presses on both replicas at once: one ban
	b.Out.Take()
	var wg sync.WaitGroup
	for _, h := range []*bottest.Harness{a, b} {
		wg.Add(1)
		go func(h *bottest.Harness) {
			defer wg.Done()
			h.Event(bot.Event{Kind: bot.EventButton, Member: bottest.Member("mod"), Chat: bot.Chat{Key: "console:@mod", Type: bot.ChatPrivate},
				Button: &bot.Button{ID: "p-" + h.Prefix, Data: ban}})
		}(h)
	}
	wg.Wait()
	all := append(a.Out.Take(), b.Out.Take()...)
	bans, deletes := 0, 0
	for _, act := range all {
		switch {
		case act.Type == bot.ActBan && act.Member.ID == "spammy" && act.Chat == bottest.Group:
			bans++
		case act.Type == bot.ActDelete && act.MessageID == "m1" && act.Chat == bottest.Group:
			deletes++
		}
	}
	if bans != 1 || deletes != 1 {
		t.Errorf("%d bans and %d deletions in the group, want 1 each: %s", bans, deletes, bottest.Texts(all))
	}
	// an admin's message cannot be reported
	admin := bottest.Member("boss")
	admin.IsAdmin = true
	if got := bottest.Texts(a.Command("ann", "/report", &bot.Reply{MessageID: "m2", Member: admin, Text: "live at 8"})); !strings.Contains(got, "moderator") || strings.Contains(got, "dm:") {
		t.Errorf("reporting an admin: %s", got)
	}
}
