// Package state keeps member state in Redis: one hash per member, a
// last-active sorted set per group, and update de-duplication.
//
// Every key of a group carries the group in a hash tag ({telegram:-100123}),
// so a group's keys share one Redis Cluster slot and a Lua script may touch
// them together.
package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is the member state of all groups.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	steps  stepScripts
	pipe   *pipeline // nil: one round trip per ingest
	// tallyLoaded: the KPI scripts are in Redis (see Tallies)
	tallyLoaded atomic.Bool
	window      time.Duration // update ids are remembered (0: DedupeWindow)
	// legacyUntil: lookups read one-key-per-update marks until then
	legacyUntil time.Time
}

// New returns a Store using keys under prefix (e.g. "qb:").
func New(rdb redis.UniversalClient, prefix string) *Store {
	return &Store{rdb: rdb, prefix: prefix, legacyUntil: time.Now().Add(DedupeWindow)}
}

// Client returns the Redis client, for flows that keep their own keys.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Key returns a group-scoped key: prefix{group}:parts...
func (s *Store) Key(group string, parts ...string) string {
	k := s.prefix + "{" + group + "}"
	for _, p := range parts {
		k += ":" + p
	}
	return k
}

// GlobalKey returns a key that belongs to no group: prefix + parts.
func (s *Store) GlobalKey(parts ...string) string {
	return s.prefix + strings.Join(parts, ":")
}

// Joined is the group's members by their latest join time (ms), in
// buckets.
func (s *Store) Joined(group string) Buckets { return s.Buckets(group, "joined") }

// activated is the group's newcomers by the delay from their latest join
// to their first message (ms + 1), in buckets.
func (s *Store) activated(group string) Buckets { return s.Buckets(group, "activated") }

// ids are the members of a bucketed range.
func ids(zs []redis.Z) []string {
	out := make([]string, len(zs))
	for i, z := range zs {
		out[i], _ = z.Member.(string)
	}
	return out
}

// Member is a member's record in one group. Fields holds what flows store
// beside the core fields.
type Member struct {
	ID       string
	Name     string
	Username string
	IsBot    bool
	Present  bool // in the group now (joined or seen speaking, not left)

	JoinedAt   time.Time
	LeftAt     time.Time
	LastActive time.Time
	// PrevActive is LastActive before this event, so a flow that rejects the
	// event (spam) can restore it.
	PrevActive time.Time
	FirstMsgAt time.Time
	// ActivatedAt is the member's first message since their latest join.
	ActivatedAt time.Time
	Messages    int64
	Joins       int64

	Fields map[string]string
}

// ErrRedis marks errors from the store, so callers can tell "Redis is away"
// from a flow's own failure.
var ErrRedis = errors.New("redis")

// Transient reports whether err means the store could not be reached or
// did not answer in time — "not done, try again" — whether or not the
// flow that met it wrapped it with ErrRedis: a flow that calls the Redis
// client itself (a ranking, a ledger read) returns go-redis's own errors.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrRedis) || errors.Is(err, ErrInFlight) || errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %w", ErrRedis, op, err)
}

var coreFields = map[string]bool{
	"name": true, "username": true, "bot": true, "in": true, "joined_at": true, "left_at": true,
	"last_active": true, "first_msg_at": true, "msgs": true, "joins": true, "activated_at": true,
}

func parseMember(id string, kv map[string]string) *Member {
	m := &Member{ID: id, Fields: map[string]string{}}
	for k, v := range kv {
		switch k {
		case "name":
			m.Name = v
		case "username":
			m.Username = v
		case "bot":
			m.IsBot = v == "1"
		case "in":
			m.Present = v == "1"
		case "joined_at":
			m.JoinedAt = msTime(v)
		case "left_at":
			m.LeftAt = msTime(v)
		case "last_active":
			m.LastActive = msTime(v)
		case "prev_active":
			m.PrevActive = msTime(v)
		case "first_msg_at":
			m.FirstMsgAt = msTime(v)
		case "activated_at":
			m.ActivatedAt = msTime(v)
		case "msgs":
			m.Messages, _ = strconv.ParseInt(v, 10, 64)
		case "joins":
			m.Joins, _ = strconv.ParseInt(v, 10, 64)
		default:
			m.Fields[k] = v
		}
	}
	return m
}

