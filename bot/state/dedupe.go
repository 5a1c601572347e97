package state

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Update ids are remembered in small hashes rather than one key each: a
// key with its own TTL costs about 148 bytes of Redis per update (the
// key, its value object and its entry in the expires table), which at
// 5,000 updates/s is tens of gigabytes for a day. A group's update table
// is a set of hashes small enough to stay listpack-encoded (about 20
// bytes per id, measured), grown by linear hashing (Litwin: one hash
// splits in two at a time, so an id is always in exactly one hash and a
// lookup reads one) and swept as it is written: one new id in 16 sweeps
// the next hash in turn of ids past the window. An id's value says when
// it came, so the window holds whether or not the sweep has been by:
//
//	{g}:ud      meta: m "b s" (b hashes, s of them split into b + s), c sweep cursor
//	{g}:ud:<i>  ids in hash i; values "p:<ms>" being handled since then
//	            ("p:0" abandoned), "d<k>" done, first seen in the k-th
//	            25th of a window (an hour) since the epoch
//
// An id is found for the window and at most a 25th more; the sweep goes
// round the table every 16 × 40–80 new ids, a third to two thirds of a
// window at a steady rate, so an id's bytes last 1.2–1.4 windows on
// average. A hash nobody
// writes to expires that long after its last write (the group went
// quiet). Splits follow the load the sweep sees: the hash it swept tells
// the table's live ids per share, and above 40 the next hashes split (up
// to 4 at a time), so the fullest hash (not yet split, two shares) stays
// under listpack's 128 entries. Tables do not shrink: a group keeps the hashes of its
// busiest day, a few bytes each when empty.
//
// Before this layout an update was a key of its own, {g}:u:<id>. For a
// window after a store is made its lookups read such a key when the
// table misses (a replica of the old version may still be writing them
// during a rolling upgrade), and MigrateDedupe moves them over at start;
// after that window no old key can matter and lookups skip them.
//
// Lua scripts build the table's key names from the meta key. Redis
// Cluster allows keys a script does not declare when they are in the
// declared keys' slot, which the group's hash tag guarantees.
const dedupeLua = `
local function uclock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- uhash is djb2 over the id, mod 2^32 (exact in Lua's doubles)
local function uhash(f)
  local h = 5381
  for i = 1, #f do h = (h * 33 + string.byte(f, i)) % 4294967296 end
  return h
end
-- uarg reads the packed argument "w id" or "w+ id": the window (ms), '+'
-- to read marks of the layout before the tables too, and the id as
-- stored; it answers the window, the id's hash and the id
local ulegacy = false
local function uarg(a)
  local w, l, f = string.match(a, '^(%d+)(%+?) (.+)$')
  if not w then return nil end
  ulegacy = l == '+'
  return tonumber(w), uhash(f), f
end
-- umeta reads the table's shape {b, s, c}
local function umeta(u)
  local m = redis.call('HMGET', u, 'm', 'c')
  local b, s = 1, 0
  if m[1] then
    local mb, ms = string.match(m[1], '^(%d+) (%d+)$')
    b, s = tonumber(mb), tonumber(ms)
  end
  return {b, s, tonumber(m[2]) or 0}
end
local function uslot(m, h)
  local i = h % m[1]
  if i < m[2] then i = h % (2 * m[1]) end
  return i
end
-- ulive: whether a value is within the window at now (ms)
local function ulive(v, now, w)
  local c = string.byte(v, 1)
  if c == 100 then -- d<k>
    local k = tonumber(string.sub(v, 2))
    return not k or math.floor(now * 25 / w) - k <= 25
  end
  if c == 112 then -- p:<ms>
    local p = tonumber(string.sub(v, 3)) or 0
    return p == 0 or now - p <= w + w / 25
  end
  return true -- '1' (a mark of old, kept by its key's TTL)
end
-- udone: whether a value says done
local function udone(v)
  return v == '1' or v == 'd' or (v ~= nil and string.match(v, '^d%d+$') ~= nil)
end
-- umark: the done value of an id whose value is v
local function umark(v, w)
  local p = tonumber(string.match(v or '', '^p:(%d+)$') or '0')
  if p == 0 then p = uclock() end
  return 'd' .. math.floor(p * 25 / w)
end
-- ufind answers an id's value and the key holding it (or nil), and the
-- table's shape; with now, a value past the window is none
local function ufind(u, w, h, f, now)
  local m = umeta(u)
  local key = u .. ':' .. uslot(m, h)
  local v = redis.call('HGET', key, f)
  if v then
    if now and not ulive(v, now, w) then return nil, nil, m end
    return v, key, m
  end
  if not ulegacy then return nil, nil, m end
  -- before the tables: one key per update, {g}:u:<id>
  local legacy = string.sub(u, 1, -2) .. ':' .. f
  v = redis.call('GET', legacy)
  if v then return v, legacy, m end
  return nil, nil, m
end
-- usweep drops the ids past the window from hash c, and splits hashes
-- when the table is loaded beyond 40 ids per share
local function usweep(u, w, now, m)
  local b, s, c = m[1], m[2], m[3]
  c = c % (b + s)
  local key = u .. ':' .. c
  local kv = redis.call('HGETALL', key)
  local gone = {}
  for i = 1, #kv, 2 do
    if not ulive(kv[i + 1], now, w) then gone[#gone + 1] = kv[i] end
  end
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  -- this hash's live ids per share estimate the table's; above 40 the
  -- table needs (b + s) * (load / 40 - 1) more hashes: split up to 4 now
  local shares = 1
  if c >= s and c < b then shares = 2 end
  local load = (#kv / 2 - #gone) / shares
  local splits = math.min(4, math.ceil((b + s) * (load / 40 - 1)))
  for _ = 1, splits do
    if b >= 65536 then break end
    local src, dst = u .. ':' .. s, u .. ':' .. (b + s)
    local sv = redis.call('HGETALL', src)
    local moved, out = {}, {}
    for i = 1, #sv, 2 do
      if uhash(sv[i]) % (2 * b) ~= s then
        moved[#moved + 1] = sv[i]
        moved[#moved + 1] = sv[i + 1]
        out[#out + 1] = sv[i]
      end
    end
    if #out > 0 then
      redis.call('HSET', dst, unpack(moved))
      redis.call('PEXPIRE', dst, w + w / 25)
      redis.call('HDEL', src, unpack(out))
    end
    s = s + 1
    if s == b then b, s = 2 * b, 0 end
  end
  if splits > 0 then redis.call('HSET', u, 'm', b .. ' ' .. s, 'c', c + 1)
  else redis.call('HSET', u, 'c', c + 1) end
end
-- uset stores v for an id found in key (in place: a legacy key keeps its
-- TTL), or adds it to the table of shape m
local function uset(u, w, h, f, now, v, key, m)
  if key then
    if string.find(key, ':ud:', 1, true) then redis.call('HSET', key, f, v)
    else redis.call('SET', key, v, 'KEEPTTL') end
    return
  end
  key = u .. ':' .. uslot(m, h)
  redis.call('HSET', key, f, v)
  redis.call('PEXPIRE', key, w + w / 25)
  if h % 16 == 0 then usweep(u, w, now or uclock(), m) end
end
`

