package adfilter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/checkin"
)

func flowSet() []engine.Flow { return []engine.Flow{adfilter.Flow{}, checkin.Flow{}} }

const flowYAML = `
locale: en
moderators: ["console:mod"]
flows:
  checkin:
    activity: {points: 1, daily_cap: 100}
    levels: [{name: regular, points: 50}]
  adfilter:
    log_chat: "console:modlog"
    keywords: [{words: [刷单, "free money"]}]
    newcomer: {messages: 0, for: 0s}
    exempt: {members: [friend], level: regular}
    ladder:
      decay: 1d
      steps:
        - {at: 1, action: warn}
        - {at: 2, action: mute, for: 1h}
        - {at: 3, action: kick}
        - {at: 4, action: ban, for: 7d}
`

func say(h *bottest.Harness, who, text string) []bot.Action {
	h.Out.Take() // what earlier jobs did (auto-deletes)
	h.Say(who, text)
	return h.Out.Take()
}

// deleted reports whether the actions delete who's message.
func deleted(acts []bot.Action, who string) bool {
	for _, a := range acts {
		if a.Type == bot.ActDelete && a.Member.ID == who && a.Flow == "adfilter" {
			return true
		}
	}
	return false
}

func TestLadderWithDecay(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	say(h, "spammer", "hello all")
	before := h.Fields("spammer")
	steps := []struct {
		advance time.Duration
		want    string // summary of actions
	}{
		{0, "delete:spammer send:spammer send"},                          // warn: notice, report
		{time.Hour, "delete:spammer restrict:spammer send:spammer send"}, // mute 1h
		{time.Hour, "delete:spammer kick:spammer send:spammer send"},
		{time.Hour, "delete:spammer ban:spammer send:spammer send"},
		{25 * time.Hour, "delete:spammer send:spammer send"}, // warnings decayed: back to a warning
	}
	for i, s := range steps {
		h.Advance(s.advance)
		h.Out.Take()
		got := bottest.Summary(say(h, "spammer", "免费 free  m0ney 刷单"))
		if got != s.want {
			t.Fatalf("spam %d: %s, want %s", i+1, got, s.want)
		}
	}
	// the spam earned nothing and did not count as activity
	after := h.Fields("spammer")
	if after["pts"] != before["pts"] {
		t.Errorf("points %s → %s for spam", before["pts"], after["pts"])
	}
	m, err := h.Store.Member(context.Background(), bottest.Group, "spammer")
	if err != nil {
		t.Fatal(err)
	}
	if m.Messages != 1 || !m.LastActive.Equal(bottest.Start) {
		t.Errorf("spam counted: %d messages, last active %v", m.Messages, m.LastActive)
	}
	log, err := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10)
	if err != nil || len(log) != 5 || log[0].By != "adfilter" || !strings.Contains(log[1].Action, "banned") {
		t.Fatalf("audit log %+v %v", log, err)
	}
}

func TestReportGoesToLogChat(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	acts := say(h, "spammer", "兼职刷单日结")
	var report *bot.Action
	for i := range acts {
		if acts[i].Chat == "console:modlog" {
			report = &acts[i]
		}
	}
	if report == nil || !strings.Contains(report.Text, "keyword 刷单") || !strings.Contains(report.Text, "兼职刷单日结") || !strings.Contains(report.Text, "spammer") {
		t.Fatalf("report: %+v", acts)
	}
}

func TestExemptions(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	// the exempt level is 50 points earned
	say(h, "regular", "hi")
	if _, err := checkin.NewLedger(h.Store, bottest.Group, 1000).Award(context.Background(), "regular", 60, "test", h.Clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		who   bot.Member
		spam  bool
		label string
	}{
		{bot.Member{ID: "admin", Name: "admin", IsAdmin: true}, false, "platform admin"},
		{bottest.Member("mod"), false, "configured moderator"},
		{bottest.Member("friend"), false, "allowlist"},
		{bottest.Member("regular"), false, "level"},
		{bottest.Member("nobody"), true, "ordinary member"},
	}
	for _, tt := range tests {
		h.Event(bot.Event{Kind: bot.EventMessage, Member: tt.who, Text: "free money 刷单", MessageID: "x" + tt.who.ID})
		got := deleted(h.Out.Take(), tt.who.ID)
		if got != tt.spam {
			t.Errorf("%s: deleted = %v, want %v", tt.label, got, tt.spam)
		}
	}
}

