// Package audience picks the members a broadcast is for: tiers, tags
// (any, all, none), points, when they joined. It is resolved inside
// Redis with sorted-set operations on the sets qunbot keeps anyway (the
// last-active set, the tag sets, the points board, the joined set), so
// an audience over a million members is a few set operations, not a
// read of every member.
package audience

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/tags"
	"github.com/qunbot/qunbot/flows/wakeup"
)

// Spec is an audience. Every condition given must hold; an empty Spec is
// everyone present.
type Spec struct {
	// Tiers, any of: core, active, silent, churned (the wake-up flow's).
	Tiers []string `yaml:"tiers"`
	// Tags: a list means any of them; or {any: […], all: […], none: […]}.
	Tags TagSpec `yaml:"tags"`
	// MinPoints: a points balance of at least this (levels are points).
	MinPoints int64 `yaml:"min_points"`
	// JoinedWithin: joined in the last this long; JoinedBefore: joined
	// more than this long ago.
	JoinedWithin config.Duration `yaml:"joined_within"`
	JoinedBefore config.Duration `yaml:"joined_before"`
	// InvitedBy: members who joined through this member's invite link
	// (the checkin flow's invites).
	InvitedBy string `yaml:"invited_by"`
}

// TagSpec is the tag conditions (the tags flow's, which wake-up stages
// take too).
type TagSpec = tags.Spec

var tierNames = []string{"core", "active", "silent", "churned"}

// Validate reports a spec's problems (field names relative to it).
func (s *Spec) Validate(report func(field, msg string)) {
	for _, t := range s.Tiers {
		if !slices.Contains(tierNames, t) {
			report("tiers", fmt.Sprintf("%q is not a tier (core, active, silent, churned)", t))
		}
	}
	if s.MinPoints < 0 || s.JoinedWithin.D() < 0 || s.JoinedBefore.D() < 0 {
		report("min_points", "points and durations are not negative")
	}
}

// IsZero reports whether the spec picks everyone present.
func (s *Spec) IsZero() bool {
	return s == nil || (len(s.Tiers) == 0 && len(s.Tags.Any)+len(s.Tags.All)+len(s.Tags.None) == 0 && s.MinPoints == 0 &&
		s.JoinedWithin == 0 && s.JoinedBefore == 0 && s.InvitedBy == "")
}

// Parse reads a spec from words, as /audience takes it:
// "tiers=silent,churned tags=辅食 all=a,b none=c points=100 within=30d before=90d".
func Parse(words []string) (*Spec, error) {
	s := &Spec{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("%q: write key=value", w)
		}
		list := strings.Split(v, ",")
		switch k {
		case "tiers", "tier":
			s.Tiers = list
		case "tags", "any":
			s.Tags.Any = list
		case "all":
			s.Tags.All = list
		case "none":
			s.Tags.None = list
		case "invited_by", "by":
			s.InvitedBy = v // an id, or @username (the command resolves it)
		case "points":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("points=%s: not a number", v)
			}
			s.MinPoints = n
		case "within", "before":
			d, err := config.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("%s=%s: %v", k, v, err)
			}
			if k == "within" {
				s.JoinedWithin = config.Duration(d)
			} else {
				s.JoinedBefore = config.Duration(d)
			}
		default:
			return nil, fmt.Errorf("%q: keys are tiers, tags, all, none, points, within, before, by", k)
		}
	}
	var problems []string
	s.Validate(func(_, msg string) { problems = append(problems, msg) })
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return s, nil
}

