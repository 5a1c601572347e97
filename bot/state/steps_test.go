package state_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/state"
)

// counter is a fragment that counts the updates it ran for.
var counter = &state.Fragment{Name: "test.counter", Lua: `
return {redis.call('INCRBY', KEYS[1], ARGV[1])}
`}

var stamp = &state.Fragment{Name: "test.stamp", Lua: `
redis.call('SET', KEYS[1], ARGV[1])
return {tonumber(ARGV[1]), 7}
`}

func TestIngestStepsRunOnceWithTheRecord(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100123"
	ck, sk := s.Key(g, "count"), s.Key(g, "stamp")
	steps := func() []state.Step {
		return []state.Step{{Fragment: counter, Keys: []string{ck}, Args: []any{2}}, {Fragment: stamp, Keys: []string{sk}, Args: []any{41}}}
	}
	in := state.Ingest{Group: g, UpdateID: "u1", Member: "7", Name: "Ann", Kind: state.KindMessage, At: t0, Lease: time.Second}

	m, res, dup, err := s.IngestSteps(ctx, in, steps())
	if err != nil || dup || m == nil || m.Messages != 1 {
		t.Fatalf("first delivery: member %+v dup %v err %v", m, dup, err)
	}
	if len(res) != 2 || len(res[0]) != 1 || res[0][0] != 2 || len(res[1]) != 2 || res[1][0] != 41 || res[1][1] != 7 {
		t.Fatalf("results %v, want [[2] [41 7]]", res)
	}

	// a concurrent redelivery: in flight, nothing written
	if _, _, _, err := s.IngestSteps(ctx, in, steps()); !errors.Is(err, state.ErrInFlight) {
		t.Fatalf("redelivery while in flight: %v, want ErrInFlight", err)
	}
	// the first handler died; after its lease the next one takes over
	// without counting again
	time.Sleep(1100 * time.Millisecond)
	m, res, dup, err = s.IngestSteps(ctx, in, steps())
	if err != nil || dup || m == nil || m.Messages != 1 {
		t.Fatalf("takeover: member %+v dup %v err %v", m, dup, err)
	}
	if res != nil {
		t.Errorf("takeover ran the steps again: %v", res)
	}
	if err := s.Done(ctx, g, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, res, dup, err = s.IngestSteps(ctx, in, steps()); err != nil || !dup || res != nil {
		t.Fatalf("done update: dup %v res %v err %v", dup, res, err)
	}
	// without de-duplication every call records and runs its steps
	in.UpdateID = ""
	if _, res, _, err = s.IngestSteps(ctx, in, steps()[:1]); err != nil || len(res) != 1 || res[0][0] != 4 {
		t.Fatalf("no update id: res %v err %v", res, err)
	}
	n, err := s.Client().Get(ctx, ck).Int()
	if err != nil || n != 4 {
		t.Errorf("counter %d (%v), want 4: each recorded update counted once", n, err)
	}
}

// TestIngestStepsRefusesBadShape: a composed script called with its
// arguments out of place writes nothing and answers an error (a loop over
// a garbage count would hold Redis until it is shut down).
func TestIngestStepsRefusesBadShape(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100123"
	st := []state.Step{{Fragment: counter, Keys: []string{s.Key(g, "count")}, Args: []any{1}}}
	in := state.Ingest{Group: g, UpdateID: "u1", Member: "7", Kind: state.KindMessage, At: t0}
	if _, _, _, err := s.IngestSteps(ctx, in, st); err != nil {
		t.Fatal(err)
	}
	// the same script, by hand, with the step's counts wrong
	calls := [][]any{
		{"0", 1000, "msg", "n", "", "0", "8", "", 15000, 5, 1, 1, 1},        // five steps of one fragment
		{"0", 1000, "msg", "n", "", "0", "8", "", 15000, 1, 3, 1, 1},        // three keys where one is
		{"0", 1000, "msg", "n", "", "0", "8", "", 15000, 1, 1, 99999999, 1}, // arguments past the end
		{"0", 1000, "msg", "n", "", "0", "8", "", 15000, "1e9", 1, 1, 1},    // a huge count
		{"0", 1000, "msg", "n", "", "0", "8", "", 15000, 1, "x", "y", 1},    // not numbers
	}
	for i, args := range calls {
		keys := []string{s.Key(g, "u", "bad"+string(rune('a'+i))), s.RecordKey(g, "8"), s.ActiveKey(g, "8"), s.Key(g, "joined"), s.Key(g, "activated"), s.Key(g, "usernames"), s.ContribKey(g), s.Key(g, "active", "n"), s.Key(g, "count")}
		err := state.StepScript(s, st).Run(ctx, s.Client(), keys, args...).Err()
		if err == nil || !strings.Contains(err.Error(), "ingest: bad step") {
			t.Errorf("call %d: %v, want a bad-step error", i, err)
		}
	}
	if ok, _ := s.Client().HExists(ctx, s.RecordKey(g, "8"), "8").Result(); ok {
		t.Errorf("a refused call recorded its member")
	}
}

// A join is no activity: "active since" counts members who spoke, not
// newcomers who only joined.
func TestJoinAloneIsNotActive(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100123"
	for i, in := range []state.Ingest{
		{Member: "old", Kind: state.KindMessage, At: t0.Add(-48 * time.Hour)}, // spoke before the window
		{Member: "ann", Kind: state.KindJoin, At: t0},
		{Member: "ann", Kind: state.KindMessage, At: t0.Add(time.Minute)}, // joined and spoke
		{Member: "bob", Kind: state.KindJoin, At: t0},                     // joined only
		{Member: "old", Kind: state.KindMessage, At: t0.Add(time.Hour)},   // spoke again
	} {
		in.Group, in.UpdateID = g, "u"+string(rune('a'+i))
		if _, _, err := s.Ingest(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.ActiveSince(ctx, g, t0.Add(-time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("active since: %d (%v), want 2 (ann, old; not bob, who only joined)", n, err)
	}
}

// A member's first message of the day counts them active once, whether
// their record marks the day short (DayMark) or long, as older versions
// wrote it.
func TestDayMarkCountsOnce(t *testing.T) {
	if got := state.DayMark("2026-12-01"); got != "261201" {
		t.Errorf("DayMark = %q", got)
	}
	if got := state.DayMark("odd"); got != "odd" {
		t.Errorf("DayMark of a non-date = %q", got)
	}
	s := newStore(t)
	ctx := context.Background()
	const g, day = "telegram:-100555", "2026-12-01"
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	first := func(id, member string) int64 {
		t.Helper()
		_, res, _, err := s.IngestSteps(ctx, state.Ingest{Group: g, UpdateID: id, Member: member, Kind: state.KindMessage, At: at},
			[]state.Step{*s.MessageStep(g, member, day)})
		if err != nil || len(res) != 1 {
			t.Fatal(res, err)
		}
		return res[0][0]
	}
	if first("1", "a") != 1 || first("2", "a") != 0 {
		t.Error("short mark: not counted once")
	}
	// as an older version left it: a hash of its own, the long form
	if err := s.Client().HSet(ctx, s.Key(g, "m", "b"), "kd", day).Err(); err != nil {
		t.Fatal(err)
	}
	if first("3", "b") != 0 {
		t.Error("a long mark of today counted the member again")
	}
	if dau := s.Client().HGet(ctx, s.KPIKey(g, day), "dau").Val(); dau != "1" {
		t.Errorf("dau %s", dau)
	}
}
