package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/scheduler"
)

type okAPI struct{}

func (okAPI) MakeRequest(string, tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	return &tgbotapi.APIResponse{Ok: true, Result: json.RawMessage(`[]`)}, nil
}

type nullOutbox struct{}

func (nullOutbox) Enqueue(...bot.Action) error { return nil }

// BenchmarkInbound: an update from JSON to a handled event — decode,
// translate, de-duplicate and record in real Redis, run the flows.
func BenchmarkInbound(b *testing.B) {
	c, prefix := redistest.Client(b)
	store := state.New(c, prefix)
	cfg := &Config{}
	cfg.SetDefaults()
	a := New(Options{Config: cfg, API: okAPI{}, Store: store})
	fl := flows.Builtin()
	qc, err := config.Parse("b.yaml", []byte("flows: { stats: {} }\n"), engine.Schema(fl, platform.Schemas([]platform.Platform{Platform()})))
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: store, Timers: scheduler.New(scheduler.Options{Redis: c, Prefix: prefix}), Flows: fl}, qc)
	if err != nil {
		b.Fatal(err)
	}
	eng.Attach(a, nullOutbox{})
	var seq atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			raw := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1767600000,"chat":{"id":-100%d,"type":"supergroup","title":"G"},"from":{"id":%d,"is_bot":false,"first_name":"M"},"text":"hello everyone, nice to meet you"}}`, n, n, n%10, n%5000)
			var u tgbotapi.Update
			if err := json.Unmarshal([]byte(raw), &u); err != nil {
				b.Fatal(err)
			}
			if err := a.deliver(ctx, eng, u, []byte(raw)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
