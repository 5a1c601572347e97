package outbox

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

// recorder is a platform that notes what reached it.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Do(_ context.Context, a bot.Action) (bot.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, string(a.Type)+":"+a.Text)
	return bot.Result{MessageID: a.Text}, nil
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.got...)
	sort.Strings(out)
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// What was queued when qunbot stopped is carried out by the next start,
// once each.
func TestJournalSurvivesRestart(t *testing.T) {
	c, prefix := redistest.Client(t)
	first := &recorder{}
	slow := config.Limits{PerGroup: config.Rate{N: 1, Per: time.Hour}, Workers: 1}
	a := New(first, Options{Name: "t", Limits: slow, Journal: NewJournal(c, prefix, "t", "a", 300*time.Millisecond)})
	for i := 0; i < 5; i++ {
		if err := a.Enqueue(bot.Action{Type: bot.ActSend, Chat: "g", Text: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the first message", func() bool { return len(first.list()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); err == nil || !strings.Contains(err.Error(), "left in the journal") {
		t.Fatalf("close: %v", err)
	}
	second := &recorder{}
	b := New(second, Options{Name: "t", Limits: config.Limits{Workers: 1}, Journal: NewJournal(c, prefix, "t", "b", 300*time.Millisecond)})
	defer b.Close(context.Background())
	waitFor(t, "the rest after the restart", func() bool { return len(second.list()) == 4 })
	if got := fmt.Sprint(append(first.list(), second.list()...)); got != "[send:m0 send:m1 send:m2 send:m3 send:m4]" {
		t.Fatalf("sent %s", got)
	}
}

// A process that died (its lease ran out) leaves its actions to the
// replicas: exactly one adopts each; a message that was being sent is not
// sent again, a ban that was being carried out is.
func TestJournalAdoptedOnceAfterACrash(t *testing.T) {
	c, prefix := redistest.Client(t)
	ctx := context.Background()
	dead := NewJournal(c, prefix, "t", "dead", 200*time.Millisecond)
	if err := dead.renew(ctx); err != nil {
		t.Fatal(err)
	}
	var its []*item
	for i, a := range []bot.Action{
		{Type: bot.ActSend, Chat: "g", Text: "queued1"},
		{Type: bot.ActSend, Chat: "g", Text: "queued2"},
		{Type: bot.ActSend, Chat: "g", Text: "in-flight"},
		{Type: bot.ActBan, Chat: "g", Text: "spammer"},
	} {
		its = append(its, &item{id: fmt.Sprint("dead:", i), a: a})
	}
	if _, err := dead.put(ctx, its, ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"dead:2", "dead:3"} {
		if err := dead.markSending(ctx, id, true); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the lease runs out
	r := &recorder{}
	var obs []*Outbox
	for _, name := range []string{"b", "c", "d"} {
		obs = append(obs, New(r, Options{Name: "t", Limits: config.Limits{Workers: 2}, Journal: NewJournal(c, prefix, "t", name, 300*time.Millisecond)}))
	}
	waitFor(t, "the adopted actions", func() bool { return len(r.list()) >= 3 })
	time.Sleep(200 * time.Millisecond)
	for _, o := range obs {
		_ = o.Close(ctx)
	}
	if got := fmt.Sprint(r.list()); got != "[ban:spammer send:queued1 send:queued2]" {
		t.Fatalf("carried out %s", got)
	}
	if n, _ := c.HLen(ctx, dead.items("b")).Result(); n != 0 {
		t.Errorf("%d actions left in a journal", n)
	}
}

// An update run twice — its first run queued the reply and died before
// the update was marked done, its redelivery runs the flows again, or two
// replicas run it at once — has its actions queued once; actions without
// an origin and other updates' actions are not held back.
func TestJournalQueuesAnOriginOnce(t *testing.T) {
	c, prefix := redistest.Client(t)
	r := &recorder{}
	var obs []*Outbox
	for _, name := range []string{"a", "b"} {
		obs = append(obs, New(r, Options{Name: "t", Limits: config.Limits{Workers: 2}, Journal: NewJournal(c, prefix, "t", name, time.Second)}))
	}
	run := func(o *Outbox, update, text string) {
		t.Helper()
		err := o.Enqueue(bot.Action{Type: bot.ActSend, Chat: "g", Text: text + "-reply", Origin: "g/" + update + "#0"},
			bot.Action{Type: bot.ActSend, Chat: "g", Text: text + "-notice", Origin: "g/" + update + "#1"})
		if err != nil {
			t.Fatal(err)
		}
	}
	run(obs[0], "tg:1", "u1")
	run(obs[0], "tg:1", "u1") // the same process runs it again
	var wg sync.WaitGroup
	for _, o := range obs { // two replicas at once
		wg.Add(1)
		go func() { defer wg.Done(); run(o, "tg:2", "u2") }()
	}
	wg.Wait()
	run(obs[1], "tg:3", "u3")
	for range 2 {
		if err := obs[1].Enqueue(bot.Action{Type: bot.ActSend, Chat: "g", Text: "no-origin"}); err != nil {
			t.Fatal(err)
		}
	}
	want := "[send:no-origin send:no-origin send:u1-notice send:u1-reply send:u2-notice send:u2-reply send:u3-notice send:u3-reply]"
	waitFor(t, "the actions", func() bool { return len(r.list()) >= 8 })
	time.Sleep(100 * time.Millisecond)
	for _, o := range obs {
		_ = o.Close(context.Background())
	}
	if got := fmt.Sprint(r.list()); got != want {
		t.Fatalf("sent %s\nwant %s", got, want)
	}
}

// timed is a platform that notes when each request reached it.
type timed struct {
	mu sync.Mutex
	at []time.Time
}

func (p *timed) Do(context.Context, bot.Action) (bot.Result, error) {
	p.mu.Lock()
	p.at = append(p.at, time.Now())
	p.mu.Unlock()
	return bot.Result{MessageID: "1"}, nil
}

// Two replicas sending with one token keep the platform's global limit
// together: in no second do they send more than it allows.
func TestSharedLimitAcrossReplicas(t *testing.T) {
	c, prefix := redistest.Client(t)
	p := &timed{}
	limits := config.Limits{Global: config.Rate{N: 20, Per: time.Second}, Workers: 4}
	var obs []*Outbox
	for i := 0; i < 2; i++ {
		obs = append(obs, New(p, Options{Name: "t", Limits: limits, Shared: NewShared(c, prefix, "t")}))
	}
	for i := 0; i < 30; i++ {
		for r, o := range obs {
			if err := o.Enqueue(bot.Action{Type: bot.ActSend, Chat: fmt.Sprintf("g%d-%d", r, i), Text: "x"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, o := range obs {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := o.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.at) != 60 {
		t.Fatalf("%d of 60 sent", len(p.at))
	}
	sort.Slice(p.at, func(i, j int) bool { return p.at[i].Before(p.at[j]) })
	for i := range p.at {
		n := 0
		for j := i; j < len(p.at) && p.at[j].Sub(p.at[i]) < time.Second; j++ {
			n++
		}
		if n > 20 {
			t.Fatalf("%d requests within one second from %v: the replicas did not share the limit", n, p.at[i])
		}
	}
}
