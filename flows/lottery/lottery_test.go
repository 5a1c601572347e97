package lottery_test

import (
	"crypto/sha256"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/activity"
	"github.com/qunbot/qunbot/flows/lottery"
	"github.com/qunbot/qunbot/flows/moderation"
)

// picksByTheBook is the draw written from the documented procedure alone
// (big integers, no shared code), to check Picks against.
func picksByTheBook(seed string, entries []string, n int) []string {
	left := append([]string(nil), entries...)
	sort.Strings(left)
	var out []string
	for i := 0; len(out) < n && len(left) > 0; i++ {
		h := sha256.Sum256([]byte(seed + ":" + strconv.Itoa(i)))
		r := new(big.Int).SetBytes(h[:8])
		j := int(new(big.Int).Mod(r, big.NewInt(int64(len(left)))).Int64())
		out = append(out, left[j])
		left = append(left[:j:j], left[j+1:]...)
	}
	return out
}

func TestPicks(t *testing.T) {
	seed := "c0794e3aff1c9af578a611671bb888c1b14343f7cb7063fbfe9f24936098c906"
	many := make([]string, 500)
	for i := range many {
		many[i] = strconv.Itoa(1000 + i*7)
	}
	tests := []struct {
		name    string
		entries []string
		n       int
	}{
		{"four", []string{"dan", "ann", "cat", "bob"}, 2},
		{"all of them", []string{"b", "a"}, 5},
		{"none", nil, 3},
		{"five hundred", many, 10},
	}
	for _, tc := range tests {
		got := lottery.Picks(seed, tc.entries, tc.n)
		want := picksByTheBook(seed, tc.entries, tc.n)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, by the book %v", tc.name, got, want)
		}
		seen := map[string]bool{}
		for _, w := range got {
			if seen[w] {
				t.Errorf("%s: %s drawn twice", tc.name, w)
			}
			seen[w] = true
		}
	}
	// the order entries come in does not matter
	a := lottery.Picks(seed, []string{"x", "y", "z", "w"}, 2)
	b := lottery.Picks(seed, []string{"w", "z", "y", "x"}, 2)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("order changed the draw: %v %v", a, b)
	}
	// the winners are the first picks, re-draws the next
	if all := lottery.Picks(seed, many, 12); strings.Join(all[:10], ",") != strings.Join(lottery.Picks(seed, many, 10), ",") {
		t.Error("more picks changed the first ones")
	}
}

