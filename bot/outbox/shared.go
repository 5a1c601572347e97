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
// Each limit is a GCRA cell (the earliest time its next request may go);
// a request reserves its send time across all of its limits in one Lua
// script — the latest of their cells and of any pause — and waits until
// then. Time is Redis's own (TIME), so replicas' clocks need not agree.
type Shared struct {
	rdb  redis.UniversalClient
	base string
}

// NewShared returns the shared limits of one adapter (prefix: "qb:").
func NewShared(rdb redis.UniversalClient, prefix, adapter string) *Shared {
	return &Shared{rdb: rdb, base: prefix + "{outbox:" + adapter + "}"}
}

// reserveScript: KEYS are cells, then pause keys; ARGV are the cells'
// intervals in microseconds. Returns the wait in microseconds.
var reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = now
local n = #ARGV
for i = 1, #KEYS do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0')
  if v > at then at = v end
end
for i = 1, n do
  local iv = tonumber(ARGV[i])
  redis.call('SET', KEYS[i], at + iv, 'PX', math.ceil((at + iv - now) / 1000) + 1000)
end
return at - now
`)

// cell names one limit: "global", "mod", "chat:<key>".
func (s *Shared) cell(name string) string  { return s.base + ":rate:" + name }
func (s *Shared) pause(name string) string { return s.base + ":pause:" + name }

// reserve books the next slot of every cell (name → interval) and returns
// how long to wait for it; pauses (names) push it later.
func (s *Shared) reserve(ctx context.Context, cells map[string]time.Duration, pauses []string) (time.Duration, error) {
	if len(cells) == 0 && len(pauses) == 0 {
		return 0, nil
	}
	keys := make([]string, 0, len(cells)+len(pauses))
	args := make([]any, 0, len(cells))
	for name, iv := range cells {
		keys = append(keys, s.cell(name))
		args = append(args, iv.Microseconds())
	}
	for _, p := range pauses {
		keys = append(keys, s.pause(p))
	}
	us, err := reserveScript.Run(ctx, s.rdb, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("shared rate limit: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
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
