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

// Updates a dead process was handling are handled again at the next
// start; every stored update is handled, oldest first per worker.
func TestRecoverAndRun(t *testing.T) {
	c, prefix := redistest.Client(t)
	ctx := context.Background()
	q := inbox.New(c, prefix+"{inbox}")
	for _, u := range []string{"u1", "u2", "u3"} {
		if err := q.Push(ctx, []byte(u)); err != nil {
			t.Fatal(err)
		}
	}
	// a process took u1 and died before handling it
	if err := c.LMove(ctx, prefix+"{inbox}", prefix+"{inbox}:processing", "RIGHT", "LEFT").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Len(ctx); n != 2 {
		t.Fatalf("%d waiting", n)
	}
	q2 := inbox.New(c, prefix+"{inbox}")
	if n, err := q2.Recover(ctx); err != nil || n != 1 {
		t.Fatalf("recovered %d %v", n, err)
	}
	var mu sync.Mutex
	var got []string
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		q2.Run(runCtx, 2, func(_ context.Context, data []byte) {
			mu.Lock()
			got = append(got, string(data))
			mu.Unlock()
		}, func(err error) { t.Error(err) })
		close(done)
	}()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	sort.Strings(got)
	if strings.Join(got, ",") != "u1,u2,u3" {
		t.Fatalf("handled %v", got)
	}
	if n, _ := c.LLen(ctx, prefix+"{inbox}:processing").Result(); n != 0 {
		t.Fatalf("%d left in processing", n)
	}
}

// With Redis away an update is not acknowledged: Push fails.
func TestPushFailsWithoutRedis(t *testing.T) {
	c, prefix := redistest.Client(t)
	q := inbox.New(c, prefix+"{inbox}")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := q.Push(ctx, []byte("x")); err == nil {
		t.Fatal("stored with a cancelled context")
	}
}
