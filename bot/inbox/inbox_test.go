package inbox_test

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/inbox"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

// collect runs an inbox's workers into a list until stopped.
type collected struct {
	mu  sync.Mutex
	got []string
}

func (c *collected) run(t *testing.T, ctx context.Context, q *inbox.Inbox) chan struct{} {
	done := make(chan struct{})
	go func() {
		q.Run(ctx, 2, func(_ context.Context, data []byte) error {
			c.mu.Lock()
			c.got = append(c.got, string(data))
			c.mu.Unlock()
			return nil
		}, func(err error) { t.Error(err) })
		close(done)
	}()
	return done
}

func (c *collected) wait(t *testing.T, n int, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.got...)
		c.mu.Unlock()
		if len(got) >= n {
			sort.Strings(got)
			return strings.Join(got, ",")
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d handled within %v: %v", len(got), n, within, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Updates this process was handling before a restart, and those of the
// shared list older versions used, are handled again at the next start.
func TestRecoverAndRun(t *testing.T) {
	c, prefix := redistest.Client(t)
	ctx := context.Background()
	key := prefix + "{inbox}"
	q := inbox.New(c, key, "a")
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		if err := q.Push(ctx, []byte(u)); err != nil {
			t.Fatal(err)
		}
	}
	// "a" took u1 and died before handling it; an older version took u2
	if err := c.LMove(ctx, key, key+":processing:a", "RIGHT", "LEFT").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.LMove(ctx, key, key+":processing", "RIGHT", "LEFT").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Len(ctx); n != 2 {
		t.Fatalf("%d waiting", n)
	}
	restarted := inbox.New(c, key, "a")
	if n, err := restarted.Recover(ctx); err != nil || n != 2 {
		t.Fatalf("recovered %d %v", n, err)
	}
	var h collected
	runCtx, cancel := context.WithCancel(ctx)
	done := h.run(t, runCtx, restarted)
	if got := h.wait(t, 4, 3*time.Second); got != "u1,u2,u3,u4" {
		t.Fatalf("handled %v", got)
	}
	cancel()
	<-done
	if n, _ := c.LLen(ctx, key+":processing:a").Result(); n != 0 {
		t.Fatalf("%d left in processing", n)
	}
}

// A live replica takes over what a dead one was handling once the dead
// one's lease runs out, without a restart.
func TestLiveReplicaReclaimsADeadOnesWork(t *testing.T) {
	c, prefix := redistest.Client(t)
	ctx := context.Background()
	key := prefix + "{inbox}"
	dead := inbox.New(c, key, "dead")
	if _, err := dead.Recover(ctx); err != nil { // registers, takes a lease
		t.Fatal(err)
	}
	for _, u := range []string{"d1", "d2"} {
		if err := c.LPush(ctx, key+":processing:dead", u).Err(); err != nil {
			t.Fatal(err)
		}
	}
	live := inbox.New(c, key, "live")
	if _, err := live.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	var h collected
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	h.run(t, runCtx, live)
	// the dead one's lease (10s) runs out, then the live one's next renewal
	// (every 3.3s) puts its updates back in line
	if got := h.wait(t, 2, inbox.Lease+5*time.Second); got != "d1,d2" {
		t.Fatalf("handled %v", got)
	}
}

// With Redis away an update is not acknowledged: Push fails.
func TestPushFailsWithoutRedis(t *testing.T) {
	c, prefix := redistest.Client(t)
	q := inbox.New(c, prefix+"{inbox}", "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Push(ctx, []byte("x")); err == nil {
		t.Fatal("stored with a cancelled context")
	}
}
