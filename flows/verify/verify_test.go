package verify_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/verify"
	"github.com/qunbot/qunbot/flows/welcome"
)

func flows() []engine.Flow { return []engine.Flow{verify.Flow{}, welcome.Flow{}} }

const cfg = "flows:\n  verify: { timeout: 2m, attempts: 2 }\n  welcome: {}\n"

// challenge returns the newcomer's buttons and the index of the right one,
// read back from the member record.
func challenge(t *testing.T, h *bottest.Harness, member string, actions []bot.Action) (right, wrong string) {
	t.Helper()
	ans := h.Fields(member)["v_answer"]
	for _, a := range actions {
		for _, row := range a.Buttons {
			for _, b := range row {
				if strings.HasSuffix(b.Data, ":"+ans) {
					right = b.Data
				} else {
					wrong = b.Data
				}
			}
		}
	}
	if right == "" || wrong == "" {
		t.Fatalf("no challenge buttons in %v", bottest.Summary(actions))
	}
	return right, wrong
}

func TestButtonPassAndWelcome(t *testing.T) {
	h := bottest.New(t, flows(), cfg)
	h.Join("alice")
	acts := h.Out.Take()
	if got := bottest.Summary(acts); got != "restrict:alice send:alice" {
		t.Fatalf("join: %s", got)
	}
	right, wrong := challenge(t, h, "alice", acts)
	h.Say("alice", "spam before answering")
	if got := bottest.Summary(h.Out.Take()); got != "delete:alice" {
		t.Errorf("held message: %s", got)
	}
	h.Press("bob", right)
	if got := h.Out.Take(); len(got) != 1 || got[0].Type != bot.ActAnswerPress || got[0].Member.ID != "bob" || got[0].Text == "" {
		t.Errorf("someone else's press: %s", bottest.Summary(got))
	}
	h.Press("alice", wrong)
	if got := h.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "1") {
		t.Errorf("wrong press: %+v", got)
	}
	h.Press("alice", right)
	// answer, unrestrict, delete the challenge, then the welcome
	if got := bottest.Summary(h.Out.Take()); got != "answer:alice unrestrict:alice delete:alice send:alice" {
		t.Errorf("pass: %s", got)
	}
	if st := h.Fields("alice")["v_state"]; st != "passed" {
		t.Errorf("state = %s", st)
	}
	// the deadline job finds the challenge settled and does nothing
	h.Advance(3 * time.Minute)
	if got := h.Out.Take(); len(got) != 0 {
		t.Errorf("after the deadline: %s", bottest.Summary(got))
	}
}

func TestTimeoutAndFailureActions(t *testing.T) {
	tests := []struct {
		onFail string
		want   string
	}{
		{"kick", "delete:zed kick:zed send:zed"},
		{"ban", "delete:zed ban:zed send:zed"},
		{"mute", "delete:zed restrict:zed send:zed"},
	}
	for _, tt := range tests {
		t.Run(tt.onFail, func(t *testing.T) {
			h := bottest.New(t, flows(), "flows:\n  verify: { on_fail: "+tt.onFail+", fail_for: 1h }\n")
			h.Join("zed")
			h.Out.Take()
			h.Advance(119 * time.Second)
			if got := h.Out.Take(); len(got) != 0 {
				t.Fatalf("acted before the deadline: %s", bottest.Summary(got))
			}
			h.Advance(time.Second)
			acts := h.Out.Take()
			if got := bottest.Summary(acts); got != tt.want {
				t.Errorf("at the deadline: %s, want %s", got, tt.want)
			}
			for _, a := range acts {
				if (a.Type == bot.ActBan || a.Type == bot.ActRestrict) && !a.Until.Equal(h.Clock.Now().Add(time.Hour)) {
					t.Errorf("%s until %v, want an hour from now", a.Type, a.Until)
				}
			}
		})
	}
}

// A restart in the middle of a challenge: the new process (fresh engine,
// same Redis) ends it at the deadline, and one whose deadline passed while
// it was down is settled at its first tick.
func TestRestartMidChallenge(t *testing.T) {
	a := bottest.New(t, flows(), cfg)
	a.Join("zed")
	a.Out.Take()
	b := bottest.New(t, flows(), cfg, a.Prefix) // the restarted process
	b.Clock.Set(a.Clock.Now().Add(10 * time.Minute))
	if err := b.Sched.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := bottest.Summary(b.Out.Take()); got != "delete:zed kick:zed send:zed" {
		t.Errorf("after restart: %s", got)
	}
}

// Two presses of the right button racing (a double click, two replicas):
// one pass, one welcome.
func TestConcurrentPassesWelcomeOnce(t *testing.T) {
	h := bottest.New(t, flows(), cfg)
	h.Join("alice")
	right, _ := challenge(t, h, "alice", h.Out.Take())
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Press("alice", right)
		}()
	}
	wg.Wait()
	welcomes := 0
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActSend {
			welcomes++
		}
	}
	if welcomes != 1 {
		t.Fatalf("%d welcomes, want 1", welcomes)
	}
}

