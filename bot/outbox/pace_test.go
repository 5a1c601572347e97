package outbox

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

// A pace is one bucket of one; a budget is a window of N and a pace of a
// fifth of N at once, then one a second (or the budget's rate if faster).
func TestGates(t *testing.T) {
	type want struct {
		window    int           // 0: no window
		span      time.Duration // the window's, stretched by the margin
		perSecond float64       // the bucket's
		burst     int
	}
	tests := []struct {
		limit config.Rate
		want  *want
	}{
		{config.Rate{N: 20, Per: time.Minute}, &want{20, stretch(time.Minute), 1, 4}}, // Telegram's and WeCom's groups
		{config.Rate{N: 120, Per: time.Minute}, &want{120, stretch(time.Minute), 2, 24}},
		{config.Rate{N: 25, Per: 10 * time.Second}, &want{25, stretch(10 * time.Second), 2.5, 5}},
		{config.Rate{N: 1, Per: time.Second}, &want{0, 0, margin, 1}}, // paces
		{config.Rate{N: 30, Per: time.Second}, &want{0, 0, 30 * margin, 1}},
		{config.Rate{N: 20, Per: 5 * time.Second}, &want{0, 0, 4 * margin, 1}},
		{config.Rate{N: 4, Per: time.Minute}, &want{0, 0, 4.0 / 60 * margin, 1}}, // too few to spare
		{config.Rate{}, nil}, // unlimited
	}
	for _, tt := range tests {
		gs := gates(tt.limit)
		if tt.want == nil {
			if len(gs) != 0 {
				t.Errorf("%d/%v: %d gates for no limit", tt.limit.N, tt.limit.Per, len(gs))
			}
			continue
		}
		var got want
		for _, g := range gs {
			switch g := g.(type) {
			case *window:
				got.window, got.span = g.n, g.per
			case bucket:
				got.perSecond, got.burst = float64(g.Limit()), g.Burst()
			}
		}
		if d := got.perSecond - tt.want.perSecond; got.window != tt.want.window || got.span != tt.want.span || d > 1e-9 || d < -1e-9 || got.burst != tt.want.burst {
			t.Errorf("%d/%v: %+v, want %+v", tt.limit.N, tt.limit.Per, got, *tt.want)
		}
	}
}

// A window lets n through at once and then one more as each leaves the
// span: never more than n in it.
func TestWindowGate(t *testing.T) {
	const n, span = 3, 200 * time.Millisecond
	w := newWindow(n, span)
	var at []time.Time
	start := time.Now()
	for range 8 {
		if err := w.take(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, time.Now())
	}
	if d := at[n-1].Sub(start); d > span/2 {
		t.Errorf("the first %d took %v", n, d)
	}
	for i := n; i < len(at); i++ {
		if d := at[i].Sub(at[i-n]); d < span {
			t.Errorf("%d within %v (%d and %d)", n+1, d, i-n, i)
		}
	}
	full := newWindow(n, span)
	for range n {
		_ = full.take(context.Background())
	}
	if now := time.Now(); !full.ready(now).After(now) {
		t.Errorf("a full window is ready at once")
	}
}

// The shared cells keep a budget across replicas: a burst at once, then
// the pace, and never more than the window's n in its span.
func TestSharedBudget(t *testing.T) {
	c, prefix := redistest.Client(t)
	replicas := []*Shared{NewShared(c, prefix, "t"), NewShared(c, prefix, "t")}
	const iv, burst, n, span = 50 * time.Millisecond, 2, 5, 300 * time.Millisecond
	limits := map[string]cell{"chat:g": {iv: iv, n: burst}, "chat:g:w": {window: true, iv: span, n: n}}
	// Redis decides each slot at its own time, somewhere between the
	// call and its answer: slot i is taken in [before[i], at[i]]
	var at, before []time.Time
	start := time.Now()
	for i := 0; time.Since(start) < 1200*time.Millisecond; i++ {
		asked := time.Now()
		wait, _, err := replicas[i%2].take(context.Background(), limits, []string{"chat:g"})
		if err != nil {
			t.Fatal(err)
		}
		if wait > 0 {
			time.Sleep(wait)
			continue
		}
		at, before = append(at, time.Now()), append(before, asked)
	}
	if len(at) < n+1 {
		t.Fatalf("%d slots", len(at))
	}
	if d := at[burst-1].Sub(at[0]); d > iv/2 {
		t.Errorf("the first %d slots took %v: the burst was not let through", burst, d)
	}
	if d := at[burst].Sub(at[0]); d < iv*3/4 {
		t.Errorf("slot %d only %v after the first: past the burst, the pace did not hold", burst+1, d)
	}
	// the longest the n+1 slots can have been apart: shorter than the
	// span is a window that let n+1 through, whatever the round trips
	// took (measured from the answers alone, a slow answer to slot i-n on
	// a busy machine made 299.7 ms of a correct 300)
	for i := n; i < len(at); i++ {
		if d := at[i].Sub(before[i-n]); d < span {
			t.Errorf("%d slots within %v", n+1, d)
		}
	}
}

// With Redis away the shared limits cannot be read: a group's messages
// still go, under this process's own budget (a burst, then the pace).
func TestBudgetWithoutRedis(t *testing.T) {
	gone := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	defer gone.Close()
	p := &timed{}
	o := New(p, Options{Name: "t", Limits: config.Limits{PerGroup: config.Rate{N: 25, Per: 10 * time.Second}, Workers: 2},
		Shared: NewShared(gone, "qb:", "t")})
	for range 7 {
		if err := o.Enqueue(bot.Action{Type: bot.ActSend, Chat: "g", Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.at) != 7 {
		t.Fatalf("%d of 7 sent", len(p.at))
	}
	sort.Slice(p.at, func(i, j int) bool { return p.at[i].Before(p.at[j]) })
	// five at once, then 2.5/s: the sixth and seventh at least 0.38 s apart
	if d := p.at[6].Sub(p.at[5]); d < 380*time.Millisecond {
		t.Errorf("past the burst, sends only %v apart: no local pace", d)
	}
}
