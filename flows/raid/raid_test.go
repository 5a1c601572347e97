package raid_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/moderation"
	"github.com/qunbot/qunbot/flows/raid"
	"github.com/qunbot/qunbot/flows/verify"
	"github.com/qunbot/qunbot/flows/welcome"
)

func flows() []engine.Flow {
	return []engine.Flow{raid.Flow{}, verify.Flow{}, welcome.Flow{}, moderation.Flow{}}
}

const cfg = `locale: en
moderators: ["console:mod"]
flows:
  raid: { joins: 3, window: 60s, for: 10m, restrict_for: 1h }
  verify: { timeout: 5m }
  welcome: { text: "Welcome {{.Flow.Mentions}}" }
  moderation: {}
`

// count tallies the actions by type and member ("send:" for the group).
func count(acts []bot.Action) map[string]int {
	out := map[string]int{}
	for _, a := range acts {
		out[string(a.Type)+":"+a.Member.ID]++
	}
	return out
}

// Three joins within a minute start raid mode: the first two joiners'
// challenges are withdrawn and deleted and they are restricted like the
// third; one notice; the moderator told once; later joiners are restricted
// without a challenge; the mode ends by itself with one more notice.
func TestRaidModeEnteredAndLeft(t *testing.T) {
	h := bottest.New(t, flows(), cfg)
	h.Join("a")
	h.Join("b")
	before := count(h.Out.Take())
	if before["send:a"] != 1 || before["send:b"] != 1 {
		t.Fatalf("before the raid each newcomer is challenged: %v", before)
	}
	h.Join("c")
	acts := h.Out.Take()
	got := count(acts)
	for _, want := range []string{"cancel:", "delete:a", "delete:b", "restrict:a", "restrict:b", "restrict:c", "dm:mod"} {
		if got[want] == 0 {
			t.Errorf("raid start lacks %s: %s", want, bottest.Summary(acts))
		}
	}
	notices := 0
	for _, a := range acts {
		if a.Type == bot.ActSend {
			notices++
			if !strings.Contains(a.Text, "raid mode is on") {
				t.Errorf("notice %q", a.Text)
			}
		}
	}
	if notices != 1 || got["send:c"] != 0 {
		t.Errorf("%d notices, challenge for c: %d: %s", notices, got["send:c"], bottest.Summary(acts))
	}
	if h.Fields("c")["v_state"] != "" {
		t.Errorf("a raider got a challenge state: %v", h.Fields("c"))
	}
	for i := 0; i < 20; i++ {
		h.Join("r" + string(rune('a'+i)))
	}
	acts = h.Out.Take()
	if s := bottest.Summary(acts); strings.Contains(s, "send") || strings.Contains(s, "dm") || strings.Count(s, "restrict:") != 20 {
		t.Fatalf("20 joins in raid mode: %s", s)
	}
	for _, a := range acts {
		if want := bottest.Start.Add(time.Hour); !a.Until.Equal(want) {
			t.Fatalf("restricted until %v, want %v", a.Until, want)
		}
	}
	h.Advance(11 * time.Minute)
	var ended []string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActSend && a.Member.ID == "" {
			ended = append(ended, a.Text)
		}
	}
	if len(ended) != 1 || !strings.Contains(ended[0], "over") {
		t.Fatalf("end notices: %q", ended)
	}
	// after the raid a newcomer is challenged again
	h.Join("late")
	if got := count(h.Out.Take()); got["send:late"] != 1 {
		t.Errorf("after the raid: %v", got)
	}
}

func TestRaidCommands(t *testing.T) {
	h := bottest.New(t, flows(), cfg)
	cmd := func(who, text string) string {
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member(who), Text: text, MessageID: "x"})
		var texts []string
		for _, a := range h.Out.Take() {
			texts = append(texts, a.Text)
		}
		return strings.Join(texts, "|")
	}
	tests := []struct{ who, text, want string }{
		{"alice", "/raid on", "for moderators only"},
		{"mod", "/raid", "Raid mode is off (it starts by itself at 3 joins within 1 minute)."},
		{"mod", "/raid on 30m", "Raid mode is on for 30 minutes."},
		{"mod", "/raid", "Raid mode is on for another 30 minutes."},
		{"mod", "/raid on soon", "Usage:"},
		{"mod", "/raid off", "Raid mode is off."},
		{"mod", "/raid off", "Raid mode is not on."},
	}
	for _, tt := range tests {
		if got := cmd(tt.who, tt.text); !strings.Contains(got, tt.want) {
			t.Errorf("%s %q: %q, want %q", tt.who, tt.text, got, tt.want)
		}
	}
	// a raid turned off early ends quietly: its timer finds it over
	h.Advance(time.Hour)
	if s := bottest.Summary(h.Out.Take()); strings.Contains(s, "send") {
		t.Errorf("after /raid off: %s", s)
	}
	h.Join("n")
	if got := count(h.Out.Take()); got["send:n"] != 1 {
		t.Errorf("a newcomer after /raid off: %v", got)
	}
}