// updateScript reads and writes one update's state outside the ingest:
// ARGV[1] the packed id (see dedupeArg), ARGV[2] the operation: 'get';
// 'done' and 'forget' (only if the id is known); 'put' (a scheduled
// work's done mark, known or not).
var updateScript = redis.NewScript(dedupeLua + `
local w, h, f = uarg(ARGV[1])
if not w then return redis.error_reply('update: bad id argument') end
local now = uclock()
local v, key, m = ufind(KEYS[1], w, h, f, now)
local op = ARGV[2]
if op == 'get' then return v or false end
if op == 'done' then if v then uset(KEYS[1], w, h, f, now, umark(v, w), key, m) end return 1 end
if op == 'forget' then if v then uset(KEYS[1], w, h, f, now, 'p:0', key, m) end return 1 end
if op == 'put' then uset(KEYS[1], w, h, f, now, umark(nil, w), key, m) return 1 end
return redis.error_reply('update: unknown operation')
`)

// DedupeWindow is how long an update id is remembered: Telegram keeps an
// unconfirmed update for 24 hours and may deliver it again until then.
// Every replica must use the same window (it sets the generations'
// length), so it is not a setting.
const DedupeWindow = 25 * time.Hour

func (s *Store) dedupeMeta(group string) string { return s.Key(group, "ud") }

func (s *Store) dedupeWindow() time.Duration {
	if s.window > 0 { // tests shorten it to see generations pass
		return s.window
	}
	return DedupeWindow
}

// dedupeArg packs an update id for the scripts: the window (ms) and the
// id as stored — itself when short, else a 16-byte digest (96 bits: a false
// duplicate needs a collision among a day's ids of one group).
func (s *Store) dedupeArg(id string) string {
	f := id
	if len(id) > 32 || strings.ContainsAny(id, " \n") {
		sum := sha256.Sum256([]byte(id))
		f = "#" + base64.RawURLEncoding.EncodeToString(sum[:12])
	}
	w := strconv.FormatInt(s.dedupeWindow().Milliseconds(), 10)
	if time.Now().Before(s.legacyUntil) {
		w += "+"
	}
	return w + " " + f
}