func msTime(v string) time.Time {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Kind is what an ingested event does to the member record.
type Kind string

// Kinds of ingest.
const (
	KindJoin    Kind = "join"
	KindLeave   Kind = "leave"
	KindMessage Kind = "msg"   // counts as a message and as activity
	KindTouch   Kind = "touch" // activity without a message (button press)
	KindSeen    Kind = "seen"  // record only (join request)
)

// Ingest describes one platform update to record.
type Ingest struct {
	Group    string
	UpdateID string // "" skips de-duplication (remembered for DedupeWindow)
	Member   string
	Name     string
	Username string
	IsBot    bool
	Kind     Kind
	At       time.Time
	// InviteLink is the link a join came through (kept as join_link).
	InviteLink string
	// Source is what brought a joining member (kept as join_src; see
	// bot.Event.Source).
	Source string
	// Lease is how long another delivery of this update waits for the
	// process handling it before taking over (default 15s).
	Lease time.Duration
}

// ErrInFlight is Ingest's answer to a redelivered update another process
// is still handling: not done, try again later (after Lease at most).
var ErrInFlight = errors.New("update is being handled by another process")

// ingestScript de-duplicates the update and records the member in one round
// trip: the common path of every message. An update's key says where its
// handling is: "p:<ms>" being handled since then, "d" done. A redelivery
// of a done update is a duplicate; of one being handled, "in flight" —
// unless the handler's lease (ARGV[9] ms) ran out: it died, and this one
// takes over, without recording the member a second time.
var ingestScript = redis.NewScript(ingestCore + `
local out, record = ingest()
return out
`)

// ingestCore is the ingest as a Lua function, so that scripts composed
// with flows' steps (see Step) share it: it returns the member's record
// (or false for a duplicate, {'__inflight__'} for an update in flight)
// and whether this call recorded the update.
var ingestCore = dedupeLua + TopIncrLua + RecordLua + `
local function ingest()
local record = true
local uw, uh, uf = uarg(ARGV[1])
if uw then
  local wall = uclock()
  local cur, key, um = ufind(KEYS[1], uw, uh, uf, wall)
  if udone(cur) then return false, false end
  if cur then
    local since = tonumber(string.sub(cur, 3)) or 0
    if wall - since < (tonumber(ARGV[9]) or 30000) then return {'__inflight__'}, false end
    record = false
  end
  uset(KEYS[1], uw, uh, uf, wall, 'p:' .. wall, key, um)
end
local now, kind = ARGV[2], ARGV[3]
local m = ropen(KEYS[2], ARGV[7])
local prev = rget(m, 'last_active') or '0'
if not record then
  local out = rflat(m)
  out[#out+1] = 'prev_active'
  out[#out+1] = prev
  return out, false
end
-- an empty username and bot=0 are not written: absent reads the same
rset(m, 'name', ARGV[4])
if ARGV[5] ~= '' then rset(m, 'username', ARGV[5]) else rdel(m, 'username') end
if ARGV[6] == '1' then rset(m, 'bot', '1') else rdel(m, 'bot') end
if kind == 'join' then
  if ARGV[8] ~= '' then rset(m, 'join_link', ARGV[8]) else rdel(m, 'join_link') end
  if ARGV[10] ~= '' then rset(m, 'join_src', ARGV[10]) else rdel(m, 'join_src') end
  rset(m, 'joined_at', now)
  rset(m, 'in', '1')
  for _, k in ipairs({'left_at', 'activated_at', 'a7', 'a30', 'r1', 'r7', 'r30'}) do rdel(m, k) end
  redis.call('ZADD', KEYS[4], now, ARGV[7])
  redis.call('ZREM', KEYS[5], ARGV[7])
  rincr(m, 'joins', 1)
  if redis.call('ZSCORE', KEYS[3], ARGV[7]) == false then
    redis.call('ZADD', KEYS[3], now, ARGV[7])
    redis.call('INCR', KEYS[8])
  end
  if prev == '0' then rset(m, 'last_active', now) end
elseif kind == 'leave' then
  rset(m, 'left_at', now)
  rset(m, 'in', '0')
  if redis.call('ZREM', KEYS[3], ARGV[7]) == 1 then redis.call('DECR', KEYS[8]) end
  redis.call('ZREM', KEYS[7], ARGV[7])
elseif kind == 'msg' or kind == 'touch' then
  rset(m, 'last_active', now)
  rset(m, 'in', '1')
  if redis.call('ZADD', KEYS[3], now, ARGV[7]) == 1 then redis.call('INCR', KEYS[8]) end
  if kind == 'msg' then
    rincr(m, 'msgs', 1)
    topincr(KEYS[7], ` + ContribWeightLua("now") + `, ARGV[7], ` + strconv.Itoa(ContribCap) + `)
    rsetnx(m, 'first_msg_at', now)
    local joined = rget(m, 'joined_at')
    if joined and rsetnx(m, 'activated_at', now) == 1 then
      -- delay + 1ms, so that 0 means never (ZMSCORE reads a missing member as 0)
      redis.call('ZADD', KEYS[5], tonumber(now) - tonumber(joined) + 1, ARGV[7])
    end
  end
end
rsave(m)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[6], string.lower(ARGV[5]), ARGV[7]) end
local out = rflat(m)
out[#out+1] = 'prev_active'
out[#out+1] = prev
return out, true
end
`

// Ingest de-duplicates and records an update. It returns dup=true, and no
// member, when the update id was seen before (by this or another process).
func (s *Store) Ingest(ctx context.Context, in Ingest) (m *Member, dup bool, err error) {
	m, _, dup, err = s.IngestSteps(ctx, in, nil)
	return m, dup, err
}

func (s *Store) ingestCall(in Ingest) (keys []string, args []any) {
	uarg := "-" // no de-duplication
	if in.UpdateID != "" {
		uarg = s.dedupeArg(in.UpdateID)
	}
	bot := "0"
	if in.IsBot {
		bot = "1"
	}
	lease := in.Lease
	if lease <= 0 {
		// a flow's work is bounded by 10 s (the engine's FlowTimeout), so a
		// handler still alive after 15 s is stuck; waiting longer would
		// stall a poller behind a crashed replica's update
		lease = 15 * time.Second
	}
	return []string{s.dedupeMeta(in.Group), s.RecordKey(in.Group, in.Member), s.ActiveKey(in.Group, in.Member), s.Joined(in.Group).Key(in.Member), s.activated(in.Group).Key(in.Member), s.usernameKey(in.Group, in.Username), s.ContribKey(in.Group), s.presentKey(in.Group)},
		[]any{uarg, in.At.UnixMilli(), string(in.Kind), in.Name, in.Username, bot, in.Member, in.InviteLink, lease.Milliseconds(), in.Source}
}

// IngestMany records many updates in one pipelined round trip (a member
// list imported from a platform, a benchmark's million members); results
// are not returned.
func (s *Store) IngestMany(ctx context.Context, ins []Ingest) error {
	if len(ins) == 0 {
		return nil
	}
	if err := ingestScript.Load(ctx, s.rdb).Err(); err != nil {
		return wrap("load ingest script", err)
	}
	cmds, _ := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, in := range ins {
			keys, args := s.ingestCall(in)
			ingestScript.EvalSha(ctx, p, keys, args...)
		}
		return nil
	})
	for _, c := range cmds {
		// a duplicate update answers nil; anything else is a failure
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return wrap("ingest many", err)
		}
	}
	return nil
}

