package survey_test

import (
	"context"
	"strings"
	"testing"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/survey"
	"github.com/qunbot/qunbot/flows/tags"
)

const conf = `
locale: zh-CN
moderators: ["console:mod"]
flows:
  tags:
    rules: [{ questionnaire: feedback, tag: 已反馈 }]
  survey:
    forms:
      - { name: feedback, title: 群体验问卷, questions: ["你最喜欢群里的什么内容？", "你希望我们改进什么？"] }
`

func texts(h *bottest.Harness) []string {
	var out []string
	for _, a := range h.Out.Take() {
		out = append(out, string(a.Type)+":"+a.Member.ID+":"+a.Text)
	}
	return out
}

func dm(h *bottest.Harness, member, text string) {
	h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member(member), Text: text, MessageID: "dm-" + text,
		Chat: bot.Chat{Key: "console:dm-" + member, Type: bot.ChatPrivate}})
}

// A member answers a questionnaire privately, question by question; the
// end counts, tags the member, and shows in the results; a second try is
// thanked, /cancel stops one.
func TestQuestionnaire(t *testing.T) {
	h := bottest.New(t, []engine.Flow{tags.Flow{}, survey.Flow{}}, conf)
	h.Say("ann", "/survey feedback")
	got := strings.Join(texts(h), "\n")
	if !strings.Contains(got, "dm:ann:问卷“群体验问卷”，共 2 题") || !strings.Contains(got, "第 1/2 题：你最喜欢") {
		t.Fatalf("start: %s", got)
	}
	dm(h, "ann", "咖啡知识分享")
	if got = strings.Join(texts(h), "\n"); !strings.Contains(got, "第 2/2 题：你希望我们改进什么？") {
		t.Fatalf("second question: %s", got)
	}
	dm(h, "ann", "活动多一点")
	if got = strings.Join(texts(h), "\n"); !strings.Contains(got, "谢谢你填完问卷") {
		t.Fatalf("end: %s", got)
	}
	if tg := tags.Of(h.Fields("ann"), h.Clock.Now()); len(tg) != 1 || tg[0].Name != "已反馈" || tg[0].Why != "answered feedback" {
		t.Fatalf("tags after the questionnaire: %+v", tg)
	}
	now := h.Clock.Now()
	days, _ := kpi.Read(context.Background(), h.Store, bottest.Group, now.Format("2006-01-02"), now.Format("2006-01-02"), now)
	if days[0].Values["surveys"] != 1 {
		t.Errorf("surveys counted %d", days[0].Values["surveys"])
	}
	dm(h, "ann", "还有一句") // no questionnaire in progress: nothing
	if got := texts(h); len(got) != 0 {
		t.Errorf("a message after the end answered: %v", got)
	}
	h.Say("ann", "/survey feedback")
	if got = strings.Join(texts(h), "\n"); !strings.Contains(got, "已经填过") {
		t.Errorf("second try: %s", got)
	}
	h.Say("bob", "/survey feedback")
	texts(h)
	dm(h, "bob", "/cancel")
	dm(h, "bob", "迟到的回答")
	if got = strings.Join(texts(h), "\n"); !strings.Contains(got, "问卷已结束") || strings.Contains(got, "第 2/2") {
		t.Errorf("cancel: %s", got)
	}
	h.Say("mod", "/survey results feedback")
	if got = strings.Join(texts(h), "\n"); !strings.Contains(got, "1 人填完") || !strings.Contains(got, "• 咖啡知识分享") || !strings.Contains(got, "• 活动多一点") {
		t.Errorf("results: %s", got)
	}
	h.Say("ann", "/survey nope")
	if got = strings.Join(texts(h), "\n"); !strings.Contains(got, "没有叫“nope”的问卷") {
		t.Errorf("unknown form: %s", got)
	}

}

const typed = `
locale: en
flows:
  checkin: {}
  survey:
    forms:
      - name: churn
        points: 5
        tags: [asked]
        questions:
          - {id: why, text: "Why?", options: [price, content, time], tag: {price: "churn:price"}, next: {time: end}}
          - {text: "Improve?", type: multiple, options: [events, tips, perks]}
          - {text: "Recommend?", type: scale, min: 1, max: 5}
`

// Answers by number, by option text, by several numbers; a branch that
// ends early; tags by answer and points on finishing; /cancel is not an
// unknown command.
func TestTypedQuestions(t *testing.T) {
	h := bottest.New(t, []engine.Flow{tags.Flow{}, survey.Flow{}, checkin.Flow{}}, typed)
	h.Say("ann", "/survey churn")
	texts(h)
	for _, step := range []struct{ say, want string }{
		{"4", "Reply with one number from 1 to 3"},
		{"price", "Question 2/3"},
		{"1, 3", "Question 3/3"},
		{"7", "from 1 to 5"},
		{"4", "Thank you"},
	} {
		dm(h, "ann", step.say)
		if got := strings.Join(texts(h), "\n"); !strings.Contains(got, step.want) {
			t.Fatalf("%q → %s, want %q", step.say, got, step.want)
		}
	}
	f := h.Fields("ann")
	var names []string
	for _, tg := range tags.Of(f, h.Clock.Now()) {
		names = append(names, tg.Name)
	}
	if strings.Join(names, ",") != "asked,churn:price" || f["pts"] != "5" {
		t.Errorf("tags %v, points %s", names, f["pts"])
	}
	h.Say("bob", "/survey churn")
	texts(h)
	dm(h, "bob", "/cancel")
	if got := strings.Join(texts(h), "\n"); strings.Contains(got, "nknown") || !strings.Contains(got, "Stopped") {
		t.Errorf("/cancel: %s", got)
	}
	h.Say("bob", "/survey churn")
	texts(h)
	dm(h, "bob", "3") // time: the branch ends it
	if got := strings.Join(texts(h), "\n"); !strings.Contains(got, "Thank you") {
		t.Errorf("branch to the end: %s", got)
	}
}

func TestCount(t *testing.T) {
	q := &survey.Question{Type: survey.Multiple, Options: []string{"a", "b", "c"}}
	tl := survey.Count(q, []string{"a\x1fc", "c", "", "zzz"})
	if tl.N != 3 || tl.Counts[0] != 1 || tl.Counts[2] != 2 {
		t.Errorf("%+v", tl)
	}
	s := &survey.Question{Type: survey.Scale, Min: 0, Max: 2}
	if tl := survey.Count(s, []string{"0", "2", "2", "9"}); tl.Counts[2] != 2 || tl.N != 4 {
		t.Errorf("%+v", tl)
	}
}
