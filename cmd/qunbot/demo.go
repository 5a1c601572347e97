package main

import (
	"context"
	crand "crypto/rand"
	_ "embed"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/httpapi"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/flows/dashboard"
	"github.com/qunbot/qunbot/scheduler"
)

//go:embed demo.yaml
var demoConfig []byte

// demoMember is one simulated member: which layer they live in, when they
// join, and until when they speak.
type demoMember struct {
	id, name string
	layer    string // core, active, silent, churned
	joinDay  int
	quietDay int // from this day on the member stops speaking (silent, churned)
	leaves   bool
}

// cmdDemo simulates a community through the real engine, flows and a fake
// clock into the embedded store, then serves the dashboard over it.
func cmdDemo(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	members := fs.Int("members", 500, "members of the simulated community")
	days := fs.Int("days", 90, "days simulated")
	listen := fs.String("listen", "127.0.0.1:8080", "where the dashboard is served")
	serve := fs.Bool("serve", true, "serve the dashboard after the simulation (false: print the figures and exit)")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *members < 10 || *days < 7 || *days > 400 {
		return fmt.Errorf("demo: -members at least 10, -days 7 to 400")
	}
	dir, err := os.MkdirTemp("", "qunbot-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(path, demoConfig, 0o600); err != nil {
		return err
	}
	// the demo's own store, whatever the environment says
	e.getenv = func(string) string { return "" }
	start := time.Now().AddDate(0, 0, -*days).Truncate(24 * time.Hour).Add(-8 * time.Hour) // midnight in Shanghai
	clock := bot.NewFakeClock(start)
	log := humanLogger(e.stderr, zapcore.WarnLevel)
	a, err := newApp(ctx, path, e, log, clock)
	if err != nil {
		return err
	}
	defer a.close()
	cfg := a.engine.Config()
	// the console adapter carries the flows' actions out (into nowhere)
	_, ob := a.newConsole(cfg, clock, strings.NewReader(""), io.Discard, io.Discard, false, false)
	defer ob.Close(context.Background()) //nolint:errcheck // demo
	group := "console:demo"
	sim := newDemo(*members, *days, *seed)
	fmt.Fprintf(e.stdout, "simulating %d members over %d days (real engine and flows, fake clock, embedded store)…\n", *members, *days)
	began := time.Now()
	if err := sim.run(ctx, a, ob, clock, group, func(day int) {
		if day%10 == 0 {
			fmt.Fprintf(e.stdout, "  day %d/%d\n", day, *days)
		}
	}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "simulated %d events in %s\n", sim.events, time.Since(began).Round(time.Second))
	counts := map[string]int{}
	for _, m := range sim.members {
		counts[m.layer]++
	}
	fmt.Fprintf(e.stdout, "layers as seeded: core %d, active %d, silent %d, churned %d\n", counts["core"], counts["active"], counts["silent"], counts["churned"])
	// what qunbot made of it: the last full day's record
	day := clock.Now().In(cfg.Group(group).Location).AddDate(0, 0, -1).Format("2006-01-02")
	recs, err := kpi.Read(ctx, a.store, group, day, day, clock.Now())
	if err != nil {
		return err
	}
	if len(recs) == 1 {
		v := recs[0].Values
		fmt.Fprintf(e.stdout, "recorded on %s: members %d, active that day %d, WAU %d, MAU %d; tiers core %d, active %d, silent %d, churned %d\n",
			day, v["members"], v["dau"], v["wau"], v["mau"], v["tier_core"], v["tier_active"], v["tier_silent"], v["tier_churned"])
	}
	if !*serve {
		return nil
	}
	token := make([]byte, 12)
	if _, err := crand.Read(token); err != nil {
		return err
	}
	tok := hex.EncodeToString(token)
	dash, err := dashboard.New(dashboard.Options{Store: a.store, Engine: a.engine, Token: tok, Now: clock.Now, Log: log})
	if err != nil {
		return err
	}
	srv := httpapi.New(readiness{engine: a.engine}, a.metrics.Registry, log)
	dash.Mount(srv.Mux, "/")
	if err := srv.Start(*listen); err != nil {
		return err
	}
	link, err := dash.Link(ctx, "http://"+srv.Addr(), "console:mod", []string{group})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\ndashboard: %s\n  one-time login link (10 minutes): %s\n  or log in with the operator token: %s\nCtrl-C stops.\n", "http://"+srv.Addr()+"/", link, tok)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && err != http.ErrServerClosed {
		log.Warn("dashboard shutdown", zap.Error(err))
	}
	return nil
}

type demo struct {
	rng     *rand.Rand
	days    int
	members []*demoMember
	events  int
	seq     int
}

// newDemo seeds the community: 60% of it there on day 0, the rest joining
// over the period; about 6% core, 28% active, 45% silent, 18% churned
// (the seeds' layers), a few spam waves of new accounts.
func newDemo(n, days int, seed uint64) *demo {
	d := &demo{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), days: days}
	layers := []struct {
		name  string
		share float64
	}{{"core", 0.06}, {"active", 0.28}, {"silent", 0.45}, {"churned", 0.18}}
	for i := 0; i < n; i++ {
		m := &demoMember{id: strconv.Itoa(1000 + i), name: demoName(i)}
		x := d.rng.Float64()
		for _, l := range layers {
			if x < l.share {
				m.layer = l.name
				break
			}
			x -= l.share
		}
		if m.layer == "" {
			m.layer = "active" // the 3% the shares leave: ordinary members
		}
		if d.rng.Float64() >= 0.6 {
			m.joinDay = 1 + d.rng.IntN(days-1)
		}
		switch m.layer {
		case "silent":
			// spoke for a week or three, then went quiet long enough ago
			m.quietDay = min(m.joinDay+7+d.rng.IntN(14), days-8-d.rng.IntN(20))
		case "churned":
			m.quietDay = min(m.joinDay+3+d.rng.IntN(10), days-61)
			m.leaves = d.rng.Float64() < 0.3
		default:
			m.quietDay = days + 1
		}
		if m.quietDay < m.joinDay {
			m.quietDay = m.joinDay
		}
		d.members = append(d.members, m)
	}
	return d
}

var demoSurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
var demoGiven = []string{"小咖", "拿铁", "摩卡", "美式", "豆豆", "阿豆", "晨晨", "一杯", "手冲", "冷萃"}

func demoName(i int) string {
	return string(demoSurnames[i%len(demoSurnames)]) + demoGiven[(i/len(demoSurnames))%len(demoGiven)] + strconv.Itoa(i%7)
}

var demoChat = []string{"今天试了新的耶加雪菲，花香很明显", "有人用过这款磨豆机吗？", "早上好！", "拿铁还是美式？", "周末去了一家新店，推荐",
	"手冲水温大家一般多少度？", "哈哈哈", "这个活动怎么参加？", "谢谢分享！", "求推荐入门的滤杯"}
var demoSpam = []string{"刷单兼职日结，加微信 a%d 了解", "兼职日结 300，加微信领取 v%d", "免费领咖啡券，刷单返现 %d 元"}

type demoEvent struct {
	at time.Time
	ev bot.Event
}

// run plays the days: each member's messages and check-ins at times of
// the day, joins and leaves, spam waves on a few days, and comebacks of
// some silent members after a wake-up; the scheduler runs the flows'
// schedules (wake-up scans, tier counts, reports) as the clock passes.
func (d *demo) run(ctx context.Context, a *app, ob *outbox.Outbox, clock *bot.FakeClock, group string, progress func(int)) error {
	start := clock.Now()
	chat := bot.Chat{Key: group, Type: bot.ChatGroup, Title: "咖啡爱好者社群"}
	settle := func(ctx context.Context) error {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return ob.Flush(fctx)
	}
	advance := scheduler.AdvanceTo(a.sched, clock, settle)
	spamDays := map[int]bool{d.days / 4: true, d.days / 2: true, 3 * d.days / 4: true}
	for day := 0; day < d.days; day++ {
		progress(day)
		base := start.AddDate(0, 0, day)
		var evs []demoEvent
		at := func(h0, h1 int) time.Time {
			return base.Add(time.Duration(h0)*time.Hour + time.Duration(d.rng.Int64N(int64(time.Duration(h1-h0)*time.Hour))))
		}
		for _, m := range d.members {
			mem := bot.Member{ID: m.id, Name: m.name, Username: "u" + m.id}
			if m.joinDay == day {
				evs = append(evs, demoEvent{at(8, 10), bot.Event{Kind: bot.EventJoin, Member: mem}})
			}
			if day < m.joinDay {
				continue
			}
			if m.leaves && day == m.quietDay+5 {
				evs = append(evs, demoEvent{at(20, 23), bot.Event{Kind: bot.EventLeave, Member: mem}})
			}
			talking := day < m.quietDay
			if !talking && m.layer == "silent" && day > m.quietDay+7 && d.rng.Float64() < 0.03 {
				talking = true // a comeback, often after a wake-up
			}
			if !talking || (m.leaves && day > m.quietDay+5) {
				continue
			}
			var msgs int
			checkin := false
			switch m.layer {
			case "core":
				msgs, checkin = 2+d.rng.IntN(5), d.rng.Float64() < 0.9
			case "active":
				if d.rng.Float64() < 0.45 {
					msgs, checkin = 1+d.rng.IntN(3), d.rng.Float64() < 0.5
				}
			default:
				if d.rng.Float64() < 0.3 {
					msgs = 1
				}
			}
			if checkin {
				evs = append(evs, demoEvent{at(9, 12), bot.Event{Kind: bot.EventMessage, Member: mem, Text: "签到"}})
			}
			for i := 0; i < msgs; i++ {
				evs = append(evs, demoEvent{at(9, 22), bot.Event{Kind: bot.EventMessage, Member: mem, Text: demoChat[d.rng.IntN(len(demoChat))]}})
			}
		}
		if spamDays[day] {
			// a wave: new accounts join and post variants of one template
			tpl := demoSpam[d.rng.IntN(len(demoSpam))]
			for i := 0; i < 6; i++ {
				mem := bot.Member{ID: fmt.Sprintf("9%03d%02d", day, i), Name: "用户" + strconv.Itoa(d.rng.IntN(99999))}
				t := at(14, 15)
				evs = append(evs, demoEvent{t, bot.Event{Kind: bot.EventJoin, Member: mem}},
					demoEvent{t.Add(30 * time.Second), bot.Event{Kind: bot.EventMessage, Member: mem, Text: fmt.Sprintf(tpl, d.rng.IntN(1000))}})
			}
		}
		slices.SortStableFunc(evs, func(x, y demoEvent) int { return x.at.Compare(y.at) })
		for _, de := range evs {
			if err := advance(ctx, de.at); err != nil {
				return err
			}
			d.seq++
			ev := de.ev
			ev.ID, ev.Platform, ev.Chat, ev.Time = "demo:"+strconv.Itoa(d.seq), "console", chat, clock.Now()
			if ev.Kind == bot.EventMessage {
				ev.MessageID = strconv.Itoa(d.seq)
			}
			if err := a.engine.HandleEvent(ctx, ev); err != nil {
				return fmt.Errorf("demo day %d: %w", day, err)
			}
			d.events++
		}
		if err := advance(ctx, base.AddDate(0, 0, 1)); err != nil {
			return err
		}
	}
	return settle(ctx)
}
