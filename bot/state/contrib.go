package state

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Contribution is a member's recent messages and points, decayed by age
// with a half-life of ContribHalfLife: what "core member" means. It lives
// in one sorted set per group, added to at the moment of each message or
// point gain with a weight that grows over time (2^(t/half-life)), so
// older contributions shrink relative to new ones without ever being
// rewritten. That costs no extra Redis round trip on a message (the ingest
// script adds it) and ranks a million members with one ZREVRANGE, where
// exact 30-day windows would need a union of thirty daily sets per scan.
const ContribHalfLife = 15 * 24 * time.Hour

// contribEpoch keeps the weights small: 2^(years*24) stays far inside a
// double's range for centuries.
var contribEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ContribWeightLua is the Lua expression for the weight of a contribution
// at the millisecond time held in the Lua variable msVar. Scripts that add
// contributions (messages here, points in the ledger) embed it, so every
// writer weighs alike.
func ContribWeightLua(msVar string) string {
	return fmt.Sprintf("math.pow(2, (tonumber(%s) - %d) / %d)", msVar, contribEpoch.UnixMilli(), ContribHalfLife.Milliseconds())
}

// ContribWeight is the weight of a contribution made at t.
func ContribWeight(t time.Time) float64 {
	return math.Pow(2, float64(t.UnixMilli()-contribEpoch.UnixMilli())/float64(ContribHalfLife.Milliseconds()))
}

// ContribKey is the group's contribution sorted set.
func (s *Store) ContribKey(group string) string { return s.Key(group, "contrib") }

// ContribCap is how many members a group's contribution set keeps: only
// its top is ever read (the core tier, the weekly report's and the
// dashboard's leaders), and a set of every member cost about 100 bytes of
// Redis each. See TopIncrLua.
const ContribCap = 2048

// TopIncrLua defines topincr(key, inc, member, cap), ZINCRBY on a sorted
// set kept to its cap highest members by the Space-Saving algorithm
// (Metwally, Agrawal, El Abbadi 2005): a member not in a full set takes
// the lowest member's place and starts from that member's score. A member
// whose true total exceeds the lowest score in the set is in it, and a
// score overstates a member's total by at most the lowest score at the
// time they came in — in a chat, where a few members write most of the
// messages, the top of the set is exact. A set over its cap (written
// before the cap, or by an older replica) is brought down 256 at a time.
const TopIncrLua = `
local function topincr(key, inc, member, cap)
  if not redis.call('ZSCORE', key, member) then
    local n = redis.call('ZCARD', key)
    if n >= cap then
      local low = redis.call('ZPOPMIN', key, math.min(n - cap + 1, 256))
      inc = inc + tonumber(low[#low])
    end
  end
  return redis.call('ZINCRBY', key, inc, member)
end
`

// TrimTop brings sorted sets matching pattern (under the store's prefix,
// e.g. "{*}:contrib") down to their cap highest members, and gives those
// without a time to live ttl (0: none). It runs at start, so sets of
// groups gone quiet shrink too; it reports how many sets it changed.
func (s *Store) TrimTop(ctx context.Context, pattern string, limit int64, ttl time.Duration) (int, error) {
	changed := 0
	iter := s.rdb.Scan(ctx, 0, s.prefix+pattern, 2000).Iterator()
	for iter.Next(ctx) {
		did := false
		for {
			// -1: trimmed and more to go; 1: changed; 0: nothing to do
			n, err := trimScript.Run(ctx, s.rdb, []string{iter.Val()}, limit, ttl.Milliseconds()).Int()
			if err != nil {
				return changed, wrap("trim "+iter.Val(), err)
			}
			did = did || n != 0
			if n >= 0 {
				break
			}
		}
		if did {
			changed++
		}
	}
	if err := iter.Err(); err != nil {
		return changed, wrap("scan "+pattern, err)
	}
	return changed, nil
}

// trimScript trims one sorted set (anything else under the pattern is
// not ours) to ARGV[1] members, 10,000 removals a call so a big old set
// does not hold Redis long, and sets its TTL if it has none (ARGV[2] ms).
var trimScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then return 0 end
local changed = 0
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if over > 10000 then
  redis.call('ZPOPMIN', KEYS[1], 10000)
  return -1
end
if over > 0 then
  redis.call('ZPOPMIN', KEYS[1], over)
  changed = 1
