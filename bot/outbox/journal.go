package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
)

// Journal keeps an outbox's queued actions in Redis, so what the engine
// decided to do survives a restart or a crash. Each process writes under
// its own instance name and renews a lease; a process that starts (or
// notices a lease that ran out) adopts the actions of instances whose
// lease is gone, in one Lua script, so exactly one replica carries each
// one out.
//
// An action that was being carried out when its process died may or may
// not have reached the platform. It is repeated when repeating cannot
// show (deleting, restricting, banning, kicking again changes nothing)
// and dropped, and logged, when it would (a message would arrive twice).
type Journal struct {
	rdb      redis.UniversalClient
	base     string // prefix{outbox:<adapter>}
	instance string
	lease    time.Duration
}

// NewJournal returns the journal of one adapter's outbox for one process.
// prefix is the Redis key prefix ("qb:"); lease is how long a silent
// process keeps its actions (default 15s).
func NewJournal(rdb redis.UniversalClient, prefix, adapter, instance string, lease time.Duration) *Journal {
	if lease <= 0 {
		lease = 15 * time.Second
	}
	return &Journal{rdb: rdb, base: prefix + "{outbox:" + adapter + "}", instance: instance, lease: lease}
}

func (j *Journal) items(inst string) string   { return j.base + ":i:" + inst }
func (j *Journal) sending(inst string) string { return j.base + ":s:" + inst }
func (j *Journal) leaseKey(inst string) string {
	return j.base + ":lease:" + inst
}
func (j *Journal) instances() string { return j.base + ":instances" }

// entry is an action as journaled.
type entry struct {
	ID     string     `json:"id"`
	Action bot.Action `json:"a"`
}

// putScript journals actions and removes a finished one atomically. An
// action with an origin is journaled only if no action of that origin was
// journaled before (within originTTL): the mark is set in the same script,
// so of two runs of one update, exactly one queues its actions.
//
// KEYS[1] items, KEYS[2] sending, KEYS[3..] origin marks; ARGV[1] the
// finished id or "", ARGV[2] the marks' life in ms, then per action its
// id, its JSON and the index of its origin mark in KEYS (0: none).
var putScript = redis.NewScript(`
local skipped = {}
for i = 3, #ARGV, 3 do
  local k = tonumber(ARGV[i+2])
  if k == 0 or redis.call('SET', KEYS[k], '1', 'NX', 'PX', ARGV[2]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
  else
    skipped[#skipped+1] = ARGV[i]
  end
end
if ARGV[1] ~= '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[1])
end
return skipped
`)

// originTTL is how long an update's actions are remembered: as long as
// the engine remembers the update itself (its dedupe key), since a
// redelivery can come that late.
const originTTL = 25 * time.Hour

// put journals actions (new, or follow-ups) and removes a finished one
// (done, may be "") in one round trip. It returns the ids of actions
// left out because their origin was journaled already.
func (j *Journal) put(ctx context.Context, its []*item, done string) (map[string]bool, error) {
	keys := []string{j.items(j.instance), j.sending(j.instance)}
	args := []any{done, originTTL.Milliseconds()}
	for _, it := range its {
		b, err := json.Marshal(entry{ID: it.id, Action: it.a})
		if err != nil {
			return nil, fmt.Errorf("encode %s action: %w", it.a.Type, err)
		}
		k := 0
		if it.a.Origin != "" {
			keys = append(keys, j.base+":o:"+it.a.Origin)
			k = len(keys)
		}
		args = append(args, it.id, b, k)
	}
	ids, err := putScript.Run(ctx, j.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("outbox journal: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	skipped := make(map[string]bool, len(ids))
	for _, id := range ids {
		skipped[id] = true
	}
	return skipped, nil
}

// markSending notes that an action is about to reach the platform (or,
// with on false, that it went back to the queue without reaching it).
func (j *Journal) markSending(ctx context.Context, id string, on bool) error {
	if on {
		return j.rdb.SAdd(ctx, j.sending(j.instance), id).Err()
	}
	return j.rdb.SRem(ctx, j.sending(j.instance), id).Err()
}

// forget removes finished or dropped actions.
func (j *Journal) forget(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := j.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, j.items(j.instance), ids...)
		members := make([]any, len(ids))
		for i, id := range ids {
			members[i] = id
		}
		p.SRem(ctx, j.sending(j.instance), members...)
		return nil
	})
	return err
}

// renew keeps this process's actions its own.
func (j *Journal) renew(ctx context.Context) error {
	_, err := j.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, j.instances(), j.instance)
		p.Set(ctx, j.leaseKey(j.instance), time.Now().UnixMilli(), j.lease)
		return nil
	})
	return err
}

// release gives up the lease at a clean shutdown, so the next process
// adopts what is left at once.
func (j *Journal) release(ctx context.Context) error {
	return j.rdb.Del(ctx, j.leaseKey(j.instance)).Err()
}

// adoptScript moves the journal of every instance without a lease (and
// not the caller) to the caller: KEYS[1] instances, ARGV[1] base,
// ARGV[2] the caller, ARGV[3] "1" to take the caller's own journal too
// (at start-up, after a restart under the same name). It returns the
// adopted entries, each followed by "1" when it was being carried out.
var adoptScript = redis.NewScript(`
local out = {}
if ARGV[3] == '1' then
  local items = redis.call('HGETALL', ARGV[1] .. ':i:' .. ARGV[2])
  for i = 1, #items, 2 do
    out[#out+1] = items[i+1]
    out[#out+1] = tostring(redis.call('SISMEMBER', ARGV[1] .. ':s:' .. ARGV[2], items[i]))
  end
  redis.call('DEL', ARGV[1] .. ':s:' .. ARGV[2])
end
for _, inst in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if inst ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. ':lease:' .. inst) == 0 then
    local items = redis.call('HGETALL', ARGV[1] .. ':i:' .. inst)
    for i = 1, #items, 2 do
      local sending = redis.call('SISMEMBER', ARGV[1] .. ':s:' .. inst, items[i])
      redis.call('HSET', ARGV[1] .. ':i:' .. ARGV[2], items[i], items[i+1])
      out[#out+1] = items[i+1]
      out[#out+1] = tostring(sending)
    end
    redis.call('DEL', ARGV[1] .. ':i:' .. inst, ARGV[1] .. ':s:' .. inst)
    redis.call('SREM', KEYS[1], inst)
  end
end
return out
`)

// adopted is an action taken over from a dead instance.
type adopted struct {
	e       entry
	sending bool
}

// adopt takes over the actions of instances whose lease ran out,
// including this instance's own from before a restart under the same name.
func (j *Journal) adopt(ctx context.Context, self bool) ([]adopted, error) {
	own := "0"
	if self {
		own = "1"
	}
	res, err := adoptScript.Run(ctx, j.rdb, []string{j.instances()}, j.base, j.instance, own).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("outbox journal: adopt: %w", err)
	}
	var out []adopted
	for i := 0; i+1 < len(res); i += 2 {
		var e entry
		if err := json.Unmarshal([]byte(res[i]), &e); err != nil {
			continue // unreadable: dropped (it was removed from the dead journal)
		}
		out = append(out, adopted{e: e, sending: res[i+1] == "1"})
	}
	return out, nil
}
