package state

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Forgotten is what ForgetMember erased.
type Forgotten struct {
	Keys    int // keys deleted: the member's own (answers, invitees, flood counters)
	Entries int // entries removed from shared keys: records, sets, boards, votes, ledger lines
}

// Kept are the key families ForgetMember leaves alone: the moderation log
// and warnings are the group's record of what was done to keep it safe (a
// ban or warning erased on request would let a spammer wipe their slate),
// and the day figures hold counts, not members.
var kept = map[string]bool{"modlog": true, "warns": true, "kpi": true, "ud": true}

// ForgetMember erases what a group keeps about one member, for a member's
// request to be forgotten (PIPL art. 47, GDPR art. 17): the record, last
// activity, joins, first words, contribution, balance, boards, tags,
// answers, votes, entries, sign-ups, invites, purchases, wake-up marks and
// ledger lines — every key of the group, whatever flow wrote it, is
// searched for the member's id, so a flow added later is covered too.
// Kept: see kept. Outside the group's keys, what expires on its own
// (pending jobs, a questionnaire in progress, reports) is left to expire.
//
// It walks the group's keys with SCAN (on the node that holds the group's
// slot in a cluster): a rare request, so a walk of the keyspace rather
// than an index every write would have to keep. A member who speaks while
// they are being forgotten is recorded again from that message on.
func (s *Store) ForgetMember(ctx context.Context, group, member string) (Forgotten, error) {
	if member == "" {
		return Forgotten{}, fmt.Errorf("forget member: no member id")
	}
	return s.ForgetMembers(ctx, group, []string{member})
}

// ForgetMembers is ForgetMember for many members at once, with one walk of
// the keys: a retention run forgetting everyone who left long ago.
func (s *Store) ForgetMembers(ctx context.Context, group string, members []string) (Forgotten, error) {
	var out Forgotten
	w := who{}
	for _, m := range members {
		if m != "" {
			w[m] = true
		}
	}
	if len(w) == 0 {
		return out, nil
	}
	mk, err := s.sortKeys(ctx, group, w)
	if err != nil {
		return out, wrap("forget member", err)
	}
	base, own, shared, types := mk.base, mk.own, mk.shared, mk.types
	var hashes, streams []string
	var sets []int
	for i, k := range shared {
		switch types[i] {
		case "hash":
			hashes = append(hashes, k)
		case "stream":
			streams = append(streams, k)
		case "zset", "set":
			sets = append(sets, i)
		}
	}
	err = batches(ctx, s.rdb, len(sets), func(p redis.Pipeliner, j int) func() error {
		i := sets[j]
		k := shared[i]
		ms := w.in(strings.TrimPrefix(k, base))
		if len(ms) == 0 {
			return func() error { return nil }
		}
		var c interface{ Err() error }
		var n func() int64
		switch {
		case types[i] == "set":
			r := p.SRem(ctx, k, ms...)
			c, n = r, r.Val
		case strings.HasPrefix(strings.TrimPrefix(k, base), "active:"):
			// a script in a pipeline is sent whole (EVAL): EVALSHA
			// cannot fall back there
			r := forgetActiveScript.Eval(ctx, p, []string{k, s.presentKey(group)}, ms...)
			c, n = r, func() int64 { v, _ := r.Int64(); return v }
		default:
			r := p.ZRem(ctx, k, ms...)
			c, n = r, r.Val
		}
		return func() error { out.Entries += int(n()); return c.Err() }
	})
	if err != nil {
		return out, wrap("forget member: sets", err)
	}
	n, err := s.forgetInHashes(ctx, base, hashes, w)
	out.Entries += n
	if err != nil {
		return out, wrap("forget member: hashes", err)
	}
	for _, k := range streams {
		n, err := s.forgetInStream(ctx, k, w)
		out.Entries += n
		if err != nil {
			return out, wrap("forget member: "+k, err)
		}
	}
	for _, k := range own {
		if strings.HasPrefix(k, base+"invitees:") {
			// the people they invited no longer say who invited them
			n, err := s.forgetInviter(ctx, group, k)
			out.Entries += n
			if err != nil {
				return out, wrap("forget member: "+k, err)
			}
		}
	}
	err = batches(ctx, s.rdb, len(own), func(p redis.Pipeliner, i int) func() error {
		c := p.Del(ctx, own[i])
		return func() error { out.Keys += int(c.Val()); return c.Err() }
	})
	if err != nil {
		return out, wrap("forget member: delete their keys", err)
	}
	return out, nil
}