// resolveScript builds the audience in a scratch set (KEYS[1]) and
// answers its size, or its members when ARGV[1] is 'list'. ARGV[2] is now
// (ms), ARGV[3] how to begin — 'all' (the last-active set, KEYS[2]),
// 'tags' (the union or intersection of tag sets, then only members
// present, scored by last activity: the small end of a big group), or
// 'ranges' (the last-active set's score ranges of the tiers wanted) —
// then the steps as name/argument runs (see Resolve). Scratch keys share
// the group's slot.
var resolveScript = redis.NewScript(`
local out = KEYS[1]
local now = tonumber(ARGV[2])
local tmp = out .. ':t'
-- the last-active set is kept in buckets (KEYS[2..]): one set of them
-- for this resolution
local base = out .. ':b'
redis.call('ZUNIONSTORE', base, #KEYS - 1, unpack(KEYS, 2))
local function intersect(src)
  redis.call('ZINTERSTORE', out, 2, out, src, 'WEIGHTS', 1, 0)
end
local function live(sets) -- drop expired tags
  for _, k in ipairs(sets) do redis.call('ZREMRANGEBYSCORE', k, '-inf', now) end
end
local i = 4
local start = ARGV[3]
if start == 'all' then
  redis.call('ZUNIONSTORE', out, 1, base)
elseif start == 'tags' then
  local kind, n = ARGV[4], tonumber(ARGV[5])
  local sets = {unpack(ARGV, 6, 5 + n)}
  live(sets)
  if kind == 'any' then redis.call('ZUNIONSTORE', out, n, unpack(sets))
  else redis.call('ZINTERSTORE', out, n, unpack(sets)) end
  redis.call('ZINTERSTORE', out, 2, out, base, 'WEIGHTS', 0, 1)
  i = 6 + n
elseif start == 'ranges' then
  -- n ranges (min, max); where ZRANGESTORE is missing (the embedded
  -- store), a copy of the set that the trims after cut down
  local n = tonumber(ARGV[4])
  local ok = true
  redis.call('DEL', out)
  for j = 0, n - 1 do
    local r = redis.pcall('ZRANGESTORE', tmp, base, ARGV[5 + 2 * j], ARGV[6 + 2 * j], 'BYSCORE')
    if type(r) == 'table' and r.err then ok = false break end
    redis.call('ZUNIONSTORE', out, 2, out, tmp)
  end
  i = 5 + 2 * n
  if ok then
    while ARGV[i] == 'trim' do i = i + 3 end -- the ranges did it
  else
    redis.call('ZUNIONSTORE', out, 1, base)
  end
end
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'trim' then -- drop a score range (a tier not wanted)
    redis.call('ZREMRANGEBYSCORE', out, ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  elseif op == 'rem' or op == 'add' then -- core members, n ids
    local n = tonumber(ARGV[i + 1])
    for j = i + 2, i + 1 + n do
      if op == 'rem' then redis.call('ZREM', out, ARGV[j])
      else
        local sc = redis.call('ZSCORE', base, ARGV[j])
        if sc then redis.call('ZADD', out, sc, ARGV[j]) end
      end
    end
    i = i + 2 + n
  elseif op == 'range' then -- keep members of n sets (a set's buckets) with a score in [min, max]
    local n = tonumber(ARGV[i + 1])
    redis.call('ZUNIONSTORE', tmp, n, unpack(ARGV, i + 2, i + 1 + n))
    local lo, hi = ARGV[i + 2 + n], ARGV[i + 3 + n]
    if lo ~= '-inf' then redis.call('ZREMRANGEBYSCORE', tmp, '-inf', '(' .. lo) end
    if hi ~= '+inf' then redis.call('ZREMRANGEBYSCORE', tmp, '(' .. hi, '+inf') end
    intersect(tmp)
    i = i + 4 + n
  elseif op == 'any' or op == 'all' or op == 'none' then -- n tag sets
    local n = tonumber(ARGV[i + 1])
    local sets = {unpack(ARGV, i + 2, i + 1 + n)}
    live(sets)
    if op == 'all' then
      for _, s in ipairs(sets) do intersect(s) end
    else
      redis.call('ZUNIONSTORE', tmp, #sets, unpack(sets))
      if op == 'any' then intersect(tmp)
      else
        redis.call('ZINTERSTORE', tmp, 2, out, tmp, 'WEIGHTS', 1, 0)
        local xs = redis.call('ZRANGE', tmp, 0, -1)
        for j = 1, #xs, 5000 do redis.call('ZREM', out, unpack(xs, j, math.min(j + 4999, #xs))) end
      end
    end
    i = i + 2 + n
  else
    return redis.error_reply('audience: unknown step ' .. tostring(op))
  end
end
redis.call('DEL', tmp, base)
local res
if ARGV[1] == 'list' then res = redis.call('ZRANGE', out, 0, -1) else res = redis.call('ZCARD', out) end
redis.call('DEL', out)
return res
`)

