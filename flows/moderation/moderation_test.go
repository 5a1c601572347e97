package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/moderation"
)

func flows() []engine.Flow { return []engine.Flow{adfilter.Flow{}, moderation.Flow{}} }

const yaml = `
locale: en
moderators: ["console:mod"]
flows:
  moderation: {mute_default: 30m}
  adfilter:
    newcomer: {messages: 0, for: 0s}
    classifier: {model: test, weight: 1.2}
    ladder:
      decay: 7d
      steps: [{at: 1, action: warn}, {at: 2, action: mute, for: 2h}, {at: 3, action: ban}]
`

func TestOnlyModerators(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	h.Say("bob", "hi")
	for _, c := range []string{"/warn @bob", "/mute @bob", "/kick @bob", "/ban @bob", "/modlog", "/filter test x", "/spam", "/unban @bob"} {
		acts := h.Command("eve", c, nil)
		if got := bottest.Texts(acts); !strings.Contains(got, "moderators") || strings.Contains(got, "kick:") || strings.Contains(got, "ban:") || strings.Contains(got, "restrict:") {
			t.Errorf("%s from a member: %s", c, got)
		}
	}
	if es, _ := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10); len(es) != 0 {
		t.Errorf("refused commands reached the audit log: %+v", es)
	}
}

func TestCommands(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	h.Say("bob", "hi")
	reply := &bot.Reply{MessageID: "m-bob", Member: bottest.Member("bob"), Text: "兼职日结，私聊"}
	tests := []struct {
		cmd   string
		reply *bot.Reply
		want  []string // substrings of the actions
	}{
		{"/warns @bob", nil, []string{"0 live warnings"}},
		{"/warn spamming", reply, []string{"send:bob", "warning 1"}},
		{"/warns", reply, []string{"1 live warnings"}},
		{"/warn @bob again", nil, []string{"restrict:bob"}}, // the ladder's second step: mute
		{"/unwarn @bob", nil, []string{"1 left"}},
		{"/mute @bob 45m", nil, []string{"restrict:bob", "45 minutes"}},
		{"/mute @bob", nil, []string{"restrict:bob", "30 minutes"}},
		{"/mute @bob soon", nil, []string{"not a duration"}},
		{"/unmute @bob", nil, []string{"unrestrict:bob"}},
		{"/kick", reply, []string{"kick:bob"}},
		{"/ban @bob 7d", nil, []string{"ban:bob", "7 days"}},
		{"/unban @bob", nil, []string{"unban:bob"}},
		{"/warn @nobody", nil, []string{"I have not seen @nobody in this group"}},
		{"/mute 999 1h", nil, []string{"I have not seen 999 in this group"}},
		{"/warn", nil, []string{"Reply to the member"}},
		{"/kick @mod", nil, []string{"is a moderator"}},
		{"/filter test 加 V abc12345", nil, []string{"contact wechat", "would be removed", "Normalised: 加v abc12345"}},
		{"/filter name 加微信 abc12345 领福利", nil, []string{"contact wechat", "would be removed", "Joining with this name: ban"}},
		{"/filter name 张威 199508", nil, []string{"No rule fires"}},
		{"/filter", nil, []string{"Usage"}},
		{"/tasks", nil, []string{"go out directly"}},
	}
	h.Say("mod", "hi") // so @mod resolves
	for _, tt := range tests {
		got := bottest.Texts(h.Command("mod", tt.cmd, tt.reply))
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.cmd, got, w)
			}
		}
	}
	es, err := adfilter.Recent(context.Background(), h.Store, bottest.Group, 20)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		if e.By != "mod" || e.Member != "bob" {
			t.Errorf("audit entry %+v", e)
		}
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "unban,ban for good,unban,unmute,mute 30m,mute 45m,unwarned (1 left),muted (warning 2, 2h),warned (1)" &&
		!strings.Contains(got, "kick") {
		t.Errorf("audit actions: %s", got)
	}
	got := bottest.Texts(h.Command("mod", "/modlog", nil))
	if !strings.Contains(got, "mod → bob") || !strings.Contains(got, "kick") {
		t.Errorf("/modlog: %s", got)
	}
}

