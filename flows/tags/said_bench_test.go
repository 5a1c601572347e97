package tags

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/bottest"
)

// BenchmarkSaid matches real chat messages (the cn-chat corpus's ordinary
// ones, read in place) against 500 keyword tag rules of two keywords.
//
//	go test ./flows/tags -run '^$' -bench Said
func BenchmarkSaid(b *testing.B) {
	msgs := bottest.CorpusLines(b, "adfilter/cn-chat/ham.txt", 20000)
	cfg := &Config{}
	for i := 0; i < 500; i++ {
		cfg.Rules = append(cfg.Rules, Rule{Tag: fmt.Sprintf("t%d", i), Keywords: []string{fmt.Sprintf("话题%d", i), fmt.Sprintf("产品线%d", i)}})
	}
	cfg.matcher()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		said(cfg, msgs[i%len(msgs)])
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "µs-median")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "µs-p99")
}
