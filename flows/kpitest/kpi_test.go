// Package kpitest checks the daily figures the engine and the flows
// record, against counts worked out by hand.
package kpitest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/stats"
	"github.com/qunbot/qunbot/flows/verify"
	"github.com/qunbot/qunbot/flows/wakeup"
)

func flows() []engine.Flow {
	return []engine.Flow{verify.Flow{}, adfilter.New(), checkin.Flow{}, stats.Flow{}}
}

const conf = `
timezone: %s
locale: en
flows:
  verify: { method: button, timeout: 2m, on_fail: kick }
  adfilter:
    keywords: [{words: [刷单]}]
    newcomer: {messages: 0, for: 0s}
  checkin:
    activity: { points: 1, daily_cap: 5 }
  stats: {}
moderators: ["console:mod"]
`

func read(t *testing.T, h *bottest.Harness, from, to string) []kpi.Day {
	t.Helper()
	days, err := kpi.Read(context.Background(), h.Store, bottest.Group, from, to, h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return days
}

func want(t *testing.T, d kpi.Day, exp map[string]int64) {
	t.Helper()
	for k, v := range exp {
		if d.Values[k] != v {
			t.Errorf("%s %s = %d, want %d (all: %v)", d.Date, k, d.Values[k], v, d.Values)
		}
	}
}

// A day in a group: who joined, passed or failed the challenge, spoke,
// checked in, spammed; the figures by hand. Asia/Shanghai is UTC+8: the
// harness starts 2026-01-05 09:00 UTC = 17:00 local, so 8 hours later
// is the next local day.
func TestDayFigures(t *testing.T) {
	h := bottest.New(t, flows(), sprintf(conf, "Asia/Shanghai"))
	for _, m := range []string{"ann", "bob", "cat"} {
		h.Join(m)
		h.Press(m, pressData(t, h, m))
	}
	h.Join("dan")          // never answers: removed at the deadline
	h.Say("dan", "hello?") // held: unverified
	h.Say("ann", "hi all")
	h.Say("ann", "how is everyone")
	h.Say("bob", "签到")
	h.Say("cat", "兼职刷单日结 加我") // spam: removed, not a message, cat not active
	h.Say("bob", "/points")   // a command counts as a message
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "hi all (edited)", Edited: true})
	h.Advance(3 * time.Minute)                                              // dan's deadline: kicked
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("dan")}) // the platform tells
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("bob")})

	days := read(t, h, "2026-01-05", "2026-01-05")
	want(t, days[0], map[string]int64{
		"joins": 4, "verified": 3, "verify_failed": 1, "held": 1,
		"msgs": 4, "dau": 2, // ann ×2, bob 签到 and /points; not cat's spam, dan's held one or the edit
		"checkins": 1, "ads": 1, "warns": 1, "leaves": 2,
		"points_in": 2 + checkinPoints(t, h), // ann's two messages' activity points and bob's check-in
		"members":   2,                       // ann, cat (bob left, dan removed)
	})
	if days[0].Values["wau"] != 2 || days[0].Values["mau"] != 2 {
		t.Errorf("rolling actives of an open day: wau %d mau %d, want 2 2", days[0].Values["wau"], days[0].Values["mau"])
	}

	// the next local day starts at 16:00 UTC: ann speaks again, cat once
	h.Advance(8 * time.Hour)
	h.Say("ann", "morning")
	h.Say("cat", "morning too")
	days = read(t, h, "2026-01-05", "2026-01-06")
	want(t, days[0], map[string]int64{"msgs": 4, "dau": 2, "wau": 2, "mau": 2}) // closed by the new day's first tally
	want(t, days[1], map[string]int64{"msgs": 2, "dau": 2, "joins": 0, "members": 2, "wau": 3, "mau": 3})
}

// The same moment is a different day in another zone: the record follows
// the group's calendar.
func TestDayBoundaryFollowsTheZone(t *testing.T) {
	for _, tc := range []struct{ zone, day string }{
		{"America/Los_Angeles", "2026-01-05"}, // 2026-01-06 07:30 UTC is 23:30 the day before
		{"Asia/Shanghai", "2026-01-06"},       // and 15:30 the same day
	} {
		h := bottest.New(t, flows(), sprintf(conf, tc.zone))
		h.Clock.Set(time.Date(2026, 1, 6, 7, 30, 0, 0, time.UTC))
		h.Say("ann", "hello")
		days := read(t, h, "2026-01-05", "2026-01-06")
		for _, d := range days {
			n := int64(0)
			if d.Date == tc.day {
				n = 1
			}
			if d.Values["msgs"] != n {
				t.Errorf("%s: %s has %d messages, want %d", tc.zone, d.Date, d.Values["msgs"], n)
			}
		}
	}
}