// Forget marks an update whose handling failed as abandoned: its
// redelivery is handled (without recording the member twice) rather than
// dropped as a duplicate.
func (s *Store) Forget(ctx context.Context, group, updateID string) error {
	_, err := s.updateOp(ctx, group, updateID, "forget")
	return wrap("forget update", err)
}

// WorkDone reports whether a piece of scheduled work (a schedule's fire)
// was carried out already, by this or another process.
func (s *Store) WorkDone(ctx context.Context, group, id string) (bool, error) {
	v, err := s.UpdateState(ctx, group, id)
	return v == "d", err
}

// MarkWorkDone records that a piece of scheduled work was carried out.
func (s *Store) MarkWorkDone(ctx context.Context, group, id string) error {
	_, err := s.updateOp(ctx, group, id, "put")
	return wrap("mark work done", err)
}

// Update names an update of a group, for Tallies, with what
// it adds to the group's day record (nil: nothing).
type Update struct {
	Group, ID string
	Tally     *Tally
	// Day is the group's calendar day of the update (closing the day
	// before on a new day's first update)
	Day string
}

// Done marks an update as handled: a redelivery is a duplicate from now
// on. Until then a crash leaves it to the next delivery (see Ingest).
func (s *Store) Done(ctx context.Context, group, updateID string) error {
	_, err := s.updateOp(ctx, group, updateID, "done")
	return wrap("mark update done", err)
}