// /spam deletes, bans and teaches every replica's classifier; /ham
// teaches the other way.
func TestSpamReportsTeachTheClassifier(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	other := bottest.New(t, flows(), yaml, h.Prefix) // a second replica
	spam := "低价出售各类游戏账号，量大从优"
	for i := range 3 {
		who := "s" + string(rune('0'+i))
		h.Say(who, "hi")
		acts := h.Command("mod", "/spam", &bot.Reply{MessageID: "m" + who, Member: bottest.Member(who), Text: spam})
		if got := bottest.Texts(acts); !strings.Contains(got, "delete:"+who) || !strings.Contains(got, "ban:"+who) {
			t.Fatalf("/spam: %s", got)
		}
	}
	for _, ham := range []string{"今天的咖啡豆很好喝", "周末一起喝咖啡", "欢迎新朋友加入"} {
		h.Command("mod", "/ham", &bot.Reply{MessageID: "h", Member: bottest.Member("bob"), Text: ham})
	}
	other.Clock.Set(other.Clock.Now().Add(time.Minute)) // past the model's refresh interval
	other.Say("x", "hi")
	other.Out.Take()
	// the next of the wave: the same template, a little changed
	other.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("x"), Text: "低价出售各类游戏账号!! 量大从优 🎮", MessageID: "late"})
	if got := bottest.Texts(other.Out.Take()); !strings.Contains(got, "delete:x") {
		t.Fatalf("the other replica did not learn: %s", got)
	}
	if got := bottest.Texts(h.Command("mod", "/spam", nil)); !strings.Contains(got, "Reply to the message") {
		t.Fatalf("/spam without a reply: %s", got)
	}
}

func FuzzCommandArgs(f *testing.F) {
	for _, s := range []string{"/warn @bob x", "/mute @bob 1h", "/ban 123 7d", "/filter test 加V", "/mute @bob -5m", "/ban @@@", "/filter"} {
		f.Add(s)
	}
	h := bottest.New(f, flows(), yaml)
	h.Say("bob", "hi")
	f.Fuzz(func(t *testing.T, text string) {
		h.T = t
		if !strings.HasPrefix(text, "/") {
			text = "/" + text
		}
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: text, MessageID: "f"})
		h.Out.Take()
	})
}

// /ban says "banned" only once the platform banned; when the platform
// refuses, the group hears that it failed and the log says why.
func TestConfirmationsFollowThePlatform(t *testing.T) {
	tests := []struct {
		name     string
		refuse   bool
		want     string
		wantLog  string
		notWants string
	}{
		{"carried out", false, "Banned", "ban for good", "did not happen"},
		{"refused", true, "did not happen", "failed: Bad Request: not enough rights", "Banned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bottest.New(t, flows(), "locale: en\nmoderators: [\"console:mod\"]\nflows:\n  moderation: {}\n")
			if tt.refuse {
				h.Out.Fail = func(a bot.Action) error {
					if a.Type == bot.ActBan {
						return errors.New("Bad Request: not enough rights")
					}
					return nil
				}
			}
			h.Say("spammer", "hello")
			h.Out.Take()
			h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: "/ban", MessageID: "m9",
				ReplyTo: &bot.Reply{MessageID: "m1", Member: bottest.Member("spammer")}})
			var texts []string
			for _, a := range h.Out.Take() {
				if a.Type == bot.ActSend {
					texts = append(texts, a.Text)
				}
			}
			all := strings.Join(texts, "|")
			if !strings.Contains(all, tt.want) || strings.Contains(all, tt.notWants) {
				t.Errorf("replies %q, want %q and not %q", all, tt.want, tt.notWants)
			}
			h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: "/modlog", MessageID: "m10"})
			var log []string
			for _, a := range h.Out.Take() {
				log = append(log, a.Text)
			}
			if l := strings.Join(log, "|"); !strings.Contains(l, tt.wantLog) {
				t.Errorf("modlog %q, want %q", l, tt.wantLog)
			}
		})
	}
}

