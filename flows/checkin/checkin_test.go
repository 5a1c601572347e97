package checkin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/verify"
)

func flows() []engine.Flow { return []engine.Flow{verify.Flow{}, checkin.Flow{}} }

func cmd(h *bottest.Harness, member, text string) {
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member(member), Text: text, MessageID: fmt.Sprint(time.Now().UnixNano())})
}

func balance(t *testing.T, h *bottest.Harness, member string) string {
	t.Helper()
	return h.Fields(member)["pts"]
}

// Day boundaries follow the group's time zone, east and west of UTC.
func TestDayBoundaries(t *testing.T) {
	tests := []struct {
		tz        string
		first     string // local times of two check-ins
		second    string
		newDay    bool
		wantTotal string
	}{
		{"Asia/Shanghai", "2026-01-05T23:59:00", "2026-01-06T00:01:00", true, "10"},
		{"Asia/Shanghai", "2026-01-05T00:01:00", "2026-01-05T23:59:00", false, "5"},
		{"America/Los_Angeles", "2026-01-05T23:59:00", "2026-01-06T00:01:00", true, "10"},
		{"America/Los_Angeles", "2026-01-05T00:30:00", "2026-01-05T20:00:00", false, "5"}, // crosses UTC midnight
	}
	for _, tt := range tests {
		t.Run(tt.tz+" "+tt.first+"→"+tt.second, func(t *testing.T) {
			h := bottest.New(t, flows(), "timezone: "+tt.tz+"\nflows:\n  checkin: { points: 5 }\n")
			loc, _ := time.LoadLocation(tt.tz)
			for _, at := range []string{tt.first, tt.second} {
				ts, err := time.ParseInLocation("2006-01-02T15:04:05", at, loc)
				if err != nil {
					t.Fatal(err)
				}
				h.Clock.Set(ts)
				cmd(h, "alice", "签到")
			}
			if got := balance(t, h, "alice"); got != tt.wantTotal {
				t.Errorf("balance %s, want %s", got, tt.wantTotal)
			}
		})
	}
}

func TestStreaksBonusesAndResets(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: { points: 1, streak_bonus: { 3: 10 } }\n")
	day := 24 * time.Hour
	steps := []struct {
		advance time.Duration
		streak  string
		balance string
	}{
		{0, "1", "1"}, {day, "2", "2"}, {day, "3", "13"}, {day, "4", "14"},
		{2 * day, "1", "15"}, // a missed day resets the streak (no make-up)
		{day, "2", "16"},
	}
	for i, s := range steps {
		h.Clock.Advance(s.advance)
		cmd(h, "alice", "/checkin")
		f := h.Fields("alice")
		if f["ci_streak"] != s.streak || f["pts"] != s.balance {
			t.Errorf("step %d: streak %s balance %s, want %s %s", i, f["ci_streak"], f["pts"], s.streak, s.balance)
		}
	}
}

// One member sending 100 check-ins at once, on two replicas: credited once.
func TestConcurrentCheckinsCreditOnce(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: { points: 5 }\n")
	h2 := bottest.New(t, flows(), "flows:\n  checkin: { points: 5 }\n", h.Prefix)
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd([]*bottest.Harness{h, h2}[i%2], "alice", "/checkin")
		}(i)
	}
	wg.Wait()
	if got := balance(t, h, "alice"); got != "5" {
		t.Fatalf("balance %s after 100 concurrent check-ins, want 5", got)
	}
}

