package state

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Member records are packed: a group's records live in BucketCount
// hashes ({g}:mr:<bucket>), one field per member whose value holds all
// of the member's fields. A hash of its own per member cost about 90
// bytes of key, entry and object headers before its first field (264
// bytes a member with every flow, MEMORY USAGE); packed, a record costs
// its bytes and a few more. Field names the flows use on every member are
// written as one capital letter (recordCodes); the rest as they are.
//
// The value is "name\x1fvalue" pairs joined by "\x1e": the two control
// characters are taken out of values when they are written (a display
// name with them loses them).
//
// Packed values are longer than Redis's default hash-max-listpack-value
// (64 bytes), above which a hash turns into a table at about 100 bytes a
// field: Open raises it (see RaiseListpackLimit), and README says how to
// set it where CONFIG is not allowed.
//
// Records of the older layout ({g}:m:<id>, a hash per member) are read
// where they are and moved into the bucket the first time a script writes
// the member (recordLua's ropen), and all of them by MigrateRecords.

// recordCodes are the short names of the fields every member has (or
// most have, with the checkin flow): capitals, which no flow's field
// name is.
var recordCodes = map[string]string{
	"name": "N", "username": "U", "bot": "B", "in": "I", "joined_at": "J", "left_at": "L",
	"last_active": "A", "first_msg_at": "F", "msgs": "M", "joins": "C", "activated_at": "V",
	"join_link": "K", "baseline": "Z", "pts": "P", "pts_earned": "E", "act_day": "D", "act_n": "X",
	"ci_last": "S", "ci_streak": "T", "ci_best": "W", "ci_total": "O", "ci_days": "Y", "ci_cards": "Q",
	"wk_last": "H", "dm_off": "G", "inv_by": "R",
}

// recordTimes are the core fields that hold times (ms): packed in base
// 36 ("1767600000000" as "mjzgjy8g"), 8 characters for 13. Only the
// ingest script writes them (SetFields refuses core fields), always as
// numbers. With four of them in a joined member's record, 20 bytes of a
// record of about 140.
var recordTimes = map[string]bool{"last_active": true, "joined_at": true, "left_at": true, "first_msg_at": true, "activated_at": true}

var recordNames = func() map[string]string {
	m := make(map[string]string, len(recordCodes))
	for k, v := range recordCodes {
		m[v] = k
	}
	return m
}()

// RecordKey is the bucket hash a member's record is kept in (the field
// is the member id), for flows' scripts that change a record with
// RecordLua.
func (s *Store) RecordKey(group, member string) string {
	return s.Key(group, "mr", strconv.Itoa(bucketOf(member)))
}

// legacyKey is the record of the one-hash-per-member layout.
func (s *Store) legacyKey(group, member string) string { return s.Key(group, "m", member) }

// decodeRecord reads a packed record.
func decodeRecord(v string, into map[string]string) {
	for len(v) > 0 {
		pair := v
		if i := strings.IndexByte(v, '\x1e'); i >= 0 {
			pair, v = v[:i], v[i+1:]
		} else {
			v = ""
		}
		k, val, ok := strings.Cut(pair, "\x1f")
		if !ok {
			continue
		}
		if long, ok := recordNames[k]; ok {
			k = long
		}
		if recordTimes[k] {
			if n, err := strconv.ParseInt(val, 36, 64); err == nil {
				val = strconv.FormatInt(n, 10)
			}
		}
		into[k] = val
	}
}

