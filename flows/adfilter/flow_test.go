package adfilter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/verify"
	"github.com/qunbot/qunbot/flows/welcome"
)

func flowSet() []engine.Flow { return []engine.Flow{adfilter.Flow{}, checkin.Flow{}} }

const flowYAML = `
locale: en
moderators: ["console:mod"]
flows:
  checkin:
    activity: {points: 1, daily_cap: 100}
    levels: [{name: regular, points: 50}]
  adfilter:
    log_chat: "console:modlog"
    keywords: [{words: [刷单, "free money"]}]
    newcomer: {messages: 0, for: 0s}
    exempt: {members: [friend], level: regular}
    ladder:
      decay: 1d
      steps:
        - {at: 1, action: warn}
        - {at: 2, action: mute, for: 1h}
        - {at: 3, action: kick}
        - {at: 4, action: ban, for: 7d}
`

func say(h *bottest.Harness, who, text string) []bot.Action {
	h.Out.Take() // what earlier jobs did (auto-deletes)
	h.Say(who, text)
	return h.Out.Take()
}

// deleted reports whether the actions delete who's message.
func deleted(acts []bot.Action, who string) bool {
	for _, a := range acts {
		if a.Type == bot.ActDelete && a.Member.ID == who && a.Flow == "adfilter" {
			return true
		}
	}
	return false
}

func TestLadderWithDecay(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	say(h, "spammer", "hello all")
	before := h.Fields("spammer")
	steps := []struct {
		advance time.Duration
		want    string // summary of actions
	}{
		{0, "delete:spammer send:spammer send"},                          // warn: notice, report
		{time.Hour, "delete:spammer restrict:spammer send:spammer send"}, // mute 1h
		{time.Hour, "delete:spammer kick:spammer send:spammer send"},
		{time.Hour, "delete:spammer ban:spammer send:spammer send"},
		{25 * time.Hour, "delete:spammer send:spammer send"}, // warnings decayed: back to a warning
	}
	for i, s := range steps {
		h.Advance(s.advance)
		h.Out.Take()
		got := bottest.Summary(say(h, "spammer", "免费 free  m0ney 刷单"))
		if got != s.want {
			t.Fatalf("spam %d: %s, want %s", i+1, got, s.want)
		}
	}
	// the spam earned nothing and did not count as activity
	after := h.Fields("spammer")
	if after["pts"] != before["pts"] {
		t.Errorf("points %s → %s for spam", before["pts"], after["pts"])
	}
	m, err := h.Store.Member(context.Background(), bottest.Group, "spammer")
	if err != nil {
		t.Fatal(err)
	}
	if m.Messages != 1 || !m.LastActive.Equal(bottest.Start) {
		t.Errorf("spam counted: %d messages, last active %v", m.Messages, m.LastActive)
	}
	log, err := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10)
	if err != nil || len(log) != 5 || log[0].By != "adfilter" || !strings.Contains(log[1].Action, "banned") {
		t.Fatalf("audit log %+v %v", log, err)
	}
}

func TestReportGoesToLogChat(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	acts := say(h, "spammer", "兼职刷单日结")
	var report *bot.Action
	for i := range acts {
		if acts[i].Chat == "console:modlog" {
			report = &acts[i]
		}
	}
	if report == nil || !strings.Contains(report.Text, "keyword 刷单") || !strings.Contains(report.Text, "兼职刷单日结") || !strings.Contains(report.Text, "spammer") {
		t.Fatalf("report: %+v", acts)
	}
}

func TestExemptions(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	// the exempt level is 50 points earned
	say(h, "regular", "hi")
	if _, err := checkin.NewLedger(h.Store, bottest.Group, 1000).Award(context.Background(), "regular", 60, "test", h.Clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		who   bot.Member
		spam  bool
		label string
	}{
		{bot.Member{ID: "admin", Name: "admin", IsAdmin: true}, false, "platform admin"},
		{bottest.Member("mod"), false, "configured moderator"},
		{bottest.Member("friend"), false, "allowlist"},
		{bottest.Member("regular"), false, "level"},
		{bottest.Member("nobody"), true, "ordinary member"},
	}
	for _, tt := range tests {
		h.Event(bot.Event{Kind: bot.EventMessage, Member: tt.who, Text: "free money 刷单", MessageID: "x" + tt.who.ID})
		got := deleted(h.Out.Take(), tt.who.ID)
		if got != tt.spam {
			t.Errorf("%s: deleted = %v, want %v", tt.label, got, tt.spam)
		}
	}
}