// 100 members redeeming an item with stock 10 at once: exactly 10 sold,
// nobody overdrawn.
func TestConcurrentRedemptionsNeverOversell(t *testing.T) {
	yaml := "flows:\n  checkin:\n    rewards: [ { id: mug, name: Mug, cost: 10, stock: 10, issue: contact } ]\n"
	h := bottest.New(t, flows(), yaml)
	ctx := context.Background()
	l := checkin.NewLedger(h.Store, bottest.Group, 1000)
	for i := 0; i < 100; i++ {
		if _, err := l.Award(ctx, fmt.Sprint("m", i), 15, "seed", h.Clock.Now(), true); err != nil {
			t.Fatal(err)
		}
	}
	var sold atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			status, _, _, err := l.Redeem(ctx, fmt.Sprint("m", i), &checkin.Reward{ID: "mug", Cost: 10, Stock: 10}, h.Clock.Now())
			if err != nil {
				t.Error(err)
			}
			if status == checkin.RedeemOK {
				sold.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if sold.Load() != 10 {
		t.Fatalf("sold %d, want exactly 10", sold.Load())
	}
	if n, _ := l.Sold(ctx, "mug"); n != 10 {
		t.Errorf("sold counter %d", n)
	}
	// one member, many concurrent redemptions of a cheap unlimited item: never below zero
	if _, err := l.Award(ctx, "rich", 25, "seed", h.Clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int64
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, _, _, _ := l.Redeem(ctx, "rich", &checkin.Reward{ID: "sticker", Cost: 10}, h.Clock.Now()); st == checkin.RedeemOK {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 2 || balance(t, h, "rich") != "5" {
		t.Errorf("redeemed %d, balance %s; want 2 and 5", ok.Load(), balance(t, h, "rich"))
	}
}

func TestInvitesAndAbuse(t *testing.T) {
	yaml := "flows:\n  checkin: { invites: { points: 20, stay: 1d } }\n"
	h := bottest.New(t, flows(), yaml)
	ctx := context.Background()
	link := "https://t.me/+alice"
	if err := h.Redis.HSet(ctx, h.Store.Key(bottest.Group, "invites"), link, "alice").Err(); err != nil {
		t.Fatal(err)
	}
	join := func(name string) {
		h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member(name), InviteLink: link})
	}
	join("bob")   // credited after a day
	join("alice") // self-invite: nothing
	join("carl")  // leaves early: nothing
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("carl")})
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("dan")}) // no link
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("dan")})
	join("dan") // re-join through the link: nothing
	h.Advance(25 * time.Hour)
	if got := balance(t, h, "alice"); got != "20" {
		t.Errorf("inviter balance %s, want 20 (bob only)", got)
	}
	var credits []string
	for _, a := range h.Out.Take() {
		if strings.Contains(a.Text, "20") {
			credits = append(credits, a.Text)
		}
	}
	if len(credits) != 1 {
		t.Errorf("credit announcements: %q", credits)
	}
}

// An inviter who is forgotten before their invitee's stay is up earns
// nothing, and no record of them comes back with the credit.
func TestInviteAfterInviterForgotten(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: { invites: { points: 20, stay: 1h } }\n")
	ctx := context.Background()
	if err := h.Redis.HSet(ctx, h.Store.Key(bottest.Group, "invites"), "L", "alice").Err(); err != nil {
		t.Fatal(err)
	}
	h.Say("alice", "hi")
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("bob"), InviteLink: "L"})
	if _, err := h.Store.ForgetMember(ctx, bottest.Group, "alice"); err != nil {
		t.Fatal(err)
	}
	h.Advance(2 * time.Hour)
	if m, _ := h.Store.Member(ctx, bottest.Group, "alice"); m.Name != "" || len(m.Fields) != 0 {
		t.Errorf("a forgotten inviter is back: %+v", m)
	}
}

// An invitee who fails verification earns the inviter nothing.
func TestInviteNeedsVerification(t *testing.T) {
	yaml := "flows:\n  verify: { timeout: 1m }\n  checkin: { invites: { points: 20, stay: 1h } }\n"
	h := bottest.New(t, flows(), yaml)
	ctx := context.Background()
	if err := h.Redis.HSet(ctx, h.Store.Key(bottest.Group, "invites"), "L", "alice").Err(); err != nil {
		t.Fatal(err)
	}
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("zombie"), InviteLink: "L"})
	h.Advance(2 * time.Hour)
	if got := balance(t, h, "alice"); got != "" {
		t.Errorf("inviter credited for an unverified invitee: %s", got)
	}
}

func TestActivityPointsCapped(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: { activity: { points: 2, daily_cap: 5 } }\n")
	for i := 0; i < 5; i++ {
		cmd(h, "bob", "hello")
	}
	if got := balance(t, h, "bob"); got != "4" {
		t.Errorf("balance %s, want 4 (2 a message, cap 5)", got)
	}
	h.Clock.Advance(24 * time.Hour)
	cmd(h, "bob", "next day")
	if got := balance(t, h, "bob"); got != "6" {
		t.Errorf("next day balance %s, want 6", got)
	}
}