// RecordLua is the Lua that reads and writes packed member records;
// scripts that touch a record embed it (a Fragment does not: the ingest
// script it is composed into has it, and its steps then share the record
// the ingest read):
//
//	local r = ropen(KEYS[1], member)  -- the bucket key and the member id
//	rget(r, 'pts'); rset(r, 'pts', 5); rincr(r, 'pts', 1); rdel(r, 'pts')
//	rsave(r)                           -- writes the record back once
//
// A record not in its bucket is read from the older layout's hash (same
// hash tag, so the same Cluster slot) and that hash is deleted on save.
var RecordLua = func() string {
	var codes, names, times strings.Builder
	keys := make([]string, 0, len(recordCodes))
	for k := range recordCodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&codes, "['%s']='%s',", k, recordCodes[k])
		fmt.Fprintf(&names, "['%s']='%s',", recordCodes[k], k)
		if recordTimes[k] {
			fmt.Fprintf(&times, "['%s']=true,", k)
		}
	}
	return `
local RC = {` + codes.String() + `}
local RN = {` + names.String() + `}
local RT = {` + times.String() + `}
local B36 = '0123456789abcdefghijklmnopqrstuvwxyz'
local function b36(x)
  local n = tonumber(x)
  if not n or n < 0 or n ~= math.floor(n) then return x end
  if n == 0 then return '0' end
  local s = ''
  while n > 0 do
    local d = n % 36
    s = string.sub(B36, d + 1, d + 1) .. s
    n = (n - d) / 36
  end
  return s
end
-- records opened in this script: the ingest and the flows' steps composed
-- with it read a member's record once
local ROPEN = {}
local function ropen(bk, id)
  local ck = bk .. '\0' .. id
  if ROPEN[ck] then return ROPEN[ck] end
  local r = {bk = bk, id = id, f = {}}
  ROPEN[ck] = r
  local v = redis.call('HGET', bk, id)
  if v then
    for k, x in string.gmatch(v, '([^\30\31]*)\31([^\30]*)') do
      k = RN[k] or k
      if RT[k] then
        local n = tonumber(x, 36)
        if n then x = string.format('%d', n) end
      end
      r.f[k] = x
    end
  else
    local s = string.find(bk, ':mr:%d+$')
    if s then
      local lk = string.sub(bk, 1, s - 1) .. ':m:' .. id
      local kv = redis.call('HGETALL', lk)
      for i = 1, #kv, 2 do r.f[kv[i]] = kv[i + 1] end
      if #kv > 0 then r.legacy = lk end
    end
  end
  return r
end
local function rget(r, k) return r.f[k] end
local function rstr(x)
  if type(x) == 'number' then
    if x == math.floor(x) then return string.format('%d', x) end
    return tostring(x)
  end
  return (string.gsub(tostring(x), '[\30\31]', ' '))
end
local function rset(r, k, x) r.f[k] = rstr(x) end
local function rdel(r, k) r.f[k] = nil end
local function rincr(r, k, d)
  local n = (tonumber(r.f[k] or '0') or 0) + d
  r.f[k] = string.format('%d', n)
  return n
end
local function rsetnx(r, k, x)
  if r.f[k] ~= nil then return 0 end
  r.f[k] = rstr(x)
  return 1
end
local function rsave(r)
  local out, n = {}, 0
  for k, x in pairs(r.f) do
    n = n + 1
    if RT[k] then x = b36(x) end
    out[n] = (RC[k] or k) .. '\31' .. x
  end
  if n == 0 then redis.call('HDEL', r.bk, r.id)
  else redis.call('HSET', r.bk, r.id, table.concat(out, '\30')) end
  if r.legacy then
    redis.call('DEL', r.legacy)
    r.legacy = nil
  end
end
local function rflat(r)
  local out = {}
  for k, x in pairs(r.f) do
    out[#out + 1] = k
    out[#out + 1] = x
  end
  return out
end
`
}()

// readRecord reads a member's fields: the packed record, or the older
// layout's hash where it was not moved yet, in one round trip.
func (s *Store) readRecord(ctx context.Context, group, id string) (map[string]string, error) {
	var packed *redis.StringCmd
	var legacy *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		packed = p.HGet(ctx, s.RecordKey(group, id), id)
		legacy = p.HGetAll(ctx, s.legacyKey(group, id))
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, err
	}
	if v, err := packed.Result(); err == nil {
		kv := map[string]string{}
		decodeRecord(v, kv)
		return kv, nil
	}
	return legacy.Val(), nil
}

// Members reads many member records in one round trip (a page of a
// leaderboard, a search's hits); records never seen are empty.
func (s *Store) Members(ctx context.Context, group string, ids []string) ([]*Member, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	packed := make([]*redis.StringCmd, len(ids))
	legacy := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			packed[i] = p.HGet(ctx, s.RecordKey(group, id), id)
			legacy[i] = p.HGetAll(ctx, s.legacyKey(group, id))
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, wrap("read members", err)
	}
	out := make([]*Member, len(ids))
	for i, id := range ids {
		kv := legacy[i].Val()
		if v, err := packed[i].Result(); err == nil {
			kv = map[string]string{}
			decodeRecord(v, kv)
		}
		out[i] = parseMember(id, kv)
	}
	return out, nil
}

// fieldsScript changes one record: ARGV[1] the member, then operations
// as runs: 'set' k v, 'del' k, 'incr' k d (answers the new value),
// 'setnx' k v (answers 1 when set), 'cas' k expect (stops, answering
// 0, when the field is not expect; ” is unset). The answer is that of
// the last operation that answers.
var fieldsScript = redis.NewScript(RecordLua + `
local r = ropen(KEYS[1], ARGV[1])
local res = 1
local i = 2
while i <= #ARGV do
  local op, k = ARGV[i], ARGV[i + 1]
  if op == 'set' then rset(r, k, ARGV[i + 2]); i = i + 3
  elseif op == 'del' then rdel(r, k); i = i + 2
  elseif op == 'incr' then res = rincr(r, k, tonumber(ARGV[i + 2])); i = i + 3
  elseif op == 'setnx' then res = rsetnx(r, k, ARGV[i + 2]); i = i + 3
  elseif op == 'cas' then
    if (rget(r, k) or '') ~= ARGV[i + 2] then return 0 end
    i = i + 3
  else return redis.error_reply('record: unknown operation ' .. tostring(op)) end
end
rsave(r)
return res
`)

