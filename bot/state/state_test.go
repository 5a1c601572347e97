package state_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/redis/go-redis/v9"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *state.Store {
	c, prefix := redistest.Client(t)
	return state.New(c, prefix)
}

func TestIngestLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100123"
	steps := []struct {
		kind        state.Kind
		at          time.Duration
		wantPresent bool
		wantMsgs    int64
		wantActive  int64
	}{
		{state.KindJoin, 0, true, 0, 1},
		{state.KindMessage, time.Minute, true, 1, 1},
		{state.KindMessage, 2 * time.Minute, true, 2, 1},
		{state.KindTouch, 3 * time.Minute, true, 2, 1},
		{state.KindLeave, 4 * time.Minute, false, 2, 0},
		{state.KindJoin, 5 * time.Minute, true, 2, 1},
	}
	for i, st := range steps {
		m, dup, err := s.Ingest(ctx, state.Ingest{Group: g, UpdateID: strconv.Itoa(i), Member: "42", Name: "Alice", Username: "alice", Kind: st.kind, At: t0.Add(st.at)})
		if err != nil || dup {
			t.Fatalf("step %d: dup=%v err=%v", i, dup, err)
		}
		if m.Present != st.wantPresent || m.Messages != st.wantMsgs || m.Name != "Alice" {
			t.Errorf("step %d (%s): present=%v msgs=%d name=%q, want %v %d Alice", i, st.kind, m.Present, m.Messages, m.Name, st.wantPresent, st.wantMsgs)
		}
		n, err := s.Present(ctx, g)
		if err != nil || n != st.wantActive {
			t.Errorf("step %d: present count %d (%v), want %d", i, n, err, st.wantActive)
		}
	}
	m, err := s.Member(ctx, g, "42")
	if err != nil {
		t.Fatal(err)
	}
	if m.Joins != 2 || !m.FirstMsgAt.Equal(t0.Add(time.Minute)) || !m.LastActive.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("record: joins=%d first=%v last=%v", m.Joins, m.FirstMsgAt, m.LastActive)
	}
}

func TestIngestReturnsPreviousActivity(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "console:demo"
	if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: "a", Kind: state.KindMessage, At: t0}); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: "a", Kind: state.KindMessage, At: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !m.PrevActive.Equal(t0) || !m.LastActive.Equal(t0.Add(time.Hour)) {
		t.Errorf("prev=%v last=%v", m.PrevActive, m.LastActive)
	}
}

