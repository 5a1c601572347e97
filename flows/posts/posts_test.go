package posts_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/posts"
	"github.com/qunbot/qunbot/flows/survey"
	"github.com/qunbot/qunbot/scheduler"
)

func flows() []engine.Flow { return []engine.Flow{posts.Flow{}} }

// sent lists the texts of the messages sent, with what happened to them.
func sent(actions []bot.Action) []string {
	var out []string
	for _, a := range actions {
		switch a.Type {
		case bot.ActSend:
			s := a.Text
			if a.Image != "" {
				s += " [img]"
			}
			out = append(out, s)
		case bot.ActPin:
			out = append(out, "pin "+a.MessageID)
		case bot.ActDelete:
			out = append(out, "delete "+a.MessageID)
		}
	}
	return out
}

func start(t *testing.T, yaml string, prefix ...string) *bottest.Harness {
	t.Helper()
	h := bottest.New(t, flows(), yaml, prefix...)
	h.Say("ann", "hello") // the bot learns the group
	h.Out.Take()
	return h
}

func TestCalendarAcrossDays(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tips.txt")
	if err := os.WriteFile(file, []byte("Tip one\n---\nTip two\nline 2\n---\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := start(t, `
timezone: Asia/Shanghai
flows:
  posts:
    - name: morning
      cron: "0 9 * * *"
      texts: ["Morning {{.Flow.Number}} in {{.Group.Title}}", "Second", "Third"]
      image: https://example.com/a.png
      pin: true
      delete_after: 2h
    - name: tips
      cron: "30 20 * * 1,3,5"
      file: `+file+`
`)
	// Start is Mon 2026-01-05 17:00 in Shanghai.
	h.Advance(3*24*time.Hour + time.Hour)
	want := []string{
		"Tip one",                                     // Mon 20:30
		"Morning 1 in G [img]", "pin m2", "delete m2", // Tue 09:00, deleted 11:00
		"Second [img]", "pin m5", "delete m5", // Wed 09:00
		"Tip two\nline 2",                    // Wed 20:30
		"Third [img]", "pin m9", "delete m9", // Thu 09:00
	}
	got := sent(h.Out.Take())
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sent\n%q\nwant\n%q", got, want)
	}
	// the file is finished: Friday's fire sends nothing; the rotation goes on
	h.Advance(2 * 24 * time.Hour)
	if got := strings.Join(sent(h.Out.Take()), "|"); got != "Morning 4 in G [img]|pin m12|delete m12|Second [img]|pin m15|delete m15" {
		t.Fatalf("after the file ran out: %q", got)
	}
}

func TestDailyCapAndQuietHours(t *testing.T) {
	h := start(t, `
flows:
  posts:
    daily_cap: 2
    quiet_hours: "22:00-08:00"
    items:
      - {name: a, cron: "0 9 * * *", text: A}
      - {name: b, cron: "30 9 * * *", text: B}
      - {name: c, cron: "0 23 * * *", text: C}
`)
	steps := []struct {
		to   string // UTC
		want string
	}{
		{"2026-01-05T23:30", "B"},   // Monday from 09:00: B; C falls in quiet hours, held
		{"2026-01-06T08:00", "C"},   // sent when quiet hours end, on Tuesday's cap
		{"2026-01-06T09:45", "A"},   // B is over Tuesday's cap of 2
		{"2026-01-06T23:30", ""},    // C held again
		{"2026-01-07T09:45", "C|A"}, // and so on
	}
	for _, s := range steps {
		to, _ := time.Parse("2006-01-02T15:04", s.to)
		h.Advance(to.Sub(h.Clock.Now()))
		if got := strings.Join(sent(h.Out.Take()), "|"); got != s.want {
			t.Fatalf("by %s: sent %q, want %q", s.to, got, s.want)
		}
	}
}

func TestCommands(t *testing.T) {
	h := start(t, `
moderators: ["console:mod"]
flows:
  posts:
    - {name: news, cron: "0 12 * * *", text: "News!"}
`)
	say := func(who, text string) string {
		h.Say(who, text)
		var out []string
		for _, a := range h.Out.Take() {
			out = append(out, a.Text)
		}
		return strings.Join(out, "|")
	}
	if got := say("ann", "/posts"); !strings.Contains(got, "moderators") && !strings.Contains(got, "管理员") {
		t.Fatalf("a member ran /posts: %q", got)
	}
	if got := say("mod", "/posts"); !strings.Contains(got, "news") || !strings.Contains(got, "01-05 12:00") {
		t.Fatalf("/posts = %q, want news with its next fire", got)
	}
	if got := say("mod", "/post pause news"); !strings.Contains(got, "news") {
		t.Fatalf("/post pause = %q", got)
	}
	h.Advance(4 * time.Hour)
	if got := bottest.Summary(h.Out.Take()); strings.Contains(got, "send") {
		t.Fatalf("a paused post was sent: %q", got)
	}
	if got := say("mod", "/posts"); !strings.Contains(got, "01-06 12:00") {
		t.Fatalf("/posts after a skipped fire = %q", got)
	}
	say("mod", "/post resume news")
	if got := say("mod", "/post now news"); got != "News!" {
		t.Fatalf("/post now = %q", got)
	}
	for _, bad := range []string{"/post now nope", "/post", "/post shout news"} {
		if got := say("mod", bad); got == "" || got == "News!" {
			t.Fatalf("%s = %q, want a short error", bad, got)
		}
	}
	h.Advance(24 * time.Hour)
	if got := strings.Join(sent(h.Out.Take()), "|"); got != "News!" {
		t.Fatalf("after resume: %q", got)
	}
}

// Two processes on one Redis send each post once, however their ticks
// interleave.
func TestTwoEnginesPostOnce(t *testing.T) {
	yaml := `
flows:
  posts:
    - {name: hourly, cron: "0 * * * *", text: "tick"}
`
	a := start(t, yaml)
	b := start(t, yaml, a.Prefix)
	ctx := context.Background()
	for i := 0; i < 48*4; i++ {
		now := a.Clock.Now().Add(15 * time.Minute)
		a.Clock.Set(now)
		b.Clock.Set(now)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, h := range []*bottest.Harness{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- h.Sched.Tick(ctx)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	na, nb := len(sent(a.Out.Take())), len(sent(b.Out.Take()))
	if na+nb != 48 {
		t.Fatalf("sent %d+%d posts in 48 hours, want 48 in all", na, nb)
	}
	t.Logf("replica a sent %d, b sent %d", na, nb)
}

// A fire missed while qunbot was down is sent late within the grace
// window and skipped beyond it.
func TestRestartWithMissedFires(t *testing.T) {
	yaml := `
flows:
  posts:
    grace: 1h
    items:
      - {name: daily, cron: "0 10 * * *", text: "daily"}
`
	tests := []struct {
		down time.Duration // from 09:50 on the day of a fire
		want string
	}{
		{30 * time.Minute, "daily"}, // back at 10:20: 20 minutes late, sent
		{3 * time.Hour, ""},         // back at 12:50: skipped
		{49 * time.Hour, ""},        // two days down: both fires skipped
	}
	for _, tc := range tests {
		t.Run(tc.down.String(), func(t *testing.T) {
			first := start(t, yaml)
			first.Advance(50 * time.Minute) // 09:50, fire due at 10:00
			if got := sent(first.Out.Take()); len(got) != 0 {
				t.Fatalf("sent before the fire: %q", got)
			}
			// the first process dies; a new one starts on the same Redis
			back := bottest.New(t, flows(), yaml, first.Prefix)
			back.Clock.Set(first.Clock.Now().Add(tc.down))
			back.Advance(0)
			if got := strings.Join(sent(back.Out.Take()), "|"); got != tc.want {
				t.Fatalf("after %s down: sent %q, want %q", tc.down, got, tc.want)
			}
			// the schedule goes on the next day either way
			next := back.Clock.Now().Truncate(24 * time.Hour).Add(24*time.Hour + 10*time.Hour + time.Minute)
			back.Advance(next.Sub(back.Clock.Now()))
			if got := strings.Join(sent(back.Out.Take()), "|"); got != "daily" {
				t.Fatalf("next day: sent %q", got)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{`[{name: a, cron: "61 * * * *", text: x}]`, "cron"},
		{`[{name: a, cron: "0 9 * * *"}]`, "exactly one of text, texts or file"},
		{`[{name: a, cron: "0 9 * * *", text: x, texts: [y]}]`, "exactly one"},
		{`[{name: a, cron: "0 9 * * *", text: x}, {name: a, cron: "0 9 * * *", text: y}]`, "unique name"},
		{`[{name: a, cron: "0 9 * * *", file: /nonexistent/x.txt}]`, "posts.items[0].file: cannot read /nonexistent/x.txt"},
		{`{quiet_hours: "22-8", items: []}`, "HH:MM-HH:MM"},
		{`{daily_cap: -1, items: []}`, "daily_cap"},
		{`[{name: a, cron: "0 9 * * *", text: x, loop: true}]`, "file only"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := parse("flows:\n  posts: " + tc.yaml + "\n")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "test.yaml:2:") {
				t.Fatalf("error = %v, want one at test.yaml:2 mentioning %q", err, tc.want)
			}
		})
	}
}

func parse(yaml string) (*config.Config, error) {
	return config.Parse("test.yaml", []byte(yaml), engine.Schema(flows(), bottest.Platforms()))
}

// A fire whose job is claimed again (the replica that ran it died before
// acknowledging it) does not post twice.
func TestFireRunsOnce(t *testing.T) {
	h := start(t, `
flows:
  posts:
    - {name: news, cron: "0 12 * * *", text: "News!"}
`)
	due := bottest.Start.Add(3 * time.Hour).Format(time.RFC3339)
	fire := scheduler.Job{ID: "fire:posts|" + bottest.Group + "|news@" + due, Kind: "posts.fire", At: bottest.Start,
		Args: map[string]string{"platform": "console", "group": bottest.Group, "member": "", "name": "news", "due": due}}
	for i := 0; i < 2; i++ {
		if err := h.Engine.HandleEvent(context.Background(), scheduler.TimerEvent(fire, h.Clock.Now())); err != nil {
			t.Fatal(err)
		}
	}
	var posted []string
	for _, a := range h.Out.Take() {
		posted = append(posted, a.Text)
	}
	if len(posted) != 1 || posted[0] != "News!" {
		t.Fatalf("posted %q, want News! once", posted)
	}
}

// A post that names a questionnaire carries a button that starts it
// privately for whoever presses it.
func TestPostWithQuestionnaire(t *testing.T) {
	h := bottest.New(t, []engine.Flow{posts.Flow{}, survey.Flow{}}, `
locale: en
flows:
  survey:
    forms: [{name: needs, questions: ["What do you need most?"]}]
  posts:
    - {name: q, cron: "0 10 * * *", text: "Quarterly needs survey", survey: needs}
`)
	h.Say("ann", "hello")
	h.Out.Take()
	h.Advance(2 * time.Hour) // 09:00 UTC start: 10:00
	var data string
	for _, a := range h.Out.Take() {
		if a.Text == "Quarterly needs survey" && len(a.Buttons) == 1 {
			data = a.Buttons[0][0].Data
		}
	}
	if data != "sv:start:needs" {
		t.Fatalf("the post's button: %q", data)
	}
	h.Press("bob", data)
	var dm string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActDM && a.Member.ID == "bob" {
			dm = a.Text
		}
	}
	if !strings.Contains(dm, "Question 1/1: What do you need most?") {
		t.Errorf("the press started %q", dm)
	}
}
