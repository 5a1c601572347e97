package welcome_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/welcome"
)

func flows() []engine.Flow { return []engine.Flow{welcome.Flow{}} }

func codesFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "C%03d\n", i)
	}
	path := filepath.Join(t.TempDir(), "codes.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWelcomePack(t *testing.T) {
	yaml := `moderators: ["console:mod"]
flows:
  welcome:
    text: "Hi {{.Flow.Mentions}}"
    rules: "Be kind."
    rules_dm: true
    perk: "Code {{.Flow.Code}}"
    codes: { pool: p1, file: ` + codesFile(t, 2) + `, low: 1 }
    buttons: [ { text: Rules, url: "https://example.com" } ]
    delete_after: 10m
`
	h := bottest.New(t, flows(), yaml)
	h.Join("alice")
	acts := h.Out.Take()
	if got := bottest.Summary(acts); got != "send:alice dm:alice dm:mod dm:alice" {
		t.Fatalf("welcome: %s", got)
	}
	if acts[0].Text != "Hi @alice" || acts[0].Buttons[0][0].URL != "https://example.com" || acts[0].DeleteAfter != 10*time.Minute {
		t.Errorf("welcome message: %+v", acts[0])
	}
	if acts[1].Text != "Be kind." || acts[1].Fallback == "" {
		t.Errorf("rules DM: %+v", acts[1])
	}
	if !strings.Contains(acts[2].Text, "p1") { // one code left = low
		t.Errorf("low-pool warning: %+v", acts[2])
	}
	if acts[3].Text != "Code C001" {
		t.Errorf("perk: %+v", acts[3])
	}
	// a rejoin gets a welcome but no second code; the old welcome goes
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("alice")})
	h.Advance(time.Hour)
	if got := bottest.Summary(h.Out.Take()); got != "delete:alice" {
		t.Errorf("delete_after did not remove the welcome: %s", got)
	}
	h.Join("alice")
	if got := bottest.Summary(h.Out.Take()); got != "send:alice dm:alice" {
		t.Errorf("rejoin: %s", got)
	}
	h.Advance(time.Minute)
	h.Join("bob")
	acts = h.Out.Take()
	if got := bottest.Summary(acts); !strings.HasPrefix(got, "delete ") {
		t.Errorf("the previous welcome is not deleted: %s", got)
	}
}

func TestBurstIsWelcomedTogether(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  welcome: { burst: { window: 30s, max: 4 } }\n")
	for i := 1; i <= 10; i++ {
		h.Join(fmt.Sprintf("m%02d", i))
	}
	if got := bottest.Summary(h.Out.Take()); got != "send:m01" {
		t.Fatalf("during the burst: %s", got)
	}
	h.Advance(29 * time.Second)
	if got := h.Out.Take(); len(got) != 0 {
		t.Fatalf("before the window closed: %s", bottest.Summary(got))
	}
	h.Advance(time.Second)
	acts := h.Out.Take()
	var texts []string
	for _, a := range acts {
		texts = append(texts, a.Text)
	}
	want := []string{"@m02 @m03 @m04 @m05", "@m06 @m07 @m08 @m09", "@m10"}
	if len(texts) != len(want) {
		t.Fatalf("burst welcomes: %q", texts)
	}
	for i, w := range want {
		if !strings.Contains(texts[i], w) {
			t.Errorf("welcome %d = %q, want mentions %s", i, texts[i], w)
		}
		// the platform is told whom the welcome names, so it can notify
		// members without a @username by link
		var ids []string
		for _, m := range acts[i].Mentioned {
			ids = append(ids, "@"+m.ID)
		}
		if i < 2 && strings.Join(ids, " ") != w {
			t.Errorf("welcome %d names %v, want %s", i, ids, w)
		}
		if i == 2 && len(ids) != 0 {
			t.Errorf("a welcome of one names its member as the action's Member, not %v", ids)
		}
	}
}

// Many newcomers at once on several replicas: every code goes to one
// member, and no member gets two.
func TestCodesAreUniqueUnderConcurrency(t *testing.T) {
	file := codesFile(t, 20)
	yaml := "flows:\n  welcome: { perk: 'Code {{.Flow.Code}}', codes: { pool: race, file: " + file + " }, burst: { window: 0s, max: 10 } }\n"
	h := bottest.New(t, flows(), yaml)
	h2 := bottest.New(t, flows(), yaml, h.Prefix)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			[]*bottest.Harness{h, h2}[i%2].Join(fmt.Sprintf("n%d", i))
		}(i)
	}
	wg.Wait()
	seen := map[string]string{}
	for _, a := range append(h.Out.Take(), h2.Out.Take()...) {
		if a.Type != bot.ActDM || !strings.HasPrefix(a.Text, "Code ") {
			continue
		}
		if other, dup := seen[a.Text]; dup {
			t.Errorf("%s given to %s and %s", a.Text, other, a.Member.ID)
		}
		seen[a.Text] = a.Member.ID
	}
	if len(seen) != 20 {
		t.Errorf("%d codes given, want all 20", len(seen))
	}
	n, err := h.Redis.LLen(context.Background(), h.Prefix+"{perk:race}:codes").Result()
	if err != nil || n != 0 {
		t.Errorf("codes left = %d (%v)", n, err)
	}
}

// Where posts are tasks an owner confirms (WeCom customer groups) the
// platform's welcome template greets; perks still go privately.
func TestNoGroupWelcomeWherePostsAreTasks(t *testing.T) {
	h := bottest.New(t, []engine.Flow{welcome.Flow{}}, `
flows:
  welcome: {text: "hi {{.Flow.Mentions}}", rules: "be kind", rules_dm: true, burst: {window: 0s}}
`)
	h.Out.Caps = bot.CanSend | bot.CanDM | bot.PostsAreTasks
	h.Join("ann")
	if got := bottest.Summary(h.Out.Take()); got != "dm:ann" {
		t.Fatalf("actions %s, want only the rules by DM", got)
	}
}