func conf(t *testing.T) string {
	codes := filepath.Join(t.TempDir(), "codes.txt")
	if err := os.WriteFile(codes, []byte("C1\nC2\nC3\nC4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return `
locale: en
moderators: ["console:mod"]
flows:
  moderation: {}
  lottery:
    keyword: lucky
    claim_within: 1h
    codes: {pool: test-` + strconv.FormatInt(time.Now().UnixNano(), 36) + `, file: ` + codes + `}
`
}

func flows() []engine.Flow { return []engine.Flow{moderation.Flow{}, lottery.Flow{}} }

var (
	commitRe = regexp.MustCompile(`SHA-256 of the draw's seed is ([0-9a-f]{64})`)
	seedRe   = regexp.MustCompile(`Seed: ([0-9a-f]{64})`)
	idRe     = regexp.MustCompile(`lot:in:([0-9a-z]+)`)
)

func open(t *testing.T, h *bottest.Harness, text string) (id, commit string) {
	t.Helper()
	h.Out.Take()
	h.Say("mod", text)
	for _, a := range h.Out.Take() {
		if m := commitRe.FindStringSubmatch(a.Text); m != nil {
			commit = m[1]
			for _, row := range a.Buttons {
				for _, b := range row {
					if m := idRe.FindStringSubmatch(b.Data); m != nil {
						id = m[1]
					}
				}
			}
		}
	}
	if id == "" || commit == "" {
		t.Fatalf("%s opened nothing", text)
	}
	return id, commit
}

// Members pressing on two replicas at once enter once each; the seed
// published at the draw matches the commitment and gives the winners
// announced.
func TestEntriesOnceAndADrawAnyoneCanCheck(t *testing.T) {
	a := bottest.New(t, flows(), conf(t))
	b := bottest.New(t, flows(), conf(t), a.Prefix)
	id, commit := open(t, a, "/lottery Gift box 3 2h")
	var members []string
	for i := 0; i < 30; i++ {
		members = append(members, "m"+strconv.Itoa(i))
	}
	for _, m := range members {
		a.Join(m)
	}
	a.Out.Take()
	var wg sync.WaitGroup
	for _, m := range members {
		for _, h := range []*bottest.Harness{a, b, a} {
			wg.Add(1)
			go func(h *bottest.Harness, m string) {
				defer wg.Done()
				h.Press(m, "lot:in:"+id)
			}(h, m)
		}
	}
	wg.Wait()
	entered := 0
	for _, act := range append(a.Out.Take(), b.Out.Take()...) {
		if act.Type == bot.ActAnswerPress && strings.HasPrefix(act.Text, "You are in!") {
			entered++
		}
	}
	if entered != len(members) {
		t.Errorf("%d presses entered, want %d (one each)", entered, len(members))
	}
	b.Say("m0", "lucky") // the keyword, already in: told so
	if got := b.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "in already") {
		t.Errorf("keyword after the button: %+v", got)
	}
	a.Advance(2*time.Hour + time.Minute)
	var seed string
	var winners, named []string
	for _, act := range a.Out.Take() {
		if m := seedRe.FindStringSubmatch(act.Text); m != nil {
			seed = m[1]
			line := strings.SplitN(strings.SplitN(act.Text, "winners: ", 2)[1], "\n", 2)[0]
			winners = strings.Fields(strings.ReplaceAll(line, "@", ""))
			for _, m := range act.Mentioned {
				named = append(named, m.ID)
			}
		}
	}
	// the winners are named to the platform too, so those without a
	// @username are notified by link
	if !slices.Equal(named, winners) {
		t.Errorf("the announcement names %v to the platform, want the winners %v", named, winners)
	}
	if lottery.Commit(seed) != commit {
		t.Fatalf("seed %q does not match the published commitment %s", seed, commit)
	}
	if want := lottery.Picks(seed, members, 3); strings.Join(winners, ",") != strings.Join(want, ",") {
		t.Errorf("announced %v, the seed gives %v", winners, want)
	}
	// entering after the draw is refused
	a.Press("late", "lot:in:"+id)
	if got := a.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "over") {
		t.Errorf("a late entry: %+v", got)
	}

	// a winner's two presses on two replicas: one code
	w := winners[0]
	for _, h := range []*bottest.Harness{a, b} {
		wg.Add(1)
		go func(h *bottest.Harness) { defer wg.Done(); h.Press(w, "lot:claim:"+id) }(h)
	}
	wg.Wait()
	codes := map[string]bool{}
	for _, act := range append(a.Out.Take(), b.Out.Take()...) {
		if m := regexp.MustCompile(`Your code: (C\d)`).FindStringSubmatch(act.Text); m != nil {
			codes[m[1]] = true
		}
	}
	if len(codes) != 1 {
		t.Errorf("a double claim gave codes %v, want one", codes)
	}
	// the others do not claim: after an hour the next picks get their prizes
	a.Advance(time.Hour + time.Minute)
	var redraw string
	var renamed []string
	for _, act := range a.Out.Take() {
		if strings.Contains(act.Text, "did not claim") {
			redraw = act.Text
			for _, m := range act.Mentioned {
				renamed = append(renamed, m.ID)
			}
		}
	}
	next := lottery.Picks(seed, members, 5)[3:]
	if !slices.Equal(renamed, next) {
		t.Errorf("the re-draw notifies %v, want the new winners %v", renamed, next)
	}
	for _, n := range next {
		if !strings.Contains(redraw, "@"+n) {
			t.Errorf("re-draw %q lacks %s (the next picks %v)", redraw, n, next)
		}
	}
	a.Press(winners[1], "lot:claim:"+id)
	if got := a.Out.Take(); len(got) == 0 || !strings.Contains(got[0].Text, "Too late") {
		t.Errorf("a lapsed winner's claim: %+v", got)
	}
}

