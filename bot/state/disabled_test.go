package state_test

import (
	"context"
	"slices"
	"testing"

	"github.com/qunbot/qunbot/bot/state"
)

// Turned-off commands read alike through Disabled and through the ingest's
// step, and only in their group.
func TestDisabled(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g, other = "telegram:-1001", "telegram:-1002"
	if n, err := s.SetDisabled(ctx, g, true, "rank", "points", "rank"); err != nil || n != 2 {
		t.Fatalf("disable: %d, %v", n, err)
	}
	if n, _ := s.SetDisabled(ctx, g, false, "points", "nosuch"); n != 1 {
		t.Errorf("enable: %d changed, want 1", n)
	}
	if got, _ := s.DisabledCommands(ctx, g); !slices.Equal(got, []string{"rank"}) {
		t.Errorf("disabled commands: %v", got)
	}
	for i, tt := range []struct {
		group, cmd string
		want       bool
	}{{g, "rank", true}, {g, "points", false}, {other, "rank", false}} {
		off, err := s.Disabled(ctx, tt.group, tt.cmd)
		if err != nil || off != tt.want {
			t.Errorf("Disabled(%s, %s) = %v, %v", tt.group, tt.cmd, off, err)
		}
		_, res, _, err := s.IngestSteps(ctx, state.Ingest{Group: tt.group, Member: "m", Name: "m", Kind: state.KindMessage, At: t0,
			UpdateID: "u" + string(rune('0'+i))}, []state.Step{*s.DisabledStep(tt.group, tt.cmd)})
		if err != nil || len(res) != 1 || (res[0][0] == 1) != tt.want {
			t.Errorf("step %s %s: %v, %v", tt.group, tt.cmd, res, err)
		}
	}
}
