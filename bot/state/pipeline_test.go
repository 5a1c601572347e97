package state_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

// With pipelining on, concurrent ingests share round trips and each still
// gets its own answer: recorded once, its steps' results, duplicates seen
// as such — also after Redis forgot the scripts (SCRIPT FLUSH).
func TestPipelinedIngests(t *testing.T) {
	ctx := context.Background()
	c, prefix := redistest.Client(t)
	hook := state.NewHook(nil)
	c.AddHook(hook)
	s := state.New(c, prefix)
	s.Pipeline(16, 2)
	const g = "telegram:-100123"
	ck := s.Key(g, "count")
	const n = 400
	run := func(round int) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				in := state.Ingest{Group: g, UpdateID: strconv.Itoa(i), Member: strconv.Itoa(i % 40), Kind: state.KindMessage, At: t0}
				var st []state.Step
				if i%2 == 0 {
					st = []state.Step{{Fragment: counter, Keys: []string{ck}, Args: []any{1}}}
				}
				m, res, dup, err := s.IngestSteps(ctx, in, st)
				switch {
				case err != nil:
					errs <- err
				case round == 0 && (dup || m == nil || m.ID != in.Member || (i%2 == 0 && (len(res) != 1 || len(res[0]) != 1))):
					t.Errorf("ingest %d: member %+v res %v dup %v", i, m, res, dup)
				case round == 1 && !dup:
					t.Errorf("ingest %d again: not a duplicate", i)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	rt0 := hook.RoundTrips()
	run(0)
	trips := hook.RoundTrips() - rt0
	for i := 0; i < n; i++ {
		if err := s.Done(ctx, g, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	run(1)
	if v, _ := c.Get(ctx, ck).Int(); v != n/2 {
		t.Errorf("steps ran %d times, want %d", v, n/2)
	}
	var msgs int64
	for m := 0; m < 40; m++ {
		mem, err := s.Member(ctx, g, strconv.Itoa(m))
		if err != nil {
			t.Fatal(err)
		}
		msgs += mem.Messages
	}
	if msgs != n {
		t.Errorf("%d messages recorded, want %d", msgs, n)
	}
	t.Logf("%d ingests in %d round trips", n, trips)
	if trips >= n {
		t.Errorf("%d concurrent ingests took %d round trips: nothing was pipelined", n, trips)
	}
}