func TestDryRunOnlyReports(t *testing.T) {
	h := bottest.New(t, flowSet(), strings.Replace(flowYAML, "log_chat:", "dry_run: true\n    log_chat:", 1))
	acts := say(h, "spammer", "刷单")
	if got := bottest.Summary(acts); got != "send" || !strings.Contains(acts[0].Text, "dry run") {
		t.Fatalf("dry run: %s %+v", got, acts)
	}
	if h.Fields("spammer")["pts"] != "1" {
		t.Errorf("in a dry run the message counts as usual: pts %q", h.Fields("spammer")["pts"])
	}
}

func TestFloodAndRepeats(t *testing.T) {
	h := bottest.New(t, flowSet(), `
locale: en
flows:
  adfilter:
    newcomer: {messages: 0, for: 0s}
    flood: {messages: 4, window: 10s, repeat: 3, repeat_window: 10m, crowd: 3, crowd_window: 10m, min_length: 8}
`)
	// five quick messages: the fifth is flooding
	for i := range 5 {
		acts := say(h, "fast", "message number "+string(rune('a'+i)))
		if got := deleted(acts, "fast"); got != (i == 4) {
			t.Fatalf("message %d deleted = %v", i+1, got)
		}
	}
	// the same text three times by one member, slowly
	for i := range 3 {
		h.Advance(time.Minute)
		acts := say(h, "repeater", "buy my course now please")
		if got := deleted(acts, "repeater"); got != (i == 2) {
			t.Fatalf("repeat %d deleted = %v", i+1, got)
		}
	}
	// the same text from three members
	for i, who := range []string{"a1", "a2", "a3"} {
		h.Advance(time.Minute)
		acts := say(h, who, "check out this amazing offer")
		if got := deleted(acts, who); got != (i == 2) {
			t.Fatalf("crowd member %d deleted = %v", i+1, got)
		}
	}
	// short texts are never repeats
	for _, who := range []string{"b1", "b2", "b3", "b4"} {
		if acts := say(h, who, "签到"); deleted(acts, who) {
			t.Fatalf("a short text counted as a repeat")
		}
	}
}

func TestCannotDeleteReportsInstead(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	h.Out.Caps = bot.CanSend
	acts := say(h, "spammer", "刷单")
	if got := bottest.Summary(acts); strings.Contains(got, "delete") || !strings.Contains(acts[len(acts)-1].Text, "cannot delete") {
		t.Fatalf("%s %+v", got, acts)
	}
}

func TestNewcomerStrictness(t *testing.T) {
	h := bottest.New(t, flowSet(), `
locale: en
flows:
  adfilter:
    newcomer: {messages: 2, for: 1h}
`)
	h.Join("new")
	if acts := say(h, "new", "see github.com/qunbot"); !deleted(acts, "new") {
		t.Fatalf("a newcomer's link passed")
	}
	h.Join("old")
	say(h, "old", "hi")
	say(h, "old", "hi again")
	h.Advance(2 * time.Hour)
	if acts := say(h, "old", "see github.com/qunbot"); deleted(acts, "old") {
		t.Fatalf("a settled member's link was removed")
	}
}