// Two replicas on one Redis recording one day: each update counts once,
// and an update both handled (the first held it past its lease) counts
// once.
func TestTwoReplicasCountOnce(t *testing.T) {
	a := bottest.New(t, flows(), sprintf(conf, "UTC"))
	b := bottest.New(t, flows(), sprintf(conf, "UTC"), a.Prefix)
	b.Clock.Set(a.Clock.Now())
	for i := 0; i < 10; i++ {
		a.Say("ann", fmt.Sprintf("message %d from a", i))
		b.Say("bob", fmt.Sprintf("message %d from b", i))
		a.Clock.Advance(time.Minute) // not a flood
		b.Clock.Advance(time.Minute)
	}
	// the same update delivered to both
	ev := bot.Event{ID: "same-update", Kind: bot.EventMessage, Platform: "console", Chat: bot.Chat{Key: bottest.Group, Type: bot.ChatGroup},
		Member: bottest.Member("cat"), Text: "once", MessageID: "m1", Time: a.Clock.Now()}
	if err := a.Engine.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if err := b.Engine.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	days := read(t, a, "2026-01-05", "2026-01-05")
	want(t, days[0], map[string]int64{"msgs": 21, "dau": 3})
}

// The history is in Redis: a restarted process reads it back.
func TestHistoryAfterRestart(t *testing.T) {
	h := bottest.New(t, flows(), sprintf(conf, "UTC"))
	h.Say("ann", "hello")
	h.Advance(24 * time.Hour)
	h.Say("ann", "again")
	again := bottest.New(t, flows(), sprintf(conf, "UTC"), h.Prefix)
	days := read(t, again, "2026-01-05", "2026-01-06")
	if len(days) != 2 || days[0].Values["msgs"] != 1 || days[1].Values["msgs"] != 1 || days[0].Values["wau"] != 1 {
		t.Fatalf("after a restart: %+v", days)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// pressData is the right button of the member's challenge, read from the
// actions the join queued and the answer kept on the member record.
// modSays is the first message the bot sends after the moderator's cmd.
func modSays(h *bottest.Harness, cmd string) string {
	h.Say("mod", cmd)
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActSend {
			return a.Text
		}
	}
	return ""
}

func pressData(t *testing.T, h *bottest.Harness, member string) string {
	t.Helper()
	ans := h.Fields(member)["v_answer"]
	for _, a := range h.Out.Take() {
		for _, row := range a.Buttons {
			for _, b := range row {
				if strings.HasSuffix(b.Data, ":"+ans) {
					return b.Data
				}
			}
		}
	}
	t.Fatalf("no challenge button for %s", member)
	return ""
}

// checkinPoints is what a first check-in credits by default.
func checkinPoints(t *testing.T, h *bottest.Harness) int64 {
	c, ok := h.Engine.Config().Group(bottest.Group).Flow("checkin")
	if !ok {
		t.Fatal("checkin is off")
	}
	return int64(c.(*checkin.Config).Points)
}

// /stats 7d sums the last 7 days (today included) and sets them against
// the 7 before.
func TestStatsPeriod(t *testing.T) {
	h := bottest.New(t, flows(), sprintf(conf, "UTC"))
	// week one: ann and bob speak on three days, 2 messages a day
	for d := 0; d < 3; d++ {
		h.Say("ann", fmt.Sprintf("week one day %d", d))
		h.Say("bob", fmt.Sprintf("week one day %d, bob", d))
		h.Advance(24 * time.Hour)
	}
	h.Advance(4 * 24 * time.Hour) // 2026-01-12: week two
	for d := 0; d < 3; d++ {
		h.Say("ann", fmt.Sprintf("week two day %d", d))
		h.Say("bob", fmt.Sprintf("week two day %d, bob", d))
		h.Say("cat", fmt.Sprintf("week two day %d, cat", d))
		h.Advance(24 * time.Hour)
	}
	h.Out.Take()
	h.Say("mod", "/stats 7d")
	var reply string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActSend {
			reply = a.Text
		}
	}
	// this week: 2026-01-09..15 holds week two's 9 messages and the
	// moderator's /stats itself (a command counts, in its ingest); the 7
	// days before hold week one's 6. Daily active: 3+3+3+1 over 7 days
	// against 2+2+2; members: ann, bob, cat, mod against ann, bob
	for _, w := range []string{"last 7 days (2026-01-09 to 2026-01-15", "Messages: 10 (+67%)", "Daily active on average: 1.4 (+67%)",
		"Members (as qunbot has seen them): 4 (+2)",
		"weekly 3", // the moderator enters the HyperLogLog after the answer
	} {
		if !strings.Contains(reply, w) {
			t.Errorf("/stats 7d lacks %q:\n%s", w, reply)
		}
	}
	h.Out.Take()
	h.Say("mod", "/stats 9000d")
	if got := h.Out.Take(); len(got) == 0 || !strings.Contains(got[0].Text, "at most 400d") {
		t.Errorf("a bad period: %v", bottest.Summary(got))
	}
}

