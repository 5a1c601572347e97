package telegram_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/scheduler"
)

// wired is the engine, the outbox with Telegram's limits and the fake Bot
// API enforcing them: what `run` assembles, driven event by event.
type wired struct {
	e   *env
	eng *engine.Engine
	ob  *outbox.Outbox
}

func wire(b *testing.B, yaml string) *wired { return wireSender(b, yaml, nil) }

// oneByOne is the adapter without its batch deletion: the outbox sends
// every deletion on its own, as before deleteMessages.
type oneByOne struct{ a *telegram.Adapter }

func (o oneByOne) Do(ctx context.Context, a bot.Action) (bot.Result, error) { return o.a.Do(ctx, a) }

// wireSender is wire with the outbox in front of sender (nil: the adapter).
func wireSender(b *testing.B, yaml string, sender func(*telegram.Adapter) outbox.Sender) *wired {
	e := setup(b)
	e.api.enforce = true
	fl := flows.Builtin()
	cfg, err := config.Parse("b.yaml", []byte(yaml), engine.Schema(fl, platform.Schemas([]platform.Platform{telegram.Platform()})))
	if err != nil {
		b.Fatal(err)
	}
	sched := scheduler.New(scheduler.Options{Redis: e.store.Client(), Prefix: e.store.GlobalKey(""), Clock: bot.SystemClock{}})
	eng, err := engine.New(engine.Options{Store: e.store, Timers: sched, Flows: fl}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	sched.Connect(eng, eng)
	var snd outbox.Sender = e.ad
	if sender != nil {
		snd = sender(e.ad)
	}
	ob := outbox.New(snd, outbox.Options{Name: "telegram", Limits: e.cfg.Limits,
		OnSent: func(ctx context.Context, a bot.Action, r bot.Result) error {
			return eng.AfterSend(ctx, "telegram", a, r)
		}})
	eng.Attach(e.ad, ob)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_ = ob.Close(ctx)
	})
	return &wired{e: e, eng: eng, ob: ob}
}

func percentiles(ds []time.Duration) (p50, p95, max time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[len(ds)*95/100], ds[len(ds)-1]
}

// BenchmarkSpamBehindQueue: a spam message arrives while the group's
// message queue holds 50 messages (Telegram lets them out at 20/min); the
// time until its deleteMessage reaches the Bot API.
// Run: go test ./adapters/telegram -run '^$' -bench SpamBehindQueue -benchtime 1x
func BenchmarkSpamBehindQueue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		w := wire(b, "locale: en\nflows:\n  adfilter: { words: [加微信领红包] }\n")
		g := "telegram:" + group
		for m := 0; m < 50; m++ {
			_ = w.ob.Enqueue(bot.Action{Type: bot.ActSend, Chat: g, Text: fmt.Sprint("reply ", m)})
		}
		sentAt := map[string]time.Time{}
		for s := 0; s < 20; s++ {
			id := strconv.Itoa(5000 + s)
			ev := bot.Event{ID: "spam" + id, Kind: bot.EventMessage, Platform: "telegram", Chat: bot.Chat{Key: g, Type: bot.ChatGroup},
				Member: bot.Member{ID: strconv.Itoa(700 + s), Name: "spammer"}, Text: "加微信领红包 vx123456", MessageID: id, Time: time.Now()}
			sentAt[id] = time.Now()
			if err := w.eng.HandleEvent(context.Background(), ev); err != nil {
				b.Fatal(err)
			}
			time.Sleep(250 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		var lat []time.Duration
		queued := w.ob.Len()
		for _, c := range w.e.api.take() {
			for _, id := range deletedIDs([]apiCall{c}) {
				if at, ok := sentAt[id]; ok {
					lat = append(lat, c.At.Sub(at))
				}
			}
		}
		if len(lat) != 20 {
			b.Fatalf("%d of 20 spam messages deleted", len(lat))
		}
		p50, p95, max := percentiles(lat)
		b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
		b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
		b.ReportMetric(float64(max.Milliseconds()), "max-ms")
		b.ReportMetric(float64(queued), "still-queued")
	}
}

