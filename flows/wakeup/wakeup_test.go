package wakeup_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/survey"
	"github.com/qunbot/qunbot/flows/wakeup"
)

func flows() []engine.Flow { return []engine.Flow{checkin.Flow{}, wakeup.Flow{}} }

const day = 24 * time.Hour

const stages = `
locale: en
moderators: ["console:mod"]
flows:
  checkin: {}
  wakeup:
    scan: "0 10 * * *"
    stages:
      - after: 7d
        points: 20
        text: "{{.Member.Mention}} gift {{.Flow.Points}} after {{.Flow.Silent}}d"
      - after: 14d
        text: "{{.Member.Mention}} content"
      - after: 21d
        text: "{{.Member.Mention}} event"
      - after: 60d
        text: "{{.Member.Mention}} personal note: what could we do better?"
`

// got lists wake-ups as "who:text" (a DM) or "group:text".
func got(actions []bot.Action) []string {
	var out []string
	for _, a := range actions {
		switch a.Type {
		case bot.ActDM:
			out = append(out, a.Member.ID+":"+a.Text)
		case bot.ActSend:
			out = append(out, "group:"+a.Text)
		}
	}
	sort.Strings(out)
	return out
}

// advanceTo moves the harness to day n (counted from the start) at the
// given hour, and returns the wake-ups sent on the way.
func advanceTo(h *bottest.Harness, n int, hour int) []string {
	target := bottest.Start.Truncate(day).Add(time.Duration(n)*day + time.Duration(hour)*time.Hour)
	h.Advance(target.Sub(h.Clock.Now()))
	return got(h.Out.Take())
}

func TestStagesAcrossWeeks(t *testing.T) {
	h := bottest.New(t, flows(), stages)
	h.Say("ann", "hi") // Mon 09:00, then silent
	h.Say("carl", "hi")
	h.Out.Take()
	steps := []struct {
		day, hour int
		say       string // who speaks at that time, after the wake-ups
		want      string
	}{
		{6, 12, "carl", ""},                      // nobody silent for 7 days yet
		{7, 12, "", "ann:@ann gift 20 after 7d"}, // day 7 10:00: ann is 7d01h silent
		{13, 12, "", ""},                         // once per silence period
		{14, 12, "", "ann:@ann content|carl:@carl gift 20 after 7d"},
		{21, 12, "", "ann:@ann event|carl:@carl content"},
		{22, 9, "ann", ""}, // ann comes back: counted, and starts over
		{28, 12, "", "carl:@carl event"},
		{29, 12, "", "ann:@ann gift 20 after 7d"},
		{60, 12, "", "ann:@ann content|ann:@ann event"},
		{67, 12, "", "carl:@carl personal note: what could we do better?"},
		{140, 12, "", "ann:@ann personal note: what could we do better?"},
		{300, 12, "", ""}, // the final note goes once, ever
	}
	for _, s := range steps {
		w := advanceTo(h, s.day, s.hour)
		if strings.Join(w, "|") != s.want {
			t.Fatalf("day %d: wake-ups %q, want %q", s.day, w, s.want)
		}
		if s.say != "" {
			h.Say(s.say, "back!")
			h.Out.Take()
		}
	}
	if pts := h.Fields("ann")["pts"]; pts != "40" {
		t.Fatalf("ann's points = %s, want two 7-day gifts of 20", pts)
	}
	h.Say("mod", "/tiers")
	var reply string
	for _, a := range h.Out.Take() {
		reply += a.Text
	}
	for _, want := range []string{"churned 2", "after 7 days: sent 3 · back 0", "after 21 days: sent 3 · back 1 (33%)", "after 60 days: sent 2"} {
		if !strings.Contains(reply, want) {
			t.Errorf("/tiers lacks %q:\n%s", want, reply)
		}
	}
}