func TestLedgerRecordsEveryChange(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: { points: 5, rewards: [ { id: c, name: C, cost: 3, issue: makeup_card } ] }\n")
	cmd(h, "alice", "/checkin")
	cmd(h, "alice", "/redeem c")
	var lines []string
	err := checkin.NewLedger(h.Store, bottest.Group, 1000).Entries(context.Background(), func(e checkin.Entry) error {
		lines = append(lines, fmt.Sprintf("%s %+d %s =%d", e.Member, e.Delta, e.Reason, e.Balance))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(lines, "; ") != "alice +5 checkin =5; alice -3 redeem:c =2" {
		t.Errorf("ledger: %q", lines)
	}
	if h.Fields("alice")["ci_cards"] != "1" {
		t.Error("make-up card not issued")
	}
}

// The first check-in of a month awards "top 3" of the month before, once.
func TestMonthlyTopThreeBadge(t *testing.T) {
	h := bottest.New(t, flows(), "timezone: UTC\nflows:\n  checkin: { points: 5 }\n")
	h.Clock.Set(time.Date(2026, 1, 30, 10, 0, 0, 0, time.UTC))
	for _, m := range []string{"a", "b", "c", "d"} {
		cmd(h, m, "/checkin")
	}
	h.Clock.Set(time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC))
	for _, m := range []string{"a", "b", "c"} {
		cmd(h, m, "/checkin")
	}
	h.Clock.Set(time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC))
	cmd(h, "d", "/checkin")
	cmd(h, "a", "/checkin")
	for _, m := range []string{"a", "b", "c"} {
		if h.Fields(m)["b:top3-2026-01"] == "" {
			t.Errorf("%s lacks the January top-3 badge", m)
		}
	}
	if h.Fields("d")["b:top3-2026-01"] != "" {
		t.Error("d was fourth in January")
	}
}

// Check-ins handled out of order (parallel webhook workers around
// midnight) credit each calendar day of the group's zone once.
func TestOutOfOrderCheckinsAroundMidnight(t *testing.T) {
	tests := []struct {
		tz        string
		order     []string // local times, in the order they are handled
		wantTotal string
	}{
		{"Asia/Shanghai", []string{"2026-01-06T00:01:00", "2026-01-05T23:59:00", "2026-01-05T23:58:00"}, "10"},
		{"Asia/Shanghai", []string{"2026-01-06T00:01:00", "2026-01-05T23:59:00", "2026-01-06T00:02:00"}, "10"},
		{"America/Los_Angeles", []string{"2026-01-06T00:01:00", "2026-01-05T23:59:00", "2026-01-05T23:59:30", "2026-01-06T00:00:30"}, "10"},
	}
	for _, tt := range tests {
		t.Run(tt.tz, func(t *testing.T) {
			h := bottest.New(t, flows(), "timezone: "+tt.tz+"\nflows:\n  checkin: { points: 5 }\n")
			loc, _ := time.LoadLocation(tt.tz)
			for _, at := range tt.order {
				ts, err := time.ParseInLocation("2006-01-02T15:04:05", at, loc)
				if err != nil {
					t.Fatal(err)
				}
				h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("alice"), Text: "签到", MessageID: at, Time: ts})
			}
			if got := balance(t, h, "alice"); got != tt.wantTotal {
				t.Errorf("balance %s, want %s (two days, each once)", got, tt.wantTotal)
			}
		})
	}
}

// The check-in word in a private chat says where check-in works.
func TestCheckinWordInPrivateChat(t *testing.T) {
	h := bottest.New(t, []engine.Flow{checkin.Flow{}}, "locale: zh-CN\nflows:\n  checkin: {}\n")
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "签到", MessageID: "p1",
		Chat: bot.Chat{Key: "console:@ann", Type: bot.ChatPrivate}})
	acts := h.Out.Take()
	if len(acts) != 1 || !strings.Contains(acts[0].Text, "请在群里发「签到」") || acts[0].Chat != "console:@ann" {
		t.Fatalf("actions %+v", acts)
	}
	if f := h.Fields("ann"); f["pts"] != "" {
		t.Errorf("credited in a private chat: %v", f)
	}
}

