package state_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

func message(g, id, member string, at time.Time) state.Ingest {
	return state.Ingest{Group: g, UpdateID: id, Member: member, Name: "m" + member, Kind: state.KindMessage, At: at}
}

// The update table stays small hashes however busy a group is: it starts
// with one hash and splits them as it fills, and every id is found again.
func TestUpdateTablesStayCompact(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	s := state.New(c, prefix)
	const g, n = "telegram:-1001", 20000
	ins := make([]state.Ingest, n)
	for i := range ins {
		ins[i] = message(g, "tg:"+strconv.Itoa(1000000+i), strconv.Itoa(i%50), t0)
	}
	if err := s.IngestMany(ctx, ins); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 777, n - 1} {
		// recorded and not done yet: found, and in the hands of its first delivery
		if _, _, err := s.Ingest(ctx, ins[i]); !errors.Is(err, state.ErrInFlight) {
			t.Fatalf("update %d again: err=%v, want in flight", i, err)
		}
	}
	keys, err := c.Keys(ctx, s.Key(g, "ud")+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, k := range keys {
		enc, _ := c.ObjectEncoding(ctx, k).Result()
		size, _ := c.HLen(ctx, k).Result()
		if enc != "listpack" || size > 128 {
			t.Errorf("%s: %s with %d ids, want listpack ≤ 128", k, enc, size)
		}
		if ttl, _ := c.PTTL(ctx, k).Result(); ttl < state.DedupeWindow*9/10 || ttl > state.DedupeWindow*26/25 {
			t.Errorf("%s expires in %v, want about the window", k, ttl)
		}
		held += int(size)
	}
	if held != n {
		t.Errorf("tables hold %d ids, want %d", held, n)
	}
	if old, _ := c.Keys(ctx, s.Key(g, "u")+":*").Result(); len(old) != 0 {
		t.Errorf("one key per update written: %v", old[:min(3, len(old))])
	}
}

// An id is remembered for the window, and forgotten (with its hashes
// gone) within a 25th more.
func TestUpdateTablesForgetAfterTheWindow(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	s := state.New(c, prefix)
	state.SetDedupeWindow(s, 2*time.Second)
	const g = "telegram:-1002"
	in := message(g, "tg:1", "7", t0)
	if _, dup, err := s.Ingest(ctx, in); err != nil || dup {
		t.Fatalf("first delivery: dup=%v err=%v", dup, err)
	}
	if err := s.Done(ctx, g, "tg:1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, dup, err := s.Ingest(ctx, in); err != nil || !dup {
		t.Fatalf("within the window: dup=%v err=%v, want a duplicate", dup, err)
	}
	time.Sleep(1500 * time.Millisecond) // past the window and a 25th of the first delivery
	if st, err := s.UpdateState(ctx, g, "tg:1"); err != nil || st != "" {
		t.Fatalf("after the window the update is %q (err %v), want forgotten", st, err)
	}
	keys, _ := c.Keys(ctx, s.Key(g, "ud")+":*").Result()
	if len(keys) != 0 {
		t.Errorf("hashes past keeping still there: %v", keys)
	}
}

// Marks of the layout before the tables ({g}:u:<id>, a key each) are
// read where they are, and moved into the tables by MigrateDedupe.
func TestMigrateDedupe(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	s := state.New(c, prefix)
	const g = "wecom:ext:wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"
	long := "bot:" + strings.Repeat("9a", 30) // stored as a digest
	old := map[string]string{
		"tg:1":  "d",                                                                    // done
		"tg:2":  "1",                                                                    // done, as marked before "d"
		"tg:3":  "p:0",                                                                  // abandoned: the next delivery takes over
		long:    "d",                                                                    //
		"tg:99": "p:" + strconv.FormatInt(time.Now().Add(-time.Minute).UnixMilli(), 10), // left by a replica that died
	}
	for id, v := range old {
		if err := c.Set(ctx, s.Key(g, "u", id), v, 20*time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// read in place, before any migration
	if _, dup, err := s.Ingest(ctx, message(g, "tg:1", "1", t0)); err != nil || !dup {
		t.Fatalf("old done mark not read: dup=%v err=%v", dup, err)
	}
	moved, err := s.MigrateDedupe(ctx)
	if err != nil || moved != len(old) {
		t.Fatalf("migrate: moved %d, err %v; want %d", moved, err, len(old))
	}
	if rest, _ := c.Keys(ctx, s.Key(g, "u")+":*").Result(); len(rest) != 0 {
		t.Fatalf("old keys left: %v", rest)
	}
	tests := []struct {
		id      string
		wantDup bool
		state   string // after this delivery
	}{
		{"tg:1", true, "d"},
		{"tg:2", true, "d"},
		{long, true, "d"},
		{"tg:3", false, "p:"}, // taken over
		{"tg:99", false, "p:"},
		{"tg:4", false, "p:"}, // new
	}
	for _, tc := range tests {
		_, dup, err := s.Ingest(ctx, message(g, tc.id, "1", t0))
		if err != nil || dup != tc.wantDup {
			t.Errorf("%s after migration: dup=%v err=%v, want dup=%v", tc.id, dup, err, tc.wantDup)
		}
		if st, _ := s.UpdateState(ctx, g, tc.id); !strings.HasPrefix(st, tc.state) || (tc.state == "p:" && st == "p:0") {
			t.Errorf("%s is %q, want %s…", tc.id, st, tc.state)
		}
	}
	again, err := s.MigrateDedupe(ctx)
	if err != nil || again != 0 {
		t.Errorf("second migration moved %d (err %v), want 0", again, err)
	}
	// a key of another kind under the old pattern is not ours to move
	c.HSet(ctx, s.Key(g, "u", "odd"), "x", "1")
	if n, err := s.MigrateDedupe(ctx); err != nil || n != 0 {
		t.Errorf("migrate with a foreign hash: moved %d err %v", n, err)
	}
	if typ, _ := c.Type(ctx, s.Key(g, "u", "odd")).Result(); typ != "hash" {
		t.Errorf("foreign key touched: now %q", typ)
	}
}

// A window after a store is made, no mark of the old layout can matter:
// lookups no longer read them.
func TestOldLayoutReadForAWindow(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	s := state.New(c, prefix)
	const g = "telegram:-1003"
	if err := c.Set(ctx, s.Key(g, "u", "tg:5"), "d", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if st, err := s.UpdateState(ctx, g, "tg:5"); err != nil || st != "d" {
		t.Fatalf("within the window: %q %v, want d", st, err)
	}
	state.ForgetOldLayout(s)
	if st, err := s.UpdateState(ctx, g, "tg:5"); err != nil || st != "" {
		t.Fatalf("after the window: %q %v, want unknown", st, err)
	}
}

// Scheduled work's done marks live in the same tables.
func TestWorkDoneMarks(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "console:g"
	if done, err := s.WorkDone(ctx, g, "timer:post:1"); err != nil || done {
		t.Fatalf("before: done=%v err=%v", done, err)
	}
	if err := s.MarkWorkDone(ctx, g, "timer:post:1"); err != nil {
		t.Fatal(err)
	}
	if done, err := s.WorkDone(ctx, g, "timer:post:1"); err != nil || !done {
		t.Fatalf("after: done=%v err=%v", done, err)
	}
	states, err := s.UpdateStates(ctx, []state.Update{{Group: g, ID: "timer:post:1"}, {Group: g, ID: "other"}})
	if err != nil || len(states) != 2 || states[0] != "d" || states[1] != "" {
		t.Fatalf("UpdateStates = %q, %v", states, err)
	}
}
