package wakeup_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/flows/wakeup"
)

// BenchmarkScan1M fills one group with members (QUNBOT_BENCH_MEMBERS,
// default 1,000,000) through the real ingest script, last active spread
// evenly over 120 days, then measures on real Redis:
//
//   - tiers: the tier counts behind /tiers
//   - cold: the first scan ever, finding every member due for a stage
//     (no daily cap, nothing marked sent) — the worst case
//   - daily: a scan a day later, after the cold scan's members were marked
//     sent: what the daily scan costs in steady state
//
// It reports Redis bytes per member and the bot's heap during a scan.
//
//	go test ./flows/wakeup -run '^$' -bench Scan1M -benchtime 3x
func BenchmarkScan1M(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("QUNBOT_BENCH_MEMBERS")); err == nil && v > 0 {
		n = v
	}
	c, prefix := redistest.Client(b)
	s := state.New(c, prefix)
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	group := "bench:g"

	before := usedMemory(b, c.Info(ctx, "memory").Val())
	const batch = 5000
	ins := make([]state.Ingest, 0, batch)
	for i := range n {
		at := now.Add(-time.Duration(i) * (120 * 24 * time.Hour / time.Duration(n)))
		ins = append(ins, state.Ingest{Group: group, Member: strconv.Itoa(100000000 + i), Name: "member " + strconv.Itoa(i),
			Username: "u" + strconv.Itoa(i), Kind: state.KindMessage, At: at})
		if len(ins) == batch || i == n-1 {
			if err := s.IngestMany(ctx, ins); err != nil {
				b.Fatal(err)
			}
			ins = ins[:0]
		}
	}
	after := usedMemory(b, c.Info(ctx, "memory").Val())
	perMember := float64(after-before) / float64(n)
	b.Logf("%d members: Redis used_memory +%.0f bytes/member (record, activity, contribution, username index)", n, perMember)

	cfg := benchConfig()
	if p, _ := s.Present(ctx, group); p != int64(n) {
		b.Fatalf("%d members present, want %d", p, n)
	}
	b.Run("tiers", func(b *testing.B) {
		for b.Loop() {
			if _, err := wakeup.TierCounts(ctx, s, group, cfg.Tiers, now); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(perMember, "redis-B/member")
	})
	b.Run("cold", func(b *testing.B) {
		var due int
		var heap uint64
		for b.Loop() {
			b.StopTimer()
			if err := c.Del(ctx, s.Key(group, "wakeup", "cursor")).Err(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			var err error
			due, err = wakeup.Scan(ctx, s, group, cfg, now, 0, func(d []wakeup.Due) error {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = max(heap, ms.HeapInuse)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(due), "due")
		b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	})
	b.Run("daily", func(b *testing.B) {
		// mark everyone due now as sent, as a real scan would
		if _, err := wakeup.ScanAndMark(ctx, s, group, cfg, now); err != nil {
			b.Fatal(err)
		}
		var due int
		for b.Loop() {
			b.StopTimer()
			// the day's scan starts from yesterday's cursors
			if err := c.Del(ctx, s.Key(group, "wakeup", "cursor")).Err(); err != nil {
				b.Fatal(err)
			}
			if _, err := wakeup.Scan(ctx, s, group, cfg, now, 0, func([]wakeup.Due) error { return nil }); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			var err error
			due, err = wakeup.Scan(ctx, s, group, cfg, now.Add(24*time.Hour), 0, func([]wakeup.Due) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(due), "due")
	})
}

func benchConfig() *wakeup.Config {
	d := func(days int) config.Duration { return config.Duration(time.Duration(days) * 24 * time.Hour) }
	return &wakeup.Config{
		Tiers:  wakeup.Tiers{Silent: d(7), Churned: d(60), CoreTop: 20, CoreMin: 1},
		Stages: []wakeup.Stage{{After: d(7)}, {After: d(14)}, {After: d(21)}, {After: d(60)}},
	}
}

func usedMemory(b *testing.B, info string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal(fmt.Errorf("no used_memory in INFO"))
	return 0
}
