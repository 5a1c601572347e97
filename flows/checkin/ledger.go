package checkin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state"
)

// Ledger is a group's points: balances in the member records, a
// leaderboard and a monthly board (sorted sets), and every change appended
// to a capped Redis stream. All keys carry the group's hash tag, so each
// change is one atomic script.
type Ledger struct {
	s     *state.Store
	group string
	max   int64
}

// NewLedger returns a group's ledger.
func NewLedger(s *state.Store, group string, max int64) Ledger {
	return Ledger{s: s, group: group, max: max}
}

func (l Ledger) member(id string) string { return l.s.RecordKey(l.group, id) }
func (l Ledger) board() string           { return BoardKey(l.s, l.group) }

// GroupLedger is a group's ledger with the cap its checkin config sets
// (the default where the flow is off), for other flows that award points
// (wake-ups, lotteries, questionnaires).
func GroupLedger(s *state.Store, g *config.Group, group string) Ledger {
	max := defaultLedgerMax
	if c, ok := g.Flow("checkin"); ok {
		if cc, ok := c.(*Config); ok {
			max = cc.LedgerMax
		}
	}
	return NewLedger(s, group, max)
}

// BoardKey is the group's points board: its TopCap highest balances,
// what /rank and a check-in's place read.
func BoardKey(s *state.Store, group string) string { return s.Key(group, "points") }

// Balances is every member's balance, in listpack buckets (see
// state.BucketCount): what audiences and wake-ups by points read. Until
// this release the board held every member at about 105 bytes each; the
// buckets keep them at about 20, and the board only the top.
func Balances(s *state.Store, group string) state.Buckets { return s.Buckets(group, "pts") }

// TopCap is how many of the highest balances the board keeps. A member
// below it has no place (a check-in shows none, /rank says so); one who
// was let go comes back with their next change. A member who spends
// points may drop under one let go earlier, which then is missing until
// their own next change: that takes TopCap-10 members falling past them
// to show in a top ten.
const TopCap = 1000

func (l Ledger) month(t time.Time) string { return l.s.Key(l.group, "points", t.Format("2006-01")) }
func (l Ledger) stream() string           { return l.s.Key(l.group, "ledger") }

// moved marks a group whose board holds only the top (see
// MigrateBalances): until it is set, a board may still hold every member
// of the one-set layout, which a write must not cut before they are copied.
func (l Ledger) moved() string                     { return movedKey(l.s, l.group) }
func movedKey(s *state.Store, group string) string { return s.Key(group, "pts", "v") }
func (l Ledger) sold() string                      { return l.s.Key(l.group, "rewards") }
func (l Ledger) keys(id string, t time.Time) []string {
	return []string{l.member(id), l.board(), l.month(t), l.stream(), l.s.ContribKey(l.group), Balances(l.s, l.group).Key(id), l.moved()}
}

// MonthCap is how many members a month's points board keeps: it is read
// only for the month's top three badges (see state.TopIncrLua).
const MonthCap = 512

// monthTTL keeps a month's board into the month after, when its badges
// are given, and then lets it go: before, every month's board stayed.
const monthTTL = 70 * 24 * time.Hour

// TrimMonths brings the months' points boards written before MonthCap
// down to it and gives them monthTTL (run at start).
func TrimMonths(ctx context.Context, s *state.Store) (int, error) {
	return s.TrimTop(ctx, "{*}:points:[0-9][0-9][0-9][0-9]-[0-9][0-9]", MonthCap, monthTTL)
}

// change is the shared Lua for one point change; scripts below embed it.
// Points earned also count as contribution (the wake-up flow's core tier).
// KEYS: the member's record, the board, the month's board, the ledger,
// the contribution set, the member's balances bucket, the group's moved
// mark (see Ledger.keys).
var change = state.TopIncrLua + state.RecordLua + changeLua