// A newcomer's message the gate held (a typed answer, chatter before
// answering) is not their first message: activation waits for a real one.
func TestHeldMessageDoesNotActivate(t *testing.T) {
	h := bottest.New(t, flows(), sprintf(conf, "UTC"))
	h.Join("eve")
	h.Out.Take()
	h.Say("eve", "let me in")
	ctx := context.Background()
	joined, active, err := h.Store.Activation(ctx, bottest.Group, bottest.Start.Add(-time.Hour), h.Clock.Now().Add(time.Hour), 3*24*time.Hour)
	if err != nil || joined != 1 || active != 0 {
		t.Fatalf("after a held message: joined %d activated %d (%v), want 1 0", joined, active, err)
	}
	m, err := h.Store.Member(ctx, bottest.Group, "eve")
	if err != nil || m.Messages != 0 || !m.FirstMsgAt.IsZero() {
		t.Fatalf("held message recorded: %d messages, first at %v (%v)", m.Messages, m.FirstMsgAt, err)
	}
}

// The funnel and retention of two join weeks, worked out by hand.
func TestFunnelAndRetention(t *testing.T) {
	h := bottest.New(t, []engine.Flow{stats.Flow{}}, "locale: en\nmoderators: [\"console:mod\"]\nflows:\n  stats: {}\n")
	day := 24 * time.Hour
	h.Join("ann") // Monday 2026-01-05 09:00 UTC
	h.Join("bob")
	h.Join("cat")
	h.Say("ann", "hi")
	h.Advance(day)
	h.Say("ann", "day one")
	h.Say("bob", "my first words, on day one")
	h.Advance(2 * day)
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("cat")})
	h.Advance(4 * day) // 2026-01-12, day 7
	h.Say("ann", "a week in")
	h.Join("dan") // the next week's cohort
	h.Advance(23 * day)
	h.Advance(time.Hour) // 2026-02-04 10:00, day 30 of the first cohort
	h.Say("ann", "a month in")
	h.Out.Take()
	ask := func(cmd string) string { return modSays(h, cmd) }
	funnel := ask("/funnel 6")
	for _, w := range []string{
		"week of 2026-01-05: joined 3 → verified 0 (0%) → spoke 2 (67%) → active days 1–7 2 (67%) → active after day 30 1 (33%)",
		"week of 2026-01-12: joined 1 → verified 0 (0%) → spoke 0 (0%) → active days 1–7 0 (0%) → active after day 30 0 (0%)",
	} {
		if !strings.Contains(funnel, w) {
			t.Errorf("/funnel lacks %q:\n%s", w, funnel)
		}
	}
	ret := ask("/retention 6")
	for _, w := range []string{
		"week of 2026-01-05 (3): day 1 67% / 100% · day 7 33% / 67% · day 30 33% / 67%",
		"week of 2026-01-12 (1): day 1 0% / 100% · day 7 0% / 100% · day 30 not yet",
	} {
		if !strings.Contains(ret, w) {
			t.Errorf("/retention lacks %q:\n%s", w, ret)
		}
	}
}

