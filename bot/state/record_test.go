package state_test

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/state"
)

// What scripts write, Go reads: names with the separators lose them,
// values of every shape come back.
func TestRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100321"
	tests := []struct {
		name, want string
		fields     map[string]string
	}{
		{"Alice", "Alice", map[string]string{"tg:vip": "0|why|1767600000000"}},
		{"张三 🐧", "张三 🐧", map[string]string{"v_state": "passed", "b:first": "2026-01-05"}},
		{"bad\x1ename\x1f", "bad name ", map[string]string{"note": "a\x1eb\x1fc"}},
		{"", "", map[string]string{"empty": ""}},
	}
	for i, tc := range tests {
		id := "u" + string(rune('a'+i))
		if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: id, Name: tc.name, Username: "user_" + id, Kind: state.KindMessage, At: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetFields(ctx, g, id, tc.fields); err != nil {
			t.Fatal(err)
		}
		m, err := s.Member(ctx, g, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != tc.want || m.Username != "user_"+id || m.Messages != 1 || !m.LastActive.Equal(t0) || !m.Present {
			t.Errorf("%d: read back %+v", i, m)
		}
		for k, v := range tc.fields {
			if want := strings.NewReplacer("\x1e", " ", "\x1f", " ").Replace(v); m.Fields[k] != want {
				t.Errorf("%d: %s = %q, want %q", i, k, m.Fields[k], want)
			}
		}
		if err := s.DelFields(ctx, g, id, "v_state", "tg:vip"); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.Member(ctx, g, id); m.Fields["v_state"] != "" || m.Fields["tg:vip"] != "" {
			t.Errorf("%d: fields not deleted: %v", i, m.Fields)
		}
	}
	// as stored: short names, times in base 36
	raw, err := s.Client().HGet(ctx, s.RecordKey(g, "ua"), "ua").Result()
	if err != nil || !strings.Contains(raw, "A\x1f"+strconv.FormatInt(t0.UnixMilli(), 36)) || strings.Contains(raw, "last_active") {
		t.Errorf("stored record %q (%v)", raw, err)
	}
	if err := s.DelFields(ctx, g, "ua", "last_active"); err == nil {
		t.Error("deleting a core field was allowed")
	}
	if _, err := s.IncrField(ctx, g, "ua", "msgs", 1); err == nil {
		t.Error("incrementing a core field was allowed")
	}
	if err := s.SetFields(ctx, g, "ua", map[string]string{"A": "1"}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("a field named like a short code: %v", err)
	}
}

// A record of the hash-per-member layout is read where it is, moves into
// its bucket at the member's next write with every field, and its hash is
// deleted; MigrateRecords moves the ones nobody wrote, and drops a hash
// whose member was written since.
func TestOldRecordsMove(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	c := s.Client()
	const g = "telegram:-100654"
	old := map[string]string{"name": "Old", "in": "1", "msgs": "41", "last_active": "1767000000000", "joined_at": "1766000000000", "pts": "90", "v_state": "passed"}
	for _, id := range []string{"1", "2", "3"} {
		if err := c.HSet(ctx, s.Key(g, "m", id), old).Err(); err != nil {
			t.Fatal(err)
		}
	}
	m, err := s.Member(ctx, g, "1")
	if err != nil || m.Messages != 41 || m.Fields["pts"] != "90" || m.Name != "Old" {
		t.Fatalf("old record read as %+v (%v)", m, err)
	}
	// member 1 speaks: the record moves, the message counts on top
	m, _, err = s.Ingest(ctx, state.Ingest{Group: g, Member: "1", Name: "New", Kind: state.KindMessage, At: t0})
	if err != nil || m.Messages != 42 || m.Fields["pts"] != "90" || m.Fields["v_state"] != "passed" || m.Name != "New" || !m.JoinedAt.Equal(time.UnixMilli(1766000000000)) {
		t.Fatalf("after a message: %+v (%v)", m, err)
	}
	if n, _ := c.Exists(ctx, s.Key(g, "m", "1")).Result(); n != 0 {
		t.Error("the old hash of a written member is still there")
	}
	// member 2 was written since in a way that left the old hash (an
	// older replica): the bucket wins
	if err := s.SetFields(ctx, g, "2", map[string]string{"v_state": "failed"}); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, s.Key(g, "m", "2"), "v_state", "stale").Err(); err != nil {
		t.Fatal(err)
	}
	n, err := s.MigrateRecords(ctx)
	if err != nil || n != 1 {
		t.Fatalf("moved %d (%v), want 1 (member 3)", n, err)
	}
	for id, want := range map[string]string{"2": "failed", "3": "passed"} {
		m, err := s.Member(ctx, g, id)
		if err != nil || m.Fields["v_state"] != want || m.Messages != 41 {
			t.Errorf("member %s: %+v (%v), want v_state %s", id, m, err, want)
		}
		if n, _ := c.Exists(ctx, s.Key(g, "m", id)).Result(); n != 0 {
			t.Errorf("member %s: the old hash is still there", id)
		}
	}
	if n, _ := s.MigrateRecords(ctx); n != 0 {
		t.Errorf("a second run moved %d", n)
	}
}