// batches queues n commands (add queues the i-th and answers how to read
// it) in pipelines of 500, and reads them.
func batches(ctx context.Context, rdb redis.UniversalClient, n int, add func(p redis.Pipeliner, i int) func() error) error {
	for lo := 0; lo < n; lo += 500 {
		hi := min(lo+500, n)
		p := rdb.Pipeline()
		reads := make([]func() error, 0, hi-lo)
		for i := lo; i < hi; i++ {
			reads = append(reads, add(p, i))
		}
		if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, r := range reads {
			if err := r(); err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
		}
	}
	return nil
}

// who are the members being forgotten or shown.
type who map[string]bool

// in answers the members a key of the group may hold: those whose bucket
// it is, for the per-member structures kept in buckets (a member lives in
// one bucket of 1,024), else all of them.
func (w who) in(rest string) []any {
	family, b, _ := strings.Cut(rest, ":")
	bucket := -1
	if bucketed[family] {
		if n, err := strconv.Atoi(b); err == nil {
			bucket = n
		}
	}
	out := make([]any, 0, len(w))
	for m := range w {
		if bucket < 0 || bucketOf(m) == bucket {
			out = append(out, m)
		}
	}
	return out
}

// bucketed are the families kept in buckets by member id.
var bucketed = map[string]bool{"mr": true, "active": true, "joined": true, "activated": true, "pts": true}

// suffix reports whether s ends in ":<one of the members>" (a member id may
// hold colons itself).
func (w who) suffix(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && w[s[i+1:]] {
			return true
		}
	}
	return false
}

// memberKeys are a group's keys sorted for the members.
type memberKeys struct {
	base   string   // the group's key prefix, "qb:{group}:"
	own    []string // keys named for the member (see namesMember)
	shared []string // keys that may hold the member among others
	types  []string // of shared
	kept   []string // of the kept families (see kept)
}

// sortKeys finds a group's keys with SCAN (in a cluster, on the node that
// holds the group's slot) and sorts them for member. A group has a few
// thousand keys (1,024 buckets of each per-member structure): their types
// are read in pipelined batches, not a round trip a key.
func (s *Store) sortKeys(ctx context.Context, group string, w who) (memberKeys, error) {
	mk := memberKeys{base: s.Key(group) + ":"}
	node := s.rdb
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		n, err := c.MasterForKey(ctx, s.Key(group, "g"))
		if err != nil {
			return mk, fmt.Errorf("find the group's node: %w", err)
		}
		node = n
	}
	iter := node.Scan(ctx, 0, globEscape(mk.base)+"*", 10000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		rest := strings.TrimPrefix(k, mk.base)
		family, _, _ := strings.Cut(rest, ":")
		switch {
		case kept[family]:
			mk.kept = append(mk.kept, k)
		case namesMember(family, rest, w):
			mk.own = append(mk.own, k)
		default:
			mk.shared = append(mk.shared, k)
		}
	}
	if err := iter.Err(); err != nil {
		return mk, fmt.Errorf("scan the group's keys: %w", err)
	}
	mk.types = make([]string, len(mk.shared))
	err := batches(ctx, s.rdb, len(mk.shared), func(p redis.Pipeliner, i int) func() error {
		c := p.Type(ctx, mk.shared[i])
		return func() error { mk.types[i] = c.Val(); return c.Err() }
	})
	if err != nil {
		return mk, fmt.Errorf("read key types: %w", err)
	}
	return mk, nil
}

// forgetActiveScript takes members out of a last-active bucket and those
// that were there out of the group's kept member count, in one step as
// the ingest does on a leave.
var forgetActiveScript = redis.NewScript(`
local n = redis.call('ZREM', KEYS[1], unpack(ARGV))
if n > 0 then redis.call('DECRBY', KEYS[2], n) end
return n
`)

// forgetInHashes removes the fields of hashes that are about the member
// (see holds), and the hashes that are about them as a whole (isAbout).
func (s *Store) forgetInHashes(ctx context.Context, base string, keys []string, w who) (int, error) {
	all := make([]map[string]string, len(keys))
	err := batches(ctx, s.rdb, len(keys), func(p redis.Pipeliner, i int) func() error {
		c := p.HGetAll(ctx, keys[i])
		return func() error { all[i] = c.Val(); return c.Err() }
	})
	if err != nil {
		return 0, err
	}
	dels := make([][]string, len(keys))
	var with, whole []int
	for i, k := range keys {
		if isAbout(all[i], w) {
			whole = append(whole, i)
			continue
		}
		family, _, _ := strings.Cut(strings.TrimPrefix(k, base), ":")
		for field, value := range all[i] {
			if holds(family, field, value, w) {
				dels[i] = append(dels[i], field)
			}
		}
		if len(dels[i]) > 0 {
			with = append(with, i)
		}
	}
	n := 0
	err = batches(ctx, s.rdb, len(with), func(p redis.Pipeliner, j int) func() error {
		c := p.HDel(ctx, keys[with[j]], dels[with[j]]...)
		return func() error { n += int(c.Val()); return c.Err() }
	})
	if err != nil {
		return n, err
	}
	err = batches(ctx, s.rdb, len(whole), func(p redis.Pipeliner, j int) func() error {
		c := p.Del(ctx, keys[whole[j]])
		return func() error { n += int(c.Val()); return c.Err() }
	})
	return n, err
}

