package state

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Daily KPI records: one hash per group and calendar day (the group's
// zone), {group}:kpi:<day>, kept KPIKeep; and one HyperLogLog of the day's
// active members, {group}:kpi:<day>:hll, kept HLLKeep — long enough to
// count the 30 days that end on any day still being closed. A day's record
// is a few dozen small fields (listpack-encoded by Redis), so 400 days of
// a group take some 100 KB whatever its size.
const (
	KPIKeep = 400 * 24 * time.Hour
	HLLKeep = 32 * 24 * time.Hour
)

// KPIKey is a group's record of day (2006-01-02).
func (s *Store) KPIKey(group, day string) string { return s.Key(group, "kpi", day) }

// KPIHLLKey is a group's HyperLogLog of the members active on day.
func (s *Store) KPIHLLKey(group, day string) string { return s.Key(group, "kpi", day, "hll") }

// Tally is what a handled update adds to its group's day record.
type Tally struct {
	Group string
	Day   string // the group's calendar day of the update
	// Active is a member whose first message of the day counted (see
	// MessageFragment): added to the day's HyperLogLog ("" none).
	Active string
	// Presence: the update may change who is present (a join, a leave),
	// so the day's member count is read again
	Presence bool
	// Unactive is a member whose message the ingest counted active but a
	// flow removed, and who had no other that day: not active after all
	Unactive string
	Counts   map[string]int64
	// At is the update's time (a newcomer's days since joining)
	At time.Time
}

// tallyScript marks an update done and adds its tally, atomically and
// once: an update another process marked done first (it held the update
// past its lease) adds nothing. KEYS: update key, day record, day HLL,
// the member's record bucket, present count. ARGV: the packed update id
// (dedupeArg; '0' for updates without an id), record and HLL lifetimes
// (ms), active member, day, flags ('p': count the members again, 'u':
// the member is not active after all), the update's time (ms), the
// member (active or unactive), then field and delta pairs.
var tallyScript = redis.NewScript(dedupeLua + RecordLua + `
if ARGV[1] ~= '0' then
  local w, h, f = uarg(ARGV[1])
  if not w then return redis.error_reply('tally: bad id argument') end
  local cur, key, m = ufind(KEYS[1], w, h, f, nil)
  if udone(cur) then return 0 end
  if cur then uset(KEYS[1], w, h, f, nil, umark(cur, w), key, m) end
end
for i = 9, #ARGV, 2 do
  -- '=name': a level (set), else a count (added)
  if string.sub(ARGV[i], 1, 1) == '=' then redis.call('HSET', KEYS[2], string.sub(ARGV[i], 2), ARGV[i + 1])
  else redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
-- the member count changes with joins and leaves (ARGV[6]), and when
-- someone not seen before speaks: a member's first message of the day
-- covers that
local present = string.find(ARGV[6], 'p', 1, true) ~= nil
if string.find(ARGV[6], 'u', 1, true) then
  local r = ropen(KEYS[4], ARGV[8])
  if rget(r, 'kd') then
    rdel(r, 'kd')
    rsave(r)
  end
end
if ARGV[4] ~= '' then
  if redis.call('PFADD', KEYS[3], ARGV[4]) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
  -- the newcomer's funnel and retention: active on day 1, 7, 30 after
  -- joining (r1, r7, r30), in days 1-7 (a7), on day 30 or later (a30)
  local r = ropen(KEYS[4], ARGV[8])
  local j = tonumber(rget(r, 'joined_at') or '0') or 0
  if j > 0 then
    local d = math.floor((tonumber(ARGV[7]) - j) / 86400000)
    local marks = {}
    if d == 1 then marks[#marks + 1] = 'r1' end
    if d == 7 then marks[#marks + 1] = 'r7' end
    if d == 30 then marks[#marks + 1] = 'r30' end
    if d >= 1 and d <= 7 then marks[#marks + 1] = 'a7' end
    if d >= 30 then marks[#marks + 1] = 'a30' end
    local changed = false
    for _, k in ipairs(marks) do
      if rget(r, k) ~= '1' then rset(r, k, '1'); changed = true end
    end
    if changed then rsave(r) end
  end
end
if present then redis.call('HSET', KEYS[2], 'members', tonumber(redis.call('GET', KEYS[5]) or '0')) end
if present or redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
`)

func (s *Store) tallyCall(ctx context.Context, p redis.Pipeliner, updateID string, t *Tally) {
	mark, uk := "0", s.KPIKey(t.Group, t.Day)
	if updateID != "" {
		mark, uk = s.dedupeArg(updateID), s.dedupeMeta(t.Group)
	}
	member := t.Active
	flags := "-"
	if t.Presence {
		flags += "p"
	}
	if t.Unactive != "" {
		flags += "u"
		member = t.Unactive
	}
	keys := []string{uk, s.KPIKey(t.Group, t.Day), s.KPIHLLKey(t.Group, t.Day), s.RecordKey(t.Group, member), s.presentKey(t.Group)}
	args := []any{mark, KPIKeep.Milliseconds(), HLLKeep.Milliseconds(), t.Active, t.Day, flags, t.At.UnixMilli(), member}
	names := make([]string, 0, len(t.Counts))
	for k := range t.Counts {
		names = append(names, k)
	}
	sort.Strings(names) // deterministic scripts for tests
	for _, k := range names {
		args = append(args, k, t.Counts[k])
	}
	tallyScript.EvalSha(ctx, p, keys, args...)
}

// MessageFragment counts a member's message in the day's record inside
// the ingest script: the message, the member as active (exact, by the
// member record's last counted day), and the members present when the
// member's first message of the day may have changed that. It answers
// {1} when this was the member's first counted message of the day: the
// done mark then adds the member to the day's HyperLogLog (Tally.Active),
// once the flows did not remove the message — a HyperLogLog cannot
// forget a spammer.
var MessageFragment = &Fragment{Name: "kpi.msg", Lua: `
redis.call('HINCRBY', KEYS[1], 'msgs', 1)
local r = ropen(KEYS[2], ARGV[1])
local kd = rget(r, 'kd')
if kd ~= ARGV[4] and kd ~= ARGV[2] then
  rset(r, 'kd', ARGV[4])
  rsave(r)
  redis.call('HINCRBY', KEYS[1], 'dau', 1)
  redis.call('HSET', KEYS[1], 'members', tonumber(redis.call('GET', KEYS[3]) or '0'))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1}
end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {0}
`}

// MessageStep is MessageFragment's step for a member's message on day.
func (s *Store) MessageStep(group, member, day string) *Step {
	return &Step{Fragment: MessageFragment,
		Keys: []string{s.KPIKey(group, day), s.RecordKey(group, member), s.presentKey(group)},
		Args: []any{member, day, KPIKeep.Milliseconds(), DayMark(day)}}
}

// DayMark is how a member's record keeps a day it marks (the day last
// counted active, the day of the activity points cap): "2026-12-01" as
// "261201". Ten characters in place of six took the record over a Redis
// allocation size: 32 bytes a member with every flow (296 → 264,
// MEMORY USAGE). Scripts still read the long form older versions wrote.
func DayMark(day string) string {
	if len(day) != 10 || day[4] != '-' || day[7] != '-' {
		return day
	}
	return day[2:4] + day[5:7] + day[8:10]
}

// closeDayScript records a finished day's WAU and MAU from the daily
// HyperLogLogs (KEYS[2..8] the 7 days ending on it, KEYS[2..31] the 30).
var closeDayScript = redis.NewScript(unionLua + `
local w = union(KEYS[1] .. ':u', 2, 8)
local m = union(KEYS[1] .. ':u', 2, 31)
-- a day before the group's first record stays without one
if w > 0 or m > 0 or redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'wau', w, 'mau', m)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {w, m}
`)

// unionLua counts the members of several HyperLogLogs (KEYS[from..to])
// by merging them into a scratch key (in the group's slot) first. PFCOUNT
// of several keys does that by itself in Redis, but the embedded store
// (miniredis v2.40.0) adds their counts up instead — 700 weekly actives in
// a group of 500 — so the merge is spelled out.
const unionLua = `
local function union(tmp, from, to)
  redis.call('PFMERGE', tmp, unpack(KEYS, from, to))
  local n = redis.call('PFCOUNT', tmp)
  redis.call('DEL', tmp)
  return n
end
`

var rollingScript = redis.NewScript(unionLua + `
return union(KEYS[1], 2, #KEYS)
`)

// CloseDayKeys are closeDayScript's keys for a group's day.
func (s *Store) closeDayKeys(group, day string) []string {
	d, err := time.Parse("2006-01-02", day)
	if err != nil {
		return nil
	}
	keys := []string{s.KPIKey(group, day)}
	for i := 0; i < 30; i++ {
		keys = append(keys, s.KPIHLLKey(group, d.AddDate(0, 0, -i).Format("2006-01-02")))
	}
	return keys
}

// Rolling counts the members active in the n days ending on day (n ≤ 30),
// from the daily HyperLogLogs; days older than HLLKeep are gone.
func (s *Store) Rolling(ctx context.Context, group, day string, n int) (int64, error) {
	keys := s.closeDayKeys(group, day)
	if keys == nil || n < 1 || n > 30 {
		return 0, errors.New("rolling actives: bad day or window")
	}
	v, err := rollingScript.Run(ctx, s.rdb, append([]string{keys[0] + ":r"}, keys[1:1+n]...)).Int64()
	return v, wrap("count rolling actives", err)
}

// Tallies writes updates' done marks and tallies, and closes finished
// days, in one pipelined round trip.
func (s *Store) Tallies(ctx context.Context, us []Update, closeDays []DayOf) error {
	err := s.tallies(ctx, us, closeDays)
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		// Redis restarted and forgot the scripts: nothing of the scripts
		// ran, and the plain marks may be written twice
		s.tallyLoaded.Store(false)
		err = s.tallies(ctx, us, closeDays)
	}
	return err
}