// Member reads a member record; a member never seen has an empty record.
func (s *Store) Member(ctx context.Context, group, id string) (*Member, error) {
	kv, err := s.readRecord(ctx, group, id)
	if err != nil {
		return nil, wrap("read member", err)
	}
	return parseMember(id, kv), nil
}

// SetFields stores flow fields on a member. Core fields are refused: they
// are the ingest script's to keep consistent with the sorted sets.
func (s *Store) SetFields(ctx context.Context, group, id string, fields map[string]string) error {
	ops := make([]any, 0, 3*len(fields))
	for k, v := range fields {
		if coreFields[k] {
			return fmt.Errorf("set member field %q: it is a core field", k)
		}
		ops = append(ops, "set", k, v)
	}
	if len(ops) == 0 {
		return nil
	}
	return wrap("set member fields", s.changeFields(ctx, s.rdb, group, id, ops...).Err())
}

// IncrField adds delta to a numeric member field atomically and returns the
// new value.
func (s *Store) IncrField(ctx context.Context, group, id, field string, delta int64) (int64, error) {
	if coreFields[field] {
		return 0, fmt.Errorf("increment member field %q: it is a core field", field)
	}
	v, err := s.changeFields(ctx, s.rdb, group, id, "incr", field, delta).Int64()
	return v, wrap("increment member field", err)
}

// SetOnce sets a field only if it is unset and reports whether this call set
// it: the building block of once-only sends across replicas.
func (s *Store) SetOnce(ctx context.Context, group, id, field, value string) (bool, error) {
	if coreFields[field] {
		return false, fmt.Errorf("set member field %q: it is a core field", field)
	}
	n, err := s.changeFields(ctx, s.rdb, group, id, "setnx", field, value).Int()
	return n == 1, wrap("set member field once", err)
}

// GroupFields reads a group's own fields (flow bookkeeping such as the
// last welcome's message id).
func (s *Store) GroupFields(ctx context.Context, group string) (map[string]string, error) {
	kv, err := s.rdb.HGetAll(ctx, s.Key(group, "g")).Result()
	return kv, wrap("read group fields", err)
}

// SetGroupFields stores group fields.
func (s *Store) SetGroupFields(ctx context.Context, group string, fields map[string]string) error {
	args := make([]any, 0, 2*len(fields))
	for k, v := range fields {
		args = append(args, k, v)
	}
	if len(args) == 0 {
		return nil
	}
	return wrap("set group fields", s.rdb.HSet(ctx, s.Key(group, "g"), args...).Err())
}

// CompareAndSet sets fields on a member only if field equals expect (and,
// when guard is not "", guard equals guardValue), atomically: the state
// transitions of a flow (pending → passed) happen once even when two
// presses race. An unset field equals "".
func (s *Store) CompareAndSet(ctx context.Context, group, id, field, expect, guard, guardValue string, set map[string]string) (bool, error) {
	ops := []any{"cas", field, expect}
	if guard != "" {
		ops = append(ops, "cas", guard, guardValue)
	}
	for k, v := range set {
		if coreFields[k] {
			return false, fmt.Errorf("set member field %q: it is a core field", k)
		}
		ops = append(ops, "set", k, v)
	}
	n, err := s.changeFields(ctx, s.rdb, group, id, ops...).Int()
	if err != nil {
		return false, wrap("compare and set member fields", err)
	}
	return n == 1, nil
}

