package audience_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/flows/audience"
	"github.com/qunbot/qunbot/flows/tags"
	"github.com/qunbot/qunbot/flows/wakeup"
)

// BenchmarkResolve1M resolves an audience (a tag and a tier) over a group
// of 1,000,000 members: last active spread over 90 days, a fifth tagged.
//
//	go test ./flows/audience -run '^$' -bench Resolve1M -benchtime 3x
func BenchmarkResolve1M(b *testing.B) {
	ctx := context.Background()
	c, prefix := redistest.Client(b)
	s := state.New(c, prefix)
	const g, n = "telegram:-1001", 1000000
	now := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	for start := 0; start < n; start += 10000 {
		p := c.Pipeline()
		active := map[string][]redis.Z{}
		tagged := make([]redis.Z, 0, 2000)
		for i := start; i < start+10000; i++ {
			id := strconv.Itoa(i)
			k := s.ActiveKey(g, id)
			active[k] = append(active[k], redis.Z{Score: float64(now.Add(-time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).UnixMilli()), Member: id})
			if i%5 == 0 {
				tagged = append(tagged, redis.Z{Score: math.Inf(1), Member: id})
			}
		}
		for k, zs := range active {
			p.ZAdd(ctx, k, zs...)
		}
		p.ZAdd(ctx, tags.SetKey(s, g, "辅食"), tagged...)
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	tiers := wakeup.DefaultTiers()
	tiers.CoreTop = 0
	for _, c := range []struct {
		name string
		spec *audience.Spec
		list bool
	}{
		{"tag+tier/count", &audience.Spec{Tiers: []string{"silent"}, Tags: audience.TagSpec{Any: []string{"辅食"}}}, false},
		{"tag+tier/list", &audience.Spec{Tiers: []string{"silent"}, Tags: audience.TagSpec{Any: []string{"辅食"}}}, true},
		{"tier/count", &audience.Spec{Tiers: []string{"churned"}}, false},
	} {
		spec, list := c.spec, c.list
		b.Run(c.name, func(b *testing.B) {
			var got int64
			for b.Loop() {
				_, cnt, err := audience.Resolve(ctx, s, g, spec, tiers, now, list)
				if err != nil {
					b.Fatal(err)
				}
				got = cnt
			}
			b.ReportMetric(float64(got), "members")
		})
	}
}
