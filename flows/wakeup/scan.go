package wakeup

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/tags"
)

// keys names a group's wake-up keys.
type keys struct {
	s     *state.Store
	group string
}

// sent holds, per stage, the members it was sent to, scored by the member's
// last activity at the time: the silence period it was sent for. A member
// who speaks again has a new last activity and is due again.
func (k keys) sent(stage string) string { return k.s.Key(k.group, "wakeup", "sent", stage) }
func (k keys) stats() string            { return k.s.Key(k.group, "wakeup", "stats") }
func (k keys) cursor() string           { return k.s.Key(k.group, "wakeup", "cursor") }
func (k keys) day(date string) string   { return k.s.Key(k.group, "wakeup", "day", date) }

// stageKey identifies a stage in Redis by its silence length, so stats
// and sent marks survive reordering the config.
func stageKey(s Stage) string { return strconv.FormatInt(s.After.D().Milliseconds()/1000, 10) + "s" }

// Due is a member due for a stage.
type Due struct {
	ID    string
	Stage int
	Last  time.Time // last activity: the silence period
}

// Counts are the members per tier.
type Counts struct {
	Core, Active, Silent, Churned int64
}

// Tiers counts the group's members per tier at now: three ZCOUNTs and a
// look at the top contributors, whatever the group's size.
func TierCounts(ctx context.Context, s *state.Store, group string, t Tiers, now time.Time) (Counts, error) {
	var c Counts
	silentAt := now.Add(-t.Silent.D())
	churnAt := now.Add(-t.Churned.D())
	var err error
	if c.Active, err = s.ActiveBetween(ctx, group, silentAt, time.Time{}); err != nil {
		return c, err
	}
	if c.Silent, err = s.ActiveBetween(ctx, group, churnAt, silentAt); err != nil {
		return c, err
	}
	if c.Churned, err = s.ActiveBetween(ctx, group, time.Time{}, churnAt); err != nil {
		return c, err
	}
	core, err := Core(ctx, s, group, t, now)
	if err != nil {
		return c, err
	}
	c.Core = int64(len(core))
	c.Active -= c.Core
	return c, nil
}

// Core returns the core members at now: top contributors who are not
// silent.
func Core(ctx context.Context, s *state.Store, group string, t Tiers, now time.Time) ([]state.Contributor, error) {
	if t.CoreTop == 0 {
		return nil, nil
	}
	top, err := s.TopContributors(ctx, group, int64(t.CoreTop), now)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(top))
	for i, c := range top {
		ids[i] = c.ID
	}
	last, err := s.LastActive(ctx, group, ids...)
	if err != nil {
		return nil, err
	}
	silentAt := now.Add(-t.Silent.D())
	var out []state.Contributor
	for i, c := range top {
		if c.Score >= t.CoreMin && !last[i].IsZero() && !last[i].Before(silentAt) {
			out = append(out, c)
		}
	}
	return out, nil
}

// pageSize is how many members one scan read covers.
const pageSize = 5000

