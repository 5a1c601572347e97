package help_test

import (
	"strings"
	"testing"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/help"
)

func flows() []engine.Flow { return []engine.Flow{checkin.Flow{}, help.Flow{}} }

const yaml = "locale: en\nmoderators: [\"console:mod\"]\nflows:\n  checkin: {}\n"

// /disable turns members' commands off: a member's use goes unanswered and
// is deleted, a moderator's works, /help no longer offers it to members;
// /enable turns it back on. Moderators' commands, unknown names and
// members asking are refused.
func TestDisable(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	h.Say("bob", "hi")
	steps := []struct {
		who, text string
		want      string // in the answer ("" : no answer at all)
		deleted   bool   // the command was deleted
	}{
		{"bob", "/rank", "points", false},
		{"bob", "/disable rank", "moderators only", false},
		{"mod", "/disable", "Usage", false},
		{"mod", "/disable award", "not a members' command", false},
		{"mod", "/disable nosuch", "not a members' command", false},
		{"mod", "/disable /rank points@bot", "Turned off for members: /rank /points", false},
		{"mod", "/disable rank", "Nothing changed", false},
		{"bob", "/rank", "", true},
		{"bob", "/points", "", true},
		{"bob", "/disabled", "/points /rank", false},
		{"mod", "/rank", "points", false},
		{"mod", "/enable rank", "Turned back on: /rank", false},
		{"bob", "/rank", "points", false},
		{"bob", "/points", "", true},
	}
	for _, s := range steps {
		acts := h.Command(s.who, s.text, nil)
		var said []string
		deleted := false
		for _, a := range acts {
			switch a.Type {
			case bot.ActSend:
				said = append(said, a.Text)
			case bot.ActDelete:
				deleted = deleted || a.MessageID == "c"+s.text
			}
		}
		got := strings.Join(said, "\n")
		if s.want == "" && got != "" || !strings.Contains(got, s.want) || deleted != s.deleted {
			t.Errorf("%s: %s → said %q, deleted %v; want %q, deleted %v", s.who, s.text, got, deleted, s.want, s.deleted)
		}
	}
	for _, c := range []struct {
		who     string
		offered bool
	}{{"bob", false}, {"mod", true}} {
		got := bottest.Texts(h.Command(c.who, "/help", nil))
		if strings.Contains(got, "/points") != c.offered {
			t.Errorf("/help for %s offers /points: %v\n%s", c.who, !c.offered, got)
		}
	}
}