// /sources: newcomers by what brought them, worked out by hand — a named
// link, members' invite links, members added, the platform silent — with
// verification, first words, a leave, and a re-join through another
// source counting where the member came from last. More than ten sources
// fold into one line.
func TestJoinSources(t *testing.T) {
	h := bottest.New(t, []engine.Flow{verify.Flow{}, stats.Flow{}},
		"locale: en\nmoderators: [\"console:mod\"]\nflows:\n  verify: { method: button, timeout: 2m, on_fail: kick }\n  stats: {}\n")
	join := func(name, source string) {
		h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member(name), Source: source})
	}
	join("ann", "poster-a")
	h.Press("ann", pressData(t, h, "ann"))
	join("bob", "poster-a")
	join("cat", "poster-a")
	h.Out.Take() // bob's and cat's challenges: they never answer
	join("dan", bot.SourceInvite)
	h.Press("dan", pressData(t, h, "dan"))
	join("eve", bot.SourceAdded)
	join("fay", "")
	h.Say("ann", "hello")
	h.Say("dan", "hi all")
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("cat")})
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("bob")})
	join("bob", "wechat-article") // back, through another source
	h.Out.Take()
	ask := func(cmd string) string { return modSays(h, cmd) }
	got := ask("/sources")
	for _, w := range []string{
		"Where newcomers came from (joined in the last 4 weeks: 6)",
		"poster-a: joined 2 → verified 1 (50%) → spoke 1 (50%) → active days 1–7 0 (0%) → active after day 30 0 (0%) · left 1 (50%)",
		"members' invite links: joined 1 → verified 1 (100%) → spoke 1 (100%)",
		"wechat-article: joined 1 → verified 0 (0%) → spoke 0 (0%) → active days 1–7 0 (0%) → active after day 30 0 (0%) · left 0 (0%)",
		"added by a member: joined 1",
		"unknown (the group's public name, or the platform did not say): joined 1",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("/sources lacks %q:\n%s", w, got)
		}
	}
	if strings.Index(got, "poster-a") > strings.Index(got, "members' invite links") || !strings.HasSuffix(got, "left 0 (0%)") ||
		!strings.HasPrefix(got[strings.LastIndex(got, "\n")+1:], "unknown") {
		t.Errorf("the source that brought the most is not first, or the unknown not last of its count:\n%s", got)
	}
	for i := range 12 {
		join(fmt.Sprint("x", i), fmt.Sprint("flyer-", i))
	}
	h.Out.Take()
	if got := ask("/sources"); !strings.Contains(got, "7 more sources with 7 members") || strings.Count(got, "\n") != 11 {
		t.Errorf("more than ten sources:\n%s", got)
	}
	if got := ask("/sources x"); !strings.Contains(got, "give weeks") {
		t.Errorf("/sources x: %s", got)
	}
}

// /sources link NAME makes the link a source's joins come through, the
// same one when asked again; a bad name, a member asking, or a platform
// without such links is answered so.
func TestSourceLinkCommand(t *testing.T) {
	h := bottest.New(t, []engine.Flow{stats.Flow{}}, "locale: en\nmoderators: [\"console:mod\"]\nflows:\n  stats: {}\n")
	ask := func(who, cmd string) string { return bottest.Texts(h.Command(who, cmd, nil)) }
	first := ask("mod", "/sources link poster-a")
	if !strings.Contains(first, "https://example.invalid/src/poster-a") || !strings.Contains(first, `count under "poster-a"`) {
		t.Fatalf("/sources link: %s", first)
	}
	got, err := h.Redis.HGet(context.Background(), h.Store.Key(bottest.Group, "srclinks"), "poster-a").Result()
	if err != nil || got != "https://example.invalid/src/poster-a" {
		t.Fatalf("the link is not kept: %q %v", got, err)
	}
	if again := ask("mod", "/sources link poster-a"); again != first {
		t.Errorf("asked again: %s", again)
	}
	for _, bad := range []string{"/sources link", "/sources link qb:invite", "/sources link " + strings.Repeat("x", 31)} {
		if got := ask("mod", bad); !strings.Contains(got, "cannot name a source") {
			t.Errorf("%s: %s", bad, got)
		}
	}
	if got := ask("ann", "/sources link mine"); strings.Contains(got, "example.invalid") {
		t.Errorf("a member made a link: %s", got)
	}
	h.Out.Caps = bot.AllCapabilities &^ bot.CanSourceLinks
	if got := ask("mod", "/sources link flyer"); !strings.Contains(got, "cannot make a source link") {
		t.Errorf("no source links here: %s", got)
	}
}

