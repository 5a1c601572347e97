package wakeup

import (
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/tags"
)

// Config is the wakeup section: member tiers and the messages that win
// back members who went quiet.
type Config struct {
	// Scan is when the group is scanned for members due a stage (a cron
	// spec in the group's time zone; default 10:00 daily).
	Scan config.Cron `yaml:"scan"`
	// Grace is how late a missed scan still runs after downtime.
	Grace config.Duration `yaml:"grace"`
	// QuietHours holds a scan that falls in the span until it ends.
	QuietHours config.QuietHours `yaml:"quiet_hours"`
	// DailyCap limits members messaged per day (0 = no limit); members
	// left over are reached by the next scan.
	DailyCap int `yaml:"daily_cap"`
	// DM sends each member a direct message where the platform allows it
	// (default true); otherwise members are mentioned in the group, Batch
	// at a time.
	DM    bool `yaml:"dm"`
	Batch int  `yaml:"batch"`
	// ComebackWindow: a member who speaks within this long of a stage's
	// message counts as won back by that stage.
	ComebackWindow config.Duration `yaml:"comeback_window"`
	Tiers          Tiers           `yaml:"tiers"`
	// Stages, by silence length. Each is sent at most once per silence
	// period; a stage at or beyond tiers.churned is the final one, sent
	// once ever.
	Stages []Stage `yaml:"stages"`
	// Churned is a shorthand for the final stage: its after sets
	// tiers.churned.
	Churned *Stage `yaml:"churned"`
}

// Tiers are the thresholds members are placed by.
type Tiers struct {
	Silent  config.Duration `yaml:"silent"`  // no activity this long: silent
	Churned config.Duration `yaml:"churned"` // no activity this long: churned
	// Core: the CoreTop members with the most contribution (messages and
	// points, halved every 15 days of age), if at least CoreMin and not
	// silent.
	CoreTop int     `yaml:"core_top"`
	CoreMin float64 `yaml:"core_min"`
}

// Stage is one wake-up message.
type Stage struct {
	After config.Duration `yaml:"after"`
	// Text is the message. Values: .Member (in a group batch: everyone
	// mentioned, with .Members), .Flow.Silent (days), .Flow.Points,
	// .Flow.Code.
	Text render.Template `yaml:"text"`
	// Points are granted on the points ledger (the checkin flow's) with
	// the message.
	Points int `yaml:"points"`
	// Codes gives each member a code from a pool, by direct message only.
	Codes *Codes `yaml:"codes"`
	// Audience narrows the stage to members with (or without) tags; the
	// others of its silence are passed over for it.
	Audience *StageAudience `yaml:"audience"`
	// Survey starts this questionnaire (the survey flow's, by name) with
	// the message, where it can go privately: its first question follows
	// the text, answered in the private chat (the churn questionnaire).
	Survey string `yaml:"survey"`
}

// StageAudience is who of a stage's silent members get it: the
// conditions of posts' audiences but the tier, which is the stage's own.
type StageAudience struct {
	Tags         tags.Spec       `yaml:"tags"`
	MinPoints    int64           `yaml:"min_points"`
	JoinedWithin config.Duration `yaml:"joined_within"`
	JoinedBefore config.Duration `yaml:"joined_before"`
	InvitedBy    string          `yaml:"invited_by"`
}

// IsZero reports whether the audience asks nothing.
func (a *StageAudience) IsZero() bool {
	return a == nil || (a.Tags.IsZero() && a.MinPoints == 0 && a.JoinedWithin == 0 && a.JoinedBefore == 0 && a.InvitedBy == "")
}

// Codes is a pool of codes loaded from a file, one per line.
type Codes struct {
	Pool string      `yaml:"pool"`
	File config.Path `yaml:"file"`
}

var poolRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func defaults() *Config {
	scan, _ := config.ParseCron("0 10 * * *")
	return &Config{
		Scan: scan, Grace: config.Duration(6 * time.Hour), DM: true, Batch: 20,
		ComebackWindow: config.Duration(3 * 24 * time.Hour),
		Tiers:          DefaultTiers(),
	}
}

// DefaultTiers are the tiers when the config does not say: silent after
// 7 days, churned after 60, core the top 20 contributors with at least 20.
func DefaultTiers() Tiers {
	return Tiers{Silent: config.Duration(7 * 24 * time.Hour), Churned: config.Duration(60 * 24 * time.Hour), CoreTop: 20, CoreMin: 20}
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if ch := c.Churned; ch != nil {
		if ch.After > 0 {
			c.Tiers.Churned = ch.After
		}
		st := *ch
		st.After = c.Tiers.Churned
		c.Stages = append(c.Stages, st)
		c.Churned = nil
	}
	if c.Tiers.Silent <= 0 || c.Tiers.Churned <= c.Tiers.Silent {
		report("tiers", "silent must be above zero and churned longer than silent")
	}
	if c.Tiers.CoreTop < 0 || c.Tiers.CoreMin < 0 {
		report("tiers", "core_top and core_min must be zero or more")
	}
	if c.Tiers.CoreTop > state.ContribCap/4 {
		report("tiers.core_top", fmt.Sprintf("at most %d: a group's contribution set keeps its top %d members", state.ContribCap/4, state.ContribCap))
	}
	if c.DailyCap < 0 {
		report("daily_cap", "must be zero (no limit) or more")
	}
	if c.Batch < 1 || c.Batch > 50 {
		report("batch", "must be 1 to 50 mentions a message")
	}
	if c.ComebackWindow <= 0 {
		report("comeback_window", "must be above zero")
	}
	sort.SliceStable(c.Stages, func(i, j int) bool { return c.Stages[i].After < c.Stages[j].After })
	for i, s := range c.Stages {
		at := fmt.Sprintf("stages[%d]", i)
		if s.After <= 0 || (i > 0 && s.After == c.Stages[i-1].After) {
			report(at+".after", "a silence length above zero, different for each stage")
		}
		if s.Text.IsZero() {
			report(at+".text", "a stage needs a text")
		}
		if s.Points < 0 {
			report(at+".points", "must be zero or more")
		}
		if s.Codes != nil && (!poolRe.MatchString(s.Codes.Pool) || s.Codes.File == "") {
			report(at+".codes", "name the pool (letters, digits, _ . -) and the file of codes")
		}
		if s.After >= c.Tiers.Churned && i != len(c.Stages)-1 {
			report(at+".after", "only the last stage may be at or beyond tiers.churned (the final note)")
		}
	}
}

// final reports whether stage i is the churned members' final note.
func (c *Config) final(i int) bool { return c.Stages[i].After >= c.Tiers.Churned }
