package state_test

import (
	"context"
	"fmt"
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
	if err := s.Client().ZAdd(ctx, s.Key("g", "active"), zs...).Err(); err != nil {
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
		err := s.ScanActivity(ctx, "g", tc.from, tc.to, tc.size, func(page []state.Activity) (bool, error) {
			for _, a := range page {
				if seen[a.ID] {
					t.Fatalf("size %d: %s seen twice", tc.size, a.ID)
				}
				seen[a.ID] = true
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
