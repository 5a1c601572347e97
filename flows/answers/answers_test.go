package answers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/answers"
	"github.com/qunbot/qunbot/flows/stats"
)

func flows() []engine.Flow { return []engine.Flow{adfilter.New(), answers.Flow{}, stats.Flow{}} }

const conf = `
locale: zh-CN
moderators: ["console:mod"]
flows:
  stats: {}
  answers:
    cooldown: { member: 10m, group: 0s }
    rules:
      - { name: start, keywords: ["几点开始", "什么时候开始"], reply: "每周三 20:00 开始，不见不散" }
      - { name: perk, similar: ["怎么领取新人福利", "新人券在哪里领"], min_similarity: 0.5, reply: "私聊我发送 /perk 领取", private: true }
      - { name: order, regex: "订单号\\s*\\d{6,}", reply: "订单问题请联系客服：https://example.com/help", buttons: [{text: 客服, url: "https://example.com/help"}] }
      - { name: schedule, command: schedule, reply: "日程：https://example.com/cal" }
    questions: { escalate_after: 2h }
`

func replies(h *bottest.Harness) []bot.Action {
	var out []bot.Action
	for _, a := range h.Out.Take() {
		if a.Type == bot.ActSend || a.Type == bot.ActDM {
			out = append(out, a)
		}
	}
	return out
}

// Every trigger kind fires its rule; the private rule answers by DM.
func TestTriggers(t *testing.T) {
	tests := []struct {
		name, text string
		want       string // part of the reply, "" none
		dm         bool
	}{
		{"keyword", "请问活动几点开始？", "每周三", false},
		{"keyword, traditional", "活動幾點開始", "每周三", false},
		{"similar question", "新人福利怎么领取啊", "/perk", true},
		{"regex", "我的订单号 20261130 还没发货", "联系客服", false},
		{"command", "/schedule", "日程", false},
		{"nothing", "今天天气不错", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := bottest.New(t, flows(), conf)
			h.Say("ann", tc.text)
			rs := replies(h)
			if tc.want == "" {
				if len(rs) != 0 {
					t.Fatalf("replied %q", rs[0].Text)
				}
				return
			}
			if len(rs) != 1 || !strings.Contains(rs[0].Text, tc.want) {
				t.Fatalf("replies %v, want one with %q", rs, tc.want)
			}
			if (rs[0].Type == bot.ActDM) != tc.dm {
				t.Errorf("reply type %v, want DM=%v", rs[0].Type, tc.dm)
			}
		})
	}
}

// A rule answers a member once per member cooldown; another member still
// gets it (the group cooldown is off here).
func TestCooldown(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Say("ann", "几点开始")
	h.Say("ann", "几点开始")
	h.Say("bob", "几点开始")
	if n := len(replies(h)); n != 2 {
		t.Fatalf("%d replies, want 2 (ann once, bob once)", n)
	}
	h.Advance(11 * time.Minute)
	h.Say("ann", "几点开始")
	if n := len(replies(h)); n != 1 {
		t.Fatalf("after the cooldown: %d replies, want 1", n)
	}
}

func TestGroupCooldown(t *testing.T) {
	h := bottest.New(t, flows(), strings.Replace(conf, "group: 0s", "group: 1m", 1))
	h.Say("ann", "几点开始")
	h.Say("bob", "几点开始")
	if n := len(replies(h)); n != 1 {
		t.Fatalf("%d replies within the group cooldown, want 1", n)
	}
}

// Answers added in chat; /answer test says what fires and why.
func TestChatAnswersAndTest(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Say("mod", "/answer add 停车 楼下停车场免费两小时")
	h.Say("ann", "附近能停车吗")
	rs := replies(h)
	if len(rs) != 2 || !strings.Contains(rs[1].Text, "免费两小时") {
		t.Fatalf("chat answer: %v", rs)
	}
	h.Say("mod", "/answer test 活动几点开始？")
	rs = replies(h)
	if len(rs) != 1 || !strings.Contains(rs[0].Text, `start — keyword "几点开始"`) || !strings.Contains(rs[0].Text, "提问") {
		t.Fatalf("/answer test: %v", rs)
	}
	h.Say("mod", "/answers")
	if rs = replies(h); len(rs) != 1 || !strings.Contains(rs[0].Text, "停车") || !strings.Contains(rs[0].Text, "start") {
		t.Fatalf("/answers: %v", rs)
	}
	h.Say("ann", "/answer add 广告 买买买")
	if rs = replies(h); len(rs) != 1 || strings.Contains(rs[0].Text, "已添加") {
		t.Fatalf("a member added an answer: %v", rs)
	}
	h.Say("mod", "/answer del 停车")
	replies(h)
	h.Say("bob", "附近能停车吗")
	for _, r := range replies(h) {
		if strings.Contains(r.Text, "免费两小时") {
			t.Fatal("a removed answer still replies")
		}
	}
}

