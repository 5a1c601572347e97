package engine_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/qunbot/qunbot/bot"
)

// BenchmarkHandleMessage is the hot path: an ordinary group message through
// dedupe, member record and every flow stage, against real Redis, from
// parallel goroutines (as a webhook server would).
func BenchmarkHandleMessage(b *testing.B) {
	h := newHarness(b, "flows: {}\n", stagedFlows)
	ctx := context.Background()
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 16 goroutines on 2 cores: Redis-bound, like production
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			ev := bot.Event{
				ID: "bench" + strconv.FormatInt(i, 10), Kind: bot.EventMessage, Platform: "console",
				Chat:   bot.Chat{Key: "console:g1", Type: bot.ChatGroup},
				Member: bot.Member{ID: strconv.FormatInt(i%1000, 10), Name: "m"}, Text: "hello there", Time: t0,
			}
			if err := h.engine.HandleEvent(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