func TestDryRunOnlyReports(t *testing.T) {
	h := bottest.New(t, flowSet(), strings.Replace(flowYAML, "log_chat:", "dry_run: true\n    log_chat:", 1))
	acts := say(h, "spammer", "刷单")
	if got := bottest.Summary(acts); got != "send" || !strings.Contains(acts[0].Text, "dry run") {
		t.Fatalf("dry run: %s %+v", got, acts)
	}
	if h.Fields("spammer")["pts"] != "1" {
		t.Errorf("in a dry run the message counts as usual: pts %q", h.Fields("spammer")["pts"])
	}
}

func TestFloodAndRepeats(t *testing.T) {
	h := bottest.New(t, flowSet(), `
locale: en
flows:
  adfilter:
    newcomer: {messages: 0, for: 0s}
    flood: {messages: 4, window: 10s, repeat: 3, repeat_window: 10m, crowd: 3, crowd_window: 10m, min_length: 8}
`)
	// five quick messages: the fifth is flooding
	for i := range 5 {
		acts := say(h, "fast", "message number "+string(rune('a'+i)))
		if got := deleted(acts, "fast"); got != (i == 4) {
			t.Fatalf("message %d deleted = %v", i+1, got)
		}
	}
	// the same text three times by one member, slowly
	for i := range 3 {
		h.Advance(time.Minute)
		acts := say(h, "repeater", "buy my course now please")
		if got := deleted(acts, "repeater"); got != (i == 2) {
			t.Fatalf("repeat %d deleted = %v", i+1, got)
		}
	}
	// the same text from three members
	for i, who := range []string{"a1", "a2", "a3"} {
		h.Advance(time.Minute)
		acts := say(h, who, "check out this amazing offer")
		if got := deleted(acts, who); got != (i == 2) {
			t.Fatalf("crowd member %d deleted = %v", i+1, got)
		}
	}
	// short texts are never repeats
	for _, who := range []string{"b1", "b2", "b3", "b4"} {
		if acts := say(h, who, "签到"); deleted(acts, who) {
			t.Fatalf("a short text counted as a repeat")
		}
	}
}

func TestCannotDeleteReportsInstead(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	h.Out.Caps = bot.CanSend
	acts := say(h, "spammer", "刷单")
	if got := bottest.Summary(acts); strings.Contains(got, "delete") || !strings.Contains(acts[len(acts)-1].Text, "cannot delete") {
		t.Fatalf("%s %+v", got, acts)
	}
}

func TestNewcomerStrictness(t *testing.T) {
	h := bottest.New(t, flowSet(), `
locale: en
flows:
  adfilter:
    newcomer: {messages: 2, for: 1h}
`)
	h.Join("new")
	if acts := say(h, "new", "see github.com/qunbot"); !deleted(acts, "new") {
		t.Fatalf("a newcomer's link passed")
	}
	h.Join("old")
	say(h, "old", "hi")
	say(h, "old", "hi again")
	h.Advance(2 * time.Hour)
	if acts := say(h, "old", "see github.com/qunbot"); deleted(acts, "old") {
		t.Fatalf("a settled member's link was removed")
	}
}

// A wave across groups: a message removed in one group (by a keyword
// here) makes the next copy — reworded a little, without the keyword, in
// another group, on another replica naming the same model — known by its
// likeness once that replica re-reads the model.
func TestWaveAcrossGroups(t *testing.T) {
	yaml := flowYAML + "    classifier: {model: shared}\n"
	a := bottest.New(t, flowSet(), yaml)
	b := bottest.New(t, flowSet(), yaml, a.Prefix)
	wave := "刷单兼职日结 在家就能做 每天三百到五百 名额有限速来咨询"
	if !deleted(say(a, "raider1", wave), "raider1") {
		t.Fatal("the first of the wave was not removed")
	}
	b.Clock.Set(b.Clock.Now().Add(time.Minute)) // past the model's refresh
	next := "兼职日结!! 在家就能做 每天三百到五百, 名额有限速来咨询🔥"
	b.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("raider2"), Text: next, MessageID: "w2",
		Chat: bot.Chat{Key: "console:g2", Type: bot.ChatGroup, Title: "G2"}})
	if acts := b.Out.Take(); !deleted(acts, "raider2") {
		t.Fatalf("the next of the wave in another group: %v", acts)
	}
	// an unrelated message in that group is left alone
	b.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("bob"), Text: "周末在家做了三百个饺子，大家来尝尝", MessageID: "w3",
		Chat: bot.Chat{Key: "console:g2", Type: bot.ChatGroup, Title: "G2"}})
	if acts := b.Out.Take(); deleted(acts, "bob") {
		t.Fatal("an unrelated message was removed")
	}
}
