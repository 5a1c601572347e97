package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
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
		q.Run(ctx, inbox.Options{}, func(_ context.Context, data []byte) error {
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
	done := h.run(t, runCtx, live)
	defer func() { cancel(); <-done }()
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

// Updates of one lane are handled in the order they came, one at a time,
// while other lanes go on: a lane stuck on an update (another replica
// still handling it) holds back no one else. Handled updates are removed
// only after Settle, and many at a time.
func TestLanesKeepOrderAndSettleBeforeRemoving(t *testing.T) {
	c, prefix := redistest.Client(t)
	ctx := context.Background()
	key := prefix + "{inbox}"
	q := inbox.New(c, key, "a")
	const chats, per = 20, 50
	for i := 0; i < per; i++ {
		for ch := 0; ch < chats; ch++ {
			if err := q.Push(ctx, []byte(fmt.Sprintf("c%d:%03d", ch, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := q.Push(ctx, []byte("stuck:000")); err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		last     = map[string]int{}
		busy     = map[string]bool{}
		handled  int
		settled  int
		parallel int
		maxPar   int
		stuckTry int
		release  = make(chan struct{})
	)
	handle := func(_ context.Context, data []byte) error {
		lane, n, _ := strings.Cut(string(data), ":")
		i, _ := strconv.Atoi(n)
		mu.Lock()
		if busy[lane] {
			t.Errorf("lane %s handled two updates at once", lane)
		}
		busy[lane] = true
		parallel++
		maxPar = max(maxPar, parallel)
		if lane != "stuck" && i != last[lane]+1 && !(i == 0 && last[lane] == 0) {
			t.Errorf("lane %s: %d after %d", lane, i, last[lane])
		}
		last[lane] = i
		mu.Unlock()
		var err error
		if lane == "stuck" {
			select {
			case <-release:
			default:
				stuckTry++
				err = errors.New("in flight elsewhere")
			}
		} else {
			time.Sleep(time.Millisecond) // a Redis round trip
		}
		mu.Lock()
		busy[lane] = false
		parallel--
		if err == nil {
			handled++
		}
		mu.Unlock()
		return err
	}
	settle := func(context.Context) error {
		mu.Lock()
		settled = handled
		mu.Unlock()
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		q.Run(runCtx, inbox.Options{Lane: func(d []byte) string { l, _, _ := strings.Cut(string(d), ":"); return l }, Settle: settle},
			handle, func(err error) {})
		close(done)
	}()
	waitFor := func(n int) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			mu.Lock()
			h := handled
			mu.Unlock()
			if h == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d handled", h, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(chats * per) // every other lane, while one is stuck
	close(release)
	waitFor(chats*per + 1)
	time.Sleep(50 * time.Millisecond) // its removal
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if handled != chats*per+1 || stuckTry == 0 {
		t.Fatalf("handled %d, stuck tried %d", handled, stuckTry)
	}
	if settled != handled {
		t.Errorf("settled at %d of %d handled: removed without Settle", settled, handled)
	}
	if maxPar < 4 {
		t.Errorf("at most %d lanes at once", maxPar)
	}
	if n, _ := c.LLen(ctx, key+":processing:a").Result(); n != 0 {
		t.Errorf("%d left in processing", n)
	}
	if n, _ := q.Len(ctx); n != 0 {
		t.Errorf("%d left waiting", n)
	}
}