// BenchmarkJoinRaid: 500 newcomers join one group within 60s with button
// verification and raid mode (10 joins in 60s); reports the bot's messages
// into the group and the time from each join to its restriction.
// Run: go test ./adapters/telegram -run '^$' -bench JoinRaid -benchtime 1x
func BenchmarkJoinRaid(b *testing.B) {
	for i := 0; i < b.N; i++ {
		w := wire(b, "locale: en\nflows:\n  raid: { joins: 10, window: 60s, for: 10m }\n  verify: { method: button, timeout: 5m }\n  welcome: { text: hi }\n")
		g := "telegram:" + group
		joinedAt := map[string]time.Time{}
		start := time.Now()
		for j := 0; j < 500; j++ {
			id := strconv.Itoa(10000 + j)
			joinedAt[id] = time.Now()
			ev := bot.Event{ID: "join" + id, Kind: bot.EventJoin, Platform: "telegram", Chat: bot.Chat{Key: g, Type: bot.ChatGroup, Title: "G"},
				Member: bot.Member{ID: id, Name: "raider" + id}, Time: time.Now()}
			if err := w.eng.HandleEvent(context.Background(), ev); err != nil {
				b.Fatal(err)
			}
			time.Sleep(time.Until(start.Add(time.Duration(j+1) * 120 * time.Millisecond)))
		}
		time.Sleep(5 * time.Second)
		var lat []time.Duration
		messages := 0
		restricted := map[string]bool{}
		for _, c := range w.e.api.take() {
			switch c.Method {
			case "sendMessage", "sendPhoto":
				if c.Params.Get("chat_id") == group {
					messages++
				}
			case "restrictChatMember":
				id := c.Params.Get("user_id")
				if at, ok := joinedAt[id]; ok && !restricted[id] {
					restricted[id] = true
					lat = append(lat, c.At.Sub(at))
				}
			}
		}
		p50, p95, max := percentiles(lat)
		b.ReportMetric(float64(messages), "group-msgs")
		b.ReportMetric(float64(len(restricted)), "restricted")
		b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
		b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
		b.ReportMetric(float64(max.Milliseconds()), "max-ms")
	}
}

// BenchmarkSpamWave: 500 spam messages from 500 accounts reach one group
// within a second (a raid's posts); the time until the last is deleted,
// and the Bot API calls the deletions took, one by one and in batches
// (deleteMessages). The moderation limit (25/s) paces the calls.
// Run: go test ./adapters/telegram -run '^$' -bench SpamWave -benchtime 1x
func BenchmarkSpamWave(b *testing.B) {
	for _, mode := range []struct {
		name   string
		sender func(*telegram.Adapter) outbox.Sender
	}{
		{"one-by-one", func(a *telegram.Adapter) outbox.Sender { return oneByOne{a} }},
		{"batches", nil},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w := wireSender(b, "locale: en\nflows:\n  adfilter: { words: [加微信领红包] }\n", mode.sender)
				g := "telegram:" + group
				start := time.Now()
				for s := 0; s < 500; s++ {
					id := strconv.Itoa(5000 + s)
					ev := bot.Event{ID: "spam" + id, Kind: bot.EventMessage, Platform: "telegram", Chat: bot.Chat{Key: g, Type: bot.ChatGroup},
						Member: bot.Member{ID: strconv.Itoa(700 + s), Name: "spammer"}, Text: "加微信领红包 vx" + id, MessageID: id, Time: time.Now()}
					if err := w.eng.HandleEvent(context.Background(), ev); err != nil {
						b.Fatal(err)
					}
					time.Sleep(time.Until(start.Add(time.Duration(s+1) * 2 * time.Millisecond)))
				}
				deleted := map[string]bool{}
				calls := 0
				var last time.Time
				for deadline := time.Now().Add(60 * time.Second); len(deleted) < 500 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					for _, c := range w.e.api.take() {
						ids := deletedIDs([]apiCall{c})
						if len(ids) == 0 {
							continue
						}
						calls++
						for _, id := range ids {
							deleted[id] = true
						}
						last = c.At
					}
				}
				if len(deleted) != 500 {
					b.Fatalf("%d of 500 spam messages deleted in 60 s", len(deleted))
				}
				b.ReportMetric(float64(last.Sub(start).Milliseconds()), "all-deleted-ms")
				b.ReportMetric(float64(calls), "delete-calls")
			}
		})
	}
}