// Members of one bucket written at once lose nothing (each script reads
// and writes its member's record whole).
func TestRecordsShareBuckets(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100655"
	ids := map[string]bool{}
	for i := 0; len(ids) < 40; i++ {
		id := "x" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		ids[id] = true
	}
	done := make(chan error)
	for id := range ids {
		go func() {
			for range 20 {
				if _, err := s.IncrField(ctx, g, id, "n", 1); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range ids {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	ms, err := s.Members(ctx, g, []string{"xaa", "xba", "nobody"})
	if err != nil || ms[0].Fields["n"] != "20" || ms[1].Fields["n"] != "20" || len(ms[2].Fields) != 0 {
		t.Fatalf("members %+v %+v %+v (%v)", ms[0], ms[1], ms[2], err)
	}
}

// The reader takes back what the writer packed, whatever the fields hold
// (the separators are taken out of names and values).
func FuzzRecordCodec(f *testing.F) {
	f.Add("name", "Alice", "tg:vip", "0|x|1")
	f.Add("last_active", "1767600000000", "b:first", "")
	f.Add("note", "a\x1eb", "x\x1fy", "\x1f")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		if k1 == "" || k2 == "" || k1 == k2 || state.IsRecordCode(k1) || state.IsRecordCode(k2) {
			return // reserved names are refused before they are written
		}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}} {
			// times are written by the ingest script only, as numbers
			if n, err := strconv.ParseInt(kv[1], 10, 64); state.IsRecordTime(kv[0]) && (err != nil || n < 0 || strconv.FormatInt(n, 10) != kv[1]) {
				return
			}
		}
		clean := strings.NewReplacer("\x1e", " ", "\x1f", " ")
		in := map[string]string{k1: v1, k2: v2}
		want := map[string]string{}
		for k, v := range in {
			want[clean.Replace(k)] = clean.Replace(v)
		}
		if len(want) != len(in) {
			return // two keys the same once cleaned
		}
		got := state.DecodeRecord(state.EncodeRecord(in))
		if !maps.Equal(got, want) {
			t.Errorf("%q → %q", want, got)
		}
	})
}

// The limits buckets need are raised where lower, and a bucket of
// records that long stays a listpack.
func TestRaiseListpackLimit(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := state.RaiseListpackLimit(ctx, s.Client()); err != nil {
		t.Fatal(err)
	}
	for name, min := range map[string]int{"hash-max-listpack-value": 1024, "hash-max-listpack-entries": 256, "zset-max-listpack-entries": 256} {
		v, err := s.Client().ConfigGet(ctx, name).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.Atoi(v[name]); n < min {
			t.Errorf("%s = %s, want ≥ %d", name, v[name], min)
		}
	}
	const g = "telegram:-100656"
	long := strings.Repeat("名", 40) // 120 bytes of name alone
	if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: "1", Name: long, Kind: state.KindMessage, At: t0}); err != nil {
		t.Fatal(err)
	}
	if enc, err := s.Client().ObjectEncoding(ctx, s.RecordKey(g, "1")).Result(); err != nil || enc != "listpack" {
		t.Errorf("record bucket encoding %q (%v), want listpack", enc, err)
	}
}
