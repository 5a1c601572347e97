package adfilter

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
)

// Shared state in Redis: flood counters, warnings, the moderators' audit
// log and the classifier's reports. Every replica reads and writes the
// same keys, so a spammer spreading over replicas is still one spammer.

// floodFragment records a message and returns the member's messages in the
// flood window, how often the member posted this text in the repeat
// window, and how many members posted it in the crowd window. It runs
// inside the update's ingest script (one round trip per message).
var floodFragment = &state.Fragment{Name: "adfilter.flood", Lua: `
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local recent = redis.call('ZCARD', KEYS[1])
local rep, crowd = 0, 0
if ARGV[4] ~= '' then
  rep = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
  redis.call('ZADD', KEYS[3], now, ARGV[6])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[7]))
  redis.call('PEXPIRE', KEYS[3], ARGV[7])
  crowd = redis.call('ZCARD', KEYS[3])
end
return {recent, rep, crowd}
`}

// FloodCounts are what the flood step answers.
type FloodCounts struct{ Recent, Repeats, Crowd int64 }

// FloodStep counts a message for the flood rules. textKey is the match
// form's hash ("" for texts too short to count as repeats). The message
// id is made unique per delivery so that two messages with one id (a
// platform that reuses ids across chats) both count.
func FloodStep(s *state.Store, group, member, msgID, textKey string, f Flood, at time.Time) *state.Step {
	window := max(f.Window.D(), time.Second)
	return &state.Step{
		Fragment: floodFragment,
		Keys:     []string{s.Key(group, "fl", "m", member), s.Key(group, "fl", "t", member, textKey), s.Key(group, "fl", "c", textKey)},
		Args: []any{at.UnixMilli(), msgID + "@" + strconv.FormatUint(rand.Uint64(), 36), window.Milliseconds(),
			textKey, max(f.RepeatWindow.D(), time.Second).Milliseconds(), member, max(f.CrowdWindow.D(), time.Second).Milliseconds()},
	}
}