// ActiveSince counts present members active at or after t.
func (s *Store) ActiveSince(ctx context.Context, group string, t time.Time) (int64, error) {
	n, err := s.active(group).Count(ctx, ms(t), "+inf")
	if err != nil {
		return 0, wrap("count active members", err)
	}
	// a join sets a newcomer's clock (the wake-up flow counts silence
	// from it) but is no activity: newcomers since t who have not spoken
	// since joining do not count
	zs, err := s.Joined(group).Range(ctx, ms(t), "+inf", 0, false)
	if err != nil || len(zs) == 0 {
		return n, wrap("count active members", err)
	}
	joined := ids(zs)
	spoke, err := s.activated(group).Scores(ctx, joined)
	if err != nil {
		return 0, wrap("count active members", err)
	}
	present, err := s.active(group).Scores(ctx, joined)
	if err != nil {
		return 0, wrap("count active members", err)
	}
	since := float64(t.UnixMilli())
	for i, last := range present {
		if last >= since && spoke[i] == 0 {
			n--
		}
	}
	return n, nil
}

// Present counts members in the group (joined or seen, not left).
func (s *Store) Present(ctx context.Context, group string) (int64, error) {
	n, err := s.active(group).Count(ctx, "-inf", "+inf")
	return n, wrap("count members", err)
}

// SilentSince lists up to limit present members whose last activity is
// before t, oldest first: the scan behind wake-up messages.
func (s *Store) SilentSince(ctx context.Context, group string, t time.Time, limit int64) ([]string, error) {
	zs, err := s.active(group).Range(ctx, "-inf", "("+ms(t), limit, false)
	if err != nil {
		return nil, wrap("list silent members", err)
	}
	return ids(zs[:min(int64(len(zs)), limit)]), nil
}

// Activation reports, for members who joined in [from, to), how many
// joined and how many spoke within `within` of joining: the newcomer
// activation rate.
func (s *Store) Activation(ctx context.Context, group string, from, to time.Time, within time.Duration) (joined, activated int64, err error) {
	zs, err := s.Joined(group).Range(ctx, ms(from), "("+ms(to), 0, false)
	if err != nil {
		return 0, 0, wrap("read joins", err)
	}
	if len(zs) == 0 {
		return 0, 0, nil
	}
	delays, err := s.activated(group).Scores(ctx, ids(zs))
	if err != nil {
		return 0, 0, wrap("read activations", err)
	}
	for _, d := range delays {
		if d > 0 && d <= float64(within.Milliseconds()+1) {
			activated++
		}
	}
	return int64(len(zs)), activated, nil
}

// usernameKey is the bucket of the group's @username index that holds a
// username (lower-cased as the ingest script does it, ASCII only): one
// hash for a group's every username was a table at about 70 bytes a
// member; buckets of about 50 stay listpacks.
func (s *Store) usernameKey(group, username string) string {
	return s.Key(group, "usernames", strconv.Itoa(bucketOf(asciiLower(strings.TrimPrefix(username, "@")))))
}

// asciiLower is Lua's string.lower: ASCII letters only.
func asciiLower(v string) string {
	b := []byte(v)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ByUsername finds a member id by @username (case-insensitive), for
// commands that name a member: /award @alice 10.
func (s *Store) ByUsername(ctx context.Context, group, username string) (string, error) {
	id, err := s.rdb.HGet(ctx, s.usernameKey(group, username), asciiLower(strings.TrimPrefix(username, "@"))).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, wrap("find member by username", err)
}

// ByUsernames looks up several @usernames in one round trip; unknown
// ones are "".
func (s *Store) ByUsernames(ctx context.Context, group string, usernames ...string) ([]string, error) {
	if len(usernames) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(usernames))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range usernames {
			cmds[i] = p.HGet(ctx, s.usernameKey(group, u), asciiLower(strings.TrimPrefix(u, "@")))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap("find members by username", err)
	}
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// modlogMax caps a group's moderation log.
const modlogMax = 10000

// AppendModlog appends an entry to the group's moderation log (a capped
// Redis stream): field/value pairs.
func (s *Store) AppendModlog(ctx context.Context, group string, values ...any) error {
	err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.Key(group, "modlog"), MaxLen: modlogMax, Approx: true, Values: values}).Err()
	if err != nil {
		return fmt.Errorf("%w: moderation log: %w", ErrRedis, err)
	}
	return nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.rdb.Ping(ctx).Err())
}