// Two processes receiving the same update (webhook retry, two replicas)
// must process it once: while one handles it the others hear "in
// flight" (try later), once it is done "duplicate".
func TestDedupeAcrossClients(t *testing.T) {
	ctx := context.Background()
	c1, prefix := redistest.Client(t)
	c2, _ := redistest.Client(t)
	stores := []*state.Store{state.New(c1, prefix), state.New(c2, prefix)}
	var processed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, dup, err := stores[i%2].Ingest(ctx, state.Ingest{Group: "telegram:-1", UpdateID: "tg:777", Member: "9", Kind: state.KindMessage, At: t0})
			if errors.Is(err, state.ErrInFlight) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			if !dup {
				processed.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if got := processed.Load(); got != 1 {
		t.Fatalf("update processed %d times, want 1", got)
	}
	m, _ := stores[0].Member(ctx, "telegram:-1", "9")
	if m.Messages != 1 {
		t.Errorf("messages = %d, want 1", m.Messages)
	}
	// Forget lets a redelivery through after a failed attempt, without
	// counting the message again; Done makes it a duplicate.
	if err := stores[0].Forget(ctx, "telegram:-1", "tg:777"); err != nil {
		t.Fatal(err)
	}
	again := state.Ingest{Group: "telegram:-1", UpdateID: "tg:777", Member: "9", Kind: state.KindMessage, At: t0}
	if _, dup, err := stores[1].Ingest(ctx, again); err != nil || dup {
		t.Errorf("after Forget: dup=%v err=%v", dup, err)
	}
	if m, _ := stores[0].Member(ctx, "telegram:-1", "9"); m.Messages != 1 {
		t.Errorf("messages after a redelivery = %d, want 1", m.Messages)
	}
	if err := stores[1].Done(ctx, "telegram:-1", "tg:777"); err != nil {
		t.Fatal(err)
	}
	if _, dup, err := stores[0].Ingest(ctx, again); err != nil || !dup {
		t.Errorf("after Done: dup=%v err=%v", dup, err)
	}
}

// The kill window: a process recorded an update and died before it was
// done. Its redelivery waits while the lease lasts, then takes over — the
// flows run, the member is not counted twice.
func TestTakeoverAfterTheLease(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	in := state.Ingest{Group: "telegram:-1", UpdateID: "tg:9", Member: "9", Kind: state.KindMessage, At: t0, Lease: 200 * time.Millisecond}
	if _, dup, err := s.Ingest(ctx, in); err != nil || dup {
		t.Fatalf("first delivery: dup=%v err=%v", dup, err)
	}
	// ... and the process dies here
	if _, _, err := s.Ingest(ctx, in); !errors.Is(err, state.ErrInFlight) {
		t.Fatalf("redelivery within the lease: %v, want ErrInFlight", err)
	}
	time.Sleep(250 * time.Millisecond)
	m, dup, err := s.Ingest(ctx, in)
	if err != nil || dup || m == nil {
		t.Fatalf("redelivery after the lease: dup=%v err=%v", dup, err)
	}
	if m.Messages != 1 {
		t.Errorf("messages = %d, want 1: the takeover recorded the message again", m.Messages)
	}
}

// Concurrent changes of records in one bucket lose nothing: bob's and
// the others' increments all land (a record is read and written back in
// one script).
func TestIncrFieldIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.IncrField(ctx, "console:demo", "bob", "points", 5); err != nil {
				t.Error(err)
			}
			if err := s.SetFields(ctx, "console:demo", "m"+strconv.Itoa(i), map[string]string{"x": "1"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	m, err := s.Member(ctx, "console:demo", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if m.Fields["points"] != "500" {
		t.Fatalf("points = %s, want 500 (lost updates)", m.Fields["points"])
	}
}

func TestSetOnceWinsOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ok, err := s.SetOnce(ctx, "console:demo", "carol", "welcomed", strconv.Itoa(i))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("SetOnce won %d times, want 1", wins.Load())
	}
}

func TestSetFieldsRefusesCoreFields(t *testing.T) {
	s := newStore(t)
	err := s.SetFields(context.Background(), "console:demo", "a", map[string]string{"msgs": "9"})
	if err == nil || !strings.Contains(err.Error(), "core field") {
		t.Fatalf("err = %v, want a core-field refusal", err)
	}
	if err := s.SetFields(context.Background(), "console:demo", "a", map[string]string{"level": "2"}); err != nil {
		t.Fatal(err)
	}
}

func TestSilentSince(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "console:demo"
	for i, name := range []string{"old", "mid", "new"} {
		if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: name, Kind: state.KindMessage, At: t0.Add(time.Duration(i) * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := s.SilentSince(ctx, g, t0.Add(36*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ids, ",") != "old,mid" {
		t.Errorf("silent = %v, want [old mid]", ids)
	}
	n, err := s.ActiveSince(ctx, g, t0.Add(24*time.Hour))
	if err != nil || n != 2 {
		t.Errorf("active since = %d (%v), want 2", n, err)
	}
}

// hashTag returns what Redis Cluster hashes: the first {...} with content.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return key
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

func TestGroupKeysShareOneSlot(t *testing.T) {
	s := state.New(nil, "qb:")
	const g = "telegram:-1001234567890"
	for _, k := range append([]string{s.Key(g, "m", "42"), s.ActiveKey(g, "42"), s.Key(g, "u", "tg:1")}, s.ActiveKeys(g)...) {
		if hashTag(k) != g {
			t.Errorf("key %q hashes on %q, want the group %q", k, hashTag(k), g)
		}
	}
}

func TestRedisDownIsAnError(t *testing.T) {
	conn, err := state.Open(state.Options{URL: "redis://127.0.0.1:1/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := state.New(conn.Client, "qb:")
	_, _, err = s.Ingest(context.Background(), state.Ingest{Group: "g:1", Member: "a", Kind: state.KindMessage, At: t0})
	if err == nil || !strings.Contains(err.Error(), "redis") {
		t.Fatalf("err = %v, want a redis error", err)
	}
}

func TestRedact(t *testing.T) {
	got := state.Redact("redis://user:s3cret@host:6379/2")
	if strings.Contains(got, "s3cret") {
		t.Fatalf("Redact leaked the password: %s", got)
	}
}

func TestActivation(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "console:demo"
	day := 24 * time.Hour
	ingest := func(member string, kind state.Kind, at time.Duration) {
		t.Helper()
		if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: member, Kind: kind, At: t0.Add(at)}); err != nil {
			t.Fatal(err)
		}
	}
	ingest("old", state.KindMessage, 0) // in the group before the bot: no join, not counted
	ingest("quick", state.KindJoin, 0)
	ingest("quick", state.KindMessage, 0) // spoke at once
	ingest("slow", state.KindJoin, 0)
	ingest("slow", state.KindMessage, 5*day)
	ingest("silent", state.KindJoin, day)
	ingest("rejoin", state.KindJoin, 0)
	ingest("rejoin", state.KindMessage, time.Hour)
	ingest("rejoin", state.KindLeave, 2*time.Hour)
	ingest("rejoin", state.KindJoin, 2*day) // a new join: activation starts over
	joined, active, err := s.Activation(ctx, g, t0, t0.Add(7*day), 3*day)
	if err != nil {
		t.Fatal(err)
	}
	if joined != 4 || active != 1 {
		t.Errorf("joined %d, activated within 3d %d; want 4 and 1 (quick)", joined, active)
	}
	ingest("rejoin", state.KindMessage, 2*day+time.Minute)
	if _, active, _ = s.Activation(ctx, g, t0, t0.Add(7*day), 3*day); active != 2 {
		t.Errorf("after the rejoiner spoke: %d activated, want 2", active)
	}
}

func TestTransient(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"wrapped by the store", fmt.Errorf("%w: ingest: boom", state.ErrRedis), true},
		{"a flow's raw dial error", fmt.Errorf("rank: %w", dial), true},
		{"pool timeout", fmt.Errorf("check in: %w", redis.ErrPoolTimeout), true},
		{"client closed", redis.ErrClosed, true},
		{"connection cut", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"a flow's own failure", errors.New("template: no such field"), false},
		{"redis.Nil is an answer", redis.Nil, false},
	}
	for _, tt := range tests {
		if got := state.Transient(tt.err); got != tt.want {
			t.Errorf("%s: Transient = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// An empty username and a member who is not a bot leave no field (absent
// reads the same); a username dropped later is cleared, not kept.
func TestRecordOmitsEmptyFields(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100888"
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		username string
		bot      bool
		want     []string // fields present
		absent   []string
	}{
		{"", false, []string{"name"}, []string{"username", "bot"}},
		{"alice", true, []string{"name", "username", "bot"}, nil},
		{"", false, []string{"name"}, []string{"username", "bot"}},
	} {
		m, _, err := s.Ingest(ctx, state.Ingest{Group: g, UpdateID: strconv.Itoa(i), Member: "7", Name: "A", Username: tc.username, IsBot: tc.bot, Kind: state.KindMessage, At: at})
		if err != nil {
			t.Fatal(err)
		}
		if m.Username != tc.username || m.IsBot != tc.bot {
			t.Errorf("step %d: read back %q %v", i, m.Username, m.IsBot)
		}
		kv := state.RawRecord(ctx, s, g, "7")
		for _, f := range tc.want {
			if _, ok := kv[f]; !ok {
				t.Errorf("step %d: %s missing", i, f)
			}
		}
		for _, f := range tc.absent {
			if _, ok := kv[f]; ok {
				t.Errorf("step %d: %s written", i, f)
			}
		}
	}
}