end
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  changed = 1
end
return changed
`)

// Contributor is a member and their decayed contribution as of a time.
type Contributor struct {
	ID    string
	Score float64 // messages + points, each halved per ContribHalfLife of age
}

// TopContributors returns the n members with the most contribution as of
// now, most first.
func (s *Store) TopContributors(ctx context.Context, group string, n int64, now time.Time) ([]Contributor, error) {
	zs, err := s.rdb.ZRevRangeWithScores(ctx, s.ContribKey(group), 0, n-1).Result()
	if err != nil {
		return nil, wrap("read contributions", err)
	}
	w := ContribWeight(now)
	out := make([]Contributor, 0, len(zs))
	for _, z := range zs {
		id, _ := z.Member.(string)
		out = append(out, Contributor{ID: id, Score: z.Score / w})
	}
	return out, nil
}

// LastActive returns the last-activity times of members (zero for members
// not in the group), in one round trip.
func (s *Store) LastActive(ctx context.Context, group string, ids ...string) ([]time.Time, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	sc, err := s.active(group).Scores(ctx, ids)
	if err != nil {
		return nil, wrap("read activity", err)
	}
	out := make([]time.Time, len(sc))
	for i, v := range sc {
		if v > 0 {
			out[i] = time.UnixMilli(int64(v))
		}
	}
	return out, nil
}

// ActiveBetween counts present members whose last activity is in
// [from, to).
func (s *Store) ActiveBetween(ctx context.Context, group string, from, to time.Time) (int64, error) {
	min, max := "-inf", "+inf"
	if !from.IsZero() {
		min = ms(from)
	}
	if !to.IsZero() {
		max = "(" + ms(to)
	}
	n, err := s.active(group).Count(ctx, min, max)
	return n, wrap("count members by activity", err)
}

// Activity is a member and their last activity.
type Activity struct {
	ID   string
	Last time.Time
}

// ScanActivity pages through present members whose last activity is in
// [from, to), oldest first (ties by id), in batches of size: the scan
// behind wake-up messages. fn returns false to stop. The buckets are
// merged in time order; each is read a page at a time, resuming after
// its last score, so a million members are read in short commands
// rather than one that blocks Redis.
func (s *Store) ScanActivity(ctx context.Context, group string, from, to time.Time, size int64, fn func([]Activity) (bool, error)) error {
	min := "-inf"
	if !from.IsZero() {
		min = ms(from)
	}
	return s.scanActive(ctx, group, min, "("+ms(to), size, fn)
}

// unrecordScript takes back what ingesting a message recorded: the
// activity, the message count, the contribution, a first message.
var unrecordScript = redis.NewScript(RecordLua + `
local prev, at = tonumber(ARGV[1]), ARGV[2]
local m = ropen(KEYS[1], ARGV[3])
if prev > 0 then
  rset(m, 'last_active', ARGV[1])
  if redis.call('ZSCORE', KEYS[2], ARGV[3]) then redis.call('ZADD', KEYS[2], prev, ARGV[3]) end
end
if tonumber(rget(m, 'msgs') or '0') > 0 then rincr(m, 'msgs', -1) end
if redis.call('ZSCORE', KEYS[3], ARGV[3]) then -- the capped set may have let them go
  local c = redis.call('ZINCRBY', KEYS[3], -` + ContribWeightLua("at") + `, ARGV[3])
  if tonumber(c) <= 0 then redis.call('ZREM', KEYS[3], ARGV[3]) end
end
if rget(m, 'activated_at') == at then
  rdel(m, 'activated_at')
  redis.call('ZREM', KEYS[4], ARGV[3])
end
if rget(m, 'first_msg_at') == at then rdel(m, 'first_msg_at') end
rsave(m)
return 1
`)

// Unrecord takes back a message's effect on the member record (a message
// the ad filter removed): it never counts as activity, a message, a
// contribution or a newcomer's first words. prev is the member's last
// activity before the message (Member.PrevActive).
func (s *Store) Unrecord(ctx context.Context, group, member string, prev, at time.Time) error {
	p := int64(0)
	if !prev.IsZero() {
		p = prev.UnixMilli()
	}
	err := unrecordScript.Run(ctx, s.rdb, []string{s.RecordKey(group, member), s.ActiveKey(group, member), s.ContribKey(group), s.activated(group).Key(member)},
		p, at.UnixMilli(), member).Err()
	return wrap("unrecord message", err)
}
