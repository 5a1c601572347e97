package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Fragment is Lua a flow runs for every update it cares about inside the
// ingest script, so that an ordinary message costs one Redis round trip
// whatever flows are on (flood counters, activity points, daily counters),
// and the flow's writes happen exactly when the update is recorded: a
// redelivery or a takeover after a crash does not run them twice.
//
// Lua is written as a script of its own (KEYS, ARGV, redis.call) and
// returns an array of integers; the composed script calls it as a
// function with the step's keys and arguments. Its keys must carry the
// group's hash tag (Store.Key), like the ingest's, so Redis Cluster keeps
// them on one slot.
type Fragment struct {
	Name string
	Lua  string
}

// Step is one run of a fragment for one update.
type Step struct {
	Fragment *Fragment
	Keys     []string
	Args     []any
}

// stepScripts composes and caches one script per sequence of fragments
// met (a deployment has a handful: which flows are on in which groups).
type stepScripts struct {
	mu      sync.Mutex
	scripts map[string]*redis.Script
}

func (c *stepScripts) get(steps []Step) *redis.Script {
	var name strings.Builder
	for _, st := range steps {
		name.WriteString(st.Fragment.Name)
		name.WriteByte(',')
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc, ok := c.scripts[name.String()]; ok {
		return sc
	}
	var src strings.Builder
	src.WriteString(ingestCore)
	src.WriteString("local F = {}\n")
	for i, st := range steps {
		// a fragment reads its own keys and arguments as KEYS and ARGV
		fmt.Fprintf(&src, "F[%d] = function(K, A)\nlocal KEYS, ARGV = K, A\n%s\nend\n", i+1, st.Fragment.Lua)
	}
	// the steps' shape is checked before anything is written: a call
	// with arguments out of place fails instead of looping or writing
	// half
	src.WriteString(`
local n = tonumber(ARGV[11])
if not n or n < 1 or n > #F then return redis.error_reply('ingest: bad step count') end
local shape = {}
local ki, ai = 9, 12
for s = 1, n do
  local kc, ac = tonumber(ARGV[ai]), tonumber(ARGV[ai + 1])
  if not kc or not ac or kc < 0 or ac < 0 or ki + kc - 1 > #KEYS or ai + 1 + ac > #ARGV then
    return redis.error_reply('ingest: bad step shape')
  end
  shape[s] = {ki, kc, ai + 2, ac}
  ki, ai = ki + kc, ai + 2 + ac
end
local out, record = ingest()
if type(out) ~= 'table' or out[1] == '__inflight__' then return out end
local results = {}
for s = 1, n do
  local K, A = {}, {}
  local sh = shape[s]
  for i = 1, sh[2] do K[i] = KEYS[sh[1] + i - 1] end
  for i = 1, sh[4] do A[i] = ARGV[sh[3] + i - 1] end
  if record then results[s] = F[s](K, A) or {} else results[s] = {} end
end
if record then return {out, results, 1} end
return {out, results, 0}
`)
	if c.scripts == nil {
		c.scripts = map[string]*redis.Script{}
	}
	sc := redis.NewScript(src.String())
	c.scripts[name.String()] = sc
	return sc
}

// IngestSteps is Ingest with flows' steps run in the same script, after
// the member is recorded and only when this call recorded the update.
// results[i] is steps[i]'s answer; it is nil when the steps did not run
// (the update was taken over from a process that died: they ran then).
func (s *Store) IngestSteps(ctx context.Context, in Ingest, steps []Step) (m *Member, results [][]int64, dup bool, err error) {
	sc, keys, args := s.ingestCallSteps(in, steps)
	if p := s.pipe; p != nil {
		return p.do(ctx, s, &ingestReq{in: in, steps: steps, script: sc, keys: keys, args: args})
	}
	var res any
	res, err = sc.Run(ctx, s.rdb, keys, args...).Result()
	return parseIngest(in, steps, res, err)
}

// ingestCallSteps is the script, keys and arguments of an ingest with
// steps.
func (s *Store) ingestCallSteps(in Ingest, steps []Step) (*redis.Script, []string, []any) {
	keys, args := s.ingestCall(in)
	if len(steps) == 0 {
		return ingestScript, keys, args
	}
	args = append(args, len(steps))
	for _, st := range steps {
		keys = append(keys, st.Keys...)
		args = append(args, len(st.Keys), len(st.Args))
		args = append(args, st.Args...)
	}
	return s.steps.get(steps), keys, args
}

// parseIngest reads the ingest script's answer (see IngestSteps).
func parseIngest(in Ingest, steps []Step, reply any, err error) (m *Member, results [][]int64, dup bool, _ error) {
	if errors.Is(err, redis.Nil) {
		return nil, nil, true, nil
	}
	if err != nil {
		return nil, nil, false, wrap("ingest", err)
	}
	res, _ := reply.([]any)
	if len(res) == 1 {
		return nil, nil, false, fmt.Errorf("ingest %s: %w", in.UpdateID, ErrInFlight)
	}
	if len(steps) == 0 {
		return parseMember(in.Member, pairs(res)), nil, false, nil
	}
	if len(res) != 3 {
		return nil, nil, false, fmt.Errorf("%w: ingest: unexpected answer of %d parts", ErrRedis, len(res))
	}
	kvs, _ := res[0].([]any)
	m = parseMember(in.Member, pairs(kvs))
	if rec, _ := res[2].(int64); rec != 1 {
		return m, nil, false, nil
	}
	outs, _ := res[1].([]any)
	results = make([][]int64, len(steps))
	for i := range steps {
		if i >= len(outs) {
			break
		}
		vs, _ := outs[i].([]any)
		r := make([]int64, len(vs))
		for j, v := range vs {
			switch v := v.(type) {
			case int64:
				r[j] = v
			case string:
				r[j], _ = strconv.ParseInt(v, 10, 64)
			}
		}
		results[i] = r
	}
	return m, results, false, nil
}

func pairs(res []any) map[string]string {
	kv := make(map[string]string, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		k, _ := res[i].(string)
		v, _ := res[i+1].(string)
		kv[k] = v
	}
	return kv
}