// newcomer.action: a newcomer's spam (removed for what it says) costs a
// ban or a kick at once, with no notice in the group; a settled member's
// spam, a newcomer's flood, and a platform that cannot ban keep the ladder.
func TestNewcomerAction(t *testing.T) {
	const yaml = `
locale: en
flows:
  adfilter:
    log_chat: "console:modlog"
    keywords: [{words: [刷单]}]
    newcomer: {messages: 2, for: 1h, action: %s}
    flood: {messages: 2, window: 10s}
`
	tests := []struct {
		name    string
		action  string
		settled bool           // the member spoke twice and an hour passed first
		joined  time.Duration  // how long before its first message the member joined (-1: no join seen)
		caps    bot.Capability // 0: every capability
		text    []string       // the member's messages; the last one is judged
		want    string         // its actions' summary
		report  string         // in the report to the log chat
	}{
		{"ban", "ban", false, 0, 0, []string{"刷单"}, "delete:new ban:new send", "banned (a newcomer's spam)"},
		{"kick", "kick", false, 0, 0, []string{"刷单"}, "delete:new kick:new send", "kicked (a newcomer's spam)"},
		{"the ladder by default", "ladder", false, 0, 0, []string{"刷单"}, "delete:new send:new send", "warned (1)"},
		{"a settled member's spam", "ban", true, 0, 0, []string{"刷单"}, "delete:new send:new send", "warned (1)"},
		{"a newcomer's flood", "ban", false, 0, 0, []string{"hi", "hi there", "hello"}, "delete:new send:new send", "warned (1)"},
		{"a platform that cannot ban", "ban", false, 0, bot.CanSend | bot.CanDelete, []string{"刷单"}, "delete:new send:new send", "warned (1)"},
		// no join seen: in the group before qunbot came, new to it only
		{"a member from before qunbot", "ban", false, -1, 0, []string{"刷单"}, "delete:new send:new send", "warned (1)"},
		// joined two hours ago (newcomer.for 1h), the first message: a
		// newcomer by its count, not recent enough to be banned unheard
		{"a silent member's first message", "ban", false, 2 * time.Hour, 0, []string{"刷单"}, "delete:new send:new send", "warned (1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bottest.New(t, flowSet(), fmt.Sprintf(yaml, tt.action))
			if tt.caps != 0 {
				h.Out.Caps = tt.caps
			}
			if tt.joined >= 0 {
				h.Join("new")
				h.Advance(tt.joined)
			}
			if tt.settled {
				say(h, "new", "good morning")
				say(h, "new", "how is everyone")
				h.Advance(2 * time.Hour)
			}
			var acts []bot.Action
			for _, text := range tt.text {
				acts = say(h, "new", text)
			}
			if got := bottest.Summary(acts); got != tt.want {
				t.Fatalf("%s, want %s", got, tt.want)
			}
			if r := acts[len(acts)-1]; r.Chat != "console:modlog" || !strings.Contains(r.Text, tt.report) {
				t.Errorf("report %q to %s, want %q", r.Text, r.Chat, tt.report)
			}
		})
	}
}

// A message sent via an inline bot is judged with its buttons: their
// texts are read with the text, their links are links behind text.
func TestInlineBotButtons(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	send := func(id string, buttons, links []string) []bot.Action {
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "今日福利", MessageID: id,
			Chat: bot.Chat{Key: "console:g1", Type: bot.ChatGroup, Title: "G1"}, ViaBot: "promo_bot", Buttons: buttons, Links: links, HiddenLinks: links})
		return h.Out.Take()
	}
	tests := []struct {
		name    string
		buttons []string
		links   []string
		removed bool
	}{
		{"a keyword on a button", []string{"刷单日结"}, nil, true},
		{"an invite link behind a button", []string{"进群"}, []string{"https://t.me/+AbCdEf"}, true},
		{"a plain button", []string{"👍"}, nil, false},
	}
	for i, tt := range tests {
		if got := deleted(send(fmt.Sprint("b", i), tt.buttons, tt.links), "ann"); got != tt.removed {
			t.Errorf("%s: removed %v, want %v", tt.name, got, tt.removed)
		}
	}
}

