package answers

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/bottest"
)

// BenchmarkFind matches real chat messages (the cn-chat corpus's ordinary
// messages, read in place) against 2,000 rules: 1,500 keyword rules of two
// keywords each and 500 similar-question rules of two examples each.
// Reported: the median and p99 per message.
//
//	go test ./flows/answers -run '^$' -bench Find
func BenchmarkFind(b *testing.B) {
	msgs := bottest.CorpusLines(b, "adfilter/cn-chat/ham.txt", 20000)
	cfg := &Config{}
	cfg.SetDefaults()
	for i := 0; i < 1500; i++ {
		cfg.Rules = append(cfg.Rules, Rule{Keywords: []string{fmt.Sprintf("产品%d号怎么用", i), fmt.Sprintf("型号%d", i)}})
	}
	for i := 0; i < 500; i++ {
		cfg.Rules = append(cfg.Rules, Rule{Similar: []string{fmt.Sprintf("第%d期活动怎么报名参加", i), fmt.Sprintf("请问%d号礼包在哪里领取", i)}})
	}
	cfg.Validate(func(string, string) {})
	cfg.compiled()
	lat := make([]time.Duration, 0, b.N)
	hits := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		hits += len(Find(cfg, nil, msgs[i%len(msgs)], "", false))
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "µs-median")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "µs-p99")
	_ = hits
}
