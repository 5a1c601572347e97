package state

import (
	"context"
	"hash/fnv"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// BucketCount is how many keys a per-member structure of a group (member
// records, last activity, joins, balances, usernames) is spread over. One
// sorted set of 100,000 members is a skip list at about 105 bytes a
// member; Redis keeps a set or hash of at most 128 entries
// (zset-/hash-max-listpack-entries, which RaiseListpackLimit takes to
// 256) as one packed listpack at about 17 bytes a set entry, so members
// are spread by a hash of their id over 1,024 keys: at 200,000 members
// (Telegram's largest groups) the fullest bucket holds about 240, and at
// 10,000 a bucket's own overhead (about 100 bytes) is 10 bytes a member.
// 2,048 buckets held at most 128 without the raised limit but cost twice
// the overhead in groups of 10,000 (measured: 39 bytes a member per set,
// against 27). Reading the whole set — a count, a scan in score order —
// reads every bucket, in one pipelined round trip; writing a member
// touches only theirs.
const BucketCount = 1024

// bucketOf is the bucket of a member id: FNV-1a, computed in Go only
// (scripts are given their bucket keys), so it may change only with a
// migration.
func bucketOf(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % BucketCount)
}

// Buckets is a group's per-member sorted set kept in BucketCount
// listpack-sized sets under one name.
type Buckets struct {
	s    *Store
	base string // the key of bucket i is base + i
}

// Buckets returns the bucketed set name of a group.
func (s *Store) Buckets(group, name string) Buckets {
	return Buckets{s: s, base: s.Key(group, name) + ":"}
}

// Key is the bucket a member's score is kept in.
func (b Buckets) Key(member string) string { return b.base + strconv.Itoa(bucketOf(member)) }

// Keys are all the buckets, for a script that needs the whole set.
func (b Buckets) Keys() []string {
	keys := make([]string, BucketCount)
	for i := range keys {
		keys[i] = b.base + strconv.Itoa(i)
	}
	return keys
}

// Scores reads the scores of ids (0 for members not in the set) in one
// pipelined round trip: one ZMSCORE per bucket met.
func (b Buckets) Scores(ctx context.Context, ids []string) ([]float64, error) {
	out := make([]float64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	by := map[int][]int{}
	for i, id := range ids {
		k := bucketOf(id)
		by[k] = append(by[k], i)
	}
	cmds := make(map[int]*redis.FloatSliceCmd, len(by))
	_, err := b.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, idx := range by {
			members := make([]string, len(idx))
			for j, i := range idx {
				members[j] = ids[i]
			}
			cmds[k] = p.ZMScore(ctx, b.base+strconv.Itoa(k), members...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, idx := range by {
		for j, v := range cmds[k].Val() {
			out[idx[j]] = v
		}
	}
	return out, nil
}

// Count sums ZCOUNT min max over every bucket, in one round trip.
func (b Buckets) Count(ctx context.Context, min, max string) (int64, error) {
	keys := b.Keys()
	cmds := make([]*redis.IntCmd, len(keys))
	_, err := b.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			if min == "-inf" && max == "+inf" {
				cmds[i] = p.ZCard(ctx, k)
			} else {
				cmds[i] = p.ZCount(ctx, k, min, max)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// Range reads, from every bucket, the members whose score is in
// [min, max] (Redis score-range syntax), at most limit from each (0:
// all), lowest first or highest first (ties by id).
func (b Buckets) Range(ctx context.Context, min, max string, limit int64, highest bool) ([]redis.Z, error) {
	keys := b.Keys()
	cmds := make([]*redis.ZSliceCmd, len(keys))
	_, err := b.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			by := &redis.ZRangeBy{Min: min, Max: max, Count: limit}
			if highest {
				cmds[i] = p.ZRevRangeByScoreWithScores(ctx, k, by)
			} else {
				cmds[i] = p.ZRangeByScoreWithScores(ctx, k, by)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []redis.Z
	for _, c := range cmds {
		all = append(all, c.Val()...)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Score != all[j].Score {
			return (all[i].Score < all[j].Score) != highest
		}
		return (all[i].Member.(string) < all[j].Member.(string)) != highest
	})
	return all, nil
}