// IngestScript is the Lua script behind Ingest, for the load tool's
// redis-benchmark comparison.
func IngestScript() *redis.Script { return ingestScript }

// MoveGroup moves every key of a group to another group key (a Telegram
// group that became a supergroup gets a new id). Keys are copied with
// DUMP/RESTORE, which works across Cluster slots, then deleted.
func (s *Store) MoveGroup(ctx context.Context, from, to string) (int, error) {
	oldPrefix := s.Key(from)
	newPrefix := s.Key(to)
	iter := s.rdb.Scan(ctx, 0, escapeGlob(oldPrefix)+"*", 500).Iterator()
	n := 0
	for iter.Next(ctx) {
		key := iter.Val()
		dump, err := s.rdb.Dump(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return n, wrap("move group: dump "+key, err)
		}
		ttl, err := s.rdb.PTTL(ctx, key).Result()
		if err != nil {
			return n, wrap("move group: ttl", err)
		}
		if ttl < 0 {
			ttl = 0
		}
		if err := s.rdb.RestoreReplace(ctx, newPrefix+strings.TrimPrefix(key, oldPrefix), ttl, dump).Err(); err != nil {
			return n, wrap("move group: restore", err)
		}
		if err := s.rdb.Del(ctx, key).Err(); err != nil {
			return n, wrap("move group: delete", err)
		}
		n++
	}
	return n, wrap("move group: scan", iter.Err())
}

func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}

// Present is a member found in a group when qunbot first reads it.
type Present struct {
	ID, Name string
	JoinedAt time.Time // when the platform says they joined (zero: unknown)
}

// baselineScript records members already in a group without counting
// them as joins: KEYS[1] the present count, then per member their
// record and their last-active and joined buckets; ARGV[1] now (ms),
// then per member id, name, joined (ms). Members already known are left
// as they are.
var baselineScript = redis.NewScript(RecordLua + `
local n = 0
for i = 2, #KEYS, 3 do
  local a = 2 + (i - 2) / 3 * 3
  local id, name, joined = ARGV[a], ARGV[a+1], ARGV[a+2]
  local r = ropen(KEYS[i], id)
  if rget(r, 'in') == nil then
    rset(r, 'name', name)
    rset(r, 'in', '1')
    rset(r, 'last_active', ARGV[1])
    rset(r, 'baseline', '1')
    if joined ~= '0' then
      rset(r, 'joined_at', joined)
      redis.call('ZADD', KEYS[i+2], 'NX', joined, id)
    end
    rsave(r)
    if redis.call('ZADD', KEYS[i+1], 'NX', ARGV[1], id) == 1 then redis.call('INCR', KEYS[1]) end
    n = n + 1
  end
end
return n
`)

// Baseline records members a group already had when qunbot first read it
// — present, but not newcomers: no join is counted, no flow runs, and
// their silence is counted from now (qunbot did not see them before). It
// returns how many were new to qunbot.
func (s *Store) Baseline(ctx context.Context, group string, members []Present, now time.Time) (int, error) {
	total := 0
	for start := 0; start < len(members); start += 500 {
		batch := members[start:min(start+500, len(members))]
		keys := []string{s.presentKey(group)}
		args := []any{now.UnixMilli()}
		for _, m := range batch {
			keys = append(keys, s.RecordKey(group, m.ID), s.ActiveKey(group, m.ID), s.Joined(group).Key(m.ID))
			joined := int64(0)
			if !m.JoinedAt.IsZero() {
				joined = m.JoinedAt.UnixMilli()
			}
			args = append(args, m.ID, m.Name, joined)
		}
		n, err := baselineScript.Run(ctx, s.rdb, keys, args...).Int()
		if err != nil {
			return total, wrap("record a group's members", err)
		}
		total += n
	}
	return total, nil
}
