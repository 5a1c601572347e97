// Package kpi names the daily figures qunbot records per group — each with
// what exactly it counts — and reads them back. The engine and the flows
// record them (FlowContext.Count) with the update's done mark, in the same
// Redis round trip; a day is the group's calendar day in its time zone.
package kpi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A Name is one daily figure: a field of the group's day record.
type Name string

// The daily figures.
const (
	Members      Name = "members"          // members present at the end of the day, as qunbot has seen them (joined or spoken, not left)
	Counted      Name = "members_platform" // members as the platform counts them (Telegram getChatMemberCount), asked once a day
	TierCore     Name = "tier_core"        // core members late in the day (the wake-up flow's tiers)
	TierActive   Name = "tier_active"      // active members, not core
	TierSilent   Name = "tier_silent"      // silent members
	TierChurned  Name = "tier_churned"     // churned members
	Messages     Name = "msgs"             // messages and commands members sent that no flow removed or held (not edits, not bots)
	Active       Name = "dau"              // members who sent at least one such message that day (exact)
	WAU          Name = "wau"              // members active in the 7 days ending that day (HyperLogLog, ±1%)
	MAU          Name = "mau"              // members active in the 30 days ending that day (HyperLogLog, ±1%)
	Joins        Name = "joins"            // members who joined
	Leaves       Name = "leaves"           // members who left or were removed
	JoinRequests Name = "join_requests"    // requests to join (groups that approve joins)
	Verified     Name = "verified"         // newcomers who passed entry verification
	VerifyFailed Name = "verify_failed"    // newcomers who failed or timed out
	Held         Name = "held"             // messages of unverified members the gate removed
	Checkins     Name = "checkins"         // daily check-ins (one per member a day, so also the members who checked in)
	PointsIn     Name = "points_in"        // points credited (check-ins, activity, awards, invites)
	PointsOut    Name = "points_out"       // points spent or taken (rewards, deductions)
	Rewards      Name = "rewards"          // rewards redeemed
	Ads          Name = "ads"              // messages the ad filter removed
	Warns        Name = "warns"            // warnings (the ad filter's ladder and /warn)
	Mutes        Name = "mutes"            // mutes (ladder and /mute)
	Kicks        Name = "kicks"            // kicks (ladder and /kick)
	Bans         Name = "bans"             // bans (ladder and /ban)
	Ham          Name = "ham"              // moderators' /ham corrections of the ad filter
	Posts        Name = "posts"            // scheduled posts sent
	Wakeups      Name = "wake"             // wake-up messages sent, per stage: wake:<stage>
	Comebacks    Name = "back"             // members who spoke again after a wake-up, per stage: back:<stage>
	AutoReplies  Name = "auto_replies"     // auto-replies sent (the answers flow)
	Questions    Name = "questions"        // members' questions (question mark or question words)
	AutoAnswered Name = "auto_answered"    // questions an auto-reply answered at once
	Answered     Name = "answered"         // questions answered by someone other than the asker (a reply to them), or marked done by a moderator
	Escalated    Name = "escalated"        // questions still open after questions.escalate_after, sent to the moderators
	Surveys      Name = "surveys"          // questionnaires answered to the end (the survey flow)
	Locked       Name = "locked"           // messages removed by a lock (/lock) or night mode
	Reports      Name = "reports"          // messages members reported to the moderators (/report, @admin)
	FedBans      Name = "fbans"            // members refused or banned by the federation's ban list
	Signups      Name = "signups"          // event sign-ups (the event flow), waiting list included
	Attended     Name = "attended"         // members who checked in at an event with its code
)

// Names lists the figures in the order reports show them.
var Names = []Name{Members, Counted, TierCore, TierActive, TierSilent, TierChurned, Messages, Active, WAU, MAU, Joins, Leaves, JoinRequests, Verified, VerifyFailed, Held,
	Checkins, PointsIn, PointsOut, Rewards, Ads, Warns, Mutes, Kicks, Bans, Ham, Posts, Wakeups, Comebacks,
	AutoReplies, Questions, AutoAnswered, Answered, Escalated, Surveys, Locked, Reports, FedBans, Signups, Attended}

