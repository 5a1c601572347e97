package checkin

import (
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/render"
)

// Config is the checkin section: check-in, levels, badges, rewards,
// invites and activity points, all on one points ledger.
type Config struct {
	// Words check in besides /checkin (签到, 打卡, ...), matched on the whole
	// message ignoring case and spaces.
	Words []string `yaml:"words"`
	// Points per check-in.
	Points int `yaml:"points"`
	// StreakBonus adds points on reaching a streak length: {7: 20, 30: 100}.
	StreakBonus map[int]int `yaml:"streak_bonus"`
	// Makeup lets a make-up card (a reward) repair one missed day.
	Makeup bool `yaml:"makeup"`
	// RepeatReply answers a second check-in the same day (default true).
	RepeatReply bool `yaml:"repeat_reply"`
	// Reply replaces the check-in answer. Values: .Flow.Gained, .Flow.Bonus,
	// .Flow.Balance, .Flow.Streak, .Flow.Rank, .Flow.Level.
	Reply render.Template `yaml:"reply"`
	// RankSize is how many /rank lists (default 10).
	RankSize int `yaml:"rank_size"`
	// Levels by lifetime points earned; a level-up is announced.
	Levels []Level `yaml:"levels"`
	// Rewards is the catalog /rewards lists and /redeem sells.
	Rewards []Reward `yaml:"rewards"`
	// Invites credits inviters (裂变).
	Invites Invites `yaml:"invites"`
	// Activity gives points for messages, capped per day (0 = off).
	Activity Activity `yaml:"activity"`
	// LedgerMax caps the ledger stream per group (default 100000 entries).
	LedgerMax int64 `yaml:"ledger_max"`
	// Clean deletes a check-in (the word or /checkin) and its answer after
	// this long, and so a member's /points, /rank, /rewards, /redeem and
	// /invite with theirs (0: kept). Level-ups, badges and moderators'
	// /award stay.
	Clean config.Duration `yaml:"clean"`
}

// maxClean is the longest checkin.clean: Telegram refuses to delete
// messages older than 48 hours, and a deletion may wait a while.
const maxClean = 47 * time.Hour

// Level is a named threshold.
type Level struct {
	Name   string `yaml:"name"`
	Points int64  `yaml:"points"`
}

// Reward is one catalog item.
type Reward struct {
	ID        string `yaml:"id"` // what /redeem takes
	Name      string `yaml:"name"`
	Cost      int64  `yaml:"cost"`
	Stock     int64  `yaml:"stock"`      // 0 = unlimited
	PerMember int64  `yaml:"per_member"` // 0 = unlimited
	// Issue: text (Text is sent), code (from Codes), contact (an operator
	// will contact the member; moderators are told), makeup_card.
	Issue string          `yaml:"issue"`
	Text  render.Template `yaml:"text"`
	Codes *Codes          `yaml:"codes"`
}

// Codes is a pool of reward codes.
type Codes struct {
	Pool string      `yaml:"pool"`
	File config.Path `yaml:"file"`
}

// Invites configures invite tracking.
type Invites struct {
	Points int `yaml:"points"` // per invitee who stays (0 = off)
	// Stay is how long an invitee must stay (and be verified) first.
	Stay config.Duration `yaml:"stay"`
	// Milestones add a bonus at invitee counts: {3: 50, 10: 200}.
	Milestones map[int]int `yaml:"milestones"`
}

// Activity configures message points.
type Activity struct {
	Points   int `yaml:"points"`
	DailyCap int `yaml:"daily_cap"`
}

func defaults() *Config {
	return &Config{Words: []string{"签到", "打卡"}, Points: 5, RepeatReply: true, RankSize: 10, LedgerMax: defaultLedgerMax,
		Invites: Invites{Stay: config.Duration(24 * time.Hour)}}
}

var rewardIDRe = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,32}$`)
var poolRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.Points < 0 {
		report("points", "must be zero or more")
	}
	for n, b := range c.StreakBonus {
		if n < 2 || b < 0 {
			report("streak_bonus", fmt.Sprintf("streak %d: lengths start at 2 and bonuses are zero or more", n))
		}
	}
	if c.RankSize < 1 || c.RankSize > 50 {
		report("rank_size", "must be 1 to 50")
	}
	if c.Clean < 0 || c.Clean.D() > maxClean {
		report("clean", "must be 0 (keep) up to 47h: Telegram deletes no message older than 48 hours")
	}
	sort.SliceStable(c.Levels, func(i, j int) bool { return c.Levels[i].Points < c.Levels[j].Points })
	for i, l := range c.Levels {
		if l.Name == "" || l.Points < 0 {
			report(fmt.Sprintf("levels[%d]", i), "a level needs a name and points of zero or more")
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Rewards {
		at := fmt.Sprintf("rewards[%d]", i)
		if !rewardIDRe.MatchString(r.ID) || seen[r.ID] {
			report(at+".id", "a unique id of letters, digits, _ or - (at most 32)")
		}
		seen[r.ID] = true
		if r.Name == "" || r.Cost <= 0 || r.Stock < 0 || r.PerMember < 0 {
			report(at, "needs a name, a cost above zero, and stock/per_member of zero (unlimited) or more")
		}
		switch r.Issue {
		case "text":
			if r.Text.IsZero() {
				report(at+".text", "issue: text needs a text")
			}
		case "code":
			if r.Codes == nil || !poolRe.MatchString(r.Codes.Pool) || r.Codes.File == "" {
				report(at+".codes", "issue: code needs codes: { pool: name, file: path }")
			}
		case "contact", "makeup_card":
		default:
			report(at+".issue", fmt.Sprintf("unknown issue %q (use text, code, contact or makeup_card)", r.Issue))
		}
	}
	if c.Invites.Points < 0 || c.Activity.Points < 0 || c.Activity.DailyCap < 0 {
		report("", "points must be zero or more")
	}
	if c.Activity.Points > 0 && c.Activity.DailyCap == 0 {
		report("activity.daily_cap", "activity points need a daily cap")
	}
	if c.LedgerMax < 100 {
		report("ledger_max", "keep at least 100 entries")
	}
}

// level returns the index of the level reached with earned points, -1 for
// none.
func (c *Config) level(earned int64) int {
	lv := -1
	for i, l := range c.Levels {
		if earned >= l.Points {
			lv = i
		}
	}
	return lv
}

// LevelPoints is the lifetime points a level (by name) needs; ok is false
// for a name the config does not have.
func (c *Config) LevelPoints(name string) (points int64, ok bool) {
	for _, l := range c.Levels {
		if l.Name == name {
			return l.Points, true
		}
	}
	return 0, false
}

func (c *Config) levelName(earned int64) string {
	if i := c.level(earned); i >= 0 {
		return c.Levels[i].Name
	}
	return ""
}

func (c *Config) reward(id string) *Reward {
	for i := range c.Rewards {
		if c.Rewards[i].ID == id {
			return &c.Rewards[i]
		}
	}
	return nil
}

const defaultLedgerMax int64 = 100000