func TestBatchMentionsWhereNoDM(t *testing.T) {
	h := bottest.New(t, flows(), `
flows:
  wakeup:
    batch: 10
    stages:
      - {after: 7d, text: "{{.Member.Mention}}: we miss you ({{len .Members}})"}
`)
	h.Out.Caps = bot.AllCapabilities &^ bot.CanDM
	for i := range 25 {
		h.Say(fmt.Sprintf("m%02d", i), "hi")
	}
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bot.Member{ID: "robot", Name: "robot", IsBot: true}})
	h.Say("gone", "hi")
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("gone")})
	h.Out.Take()
	target := bottest.Start.Truncate(day).Add(8 * day)
	h.Advance(target.Sub(h.Clock.Now()))
	acts := h.Out.Take()
	w := got(acts)
	if len(w) != 3 {
		t.Fatalf("got %d messages, want 3 batches: %q", len(w), w)
	}
	// each batch tells the platform whom it names, so members without a
	// @username are notified by link
	named := 0
	for _, a := range acts {
		for _, m := range a.Mentioned {
			if !strings.Contains(a.Text, "@"+m.ID) {
				t.Errorf("%s is named to the platform but not in %q", m.ID, a.Text)
			}
			named++
		}
	}
	if named != 25 {
		t.Errorf("%d members named to the platform, want 25", named)
	}
	all := strings.Join(w, "\n")
	for i := range 25 {
		if !strings.Contains(all, fmt.Sprintf("@m%02d", i)) {
			t.Errorf("m%02d not mentioned", i)
		}
	}
	if strings.Contains(all, "robot") || strings.Contains(all, "gone") {
		t.Errorf("a bot or a member who left was mentioned: %s", all)
	}
	if !strings.Contains(all, "(10)") || !strings.Contains(all, "(5)") {
		t.Errorf("batches of 10, 10 and 5 expected: %s", all)
	}
}

func TestQuietHoursAndDailyCap(t *testing.T) {
	h := bottest.New(t, flows(), `
flows:
  wakeup:
    scan: "0 23 * * *"
    quiet_hours: "22:00-08:00"
    daily_cap: 5
    stages:
      - {after: 7d, text: "hi {{.Member.Name}}"}
`)
	for i := range 12 {
		h.Say(fmt.Sprintf("m%02d", i), "hi")
	}
	h.Out.Take()
	// the 23:00 scans fall in quiet hours: each is held to 08:00
	if w := advanceTo(h, 7, 23); len(w) != 0 {
		t.Fatalf("sent in quiet hours: %q", w)
	}
	for i, want := range []int{5, 5, 2, 0} {
		if w := advanceTo(h, 8+i, 8); len(w) != want {
			t.Fatalf("by day %d 08:00 sent %d, want %d", 8+i, len(w), want)
		}
	}
}