// changeLua is change for a step composed into the ingest script, which
// has the Lua change embeds (state.RecordLua, state.TopIncrLua).
var changeLua = `
local R -- the member's record: each script opens it (KEYS[1], ARGV[2]) and saves it
local function balance(member, bal)
  redis.call('ZADD', KEYS[6], bal, member)
  -- a board begun by this version is of this layout from the start
  if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[7], '1') end
  redis.call('ZADD', KEYS[2], bal, member)
  if redis.call('EXISTS', KEYS[7]) == 1 then
    local over = redis.call('ZCARD', KEYS[2]) - ` + strconv.Itoa(TopCap) + `
    if over > 0 then redis.call('ZPOPMIN', KEYS[2], over) end
  end
end
local function change(member, d, reason, at, earn)
  local bal = rincr(R, 'pts', d)
  local earned = tonumber(rget(R, 'pts_earned') or '0')
  if d > 0 and earn then
    earned = rincr(R, 'pts_earned', d)
    topincr(KEYS[3], d, member, ` + strconv.Itoa(MonthCap) + `)
    redis.call('PEXPIRE', KEYS[3], ` + strconv.FormatInt(monthTTL.Milliseconds(), 10) + `)
    topincr(KEYS[5], d * ` + state.ContribWeightLua("at") + `, member, ` + strconv.Itoa(state.ContribCap) + `)
  end
  balance(member, bal)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'member', member, 'delta', d, 'reason', reason, 'balance', bal, 'at', at)
  return bal, earned
end
`

var awardScript = redis.NewScript(change + `
R = ropen(KEYS[1], ARGV[2])
local bal = tonumber(rget(R, 'pts') or '0')
local d = tonumber(ARGV[3])
if bal + d < 0 then return {0, bal, 0} end
local b, e = change(ARGV[2], d, ARGV[4], ARGV[5], ARGV[6] == '1')
rsave(R)
return {1, b, e}
`)

// Result is a change's outcome.
type Result struct {
	OK      bool
	Balance int64
	Earned  int64 // lifetime points earned, for levels
}

// Award adds delta (negative to take) with a reason. It refuses to take
// the balance below zero. earn counts a gain toward levels and the monthly
// board (not for refunds).
func (l Ledger) Award(ctx context.Context, member string, delta int64, reason string, at time.Time, earn bool) (Result, error) {
	e := "0"
	if earn {
		e = "1"
	}
	res, err := awardScript.Run(ctx, l.s.Client(), l.keys(member, at), l.max, member, delta, reason, at.UnixMilli(), e).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("award points: %w", err)
	}
	return Result{OK: res[0] == 1, Balance: res[1], Earned: res[2]}, nil
}

// activityFragment credits a message's activity points unless the day's
// cap is reached, counting the day's credits in the member's record, in
// one step inside the message's ingest script (ARGV as awardScript's, then
// the day, the cap and the day as the record keeps it, state.DayMark; the
// day's long form is still read, as older versions wrote it). It answers
// {credited, balance, earned}.
var activityFragment = &state.Fragment{Name: "checkin.activity", Lua: changeLua + `
R = ropen(KEYS[1], ARGV[2])
local n = 0
local ad = rget(R, 'act_day')
if ad == ARGV[9] or ad == ARGV[7] then n = tonumber(rget(R, 'act_n') or '0') end
local pts = tonumber(ARGV[3])
if (n + 1) * pts > tonumber(ARGV[8]) then return {0, 0, 0} end
rset(R, 'act_day', ARGV[9])
rset(R, 'act_n', n + 1)
local b, e = change(ARGV[2], pts, ARGV[4], ARGV[5], true)
rsave(R)
return {1, b, e}
`}

// ActivityStep credits points for a message, at most cap a day (day is
// the group's calendar day). Its answer reads with ActivityResult.
func (l Ledger) ActivityStep(member string, points, cap int, day string, at time.Time) *state.Step {
	return &state.Step{Fragment: activityFragment, Keys: l.keys(member, at),
		Args: []any{l.max, member, points, "activity", at.UnixMilli(), "1", day, cap, state.DayMark(day)}}
}