// changeFields runs fieldsScript's operations on a member's record.
// A field named like a short code would read back as the field the code
// stands for: such names are refused.
func (s *Store) changeFields(ctx context.Context, p redis.Scripter, group, id string, ops ...any) *redis.Cmd {
	for i := 0; i+1 < len(ops); {
		name, _ := ops[i+1].(string)
		if _, ok := recordNames[name]; ok {
			cmd := redis.NewCmd(ctx)
			cmd.SetErr(fmt.Errorf("member field %q: the name is reserved", name))
			return cmd
		}
		if ops[i] == "del" {
			i += 2
		} else {
			i += 3
		}
	}
	return fieldsScript.Run(ctx, p, []string{s.RecordKey(group, id)}, append([]any{id}, ops...)...)
}

// DelFields removes flow fields from a member's record.
func (s *Store) DelFields(ctx context.Context, group, id string, fields ...string) error {
	if len(fields) == 0 {
		return nil
	}
	ops := make([]any, 0, 2*len(fields))
	for _, f := range fields {
		if coreFields[f] {
			return fmt.Errorf("delete member field %q: it is a core field", f)
		}
		ops = append(ops, "del", f)
	}
	return wrap("delete member fields", s.changeFields(ctx, s.rdb, group, id, ops...).Err())
}

// FieldsBatch sets flow fields of many members in one pipelined round
// trip (a wake-up scan marking whom it wrote to): set[id] are id's.
func (s *Store) FieldsBatch(ctx context.Context, group string, set map[string]map[string]string) error {
	if len(set) == 0 {
		return nil
	}
	if err := fieldsScript.Load(ctx, s.rdb).Err(); err != nil {
		return wrap("load record script", err)
	}
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, fields := range set {
			ops := []any{id}
			for k, v := range fields {
				ops = append(ops, "set", k, v)
			}
			fieldsScript.EvalSha(ctx, p, []string{s.RecordKey(group, id)}, ops...)
		}
		return nil
	})
	if err != nil {
		return wrap("set member fields", err)
	}
	for _, c := range cmds {
		if c.Err() != nil {
			return wrap("set member fields", c.Err())
		}
	}
	return nil
}

// migrateRecordScript moves one record of the older layout (KEYS[2], a
// hash) into its bucket (KEYS[1], member ARGV[1]), unless a script wrote
// the member there since (then the hash is older and only deleted).
var migrateRecordScript = redis.NewScript(RecordLua + `
if redis.call('TYPE', KEYS[2]).ok ~= 'hash' then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[2])
  return 0
end
local r = ropen(KEYS[1], ARGV[1])
rsave(r)
return 1
`)

// MigrateRecords moves every member record of the older layout
// ({g}:m:<id>) into its bucket and answers how many. Records are read
// where they are until moved, so this may run while qunbot serves (it
// does, in the background, at start).
func (s *Store) MigrateRecords(ctx context.Context) (int, error) {
	moved := 0
	err := s.eachOldKey(ctx, "m", func(key, group, id string) error {
		n, err := migrateRecordScript.Run(ctx, s.rdb, []string{s.RecordKey(group, id), key}, id).Int()
		if err != nil {
			return wrap("move record "+key, err)
		}
		moved += n
		return nil
	})
	return moved, err
}

// listpackLimits are the Redis settings buckets need to stay packed: a
// packed record is 60–200 bytes (the default value limit is 64), and a
// bucket of a 200,000-member group holds up to about 240 (the default
// entry limit is 128). Above a limit Redis turns a hash into a table and
// a sorted set into a skip list, at about 100 bytes an entry.
var listpackLimits = []struct {
	name string
	min  int
}{
	{"hash-max-listpack-value", 1024},
	{"hash-max-listpack-entries", 256},
	{"zset-max-listpack-entries", 256},
}

// RaiseListpackLimit raises the listpack limits buckets need where they
// are lower, on every primary, and answers an error where CONFIG is
// refused (managed Redis): set them in the server's configuration there.
func RaiseListpackLimit(ctx context.Context, rdb redis.UniversalClient) error {
	raise := func(ctx context.Context, c *redis.Client) error {
		for _, l := range listpackLimits {
			v, err := c.ConfigGet(ctx, l.name).Result()
			if err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			if n, _ := strconv.Atoi(v[l.name]); n >= l.min {
				continue
			}
			if err := c.ConfigSet(ctx, l.name, strconv.Itoa(l.min)).Err(); err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
		}
		return nil
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, raise)
	case *redis.Client:
		return raise(ctx, c)
	}
	return fmt.Errorf("raise hash-max-listpack-value: client %T", rdb)
}
