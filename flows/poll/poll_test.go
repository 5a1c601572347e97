package poll_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/poll"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		in    string
		q     string
		opts  string
		close string
		ok    bool
	}{
		{"下次活动选哪天？ | 周六 | 周日", "下次活动选哪天？", "周六,周日", "", true},
		{"2h 今晚吃什么｜火锅｜烧烤", "今晚吃什么", "火锅,烧烤", "11:00", true},
		{"20:00 Q | A | B | C", "Q", "A,B,C", "20:00", true},
		{"Q | A", "", "", "", false},
		{"Q | A | ", "", "", "", false},
		{" | A | B", "", "", "", false},
		{"Q |1|2|3|4|5|6|7|8|9|10|11", "", "", "", false},
	}
	for _, tc := range tests {
		q, opts, at, ok := poll.Parse(tc.in, now, time.UTC)
		closes := ""
		if !at.IsZero() {
			closes = at.Format("15:04")
		}
		if ok != tc.ok || q != tc.q || strings.Join(opts, ",") != tc.opts || closes != tc.close {
			t.Errorf("%q → %q %v %q %v", tc.in, q, opts, closes, ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Q | A | B", "2h Q|A|B", "20:00 ||", "｜｜｜", "\x1f|a|b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, opts, _, ok := poll.Parse(s, time.Unix(0, 0), time.UTC)
		if !ok {
			return
		}
		if q == "" || len(opts) < 2 || len(opts) > 10 {
			t.Errorf("%q → %q %v", s, q, opts)
		}
		for _, o := range opts {
			if o == "" || strings.ContainsAny(o, "|\x1f") {
				t.Errorf("%q → option %q", s, o)
			}
		}
	})
}

func TestResults(t *testing.T) {
	counts, voters := poll.Results(map[string]string{"a": "0", "b": "0,2", "c": "9", "d": ""}, 3)
	if counts[0] != 2 || counts[1] != 0 || counts[2] != 1 || voters != 2 {
		t.Errorf("%v %d", counts, voters)
	}
}

const yaml = `
locale: en
moderators: ["console:mod"]
flows:
  poll: {multiple: %s}
`

// Presses on two replicas at once: one vote per member; a native poll's
// votes come as button events and are recorded the same way.
func TestVotesOnceAcrossReplicas(t *testing.T) {
	a := bottest.New(t, []engine.Flow{poll.Flow{}}, strings.Replace(yaml, "%s", "false", 1))
	b := bottest.New(t, []engine.Flow{poll.Flow{}}, strings.Replace(yaml, "%s", "false", 1), a.Prefix)
	a.Say("mod", "/poll Which day? | Sat | Sun")
	a.Out.Take()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		who := "m" + string(rune('a'+i))
		for j, h := range []*bottest.Harness{a, b} {
			wg.Add(1)
			go func(h *bottest.Harness, opt string) {
				defer wg.Done()
				h.Press(who, "poll:v:1:"+opt)
			}(h, []string{"0", "1"}[j])
		}
	}
	wg.Wait()
	a.Out.Take()
	b.Out.Take()
	a.Say("mod", "/poll results 1")
	got := a.Out.Take()
	if len(got) != 1 || !strings.Contains(got[0].Text, "20 members voted") {
		t.Fatalf("results: %+v", got)
	}
	// a native vote (Telegram's poll_answer), then taken back
	a.Event(bot.Event{Kind: bot.EventButton, Member: bottest.Member("nat"), Button: &bot.Button{Data: "poll:ans:1:1"}})
	a.Event(bot.Event{Kind: bot.EventButton, Member: bottest.Member("nat2"), Button: &bot.Button{Data: "poll:ans:1:0"}})
	a.Event(bot.Event{Kind: bot.EventButton, Member: bottest.Member("nat2"), Button: &bot.Button{Data: "poll:ans:1:"}})
	a.Event(bot.Event{Kind: bot.EventButton, Member: bottest.Member("bad"), Button: &bot.Button{Data: "poll:ans:1:7"}})
	a.Out.Take()
	a.Say("mod", "/poll close 1")
	got = a.Out.Take()
	if len(got) != 1 || !strings.Contains(got[0].Text, "21 members voted") {
		t.Fatalf("closing: %+v", got)
	}
	a.Advance(25 * time.Hour) // the closing time: said already, not again
	if got := a.Out.Take(); len(got) != 0 {
		t.Errorf("closed twice: %+v", got)
	}
}

func TestMultipleChoiceToggles(t *testing.T) {
	h := bottest.New(t, []engine.Flow{poll.Flow{}}, strings.Replace(yaml, "%s", "true", 1))
	h.Say("mod", "/poll Toppings? | cheese | ham | olives")
	h.Out.Take()
	for _, o := range []string{"0", "2", "0"} {
		h.Press("ann", "poll:v:1:"+o)
	}
	got := h.Out.Take()
	if last := got[len(got)-1].Text; last != "Your vote: olives" {
		t.Errorf("after cheese, olives, cheese again: %q", last)
	}
}