// TextKey hashes a message's match form for repeat detection.
func TextKey(text []rune) string {
	h := fnv.New64a()
	var b [4]byte
	for _, r := range text {
		b[0], b[1], b[2], b[3] = byte(r), byte(r>>8), byte(r>>16), byte(r>>24)
		h.Write(b[:])
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// warnScript adds (ARGV[2] = 1) or removes (-1) a warning and returns the
// count of warnings younger than the decay period.
var warnScript = redis.NewScript(`
local now, decay = tonumber(ARGV[1]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - decay)
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
elseif ARGV[2] == '-1' then
  redis.call('ZPOPMAX', KEYS[1])
elseif ARGV[2] == 'clear' then
  redis.call('DEL', KEYS[1])
end
redis.call('PEXPIRE', KEYS[1], decay)
return redis.call('ZCARD', KEYS[1])
`)

// Warnings change a member's warning count: +1 adds one, -1 removes the
// latest, 0 reads, and "clear" (clear=true) removes all. It returns the
// count of live warnings.
func Warnings(ctx context.Context, s *state.Store, group, member string, delta int, clear bool, decay time.Duration, at time.Time) (int, error) {
	op := strconv.Itoa(delta)
	if clear {
		op = "clear"
	}
	// a unique element: two warnings in the same instant are two
	id := strconv.FormatInt(at.UnixNano(), 36) + "-" + strconv.FormatUint(rand.Uint64(), 36)
	n, err := warnScript.Run(ctx, s.Client(), []string{s.Key(group, "warns", member)}, at.UnixMilli(), op, decay.Milliseconds(), id).Int()
	if err != nil {
		return 0, fmt.Errorf("%w: warnings: %w", state.ErrRedis, err)
	}
	return n, nil
}

// WarningCount reads a member's live warnings without changing anything
// (decay ≤ 0: every warning kept counts).
func WarningCount(ctx context.Context, s *state.Store, group, member string, decay time.Duration, at time.Time) (int, error) {
	min := "-inf"
	if decay > 0 {
		min = "(" + strconv.FormatInt(at.Add(-decay).UnixMilli(), 10)
	}
	n, err := s.Client().ZCount(ctx, s.Key(group, "warns", member), min, "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("%w: read warnings: %w", state.ErrRedis, err)
	}
	return int(n), nil
}

// Entry is one line of the moderation audit log.
type Entry struct {
	At     time.Time
	By     string // moderator id, or "adfilter"
	Action string
	Member string
	Name   string
	Reason string
	// Result is the platform's answer where the entry was written after
	// it ("ok", or "failed: ..."); empty for decisions logged as made.
	Result string
	// Text is the removed message (the filter's removals), at most
	// MaxAuditText runes; ID is the entry's id in the log.
	Text string
	ID   string
}

// MaxAuditText bounds the message text an audit entry keeps.
const MaxAuditText = 2000

// AuditText is a message's text as an audit entry keeps it.
func AuditText(text string) string {
	r := []rune(text)
	if len(r) > MaxAuditText {
		r = r[:MaxAuditText]
	}
	return string(r)
}

// Audit appends an entry to the group's audit log (a Redis stream).
func Audit(ctx context.Context, s *state.Store, group string, e Entry) error {
	vals := []any{"at", e.At.UnixMilli(), "by", e.By, "action", e.Action, "member", e.Member, "name", e.Name, "reason", e.Reason}
	if e.Text != "" {
		vals = append(vals, "text", AuditText(e.Text))
	}
	return s.AppendModlog(ctx, group, vals...)
}

// Recent returns the latest n audit entries, newest first.
func Recent(ctx context.Context, s *state.Store, group string, n int64) ([]Entry, error) {
	xs, err := s.Client().XRevRangeN(ctx, s.Key(group, "modlog"), "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: read audit log: %w", state.ErrRedis, err)
	}
	out := make([]Entry, 0, len(xs))
	for _, x := range xs {
		str := func(k string) string { v, _ := x.Values[k].(string); return v }
		ms, _ := strconv.ParseInt(str("at"), 10, 64)
		out = append(out, Entry{At: time.UnixMilli(ms), By: str("by"), Action: str("action"), Member: str("member"), Name: str("name"),
			Reason: str("reason"), Result: str("result"), Text: str("text"), ID: x.ID})
	}
	return out, nil
}

// modelKey is a shared classifier's reports: a list of labelled messages
// ("s"/"h" and the text) and, beside it, their version.
func modelKey(s *state.Store, model string) string { return s.GlobalKey("{clf:"+model+"}", "reports") }
func versionKey(s *state.Store, model string) string {
	return s.GlobalKey("{clf:"+model+"}", "version")
}

// maxReports bounds the reports kept (the oldest go first).
const maxReports = 5000

// report is a moderator's labelled message.
type report struct {
	text    string
	spam    bool
	removed bool // removed by the filter: known, not learned from
}

// Teach records a moderator's report for the shared model: every replica
// replays the reports, in order, on top of the model its sample files
// give, so all of them score with the same model.
func Teach(ctx context.Context, s *state.Store, model, text string, spam bool) error {
	class := "h"
	if spam {
		class = "s"
	}
	_, err := s.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, modelKey(s, model), class+text)
		p.LTrim(ctx, modelKey(s, model), -maxReports, -1)
		p.Incr(ctx, versionKey(s, model))
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: teach the classifier: %w", state.ErrRedis, err)
	}
	return nil
}

func removedKey(s *state.Store, model string) string {
	return s.GlobalKey("{clf:"+model+"}", "removed")
}

// maxRemoved bounds the removed messages kept for near-duplicates.
const maxRemoved = 1000

// Remember keeps a message the filter removed, so the next of its wave —
// in this group or another naming the same model — is known by its
// likeness. It is not learned from: a mistake of the filter must not
// teach it.
func Remember(ctx context.Context, s *state.Store, model, text string) error {
	_, err := s.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, removedKey(s, model), text)
		p.LTrim(ctx, removedKey(s, model), -maxRemoved, -1)
		p.Incr(ctx, versionKey(s, model))
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: remember a removed message: %w", state.ErrRedis, err)
	}
	return nil
}

// loadShared reads a shared model's reports from Redis, then the
// messages the filter removed (marked removed).
func loadShared(ctx context.Context, s *state.Store, model string) ([]report, error) {
	var items, removed *redis.StringSliceCmd
	_, err := s.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
		items = p.LRange(ctx, modelKey(s, model), 0, -1)
		removed = p.LRange(ctx, removedKey(s, model), 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: read the classifier's reports: %w", state.ErrRedis, err)
	}
	out := make([]report, 0, len(items.Val())+len(removed.Val()))
	for _, it := range items.Val() {
		if len(it) < 2 {
			continue
		}
		out = append(out, report{text: it[1:], spam: it[0] == 's'})
	}
	for _, it := range removed.Val() {
		out = append(out, report{text: it, spam: true, removed: true})
	}
	return out, nil
}

func modelVersion(ctx context.Context, s *state.Store, model string) (int64, error) {
	v, err := s.Client().Get(ctx, versionKey(s, model)).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: read the classifier's version: %w", state.ErrRedis, err)
	}
	return v, nil
}
