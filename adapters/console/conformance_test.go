package console_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/adaptertest"
	"github.com/qunbot/qunbot/adapters/console"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/platform"
)

// The console passes the same suite as the real platforms. It has no
// network, so the error cases are skipped, and it never redelivers: a
// line typed twice is two messages.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) *adaptertest.Harness {
		in, typed := io.Pipe()
		t.Cleanup(func() { typed.Close() })
		p := console.Platform()
		ad, err := p.Open(context.Background(), p.Config(), platform.Deps{
			Clock: bot.NewFakeClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)), Stdin: in, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		typedBefore := map[int]bool{}
		return &adaptertest.Harness{
			Platform: p, Adapter: ad, Group: "console:demo", Member: bot.Member{ID: "alice", Name: "alice"},
			Deliver: func(t testing.TB, n int) {
				if typedBefore[n] {
					return
				}
				typedBefore[n] = true
				if _, err := fmt.Fprintf(typed, "join m%d\nm%d: hello\n", n, n); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}
