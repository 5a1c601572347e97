package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shared keeps an adapter's rate limits and the platform's "retry after"
// pauses in Redis, so every replica sending with one token shares them:
// two replicas together send at the platform's rate, not twice it.
//
// Each limit is a GCRA cell (the earliest time its next request may go).
// A request takes its slot in all of its limits at once in one Lua script,
// or, when any of them (or a pause) is not yet free, takes none and learns
// how long to wait: booking a future slot in the global cell for one busy
// chat would hold every other chat behind it. Time is Redis's own (TIME),
// so replicas' clocks need not agree.
type Shared struct {
	rdb  redis.UniversalClient
	base string
}

// NewShared returns the shared limits of one adapter (prefix: "qb:").
func NewShared(rdb redis.UniversalClient, prefix, adapter string) *Shared {
	return &Shared{rdb: rdb, base: prefix + "{outbox:" + adapter + "}"}
}

// takeScript: KEYS are cells, then pause keys; ARGV are the cells'
// limits, three each: kind (0 a GCRA cell, 1 a window), interval or span
// in microseconds, and how many. Returns {0} when the slot was taken,
// else {microseconds until it may be, index of the key that holds it}.
// A GCRA cell holds the theoretical time of its next slot, which may be
// taken up to how-many − 1 intervals early (a bucket: a burst, then the
// pace); a window holds the times of its latest slots, newest first, and
// is full while the oldest of how-many is within the span.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cells = #ARGV / 3
local at, by = now, 0
for i = 1, #KEYS do
  local v
  if i <= cells and ARGV[3 * i - 2] == '1' then
    local oldest = redis.call('LINDEX', KEYS[i], tonumber(ARGV[3 * i]) - 1)
    v = oldest and (tonumber(oldest) + tonumber(ARGV[3 * i - 1])) or 0
  else
    v = tonumber(redis.call('GET', KEYS[i]) or '0')
    if i <= cells then
      v = v - (tonumber(ARGV[3 * i]) - 1) * tonumber(ARGV[3 * i - 1])
    end
  end
  if v > at then at, by = v, i end
end
if at > now then return {at - now, by} end
for i = 1, cells do
  local iv = tonumber(ARGV[3 * i - 1])
  if ARGV[3 * i - 2] == '1' then
    redis.call('LPUSH', KEYS[i], now)
    redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[3 * i]) - 1)
    redis.call('PEXPIRE', KEYS[i], math.ceil(iv / 1000) + 1000)
  else
    -- a slot taken a little late keeps the cell's pace (up to a quarter
    -- interval of credit), so the wake-up and round-trip delays of the
    -- replicas do not add up to a slower rate
    local base = tonumber(redis.call('GET', KEYS[i]) or '0')
    if base < now - iv / 4 then base = now - iv / 4 end
    -- kept until its time has passed, however far a burst moved it
    redis.call('SET', KEYS[i], base + iv, 'PX', math.ceil((base + iv - now) / 1000) + 1000)
  end
end
return {0, 0}
`)

// cell is one shared limit: a GCRA cell of interval iv letting n through
// at once, or (window) at most n in any span iv.
type cell struct {
	window bool
	iv     time.Duration
	n      int
}

// cell names one limit: "global", "mod", "chat:<key>".
func (s *Shared) cell(name string) string  { return s.base + ":rate:" + name }
func (s *Shared) pause(name string) string { return s.base + ":pause:" + name }

// take takes the slot of every cell (name → limit) now, or returns how
// long until all of them and the pauses (names) are free, and whether it
// is a limit of the whole bot ("global", or the bot's pause) that holds it.
func (s *Shared) take(ctx context.Context, cells map[string]cell, pauses []string) (wait time.Duration, whole bool, err error) {
	if len(cells) == 0 && len(pauses) == 0 {
		return 0, false, nil
	}
	keys := make([]string, 0, len(cells)+len(pauses))
	names := make([]string, 0, len(cells)+len(pauses))
	args := make([]any, 0, 3*len(cells))
	for name, c := range cells {
		keys = append(keys, s.cell(name))
		names = append(names, name)
		kind := 0
		if c.window {
			kind = 1
		}
		args = append(args, kind, c.iv.Microseconds(), max(c.n, 1))
	}
	for _, p := range pauses {
		keys = append(keys, s.pause(p))
		names = append(names, p)
	}
	res, err := takeScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, false, fmt.Errorf("shared rate limit: %v %w", res, err)
	}
	by := ""
	if i := res[1]; i >= 1 && int(i) <= len(names) {
		by = names[i-1]
	}
	return time.Duration(res[0]) * time.Microsecond, by == "global", nil
}

// pauseScript sets a pause to Redis's now + ARGV[1] µs, unless a later one
// is set.
var pauseScript = redis.NewScript(`
local t = redis.call('TIME')
local untilv = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilv > cur then
  redis.call('SET', KEYS[1], untilv, 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
`)

// pauseFor tells every replica to hold a chat ("chat:<key>") or the whole
// bot ("global") for d.
func (s *Shared) pauseFor(ctx context.Context, name string, d time.Duration) error {
	return pauseScript.Run(ctx, s.rdb, []string{s.pause(name)}, d.Microseconds()).Err()
}
