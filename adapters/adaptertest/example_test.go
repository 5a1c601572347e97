package adaptertest_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/adaptertest"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/platform"
)

// A whole platform, as small as one can be: "memo" keeps its rooms in
// memory. A real adapter is the same shape with a network in between; to
// add one to qunbot, put it in a package under adapters/ and add its
// Platform() to adapters.Builtin.

// memoConfig is the platform's section under adapters.memo.
type memoConfig struct {
	Limits config.Limits `yaml:"limits"`
}

func memoPlatform() platform.Platform {
	return platform.Platform{
		Name:   "memo",
		Config: func() any { return &memoConfig{} },
		ValidChat: func(id string) error {
			if _, err := strconv.Atoi(id); err != nil {
				return errors.New("a memo room is a number")
			}
			return nil
		},
		Open: func(context.Context, any, platform.Deps) (bot.Adapter, error) {
			return &memo{updates: make(chan int, 16), sent: map[string]bool{}}, nil
		},
		Limits: func(conf any) config.Limits { return conf.(*memoConfig).Limits },
	}
}

type memo struct {
	updates chan int
	mu      sync.Mutex
	next    int
	sent    map[string]bool
	fail    adaptertest.Failure
}

func (m *memo) Name() string { return "memo" }

func (m *memo) Capabilities(string) bot.Capability {
	return bot.CanSend | bot.CanDelete | bot.CanDM | bot.SeesMessages
}

func (m *memo) Run(ctx context.Context, sink bot.EventSink) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-m.updates:
			ev := bot.Event{ID: "memo:" + strconv.Itoa(n), Kind: bot.EventMessage, Platform: "memo",
				Chat: bot.Chat{Key: "memo:1", Type: bot.ChatGroup}, Member: bot.Member{ID: "7", Name: "Ann"},
				Text: "hello", Time: time.Now()}
			if err := sink.HandleEvent(ctx, ev); err != nil {
				return fmt.Errorf("memo: %w", err)
			}
		}
	}
}

func (m *memo) Do(_ context.Context, a bot.Action) (bot.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.fail {
	case adaptertest.RateLimited:
		return bot.Result{}, &bot.RetryAfterError{After: time.Second}
	case adaptertest.ServerError:
		return bot.Result{}, fmt.Errorf("memo: %w", bot.ErrTemporary)
	case adaptertest.Unreachable:
		if a.Type == bot.ActDM {
			return bot.Result{}, fmt.Errorf("memo: %w", bot.ErrUnreachable)
		}
	}
	switch a.Type {
	case bot.ActSend, bot.ActDM:
		m.next++
		id := strconv.Itoa(m.next)
		m.sent[id] = true
		return bot.Result{MessageID: id}, nil
	case bot.ActDelete:
		if !m.sent[a.MessageID] {
			return bot.Result{}, fmt.Errorf("memo: no message %s", a.MessageID)
		}
		delete(m.sent, a.MessageID)
		return bot.Result{}, nil
	}
	return bot.Result{}, fmt.Errorf("memo: %s: %w", a.Type, bot.ErrUnsupported)
}

func TestExamplePlatform(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) *adaptertest.Harness {
		p := memoPlatform()
		ad, err := p.Open(context.Background(), p.Config(), platform.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		m := ad.(*memo)
		return &adaptertest.Harness{
			Platform: p, Adapter: ad, Group: "memo:1", Member: bot.Member{ID: "7"},
			Deliver: func(_ testing.TB, n int) { m.updates <- n },
			Fail: func(f adaptertest.Failure) {
				m.mu.Lock()
				m.fail = f
				m.mu.Unlock()
			},
		}
	})
}
