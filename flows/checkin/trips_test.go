package checkin_test

import (
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/state"
)

// A check-in costs one Redis round trip beside the message's own ingest
// (the check-in script answers the streak, the balance, the rank and
// whether last month's badges are due); the harness writes the done mark
// at once, where `run` batches it with the other updates. The group's
// first check-in of a month reads last month's board once, and a new
// badge is stored once: not counted here.
func TestCheckinRoundTrips(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: {}\n")
	var names []string
	hook := state.NewHook(func(name string, _ time.Duration) { names = append(names, name) })
	h.Redis.AddHook(hook)
	h.Say("ann", "签到") // day one: the month's first, a first badge
	h.Advance(24 * time.Hour)
	for _, tc := range []struct {
		text string
		max  int64
	}{
		{"hello", 2},      // ingest, done mark
		{"签到", 3},         // ingest, check-in, done mark
		{"/checkin", 4},   // checked in already: the same, and its answer deletes itself (the outbox stores that job)
		{"still here", 2}, // ingest, done mark
	} {
		names = nil
		before := hook.RoundTrips()
		h.Say("ann", tc.text)
		if n := hook.RoundTrips() - before; n > tc.max {
			t.Errorf("%q: %d round trips %v, want at most %d", tc.text, n, names, tc.max)
		}
	}
}