// Gauges are figures that hold a level (the last value of the day), not a
// count: a period shows the last day's, not a sum.
var Gauges = map[Name]bool{Members: true, Counted: true, WAU: true, MAU: true,
	TierCore: true, TierActive: true, TierSilent: true, TierChurned: true}

// Staged returns a per-stage figure's field: wake:<stage>.
func Staged(n Name, stage string) Name { return n + ":" + Name(stage) }

// Day is one day's figures of a group. Values holds the fields recorded
// (per-stage ones as wake:<stage>, back:<stage>); a count that did not
// happen is absent (zero).
type Day struct {
	Date   string // 2006-01-02, the group's calendar day
	Values map[string]int64
}

// Store is the state store's part that holds the records.
type Store interface {
	KPIDays(ctx context.Context, group string, days []string) ([]map[string]int64, error)
	Rolling(ctx context.Context, group, day string, n int) (int64, error)
}

// Read returns a group's days from..to (inclusive, 2006-01-02). A day not
// yet closed (today, or a day after which the group was silent) gets its
// WAU and MAU counted now while the daily HyperLogLogs last; a day without
// a members figure carries the day before's.
func Read(ctx context.Context, s Store, group, from, to string, now time.Time) ([]Day, error) {
	f, err := time.Parse("2006-01-02", from)
	if err != nil {
		return nil, fmt.Errorf("kpi: from: %w", err)
	}
	t, err := time.Parse("2006-01-02", to)
	if err != nil {
		return nil, fmt.Errorf("kpi: to: %w", err)
	}
	if t.Before(f) || t.Sub(f) > 800*24*time.Hour {
		return nil, fmt.Errorf("kpi: %s to %s is not a span of at most 800 days", from, to)
	}
	var dates []string
	for d := f.AddDate(0, 0, -1); !d.After(t); d = d.AddDate(0, 0, 1) {
		dates = append(dates, d.Format("2006-01-02"))
	}
	recs, err := s.KPIDays(ctx, group, dates)
	if err != nil {
		return nil, err
	}
	out := make([]Day, 0, len(dates)-1)
	carry, haveCarry := recs[0][string(Members)]
	recent := now.AddDate(0, 0, -31).Format("2006-01-02")
	for i := 1; i < len(dates); i++ {
		v := recs[i]
		if m, ok := v[string(Members)]; ok {
			carry, haveCarry = m, true
		} else if haveCarry {
			v[string(Members)] = carry
		}
		if _, closed := v[string(WAU)]; !closed && dates[i] >= recent {
			// zero is left out: a day nobody was active in holds no record
			if w, err := s.Rolling(ctx, group, dates[i], 7); err == nil && w > 0 {
				v[string(WAU)] = w
			}
			if m, err := s.Rolling(ctx, group, dates[i], 30); err == nil && m > 0 {
				v[string(MAU)] = m
			}
		}
		out = append(out, Day{Date: dates[i], Values: v})
	}
	return out, nil
}

// Columns are the figures a set of days holds, in report order, with the
// per-stage ones after their kind.
func Columns(days []Day) []string {
	staged := map[string]bool{}
	for _, d := range days {
		for k := range d.Values {
			if strings.Contains(k, ":") {
				staged[k] = true
			}
		}
	}
	var cols []string
	for _, n := range Names {
		if n == Wakeups || n == Comebacks {
			var ks []string
			for k := range staged {
				if strings.HasPrefix(k, string(n)+":") {
					ks = append(ks, k)
				}
			}
			sort.Strings(ks)
			cols = append(cols, ks...)
			continue
		}
		cols = append(cols, string(n))
	}
	return cols
}