// A month's points board keeps its top MonthCap members and expires after
// the month that follows (it is read for that month's badges); boards
// written before are trimmed and given the same life at start.
func TestMonthBoardsAreCappedAndExpire(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: {}\n")
	ctx := context.Background()
	l := checkin.NewLedger(h.Store, bottest.Group, 1000)
	now := h.Clock.Now()
	for i := range checkin.MonthCap + 50 {
		if _, err := l.Award(ctx, fmt.Sprint("m", i), int64(i+1), "seed", now, true); err != nil {
			t.Fatal(err)
		}
	}
	month := h.Store.Key(bottest.Group, "points", now.Format("2006-01"))
	if n := h.Redis.ZCard(ctx, month).Val(); n != checkin.MonthCap {
		t.Errorf("month board: %d members", n)
	}
	if ttl := h.Redis.TTL(ctx, month).Val(); ttl < 60*24*time.Hour || ttl > 71*24*time.Hour {
		t.Errorf("month board expires in %v", ttl)
	}
	top, err := l.Top(ctx, month, 1)
	if err != nil || len(top) != 1 || top[0].Member != fmt.Sprint("m", checkin.MonthCap+49) {
		t.Errorf("top %v %v", top, err)
	}
	// every balance is in the buckets (audiences, wake-ups read them)
	if n, err := checkin.Balances(h.Store, bottest.Group).Count(ctx, "-inf", "+inf"); err != nil || n != checkin.MonthCap+50 {
		t.Errorf("balances: %d members (%v)", n, err)
	}
	old := h.Store.Key(bottest.Group, "points", "2025-03")
	for i := range checkin.MonthCap + 10 {
		h.Redis.ZAdd(ctx, old, redis.Z{Score: float64(i), Member: fmt.Sprint("m", i)})
	}
	if n, err := checkin.TrimMonths(ctx, h.Store); err != nil || n != 1 {
		t.Fatalf("TrimMonths: %d %v", n, err)
	}
	if n := h.Redis.ZCard(ctx, old).Val(); n != checkin.MonthCap {
		t.Errorf("old board: %d members", n)
	}
	if ttl := h.Redis.TTL(ctx, old).Val(); ttl <= 0 {
		t.Errorf("old board TTL %v", ttl)
	}
}

// The record keeps the day of the activity cap short ("261201"); a day an
// older version wrote long ("2026-12-01") still counts toward today's cap.
func TestActivityCapReadsTheOldDayForm(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: { activity: { points: 2, daily_cap: 5 } }\n")
	cmd(h, "bob", "hello")
	today := h.Clock.Now().Format("2006-01-02") // the harness group's zone is UTC
	if got := h.Fields("bob")["act_day"]; got != state.DayMark(today) || len(got) != 6 {
		t.Fatalf("act_day %q", got)
	}
	// as an older version left it: two credits today, written long
	if err := h.Store.SetFields(context.Background(), bottest.Group, "bob", map[string]string{"act_day": today, "act_n": "2"}); err != nil {
		t.Fatal(err)
	}
	cmd(h, "bob", "again")
	if got := balance(t, h, "bob"); got != "2" {
		t.Errorf("balance %s: the old day form was not read (cap 5, 2 a message, 2 credited)", got)
	}
}

// The board keeps the TopCap highest balances, the buckets every one; a
// member below the board checks in without a place and /rank says they
// are not in the top; a member let go comes back with a higher balance.
func TestBoardKeepsTheTop(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: {}\n")
	ctx := context.Background()
	l := checkin.NewLedger(h.Store, bottest.Group, 100000)
	now := h.Clock.Now()
	for i := range checkin.TopCap + 50 {
		if _, err := l.Award(ctx, fmt.Sprint("m", i), int64(10+i), "seed", now, false); err != nil {
			t.Fatal(err)
		}
	}
	board := checkin.BoardKey(h.Store, bottest.Group)
	if n := h.Redis.ZCard(ctx, board).Val(); n != checkin.TopCap {
		t.Fatalf("board: %d members, want %d", n, checkin.TopCap)
	}
	bal := checkin.Balances(h.Store, bottest.Group)
	if n, err := bal.Count(ctx, "-inf", "+inf"); err != nil || n != checkin.TopCap+50 {
		t.Fatalf("balances: %d (%v), want %d", n, err, checkin.TopCap+50)
	}
	sc, err := bal.Scores(ctx, []string{"m0", "m1049", "nobody"})
	if err != nil || sc[0] != 10 || sc[1] != 1059 || sc[2] != 0 {
		t.Fatalf("scores %v (%v)", sc, err)
	}
	if r, err := l.Rank(ctx, "m3"); err != nil || r != 0 {
		t.Errorf("m3 (below the top) ranked %d (%v)", r, err)
	}
	if r, err := l.Rank(ctx, "m1049"); err != nil || r != 1 {
		t.Errorf("m1049 ranked %d (%v), want 1", r, err)
	}
	// ann (no points yet) checks in: 10 points, below the top
	cmd(h, "ann", "/checkin")
	acts := h.Out.Take()
	if len(acts) == 0 || strings.Contains(acts[0].Text, "排名") || !strings.Contains(acts[0].Text, "连续签到 1 天") {
		t.Fatalf("check-in below the top: %+v", acts)
	}
	cmd(h, "ann", "/rank")
	acts = h.Out.Take()
	if len(acts) == 0 || !strings.Contains(acts[0].Text, fmt.Sprintf("你还不在前 %d 名", checkin.TopCap)) {
		t.Fatalf("/rank below the top: %+v", acts)
	}
	// m3 rises to the top with their next change
	if _, err := l.Award(ctx, "m3", 5000, "seed", now, false); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Rank(ctx, "m3"); err != nil || r != 1 {
		t.Errorf("m3 after 5000 points ranked %d (%v), want 1", r, err)
	}
}