// A wave across groups: a message removed in one group (by a keyword
// here) makes the next copy — reworded a little, without the keyword, in
// another group, on another replica naming the same model — known by its
// likeness once that replica re-reads the model.
func TestWaveAcrossGroups(t *testing.T) {
	yaml := flowYAML + "    classifier: {model: shared}\n"
	a := bottest.New(t, flowSet(), yaml)
	b := bottest.New(t, flowSet(), yaml, a.Prefix)
	wave := "刷单兼职日结 在家就能做 每天三百到五百 名额有限速来咨询"
	if !deleted(say(a, "raider1", wave), "raider1") {
		t.Fatal("the first of the wave was not removed")
	}
	b.Clock.Set(b.Clock.Now().Add(time.Minute)) // past the model's refresh
	next := "兼职日结!! 在家就能做 每天三百到五百, 名额有限速来咨询🔥"
	b.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("raider2"), Text: next, MessageID: "w2",
		Chat: bot.Chat{Key: "console:g2", Type: bot.ChatGroup, Title: "G2"}})
	if acts := b.Out.Take(); !deleted(acts, "raider2") {
		t.Fatalf("the next of the wave in another group: %v", acts)
	}
	// an unrelated message in that group is left alone
	b.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("bob"), Text: "周末在家做了三百个饺子，大家来尝尝", MessageID: "w3",
		Chat: bot.Chat{Key: "console:g2", Type: bot.ChatGroup, Title: "G2"}})
	if acts := b.Out.Take(); deleted(acts, "bob") {
		t.Fatal("an unrelated message was removed")
	}
}

// sayIn sends who's message to group and answers what it led to.
func sayIn(h *bottest.Harness, group, who, id, text string) []bot.Action {
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member(who), Text: text, MessageID: id,
		Chat: bot.Chat{Key: group, Type: bot.ChatGroup, Title: group}})
	return h.Out.Take()
}

// swept answers the wave removals the due jobs carried out, as
// "chat/message" words.
func swept(h *bottest.Harness) string {
	h.Out.Take()
	h.Advance(time.Second)
	var out []string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActDelete && a.Flow == "adfilter" {
			if a.Audit == nil || !strings.Contains(a.Audit.What, "wave") {
				h.T.Errorf("a wave removal without its audit: %+v", a)
			}
			out = append(out, a.Chat+"/"+a.MessageID)
		}
	}
	return strings.Join(out, " ")
}

const waveYAML = `
locale: en
moderators: ["console:mod"]
flows:
  adfilter:
    log_chat: "console:modlog"
    keywords: [{words: [刷单]}]
    newcomer: {messages: 3, for: 0s, links: 1}
    flood: {groups: 3, groups_window: 10m}
`

// A wave across groups that no group sees as a crowd: new accounts post
// one template (its number changed) once in each of three groups. A
// phone number alone (0.6) does not remove a message, nor does the wave
// alone (0.6); together they remove the third copy, and the two before
// it are removed too, each in its own group. Newcomers' greetings that
// coincide, and settled members saying the same, are left alone.
func TestWaveOfNewcomersAcrossGroups(t *testing.T) {
	h := bottest.New(t, flowSet(), waveYAML)
	texts := []string{
		"超值兼职日结300元 在家就能做 电话 138 1234 5678",
		"超值兼职日结500元，在家就能做！电话13912345678 🔥",
		"超值兼职 日结800元 在家就能做 电话 137-0000-1111",
	}
	for i, text := range texts {
		g, who := "console:w"+string(rune('1'+i)), "raider"+string(rune('1'+i))
		acts := sayIn(h, g, who, "r"+string(rune('1'+i)), text)
		if got := deleted(acts, who); got != (i == 2) {
			t.Fatalf("copy %d deleted = %v: %s", i+1, got, bottest.Texts(acts))
		}
		if i == 2 && !strings.Contains(bottest.Texts(acts), "same text in 3 groups") {
			t.Errorf("the report does not name the wave: %s", bottest.Texts(acts))
		}
	}
	if got, want := swept(h), "console:w1/r1 console:w2/r2"; got != want {
		t.Fatalf("earlier copies removed: %q, want %q", got, want)
	}
	// swept once: a fourth copy removes itself and nothing again
	acts := sayIn(h, "console:w4", "raider4", "r4", "超值兼职日结900元 在家就能做 电话 136 0000 2222")
	if !deleted(acts, "raider4") {
		t.Fatalf("the fourth copy stayed: %s", bottest.Texts(acts))
	}
	if got := swept(h); got != "" {
		t.Fatalf("removed again: %q", got)
	}

	// newcomers' greetings that coincide are a signal, not a verdict
	for i := range 4 {
		g, who := "console:g"+string(rune('1'+i)), "hello"+string(rune('1'+i))
		if acts := sayIn(h, g, who, fmt.Sprintf("h%d", i), "大家好，我是新来的，请多多关照"); deleted(acts, who) {
			t.Fatalf("greeting %d removed: %s", i+1, bottest.Texts(acts))
		}
	}
	// settled members (past their first three messages) are not counted
	for i := range 3 {
		g, who := "console:s"+string(rune('1'+i)), "member"+string(rune('1'+i))
		for j := range 3 {
			sayIn(h, g, who, fmt.Sprintf("s%d-%d", i, j), "hi")
		}
		if acts := sayIn(h, g, who, fmt.Sprintf("s%d", i), "今晚直播记得来看 八点开始 电话 138 1234 5678"); deleted(acts, who) {
			t.Fatalf("a settled member's message in group %d was removed", i+1)
		}
	}
	if got := swept(h); got != "" {
		t.Fatalf("greetings or settled members' messages removed: %q", got)
	}
}