// WriteCSV writes days as CSV: a header of date and the columns, then one
// row per day.
func WriteCSV(w io.Writer, days []Day) error {
	cw := csv.NewWriter(w)
	cols := Columns(days)
	if err := cw.Write(append([]string{"date"}, cols...)); err != nil {
		return err
	}
	for _, d := range days {
		row := []string{d.Date}
		for _, c := range cols {
			row = append(row, strconv.FormatInt(d.Values[c], 10))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes days as a JSON array of {"date": ..., "figures": {...}}.
func WriteJSON(w io.Writer, days []Day) error {
	type row struct {
		Date    string           `json:"date"`
		Figures map[string]int64 `json:"figures"`
	}
	rows := make([]row, len(days))
	for i, d := range days {
		rows[i] = row{d.Date, d.Values}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// Newcomer is what the funnel knows of one member of a join cohort (see
// state.Store.Newcomers).
type Newcomer struct {
	JoinedAt, LeftAt     time.Time
	Present              bool
	Verified, Spoke      bool
	Active1to7, Active30 bool
	Day1, Day7, Day30    bool
	Source               string // what brought them (bot.Event.Source); "" unknown
}

// Cohort is the members who joined in one week (Monday to Sunday in the
// group's zone), or through one source, and how far they came.
type Cohort struct {
	Week     string // the Monday, 2006-01-02 (Cohorts)
	Source   string // what brought them (BySource)
	Joined   int
	Verified int // passed entry verification (groups without it: 0)
	Spoke    int // sent a first real message (not removed, not held)
	Active7  int // active in days 1–7 after joining
	Active30 int // active on day 30 or later and still present
	// Retention on day 1, 7, 30 after joining: Due members have reached
	// that day; Present of them are still in the group; Active of them
	// spoke on that day.
	Due, Present, Active [3]int
	Left                 int // no longer in the group
}

// RetentionDays are the days Cohort's retention arrays count.
var RetentionDays = [3]int{1, 7, 30}

// Cohorts groups newcomers by the week they joined, oldest first.
func Cohorts(ms []Newcomer, loc *time.Location, now time.Time) []Cohort {
	out := cohorts(ms, now, func(m Newcomer, c *Cohort) string {
		j := m.JoinedAt.In(loc)
		monday := time.Date(j.Year(), j.Month(), j.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -((int(j.Weekday()) + 6) % 7))
		c.Week = monday.Format("2006-01-02")
		return c.Week
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Week < out[j].Week })
	return out
}

// BySource groups newcomers by what brought them (the join-source
// report), the source that brought the most first; of sources that
// brought as many, the one whose newcomers spoke more, then by name, the
// unknown last.
func BySource(ms []Newcomer, now time.Time) []Cohort {
	out := cohorts(ms, now, func(m Newcomer, c *Cohort) string {
		c.Source = m.Source
		return m.Source
	})
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Joined != b.Joined {
			return a.Joined > b.Joined
		}
		if a.Spoke != b.Spoke {
			return a.Spoke > b.Spoke
		}
		if (a.Source == "") != (b.Source == "") {
			return b.Source == "" // the unknown last of its count
		}
		return a.Source < b.Source
	})
	return out
}

// cohorts counts newcomers into the cohort key names (and fills in the
// cohort's own field).
func cohorts(ms []Newcomer, now time.Time, key func(Newcomer, *Cohort) string) []Cohort {
	by := map[string]*Cohort{}
	var order []*Cohort
	for _, m := range ms {
		if m.JoinedAt.IsZero() {
			continue
		}
		var fresh Cohort
		k := key(m, &fresh)
		c := by[k]
		if c == nil {
			c = &fresh
			by[k] = c
			order = append(order, c)
		}
		c.Joined++
		if m.Verified {
			c.Verified++
		}
		if m.Spoke {
			c.Spoke++
		}
		if m.Active1to7 {
			c.Active7++
		}
		if m.Active30 && m.Present {
			c.Active30++
		}
		if !m.Present {
			c.Left++
		}
		for i, n := range RetentionDays {
			day := m.JoinedAt.Add(time.Duration(n) * 24 * time.Hour)
			if now.Before(day) {
				continue
			}
			c.Due[i]++
			if m.Present || (!m.LeftAt.IsZero() && !m.LeftAt.Before(day)) {
				c.Present[i]++
			}
			if [3]bool{m.Day1, m.Day7, m.Day30}[i] {
				c.Active[i]++
			}
		}
	}
	out := make([]Cohort, len(order))
	for i, c := range order {
		out[i] = *c
	}
	return out
}