// Monday 09:00 in the group's zone the moderators get the week's report:
// the week before against the one before it, the layers against their
// healthy ranges, the top contributors.
func TestWeeklyReport(t *testing.T) {
	h := bottest.New(t, []engine.Flow{stats.Flow{}, wakeup.Flow{}},
		"locale: en\nmoderators: [\"console:mod\"]\nflows:\n  stats: {}\n  wakeup:\n    stages: [{after: 7d, text: \"hi\"}]\n")
	for d := 0; d < 6; d++ { // Monday 2026-01-05 to Saturday
		h.Say("ann", fmt.Sprintf("day %d", d))
		if d%2 == 0 {
			h.Say("bob", fmt.Sprintf("day %d, bob", d))
		}
		h.Advance(24 * time.Hour)
	}
	h.Out.Take()
	h.Advance(24*time.Hour + time.Minute) // past Monday 2026-01-12 09:00
	var report string
	var pic []byte
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActDM && a.Member.ID == "mod" {
			report, pic = a.Text, a.ImagePNG
		}
	}
	if img, err := png.Decode(bytes.NewReader(pic)); err != nil || img.Bounds().Dx() == 0 {
		t.Errorf("the weekly report's chart is no picture: %v", err)
	}
	for _, w := range []string{
		"Weekly report · G, last 7 days (2026-01-05 to 2026-01-11",
		"Messages: 9 (–)", // ann 6, bob 3; nothing the week before
		"Members (as qunbot has seen them): 2",
		"Layers: core",
		"Top contributors: ann",
	} {
		if !strings.Contains(report, w) {
			t.Errorf("weekly report lacks %q:\n%s", w, report)
		}
	}
	if strings.Contains(report, "by source") {
		t.Errorf("a week without a known source has a sources line:\n%s", report)
	}
}

// The weekly report says where the week's newcomers came from, the three
// sources that brought the most; the week before's do not count.
func TestWeeklyReportSources(t *testing.T) {
	h := bottest.New(t, []engine.Flow{stats.Flow{}}, "locale: en\nmoderators: [\"console:mod\"]\nflows:\n  stats: {}\n")
	join := func(name, source string) {
		h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member(name), Source: source})
	}
	join("old", "last-week") // Monday 2026-01-05: the report of 2026-01-19 does not count it
	h.Advance(7 * 24 * time.Hour)
	for _, n := range []string{"a1", "a2", "a3"} {
		join(n, "poster-a")
	}
	join("b1", "poster-b")
	join("c1", bot.SourceInvite)
	join("d1", "flyer-d")
	h.Say("a1", "hello")
	h.Say("c1", "hi")
	h.Out.Take()
	h.Advance(7*24*time.Hour + time.Minute) // past Monday 2026-01-19 09:00
	var report string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActDM && a.Member.ID == "mod" {
			report = a.Text
		}
	}
	want := "This week's newcomers by source (joined / spoke): poster-a 3 / 1 · members' invite links 1 / 1 · flyer-d 1 / 0"
	if !strings.Contains(report, want) || strings.Contains(report, "last-week") {
		t.Errorf("weekly report lacks %q, or counts last week:\n%s", want, report)
	}
}

// Late each day the platform's own member count joins the day's record
// (where the platform can count: here the test platform says 42).
func TestPlatformMemberCount(t *testing.T) {
	h := bottest.New(t, flows(), sprintf(conf, "UTC"))
	h.Out.Count = 42
	h.Say("ann", "hello")     // the group becomes known: its schedules are set
	h.Advance(15 * time.Hour) // past 23:50 UTC
	days := read(t, h, "2026-01-05", "2026-01-05")
	want(t, days[0], map[string]int64{"members_platform": 42, "members": 1})
}

// With the wake-up flow on, the day's record gets the tier counts late in
// the day.
func TestTierCountsRecorded(t *testing.T) {
	h := bottest.New(t, []engine.Flow{stats.Flow{}, wakeup.Flow{}},
		"locale: en\nflows:\n  stats: {}\n  wakeup:\n    stages: [{after: 7d, text: \"hi\"}]\n")
	h.Say("ann", "hello")
	h.Say("bob", "hello too")
	h.Advance(15 * time.Hour) // past 23:50 UTC
	days := read(t, h, "2026-01-05", "2026-01-05")
	v := days[0].Values
	if v["tier_core"]+v["tier_active"] != 2 || v["tier_silent"] != 0 || v["tier_churned"] != 0 {
		t.Fatalf("tiers %v, want 2 core or active", v)
	}
}

// Without report.chat the weekly report goes to the ad filter's log chat
// where the group has one.
func TestWeeklyReportToLogChat(t *testing.T) {
	h := bottest.New(t, []engine.Flow{adfilter.New(), stats.Flow{}},
		"locale: en\nmoderators: [\"console:mod\"]\nflows:\n  stats: {}\n  adfilter: { log_chat: \"console:mods\" }\n")
	h.Say("ann", "hello")
	h.Advance(7 * 24 * time.Hour)
	var to []string
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "Weekly report") {
			to = append(to, string(a.Type)+" "+a.Chat)
		}
	}
	if len(to) != 1 || to[0] != "send console:mods" {
		t.Fatalf("weekly report went to %v, want the log chat once", to)
	}
}