// isAbout reports whether a hash is a record about the member as a whole:
// its asker or member field is theirs (a question they asked, with its
// text).
func isAbout(h map[string]string, w who) bool {
	return w[h["asker"]] || w[h["member"]]
}

// holds reports whether a hash field is about the member: it is the member
// (a record, a vote, a winner); in purchase counts and lottery claims, it
// ends in ":<member>"; in a username or invite-link index, its value is
// the member.
func holds(family, field, value string, w who) bool {
	switch family {
	case "usernames", "invites":
		return w[field] || w[value]
	case "rewards", "lot":
		return w[field] || w.suffix(field)
	}
	return w[field]
}

// forgetInStream deletes the entries of a stream (the points ledger) that
// are about the member, or name them as the reason for another's (an
// inviter's credit, "invite:<member>"), a thousand at a time.
func (s *Store) forgetInStream(ctx context.Context, key string, w who) (int, error) {
	lines, err := streamAbout(ctx, s.rdb, key, w)
	if err != nil || len(lines) == 0 {
		return 0, err
	}
	n := 0
	for lo := 0; lo < len(lines); lo += 1000 {
		ids := make([]string, 0, 1000)
		for _, l := range lines[lo:min(lo+1000, len(lines))] {
			ids = append(ids, l["id"].(string))
		}
		m, err := s.rdb.XDel(ctx, key, ids...).Result()
		n += int(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// namesMember reports whether a key of the group is the member's own: its
// name ends with the member's id (their answers to a questionnaire, their
// invitees, their cooldowns), or it is one of their flood counters. Keys
// of lotteries, polls, events, posts, tags, wake-up stages, months and
// buckets end with names or numbers of their own, which a member id could
// equal by chance (a WeCom userid "vip" and a tag "vip"; a bucket 786 and
// a member 786): the member is taken out of those, never the key.
func namesMember(family, rest string, w who) bool {
	switch family {
	case "lot", "poll", "ev", "posts", "tag", "wakeup", "points", "mr", "active", "joined", "activated", "pts", "usernames":
		return false
	case "fl":
		if m, ok := strings.CutPrefix(rest, "fl:m:"); ok {
			return w[m]
		}
		if t, ok := strings.CutPrefix(rest, "fl:t:"); ok {
			// fl:t:<member>:<text key>; the text key has no colon
			if i := strings.LastIndexByte(t, ':'); i > 0 {
				return w[t[:i]]
			}
		}
		return false
	}
	return w.suffix(rest)
}

// globEscape escapes SCAN's pattern characters in a literal key prefix.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// forgetInviter takes the inviter out of the records of the members an
// invitees set lists: who invited them, and the link they came through.
func (s *Store) forgetInviter(ctx context.Context, group, invitees string) (int, error) {
	ids, err := s.rdb.ZRange(ctx, invitees, 0, -1).Result()
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := s.changeFields(ctx, s.rdb, group, id, "del", "inv_by", "del", "join_link").Err(); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// about reports whether a stream entry (a ledger line, a moderation log
// entry) is about the member, or names them as the reason for another's
// (an inviter's credit, "invite:<member>").
func about(x redis.XMessage, w who) bool {
	v, _ := x.Values["member"].(string)
	why, _ := x.Values["reason"].(string)
	return w[v] || w.suffix(why)
}

// LeftBefore lists the group's members who left before t and have not
// come back, for a retention run: every record is read, in pipelined
// batches of the 1,024 buckets.
func (s *Store) LeftBefore(ctx context.Context, group string, t time.Time) ([]string, error) {
	keys := s.Buckets(group, "mr").Keys()
	var out []string
	cut := t.UnixMilli()
	err := batches(ctx, s.rdb, len(keys), func(p redis.Pipeliner, i int) func() error {
		c := p.HGetAll(ctx, keys[i])
		return func() error {
			for id, v := range c.Val() {
				rec := map[string]string{}
				decodeRecord(v, rec)
				left, _ := strconv.ParseInt(rec["left_at"], 10, 64)
				if rec["in"] == "0" && left > 0 && left < cut {
					out = append(out, id)
				}
			}
			return c.Err()
		}
	})
	sort.Strings(out)
	return out, wrap("list members who left", err)
}