// A copy removed for what it says takes the newcomers' earlier copies
// with it, below the wave's count too; one removed for the member's pace
// does not.
func TestWaveSweptByContent(t *testing.T) {
	h := bottest.New(t, flowSet(), strings.Replace(waveYAML, "groups_window: 10m}", "groups_window: 10m, messages: 2, window: 10s}", 1))
	if acts := sayIn(h, "console:c1", "new1", "n1", "周末兼职 日结 电话 138 1234 5678"); deleted(acts, "new1") {
		t.Fatal("a phone number alone removed a message")
	}
	// the same from a settled member elsewhere, forwarded from a channel
	for j := range 3 {
		sayIn(h, "console:c2", "old", fmt.Sprintf("o%d", j), "hi")
	}
	h.Advance(time.Minute)
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("old"), Text: "周末兼职 日结 电话 139 8765 4321", MessageID: "o9",
		Chat: bot.Chat{Key: "console:c2", Type: bot.ChatGroup}, Forward: &bot.Forward{FromChat: "console:-1001", Name: "Deals"}})
	if !deleted(h.Out.Take(), "old") {
		t.Fatal("the forwarded copy stayed")
	}
	if got := swept(h); got != "console:c1/n1" {
		t.Fatalf("earlier copies removed: %q", got)
	}

	// flooding: removed for its pace, its copies stay
	sayIn(h, "console:c3", "new3", "p1", "大家好我是新来的请多多关照谢谢")
	for j := range 3 {
		sayIn(h, "console:c4", "fast", fmt.Sprintf("f%d", j), "hi")
	}
	if !deleted(sayIn(h, "console:c4", "fast", "f9", "大家好我是新来的请多多关照谢谢"), "fast") {
		t.Fatal("the flood was not removed")
	}
	if got := swept(h); got != "" {
		t.Fatalf("a flood's copies removed: %q", got)
	}
}

// BenchmarkWaveSweep is the worst sweep: a template that stayed below
// removal in waveCap groups, then a copy removed (a forward adds what
// the phone number lacked), which
// schedules the removal of every earlier one. It reports that event's
// time.
func BenchmarkWaveSweep(b *testing.B) {
	const copies = 499
	var total time.Duration
	for i := range b.N {
		h := bottest.New(b, flowSet(), strings.Replace(waveYAML, "groups_window: 10m}", "groups_window: 10m, groups_score: 0}", 1))
		for g := range copies {
			sayIn(h, fmt.Sprintf("console:b%d-%d", i, g), fmt.Sprintf("n%d", g), fmt.Sprintf("m%d", g), "今晚一起来看直播吧 电话 138 1234 5678")
		}
		h.Out.Take()
		start := time.Now()
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("spam"), Text: "今晚一起来看直播吧 电话 139 0000 1111", MessageID: "last",
			Chat: bot.Chat{Key: "console:last", Type: bot.ChatGroup}, Forward: &bot.Forward{FromChat: "console:-1001", Name: "Deals"}})
		total += time.Since(start)
		if !deleted(h.Out.Take(), "spam") {
			b.Fatal("not removed")
		}
		sw := swept(h)
		if got := strings.Count(sw, " ") + 1; got != copies {
			b.Fatalf("%d swept, want %d", got, copies)
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/sweep")
}

