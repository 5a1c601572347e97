package state_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
)

// Paging resumes after the last score seen, also when many members share
// a score across page boundaries: each member comes once.
func TestScanActivityPages(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var zs []redis.Z
	for i := range 2500 {
		// 2,500 members on five distinct times: 500 share each
		zs = append(zs, redis.Z{Score: float64(base.Add(time.Duration(i%5) * time.Hour).UnixMilli()), Member: fmt.Sprint("m", i)})
	}
	p := s.Client().Pipeline()
	for _, z := range zs {
		p.ZAdd(ctx, s.ActiveKey("g", z.Member.(string)), z)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from, to time.Time
		size     int64
		want     int
	}{
		{time.Time{}, base.Add(5 * time.Hour), 300, 2500},
		{time.Time{}, base.Add(5 * time.Hour), 7, 2500},
		{base.Add(time.Hour), base.Add(3 * time.Hour), 1000, 1000}, // [1h, 3h)
		{base.Add(time.Hour), base.Add(3 * time.Hour), 499, 1000},
		{time.Time{}, base, 100, 0},
	}
	for _, tc := range tests {
		seen := map[string]bool{}
		var prev state.Activity
		err := s.ScanActivity(ctx, "g", tc.from, tc.to, tc.size, func(page []state.Activity) (bool, error) {
			for _, a := range page {
				if seen[a.ID] {
					t.Fatalf("size %d: %s seen twice", tc.size, a.ID)
				}
				seen[a.ID] = true
				// oldest first across the buckets, ties by id
				if a.Last.Before(prev.Last) || a.Last.Equal(prev.Last) && a.ID < prev.ID {
					t.Fatalf("size %d: %s at %v after %s at %v", tc.size, a.ID, a.Last, prev.ID, prev.Last)
				}
				if a.Last.Before(tc.from) || !a.Last.Before(tc.to) {
					t.Fatalf("size %d: %s at %v outside the range", tc.size, a.ID, a.Last)
				}
				prev = a
			}
			if int64(len(page)) > tc.size {
				t.Fatalf("a page of %d, want at most %d", len(page), tc.size)
			}
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != tc.want {
			t.Errorf("[%v, %v) by %d: %d members, want %d", tc.from, tc.to, tc.size, len(seen), tc.want)
		}
	}
}

// Contributions decay with their age: equal work a half-life apart
// weighs two to one, whenever it is read.
func TestContributionDecay(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	say := func(id string, at time.Time, n int) {
		for i := range n {
			if _, _, err := s.Ingest(ctx, state.Ingest{Group: "g", UpdateID: fmt.Sprint(id, at.Unix(), i), Member: id, Kind: state.KindMessage, At: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	say("old", t0, 10)
	say("new", t0.Add(state.ContribHalfLife), 10)
	top, err := s.TopContributors(ctx, "g", 5, t0.Add(state.ContribHalfLife))
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].ID != "new" || fmt.Sprintf("%.2f/%.2f", top[0].Score, top[1].Score) != "10.00/5.00" {
		t.Fatalf("top = %+v, want new 10, old 5", top)
	}
	// leaving takes a member off the board
	if _, _, err := s.Ingest(ctx, state.Ingest{Group: "g", UpdateID: "leave", Member: "new", Kind: state.KindLeave, At: t0}); err != nil {
		t.Fatal(err)
	}
	if top, _ = s.TopContributors(ctx, "g", 5, t0); len(top) != 1 || top[0].ID != "old" {
		t.Fatalf("after leaving: %+v", top)
	}
}

// The capped set keeps the true top of a skewed stream: 60,000 increments
// over 20,000 members drawn by a Zipf law, a set of 200. The top 20 are
// the true top 20 in order, and a score overstates the true total by no
// more than the set's lowest score (Space-Saving's bound).
func TestTopIncrKeepsTheTop(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	key := s.Key("g", "top")
	incr := redis.NewScript(state.TopIncrLua + `
for i = 2, #ARGV, 2 do topincr(KEYS[1], tonumber(ARGV[i]), ARGV[i+1], tonumber(ARGV[1])) end
return redis.call('ZCARD', KEYS[1])`)
	const capacity = 200
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, 19_999)
	exact := map[string]float64{}
	args := []any{capacity}
	for i := range 60_000 {
		m, w := fmt.Sprint("m", z.Uint64()), float64(1+i%3)
		exact[m] += w
		args = append(args, w, m)
		if len(args) > 2000 || i == 59_999 {
			n, err := incr.Run(ctx, s.Client(), []string{key}, args...).Int()
			if err != nil {
				t.Fatal(err)
			}
			if n > capacity {
				t.Fatalf("%d members kept, cap %d", n, capacity)
			}
			args = args[:1]
		}
	}
	type kv struct {
		m string
		v float64
	}
	var all []kv
	for m, v := range exact {
		all = append(all, kv{m, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].m > all[j].m })
	got, err := s.Client().ZRevRangeWithScores(ctx, key, 0, 19).Result()
	if err != nil {
		t.Fatal(err)
	}
	low, err := s.Client().ZRangeWithScores(ctx, key, 0, 0).Result()
	if err != nil || len(low) != 1 {
		t.Fatal(low, err)
	}
	for i, g := range got {
		if g.Member != all[i].m || g.Score < all[i].v || g.Score > all[i].v+low[0].Score {
			t.Errorf("#%d: %v %v, exactly %v %v (lowest kept %v)", i+1, g.Member, g.Score, all[i].m, all[i].v, low[0].Score)
		}
	}
}

// A contribution set written before the cap shrinks at the next message
// (256 at a time) and to the cap at start (TrimTop); the newcomer is in.
func TestContribCapAndTrim(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	const g = "telegram:-100777"
	var zs []redis.Z
	w := state.ContribWeight(time.Now())
	for i := range state.ContribCap + 1000 {
		zs = append(zs, redis.Z{Score: float64(i+1) * w, Member: fmt.Sprint("old", i)})
	}
	if err := s.Client().ZAdd(ctx, s.ContribKey(g), zs...).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, UpdateID: "u1", Member: "new", Kind: state.KindMessage, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if n := s.Client().ZCard(ctx, s.ContribKey(g)).Val(); n != state.ContribCap+1000-256+1 {
		t.Errorf("after a message: %d members", n)
	}
	if _, err := s.Client().ZScore(ctx, s.ContribKey(g), "new").Result(); err != nil {
		t.Errorf("the newcomer is not in: %v", err)
	}
	// another family under the pattern, of another type, is left alone
	if err := s.Client().Set(ctx, s.Key("other", "contrib"), "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	n, err := s.TrimTop(ctx, "{*}:contrib", state.ContribCap, 0)
	if err != nil || n != 1 {
		t.Fatalf("trimmed %d sets: %v", n, err)
	}
	if n := s.Client().ZCard(ctx, s.ContribKey(g)).Val(); n != state.ContribCap {
		t.Errorf("after TrimTop: %d members", n)
	}
	top, err := s.TopContributors(ctx, g, 1, time.Now())
	if err != nil || len(top) != 1 || top[0].ID != fmt.Sprint("old", state.ContribCap+999) {
		t.Errorf("top %v %v", top, err)
	}
	if n, err := s.TrimTop(ctx, "{*}:contrib", state.ContribCap, 0); err != nil || n != 0 {
		t.Errorf("a second trim changed %d: %v", n, err)
	}
}
