// Package adaptertest is the conformance suite every platform adapter
// passes: one set of cases, switched by the capabilities the adapter
// declares for the harness's group, so that the engine and the outbox can
// rely on the same behaviour from every platform — undeclared actions
// refused with bot.ErrUnsupported, rate limits, server failures and
// unreachable members mapped to the same errors, message ids where
// deletion is declared, events that carry an id, a kind, the platform's
// name and a chat key the platform accepts, and redeliveries that the
// engine can recognise.
//
// An adapter's own test builds a Harness against a fake of its platform
// that speaks the platform's wire format, and calls Run.
package adaptertest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/platform"
)

// Failure is a way the platform can fail the adapter's next API call.
type Failure int

// Failures the suite asks the harness's fake platform for.
const (
	// RateLimited: "too many requests, retry after N seconds".
	RateLimited Failure = iota + 1
	// ServerError: a 5xx, or the platform's "system busy".
	ServerError
	// Unreachable: a member who cannot be messaged privately.
	Unreachable
)

// Harness is an adapter wired to a fake of its platform.
type Harness struct {
	Platform platform.Platform
	Adapter  bot.Adapter
	// Group is a group chat key the fake platform knows; the suite acts in
	// it as far as the adapter declares it can.
	Group string
	// Member is a member of Group (DMs, member actions).
	Member bot.Member
	// Deliver makes the platform deliver one update concerning Group while
	// the adapter runs. The same n delivered again is the platform
	// redelivering that update.
	Deliver func(t testing.TB, n int)
	// Fail makes the fake platform answer the adapter's next API calls
	// with f (until Fail(0)). Nil for a platform with no network to fail
	// (the console): the error cases are skipped.
	Fail func(f Failure)
}

// actionCaps is the capability each action needs.
var actionCaps = []struct {
	typ bot.ActionType
	cap bot.Capability
}{
	{bot.ActSend, bot.CanSend}, {bot.ActDM, bot.CanDM}, {bot.ActDelete, bot.CanDelete},
	{bot.ActRestrict, bot.CanRestrict}, {bot.ActUnrestrict, bot.CanRestrict}, {bot.ActKick, bot.CanKick},
	{bot.ActBan, bot.CanBan}, {bot.ActUnban, bot.CanBan}, {bot.ActApprove, bot.CanApprove},
	{bot.ActDecline, bot.CanApprove}, {bot.ActPin, bot.CanPin},
}

func action(h *Harness, typ bot.ActionType) bot.Action {
	return bot.Action{Type: typ, Chat: h.Group, Member: h.Member, Text: "conformance " + string(typ),
		MessageID: "1", Until: time.Now().Add(time.Hour), Flow: "adaptertest"}
}