// An admin cannot be targeted however they are named: by reply, by
// @username or by id; /unwarn without warnings says so and logs nothing.
func TestAdminsUntouchable(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	h.Say("boss", "hello")
	h.Say("mod", "hi")
	h.Out.Admins = map[string]bool{"boss": true}
	for _, cmd := range []string{"/ban @boss", "/mute @boss 1h", "/warn @boss", "/kick @boss"} {
		got := bottest.Texts(h.Command("mod", cmd, nil))
		if strings.Contains(got, "ban:") || strings.Contains(got, "restrict:") || strings.Contains(got, "kick:") || !strings.Contains(got, "moderator") {
			t.Errorf("%s: %q — an admin was acted on", cmd, got)
		}
	}
	es, _ := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10)
	if len(es) != 0 {
		t.Errorf("audit entries after refused commands: %+v", es)
	}
	h.Say("ann", "hi")
	got := bottest.Texts(h.Command("mod", "/unwarn @ann", nil))
	if !strings.Contains(got, "has no warnings") {
		t.Errorf("/unwarn without warnings: %q", got)
	}
	if es, _ := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10); len(es) != 0 {
		t.Errorf("/unwarn without warnings was logged: %+v", es)
	}
}

// Without the ad filter, /warn follows moderation's own ladder: the third
// warning mutes (the default ladder).
func TestManualLadderWithoutFilter(t *testing.T) {
	h := bottest.New(t, []engine.Flow{moderation.Flow{}}, "moderators: [\"console:mod\"]\nlocale: en\nflows: {moderation: {}}\n")
	h.Say("ann", "hi")
	h.Out.Take()
	var muted bool
	for i := 1; i <= 3; i++ {
		for _, a := range h.Command("mod", "/warn @ann spam", nil) {
			if a.Type == bot.ActRestrict && a.Member.ID == "ann" {
				muted = muted || i == 3
				if i < 3 {
					t.Fatalf("muted at warning %d", i)
				}
			}
		}
	}
	if !muted {
		t.Fatal("the third manual warning did not mute without the ad filter")
	}
}

// /del, /purge and /pin act on the replied-to message, and need a reply.
func TestMessageCommands(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "oops", MessageID: "10"})
	h.Out.Take()
	reply := &bot.Reply{MessageID: "10", Member: bottest.Member("ann"), Text: "oops"}
	run := func(cmd string, r *bot.Reply, id string) []bot.Action {
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: cmd, MessageID: id, ReplyTo: r})
		return h.Out.Take()
	}
	kinds := func(as []bot.Action) string {
		var out []string
		for _, a := range as {
			out = append(out, string(a.Type)+":"+a.MessageID)
		}
		return strings.Join(out, " ")
	}
	if got := kinds(run("/del", reply, "12")); got != "delete:10 delete:12" {
		t.Errorf("/del: %s", got)
	}
	if got := kinds(run("/pin", reply, "13")); got != "pin:10" {
		t.Errorf("/pin: %s", got)
	}
	if got := kinds(run("/purge", reply, "14")); got != "delete:10 delete:11 delete:12 delete:13 delete:14" {
		t.Errorf("/purge: %s", got)
	}
	if got := bottest.Texts(run("/del", nil, "15")); !strings.Contains(got, "Reply to the message") {
		t.Errorf("/del without a reply: %s", got)
	}
	if got := bottest.Texts(run("/purge", &bot.Reply{MessageID: "1", Member: bottest.Member("ann")}, "500")); !strings.Contains(got, "At most 200") {
		t.Errorf("/purge too far: %s", got)
	}
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "/del", MessageID: "16", ReplyTo: reply})
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActDelete && a.MessageID == "10" {
			t.Error("a member deleted a message with /del")
		}
	}
}

