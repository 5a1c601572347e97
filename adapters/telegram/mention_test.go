package telegram

import (
	"testing"

	"github.com/qunbot/qunbot/bot"
)

func TestMentionLink(t *testing.T) {
	ann := bot.Member{ID: "42", Name: "Ann"}
	bob := bot.Member{ID: "43", Name: "Bob", Username: "bob"}
	cat := bot.Member{ID: "44", Name: "Cat & Co"}
	tests := []struct {
		name string
		act  bot.Action
		want string
	}{
		{"no member: escaped only", bot.Action{Type: bot.ActSend, Text: "a <b> & c"}, "a &lt;b&gt; &amp; c"},
		{"the member without a username",
			bot.Action{Type: bot.ActSend, Text: "Hi Ann!", Member: ann},
			`Hi <a href="tg://user?id=42">Ann</a>!`},
		{"a @username is left to Telegram",
			bot.Action{Type: bot.ActSend, Text: "Hi @bob", Member: bob}, "Hi @bob"},
		{"a burst welcome links each member, in order",
			bot.Action{Type: bot.ActSend, Text: "Welcome Ann @bob Cat & Co!", Member: ann, Mentioned: []bot.Member{ann, bob, cat}},
			`Welcome <a href="tg://user?id=42">Ann</a> @bob <a href="tg://user?id=44">Cat &amp; Co</a>!`},
		{"the same name twice: each member at their own place",
			bot.Action{Type: bot.ActSend, Text: "Winners: Ann Ann", Mentioned: []bot.Member{ann, {ID: "45", Name: "Ann"}}},
			`Winners: <a href="tg://user?id=42">Ann</a> <a href="tg://user?id=45">Ann</a>`},
		{"a name that is not in the text is skipped, the rest still linked",
			bot.Action{Type: bot.ActSend, Text: "Hi Ann", Mentioned: []bot.Member{{ID: "46", Name: "Zed"}, ann}},
			`Hi <a href="tg://user?id=42">Ann</a>`},
		{"a name never lands inside an entity",
			bot.Action{Type: bot.ActSend, Text: "x & y amp", Mentioned: []bot.Member{{ID: "47", Name: "amp"}}},
			`x &amp; y <a href="tg://user?id=47">amp</a>`},
		{"ids that are not Telegram's, blank names: plain text",
			bot.Action{Type: bot.ActSend, Text: "Hi Ann  ", Mentioned: []bot.Member{{ID: "wm123", Name: "Ann"}, {ID: "48", Name: " "}}},
			"Hi Ann  "},
		{"a channel (its id a chat's): plain text, a tg://user link cannot name it",
			bot.Action{Type: bot.ActSend, Text: "Crypto Signals, warning 1", Member: bot.Member{ID: "-1002222", Name: "Crypto Signals", IsChannel: true}},
			"Crypto Signals, warning 1"},
		{"an anonymous admin: by its title, no link to GroupAnonymousBot",
			bot.Action{Type: bot.ActSend, Text: "Barista warned Ann", Member: bot.Member{ID: "1087968824", Name: "Barista", IsAdmin: true}},
			"Barista warned Ann"},
		{"not a send (a DM): no links",
			bot.Action{Type: bot.ActDM, Text: "Hi Ann", Member: ann}, "Hi Ann"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mentionLink(tc.act); got != tc.want {
				t.Errorf("mentionLink = %q\nwant          %q", got, tc.want)
			}
		})
	}
}
