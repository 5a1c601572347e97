package state_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/redis/go-redis/v9"
)

// The count the day records read inside scripts follows every way a
// member enters or leaves the last-active set, also under concurrent
// joins, messages and leaves of the same members.
func TestPresentCountFollowsTheSet(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100777"
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range 300 {
				kind := []state.Kind{state.KindJoin, state.KindMessage, state.KindTouch, state.KindLeave, state.KindSeen}[r.IntN(5)]
				in := state.Ingest{Group: g, UpdateID: fmt.Sprint(w, "-", i), Member: strconv.Itoa(r.IntN(60)), Kind: kind, At: t0.Add(time.Duration(i) * time.Second)}
				if _, _, err := s.Ingest(ctx, in); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, err := s.Baseline(ctx, g, []state.Present{{ID: "500"}, {ID: "501"}, {ID: "3"}}, t0); err != nil {
		t.Fatal(err)
	}
	n, err := s.Present(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := s.Client().Get(ctx, s.Key(g, "active", "n")).Int64()
	if err != nil || kept != n {
		t.Fatalf("kept count %d (%v), the buckets hold %d", kept, err, n)
	}
	ids, err := s.PresentMembers(ctx, g)
	if err != nil || int64(len(ids)) != n || !slices.Contains(ids, "500") {
		t.Fatalf("present members %d (%v), want %d with 500", len(ids), err, n)
	}
}

// The one-set layout's last-active times move into the buckets: a member
// written since (newer) keeps the newer time, an older bucket time is
// raised, the count is set, the old set is gone, and a key of another
// type under the name is left alone. Reads see the moved members.
func TestMigrateActive(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	c := s.Client()
	const g, other = "telegram:-100888", "wecom:wr1"
	var old []redis.Z
	for i := range 1234 {
		old = append(old, redis.Z{Score: float64(t0.Add(time.Duration(i) * time.Minute).UnixMilli()), Member: strconv.Itoa(i)})
	}
	if err := c.ZAdd(ctx, s.Key(g, "active"), old...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, s.Key(other, "active"), "not a set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// member 5 spoke since the upgrade (newer than the old set says);
	// member 7's bucket time is older than the old set's
	later := t0.Add(100 * 24 * time.Hour)
	if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: "5", Kind: state.KindMessage, At: later}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: "7", Kind: state.KindMessage, At: time.UnixMilli(1)}); err != nil {
		t.Fatal(err)
	}
	// joins and first words of the old layout: 20 joined in the last
	// hour, 10 of them spoke within a minute
	var joins, delays []redis.Z
	for i := range 20 {
		joins = append(joins, redis.Z{Score: float64(t0.Add(-time.Duration(i) * time.Minute).UnixMilli()), Member: strconv.Itoa(i)})
		if i%2 == 0 {
			delays = append(delays, redis.Z{Score: 30001, Member: strconv.Itoa(i)})
		}
	}
	if err := c.ZAdd(ctx, s.Key(g, "joined"), joins...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ZAdd(ctx, s.Key(g, "activated"), delays...).Err(); err != nil {
		t.Fatal(err)
	}
	// the username index of the old layout; alice was renamed since
	if err := c.HSet(ctx, s.Key(g, "usernames"), "bob", "2", "alice", "old", "carol_x", "3").Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: "1", Username: "Alice", Kind: state.KindMessage, At: later}); err != nil {
		t.Fatal(err)
	}
	moved, err := s.MigrateActive(ctx)
	if err != nil || moved != 1234+20+10+3 {
		t.Fatalf("moved %d (%v), want 1267", moved, err)
	}
	found, err := s.ByUsernames(ctx, g, "@bob", "ALICE", "carol_x", "nobody")
	if err != nil || !slices.Equal(found, []string{"2", "1", "3", ""}) {
		t.Errorf("usernames after the move: %v (%v)", found, err)
	}
	joined, spoke, err := s.Activation(ctx, g, t0.Add(-time.Hour), t0.Add(time.Second), time.Minute)
	if err != nil || joined != 20 || spoke != 10 {
		t.Errorf("activation after the move: %d joined, %d spoke (%v), want 20, 10", joined, spoke, err)
	}
	for _, k := range []string{"joined", "activated", "usernames"} {
		if n, _ := c.Exists(ctx, s.Key(g, k)).Result(); n != 0 {
			t.Errorf("the old %s set is still there", k)
		}
	}
	if n, _ := c.Exists(ctx, s.Key(g, "active")).Result(); n != 0 {
		t.Error("the old set is still there")
	}
	if v, _ := c.Get(ctx, s.Key(other, "active")).Result(); v != "not a set" {
		t.Errorf("a string under the name became %q", v)
	}
	n, err := s.Present(ctx, g)
	if err != nil || n != 1234 {
		t.Fatalf("present %d (%v), want 1234", n, err)
	}
	// 5 and 7 were counted when they spoke, the other 1,232 by the move
	if kept, _ := c.Get(ctx, s.Key(g, "active", "n")).Int64(); kept != 1234 {
		t.Errorf("kept count %d, want 1234", kept)
	}
	last, err := s.LastActive(ctx, g, "5", "7", "1233", "nobody")
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Time{later, t0.Add(7 * time.Minute), t0.Add(1233 * time.Minute), {}}
	for i := range want {
		if !last[i].Equal(want[i]) {
			t.Errorf("last active %d: %v, want %v", i, last[i], want[i])
		}
	}
	if again, err := s.MigrateActive(ctx); err != nil || again != 0 {
		t.Errorf("a second run moved %d (%v)", again, err)
	}
}

// The most recently active come first, whichever buckets they are in.
func TestRecentlyActive(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100999"
	for i := range 300 {
		if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: "u" + strconv.Itoa(i), Kind: state.KindMessage, At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := s.RecentlyActive(ctx, g, 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u299", "u298", "u297", "u296", "u295"}; !slices.Equal(ids, want) {
		t.Errorf("recent %v, want %v", ids, want)
	}
	silent, err := s.SilentSince(ctx, g, t0.Add(3*time.Second), 10)
	if err != nil || !slices.Equal(silent, []string{"u0", "u1", "u2"}) {
		t.Errorf("silent since 3s: %v (%v)", silent, err)
	}
	if n, err := s.ActiveBetween(ctx, g, t0.Add(10*time.Second), t0.Add(20*time.Second)); err != nil || n != 10 {
		t.Errorf("active in [10s, 20s): %d (%v), want 10", n, err)
	}
}

// Spread of realistic ids over the buckets: at 200,000 members of a
// group every bucket stays a listpack (≤ 256 entries, as
// RaiseListpackLimit sets it).
func TestActiveBucketsStayPacked(t *testing.T) {
	s := state.New(nil, "qb:")
	r := rand.New(rand.NewPCG(3, 4))
	count := map[string]int{}
	for range 200000 {
		count[s.ActiveKey("g", strconv.FormatInt(r.Int64N(8e9)+1e8, 10))]++
	}
	fullest := 0
	for _, n := range count {
		fullest = max(fullest, n)
	}
	if len(count) != state.BucketCount || fullest > 256 {
		t.Errorf("%d buckets used, the fullest holds %d; want all %d, at most 256", len(count), fullest, state.BucketCount)
	}
}