func (s *Store) updateOp(ctx context.Context, group, id, op string) (string, error) {
	v, err := updateScript.Run(ctx, s.rdb, []string{s.dedupeMeta(group)}, s.dedupeArg(id), op).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	str, _ := v.(string) // 'get' answers the state, the others 1
	return str, err
}

// UpdateState answers what the store knows of an update: "" never seen
// (or forgotten after the window), "d" done, "p:<ms>" being handled since
// then ("p:0": abandoned, the next delivery takes it over).
func (s *Store) UpdateState(ctx context.Context, group, id string) (string, error) {
	v, err := s.updateOp(ctx, group, id, "get")
	return doneAsD(v), wrap("read update state", err)
}

// MigrateDedupe moves update marks of the old layout ({g}:u:<id>, one
// key each) into the update tables, keeping when each would have
// expired to within a generation, and deletes them. It answers how many
// it moved. Lookups read old keys too, so replicas of the old version
// running beside it lose nothing; this gives their memory back.
func (s *Store) MigrateDedupe(ctx context.Context) (int, error) {
	moved := 0
	err := s.eachOldKey(ctx, "u", func(key, group, id string) error {
		ok, err := migrateScript.Run(ctx, s.rdb, []string{key, s.dedupeMeta(group)}, s.dedupeArg(id), s.dedupeWindow().Milliseconds()).Int()
		if err != nil {
			return wrap("migrate update mark "+key, err)
		}
		moved += ok
		return nil
	})
	return moved, err
}

// eachOldKey calls fn for every key of a one-key-per-id layout,
// prefix{group}:kind:<id>, with its group and id, until fn fails.
func (s *Store) eachOldKey(ctx context.Context, kind string, fn func(key, group, id string) error) error {
	sep := "}:" + kind + ":"
	iter := s.rdb.Scan(ctx, 0, s.prefix+"{*"+sep+"*", 2000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		i := strings.LastIndex(key, sep)
		if i < 0 || !strings.HasPrefix(key, s.prefix+"{") {
			continue
		}
		if err := fn(key, key[len(s.prefix)+1:i], key[i+len(sep):]); err != nil {
			return err
		}
	}
	return wrap("scan "+kind+" keys", iter.Err())
}

// migrateScript moves one old update key (KEYS[1]) into the generation
// it was written in (its TTL tells when: the window minus what is left),
// unless that generation is past keeping. A string value only: anything
// else under the pattern is not ours.
var migrateScript = redis.NewScript(dedupeLua + `
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then return 0 end
local w, h, f = uarg(ARGV[1])
if not w then return redis.error_reply('migrate: bad id argument') end
local v = redis.call('GET', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
local now = uclock()
redis.call('DEL', KEYS[1])
if not v or left == -2 then return 0 end
if udone(v) then
  -- done: how long it had left tells when it came
  local at = now
  if left > 0 then at = math.min(now, now + left - tonumber(ARGV[2])) end
  v = 'd' .. math.floor(at * 25 / w)
end
if not ulive(v, now, w) then return 0 end
local cur, key, m = ufind(KEYS[2], w, h, f, now)
if cur then return 0 end
uset(KEYS[2], w, h, f, now, v, nil, m)
return 1
`)

// UpdateStates is UpdateState for many updates in one round trip.
func (s *Store) UpdateStates(ctx context.Context, us []Update) ([]string, error) {
	if err := updateScript.Load(ctx, s.rdb).Err(); err != nil {
		return nil, wrap("load update script", err)
	}
	cmds, _ := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, u := range us {
			updateScript.EvalSha(ctx, p, []string{s.dedupeMeta(u.Group)}, s.dedupeArg(u.ID), "get")
		}
		return nil
	})
	out := make([]string, len(us))
	for i, c := range cmds {
		v, err := c.(*redis.Cmd).Text()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, wrap("read update states", err)
		}
		out[i] = doneAsD(v)
	}
	return out, nil
}

// doneAsD reads every form of a done mark ("d<k>", and "1" and "d" of
// the layout before the tables) as "d".
func doneAsD(v string) string {
	if v == "1" || (strings.HasPrefix(v, "d") && strings.Trim(v[1:], "0123456789") == "") {
		return "d"
	}
	return v
}
