package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// meAPI answers getMe with a bot and every other method with true.
type meAPI struct{}

func (meAPI) MakeRequest(method string, _ tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	if method == "getMe" {
		return &tgbotapi.APIResponse{Ok: true, Result: json.RawMessage(`{"id":1,"is_bot":true,"username":"qunbot"}`)}, nil
	}
	return &tgbotapi.APIResponse{Ok: true, Result: json.RawMessage(`true`)}, nil
}

// counted is the engine, counting the events it handled.
type counted struct {
	*engine.Engine
	n atomic.Int64
}

func (c *counted) HandleEvent(ctx context.Context, ev bot.Event) error {
	err := c.Engine.HandleEvent(ctx, ev)
	if err == nil {
		c.n.Add(1)
	}
	return err
}

// BenchmarkWebhook: updates POSTed to the webhook (16 at a time, over 100
// chats) until each is handled: stored in the inbox, taken, handled by the
// real engine on real Redis, settled and removed. It reports updates/s and
// Redis round trips per update, the push included.
func BenchmarkWebhook(b *testing.B) {
	for _, tc := range []struct{ name, config string }{
		{"stats", "flows: { stats: {} }\n"},
		{"all-flows", "../../testdata/load/all.yaml"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, prefix := redistest.Client(b)
			hook := state.NewHook(nil)
			c.AddHook(hook)
			store := state.New(c, prefix)
			cfg := &Config{}
			cfg.SetDefaults()
			cfg.Mode, cfg.Webhook.URL, cfg.Webhook.Secret = "webhook", "https://bot.example/tg", "k"
			a := New(Options{Config: cfg, API: meAPI{}, Store: store})
			fl := flows.Builtin()
			schema := engine.Schema(fl, platform.Schemas([]platform.Platform{Platform()}))
			var qc *config.Config
			var err error
			if strings.HasSuffix(tc.config, ".yaml") {
				qc, err = config.Load(tc.config, schema)
			} else {
				qc, err = config.Parse("b.yaml", []byte(tc.config), schema)
			}
			if err != nil {
				b.Fatal(err)
			}
			eng, err := engine.New(engine.Options{Store: store, Timers: scheduler.New(scheduler.Options{Redis: c, Prefix: prefix}), Flows: fl,
				DoneBatch: 20 * time.Millisecond}, qc)
			if err != nil {
				b.Fatal(err)
			}
			eng.Attach(a, nullOutbox{})
			sink := &counted{Engine: eng}
			ctx, cancel := context.WithCancel(context.Background())
			ran := make(chan struct{})
			go func() { _ = a.Run(ctx, sink); close(ran) }()
			h := a.WebhookHandler()
			post := func(n int) {
				raw := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1767600000,"chat":{"id":-100%d,"type":"supergroup","title":"G"},"from":{"id":%d,"is_bot":false,"first_name":"M"},"text":"hello everyone, message %d"}}`, n, n, n%100, n%5000, n)
				r := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(raw))
				r.Header.Set("X-Telegram-Bot-Api-Secret-Token", "k")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Errorf("update %d: %d %s", n, w.Code, w.Body)
				}
			}
			rt0 := hook.RoundTrips()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := int(next.Add(1))
						if n > b.N {
							return
						}
						post(n)
					}
				}()
			}
			wg.Wait()
			for sink.n.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			// the last removals
			time.Sleep(50 * time.Millisecond)
			rt := hook.RoundTrips() - rt0
			cancel()
			<-ran
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
			b.ReportMetric(float64(rt)/float64(b.N), "trips/update")
		})
	}
}