func TestTypedAnswers(t *testing.T) {
	yaml := "flows:\n  verify: { method: question, question: 'Our drink?', answers: ['Coffee', '咖啡'], attempts: 3 }\n"
	tests := []struct {
		answer string
		ok     bool
	}{
		{"coffee", true}, {"  COFFEE ", true}, {"ＣＯＦＦＥＥ", true}, {"咖啡", true}, {"co ffee", false}, {"tea", false},
	}
	for _, tt := range tests {
		t.Run(tt.answer, func(t *testing.T) {
			h := bottest.New(t, flows(), yaml)
			h.Join("carol")
			acts := h.Out.Take()
			if len(acts) == 0 || acts[0].Type != bot.ActRestrict || !acts[0].AllowText {
				t.Fatalf("a typed challenge must leave text allowed: %+v", acts)
			}
			h.Say("carol", tt.answer)
			passed := h.Fields("carol")["v_state"] == "passed"
			if passed != tt.ok {
				t.Errorf("answer %q: passed=%v", tt.answer, passed)
			}
		})
	}
}

func TestRejoinAndBots(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  verify: { rejoin_skip: 7d }\n")
	h.Join("alice")
	right, _ := challenge(t, h, "alice", h.Out.Take())
	h.Press("alice", right)
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("alice")})
	h.Advance(6 * 24 * time.Hour)
	h.Join("alice")
	if got := bottest.Summary(h.Out.Take()); strings.Contains(got, "restrict") {
		t.Errorf("rejoin within 7d challenged: %s", got)
	}
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("alice")})
	h.Advance(8 * 24 * time.Hour)
	h.Join("alice")
	if got := bottest.Summary(h.Out.Take()); !strings.Contains(got, "restrict") {
		t.Errorf("rejoin after 8d not challenged: %s", got)
	}

	admin := bot.Member{ID: "boss", Name: "boss", IsAdmin: true}
	helper := bot.Member{ID: "helperbot", Name: "helperbot", IsBot: true}
	h.Event(bot.Event{Kind: bot.EventJoin, Member: helper, By: &admin})
	if got := h.Out.Take(); len(got) != 0 {
		t.Errorf("admin-added bot challenged: %s", bottest.Summary(got))
	}
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bot.Member{ID: "spambot", IsBot: true}})
	if got := bottest.Summary(h.Out.Take()); !strings.HasPrefix(got, "restrict:spambot") {
		t.Errorf("self-joined bot not challenged: %s", got)
	}
	// a member from before the bot speaks freely
	h.Say("old", "hello")
	if got := h.Out.Take(); len(got) != 0 {
		t.Errorf("old member held: %s", bottest.Summary(got))
	}
}

// Where the platform can neither restrict nor delete (a WeCom customer
// group), the check still runs and degrades: no restrict, no delete.
func TestDegradesWithoutCapabilities(t *testing.T) {
	h := bottest.New(t, flows(), cfg)
	h.Out.Caps = bot.CanSend | bot.CanButtons | bot.SeesMessages
	h.Join("alice")
	if got := bottest.Summary(h.Out.Take()); got != "send:alice" {
		t.Errorf("join: %s", got)
	}
	h.Say("alice", "hi")
	if got := h.Out.Take(); len(got) != 0 {
		t.Errorf("held message with no delete capability: %s", bottest.Summary(got))
	}
}

// Where the bot sees no messages (a WeCom customer group) nobody can
// answer a challenge: a join the platform vouches for passes (and is
// welcomed), any other is flagged to the moderators.
func TestGroupsWithoutMessages(t *testing.T) {
	h := bottest.New(t, flows(), `
locale: en
moderators: ["console:mod", "other:elsewhere"]
flows:
  verify: {method: button}
  welcome: {text: "Welcome {{.Flow.Mentions}}", burst: {window: 0s}}
`)
	h.Out.Caps = bot.CanSend | bot.CanDM
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("vouched"), Vouched: true})
	acts := h.Out.Take()
	if got := bottest.Summary(acts); got != "send:vouched" || h.Fields("vouched")["v_state"] != "passed" {
		t.Fatalf("vouched join: %s %v %+v", got, h.Fields("vouched"), acts)
	}
	if err := h.Store.SetGroupFields(context.Background(), bottest.Group, map[string]string{"owner": "boss"}); err != nil {
		t.Fatal(err)
	}
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("stranger")})
	acts = h.Out.Take()
	if got := bottest.Summary(acts); got != "dm:boss dm:mod" || !strings.Contains(acts[0].Text, "stranger") {
		t.Fatalf("unvouched join: %s %+v", got, acts)
	}
}

// A challenge expires at its member's deadline and is withdrawn from the
// outbox when the member passes, so a busy queue never posts it late.
func TestChallengeIsNeverPostedLate(t *testing.T) {
	h := bottest.New(t, flows(), cfg)
	h.Join("alice")
	acts := h.Out.Take()
	var ch bot.Action
	for _, a := range acts {
		if a.Type == bot.ActSend {
			ch = a
		}
	}
	if ch.Key == "" || !ch.Expires.Equal(bottest.Start.Add(2*time.Minute)) {
		t.Fatalf("challenge key %q expires %v", ch.Key, ch.Expires)
	}
	right, _ := challenge(t, h, "alice", acts)
	h.Press("alice", right)
	cancelled := false
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActCancel && a.Key == ch.Key {
			cancelled = true
		}
	}
	if !cancelled {
		t.Error("the challenge was not withdrawn when alice passed")
	}
}
