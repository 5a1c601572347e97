package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Crons keeps the next fire time of every recurring schedule (a group's
// post, a wake-up scan) in Redis. A fire is claimed by moving its entry
// to the next time with a compare-and-set, so with several processes on one
// Redis each fire happens once; the entry survives restarts, so a fire
// missed while qunbot was down is seen at start-up and caught up or skipped.
type Crons struct {
	rdb  redis.UniversalClient
	key  string // sorted set: entry → next fire (ms)
	spec string // hash: entry → the spec it was scheduled with
}

// NewCrons returns the store at key (give it a hash tag: qb:{cron}).
func NewCrons(rdb redis.UniversalClient, key string) *Crons {
	return &Crons{rdb: rdb, key: key, spec: key + ":spec"}
}

var ensureScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur == ARGV[2] and redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`)

// Ensure schedules entry with spec if it is new or its spec changed; next
// is its first fire time. An existing entry keeps its next fire time.
func (c *Crons) Ensure(ctx context.Context, entry, spec string, next time.Time) error {
	if err := ensureScript.Run(ctx, c.rdb, []string{c.key, c.spec}, entry, spec, next.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("schedule %s: %w", entry, err)
	}
	return nil
}

// Remove drops an entry (a post deleted from the config).
func (c *Crons) Remove(ctx context.Context, entry string) error {
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, c.key, entry)
		p.HDel(ctx, c.spec, entry)
		return nil
	})
	return err
}

// Entries lists every scheduled entry.
func (c *Crons) Entries(ctx context.Context) ([]string, error) {
	return c.rdb.ZRange(ctx, c.key, 0, -1).Result()
}

// Fire is one due fire of an entry.
type Fire struct {
	Entry string
	At    time.Time // when it was due
}

// Due lists fires due at or before now, earliest first.
func (c *Crons) Due(ctx context.Context, now time.Time, limit int) ([]Fire, error) {
	zs, err := c.rdb.ZRangeByScoreWithScores(ctx, c.key, &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(limit)}).Result()
	if err != nil {
		return nil, fmt.Errorf("due schedules: %w", err)
	}
	out := make([]Fire, 0, len(zs))
	for _, z := range zs {
		e, _ := z.Member.(string)
		out = append(out, Fire{Entry: e, At: time.UnixMilli(int64(z.Score))})
	}
	return out, nil
}

var claimFireScript = redis.NewScript(`
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`)

// Claim moves a due fire to its next time; only one caller wins it.
func (c *Crons) Claim(ctx context.Context, f Fire, next time.Time) (bool, error) {
	n, err := claimFireScript.Run(ctx, c.rdb, []string{c.key}, f.Entry, f.At.UnixMilli(), next.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", f.Entry, err)
	}
	return n == 1, nil
}

// Next returns the earliest next fire.
func (c *Crons) Next(ctx context.Context) (time.Time, bool, error) {
	zs, err := c.rdb.ZRangeWithScores(ctx, c.key, 0, 0).Result()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next schedule: %w", err)
	}
	if len(zs) == 0 {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(int64(zs[0].Score)), true, nil
}

// NextOf returns one entry's next fire.
func (c *Crons) NextOf(ctx context.Context, entry string) (time.Time, bool, error) {
	s, err := c.rdb.ZScore(ctx, c.key, entry).Result()
	if err == redis.Nil {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.UnixMilli(int64(s)), true, nil
}