func (s *Store) tallies(ctx context.Context, us []Update, closeDays []DayOf) error {
	if err := s.loadTallyScripts(ctx); err != nil {
		return err
	}
	cmds, _ := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, u := range us {
			if u.Tally != nil {
				s.tallyCall(ctx, p, u.ID, u.Tally)
			} else if u.ID != "" {
				updateScript.EvalSha(ctx, p, []string{s.dedupeMeta(u.Group)}, s.dedupeArg(u.ID), "done")
			}
		}
		for _, c := range closeDays {
			if keys := s.closeDayKeys(c.Group, c.Day); keys != nil {
				closeDayScript.EvalSha(ctx, p, keys, KPIKeep.Milliseconds())
			}
		}
		return nil
	})
	for _, c := range cmds {
		// nil: an update without a key (no de-duplication for it)
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return wrap("mark updates done", err)
		}
	}
	return nil
}

// DayOf names a group's day.
type DayOf struct{ Group, Day string }

func (s *Store) loadTallyScripts(ctx context.Context) error {
	// EvalSha in a pipeline needs the scripts loaded; checking each time
	// would cost a round trip, so load once per store (and again after a
	// NOSCRIPT, see Tallies' caller)
	if s.tallyLoaded.Load() {
		return nil
	}
	for _, sc := range []*redis.Script{tallyScript, closeDayScript, updateScript} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return wrap("load kpi scripts", err)
		}
	}
	s.tallyLoaded.Store(true)
	return nil
}

