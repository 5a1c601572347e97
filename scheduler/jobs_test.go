package scheduler_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/scheduler"
)

func TestJobsRunOnceAcrossClaimers(t *testing.T) {
	ctx := context.Background()
	c1, prefix := redistest.Client(t)
	c2, _ := redistest.Client(t)
	a, b := scheduler.NewJobs(c1, prefix+"jobs"), scheduler.NewJobs(c2, prefix+"jobs")
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 200; i++ {
		if err := a.Add(ctx, scheduler.Job{ID: fmt.Sprint(i), Kind: "delete", At: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	// a job added twice is stored once
	if err := a.Add(ctx, scheduler.Job{ID: "0", Kind: "delete", At: t0}); err != nil {
		t.Fatal(err)
	}
	next, ok, err := a.Next(ctx)
	if err != nil || !ok || !next.Equal(t0) {
		t.Fatalf("Next = %v %v %v", next, ok, err)
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(q *scheduler.Jobs) {
			defer wg.Done()
			for {
				jobs, err := q.Claim(ctx, t0.Add(149*time.Second), 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					got[j.ID]++
				}
				mu.Unlock()
			}
		}([]*scheduler.Jobs{a, b}[w%2])
	}
	wg.Wait()
	if len(got) != 150 {
		t.Errorf("claimed %d distinct due jobs, want 150", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("job %s claimed %d times", id, n)
		}
	}
	if n, _ := a.Len(ctx); n != 50 {
		t.Errorf("%d jobs left, want the 50 not yet due", n)
	}
}

// A job whose claimer died before acknowledging it is claimed again once
// the claim runs out; an acknowledged one is gone; one scheduled again
// under the same id while it ran is kept.
func TestClaimsRunOut(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	q := scheduler.NewJobs(c, prefix+"{jobs}")
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for _, id := range []string{"dies", "acked", "again"} {
		if err := q.Add(ctx, scheduler.Job{ID: id, Kind: "x.y", At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := q.Claim(ctx, t0, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("claimed %v %v", got, err)
	}
	if err := q.Ack(ctx, "acked"); err != nil {
		t.Fatal(err)
	}
	if err := q.Add(ctx, scheduler.Job{ID: "again", Kind: "x.y", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	if got, _ := q.Claim(ctx, t0.Add(30*time.Second), 10); len(got) != 0 {
		t.Fatalf("claimed again while the claim holds: %v", got)
	}
	got, _ = q.Claim(ctx, t0.Add(2*time.Minute), 10)
	if len(got) != 1 || got[0].ID != "dies" {
		t.Fatalf("after the claim ran out: %v", got)
	}
	if err := q.Ack(ctx, "dies"); err != nil {
		t.Fatal(err)
	}
	got, _ = q.Claim(ctx, t0.Add(2*time.Hour), 10)
	ids := []string{}
	for _, j := range got {
		ids = append(ids, j.ID)
	}
	if fmt.Sprint(ids) != "[again]" {
		t.Fatalf("later claims: %v (the rescheduled job must be kept, the acknowledged one gone)", ids)
	}
}
