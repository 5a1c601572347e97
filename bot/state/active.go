package state

import (
	"container/heap"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ActiveKey is the last-active bucket a member's time is kept in.
func (s *Store) ActiveKey(group, member string) string { return s.active(group).Key(member) }

// ActiveKeys are all the buckets of a group's last-active set, for a
// script that needs the whole set (an audience unions them).
func (s *Store) ActiveKeys(group string) []string { return s.active(group).Keys() }

// active is a group's last-active set: present members by their last
// activity (ms), in buckets.
func (s *Store) active(group string) Buckets { return s.Buckets(group, "active") }

// presentKey counts the members in the group's last-active set, kept by
// every script that adds or removes one: the day record's member count
// reads it inside the ingest script, where summing 1,024 buckets on a
// member's first message of the day would cost more than the message.
func (s *Store) presentKey(group string) string { return s.Key(group, "active", "n") }

// PresentMembers lists every member in the group's last-active set (the
// members present), in no particular order.
func (s *Store) PresentMembers(ctx context.Context, group string) ([]string, error) {
	zs, err := s.active(group).Range(ctx, "-inf", "+inf", 0, false)
	if err != nil {
		return nil, wrap("list present members", err)
	}
	return ids(zs), nil
}

// RecentlyActive lists up to n present members, the most recently active
// first (a search through a group's members).
func (s *Store) RecentlyActive(ctx context.Context, group string, n int64) ([]string, error) {
	zs, err := s.active(group).Range(ctx, "-inf", "+inf", n, true)
	if err != nil {
		return nil, wrap("list recent members", err)
	}
	return ids(zs[:min(int64(len(zs)), n)]), nil
}

// bucketCursor pages through one bucket in score order over [min, max),
// resuming after the last score read (see ScanActivity).
type bucketCursor struct {
	key    string
	min    string
	offset int64 // members at score min already read
	buf    []redis.Z
	done   bool // the bucket has nothing more in range
}

func (c *bucketCursor) fill(zs []redis.Z, size int64) {
	c.buf = zs
	if int64(len(zs)) < size {
		c.done = true
		return
	}
	last := zs[len(zs)-1].Score
	same := int64(0)
	for i := len(zs) - 1; i >= 0 && zs[i].Score == last; i-- {
		same++
	}
	next := strconv.FormatFloat(last, 'f', 0, 64)
	if next == c.min {
		c.offset += same
	} else {
		c.offset = same
	}
	c.min = next
}

// cursorHeap orders bucket cursors by their next entry: score, then id,
// so a scan's order does not depend on how ids fall into buckets.
type cursorHeap []*bucketCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i].buf[0], h[j].buf[0]
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Member.(string) < b.Member.(string)
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*bucketCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// migrateSetScript moves a batch of one-set entries into their buckets:
// KEYS[1] the old set, KEYS[2] a count of the entries (added to as
// members are new to the buckets: the last-active set's; KEYS[1] again
// for none), then one
// bucket key per entry; ARGV[1] 'newer' (a member the buckets have keeps
// the higher score: a time written since the start) or 'keep' (keeps the
// buckets' score), then the entries' ids and scores.
var migrateSetScript = redis.NewScript(`
local added = 0
for i = 3, #KEYS do
  local id, score = ARGV[2 * (i - 2)], tonumber(ARGV[2 * (i - 2) + 1])
  local cur = redis.call('ZSCORE', KEYS[i], id)
  if not cur then
    redis.call('ZADD', KEYS[i], score, id)
    added = added + 1
  elseif ARGV[1] == 'newer' and tonumber(cur) < score then
    redis.call('ZADD', KEYS[i], score, id)
  end
  redis.call('ZREM', KEYS[1], id)
end
if added > 0 and KEYS[2] ~= KEYS[1] then redis.call('INCRBY', KEYS[2], added) end
return added
`)