// A flood of spam starts raid mode too: the ad filter's removals are
// counted, and the next newcomer is held without a challenge.
func TestSpamStartsRaidMode(t *testing.T) {
	h := bottest.New(t, []engine.Flow{raid.Flow{}, verify.Flow{}, adfilter.Flow{}, welcome.Flow{}}, `locale: en
moderators: ["console:mod"]
flows:
  raid: { joins: 50, spam: 3, window: 60s, for: 10m }
  verify: { timeout: 5m }
  adfilter: { words: [加微信领红包] }
  welcome: { text: "Welcome" }
`)
	for i := 0; i < 3; i++ {
		h.Say(fmt.Sprint("s", i), "加微信领红包")
	}
	acts := h.Out.Take()
	var mods []string
	for _, a := range acts {
		if a.Type == bot.ActDM && a.Member.ID == "mod" {
			mods = append(mods, a.Text)
		}
	}
	if len(mods) != 1 || !strings.Contains(mods[0], "3 spam messages") {
		t.Fatalf("moderators told %q: %s", mods, bottest.Summary(acts))
	}
	h.Join("newcomer")
	if got := bottest.Summary(h.Out.Take()); got != "restrict:newcomer" {
		t.Errorf("a newcomer during a spam raid: %s", got)
	}
}

// While a raid's restriction lasts, a raider's messages are deleted: the
// ones that beat the restriction to the platform, and all of them where
// the bot cannot restrict. /unmute ends it, and so does the restriction's
// end; members from before the raid and moderators are not touched.
func TestRaidersMessagesHeld(t *testing.T) {
	tests := []struct {
		name     string
		restrict bool // the platform can restrict
	}{
		{"the restriction comes after the first message", true},
		{"the bot cannot restrict", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bottest.New(t, flows(), cfg)
			if !tt.restrict {
				h.Out.Caps &^= bot.CanRestrict
			}
			h.Say("old", "hello, I was here before")
			for _, m := range []string{"a", "b", "c", "r1", "r2"} {
				h.Join(m)
			}
			h.Out.Take()
			said := func(who, text string) string {
				h.Say(who, text)
				return bottest.Summary(h.Out.Take())
			}
			for _, tc := range []struct{ who, text, want string }{
				{"r1", "join my channel", "delete:r1"},
				{"a", "me too", "delete:a"}, // a joiner who started the raid
				{"old", "what is going on?", ""},
				{"mod", "/raid", "send:mod"},
			} {
				if got := said(tc.who, tc.text); got != tc.want {
					t.Errorf("%s says %q: %q, want %q", tc.who, tc.text, got, tc.want)
				}
			}
			// a held message is no activity
			m, err := h.Store.Member(context.Background(), bottest.Group, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if m.Fields["raider"] == "" || !m.FirstMsgAt.IsZero() || !m.ActivatedAt.IsZero() {
				t.Fatalf("r1: raider %q, first message %v, activated %v", m.Fields["raider"], m.FirstMsgAt, m.ActivatedAt)
			}
			h.Command("mod", "/unmute @r1", nil)
			if f := h.Fields("r1"); f["raider"] != "" {
				t.Errorf("/unmute left the raid's hold: %v", f)
			}
			if got := said("r1", "thanks for letting me in"); got != "" {
				t.Errorf("after /unmute: %q", got)
			}
			if got := said("r2", "still here"); got != "delete:r2" {
				t.Errorf("another raider after r1's /unmute: %q", got)
			}
			h.Advance(61 * time.Minute) // restrict_for: 1h
			h.Out.Take()
			if got := said("r2", "an hour later"); got != "" {
				t.Errorf("after the restriction's end: %q", got)
			}
		})
	}
}
