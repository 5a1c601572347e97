package bot_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qunbot/qunbot/bot"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		text, bot string
		name      string // "" = not a command
		args      string
	}{
		{"/help", "", "help", ""},
		{"/checkin", "qunbot", "checkin", ""},
		{"/warn@qunbot 3d spam links", "qunbot", "warn", "3d|spam|links"},
		{"/warn@QunBot x", "qunbot", "warn", "x"},
		{"/warn@otherbot x", "qunbot", "", ""},
		{"  /Points", "", "points", ""},
		{"/award\n@bob 5", "", "award", "@bob|5"},
		{"hello /help", "", "", ""},
		{"/", "", "", ""},
		{"//", "", "", ""},
		{"/ help", "", "", ""},
		{"/签到", "", "签到", ""},
		{"/a.b", "", "", ""},
		{"/" + strings.Repeat("x", 40), "", "", ""},
		{"签到", "", "", ""},
	}
	for _, tt := range tests {
		c := bot.ParseCommand(tt.text, tt.bot)
		if tt.name == "" {
			if c != nil {
				t.Errorf("ParseCommand(%q) = %+v, want not a command", tt.text, c)
			}
			continue
		}
		if c == nil || c.Name != tt.name || strings.Join(c.Args, "|") != tt.args {
			t.Errorf("ParseCommand(%q, %q) = %+v, want %s [%s]", tt.text, tt.bot, c, tt.name, tt.args)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"/help", "/warn@bot 3d x", "/award\n@bob 5", "/", "/签到 今天", "\x00/\xff"} {
		f.Add(s, "bot")
	}
	f.Fuzz(func(t *testing.T, text, botName string) {
		c := bot.ParseCommand(text, botName)
		if c == nil {
			return
		}
		if c.Name == "" || strings.ContainsAny(c.Name, " @/\n") || utf8.RuneCountInString(c.Name) > 32 {
			t.Fatalf("bad command name %q from %q", c.Name, text)
		}
		for _, a := range c.Args {
			if a == "" || strings.ContainsAny(a, " \n\t") {
				t.Fatalf("bad arg %q from %q", a, text)
			}
		}
	})
}