// KPIDays reads a group's day records, one map per day asked (empty for a
// day without one).
func (s *Store) KPIDays(ctx context.Context, group string, days []string) ([]map[string]int64, error) {
	cmds := make([]*redis.MapStringStringCmd, len(days))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, d := range days {
			cmds[i] = p.HGetAll(ctx, s.KPIKey(group, d))
		}
		return nil
	})
	if err != nil {
		return nil, wrap("read kpi days", err)
	}
	out := make([]map[string]int64, len(days))
	for i, c := range cmds {
		out[i] = map[string]int64{}
		for k, v := range c.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				out[i][k] = n
			}
		}
	}
	return out, nil
}

// Newcomer is one member of a join cohort, as the funnel reads it.
type Newcomer struct {
	ID                   string
	JoinedAt, LeftAt     time.Time
	Present              bool
	Verified             bool   // passed entry verification (v_state passed)
	Spoke                bool   // a first real message since joining
	Active1to7, Active30 bool   // active in days 1-7 after joining; on day 30 or later
	Day1, Day7, Day30    bool   // active on exactly day 1, 7, 30 after joining
	Source               string // what brought them (join_src; see bot.Event.Source)
}

// Newcomers reads the members who joined in [from, to), with what the
// funnel needs, in pages of 500 (one round trip each).
func (s *Store) Newcomers(ctx context.Context, group string, from, to time.Time) ([]Newcomer, error) {
	zs, err := s.Joined(group).Range(ctx, ms(from), "("+ms(to), 0, false)
	ids := ids(zs)
	if err != nil {
		return nil, wrap("read joins", err)
	}
	out := make([]Newcomer, 0, len(ids))
	for start := 0; start < len(ids); start += 500 {
		page, err := s.Members(ctx, group, ids[start:min(start+500, len(ids))])
		if err != nil {
			return nil, wrap("read newcomers", err)
		}
		for _, m := range page {
			f := m.Fields
			out = append(out, Newcomer{ID: m.ID, JoinedAt: m.JoinedAt, LeftAt: m.LeftAt, Present: m.Present,
				Verified: f["v_state"] == "passed", Spoke: !m.ActivatedAt.IsZero(), Active1to7: f["a7"] == "1", Active30: f["a30"] == "1",
				Day1: f["r1"] == "1", Day7: f["r7"] == "1", Day30: f["r30"] == "1", Source: f["join_src"]})
		}
	}
	return out, nil
}