// ActivityResult reads an activity step's answer; OK is false once the
// day's cap is reached.
func ActivityResult(res []int64) Result {
	if len(res) != 3 {
		return Result{}
	}
	return Result{OK: res[0] == 1, Balance: res[1], Earned: res[2]}
}

// undoActivityScript takes back a message's activity points (the message
// was removed as spam, or its member was not verified): the balance, the
// lifetime and monthly totals, the contribution and the day's count, with
// a ledger entry that says so.
var undoActivityScript = redis.NewScript(change + `
local d = -tonumber(ARGV[3])
local at = ARGV[4]
R = ropen(KEYS[1], ARGV[2])
local ad = rget(R, 'act_day')
if ad == ARGV[6] or ad == ARGV[5] then rincr(R, 'act_n', -1) end
local bal = rincr(R, 'pts', d)
rincr(R, 'pts_earned', d)
-- a member the capped boards let go of has nothing there to take back
for _, k in ipairs({KEYS[3], KEYS[5]}) do
  local inc = d
  if k == KEYS[5] then inc = d * ` + state.ContribWeightLua("at") + ` end
  if redis.call('ZSCORE', k, ARGV[2]) then
    if tonumber(redis.call('ZINCRBY', k, inc, ARGV[2])) <= 0 then redis.call('ZREM', k, ARGV[2]) end
  end
end
balance(ARGV[2], bal)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[1], '*', 'member', ARGV[2], 'delta', d, 'reason', 'activity taken back', 'balance', bal, 'at', at)
rsave(R)
return bal
`)

// UndoActivity takes back points an activity step credited at at.
func (l Ledger) UndoActivity(ctx context.Context, member string, points int, day string, at time.Time) error {
	err := undoActivityScript.Run(ctx, l.s.Client(), l.keys(member, at), l.max, member, points, at.UnixMilli(), day, state.DayMark(day)).Err()
	if err != nil {
		return fmt.Errorf("take back activity points: %w", err)
	}
	return nil
}

// checkinScript checks a member in for today, once: streak from
// yesterday's check-in (or a make-up card for one missed day), points and
// the bonus for the streak length, in one step.
var checkinScript = redis.NewScript(change + `
R = ropen(KEYS[1], ARGV[2])
local function checkin()
local last = rget(R, 'ci_last') or ''
local streak = tonumber(rget(R, 'ci_streak') or '0')
-- the last few days credited: check-ins handled out of order (parallel
-- webhook workers, around midnight) still credit each day once
local days = rget(R, 'ci_days') or last
if string.find(',' .. days .. ',', ',' .. ARGV[3] .. ',', 1, true) then
  return {0, streak, 0, 0, tonumber(rget(R, 'pts') or '0'), 0, 0, 0}
end
local recent = ARGV[3]
local n = 1
for d in string.gmatch(days, '[^,]+') do
  if n < 4 then recent = recent .. ',' .. d; n = n + 1 end
end
rset(R, 'ci_days', recent)
if last ~= '' and ARGV[3] < last then
  -- an earlier day arriving after a later one: it counts, the streak
  -- (of the later day) stays
  local gained = tonumber(ARGV[6])
  local bal, earned = change(ARGV[2], gained, 'checkin', ARGV[9], true)
  local total = rincr(R, 'ci_total', 1)
  return {1, streak, gained, 0, bal, earned, total, 0}
end
local card = 0
if last == ARGV[4] then
  streak = streak + 1
elseif last == ARGV[5] and ARGV[7] == '1' and tonumber(rget(R, 'ci_cards') or '0') > 0 then
  rincr(R, 'ci_cards', -1)
  streak = streak + 1
  card = 1
else
  streak = 1
end
local bonus = 0
for len, amt in string.gmatch(ARGV[8], '(%d+):(%d+)') do
  if tonumber(len) == streak then bonus = tonumber(amt) end
end
local gained = tonumber(ARGV[6]) + bonus
local bal, earned = change(ARGV[2], gained, 'checkin', ARGV[9], true)
local best = tonumber(rget(R, 'ci_best') or '0')
if streak > best then best = streak end
rset(R, 'ci_last', ARGV[3])
rset(R, 'ci_streak', streak)
rset(R, 'ci_best', best)
local total = rincr(R, 'ci_total', 1)
return {1, streak, gained, bonus, bal, earned, total, card}
end
local r = checkin()
if r[1] == 1 then rsave(R) end
-- the member's place on the board, and whether this is the group's first
-- check-in since last month ended (KEYS[8], ARGV[10]): the caller then
-- hands out last month's badges
local rank = redis.call('ZREVRANK', KEYS[2], ARGV[2])
r[9] = rank and rank + 1 or 0
r[10] = redis.call('HSETNX', KEYS[8], ARGV[10], '1')
return r
`)

