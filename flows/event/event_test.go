package event_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/event"
)

const yaml = `
locale: en
moderators: ["console:mod"]
flows:
  event:
    events:
      - {name: day, title: Community day, at: "2026-01-20T10:00:00Z", capacity: 5, code: "777"}
`

func flows() []engine.Flow { return []engine.Flow{event.Flow{}} }

// Forty members press on two replicas at once: five places, never more;
// three give theirs back at once: the first three waiting move up, each
// told once.
func TestNoOverbookingAcrossReplicas(t *testing.T) {
	a := bottest.New(t, flows(), yaml)
	b := bottest.New(t, flows(), yaml, a.Prefix)
	a.Say("mod", "/event day")
	a.Out.Take()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		for _, h := range []*bottest.Harness{a, b} {
			wg.Add(1)
			go func(h *bottest.Harness, who string) {
				defer wg.Done()
				h.Press(who, "ev:in:day")
			}(h, "m"+strconv.Itoa(i))
		}
	}
	wg.Wait()
	in, waiting := 0, 0
	for _, act := range append(a.Out.Take(), b.Out.Take()...) {
		switch {
		case strings.HasPrefix(act.Text, "You are in:"):
			in++
		case strings.HasPrefix(act.Text, "It is full"):
			waiting++
		}
	}
	if in != 5 || waiting < 35 {
		t.Fatalf("%d got places, %d were told they wait; want 5 and at least 35", in, waiting)
	}
	a.Say("mod", "/event day list")
	roster := a.Out.Take()[0].Text
	lines := strings.Split(roster, "\n")
	placed := strings.Fields(lines[1])
	queue := strings.Fields(lines[3])
	if len(placed) != 5 || len(queue) != 35 {
		t.Fatalf("roster:\n%s", roster)
	}
	for i, h := range []*bottest.Harness{a, b, a} {
		wg.Add(1)
		go func(h *bottest.Harness, who string) {
			defer wg.Done()
			h.Press(who, "ev:out:day")
		}(h, strings.TrimPrefix(placed[i], "@"))
	}
	wg.Wait()
	told := map[string]int{}
	for _, act := range append(a.Out.Take(), b.Out.Take()...) {
		if act.Type == bot.ActDM && strings.Contains(act.Text, "A place freed up") {
			told[act.Member.ID]++
		}
	}
	if len(told) != 3 {
		t.Fatalf("told %v, want the first three waiting", told)
	}
	for _, w := range queue[:3] {
		if told[strings.TrimPrefix(w, "@")] != 1 {
			t.Errorf("%s (waiting) told %d times", w, told[strings.TrimPrefix(w, "@")])
		}
	}
}

// Where there are no buttons, members sign up and cancel by command.
func TestSignupByCommand(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	h.Out.Caps = bot.CanSend
	h.Say("mod", "/event day")
	if got := h.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "Send /signup day") || len(got[0].Buttons) != 0 {
		t.Fatalf("post without buttons: %+v", got)
	}
	for _, step := range []struct{ who, say, want string }{
		{"ann", "/signup day", "You are in"},
		{"ann", "/signup day", "signed up already"},
		{"ann", "/signup day cancel", "is cancelled"},
		{"ann", "/signup nope", "Usage"},
	} {
		h.Say(step.who, step.say)
		if got := h.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, step.want) {
			t.Errorf("%s: %+v", step.say, got)
		}
	}
}