func TestWhen(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, loc)
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"2h", "2026-01-05 11:00"},
		{"1d12h", "2026-01-06 21:00"},
		{"20:00", "2026-01-05 20:00"},
		{"08:30", "2026-01-06 08:30"},
		{"2026-01-10T20:00:00+08:00", "2026-01-10 20:00"},
		{"30s", ""}, {"yesterday", ""}, {"2025-01-01T00:00:00Z", ""},
	} {
		at, ok := activity.When(tc.in, now, loc)
		got := ""
		if ok {
			got = at.In(loc).Format("2006-01-02 15:04")
		}
		if got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A lottery the config schedules opens by itself and is drawn after
// draw_after.
func TestScheduledLottery(t *testing.T) {
	h := bottest.New(t, flows(), `
locale: en
flows:
  lottery:
    scheduled:
      - {name: weekly, prize: Coffee beans, winners: 1, cron: "0 12 * * *", draw_after: 2h}
`)
	h.Say("ann", "hi") // the bot learns the group
	h.Out.Take()
	h.Advance(3*time.Hour + time.Minute) // 09:00 → 12:01
	var id string
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "Coffee beans (winners: 1)") {
			for _, row := range a.Buttons {
				if m := idRe.FindStringSubmatch(row[0].Data); m != nil {
					id = m[1]
				}
			}
		}
	}
	if id == "" {
		t.Fatal("the scheduled lottery did not open")
	}
	h.Press("ann", "lot:in:"+id)
	h.Out.Take()
	h.Advance(2 * time.Hour)
	found := false
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "winners: @ann") {
			found = true
		}
	}
	if !found {
		t.Error("not drawn after draw_after")
	}
}

// Where there are no buttons: /enter and /claim by command, the code
// never said in the group.
func TestEnterAndClaimByCommand(t *testing.T) {
	h := bottest.New(t, flows(), conf(t))
	h.Out.Caps = bot.CanSend | bot.CanDM
	h.Say("mod", "/lottery Mug 1 1h")
	got := h.Out.Take()
	if len(got) != 1 || !strings.Contains(got[0].Text, "Send /enter 1 to enter") {
		t.Fatalf("opening without buttons: %+v", got)
	}
	h.Say("ann", "/enter")
	if got := h.Out.Take(); len(got) != 1 || !strings.Contains(got[0].Text, "You are in!") {
		t.Fatalf("/enter: %+v", got)
	}
	h.Advance(time.Hour + time.Minute)
	if got := h.Out.Take(); len(got) == 0 || !strings.Contains(got[0].Text, "Send /claim 1 to claim") {
		t.Fatalf("draw without buttons: %+v", got)
	}
	h.Say("ann", "/claim 1")
	var group, private string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActDM {
			private = a.Text
		} else {
			group += a.Text
		}
	}
	if !strings.Contains(private, "Your code: C") || strings.Contains(group, "C1") || !strings.Contains(group, "private messages") {
		t.Errorf("claim: group %q, private %q", group, private)
	}
}

func BenchmarkPicks(b *testing.B) {
	entries := make([]string, 100000)
	for i := range entries {
		entries[i] = strconv.Itoa(100000000 + i*37)
	}
	seed := "c0794e3aff1c9af578a611671bb888c1b14343f7cb7063fbfe9f24936098c906"
	for b.Loop() {
		lottery.Picks(seed, entries, 20)
	}
}