// Scan finds the members due for each stage at now, up to limit in all (0:
// no limit), earlier stages first, and calls fn with each page of them. A
// member is due for the stage matching their silence length if that stage
// was not sent for their current silence period (the final stage: not
// ever).
//
// Each stage keeps a cursor: the last-activity time up to which every
// member was handled. Members only ever move past it (by speaking), so a
// daily scan reads just the members who crossed the stage's threshold since
// the previous scan, not everyone silent. Each page costs two round trips:
// a range of the activity set and one ZMSCORE of the stage's sent set
// (which also guards the final stage's once-ever rule).
func Scan(ctx context.Context, s *state.Store, group string, cfg *Config, now time.Time, limit int, fn func([]Due) error) (int, error) {
	k := keys{s, group}
	cursors, err := s.Client().HGetAll(ctx, k.cursor()).Result()
	if err != nil {
		return 0, fmt.Errorf("read wake-up cursors: %w", err)
	}
	found := 0
	for i, st := range cfg.Stages {
		if limit > 0 && found >= limit {
			break
		}
		upto := now.Add(-st.After.D()) // inclusive: silent at least After
		var from time.Time
		if i+1 < len(cfg.Stages) {
			from = now.Add(-cfg.Stages[i+1].After.D()).Add(time.Millisecond)
		}
		if c, err := strconv.ParseInt(cursors[stageKey(st)], 10, 64); err == nil && time.UnixMilli(c+1).After(from) {
			from = time.UnixMilli(c + 1)
		}
		if !from.IsZero() && from.After(upto) {
			continue
		}
		final := cfg.final(i)
		sentKey := k.sent(stageKey(st))
		// a stage never sent (the first scan) has no marks to read
		marked, err := s.Client().Exists(ctx, sentKey).Result()
		if err != nil {
			return found, fmt.Errorf("read sent wake-ups: %w", err)
		}
		done := upto // handled through here, unless stopped early
		err = s.ScanActivity(ctx, group, from, upto.Add(time.Millisecond), pageSize, func(page []state.Activity) (bool, error) {
			ids := make([]string, len(page))
			for j, a := range page {
				ids[j] = a.ID
			}
			marks := make([]float64, len(page))
			if marked > 0 {
				var err error
				if marks, err = s.Client().ZMScore(ctx, sentKey, ids...).Result(); err != nil {
					return false, fmt.Errorf("read sent wake-ups: %w", err)
				}
			}
			var due []Due
			stopped := false
			for j, a := range page {
				// ZMSCORE reads a missing member as 0
				if final && marks[j] != 0 || !final && int64(marks[j]) == a.Last.UnixMilli() {
					continue
				}
				if limit > 0 && found >= limit {
					done = a.Last.Add(-time.Millisecond)
					stopped = true
					break
				}
				due = append(due, Due{ID: a.ID, Stage: i, Last: a.Last})
				found++
			}
			if !st.Audience.IsZero() && len(due) > 0 {
				ids := make([]string, len(due))
				for j, d := range due {
					ids[j] = d.ID
				}
				fit, err := stageFit(ctx, s, group, st.Audience, ids, now)
				if err != nil {
					return false, err
				}
				kept := due[:0]
				for j, d := range due {
					if fit[j] {
						kept = append(kept, d)
					} else {
						found--
					}
				}
				due = kept
			}
			if len(due) > 0 {
				if err := fn(due); err != nil {
					return false, err
				}
			}
			return !stopped, nil
		})
		if err != nil {
			return found, err
		}
		if err := s.Client().HSet(ctx, k.cursor(), stageKey(st), done.UnixMilli()).Err(); err != nil {
			return found, fmt.Errorf("save wake-up cursor: %w", err)
		}
	}
	return found, nil
}

// markSent records that members got a stage for their silence period, and
// counts the sends, in one round trip.
func markSent(ctx context.Context, k keys, st Stage, due []Due, now time.Time) error {
	last := map[string]map[string]string{}
	for _, d := range due {
		last[d.ID] = map[string]string{"wk_last": stageKey(st) + ":" + strconv.FormatInt(now.UnixMilli(), 10)}
	}
	if err := k.s.FieldsBatch(ctx, k.group, last); err != nil {
		return fmt.Errorf("record wake-ups sent: %w", err)
	}
	_, err := k.s.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
		zs := make([]redis.Z, len(due))
		for i, d := range due {
			zs[i] = redis.Z{Score: float64(d.Last.UnixMilli()), Member: d.ID}
		}
		p.ZAdd(ctx, k.sent(stageKey(st)), zs...)
		p.HIncrBy(ctx, k.stats(), stageKey(st)+":sent", int64(len(due)))
		return nil
	})
	if err != nil {
		return fmt.Errorf("record wake-ups sent: %w", err)
	}
	return nil
}

// markSkipped marks members who are not messaged (bots) as done for their
// silence period, so later scans do not read them again.
func markSkipped(ctx context.Context, k keys, cfg *Config, due []Due) error {
	if len(due) == 0 {
		return nil
	}
	_, err := k.s.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, d := range due {
			p.ZAdd(ctx, k.sent(stageKey(cfg.Stages[d.Stage])), redis.Z{Score: float64(d.Last.UnixMilli()), Member: d.ID})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record skipped wake-ups: %w", err)
	}
	return nil
}

