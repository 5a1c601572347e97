// Package activity is what the community activities (lotteries, polls,
// events) share: who may take part (level, check-in streak, tags, time in
// the group, no live warnings) and the prizes they hand out (points on the
// ledger, a code from a pool, tags).
package activity

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/moderation"
	"github.com/qunbot/qunbot/flows/tags"
)

// Eligibility says who may take part; every condition set must hold.
type Eligibility struct {
	// Level is a check-in level by name: lifetime points of at least
	// that level's.
	Level string `yaml:"level"`
	// MinPoints is lifetime points earned.
	MinPoints int64 `yaml:"min_points"`
	// MinStreak is the current daily check-in streak.
	MinStreak int `yaml:"min_streak"`
	// Tags: the member has at least one of them.
	Tags []string `yaml:"tags"`
	// JoinedBefore: in the group at least this long (members who were
	// there before the bot count as long-standing).
	JoinedBefore config.Duration `yaml:"joined_before"`
	// NotWarned: no live warnings.
	NotWarned bool `yaml:"not_warned"`
}

// IsZero reports whether anyone may take part.
func (e Eligibility) IsZero() bool {
	return e.Level == "" && e.MinPoints == 0 && e.MinStreak == 0 && len(e.Tags) == 0 && e.JoinedBefore == 0 && !e.NotWarned
}

// Check says whether a member may take part, and if not why, in the
// group's language.
func (e Eligibility) Check(ctx context.Context, fc *engine.FlowContext, m *state.Member) (bool, string, error) {
	loc := fc.Locale()
	n := func(field string) int64 { v, _ := strconv.ParseInt(m.Fields[field], 10, 64); return v }
	if e.Level != "" || e.MinPoints > 0 {
		need := e.MinPoints
		if e.Level != "" {
			c, _ := fc.Flow("checkin")
			cc, ok := c.(*checkin.Config)
			if !ok {
				return false, words.T(loc, "level.none", e.Level), nil
			}
			p, ok := cc.LevelPoints(e.Level)
			if !ok {
				return false, words.T(loc, "level.none", e.Level), nil
			}
			need = max(need, p)
		}
		if n("pts_earned") < need {
			if e.Level != "" {
				return false, words.T(loc, "level", e.Level), nil
			}
			return false, words.T(loc, "points", need), nil
		}
	}
	if e.MinStreak > 0 {
		streak := n("ci_streak")
		local := fc.Now.In(fc.Group.Location)
		if last := m.Fields["ci_last"]; last != local.Format("2006-01-02") && last != local.AddDate(0, 0, -1).Format("2006-01-02") {
			streak = 0 // broken: no check-in yesterday or today
		}
		if streak < int64(e.MinStreak) {
			return false, words.T(loc, "streak", e.MinStreak), nil
		}
	}
	if len(e.Tags) > 0 {
		has := false
		for _, t := range tags.Of(m.Fields, fc.Now) {
			if slices.Contains(e.Tags, t.Name) {
				has = true
				break
			}
		}
		if !has {
			return false, words.T(loc, "tags", strings.Join(e.Tags, ", ")), nil
		}
	}
	if e.JoinedBefore > 0 && !m.JoinedAt.IsZero() && fc.Now.Sub(m.JoinedAt) < e.JoinedBefore.D() {
		return false, words.T(loc, "joined", i18n.Duration(loc, e.JoinedBefore.D())), nil
	}
	if e.NotWarned {
		w, err := adfilter.WarningCount(ctx, fc.Store, fc.Event.GroupKey(), m.ID, moderation.WarnDecay(fc), fc.Now)
		if err != nil {
			return false, "", fmt.Errorf("eligibility: %w", err)
		}
		if w > 0 {
			return false, words.T(loc, "warned"), nil
		}
	}
	return true, "", nil
}

// Describe is the conditions in words, for an announcement; "" for none.
func (e Eligibility) Describe(loc string) string {
	var parts []string
	if e.Level != "" {
		parts = append(parts, words.T(loc, "d.level", e.Level))
	}
	if e.MinPoints > 0 {
		parts = append(parts, words.T(loc, "d.points", e.MinPoints))
	}
	if e.MinStreak > 0 {
		parts = append(parts, words.T(loc, "d.streak", e.MinStreak))
	}
	if len(e.Tags) > 0 {
		parts = append(parts, words.T(loc, "d.tags", strings.Join(e.Tags, ", ")))
	}
	if e.JoinedBefore > 0 {
		parts = append(parts, words.T(loc, "d.joined", i18n.Duration(loc, e.JoinedBefore.D())))
	}
	if e.NotWarned {
		parts = append(parts, words.T(loc, "d.warned"))
	}
	return strings.Join(parts, words.T(loc, "d.sep"))
}

// Validate reports bad conditions under field.
func (e Eligibility) Validate(field string, report func(field, msg string)) {
	if e.MinPoints < 0 || e.MinStreak < 0 || e.JoinedBefore < 0 {
		report(field, "min_points, min_streak and joined_before must not be negative")
	}
}

// When reads a draw time: a duration from now (2h, 1d12h), a time of day
// in the group's zone (20:00, the next one), or RFC 3339.
func When(s string, now time.Time, loc *time.Location) (time.Time, bool) {
	if d, err := config.ParseDuration(s); err == nil && d >= time.Minute && d <= 90*24*time.Hour {
		return now.Add(d), true
	}
	if t, err := time.ParseInLocation("15:04", s, loc); err == nil {
		local := now.In(loc)
		at := time.Date(local.Year(), local.Month(), local.Day(), t.Hour(), t.Minute(), 0, 0, loc)
		if !at.After(now) {
			at = at.AddDate(0, 0, 1)
		}
		return at, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil && t.After(now) && t.Sub(now) <= 90*24*time.Hour {
		return t, true
	}
	return time.Time{}, false
}

var words = i18n.Catalog{
	"zh-CN": {
		"level.none": "等级“%s”没有配置（checkin.levels）。", "level": "需要达到等级“%s”。", "points": "需要累计 %d 积分。",
		"streak": "需要连续签到 %d 天。", "tags": "需要标签：%s（任一）。", "joined": "入群满 %s 才能参加。", "warned": "有未失效的警告，暂不能参加。",
		"d.level": "等级 %s 及以上", "d.points": "累计 %d 积分", "d.streak": "连续签到 %d 天", "d.tags": "标签 %s", "d.joined": "入群满 %s", "d.warned": "无警告", "d.sep": "、",
	},
	"en": {
		"level.none": "Level “%s” is not configured (checkin.levels).", "level": "You need level “%s”.", "points": "You need %d lifetime points.",
		"streak": "You need a %d-day check-in streak.", "tags": "You need one of the tags: %s.", "joined": "You need to be in the group for %s.", "warned": "You have a live warning.",
		"d.level": "level %s or above", "d.points": "%d lifetime points", "d.streak": "a %d-day check-in streak", "d.tags": "tagged %s", "d.joined": "in the group for %s", "d.warned": "no warnings", "d.sep": ", ",
	},
}