// Checkin is a check-in's outcome.
type Checkin struct {
	Done     bool // false: already checked in today
	Streak   int64
	Gained   int64
	Bonus    int64
	Balance  int64
	Earned   int64
	Total    int64
	CardUsed bool
	Rank     int64 // place on the board after the check-in (0: none)
	// MonthEnded: the group's first check-in since a month ended; Month
	// is that month (its top three get their badges)
	MonthEnded bool
	Month      time.Time
}

// CheckIn records today's check-in. today, yesterday and dayBefore are
// calendar dates in the group's time zone.
func (l Ledger) CheckIn(ctx context.Context, member string, at time.Time, loc *time.Location, points int, bonus map[int]int, makeup bool) (Checkin, error) {
	local := at.In(loc)
	day := func(n int) string { return local.AddDate(0, 0, -n).Format("2006-01-02") }
	var spec []string
	for n, b := range bonus {
		spec = append(spec, fmt.Sprintf("%d:%d", n, b))
	}
	sort.Strings(spec)
	mk := "0"
	if makeup {
		mk = "1"
	}
	prev := time.Date(local.Year(), local.Month(), 1, 12, 0, 0, 0, loc).AddDate(0, -1, 0)
	keys := append(l.keys(member, local), l.s.Key(l.group, "g"))
	res, err := checkinScript.Run(ctx, l.s.Client(), keys, l.max, member, day(0), day(1), day(2), points,
		mk, strings.Join(spec, ","), at.UnixMilli(), "top3:"+prev.Format("2006-01")).Int64Slice()
	if err != nil {
		return Checkin{}, fmt.Errorf("check in: %w", err)
	}
	return Checkin{Done: res[0] == 1, Streak: res[1], Gained: res[2], Bonus: res[3], Balance: res[4], Earned: res[5], Total: res[6],
		CardUsed: res[7] == 1, Rank: res[8], MonthEnded: res[9] == 1, Month: prev}, nil
}

// redeemScript sells one reward: enough points, stock left, under the
// member's limit — all checked and applied at once, so concurrent
// redemptions never oversell or overdraw.
var redeemScript = redis.NewScript(change + `
R = ropen(KEYS[1], ARGV[2])
local cost, stock, per = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local bal = tonumber(rget(R, 'pts') or '0')
if bal < cost then return {-1, bal, 0} end
local sold = tonumber(redis.call('HGET', KEYS[8], ARGV[6]) or '0')
if stock > 0 and sold >= stock then return {-2, bal, 0} end
local mine = tonumber(redis.call('HGET', KEYS[8], ARGV[6] .. ':' .. ARGV[2]) or '0')
if per > 0 and mine >= per then return {-3, bal, mine} end
redis.call('HINCRBY', KEYS[8], ARGV[6], 1)
redis.call('HINCRBY', KEYS[8], ARGV[6] .. ':' .. ARGV[2], 1)
local b = change(ARGV[2], -cost, 'redeem:' .. ARGV[6], ARGV[7], false)
rsave(R)
local left = -1
if stock > 0 then left = stock - sold - 1 end
return {1, b, left}
`)