func TestIsQuestion(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"这个怎么用", true}, {"有人知道吗", true}, {"多少钱？", true}, {"能不能便宜点", true}, {"哪里买", true},
		{"How do I join?", true}, {"where is the event", true}, {"any tips", false}, {"好的谢谢", false},
		{"今天很开心", false}, {"/help", false}, {"", false}, {"Is it free", true},
	}
	for _, tc := range tests {
		if got := answers.IsQuestion(tc.text); got != tc.want {
			t.Errorf("IsQuestion(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func day(t *testing.T, h *bottest.Harness) answers.Figures {
	t.Helper()
	now := h.Clock.Now().In(time.UTC)
	days, err := kpi.Read(context.Background(), h.Store, bottest.Group, now.AddDate(0, 0, -1).Format("2006-01-02"), now.Format("2006-01-02"), h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	f, err := answers.Read(context.Background(), h.Store, bottest.Group, days)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A question nobody answered is open; someone else's reply resolves it,
// the asker's own does not; the time to answer is recorded.
func TestQuestionAnswered(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "这款磨豆机怎么清洗？", MessageID: "q1"})
	h.Advance(5 * time.Minute)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "有人吗", MessageID: "q2",
		ReplyTo: &bot.Reply{MessageID: "q1", Member: bottest.Member("ann")}})
	h.Advance(5 * time.Minute)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("bob"), Text: "拆下刷子清理就行", MessageID: "a1",
		ReplyTo: &bot.Reply{MessageID: "q1", Member: bottest.Member("ann")}})
	f := day(t, h)
	if f.Asked != 2 || f.Answered != 1 || f.Auto != 0 {
		t.Fatalf("figures %+v, want 2 asked (q1, q2), 1 answered", f)
	}
	if f.Median != 10*time.Minute || f.Samples != 1 {
		t.Errorf("time to answer %v over %d, want 10m over 1", f.Median, f.Samples)
	}
	// an auto-replied question is answered at once
	h.Say("cat", "活动几点开始？")
	if f = day(t, h); f.Asked != 3 || f.Auto != 1 {
		t.Errorf("after an auto-replied question: %+v", f)
	}
}

// A question still open after escalate_after goes to the moderators once,
// with a button that marks it done.
func TestQuestionEscalated(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "退货要怎么办理？", MessageID: "q9"})
	h.Out.Take()
	h.Advance(119 * time.Minute)
	if rs := replies(h); len(rs) != 0 {
		t.Fatalf("escalated early: %v", rs)
	}
	h.Advance(2 * time.Minute)
	rs := replies(h)
	if len(rs) != 1 || rs[0].Type != bot.ActDM || rs[0].Member.ID != "mod" || !strings.Contains(rs[0].Text, "退货要怎么办理") {
		t.Fatalf("escalation: %v", rs)
	}
	if f := day(t, h); f.Escalated != 1 {
		t.Errorf("escalated = %d", f.Escalated)
	}
	data := rs[0].Buttons[0][0].Data
	// a member who is not a moderator cannot mark it
	h.Event(bot.Event{Kind: bot.EventButton, Member: bottest.Member("ann"), Button: &bot.Button{ID: "p1", Data: data},
		Chat: bot.Chat{Key: "console:dm-ann", Type: bot.ChatPrivate}})
	if f := day(t, h); f.Answered != 0 {
		t.Fatal("a member marked a question done")
	}
	h.Event(bot.Event{Kind: bot.EventButton, Member: bottest.Member("mod"), Button: &bot.Button{ID: "p2", Data: data},
		Chat: bot.Chat{Key: "console:dm-mod", Type: bot.ChatPrivate}})
	if f := day(t, h); f.Answered != 1 {
		t.Errorf("done by the moderator: answered = %d, want 1", f.Answered)
	}
	h.Advance(3 * time.Hour)
	if rs := replies(h); len(rs) != 0 {
		t.Errorf("escalated twice: %v", rs)
	}
}

// An answered question is not escalated.
func TestAnsweredNotEscalated(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "在哪里买？", MessageID: "q3"})
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("bob"), Text: "官方小程序", MessageID: "a3",
		ReplyTo: &bot.Reply{MessageID: "q3", Member: bottest.Member("ann")}})
	h.Out.Take()
	h.Advance(3 * time.Hour)
	if rs := replies(h); len(rs) != 0 {
		t.Errorf("an answered question escalated: %v", rs)
	}
}

// /stats 7d reports the questions: asked, resolved, the median time.
func TestStatsQuestions(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("ann"), Text: "怎么报名？", MessageID: "q1"})
	h.Advance(20 * time.Minute)
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("bob"), Text: "小程序里", MessageID: "a1",
		ReplyTo: &bot.Reply{MessageID: "q1", Member: bottest.Member("ann")}})
	h.Say("cat", "几点开始？")
	h.Out.Take()
	h.Say("mod", "/stats 7d")
	rs := replies(h)
	if len(rs) != 1 || !strings.Contains(rs[0].Text, "提问：2 · 自动回复解答 1、有人回答 1 · 解决率 100% · 中位回答时间 20 分钟") {
		t.Fatalf("/stats 7d: %v", rs)
	}
}