// Boards of the one-set layout (every member on the board) move: the
// balances into the buckets (one written since keeps its newer value),
// the board down to its top, once.
func TestMigrateBalances(t *testing.T) {
	h := bottest.New(t, flows(), "flows:\n  checkin: {}\n")
	ctx := context.Background()
	board := checkin.BoardKey(h.Store, bottest.Group)
	var zs []redis.Z
	for i := range checkin.TopCap + 300 {
		zs = append(zs, redis.Z{Score: float64(i), Member: fmt.Sprint("m", i)})
	}
	if err := h.Redis.ZAdd(ctx, board, zs...).Err(); err != nil {
		t.Fatal(err)
	}
	// m7 earned points since the upgrade (the board has 7)
	if _, err := checkin.NewLedger(h.Store, bottest.Group, 1000).Award(ctx, "m7", 70, "seed", h.Clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	n, err := checkin.MigrateBalances(ctx, h.Store)
	if err != nil || n != checkin.TopCap+299 {
		t.Fatalf("copied %d (%v), want %d", n, err, checkin.TopCap+299)
	}
	if c := h.Redis.ZCard(ctx, board).Val(); c != checkin.TopCap {
		t.Errorf("board holds %d, want %d", c, checkin.TopCap)
	}
	sc, err := checkin.Balances(h.Store, bottest.Group).Scores(ctx, []string{"m7", "m1", "m1299"})
	if err != nil || sc[0] != 70 || sc[1] != 1 || sc[2] != 1299 {
		t.Errorf("balances %v (%v), want [70 1 1299]", sc, err)
	}
	if n, err := checkin.MigrateBalances(ctx, h.Store); err != nil || n != 0 {
		t.Errorf("a second run copied %d (%v)", n, err)
	}
}

// checkin.clean deletes a check-in and its answer once the delay is up,
// and a member's /points with its answer; a moderator's /award and the
// level-up announcement stay. Where the platform cannot delete, nothing
// is scheduled.
func TestClean(t *testing.T) {
	tests := []struct {
		name string
		caps bot.Capability
		text string
		// deleted are the ids deleted when the delay is up: the member's
		// message ("in") and the answers, by the recorder's ids
		deleted string
	}{
		{"check-in word", bot.AllCapabilities, "签到", "in m1"},
		{"/checkin", bot.AllCapabilities, "/checkin", "in m1"},
		{"/points", bot.AllCapabilities, "/points", "in m1"},
		{"a platform that cannot delete", bot.AllCapabilities &^ (bot.CanDelete | bot.CanAutoDelete), "签到", ""},
		{"only its own messages", bot.AllCapabilities &^ bot.CanDelete, "签到", "m1"},
		{"/award stays", bot.AllCapabilities, "/award @bob 5 thanks", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bottest.New(t, flows(), "moderators: [alice]\nflows:\n  checkin: { points: 5, clean: 2m }\n")
			h.Out.Caps = tt.caps
			h.Say("bob", "hello") // bob is known, for /award
			h.Out.Take()
			h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("alice"), Text: tt.text, MessageID: "in"})
			sent := h.Out.Take()
			if len(sent) == 0 || sent[0].Type != bot.ActSend {
				t.Fatalf("no answer: %s", bottest.Summary(sent))
			}
			h.Advance(time.Minute)
			if got := h.Out.Take(); len(got) != 0 {
				t.Fatalf("deleted before the delay: %s", bottest.Summary(got))
			}
			h.Advance(time.Minute + time.Second)
			var deleted []string
			for _, a := range h.Out.Take() {
				if a.Type == bot.ActDelete {
					deleted = append(deleted, a.MessageID)
				}
			}
			slices.Sort(deleted)
			if got := strings.Join(deleted, " "); got != tt.deleted {
				t.Errorf("deleted %q, want %q", got, tt.deleted)
			}
		})
	}
}

func TestCleanIsValidated(t *testing.T) {
	for _, v := range []string{"-1m", "48h"} {
		_, err := config.Parse("test.yaml", []byte("flows:\n  checkin: { clean: "+v+" }\n"), engine.Schema(flows(), bottest.Platforms()))
		if err == nil || !strings.Contains(err.Error(), "clean") {
			t.Errorf("clean %s: %v", v, err)
		}
	}
}