// Names that read as ads are turned away at the gate; names that only
// look like them ("张威 199508", 小薇 with username xiaowei2019) are not.
func TestSpamNames(t *testing.T) {
	fl := []engine.Flow{adfilter.Flow{}, checkin.Flow{}, welcome.Flow{}}
	tests := []struct {
		name, join  string // config's names.join ("" default)
		member      bot.Member
		kind        bot.EventKind
		want        string // summary of actions
		wantStopped bool
		by          *bot.Member // who added them
	}{
		{"contact in the name", "", bot.Member{ID: "s1", Name: "加微信 abc12345 领福利"}, bot.EventJoin, "ban:s1 send", true, nil},
		{"keyword in the username", "", bot.Member{ID: "s2", Name: "Bob", Username: "free_money_daily"}, bot.EventJoin, "ban:s2 send", true, nil},
		{"invite link in the name", "", bot.Member{ID: "s3", Name: "VIP t.me/+AbCdEf123"}, bot.EventJoin, "ban:s3 send", true, nil},
		{"a request is declined", "", bot.Member{ID: "s4", Name: "QQ 12345678 代开发票"}, bot.EventJoinRequest, "decline:s4 send", true, nil},
		{"kick", "kick", bot.Member{ID: "s5", Name: "加微信 abc12345"}, bot.EventJoin, "kick:s5 send", true, nil},
		{"report only", "report", bot.Member{ID: "s6", Name: "加微信 abc12345"}, bot.EventJoin, "send", false, nil},
		{"off", "off", bot.Member{ID: "s7", Name: "加微信 abc12345"}, bot.EventJoin, "", false, nil},
		{"a name with a year", "", bot.Member{ID: "n1", Name: "张威 199508"}, bot.EventJoin, "", false, nil},
		{"a given name 嘉威 with a year", "", bot.Member{ID: "n4", Name: "李嘉威 199508"}, bot.EventJoin, "", false, nil},
		{"a given name 嘉寇 with a number", "", bot.Member{ID: "n5", Name: "王嘉寇 19950812"}, bot.EventJoin, "", false, nil},
		{"a name and username apart", "", bot.Member{ID: "n2", Name: "小薇", Username: "xiaowei2019"}, bot.EventJoin, "", false, nil},
		{"a phone number alone", "", bot.Member{ID: "n3", Name: "王五 13812345678"}, bot.EventJoin, "", false, nil},
		{"a moderator", "", bot.Member{ID: "mod", Name: "加微信 abc12345"}, bot.EventJoin, "", false, nil},
		{"an id for a name", "", bot.Member{ID: "wxid_abc12345", Name: "wxid_abc12345"}, bot.EventJoin, "", false, nil},
		{"added by an admin", "", bot.Member{ID: "a1", Name: "加微信 abc12345"}, bot.EventJoin, "", false, &bot.Member{ID: "boss", IsAdmin: true}},
		{"added by a member", "", bot.Member{ID: "a2", Name: "加微信 abc12345"}, bot.EventJoin, "ban:a2 send", true, &bot.Member{ID: "pal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := flowYAML
			if tt.join != "" {
				yaml += "    names: {join: " + tt.join + "}\n"
			}
			yaml += "  welcome:\n    text: \"welcome {{.Flow.Mentions}}\"\n"
			h := bottest.New(t, fl, yaml)
			h.Out.Take()
			h.Event(bot.Event{Kind: tt.kind, Member: tt.member, By: tt.by})
			h.Advance(time.Minute) // a welcome goes out after its burst window
			var acts, greetings []bot.Action
			for _, a := range h.Out.Take() {
				if strings.HasPrefix(a.Text, "welcome") {
					greetings = append(greetings, a)
				} else {
					acts = append(acts, a)
				}
			}
			if got := bottest.Summary(acts); got != tt.want {
				t.Fatalf("%s, want %s: %s", got, tt.want, bottest.Texts(acts))
			}
			for _, a := range acts {
				if a.Type != bot.ActSend && (a.Audit == nil || !strings.Contains(a.Audit.What, "spam name")) {
					t.Errorf("%s without its audit", a.Type)
				}
			}
			// turned away at the gate: nothing after it greets them
			if welcomed := len(greetings) > 0; tt.kind == bot.EventJoin && welcomed == tt.wantStopped {
				t.Errorf("welcomed = %v, want %v", welcomed, !tt.wantStopped)
			}
		})
	}
}

