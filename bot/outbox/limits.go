package outbox

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/qunbot/qunbot/bot/config"
)

// margin keeps the pace a little under the configured rate: requests
// reach the platform with some jitter, and a sliding window that counts
// exactly N would be tipped by one early arrival.
const margin = 0.98

// gate is one limit an action waits for.
type gate interface {
	// ready is when one more may go: now, or later.
	ready(now time.Time) time.Time
	// take waits until one may go, and takes it.
	take(ctx context.Context) error
}

// gates are the local limits of a rate. A pace (a window under 10 s, or
// fewer than 5 messages: 1/s, 30/s) is a bucket of one. A budget (20/1m,
// a group's) is what the platform counts — at most N in any window — and
// a pace within it: a fifth of N at once, then at most one a second
// (Telegram: "avoid sending more than one message per second in a single
// chat"), until the window is spent. So a reply with its follow-up (a
// check-in's answer and its badge, a welcome and its challenge, /help
// right after them) goes together instead of 3 s apart, 20 replies
// due at once are out in 16 s instead of a minute, and no minute holds
// more than 20.
func gates(r config.Rate) []gate {
	ps := r.PerSecond()
	if ps <= 0 {
		return nil
	}
	if !budget(r) {
		return []gate{bucket{rate.NewLimiter(rate.Limit(ps*margin), 1)}}
	}
	pace, burst := budgetPace(r)
	return []gate{newWindow(r.N, stretch(r.Per)), bucket{rate.NewLimiter(rate.Limit(pace), burst)}}
}

// budget reports whether a rate is a budget over a window rather than a
// pace.
func budget(r config.Rate) bool { return r.PerSecond() > 0 && r.Per >= 10*time.Second && r.N >= 5 }

// budgetPace is the pace within a budget: a fifth of it at once, then one
// a second, or the budget's own rate where that is faster.
func budgetPace(r config.Rate) (perSecond float64, burst int) {
	return max(1, r.PerSecond()), r.N / 5
}

// stretch is a window made longer by the margin.
func stretch(d time.Duration) time.Duration { return time.Duration(float64(d) / margin) }

// bucket is a token bucket.
type bucket struct{ *rate.Limiter }

func (b bucket) ready(now time.Time) time.Time {
	tok := b.TokensAt(now)
	if tok >= 1 {
		return now
	}
	return now.Add(time.Duration((1 - tok) / float64(b.Limit()) * float64(time.Second)))
}

func (b bucket) take(ctx context.Context) error { return b.Wait(ctx) }

// window allows n in any span of per: it remembers the last n times.
type window struct {
	mu   sync.Mutex
	n    int
	per  time.Duration
	sent []time.Time // a ring, oldest at next once full
	next int
}

func newWindow(n int, per time.Duration) *window {
	return &window{n: n, per: per, sent: make([]time.Time, 0, n)}
}

func (w *window) ready(now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.readyLocked(now)
}

func (w *window) readyLocked(now time.Time) time.Time {
	if len(w.sent) < w.n {
		return now
	}
	if t := w.sent[w.next].Add(w.per); t.After(now) {
		return t
	}
	return now
}

func (w *window) take(ctx context.Context) error {
	for {
		w.mu.Lock()
		now := time.Now()
		at := w.readyLocked(now)
		if !at.After(now) {
			if len(w.sent) < w.n {
				w.sent = append(w.sent, now)
			} else {
				w.sent[w.next] = now
				w.next = (w.next + 1) % w.n
			}
			w.mu.Unlock()
			return nil
		}
		w.mu.Unlock()
		t := time.NewTimer(at.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
