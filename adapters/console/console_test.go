package console_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/console"
	"github.com/qunbot/qunbot/bot"
)

// scriptedSink records events and answers some with actions, carried out
// at once, as the engine and outbox would.
type scriptedSink struct {
	ad     *console.Adapter
	events []bot.Event
	react  func(ev bot.Event) []bot.Action
}

func (s *scriptedSink) HandleEvent(ctx context.Context, ev bot.Event) error {
	s.events = append(s.events, ev)
	if s.react == nil {
		return nil
	}
	for _, a := range s.react(ev) {
		if a.Chat == "" {
			a.Chat = ev.Chat.Key
		}
		if _, err := s.ad.Do(ctx, a); err != nil {
			return err
		}
	}
	return nil
}

func run(t *testing.T, input string, react func(bot.Event) []bot.Action) (string, []bot.Event) {
	t.Helper()
	var out bytes.Buffer
	clock := bot.NewFakeClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	ad := console.New(console.Options{In: strings.NewReader(input), Out: &out, Echo: true, Clock: clock, Location: time.UTC})
	sink := &scriptedSink{ad: ad, react: react}
	if err := ad.Run(context.Background(), sink); err != nil {
		t.Fatal(err)
	}
	return out.String(), sink.events
}

func kinds(evs []bot.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Kind)+":"+e.Member.ID)
	}
	return strings.Join(s, " ")
}

func TestLinesBecomeEvents(t *testing.T) {
	_, evs := run(t, "join alice\njoin spam bot\nadmin bob\njoin bob\nalice: hi\nbob -> #1: /warn\ndm alice: /points\nrequest carol\nleave alice\n", nil)
	if got := kinds(evs); got != "join:alice join:spam join:bob message:alice message:bob message:alice join_request:carol leave:alice" {
		t.Fatalf("events: %s", got)
	}
	if !evs[1].Member.IsBot || !evs[2].Member.IsAdmin {
		t.Error("bot/admin flags lost")
	}
	reply := evs[4]
	if reply.ReplyTo == nil || reply.ReplyTo.MessageID != "1" || reply.ReplyTo.Member.ID != "alice" || reply.Text != "/warn" {
		t.Errorf("reply: %+v", reply.ReplyTo)
	}
	if dm := evs[5]; dm.Chat.Type != bot.ChatPrivate || dm.Chat.Key != "console:@alice" {
		t.Errorf("dm chat: %+v", dm.Chat)
	}
	if jr := evs[6]; jr.GroupKey() != "console:demo" || jr.Chat.Type != bot.ChatGroup {
		t.Errorf("join request: group %s chat %+v", jr.GroupKey(), jr.Chat)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.ID] {
			t.Errorf("event id %s reused", e.ID)
		}
		seen[e.ID] = true
	}
}

func TestPlatformRulesAreEnforced(t *testing.T) {
	react := func(ev bot.Event) []bot.Action {
		switch ev.Text {
		case "mute me":
			return []bot.Action{{Type: bot.ActRestrict, Member: ev.Member, Until: ev.Time.Add(time.Hour)}}
		case "ban me":
			return []bot.Action{{Type: bot.ActBan, Member: ev.Member}}
		}
		if ev.Kind == bot.EventJoinRequest {
			return []bot.Action{{Type: bot.ActApprove, Chat: ev.GroupKey(), Member: ev.Member}}
		}
		return nil
	}
	out, evs := run(t, "join alice\nalice: mute me\nalice: still here?\njoin bob\nbob: ban me\njoin bob\nrequest carol\ncarol: approved!\n", react)
	for _, want := range []string{
		"bot muted alice until 2026-01-05 10:00",
		"! alice is muted; the message is not sent",
		"bot banned bob (no end)",
		"! bob is banned from the group",
		"bot approved carol's join request",
		"> carol #3: approved!",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// the ban made bob leave; the approval made carol join
	if got := kinds(evs); !strings.Contains(got, "leave:bob") || !strings.Contains(got, "join:carol") {
		t.Errorf("follow-up events missing: %s", got)
	}
}

func TestButtonsAreClickable(t *testing.T) {
	react := func(ev bot.Event) []bot.Action {
		if ev.Kind == bot.EventJoin {
			return []bot.Action{{Type: bot.ActSend, Text: "are you human?", Buttons: [][]bot.ButtonSpec{{{Text: "Yes", Data: "v:yes"}, {Text: "Docs", URL: "https://example.com"}}}}}
		}
		return nil
	}
	out, evs := run(t, "join alice\nclick alice yes\nclick alice Docs\n", react)
	last := evs[len(evs)-1]
	if last.Kind != bot.EventButton || last.Button.Data != "v:yes" || last.Button.MessageID != "1" {
		t.Fatalf("click event: %+v", last)
	}
	if !strings.Contains(out, "[Yes] [Docs ↗ https://example.com]") || !strings.Contains(out, `no bot message has a button "Docs"`) {
		t.Errorf("output:\n%s", out)
	}
}

func TestAdvanceWithoutEngine(t *testing.T) {
	out, _ := run(t, "advance 1d12h\n", nil)
	if !strings.Contains(out, "-- 2026-01-06 21:00 Tue (+1d12h)") {
		t.Errorf("output: %s", out)
	}
}

// FuzzConsoleLine: no input line crashes the console or yields an event
// without an id, a kind or a member.
func FuzzConsoleLine(f *testing.F) {
	for _, s := range []string{"join alice", "alice: hi", "alice -> #1: x", "click alice OK", "advance 3d", "dm a: b", "request x", "-> #: ", "a -> #-1: b", ": :", "click"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var out bytes.Buffer
		clock := bot.NewFakeClock(time.Unix(0, 0))
		in := "join alice\nalice: hello\n" + strings.ReplaceAll(line, "\n", " ") + "\n"
		ad := console.New(console.Options{In: strings.NewReader(in), Out: &out, Clock: clock})
		sink := &scriptedSink{ad: ad}
		if err := ad.Run(context.Background(), sink); err != nil {
			t.Fatal(err)
		}
		for _, e := range sink.events {
			if e.ID == "" || e.Kind == "" || e.Member.ID == "" || e.Chat.Key == "" {
				t.Fatalf("incomplete event %s from %q", fmt.Sprintf("%+v", e), line)
			}
		}
	})
}