// A member who joined with a plain name and renamed to an ad: each
// message carries the name's score, and the name does not make the
// message's text a wave (its copies stay).
func TestSpamNameOnMessages(t *testing.T) {
	h := bottest.New(t, flowSet(), waveYAML)
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bot.Member{ID: "x", Name: "Tom"}, Text: "大家晚上好 今天天气不错啊", MessageID: "x1"})
	if deleted(h.Out.Take(), "x") {
		t.Fatal("a plain message removed")
	}
	sayIn(h, "console:o2", "other", "o1", "大家晚上好 今天天气不错啊")
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bot.Member{ID: "x", Name: "刷单日结 加v abc12345"}, Text: "大家晚上好 今天天气不错啊", MessageID: "x2"})
	acts := h.Out.Take()
	if !deleted(acts, "x") || !strings.Contains(bottest.Texts(acts), "name keyword 刷单") {
		t.Fatalf("the renamed member's message: %s", bottest.Texts(acts))
	}
	if got := swept(h); got != "" {
		t.Fatalf("copies removed for a name: %q", got)
	}
	// a seller's phone number in a name only nudges
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bot.Member{ID: "w", Name: "王五 13812345678"}, Text: "大家晚上好", MessageID: "w1"})
	if acts := h.Out.Take(); deleted(acts, "w") {
		t.Fatalf("a phone number in a name removed a plain message: %s", bottest.Texts(acts))
	}
}

// The name check comes before verification: a spam name gets no
// challenge naming it; a plain one does.
func TestSpamNameBeforeVerification(t *testing.T) {
	h := bottest.New(t, []engine.Flow{adfilter.Flow{}, verify.Flow{}, checkin.Flow{}}, flowYAML+"  verify: {method: button}\n")
	for _, tt := range []struct {
		member bot.Member
		want   string
	}{
		{bot.Member{ID: "s1", Name: "加微信 abc12345 领福利"}, "ban:s1 send"},
		{bot.Member{ID: "n1", Name: "Anna"}, "restrict:n1 send:n1"},
	} {
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventJoin, Member: tt.member})
		if got := bottest.Summary(h.Out.Take()); got != tt.want {
			t.Errorf("%s joined: %s, want %s", tt.member.Name, got, tt.want)
		}
	}
}

// A spam raid does not bury the moderators' chat: ten reports a minute
// go one by one, the rest are told in one line when the minute is over.
func TestReportsHeldBackInARaid(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	reports := func(acts []bot.Action) (n int, last string) {
		for _, a := range acts {
			if a.Type == bot.ActSend && a.Chat == "console:modlog" {
				n++
				last = a.Text
			}
		}
		return n, last
	}
	sent := 0
	for i := range 15 {
		g := []string{"console:ra", "console:rb"}[i%2] // two groups, one log chat
		acts := sayIn(h, g, fmt.Sprintf("bot%d", i), fmt.Sprintf("r%d", i), "刷单")
		if !deleted(acts, fmt.Sprintf("bot%d", i)) {
			t.Fatalf("spam %d stayed", i)
		}
		n, _ := reports(acts)
		sent += n
	}
	if sent != 10 {
		t.Fatalf("%d reports sent one by one, want 10", sent)
	}
	h.Advance(time.Minute)
	n, text := reports(h.Out.Take())
	if n != 1 || !strings.Contains(text, "5 more reports") {
		t.Fatalf("the digest: %d lines, %q", n, text)
	}
	// the next minute starts afresh
	if n, _ := reports(sayIn(h, "console:ra", "late", "r99", "刷单")); n != 1 {
		t.Fatalf("a report in the next minute: %d", n)
	}
}

