package outbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

// httpSender posts each message's text to a server: a platform in
// another process's reach.
type httpSender struct{ url string }

func (h httpSender) Do(ctx context.Context, a bot.Action) (bot.Result, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url, strings.NewReader(a.Text))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return bot.Result{}, fmt.Errorf("%w: %v", bot.ErrTemporary, err)
	}
	resp.Body.Close()
	return bot.Result{MessageID: a.Text}, nil
}

const crashChild = "QUNBOT_OUTBOX_CRASH_CHILD"

// TestCrashChild is the process that is killed: it queues a broadcast
// and sends until it dies. It runs only when TestKillDuringBroadcast
// starts it.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChild) == "" {
		t.Skip("run by TestKillDuringBroadcast")
	}
	opt, _ := redis.ParseURL(os.Getenv("QUNBOT_TEST_REDIS_URL"))
	c := redis.NewClient(opt)
	prefix, url := os.Getenv("CRASH_PREFIX"), os.Getenv("CRASH_URL")
	o := New(httpSender{url}, Options{Name: "t", Limits: config.Limits{Global: config.Rate{N: 100, Per: time.Second}, Workers: 1},
		Journal: NewJournal(c, prefix, "t", "child", time.Second)})
	for i := 0; i < 200; i++ {
		if err := o.Enqueue(bot.Action{Type: bot.ActSend, Chat: fmt.Sprint("g", i%10), Text: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Println("queued")
	select {} // until killed
}

// A process killed with SIGKILL in the middle of a broadcast: the next
// process carries out what was queued, nothing twice; at most the one
// message that was on its way when the process died can be lost.
func TestKillDuringBroadcast(t *testing.T) {
	c, prefix := redistest.Client(t)
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[string(b)]++
		mu.Unlock()
	}))
	defer srv.Close()
	received := func() (distinct, total int) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range got {
			distinct++
			total += n
		}
		return
	}
	child := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$")
	child.Env = append(os.Environ(), crashChild+"=1", "CRASH_PREFIX="+prefix, "CRASH_URL="+srv.URL, "QUNBOT_TEST_REDIS_URL="+redistest.URL())
	child.Stdout, child.Stderr = io.Discard, os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child's first 50 messages", func() bool { d, _ := received(); return d >= 50 })
	if err := child.Process.Kill(); err != nil { // SIGKILL: no shutdown, no lease released
		t.Fatal(err)
	}
	_ = child.Wait()
	atKill, _ := received()
	next := New(httpSender{srv.URL}, Options{Name: "t", Limits: config.Limits{Workers: 2},
		Journal: NewJournal(c, prefix, "t", "successor", time.Second)})
	defer next.Close(context.Background())
	// the child's lease runs out after 1s; the successor adopts then
	waitFor(t, "the rest of the broadcast", func() bool {
		d, _ := received()
		n, _ := c.HLen(context.Background(), prefix+"{outbox:t}:i:successor").Result()
		return d >= 199 && n == 0 && next.Len() == 0
	})
	time.Sleep(200 * time.Millisecond)
	distinct, total := received()
	t.Logf("killed after %d messages; %d of 200 delivered in all, %d twice", atKill, distinct, total-distinct)
	if total != distinct {
		t.Errorf("%d messages delivered twice", total-distinct)
	}
	if distinct < 199 {
		t.Errorf("%d of 200 delivered: more than the one in flight was lost", distinct)
	}
}
