package adfilter

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/state"
)

// A spam wave across groups: new accounts post one template in several
// groups of a deployment within minutes, one message per group, so no
// group's own counters see a crowd. Newcomers' messages are counted
// deployment-wide by their template (waveKey); the copy that reaches
// flood.groups groups scores flood.score, and once a copy is removed for
// what it says, the earlier copies still standing in every group are
// removed too, each by its own group's adfilter (a job per message, so a
// restart loses none).

// waveScript records a message under its template and answers the
// template's messages within the window (ARGV: now, window, horizon in
// ms, the entry; "" only reads). Entries older than the horizon (the
// longest window a group may set) go, and at most waveCap stay: a
// template posted thousands of times is a wave long before that.
var waveScript = redis.NewScript(`
local now, window, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - horizon)
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[5]) + 1))
  redis.call('PEXPIRE', KEYS[1], horizon)
end
return redis.call('ZRANGEBYSCORE', KEYS[1], now - window, '+inf')
`)

const (
	// maxWaveWindow bounds flood.groups_window, and so how long an entry
	// is kept
	maxWaveWindow = time.Hour
	waveCap       = 500
)

// waveEntry is one message of a template: where it is, not who wrote it
// (an entry holds no member id, so nothing here outlives a member's
// erasure; it is gone within the hour anyway).
type waveEntry struct {
	Platform string `json:"p"`
	Chat     string `json:"c"`
	Group    string `json:"g"`
	Message  string `json:"m"`
	// Swept: its removal is done (or it is the message that set it off);
	// it still counts toward the template's groups
	Swept bool `json:"s,omitempty"`
}

func (e waveEntry) encode() string {
	b, _ := json.Marshal(e) // strings only: cannot fail
	return string(b)
}

func waveKey(s *state.Store, template string) string {
	return s.GlobalKey("{wave:" + template + "}")
}

// wave records this message under its template (record) or only reads
// the template's messages, and answers those within window.
func wave(ctx context.Context, s *state.Store, template string, self waveEntry, record bool, window time.Duration, at time.Time) ([]waveEntry, error) {
	entry := ""
	if record {
		entry = self.encode()
	}
	raw, err := waveScript.Run(ctx, s.Client(), []string{waveKey(s, template)},
		at.UnixMilli(), window.Milliseconds(), maxWaveWindow.Milliseconds(), entry, waveCap).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("%w: count the template across groups: %w", state.ErrRedis, err)
	}
	out := make([]waveEntry, 0, len(raw))
	for _, r := range raw {
		var e waveEntry
		if json.Unmarshal([]byte(r), &e) == nil && e.Group != "" && e.Message != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

// groupsIn counts the distinct groups of a template's messages.
func groupsIn(es []waveEntry) int {
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.Group] = true
	}
	return len(seen)
}

// sweepWave has every earlier message of the template removed by its own
// group's adfilter (HandleTimer), now, and marks them swept, the message
// that set it off too: they still count toward the template's groups, so
// the next copy is known, but are not removed twice. The job id is the
// message's, so two replicas sweeping at once remove it once.
func sweepWave(ctx context.Context, fc *engine.FlowContext, template string, es []waveEntry, self waveEntry, text string) error {
	var marks []any
	var ids []string
	var args []map[string]string
	n, text := fmt.Sprint(groupsIn(es)), Excerpt(text, 80)
	for _, e := range es {
		if e.Swept {
			continue
		}
		if e != self {
			ids = append(ids, e.Platform+":"+e.Message)
			args = append(args, map[string]string{
				"platform": e.Platform, "group": e.Group, "chat": e.Chat, "message": e.Message,
				"member": "", "name": "", "username": "", "groups": n, "text": text,
			})
		}
		done := e
		done.Swept = true
		marks = append(marks, e.encode(), done.encode())
	}
	if len(marks) == 0 {
		return nil
	}
	if err := fc.ScheduleEachIn(ctx, "adfilter", "wave", fc.Now, ids, args); err != nil {
		return fmt.Errorf("schedule the removal of %d copies: %w", len(ids), err)
	}
	if err := markScript.Run(ctx, fc.Store.Client(), []string{waveKey(fc.Store, template)}, marks...).Err(); err != nil {
		// the jobs are set; a later copy schedules them again under the
		// same ids, which is harmless while they wait
		return fmt.Errorf("%w: mark swept copies: %w", state.ErrRedis, err)
	}
	return nil
}

// markScript replaces entries (ARGV: each followed by its swept form),
// keeping their times.
var markScript = redis.NewScript(`
for i = 1, #ARGV, 2 do
  local t = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if t then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZADD', KEYS[1], t, ARGV[i + 1])
  end
end
return 0
`)

// SweepCopies has the earlier copies of a message a moderator reported
// as spam (/spam; msgID is the reported message) removed: the ones
// newcomers posted in any group within cfg's flood.groups_window, each
// removed by its own group's filter.
func SweepCopies(ctx context.Context, fc *engine.FlowContext, cfg *Config, text, msgID string) error {
	fl := cfg.Flood
	if cfg.scorer == nil || fl.Groups == 0 || cfg.DryRun {
		return nil
	}
	template := cfg.scorer.WaveKey(text, max(fl.MinLength, 1))
	if template == "" {
		return nil
	}
	ev := fc.Event
	self := waveEntry{Platform: ev.Platform, Chat: ev.Chat.Key, Group: ev.GroupKey(), Message: msgID}
	copies, err := wave(ctx, fc.Store, template, self, false, fl.GroupsWindow.D(), fc.Now)
	if err != nil {
		return err
	}
	return sweepWave(ctx, fc, template, copies, self, text)
}

// HandleTimer implements engine.TimerHandler: an earlier copy of a wave
// another group's filter removed is removed here, by this group's
// settings (a dry run only reports); a minute's held-back reports are
// told (see Report).
func (Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	t := fc.Event.Timer
	cfg, _ := fc.Config.(*Config)
	if t.Kind == "digest" {
		return digest(ctx, fc)
	}
	if t.Kind != "wave" || cfg == nil {
		return nil
	}
	loc := fc.Locale()
	a := t.Args
	if cfg.DryRun {
		return Report(ctx, fc, cfg, words.T(loc, "report.wave.dry", a["groups"], a["text"]))
	}
	if !fc.Caps.Has(bot.CanDelete) {
		return Report(ctx, fc, cfg, words.T(loc, "report.wave", a["groups"], words.T(loc, "did.nodelete"), a["text"]))
	}
	fc.Count(kpi.Ads, 1)
	fc.Do(bot.Action{Type: bot.ActDelete, Chat: a["chat"], MessageID: a["message"],
		Audit: &bot.Audit{By: "adfilter", What: "delete (spam wave)", Reason: words.T(loc, "reason.wave", a["groups"]) + " · " + a["text"]}})
	return Report(ctx, fc, cfg, words.T(loc, "report.wave", a["groups"], words.T(loc, "did.delete"), a["text"]))
}