// Redeem outcomes.
const (
	RedeemOK       = 1
	RedeemNoPoints = -1
	RedeemSoldOut  = -2
	RedeemLimit    = -3
)

// Redeem spends points on a reward. status is one of the Redeem constants;
// left is the stock left (-1 unlimited).
func (l Ledger) Redeem(ctx context.Context, member string, r *Reward, at time.Time) (status int, balance, left int64, err error) {
	keys := append(l.keys(member, at), l.sold())
	res, err := redeemScript.Run(ctx, l.s.Client(), keys, l.max, member, r.Cost, r.Stock, r.PerMember, r.ID, at.UnixMilli()).Int64Slice()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("redeem %s: %w", r.ID, err)
	}
	return int(res[0]), res[1], res[2], nil
}

// Unsell gives a sale back (a code pool ran dry after the sale).
func (l Ledger) Unsell(ctx context.Context, member, id string) error {
	_, err := l.s.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HIncrBy(ctx, l.sold(), id, -1)
		p.HIncrBy(ctx, l.sold(), id+":"+member, -1)
		return nil
	})
	return err
}

// Sold returns how many of a reward were sold.
func (l Ledger) Sold(ctx context.Context, id string) (int64, error) {
	n, err := l.s.Client().HGet(ctx, l.sold(), id).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	return n, err
}

// Rank returns a member's place (1-based; 0 when not ranked) and score.
func (l Ledger) Rank(ctx context.Context, member string) (int64, error) {
	r, err := l.s.Client().ZRevRank(ctx, l.board(), member).Result()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("rank: %w", err)
	}
	return r + 1, nil
}

// Top returns the first n of a board.
func (l Ledger) Top(ctx context.Context, key string, n int) ([]redis.Z, error) {
	z, err := l.s.Client().ZRevRangeWithScores(ctx, key, 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("leaderboard: %w", err)
	}
	return z, nil
}

// Entry is one ledger line.
type Entry struct {
	ID      string
	At      time.Time
	Member  string
	Delta   int64
	Reason  string
	Balance int64
}