// A channel speaking in the group (Telegram's "send as") has its spam
// removed like anyone's, and the ladder does to it what can be done to a
// channel: warnings, and a ban; its mute and kick steps cannot apply and
// are reported. newcomer.action bans one at its first spam: a channel
// never joined and has no standing. The group's linked channel is an
// admin and is not judged.
func TestChannelSpam(t *testing.T) {
	ch := bot.Member{ID: "-1002222", Name: "Crypto Signals", IsChannel: true}
	send := func(h *bottest.Harness, m bot.Member, id string) []bot.Action {
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventMessage, Member: m, Text: "免费 free m0ney 刷单", MessageID: id,
			Chat: bot.Chat{Key: "console:g1", Type: bot.ChatGroup, Title: "G1"}})
		return h.Out.Take()
	}
	h := bottest.New(t, flowSet(), flowYAML)
	steps := []struct{ want, report string }{
		{"delete:-1002222 send:-1002222 send", "warned (1)"},
		{"delete:-1002222 send", "cannot mute"},
		{"delete:-1002222 send", "cannot kick"},
		{"delete:-1002222 ban:-1002222 send:-1002222 send", "banned"},
	}
	for i, s := range steps {
		h.Advance(time.Minute)
		acts := send(h, ch, fmt.Sprint("c", i))
		if got := bottest.Summary(acts); got != s.want {
			t.Fatalf("spam %d: %s, want %s", i+1, got, s.want)
		}
		if r := acts[len(acts)-1]; !strings.Contains(r.Text, s.report) {
			t.Errorf("spam %d: report %q, want %q", i+1, r.Text, s.report)
		}
	}
	own := bot.Member{ID: "-1001111", Name: "Coffee News", IsChannel: true, IsAdmin: true}
	if acts := send(h, own, "o1"); len(acts) != 0 {
		t.Errorf("the linked channel judged: %s", bottest.Summary(acts))
	}
	// a channel is no person: the counts leave it out, as they do bots
	day := h.Clock.Now().In(time.FixedZone("", 8*3600)).Format("2006-01-02")
	days, err := h.Store.KPIDays(context.Background(), "console:g1", []string{day})
	if err != nil {
		t.Fatal(err)
	}
	m, err := h.Store.Member(context.Background(), "console:g1", own.ID)
	if err != nil || !m.IsBot || days[0][string(kpi.Messages)] != 0 || days[0][string(kpi.Active)] != 0 {
		t.Errorf("the channel counted as a member: record bot=%v, the day's messages %v (%v)", m != nil && m.IsBot, days[0], err)
	}

	yaml := strings.Replace(flowYAML, "newcomer: {messages: 0, for: 0s}", "newcomer: {messages: 0, for: 1h, action: ban}", 1)
	h = bottest.New(t, flowSet(), yaml)
	if got := bottest.Summary(send(h, ch, "n1")); got != "delete:-1002222 ban:-1002222 send" {
		t.Errorf("newcomer.action ban, a channel's first spam: %s", got)
	}
}

// A reply to another chat's post is judged with what the member quoted of
// it, which the group sees under the reply: "已到货！" quoting an ad is
// the ad (the wave tg-spam's users met: an innocent line replying to a
// scam channel's post). The reply to another chat is a signal of its own,
// weighed as a forward from there; the same line alone stays.
func TestExternalReplyQuote(t *testing.T) {
	h := bottest.New(t, flowSet(), flowYAML)
	send := func(id, quote string, from *bot.Forward) []bot.Action {
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "已到货！", MessageID: id,
			Chat: bot.Chat{Key: "console:g1", Type: bot.ChatGroup, Title: "G1"}, External: from, Quote: quote})
		return h.Out.Take()
	}
	channel := &bot.Forward{FromChat: "telegram:-100555", FromTitle: "Deals"}
	tests := []struct {
		name    string
		quote   string
		from    *bot.Forward
		removed bool
		signal  string // in the report
	}{
		{"quoting an ad from a channel", "刷单日结，加微信 abc12345", channel, true, "reply to a channel or group's post"},
		{"the line alone", "", nil, false, ""},
		{"a reply to a channel's post, quoting nothing", "", channel, false, ""},
	}
	for i, tt := range tests {
		acts := send(fmt.Sprint("q", i), tt.quote, tt.from)
		if got := deleted(acts, "ann"); got != tt.removed {
			t.Errorf("%s: removed %v, want %v (%s)", tt.name, got, tt.removed, bottest.Summary(acts))
		}
		if tt.signal != "" && !strings.Contains(bottest.Texts(acts), tt.signal) {
			t.Errorf("%s: the report does not name %q: %s", tt.name, tt.signal, bottest.Texts(acts))
		}
	}
}