// MigrateActive moves the per-member sets of the one-set layout
// ({g}:active, {g}:joined, {g}:activated) into their buckets, 500
// members a script so a big group does not hold Redis long, and deletes
// them. It answers how many entries it moved. It runs before qunbot
// serves; a replica of the old version still running writes the old sets
// again, which the next start moves.
func (s *Store) MigrateActive(ctx context.Context) (int, error) {
	moved := 0
	for _, set := range []struct {
		name  string
		count func(group string) string // nil: not counted
		mode  string
	}{
		{"active", s.presentKey, "newer"},
		{"joined", nil, "newer"},
		{"activated", nil, "keep"},
	} {
		n, err := s.migrateSet(ctx, set.name, set.count, set.mode)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	n, err := s.migrateUsernames(ctx)
	return moved + n, err
}

// moveUsernamesScript moves a batch of the one-hash username index
// (KEYS[1]) into its buckets (KEYS[2..], one per entry; ARGV the
// usernames and ids): an entry written there since is newer and stays.
var moveUsernamesScript = redis.NewScript(`
for i = 2, #KEYS do
  redis.call('HSETNX', KEYS[i], ARGV[2 * i - 3], ARGV[2 * i - 2])
  redis.call('HDEL', KEYS[1], ARGV[2 * i - 3])
end
return #KEYS - 1
`)

// migrateUsernames moves the @username index of the one-hash layout
// ({g}:usernames) into its buckets.
func (s *Store) migrateUsernames(ctx context.Context) (int, error) {
	moved := 0
	iter := s.rdb.Scan(ctx, 0, s.prefix+"{*}:usernames", 2000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if !strings.HasPrefix(key, s.prefix+"{") || !strings.HasSuffix(key, "}:usernames") {
			continue
		}
		group := key[len(s.prefix)+1 : len(key)-len("}:usernames")]
		if t, err := s.rdb.Type(ctx, key).Result(); err != nil {
			return moved, wrap("migrate "+key, err)
		} else if t != "hash" {
			continue // not ours
		}
		for {
			kv, _, err := s.rdb.HScan(ctx, key, 0, "", 500).Result()
			if err != nil {
				return moved, wrap("migrate "+key, err)
			}
			if len(kv) == 0 {
				break
			}
			keys := []string{key}
			for i := 0; i+1 < len(kv); i += 2 {
				keys = append(keys, s.usernameKey(group, kv[i]))
			}
			if err := moveUsernamesScript.Run(ctx, s.rdb, keys, toAny(kv)...).Err(); err != nil {
				return moved, wrap("migrate "+key, err)
			}
			moved += len(kv) / 2
		}
	}
	return moved, wrap("scan username indexes", iter.Err())
}

func toAny(v []string) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

func (s *Store) migrateSet(ctx context.Context, name string, count func(string) string, mode string) (int, error) {
	moved := 0
	suffix := "}:" + name
	iter := s.rdb.Scan(ctx, 0, s.prefix+"{*"+suffix, 2000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		i := strings.LastIndex(key, suffix)
		if i < 0 || !strings.HasPrefix(key, s.prefix+"{") || i+len(suffix) != len(key) {
			continue
		}
		group := key[len(s.prefix)+1 : i]
		if t, err := s.rdb.Type(ctx, key).Result(); err != nil {
			return moved, wrap("migrate "+key, err)
		} else if t != "zset" {
			continue // not ours
		}
		b := s.Buckets(group, name)
		for {
			zs, err := s.rdb.ZRangeWithScores(ctx, key, 0, 499).Result()
			if err != nil {
				return moved, wrap("migrate "+key, err)
			}
			if len(zs) == 0 {
				break
			}
			keys := []string{key, key}
			if count != nil {
				keys[1] = count(group)
			}
			args := make([]any, 0, 1+2*len(zs))
			args = append(args, mode)
			for _, z := range zs {
				id, _ := z.Member.(string)
				keys = append(keys, b.Key(id))
				args = append(args, id, strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
			if err := migrateSetScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
				return moved, wrap("migrate "+key, err)
			}
			moved += len(zs)
		}
	}
	if err := iter.Err(); err != nil {
		return moved, wrap("scan "+name+" sets", err)
	}
	return moved, nil
}

// scanActive merges every bucket's entries in [min, max) in score order
// (ties by id) and hands them to fn in pages of size.
func (s *Store) scanActive(ctx context.Context, group, min, max string, size int64, fn func([]Activity) (bool, error)) error {
	keys := s.active(group).Keys()
	cursors := make([]*bucketCursor, len(keys))
	for i, k := range keys {
		cursors[i] = &bucketCursor{key: k, min: min}
	}
	// first pages of every bucket in one round trip; a bucket holds at
	// most a few hundred, so a scan rarely needs another
	if err := s.refill(ctx, cursors, max, size); err != nil {
		return err
	}
	h := cursorHeap{}
	for _, c := range cursors {
		if len(c.buf) > 0 {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	page := make([]Activity, 0, size)
	for h.Len() > 0 {
		c := h[0]
		z := c.buf[0]
		c.buf = c.buf[1:]
		id, _ := z.Member.(string)
		page = append(page, Activity{ID: id, Last: time.UnixMilli(int64(z.Score))})
		if len(c.buf) == 0 && !c.done {
			if err := s.refill(ctx, []*bucketCursor{c}, max, size); err != nil {
				return err
			}
		}
		if len(c.buf) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
		if int64(len(page)) == size {
			more, err := fn(page)
			if err != nil || !more {
				return err
			}
			page = make([]Activity, 0, size)
		}
	}
	if len(page) > 0 {
		_, err := fn(page)
		return err
	}
	return nil
}

// refill reads the next page of each cursor in one pipelined round trip.
func (s *Store) refill(ctx context.Context, cursors []*bucketCursor, max string, size int64) error {
	cmds := make([]*redis.ZSliceCmd, len(cursors))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range cursors {
			cmds[i] = p.ZRangeByScoreWithScores(ctx, c.key, &redis.ZRangeBy{Min: c.min, Max: max, Offset: c.offset, Count: size})
		}
		return nil
	})
	if err != nil {
		return wrap("scan activity", err)
	}
	for i, c := range cursors {
		c.fill(cmds[i].Val(), size)
	}
	return nil
}