// Entries reads the ledger from oldest to newest, calling fn for each.
func (l Ledger) Entries(ctx context.Context, fn func(Entry) error) error {
	start := "-"
	for {
		msgs, err := l.s.Client().XRangeN(ctx, l.stream(), start, "+", 1000).Result()
		if err != nil {
			return fmt.Errorf("read ledger: %w", err)
		}
		for _, m := range msgs {
			e := Entry{ID: m.ID, Member: str(m.Values["member"]), Reason: str(m.Values["reason"])}
			e.Delta, _ = strconv.ParseInt(str(m.Values["delta"]), 10, 64)
			e.Balance, _ = strconv.ParseInt(str(m.Values["balance"]), 10, 64)
			ms, _ := strconv.ParseInt(str(m.Values["at"]), 10, 64)
			e.At = time.UnixMilli(ms)
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(msgs) < 1000 {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// MemberEntries returns a member's latest n ledger entries, newest first,
// looking back over the group's latest 20,000 (the ledger is one stream
// per group; a member quiet for longer shows fewer).
func (l Ledger) MemberEntries(ctx context.Context, member string, n int) ([]Entry, error) {
	var out []Entry
	end := "+"
	for seen := 0; seen < 20000 && len(out) < n; {
		msgs, err := l.s.Client().XRevRangeN(ctx, l.stream(), end, "-", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("%w: read ledger: %w", state.ErrRedis, err)
		}
		for _, m := range msgs {
			if str(m.Values["member"]) != member || len(out) == n {
				continue
			}
			e := Entry{ID: m.ID, Member: member, Reason: str(m.Values["reason"])}
			e.Delta, _ = strconv.ParseInt(str(m.Values["delta"]), 10, 64)
			e.Balance, _ = strconv.ParseInt(str(m.Values["balance"]), 10, 64)
			ms, _ := strconv.ParseInt(str(m.Values["at"]), 10, 64)
			e.At = time.UnixMilli(ms)
			out = append(out, e)
		}
		seen += len(msgs)
		if len(msgs) < 1000 {
			break
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, nil
}

// copyBalancesScript puts board entries into their buckets (KEYS, one per
// entry; ARGV the entries' ids and scores) where a bucket does not have
// the member already: a balance written there since is newer.
var copyBalancesScript = redis.NewScript(`
local n = 0
for i = 1, #KEYS do
  if not redis.call('ZSCORE', KEYS[i], ARGV[2 * i - 1]) then
    redis.call('ZADD', KEYS[i], ARGV[2 * i], ARGV[2 * i - 1])
    n = n + 1
  end
end
return n
`)

// MigrateBalances brings boards of the one-set layout (every member's
// balance on the board) to this one: the balances are copied into the
// buckets (Balances), 500 a script, and the board keeps its TopCap
// highest. A group's marker key says it was done. It answers how many
// balances it copied; it runs before qunbot serves, since audiences and
// wake-ups by points read the buckets.
func MigrateBalances(ctx context.Context, s *state.Store) (int, error) {
	prefix := s.GlobalKey("")
	c := s.Client()
	copied := 0
	iter := c.Scan(ctx, 0, prefix+"{*}:points", 2000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if !strings.HasPrefix(key, prefix+"{") || !strings.HasSuffix(key, "}:points") {
			continue
		}
		group := key[len(prefix)+1 : len(key)-len("}:points")]
		marker := movedKey(s, group)
		if n, err := c.Exists(ctx, marker).Result(); err != nil {
			return copied, fmt.Errorf("move balances of %s: %w", group, err)
		} else if n > 0 {
			continue
		}
		if t, err := c.Type(ctx, key).Result(); err != nil {
			return copied, fmt.Errorf("move balances of %s: %w", group, err)
		} else if t != "zset" {
			continue // not ours
		}
		b := Balances(s, group)
		for start := int64(0); ; start += 500 {
			zs, err := c.ZRangeWithScores(ctx, key, start, start+499).Result()
			if err != nil {
				return copied, fmt.Errorf("move balances of %s: %w", group, err)
			}
			if len(zs) == 0 {
				break
			}
			keys := make([]string, len(zs))
			args := make([]any, 0, 2*len(zs))
			for i, z := range zs {
				id, _ := z.Member.(string)
				keys[i] = b.Key(id)
				args = append(args, id, strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
			n, err := copyBalancesScript.Run(ctx, c, keys, args...).Int()
			if err != nil {
				return copied, fmt.Errorf("move balances of %s: %w", group, err)
			}
			copied += n
		}
		// the lowest go, 10,000 a command, so a big board does not hold
		// Redis long
		for {
			over, err := c.ZCard(ctx, key).Result()
			if err != nil {
				return copied, fmt.Errorf("trim the board of %s: %w", group, err)
			}
			if over -= TopCap; over <= 0 {
				break
			}
			if err := c.ZPopMin(ctx, key, min(over, 10000)).Err(); err != nil {
				return copied, fmt.Errorf("trim the board of %s: %w", group, err)
			}
		}
		if err := c.Set(ctx, marker, "1", 0).Err(); err != nil {
			return copied, fmt.Errorf("move balances of %s: %w", group, err)
		}
	}
	if err := iter.Err(); err != nil {
		return copied, fmt.Errorf("scan points boards: %w", err)
	}
	return copied, nil
}
