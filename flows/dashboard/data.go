package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/stats"
	"github.com/qunbot/qunbot/flows/tags"
	"github.com/qunbot/qunbot/flows/wakeup"
)

// GroupRef is a group the console lists.
type GroupRef struct {
	Key, Title, Platform string
}

// Name is the group's title, or its key when it has none.
func (g GroupRef) Name() string {
	if g.Title != "" {
		return g.Title
	}
	return g.Key
}

// groups lists the groups a session may see: those named in the config and
// those the bot has seen, titles from the group's record.
func (s *Server) groups(ctx context.Context, sess *Session) ([]GroupRef, error) {
	cfg := s.eng.Config()
	seen, err := s.store.Client().HGetAll(ctx, s.store.GlobalKey("groups")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: list groups: %w", state.ErrRedis, err)
	}
	for g := range cfg.Groups {
		if _, ok := seen[g]; !ok {
			p, _, _ := strings.Cut(g, ":")
			seen[g] = p
		}
	}
	var out []GroupRef
	for g, p := range seen {
		if !sess.May(g) {
			continue
		}
		f, err := s.store.GroupFields(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, GroupRef{Key: g, Title: f["title"], Platform: p})
	}
	slices.SortFunc(out, func(a, b GroupRef) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// today is the group's calendar day at now.
func today(g *config.Group, now time.Time) time.Time {
	t := now.In(g.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, g.Location)
}

// Summary is a group's headline on the overview: the latest day's
// figures and the last 7 days against the 7 before.
type Summary struct {
	GroupRef
	Members, DAU, WAU, MAU int64
	Msgs7, MsgsPrev7       int64
	Joins7, Ads7           int64
	Spark                  []int64 // daily active members, 30 days
}

// Change is the week-over-week change of messages in percent ("" when the
// week before had none).
func (s Summary) Change() string { return change(s.Msgs7, s.MsgsPrev7) }

func change(now, before int64) string {
	if before == 0 {
		return ""
	}
	p := 100 * float64(now-before) / float64(before)
	return fmt.Sprintf("%+.0f%%", p)
}

func (s *Server) summary(ctx context.Context, g GroupRef, now time.Time) (Summary, error) {
	gc := s.eng.Config().Group(g.Key)
	end := today(gc, now)
	days, err := kpi.Read(ctx, s.store, g.Key, end.AddDate(0, 0, -29).Format("2006-01-02"), end.Format("2006-01-02"), now)
	if err != nil {
		return Summary{}, err
	}
	sm := Summary{GroupRef: g}
	for i, d := range days {
		v := d.Values
		sm.Spark = append(sm.Spark, v[string(kpi.Active)])
		switch {
		case i >= len(days)-7:
			sm.Msgs7 += v[string(kpi.Messages)]
			sm.Joins7 += v[string(kpi.Joins)]
			sm.Ads7 += v[string(kpi.Ads)]
		case i >= len(days)-14:
			sm.MsgsPrev7 += v[string(kpi.Messages)]
		}
	}
	if n := len(days); n > 0 {
		last := days[n-1].Values
		sm.Members, sm.DAU, sm.WAU, sm.MAU = last[string(kpi.Members)], last[string(kpi.Active)], last[string(kpi.WAU)], last[string(kpi.MAU)]
	}
	return sm, nil
}

// Series is what the group page's charts draw: one value per day.
type Series struct {
	Days   []int64            `json:"days"` // unix seconds, each day's midnight in the group's zone
	Values map[string][]int64 `json:"values"`
	// Layers: each tier's share of the members placed, percent (-1: not
	// recorded that day)
	Layers map[string][]float64 `json:"layers"`
	// Healthy: each tier's healthy share, [low, high] percent, drawn as
	// bands behind the layer chart
	Healthy map[string][2]float64 `json:"healthy"`
}

// chartFigures are the figures the group page draws.
var chartFigures = []kpi.Name{kpi.Members, kpi.Counted, kpi.Active, kpi.WAU, kpi.MAU, kpi.Messages, kpi.Joins, kpi.Leaves, kpi.Checkins, kpi.Ads}

// Healthy are the layer report's healthy shares (percent), as the weekly
// report checks them.
var Healthy = map[string][2]float64{"core": {5, 8}, "active": {25, 30}, "silent": {40, 50}, "churned": {15, 20}}

// GroupData is the group page.
type GroupData struct {
	Group   GroupRef
	Range   int
	Series  Series
	Totals  map[string]int64 // counts summed over the range, gauges as of its last day
	Before  map[string]int64 // the same for the range before
	Cohorts []kpi.Cohort
	Funnel  kpi.Cohort   // every cohort of the range added up
	Sources []kpi.Cohort // the same newcomers by what brought them
	Stages  []StageRow
	Layers  []LayerRow
	Top     []TopRow
}

// StageRow is a wake-up stage over the range.
type StageRow struct {
	After      time.Duration
	Sent, Back int64
}

// LayerRow is a tier's share on the range's last recorded day.
type LayerRow struct {
	Tier    string
	Count   int64
	Share   float64
	Lo, Hi  float64
	Healthy bool
}

// TopRow is a member of the leaderboard.
type TopRow struct {
	ID, Name string
	Score    float64
	Points   int64
}

func (s *Server) groupData(ctx context.Context, g GroupRef, rangeDays int, now time.Time) (*GroupData, error) {
	gc := s.eng.Config().Group(g.Key)
	end := today(gc, now)
	from := end.AddDate(0, 0, -(rangeDays - 1))
	// the range before, for the change column
	days, err := kpi.Read(ctx, s.store, g.Key, from.AddDate(0, 0, -rangeDays).Format("2006-01-02"), end.Format("2006-01-02"), now)
	if err != nil {
		return nil, err
	}
	before, cur := days[:rangeDays], days[rangeDays:]
	gd := &GroupData{Group: g, Range: rangeDays, Totals: totals(cur), Before: totals(before)}
	// daily actives added up mean nothing: the table shows their average
	gd.Totals[string(kpi.Active)] /= int64(rangeDays)
	gd.Before[string(kpi.Active)] /= int64(rangeDays)
	gd.Series = Series{Values: map[string][]int64{}, Layers: map[string][]float64{}, Healthy: Healthy}
	for _, d := range cur {
		t, _ := time.ParseInLocation("2006-01-02", d.Date, gc.Location)
		gd.Series.Days = append(gd.Series.Days, t.Unix())
		for _, n := range chartFigures {
			gd.Series.Values[string(n)] = append(gd.Series.Values[string(n)], d.Values[string(n)])
		}
		tiers := map[string]int64{"core": d.Values[string(kpi.TierCore)], "active": d.Values[string(kpi.TierActive)],
			"silent": d.Values[string(kpi.TierSilent)], "churned": d.Values[string(kpi.TierChurned)]}
		var sum int64
		for _, v := range tiers {
			sum += v
		}
		for k, v := range tiers {
			share := -1.0
			if sum > 0 {
				share = 100 * float64(v) / float64(sum)
			}
			gd.Series.Layers[k] = append(gd.Series.Layers[k], share)
		}
	}
	for i := len(cur) - 1; i >= 0; i-- {
		v := cur[i].Values
		sum := v[string(kpi.TierCore)] + v[string(kpi.TierActive)] + v[string(kpi.TierSilent)] + v[string(kpi.TierChurned)]
		if sum == 0 {
			continue
		}
		for _, t := range []struct {
			tier string
			n    kpi.Name
		}{{"core", kpi.TierCore}, {"active", kpi.TierActive}, {"silent", kpi.TierSilent}, {"churned", kpi.TierChurned}} {
			share := 100 * float64(v[string(t.n)]) / float64(sum)
			h := Healthy[t.tier]
			gd.Layers = append(gd.Layers, LayerRow{Tier: t.tier, Count: v[string(t.n)], Share: share, Lo: h[0], Hi: h[1], Healthy: share >= h[0] && share <= h[1]})
		}
		break
	}
	for k, sent := range gd.Totals {
		stage, ok := strings.CutPrefix(k, string(kpi.Wakeups)+":")
		if !ok {
			continue
		}
		secs, _ := strconv.ParseInt(strings.TrimSuffix(stage, "s"), 10, 64)
		gd.Stages = append(gd.Stages, StageRow{After: time.Duration(secs) * time.Second, Sent: sent, Back: gd.Totals[string(kpi.Comebacks)+":"+stage]})
	}
	slices.SortFunc(gd.Stages, func(a, b StageRow) int { return int(a.After - b.After) })
	// cohorts of the weeks the range covers, and their funnel
	// the weeks the range touches, from their Monday
	monday := from.AddDate(0, 0, -((int(from.Weekday()) + 6) % 7))
	if gd.Cohorts, err = stats.CohortsSince(ctx, s.store, g.Key, monday, now, gc.Location); err != nil {
		return nil, err
	}
	if gd.Sources, err = stats.SourcesSince(ctx, s.store, g.Key, monday, now); err != nil {
		return nil, err
	}
	for _, c := range gd.Cohorts {
		gd.Funnel.Joined += c.Joined
		gd.Funnel.Verified += c.Verified
		gd.Funnel.Spoke += c.Spoke
		gd.Funnel.Active7 += c.Active7
		gd.Funnel.Active30 += c.Active30
	}
	top, err := s.store.TopContributors(ctx, g.Key, 20, now)
	if err != nil {
		return nil, err
	}
	for _, c := range top {
		m, err := s.store.Member(ctx, g.Key, c.ID)
		if err != nil {
			return nil, err
		}
		pts, _ := strconv.ParseInt(m.Fields["pts"], 10, 64)
		gd.Top = append(gd.Top, TopRow{ID: c.ID, Name: m.Name, Score: c.Score, Points: pts})
	}
	return gd, nil
}

// totals adds a range's counts up and takes its gauges from its last day
// that has them.
func totals(days []kpi.Day) map[string]int64 {
	out := map[string]int64{}
	for _, d := range days {
		for k, v := range d.Values {
			base, _, _ := strings.Cut(k, ":")
			if kpi.Gauges[kpi.Name(base)] {
				out[k] = v
			} else {
				out[k] += v
			}
		}
	}
	return out
}

// MemberRow is a search result.
type MemberRow struct {
	ID, Name, Username string
	LastActive         time.Time
}

// searchLimit bounds a name search's scan of a group's members (the
// last-active set, most recent first) and its results.
const (
	searchScan    = 200000
	searchResults = 50
)

// search finds members by id, @username or a part of the name.
func (s *Server) search(ctx context.Context, group, q string) ([]MemberRow, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, nil
	}
	var ids []string
	if id, err := s.store.ByUsername(ctx, group, q); err != nil {
		return nil, fmt.Errorf("search usernames: %w", err)
	} else if id != "" {
		ids = append(ids, id)
	}
	if m, err := s.store.Member(ctx, group, q); err == nil && (m.Name != "" || !m.LastActive.IsZero()) && !slices.Contains(ids, q) {
		ids = append(ids, q)
	}
	needle := strings.ToLower(q)
	recent, err := s.store.RecentlyActive(ctx, group, searchScan)
	if err != nil {
		return nil, fmt.Errorf("search members: %w", err)
	}
	for start := 0; start < len(recent) && len(ids) < searchResults; start += 1000 {
		batch := recent[start:min(start+1000, len(recent))]
		recs, err := s.store.Members(ctx, group, batch)
		if err != nil {
			return nil, fmt.Errorf("search members: %w", err)
		}
		for i, m := range recs {
			name := m.Name
			if strings.Contains(strings.ToLower(name), needle) && !slices.Contains(ids, batch[i]) && len(ids) < searchResults {
				ids = append(ids, batch[i])
			}
		}
	}
	out := make([]MemberRow, 0, len(ids))
	for _, id := range ids {
		m, err := s.store.Member(ctx, group, id)
		if err != nil {
			return nil, err
		}
		out = append(out, MemberRow{ID: id, Name: m.Name, Username: m.Username, LastActive: m.LastActive})
	}
	return out, nil
}

// MemberData is a member's page.
type MemberData struct {
	Group      GroupRef
	Member     *state.Member
	Tier       string
	Points     int64
	Streak     int64
	BestStreak int64
	Checkins   int64
	Badges     []string
	Warnings   int
	Ledger     []checkin.Entry
	Stages     []wakeup.Received
	Tags       []tags.Tag
}

func (s *Server) memberData(ctx context.Context, g GroupRef, id string, now time.Time) (*MemberData, error) {
	gc := s.eng.Config().Group(g.Key)
	m, err := s.store.Member(ctx, g.Key, id)
	if err != nil {
		return nil, err
	}
	if m.Name == "" && m.LastActive.IsZero() && m.JoinedAt.IsZero() {
		return nil, nil
	}
	md := &MemberData{Group: g, Member: m, Tags: tags.Of(m.Fields, now)}
	md.Points, _ = strconv.ParseInt(m.Fields["pts"], 10, 64)
	md.Streak, _ = strconv.ParseInt(m.Fields["ci_streak"], 10, 64)
	md.BestStreak, _ = strconv.ParseInt(m.Fields["ci_best"], 10, 64)
	md.Checkins, _ = strconv.ParseInt(m.Fields["ci_total"], 10, 64)
	for k, v := range m.Fields {
		if b, ok := strings.CutPrefix(k, "b:"); ok && v != "" {
			md.Badges = append(md.Badges, b+" "+v)
		}
	}
	slices.Sort(md.Badges)
	decay := time.Duration(0)
	if c, ok := gc.Flow("adfilter"); ok {
		decay = c.(*adfilter.Config).Ladder.Decay.D()
	}
	if md.Warnings, err = adfilter.WarningCount(ctx, s.store, g.Key, id, decay, now); err != nil {
		return nil, err
	}
	max := int64(0)
	if c, ok := gc.Flow("checkin"); ok {
		max = c.(*checkin.Config).LedgerMax
	}
	if md.Ledger, err = checkin.NewLedger(s.store, g.Key, max).MemberEntries(ctx, id, 20); err != nil {
		return nil, err
	}
	if c, ok := gc.Flow("wakeup"); ok {
		wc := c.(*wakeup.Config)
		if md.Stages, err = wakeup.StagesReceived(ctx, s.store, g.Key, id, wc); err != nil {
			return nil, err
		}
		md.Tier, err = s.tier(ctx, g.Key, m, wc.Tiers, now)
		if err != nil {
			return nil, err
		}
	}
	return md, nil
}

// tier places a member as the wake-up flow's tiers do.
func (s *Server) tier(ctx context.Context, group string, m *state.Member, t wakeup.Tiers, now time.Time) (string, error) {
	if !m.Present {
		return "left", nil
	}
	quiet := now.Sub(m.LastActive)
	switch {
	case t.Churned.D() > 0 && quiet >= t.Churned.D():
		return "churned", nil
	case t.Silent.D() > 0 && quiet >= t.Silent.D():
		return "silent", nil
	}
	if t.CoreTop > 0 {
		top, err := s.store.TopContributors(ctx, group, int64(t.CoreTop), now)
		if err != nil {
			return "", err
		}
		for _, c := range top {
			if c.ID == m.ID && c.Score >= t.CoreMin {
				return "core", nil
			}
		}
	}
	return "active", nil
}