func TestTwoEnginesSendOnce(t *testing.T) {
	a := bottest.New(t, flows(), stages)
	b := bottest.New(t, flows(), stages, a.Prefix)
	for i := range 30 {
		a.Say(fmt.Sprintf("m%02d", i), "hi")
	}
	b.Say("mod", "hi")
	a.Out.Take()
	b.Out.Take()
	ctx := context.Background()
	for range 10 * 24 * 4 {
		now := a.Clock.Now().Add(15 * time.Minute)
		a.Clock.Set(now)
		b.Clock.Set(now)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, h := range []*bottest.Harness{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = h.Sched.Tick(ctx)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := map[string]int{}
	for _, w := range append(got(a.Out.Take()), got(b.Out.Take())...) {
		who, _, _ := strings.Cut(w, ":")
		seen[who]++
	}
	if len(seen) != 31 {
		t.Fatalf("%d members reached, want 31", len(seen))
	}
	for who, n := range seen {
		if n != 1 {
			t.Errorf("%s got %d wake-ups in 10 days, want 1", who, n)
		}
	}
}

func TestMissedScanCaughtUpInGrace(t *testing.T) {
	yaml := `
flows:
  wakeup:
    scan: "0 10 * * *"
    grace: 6h
    stages:
      - {after: 7d, text: "hi {{.Member.Name}}"}
`
	first := bottest.New(t, flows(), yaml)
	first.Say("ann", "hi")
	advanceTo(first, 7, 9) // the scan that reaches ann is at 10:00
	back := bottest.New(t, flows(), yaml, first.Prefix)
	back.Clock.Set(first.Clock.Now().Add(4 * time.Hour)) // down 09:00–13:00
	back.Advance(0)
	if w := got(back.Out.Take()); strings.Join(w, "|") != "ann:hi ann" {
		t.Fatalf("after restart: %q", w)
	}
}

func TestTierCounts(t *testing.T) {
	h := bottest.New(t, flows(), `
flows:
  wakeup:
    tiers: {silent: 7d, churned: 30d, core_top: 5, core_min: 20}
    stages: [{after: 7d, text: hi}]
`)
	for range 25 {
		h.Say("core1", "x")
		h.Say("core2", "x")
	}
	h.Say("old", "x")
	h.Clock.Set(bottest.Start.Add(10 * day))
	for range 25 {
		h.Say("core3", "x") // core by count, but ...
	}
	h.Say("new1", "x")
	h.Say("new2", "x")
	h.Clock.Set(bottest.Start.Add(40 * day))
	h.Say("fresh", "x")
	ctx := context.Background()
	c, err := wakeup.TierCounts(ctx, h.Store, bottest.Group, wakeup.Tiers{Silent: cfgDur(7 * day), Churned: cfgDur(30 * day), CoreTop: 5, CoreMin: 20}, h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// day 40: core1, core2, old are 40 days quiet (churned); core3, new1,
	// new2 30 days (silent); only fresh is active and it is no core member
	if want := (wakeup.Counts{Core: 0, Active: 1, Silent: 3, Churned: 3}); c != want {
		t.Fatalf("day 40 counts %+v, want %+v", c, want)
	}
	c, err = wakeup.TierCounts(ctx, h.Store, bottest.Group, wakeup.Tiers{Silent: cfgDur(45 * day), Churned: cfgDur(90 * day), CoreTop: 5, CoreMin: 20}, h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	// with longer thresholds all are active; 25 messages 30 days ago decay
	// to 25/4 = 6.25 (under core_min), 25 messages 40 days ago to less
	if want := (wakeup.Counts{Core: 0, Active: 7}); c != want {
		t.Fatalf("long thresholds: %+v, want %+v", c, want)
	}
	for range 25 {
		h.Say("fresh", "x")
	}
	c, err = wakeup.TierCounts(ctx, h.Store, bottest.Group, wakeup.Tiers{Silent: cfgDur(45 * day), Churned: cfgDur(90 * day), CoreTop: 5, CoreMin: 20}, h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := (wakeup.Counts{Core: 1, Active: 6}); c != want {
		t.Fatalf("after fresh's 26 messages today: %+v, want %+v", c, want)
	}
}

func cfgDur(d time.Duration) config.Duration { return config.Duration(d) }

// A member the bot could not reach privately is mentioned in the group
// instead of being tried again.
func TestUnreachableMembersAreMentioned(t *testing.T) {
	h := bottest.New(t, flows(), `
flows:
  wakeup:
    stages: [{after: 7d, text: "{{.Member.Mention}} hi"}]
`)
	h.Say("ann", "hi")
	h.Say("bob", "hi")
	h.Engine.Unreachable(context.Background(), bot.Action{Type: bot.ActDM, Chat: bottest.Group, Member: bottest.Member("ann")})
	h.Out.Take()
	if w := strings.Join(advanceTo(h, 8, 0), "|"); w != "bob:@bob hi|group:@ann hi" {
		t.Fatalf("wake-ups %q", w)
	}
}

// churned: is the design's shorthand for the final stage.
func TestChurnedShorthand(t *testing.T) {
	h := bottest.New(t, flows(), `
flows:
  wakeup:
    stages: [{after: 7d, text: "{{.Member.Name}} week"}]
    churned: {after: 30d, text: "{{.Member.Name}} note"}
`)
	h.Say("ann", "hi")
	h.Out.Take()
	if w := strings.Join(advanceTo(h, 31, 12), "|"); w != "ann:ann note|ann:ann week" {
		t.Fatalf("wake-ups %q", w)
	}
}

// The churn stage can start a questionnaire: its note, then the first
// question, privately; the answer is the survey flow's.
func TestChurnStageStartsAQuestionnaire(t *testing.T) {
	h := bottest.New(t, []engine.Flow{checkin.Flow{}, wakeup.Flow{}, survey.Flow{}}, `
locale: en
flows:
  survey:
    forms:
      - {name: churn, questions: [{text: "What went wrong?", options: [price, content]}, "What should we improve?"]}
  wakeup:
    churned: {after: 30d, text: "{{.Member.Name}}, we miss you", survey: churn}
`)
	h.Say("ann", "hi")
	h.Out.Take()
	w := strings.Join(advanceTo(h, 31, 12), "|")
	if !strings.Contains(w, "ann:ann, we miss you") || !strings.Contains(w, "Question 1/2: What went wrong?") {
		t.Fatalf("churn stage: %q", w)
	}
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "1", Chat: bot.Chat{Key: "console:@ann", Type: bot.ChatPrivate}})
	if got := h.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "Question 2/2") {
		t.Errorf("answer: %+v", got)
	}
}

// core_top cannot ask for more than the contribution set keeps.
func TestCoreTopWithinTheSet(t *testing.T) {
	schema := engine.Schema(flows(), bottest.Platforms())
	if _, err := config.Parse("t.yaml", []byte("flows:\n  wakeup: {tiers: {core_top: 600}}\n"), schema); err == nil || !strings.Contains(err.Error(), "tiers.core_top") {
		t.Errorf("core_top 600: %v", err)
	}
	if _, err := config.Parse("t.yaml", []byte("flows:\n  wakeup: {tiers: {core_top: 500}}\n"), schema); err != nil {
		t.Errorf("core_top 500: %v", err)
	}
}
