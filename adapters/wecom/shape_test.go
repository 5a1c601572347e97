package wecom

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

func TestShape(t *testing.T) {
	a := &Adapter{opt: Options{Log: zap.NewNop()}}
	send := func(chat, text string) bot.Action { return bot.Action{Type: bot.ActSend, Chat: chat, Text: text} }
	reply := send("wecom:ext:wr1", "unknown command")
	reply.ReplyTo = "m1"
	notice := send("wecom:ext:wr1", "gone in a minute")
	notice.DeleteAfter = time.Minute
	withButtons := send("wecom:bot:c1", "pick one")
	withButtons.Buttons = [][]bot.ButtonSpec{{{Text: "a", Data: "a"}}}
	tests := []struct {
		name string
		in   []bot.Action
		want []string // chat|text of what is queued
	}{
		{"customer group: replies and notices are not tasks", []bot.Action{reply, notice, send("wecom:ext:wr1", "weekly tips")},
			[]string{"wecom:ext:wr1|weekly tips"}},
		{"AI bot: one answer per message", []bot.Action{send("wecom:bot:c1", "checked in"), send("wecom:bot:c1", "level up"), send("wecom:app:g1", "report")},
			[]string{"wecom:bot:c1|checked in\n\nlevel up", "wecom:app:g1|report"}},
		{"AI bot: a message with buttons stays apart", []bot.Action{send("wecom:bot:c1", "hi"), withButtons},
			[]string{"wecom:bot:c1|hi", "wecom:bot:c1|pick one"}},
		{"app group: replies pass", []bot.Action{{Type: bot.ActSend, Chat: "wecom:app:g1", Text: "ok", ReplyTo: "m1"}},
			[]string{"wecom:app:g1|ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.Shape(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("%d actions, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if g := got[i].Chat + "|" + got[i].Text; g != w {
					t.Errorf("action %d = %q, want %q", i, g, w)
				}
			}
		})
	}
}