// Resolve answers the members of a group an audience picks (list), or
// only how many (count; ids nil). Tiers follow t, the wake-up flow's.
func Resolve(ctx context.Context, s *state.Store, group string, sp *Spec, t wakeup.Tiers, now time.Time, list bool) (ids []string, count int64, err error) {
	if sp == nil {
		sp = &Spec{}
	}
	args := []any{"count", now.UnixMilli()}
	if list {
		args[0] = "list"
	}
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	tagSets := func(op string, names []string) {
		if len(names) == 0 {
			return
		}
		args = append(args, op, len(names))
		for _, n := range names {
			args = append(args, tags.SetKey(s, group, n))
		}
	}
	var want map[string]bool
	if len(sp.Tiers) > 0 {
		want = map[string]bool{}
		for _, x := range sp.Tiers {
			want[x] = true
		}
	}
	silentAt, churnAt := now.Add(-t.Silent.D()), now.Add(-t.Churned.D())
	// begin with the smallest set at hand: the tags, else the tiers' ranges
	anyTags, allTags := sp.Tags.Any, sp.Tags.All
	switch {
	case len(anyTags) > 0:
		args = append(args, "tags")
		tagSets("any", anyTags)
		anyTags = nil
	case len(allTags) > 0:
		args = append(args, "tags")
		tagSets("all", allTags)
		allTags = nil
	case want != nil:
		// the wanted tiers' score ranges of the last-active set (core is
		// within active's), merged where they touch
		type span struct{ min, max string }
		var spans []span
		if want["churned"] {
			spans = append(spans, span{"-inf", "(" + ms(churnAt)})
		}
		if want["silent"] {
			if n := len(spans); n > 0 {
				spans[n-1].max = "(" + ms(silentAt)
			} else {
				spans = append(spans, span{ms(churnAt), "(" + ms(silentAt)})
			}
		}
		if want["active"] {
			if n := len(spans); n > 0 && want["silent"] {
				spans[n-1].max = "+inf"
			} else {
				spans = append(spans, span{ms(silentAt), "+inf"})
			}
		}
		// core alone: no range; its members are added below
		args = append(args, "ranges", len(spans))
		for _, sp := range spans {
			args = append(args, sp.min, sp.max)
		}
	default:
		args = append(args, "all")
	}
	if want != nil {
		if !want["active"] {
			args = append(args, "trim", ms(silentAt), "+inf")
		}
		if !want["silent"] {
			args = append(args, "trim", "("+ms(churnAt), "("+ms(silentAt))
		}
		if !want["churned"] {
			args = append(args, "trim", "-inf", ms(churnAt))
		}
		// the core is the top of the active range: taken out of active, or
		// added alone
		if want["core"] != want["active"] {
			core, err := wakeup.Core(ctx, s, group, t, now)
			if err != nil {
				return nil, 0, err
			}
			op := "rem" // active without core
			if want["core"] {
				op = "add" // core without the rest of active
			}
			args = append(args, op, len(core))
			for _, c := range core {
				args = append(args, c.ID)
			}
		}
	}
	tagSets("any", anyTags)
	tagSets("all", allTags)
	tagSets("none", sp.Tags.None)
	if sp.MinPoints > 0 {
		args = append(args, "range", state.BucketCount)
		for _, k := range checkin.Balances(s, group).Keys() {
			args = append(args, k)
		}
		args = append(args, sp.MinPoints, "+inf")
	}
	if sp.InvitedBy != "" {
		args = append(args, "range", 1, checkin.InviteesKey(s, group, sp.InvitedBy), "-inf", "+inf")
	}
	if d := sp.JoinedWithin.D(); d > 0 {
		args = append(args, "range", state.BucketCount)
		for _, k := range s.Joined(group).Keys() {
			args = append(args, k)
		}
		args = append(args, ms(now.Add(-d)), "+inf")
	}
	if d := sp.JoinedBefore.D(); d > 0 {
		args = append(args, "range", state.BucketCount)
		for _, k := range s.Joined(group).Keys() {
			args = append(args, k)
		}
		args = append(args, "-inf", ms(now.Add(-d)))
	}
	scratch := s.Key(group, "aud", strconv.FormatUint(rand.Uint64(), 36))
	res, err := resolveScript.Run(ctx, s.Client(), append([]string{scratch}, s.ActiveKeys(group)...), args...).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("%w: resolve an audience: %w", state.ErrRedis, err)
	}
	switch v := res.(type) {
	case int64:
		return nil, v, nil
	case []any:
		ids = make([]string, len(v))
		for i, x := range v {
			ids[i], _ = x.(string)
		}
		return ids, int64(len(ids)), nil
	}
	return nil, 0, fmt.Errorf("audience: unexpected answer %T", res)
}
