package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/metrics"
	"github.com/qunbot/qunbot/bot/outbox"
)

type sent struct {
	a  bot.Action
	at time.Time
}

// fakeSender records calls; fail decides an error per call (nil = ok).
type fakeSender struct {
	mu    sync.Mutex
	calls []sent
	fail  func(a bot.Action, attempt int) error
	tries map[string]int
}

func (f *fakeSender) Do(_ context.Context, a bot.Action) (bot.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tries == nil {
		f.tries = map[string]int{}
	}
	f.tries[a.Text]++
	f.calls = append(f.calls, sent{a: a, at: time.Now()})
	if f.fail != nil {
		if err := f.fail(a, f.tries[a.Text]); err != nil {
			return bot.Result{}, err
		}
	}
	return bot.Result{MessageID: a.Text}, nil
}

func (f *fakeSender) byChat(chat string) []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sent
	for _, c := range f.calls {
		if c.a.Chat == chat {
			out = append(out, c)
		}
	}
	return out
}

func rate(s string) config.Rate {
	r, err := config.ParseRate(s)
	if err != nil {
		panic(err)
	}
	return r
}

func flush(t *testing.T, o *outbox.Outbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := o.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func send(chat, text string) bot.Action { return bot.Action{Type: bot.ActSend, Chat: chat, Text: text} }

// Sends into one chat keep their order and their spacing; another chat is
// not held up by the first one's limit.
func TestPerChatLimitAndOrder(t *testing.T) {
	f := &fakeSender{}
	o := outbox.New(f, outbox.Options{Limits: config.Limits{PerGroup: rate("10/s"), Workers: 4}})
	for i := 0; i < 5; i++ {
		for _, chat := range []string{"a", "b"} {
			if err := o.Enqueue(send(chat, fmt.Sprintf("%s%d", chat, i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	flush(t, o)
	for _, chat := range []string{"a", "b"} {
		calls := f.byChat(chat)
		if len(calls) != 5 {
			t.Fatalf("chat %s: %d sends, want 5", chat, len(calls))
		}
		for i, c := range calls {
			if c.a.Text != fmt.Sprintf("%s%d", chat, i) {
				t.Errorf("chat %s: send %d is %q: order lost", chat, i, c.a.Text)
			}
			// 10/s with a burst of 1: at least 100ms apart (a lower bound,
			// which a slow machine cannot break).
			if i > 0 && c.at.Sub(calls[i-1].at) < 95*time.Millisecond {
				t.Errorf("chat %s: sends %d and %d only %v apart", chat, i-1, i, c.at.Sub(calls[i-1].at))
			}
		}
	}
}

func TestGlobalLimit(t *testing.T) {
	f := &fakeSender{}
	o := outbox.New(f, outbox.Options{Limits: config.Limits{Global: rate("20/s"), Workers: 4}})
	start := time.Now()
	for i := 0; i < 20; i++ {
		_ = o.Enqueue(send(fmt.Sprintf("chat%d", i), fmt.Sprint(i)))
	}
	flush(t, o)
	// 20/s with a burst of 2: 20 messages need at least 0.9s.
	if el := time.Since(start); el < 850*time.Millisecond {
		t.Errorf("20 messages at 20/s took %v; the global limit was not applied", el)
	}
}

func TestRetryAfterPausesOnlyThatChat(t *testing.T) {
	f := &fakeSender{fail: func(a bot.Action, attempt int) error {
		if a.Text == "a1" && attempt == 1 {
			return &bot.RetryAfterError{After: 400 * time.Millisecond}
		}
		return nil
	}}
	o := outbox.New(f, outbox.Options{Limits: config.Limits{Workers: 2}})
	_ = o.Enqueue(send("a", "a1"))
	_ = o.Enqueue(send("a", "a2"))
	_ = o.Enqueue(send("b", "b1"))
	flush(t, o)
	a := f.byChat("a")
	b := f.byChat("b")
	if len(a) != 3 || a[1].a.Text != "a1" || a[2].a.Text != "a2" {
		t.Fatalf("chat a sends: %v", texts(a))
	}
	if gap := a[1].at.Sub(a[0].at); gap < 390*time.Millisecond {
		t.Errorf("retried after %v, want ≥ 400ms", gap)
	}
	if !b[0].at.Before(a[1].at) {
		t.Error("chat b waited for chat a's pause")
	}
}

func TestGlobalRetryAfterPausesAll(t *testing.T) {
	f := &fakeSender{fail: func(a bot.Action, attempt int) error {
		if a.Text == "a1" && attempt == 1 {
			return &bot.RetryAfterError{After: 300 * time.Millisecond, Global: true}
		}
		return nil
	}}
	o := outbox.New(f, outbox.Options{Limits: config.Limits{Workers: 1}})
	_ = o.Enqueue(send("a", "a1"))
	_ = o.Enqueue(send("b", "b1"))
	flush(t, o)
	first := f.byChat("a")[0].at
	if b := f.byChat("b"); b[0].at.Sub(first) < 290*time.Millisecond {
		t.Errorf("chat b sent %v after a global retry-after of 300ms", b[0].at.Sub(first))
	}
}

func TestErrorsAndRetries(t *testing.T) {
	tests := []struct {
		name     string
		fail     func(bot.Action, int) error
		attempts int
		result   string
	}{
		{"ok", nil, 1, "ok"},
		{"temporary then ok", func(_ bot.Action, n int) error {
			if n < 3 {
				return fmt.Errorf("502: %w", bot.ErrTemporary)
			}
			return nil
		}, 3, "ok"},
		{"temporary forever", func(bot.Action, int) error { return fmt.Errorf("timeout: %w", bot.ErrTemporary) }, 4, "failed"},
		{"permanent", func(bot.Action, int) error { return errors.New("400 Bad Request: chat not found") }, 1, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSender{fail: tt.fail}
			m := metrics.New()
			o := outbox.New(f, outbox.Options{Name: "x", MaxAttempts: 4, Backoff: 5 * time.Millisecond, Metrics: m})
			_ = o.Enqueue(send("a", "m"))
			flush(t, o)
			if f.tries["m"] != tt.attempts {
				t.Errorf("attempts = %d, want %d", f.tries["m"], tt.attempts)
			}
			if v := testutil.ToFloat64(m.ActionsOut.WithLabelValues("x", "send", tt.result)); v != 1 {
				t.Errorf("result %s counted %v times", tt.result, v)
			}
		})
	}
}

func TestUnreachableDMFallsBackToGroup(t *testing.T) {
	f := &fakeSender{fail: func(a bot.Action, _ int) error {
		if a.Type == bot.ActDM {
			return fmt.Errorf("403 Forbidden: bot can't initiate conversation: %w", bot.ErrUnreachable)
		}
		return nil
	}}
	var unreachable sync.Map
	o := outbox.New(f, outbox.Options{OnUnreachable: func(_ context.Context, a bot.Action) { unreachable.Store(a.Member.ID, a.Chat) }})
	_ = o.Enqueue(bot.Action{Type: bot.ActDM, Chat: "g", Member: bot.Member{ID: "7"}, Text: "rules", Fallback: "@alice, please read the rules"})
	flush(t, o)
	g := f.byChat("g")
	if len(g) != 2 || g[1].a.Type != bot.ActSend || g[1].a.Text != "@alice, please read the rules" {
		t.Fatalf("calls: %v", texts(g))
	}
	if chat, ok := unreachable.Load("7"); !ok || chat != "g" {
		t.Fatalf("OnUnreachable not told about member 7 of g: %v", chat)
	}
}

func TestCloseDrainsAndRefuses(t *testing.T) {
	f := &fakeSender{}
	var hooked sync.Map
	o := outbox.New(f, outbox.Options{OnSent: func(_ context.Context, a bot.Action, r bot.Result) error {
		hooked.Store(r.MessageID, true)
		return nil
	}})
	for i := 0; i < 50; i++ {
		_ = o.Enqueue(send(fmt.Sprint(i%3), fmt.Sprint(i)))
	}
	flush(t, o)
	if len(f.calls) != 50 {
		t.Fatalf("%d sent before close returned, want 50", len(f.calls))
	}
	if _, ok := hooked.Load("49"); !ok {
		t.Error("OnSent not called")
	}
	if err := o.Enqueue(send("a", "late")); !errors.Is(err, outbox.ErrClosed) {
		t.Errorf("Enqueue after Close = %v", err)
	}
}

func texts(s []sent) []string {
	var out []string
	for _, c := range s {
		out = append(out, c.a.Text)
	}
	return out
}

func BenchmarkOutboxUnlimited(b *testing.B) {
	f := &fakeSender{}
	o := outbox.New(f, outbox.Options{Limits: config.Limits{Workers: 8}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = o.Enqueue(send(fmt.Sprint(i%100), "x"))
	}
	ctx := context.Background()
	if err := o.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

func (f *fakeSender) order() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, string(c.a.Type)+":"+c.a.Text)
	}
	return out
}

// A deletion queued behind a chat's full message queue goes next, not
// after the messages; replies go before posts; order within a lane holds.
func TestLanes(t *testing.T) {
	f := &fakeSender{}
	o := outbox.New(f, outbox.Options{Name: "t", Limits: config.Limits{PerGroup: rate("10/s"), Workers: 1}})
	post := func(text string) bot.Action { a := send("g", text); a.Bulk = true; return a }
	for i := 0; i < 5; i++ {
		if err := o.Enqueue(post(fmt.Sprint("post", i))); err != nil {
			t.Fatal(err)
		}
	}
	// one event's actions arrive together (as the engine queues them), so
	// a busy machine cannot send reply1 before the deletion has arrived
	_ = o.Enqueue(send("g", "reply1"), bot.Action{Type: bot.ActDelete, Chat: "g", Text: "spam1", MessageID: "9"},
		bot.Action{Type: bot.ActRestrict, Chat: "g", Text: "spammer"}, send("g", "reply2"))
	flush(t, o)
	got := f.order()
	// post0 may already have gone when the others arrived
	if got[0] == "send:post0" {
		got = got[1:]
	}
	want := []string{"delete:spam1", "restrict:spammer", "send:reply1", "send:reply2", "send:post0", "send:post1", "send:post2", "send:post3", "send:post4"}
	if want[4] == "send:post0" && len(got) == len(want)-1 {
		want = append(want[:4], want[5:]...)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order\n got %v\nwant %v", got, want)
	}
}

// Deletions do not count against the message limits: 50 messages waiting
// at 20/min in one group do not hold back a deletion for minutes.
func TestProtectionIsNotHeldByMessageLimits(t *testing.T) {
	f := &fakeSender{}
	o := outbox.New(f, outbox.Options{Name: "t", Limits: config.Limits{Global: rate("30/s"), PerGroup: rate("20/1m"), Moderation: rate("25/s"), Workers: 4}})
	for i := 0; i < 50; i++ {
		_ = o.Enqueue(send("g", fmt.Sprint("m", i)))
	}
	start := time.Now()
	for i := 0; i < 5; i++ {
		_ = o.Enqueue(bot.Action{Type: bot.ActDelete, Chat: "g", Text: fmt.Sprint("spam", i), MessageID: fmt.Sprint(i)})
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		for _, c := range f.byChat("g") {
			if c.a.Type == bot.ActDelete {
				n++
			}
		}
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 5 deletions in 5s behind 50 messages", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("5 deletions behind 50 queued messages: %v", time.Since(start))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_ = o.Close(ctx) // the messages would take minutes; dropping them is fine here
}

// Stale actions are not sent: past their expiry, or withdrawn by key; and
// Then/Else follow the outcome.
func TestExpiryCancelAndOutcome(t *testing.T) {
	f := &fakeSender{fail: func(a bot.Action, _ int) error {
		if a.Text == "ban-fails" {
			return errors.New("Bad Request: not enough rights")
		}
		return nil
	}}
	o := outbox.New(f, outbox.Options{Name: "t", Limits: config.Limits{PerGroup: rate("2/s"), Workers: 1}})
	_ = o.Enqueue(send("g", "first")) // holds the chat's message rate
	stale := send("g", "challenge-late")
	stale.Expires = time.Now().Add(50 * time.Millisecond)
	_ = o.Enqueue(stale)
	withdrawn := send("g", "challenge-gone")
	withdrawn.Key = "challenge:g:bob"
	_ = o.Enqueue(withdrawn)
	_ = o.Enqueue(bot.Action{Type: bot.ActCancel, Key: "challenge:g:bob"})
	_ = o.Enqueue(bot.Action{Type: bot.ActBan, Chat: "g", Text: "ban-ok", Then: []bot.Action{send("g", "banned")}, Else: []bot.Action{send("g", "ban failed")}})
	_ = o.Enqueue(bot.Action{Type: bot.ActBan, Chat: "g", Text: "ban-fails", Then: []bot.Action{send("g", "banned 2")}, Else: []bot.Action{send("g", "ban 2 failed")}})
	flush(t, o)
	got := map[string]bool{}
	for _, s := range f.order() {
		got[s] = true
	}
	for s, want := range map[string]bool{
		"send:first": true, "send:challenge-late": false, "send:challenge-gone": false,
		"ban:ban-ok": true, "send:banned": true, "send:ban failed": false,
		"ban:ban-fails": true, "send:banned 2": false, "send:ban 2 failed": true,
	} {
		if got[s] != want {
			t.Errorf("%s sent = %v, want %v (all: %v)", s, got[s], want, f.order())
		}
	}
}

// A reply still queued when the message it answers is deleted is dropped.
func TestReplyToADeletedMessageIsDropped(t *testing.T) {
	f := &fakeSender{}
	o := outbox.New(f, outbox.Options{Name: "t", Limits: config.Limits{PerGroup: rate("1/s"), Workers: 1}})
	_ = o.Enqueue(send("g", "first")) // holds the chat's rate for a second
	reply := send("g", "you checked in")
	reply.ReplyTo = "42"
	_ = o.Enqueue(reply)
	_ = o.Enqueue(bot.Action{Type: bot.ActDelete, Chat: "g", MessageID: "42", Text: "spam"})
	flush(t, o)
	if got := fmt.Sprint(f.order()); strings.Contains(got, "you checked in") {
		t.Fatalf("a reply to a deleted message was sent: %s", got)
	}
}

// A group's budget (25 in 10 s here, 20 a minute on Telegram) lets a
// fifth of it go at once — a reply and its badge are not spaced apart —
// and paces the rest.
func TestBurstThenPace(t *testing.T) {
	f := &fakeSender{}
	o := outbox.New(f, outbox.Options{Name: "t", Limits: config.Limits{PerGroup: rate("25/10s"), Workers: 2}})
	for i := 0; i < 9; i++ {
		if err := o.Enqueue(send("g", fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, o)
	calls := f.byChat("g")
	if len(calls) != 9 {
		t.Fatalf("%d sends", len(calls))
	}
	// five at once (a bucket of one would space them 0.4 s apart)
	if d := calls[4].at.Sub(calls[0].at); d > 400*time.Millisecond {
		t.Errorf("the first five took %v", d)
	}
	// then the budget's own rate, 2.5/s: at least 0.4 s apart (a lower
	// bound a slow machine keeps)
	for i := 6; i < len(calls); i++ {
		if d := calls[i].at.Sub(calls[i-1].at); d < 380*time.Millisecond {
			t.Errorf("sends %d and %d only %v apart", i-1, i, d)
		}
	}
}

// batchSender also deletes in batches (Telegram's deleteMessages).
type batchSender struct {
	fakeSender
	batches [][]string
	failAll error // every batch call fails with this
	calls   int
}

func (b *batchSender) DeleteMessages(_ context.Context, chat string, ids []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.failAll != nil && b.calls == 1 {
		return b.failAll
	}
	b.batches = append(b.batches, append([]string{chat}, ids...))
	return nil
}

// Deletions queued one after another in a chat go as one call of up to
// 100 where the platform deletes in batches: 250 spam messages of a raid
// in 3 calls, in their order, each settled on its own (OnDone hears each);
// a deletion with an outcome to report, and another chat's, go apart; a
// batch the platform pauses goes back whole, in order, and is sent again.
func TestDeletionsInBatches(t *testing.T) {
	for _, pause := range []bool{false, true} {
		t.Run(fmt.Sprint("paused first: ", pause), func(t *testing.T) {
			b := &batchSender{}
			if pause {
				b.failAll = &bot.RetryAfterError{After: 50 * time.Millisecond}
			}
			var mu sync.Mutex
			done := map[string]int{}
			o := outbox.New(b, outbox.Options{Name: "t", Limits: config.Limits{Moderation: rate("25/s"), Workers: 1},
				OnDone: func(_ context.Context, a bot.Action, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						done[a.Chat]++
					}
				}})
			var acts []bot.Action
			for i := range 250 {
				acts = append(acts, bot.Action{Type: bot.ActDelete, Chat: "g", MessageID: fmt.Sprint(i), Flow: "adfilter"})
			}
			// a moderator's /del, whose "done" waits on this very deletion
			acts = append(acts, bot.Action{Type: bot.ActDelete, Chat: "g", MessageID: "999", Then: []bot.Action{send("g", "deleted")}},
				bot.Action{Type: bot.ActDelete, Chat: "h", MessageID: "7"})
			if err := o.Enqueue(acts...); err != nil {
				t.Fatal(err)
			}
			flush(t, o)
			var ids []string
			for _, batch := range b.batches {
				if batch[0] != "g" || len(batch) > 101 {
					t.Fatalf("batch %v", batch[:min(len(batch), 3)])
				}
				ids = append(ids, batch[1:]...)
			}
			if len(b.batches) != 3 || len(ids) != 250 || ids[0] != "0" || ids[249] != "249" || strings.Join(ids, ",") != strings.Join(func() []string {
				var want []string
				for i := range 250 {
					want = append(want, fmt.Sprint(i))
				}
				return want
			}(), ",") {
				t.Errorf("%d batches of %d deletions, first %v", len(b.batches), len(ids), ids[:min(len(ids), 3)])
			}
			var single []string
			for _, c := range b.fakeSender.calls {
				single = append(single, string(c.a.Type)+":"+c.a.Chat+":"+c.a.MessageID+c.a.Text)
			}
			if got := strings.Join(single, " "); got != "delete:g:999 send:g:deleted delete:h:7" && got != "delete:h:7 delete:g:999 send:g:deleted" {
				t.Errorf("one by one: %s", got)
			}
			if done["g"] != 252 || done["h"] != 1 { // 250 + /del + its reply; h's one
				t.Errorf("settled %v", done)
			}
			if want := map[bool]int{false: 3, true: 4}[pause]; b.calls != want {
				t.Errorf("%d batch calls, want %d", b.calls, want)
			}
		})
	}
}

// A platform that refuses a batch as unsupported (an older server, an
// emulator) gets each deletion on its own from then on, in order, under
// the limits; the batch is asked once.
func TestDeletionsWithoutBatches(t *testing.T) {
	b := &batchSender{failAll: fmt.Errorf("deleteMessages: 404 Not Found: %w", bot.ErrUnsupported)}
	o := outbox.New(b, outbox.Options{Name: "t", Limits: config.Limits{Moderation: rate("1000/s"), Workers: 2}})
	var acts []bot.Action
	for i := range 120 {
		acts = append(acts, bot.Action{Type: bot.ActDelete, Chat: "g", MessageID: fmt.Sprint(i)})
	}
	if err := o.Enqueue(acts...); err != nil {
		t.Fatal(err)
	}
	flush(t, o)
	var got []string
	for _, c := range b.fakeSender.calls {
		got = append(got, c.a.MessageID)
	}
	if b.calls != 1 || len(got) != 120 || got[0] != "0" || got[119] != "119" {
		t.Errorf("%d batch calls, %d single ones: %v…", b.calls, len(got), got[:min(len(got), 5)])
	}
	for i, id := range got {
		if id != fmt.Sprint(i) {
			t.Fatalf("out of order at %d: %s", i, id)
		}
	}
}