// Received is a wake-up stage a member was sent, and when.
type Received struct {
	After time.Duration
	At    time.Time
}

// StagesReceived lists the stages of cfg a member was sent in their
// current silence or before (the latest send of each).
func StagesReceived(ctx context.Context, s *state.Store, group, member string, cfg *Config) ([]Received, error) {
	k := keys{s: s, group: group}
	var out []Received
	for _, st := range cfg.Stages {
		v, err := s.Client().ZScore(ctx, k.sent(stageKey(st)), member).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: wake-up stages of a member: %w", state.ErrRedis, err)
		}
		out = append(out, Received{After: st.After.D(), At: time.UnixMilli(int64(v))})
	}
	return out, nil
}

// TierMembers lists a tier's members at now.
func TierMembers(ctx context.Context, s *state.Store, group string, t Tiers, tier string, now time.Time) ([]string, error) {
	core, err := Core(ctx, s, group, t, now)
	if err != nil {
		return nil, err
	}
	isCore := map[string]bool{}
	var out []string
	for _, c := range core {
		isCore[c.ID] = true
		if tier == "core" {
			out = append(out, c.ID)
		}
	}
	if tier == "core" {
		return out, nil
	}
	silentAt, churnAt := now.Add(-t.Silent.D()), now.Add(-t.Churned.D())
	var from, to time.Time
	switch tier {
	case "active":
		from, to = silentAt, now.Add(time.Hour)
	case "silent":
		from, to = churnAt, silentAt
	case "churned":
		to = churnAt
	default:
		return nil, fmt.Errorf("no tier %q", tier)
	}
	err = s.ScanActivity(ctx, group, from, to, pageSize, func(page []state.Activity) (bool, error) {
		for _, a := range page {
			if !isCore[a.ID] {
				out = append(out, a.ID)
			}
		}
		return true, nil
	})
	return out, err
}

// stageFit answers which of a page of members a stage's audience takes:
// the tags (tags.Filter), then points, join time and inviter, one
// ZMSCORE each, in one more round trip.
func stageFit(ctx context.Context, s *state.Store, group string, a *StageAudience, ids []string, now time.Time) ([]bool, error) {
	fit, err := tags.Filter(ctx, s, group, a.Tags, ids, now)
	if err != nil {
		return nil, err
	}
	var pts []float64
	if a.MinPoints > 0 {
		if pts, err = checkin.Balances(s, group).Scores(ctx, ids); err != nil {
			return nil, fmt.Errorf("%w: read a stage's audience: %w", state.ErrRedis, err)
		}
	}
	var joined []float64
	if a.JoinedWithin > 0 || a.JoinedBefore > 0 {
		if joined, err = s.Joined(group).Scores(ctx, ids); err != nil {
			return nil, fmt.Errorf("%w: read a stage's audience: %w", state.ErrRedis, err)
		}
	}
	var invited *redis.FloatSliceCmd
	if a.InvitedBy != "" {
		invited = s.Client().ZMScore(ctx, checkin.InviteesKey(s, group, a.InvitedBy), ids...)
		if err := invited.Err(); err != nil {
			return nil, fmt.Errorf("%w: read a stage's audience: %w", state.ErrRedis, err)
		}
	}
	for j := range ids {
		if pts != nil && pts[j] < float64(a.MinPoints) {
			fit[j] = false
		}
		if joined != nil {
			at := joined[j] // 0: never seen joining
			if d := a.JoinedWithin.D(); d > 0 && (at == 0 || at < float64(now.Add(-d).UnixMilli())) {
				fit[j] = false
			}
			if d := a.JoinedBefore.D(); d > 0 && (at == 0 || at > float64(now.Add(-d).UnixMilli())) {
				fit[j] = false
			}
		}
		if invited != nil && invited.Val()[j] == 0 {
			fit[j] = false
		}
	}
	return fit, nil
}
