package tags_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/flows/tags"
)

// BenchmarkTagMemory tags 100,000 members (who have records already) and
// reports Redis' used memory per tag set: the member record's field and
// the tag set's entry.
//
//	go test ./flows/tags -run '^$' -bench TagMemory -benchtime 1x
func BenchmarkTagMemory(b *testing.B) {
	ctx := context.Background()
	c, prefix := redistest.Client(b)
	s := state.New(c, prefix)
	const g, n = "telegram:-1001", 100000
	now := time.Now()
	var ins []state.Ingest
	for i := 0; i < n; i++ {
		ins = append(ins, state.Ingest{Group: g, Member: strconv.Itoa(i), Name: "m", Kind: state.KindMessage, At: now})
	}
	if err := s.IngestMany(ctx, ins); err != nil {
		b.Fatal(err)
	}
	used := func() int64 {
		info, _ := c.Info(ctx, "memory").Result()
		m := regexp.MustCompile(`used_memory:(\d+)`).FindStringSubmatch(info)
		v, _ := strconv.ParseInt(m[1], 10, 64)
		return v
	}
	for b.Loop() {
		before := used()
		for i := 0; i < n; i++ {
			if err := tags.Add(ctx, s, g, strconv.Itoa(i), "辅食", "said: 辅食机", 90*24*time.Hour, now); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(used()-before)/n, "bytes/tag")
	}
}
