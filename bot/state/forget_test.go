package state_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
)

// MemberData shows, and ForgetMember removes, exactly the member: ids of lotteries and polls that
// equal the member's id stay, as do other members, other groups whose key
// the group's would match as a pattern, and the moderation record.
func TestForgetMemberIsExact(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	rdb := s.Client()
	const g, other, m = "wecom:hook:bot*", "wecom:hook:bot-x", "42"
	for _, id := range []string{m, "7"} {
		for _, gr := range []string{g, other} {
			if _, _, err := s.Ingest(ctx, state.Ingest{Group: gr, Member: id, Name: "n" + id, Username: "u" + id, Kind: state.KindJoin, At: t0}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Ingest(ctx, state.Ingest{Group: gr, Member: id, Name: "n" + id, Kind: state.KindMessage, At: t0.Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rdb.HSet(ctx, s.Key(g, "lot", m), "prize", "mug").Err())                                // lottery 42
	must(rdb.ZAdd(ctx, s.Key(g, "tag", m), redis.Z{Member: "7"}, redis.Z{Member: m}).Err())      // a tag named like the member
	must(rdb.ZAdd(ctx, s.Key(g, "lot", m, "e"), redis.Z{Member: m}, redis.Z{Member: "7"}).Err()) // its entries
	must(rdb.HSet(ctx, s.Key(g, "lot", m, "w"), m, "won", "taking:"+m, "x", "7", "won").Err())
	must(rdb.HSet(ctx, s.Key(g, "poll", m, "v"), m, "0", "7", "1").Err())
	must(rdb.HSet(ctx, s.Key(g, "rewards"), "mug", "2", "mug:"+m, "1", "mug:7", "1").Err())
	must(rdb.HSet(ctx, s.Key(g, "survey", "churn", m), "q1", "price").Err())
	must(rdb.ZAdd(ctx, s.Key(g, "invitees", m), redis.Z{Member: "7"}).Err())
	must(s.SetFields(ctx, g, "7", map[string]string{"inv_by": m}))
	must(rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Key(g, "ledger"), Values: []any{"member", m, "reason", "checkin"}}).Err())
	must(rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Key(g, "ledger"), Values: []any{"member", "7", "reason", "invite:" + m}}).Err())
	must(rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Key(g, "ledger"), Values: []any{"member", "7", "reason", "checkin"}}).Err())
	must(rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Key(g, "modlog"), Values: []any{"member", m, "action", "warn"}}).Err())
	must(rdb.ZAdd(ctx, s.Key(g, "warns", m), redis.Z{Member: "w1"}).Err())
	must(rdb.HSet(ctx, s.Key(g, "ud", m), "x", "1").Err()) // the group's dedupe bucket 42: neither shown nor erased

	data, err := s.MemberData(ctx, g, m)
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, d := range data {
		shown = append(shown, d.Kind+" "+d.Key)
	}
	slices.Sort(shown)
	bucket := func(k string) string { return strings.TrimPrefix(k, s.Key(g)+":") }
	want := []string{
		"entry " + bucket(s.ActiveKey(g, m)), "entry " + bucket(s.Joined(g).Key(m)), "entry " + bucket(s.Buckets(g, "activated").Key(m)), "entry contrib", "entry lot:42:e", "entry tag:42",
		"field lot:42:w", "field lot:42:w", "field poll:42:v", "field rewards", "field " + bucket(s.Buckets(g, "usernames").Key("u42")),
		"key invitees:42", "key survey:churn:42", "key warns:42",
		"line ledger", "line ledger", "line modlog", "record " + bucket(s.RecordKey(g, m)),
	}
	slices.Sort(want)
	if strings.Join(shown, "\n") != strings.Join(want, "\n") {
		t.Errorf("member data:\n%s\nwant:\n%s", strings.Join(shown, "\n"), strings.Join(want, "\n"))
	}

	got, err := s.ForgetMember(ctx, g, m)
	if err != nil {
		t.Fatal(err)
	}
	if got.Keys != 2 || got.Entries == 0 {
		t.Errorf("forgot %+v, want the survey answers and invitees keys and some entries", got)
	}
	checks := []struct {
		name string
		got  func() (any, error)
		want any
	}{
		{"record", func() (any, error) { r, err := s.Member(ctx, g, m); return r.Name, err }, ""},
		{"username", func() (any, error) { return s.ByUsername(ctx, g, "u"+m) }, ""},
		{"present", func() (any, error) { return s.Present(ctx, g) }, int64(1)},
		{"other member", func() (any, error) { r, err := s.Member(ctx, g, "7"); return r.Name, err }, "n7"},
		{"invited by", func() (any, error) { r, err := s.Member(ctx, g, "7"); return r.Fields["inv_by"], err }, ""},
		{"other group", func() (any, error) { r, err := s.Member(ctx, other, m); return r.Name, err }, "n42"},
		{"other group present", func() (any, error) { return s.Present(ctx, other) }, int64(2)},
		{"lottery 42", func() (any, error) { return rdb.HGet(ctx, s.Key(g, "lot", m), "prize").Result() }, "mug"},
		{"tag 42", func() (any, error) { return rdb.ZRange(ctx, s.Key(g, "tag", m), 0, -1).Result() }, []string{"7"}},
		{"entries", func() (any, error) { return rdb.ZRange(ctx, s.Key(g, "lot", m, "e"), 0, -1).Result() }, []string{"7"}},
		{"winners", func() (any, error) { return rdb.HKeys(ctx, s.Key(g, "lot", m, "w")).Result() }, []string{"7"}},
		{"votes", func() (any, error) { return rdb.HKeys(ctx, s.Key(g, "poll", m, "v")).Result() }, []string{"7"}},
		{"purchases", func() (any, error) { return rdb.HLen(ctx, s.Key(g, "rewards")).Result() }, int64(2)},
		{"answers", func() (any, error) { return rdb.Exists(ctx, s.Key(g, "survey", "churn", m)).Result() }, int64(0)},
		{"ledger", func() (any, error) { return rdb.XLen(ctx, s.Key(g, "ledger")).Result() }, int64(1)},
		{"modlog kept", func() (any, error) { return rdb.XLen(ctx, s.Key(g, "modlog")).Result() }, int64(1)},
		{"warnings kept", func() (any, error) { return rdb.Exists(ctx, s.Key(g, "warns", m)).Result() }, int64(1)},
		{"dedupe bucket kept", func() (any, error) { return rdb.Exists(ctx, s.Key(g, "ud", m)).Result() }, int64(1)},
	}
	for _, c := range checks {
		v, err := c.got()
		if err != nil && err != redis.Nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !equal(v, c.want) {
			t.Errorf("%s: %v, want %v", c.name, v, c.want)
		}
	}
	if _, err := s.ForgetMember(ctx, g, ""); err == nil {
		t.Error("an empty id was accepted")
	}
}

func equal(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

// Forgetting many members at once (a retention run) takes exactly them
// and keeps the member count true.
func TestForgetMembers(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const g = "telegram:-100777"
	var all, gone []string
	for i := range 300 {
		id := strconv.Itoa(100000 + i)
		all = append(all, id)
		for _, k := range []state.Kind{state.KindJoin, state.KindMessage} {
			if _, _, err := s.Ingest(ctx, state.Ingest{Group: g, Member: id, Name: "n" + id, Kind: k, At: t0}); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 {
			gone = append(gone, id)
		}
	}
	got, err := s.ForgetMembers(ctx, g, gone)
	if err != nil {
		t.Fatal(err)
	}
	if got.Entries < 4*len(gone) { // record, last active, joins, first words each
		t.Errorf("forgot %+v for %d members", got, len(gone))
	}
	if n, _ := s.Present(ctx, g); n != int64(len(all)-len(gone)) {
		t.Errorf("present %d, want %d", n, len(all)-len(gone))
	}
	ms, err := s.Members(ctx, g, all)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if want := i%3 != 0; (m.Name != "") != want {
			t.Errorf("%s: name %q after forgetting every third", all[i], m.Name)
		}
	}
}
