package telegram_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/outbox"
)

// The fake enforces Telegram's limits. The outbox paces under them and,
// should a 429 come anyway (timing on a loaded machine), waits retry_after
// and delivers everything: nothing is lost. (Whether the pace avoids 429s
// entirely is measured by BenchmarkBroadcast, not asserted here.)
func TestOutboxDeliversUnderTelegramLimits(t *testing.T) {
	e := setup(t)
	e.api.enforce = true
	ob := outbox.New(e.ad, outbox.Options{Name: "telegram", Limits: e.cfg.Limits})
	for i := 0; i < 40; i++ {
		_ = ob.Enqueue(bot.Action{Type: bot.ActSend, Chat: fmt.Sprintf("telegram:-100%d", i%20), Text: "x"})
	}
	for i := 0; i < 3; i++ {
		_ = ob.Enqueue(bot.Action{Type: bot.ActDM, Member: bot.Member{ID: "5"}, Text: "dm"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ob.Close(ctx); err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for _, c := range e.api.take() {
		if c.Method == "sendMessage" {
			delivered++
		}
	}
	if delivered-e.api.tooMany != 43 {
		t.Errorf("%d messages delivered (%d calls, %d refused with 429), want all 43", delivered-e.api.tooMany, delivered, e.api.tooMany)
	}
	t.Logf("429s: %d", e.api.tooMany)
}

// BenchmarkBroadcast: 2,000 messages to 100 groups through the outbox
// against the fake Bot API enforcing 30/s overall and 20/min per group.
// The allowed rate is 30/s; it reports the achieved share and the 429s.
// Run: go test ./adapters/telegram -run '^$' -bench Broadcast -benchtime 1x
func BenchmarkBroadcast(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := setup(b)
		e.api.enforce = true
		ob := outbox.New(e.ad, outbox.Options{Name: "telegram", Limits: e.cfg.Limits})
		start := time.Now()
		for m := 0; m < 2000; m++ {
			_ = ob.Enqueue(bot.Action{Type: bot.ActSend, Chat: fmt.Sprintf("telegram:-100%03d", m%100), Text: "weekly tips"})
		}
		drainAndReport(b, e, start, 2000, ob)
	}
}

// drainAndReport waits for the outboxes to send everything and reports
// the rate against Telegram's 30/s and the 429s the fake answered.
func drainAndReport(b *testing.B, e *env, start time.Time, n int, obs ...*outbox.Outbox) {
	for _, ob := range obs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := ob.Close(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	rate := float64(n) / time.Since(start).Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(100*rate/30, "%allowed")
	b.ReportMetric(float64(e.api.tooMany), "429s")
}

// BenchmarkBroadcastTwoReplicas: two replicas with one token, each with
// 1,000 messages for 100 groups, their limits and journals in Redis,
// against the fake Bot API enforcing 30/s overall and 20/min per group.
// Run: go test ./adapters/telegram -run '^$' -bench BroadcastTwoReplicas -benchtime 1x
func BenchmarkBroadcastTwoReplicas(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := setup(b)
		e.api.enforce = true
		var obs []*outbox.Outbox
		for r := 0; r < 2; r++ {
			ad := telegram.New(telegram.Options{Config: e.cfg, Store: e.store, Instance: fmt.Sprint("replica-", r)})
			obs = append(obs, outbox.New(ad, outbox.Options{Name: "telegram", Limits: e.cfg.Limits,
				Journal: outbox.NewJournal(e.store.Client(), e.store.GlobalKey(""), "telegram", fmt.Sprint("replica-", r), 0),
				Shared:  outbox.NewShared(e.store.Client(), e.store.GlobalKey(""), "telegram")}))
		}
		start := time.Now()
		for m := 0; m < 1000; m++ {
			for _, ob := range obs {
				_ = ob.Enqueue(bot.Action{Type: bot.ActSend, Chat: fmt.Sprintf("telegram:-100%03d", m%100), Text: "weekly tips"})
			}
		}
		drainAndReport(b, e, start, 2000, obs...)
	}
}