// /filter test shows the model's P(spam) and from which P it decides
// alone, once the model has learned from enough samples.
func TestFilterTestShowsTheModel(t *testing.T) {
	dir := t.TempDir()
	var spam, ham []string
	for i := range 120 {
		spam = append(spam, fmt.Sprintf("高薪兼职日结工资%d元，私聊领取", 100+i))
		ham = append(ham, fmt.Sprintf("今天的咖啡第%d杯，味道很好", i))
	}
	write := func(name string, lines []string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := strings.Replace(yaml, "classifier: {model: test, weight: 1.2}",
		"classifier: {model: test, spam: ["+write("spam.txt", spam)+"], ham: ["+write("ham.txt", ham)+"]}", 1)
	h := bottest.New(t, flows(), cfg)
	h.Say("mod", "hi")
	got := bottest.Texts(h.Command("mod", "/filter test 高薪兼职日结工资999元，私聊领取", nil))
	if !strings.Contains(got, "Model: P(spam) ") || !strings.Contains(got, "it decides alone from 0.") || !strings.Contains(got, "classifier sure") {
		t.Errorf("%q", got)
	}
}

// A moderator's /spam on a newcomer's message removes the copies other
// newcomers posted in other groups, each by its group's filter.
func TestSpamReportSweepsCopies(t *testing.T) {
	h := bottest.New(t, flows(), `
locale: en
moderators: ["console:mod"]
flows:
  moderation: {}
  adfilter: {newcomer: {messages: 3, for: 0s}}
`)
	text := "周末读书会 今晚八点 来聊聊这本新书 第 20240601 期"
	for i, g := range []string{"console:r1", "console:r2"} {
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member(fmt.Sprintf("n%d", i)), Text: text, MessageID: fmt.Sprintf("m%d", i),
			Chat: bot.Chat{Key: g, Type: bot.ChatGroup}})
		if got := bottest.Summary(h.Out.Take()); strings.Contains(got, "delete") {
			t.Fatalf("copy %d removed before the report: %s", i+1, got)
		}
	}
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: "/spam", MessageID: "c1",
		Chat: bot.Chat{Key: "console:r2", Type: bot.ChatGroup}, Command: &bot.Command{Name: "spam"},
		ReplyTo: &bot.Reply{MessageID: "m1", Member: bottest.Member("n1"), Text: text}})
	if got := bottest.Summary(h.Out.Take()); !strings.Contains(got, "delete:n1") {
		t.Fatalf("/spam: %s", got)
	}
	h.Advance(time.Second)
	var swept []string
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActDelete {
			swept = append(swept, a.Chat+"/"+a.MessageID)
		}
	}
	if got := strings.Join(swept, " "); got != "console:r1/m0" {
		t.Fatalf("copies removed: %q, want console:r1/m0", got)
	}
}

// A moderator's command in reply to a message sent as a channel acts on
// the channel: /ban bans it; /mute and /kick say that a channel can only
// be banned, and nothing is sent to the platform for them.
func TestCommandsOnAChannel(t *testing.T) {
	ch := bot.Member{ID: "-1002222", Name: "Crypto Signals", IsChannel: true}
	tests := []struct {
		cmd  string
		want string // the actions' summary
		text string // in the reply
	}{
		{"/mute", "send:mod", "not possible for a channel"},
		{"/kick", "send:mod", "not possible for a channel"},
		{"/ban", "ban:-1002222 send:mod", "Banned"},
		{"/warn ads", "send:-1002222", "warning 1"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			h := bottest.New(t, flows(), yaml)
			h.Out.Take()
			h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: tt.cmd, MessageID: "m9",
				ReplyTo: &bot.Reply{MessageID: "m1", Member: ch, Text: "buy signals"}})
			acts := h.Out.Take()
			if got := bottest.Summary(acts); got != tt.want {
				t.Errorf("%s: %s, want %s", tt.cmd, got, tt.want)
			}
			if got := bottest.Texts(acts); !strings.Contains(got, tt.text) {
				t.Errorf("%s: replies %q, want %q", tt.cmd, got, tt.text)
			}
		})
	}
}