// Run runs every case that the adapter's declared capabilities switch on.
// newHarness is called once per case, so cases do not share state.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Run("Declares", func(t *testing.T) {
		h := newHarness(t)
		if h.Adapter.Name() != h.Platform.Name {
			t.Errorf("adapter name %q, platform name %q", h.Adapter.Name(), h.Platform.Name)
		}
		checkChatKey(t, h.Platform, h.Group)
		if !h.Adapter.Capabilities(h.Group).Has(bot.CanSend) {
			t.Errorf("%s: cannot send in the harness's group", h.Group)
		}
	})
	t.Run("UndeclaredActionsAreUnsupported", func(t *testing.T) {
		h := newHarness(t)
		caps := h.Adapter.Capabilities(h.Group)
		for _, ac := range actionCaps {
			if caps.Has(ac.cap) {
				continue
			}
			_, err := h.Adapter.Do(context.Background(), action(h, ac.typ))
			if !errors.Is(err, bot.ErrUnsupported) {
				t.Errorf("%s in %s (not declared): err = %v, want bot.ErrUnsupported", ac.typ, h.Group, err)
			}
		}
	})
	t.Run("SendsReturnMessageIDs", func(t *testing.T) {
		h := newHarness(t)
		if !h.Adapter.Capabilities(h.Group).Has(bot.CanDelete) {
			t.Skip("deletion not declared: a message id is not needed")
		}
		res, err := h.Adapter.Do(context.Background(), action(h, bot.ActSend))
		if err != nil || res.MessageID == "" {
			t.Fatalf("send: id %q, err %v", res.MessageID, err)
		}
		del := action(h, bot.ActDelete)
		del.MessageID = res.MessageID
		if _, err := h.Adapter.Do(context.Background(), del); err != nil {
			t.Errorf("delete the message just sent (%s): %v", res.MessageID, err)
		}
	})
	t.Run("ErrorsMapToTheSameErrors", func(t *testing.T) { runErrors(t, newHarness) })
	t.Run("EventsAreComplete", func(t *testing.T) {
		h := newHarness(t)
		s := run(t, h)
		h.Deliver(t, 1)
		evs := s.wait(t, 1)
		for _, ev := range evs {
			if ev.ID == "" || ev.Kind == "" || ev.Platform != h.Platform.Name || ev.Time.IsZero() {
				t.Errorf("incomplete event: id %q kind %q platform %q time %v", ev.ID, ev.Kind, ev.Platform, ev.Time)
			}
			checkChatKey(t, h.Platform, ev.Chat.Key)
			if ev.Group != "" {
				checkChatKey(t, h.Platform, ev.Group)
			}
		}
	})
	t.Run("RedeliveriesAreRecognised", func(t *testing.T) {
		h := newHarness(t)
		s := run(t, h)
		h.Deliver(t, 2)
		s.wait(t, 1)
		// all the first delivery yields (an update may become several
		// events, not all at once on a busy machine)
		time.Sleep(200 * time.Millisecond)
		s.mu.Lock()
		first := append([]bot.Event(nil), s.events...)
		s.mu.Unlock()
		h.Deliver(t, 2)
		// a second delivery either yields nothing or events with the same
		// ids, which the engine handles once
		time.Sleep(200 * time.Millisecond)
		s.mu.Lock()
		defer s.mu.Unlock()
		seen := map[string]bool{}
		for _, ev := range first {
			seen[ev.ID] = true
		}
		for _, ev := range s.events[len(first):] {
			if !seen[ev.ID] {
				t.Errorf("redelivered update became a new event %q (%s): the engine would handle it twice", ev.ID, ev.Kind)
			}
		}
	})
}

func runErrors(t *testing.T, newHarness func(t *testing.T) *Harness) {
	tests := []struct {
		name    string
		failure Failure
		act     bot.ActionType
		need    bot.Capability
		check   func(err error) bool
	}{
		{"rate limited", RateLimited, bot.ActSend, bot.CanSend, func(err error) bool {
			var ra *bot.RetryAfterError
			return errors.As(err, &ra) && ra.After > 0
		}},
		{"server error", ServerError, bot.ActSend, bot.CanSend, func(err error) bool { return errors.Is(err, bot.ErrTemporary) }},
		{"unreachable member", Unreachable, bot.ActDM, bot.CanDM, func(err error) bool { return errors.Is(err, bot.ErrUnreachable) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if h.Fail == nil {
				t.Skip("the platform has no network to fail")
			}
			if !h.Adapter.Capabilities(h.Group).Has(tt.need) {
				t.Skipf("%s not declared", tt.act)
			}
			h.Fail(tt.failure)
			defer h.Fail(0)
			_, err := h.Adapter.Do(context.Background(), action(h, tt.act))
			if !tt.check(err) {
				t.Errorf("%s: err = %v", tt.name, err)
			}
		})
	}
}

func checkChatKey(t testing.TB, p platform.Platform, key string) {
	t.Helper()
	name, id, ok := strings.Cut(key, ":")
	if !ok || name != p.Name {
		t.Errorf("chat key %q is not %s:<id>", key, p.Name)
		return
	}
	if err := p.ValidChat(id); err != nil {
		t.Errorf("chat key %q is refused by the platform's own grammar: %v", key, err)
	}
}

// sink records the events an adapter delivers.
type sink struct {
	mu     sync.Mutex
	events []bot.Event
}

func (s *sink) HandleEvent(_ context.Context, ev bot.Event) error {
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
	return nil
}

// wait returns the events once at least n have arrived.
func (s *sink) wait(t testing.TB, n int) []bot.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		if len(s.events) >= n {
			out := append([]bot.Event(nil), s.events...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d events in 10s", n)
	return nil
}

// run starts the adapter with a recording sink until the test ends.
func run(t *testing.T, h *Harness) *sink {
	s := &sink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.Adapter.Run(ctx, s); err != nil && ctx.Err() == nil {
			t.Errorf("adapter stopped: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("adapter did not stop within 5s of its context ending")
		}
	})
	return s
}
