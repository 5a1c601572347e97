package adapters_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/qunbot/qunbot/adapters"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/platform"
)

func schema() config.Schema {
	return config.Schema{Flows: map[string]config.FlowSchema{}, Platforms: platform.Schemas(adapters.Builtin())}
}

// Every chat key format README documents is accepted under groups:, and
// keys a platform would not understand are refused with its reason.
func TestChatKeys(t *testing.T) {
	tests := []struct {
		key  string
		want string // "" accepted, else part of the problem
	}{
		{"telegram:-1001234567890", ""},
		{"telegram:123456789", ""},
		{"wecom:ext:wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", ""},
		{"wecom:app:wrkSFfCgAAtMQKg4xqDatM5C9IoQS4ZA", ""},
		{"wecom:bot:wrkSFfCgAAtMQKg4xqDatM5C9IoQS4ZA", ""},
		{"wecom:hook:ops", ""},
		{"wecom:@zhangsan", ""},
		{"console:demo", ""},
		{"telegram:@channel", "is not a telegram chat: a Telegram chat id is a non-zero whole number"},
		{"telegram:0", "non-zero whole number"},
		{"wecom:wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", "is not a wecom chat: write ext:<chat_id>"},
		{"wecom:ext:", "is not a wecom chat"},
		{"wecom:ext:a b", "is not a wecom chat"},
		{"discord:123", "unknown platform \"discord\" (known platforms: console, telegram, wecom)"},
		{"-1001234567890", "must be platform:chat-id"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := config.Parse("t.yaml", []byte("groups:\n  \""+tt.key+"\": {}\n"), schema())
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// Each platform's section is checked by its own schema, every problem at
// its position.
func TestPlatformSections(t *testing.T) {
	yaml := `adapters:
  telegram: { mode: carrier-pigeon, api_url: ftp://x }
  wecom: {}
  console: { group: "telegram:abc" }
`
	_, err := config.Parse("bad.yaml", []byte(yaml), schema())
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		"bad.yaml:2:13: adapters.telegram.token: set the bot token",
		"bad.yaml:2:21: adapters.telegram.mode: unknown mode \"carrier-pigeon\"",
		"bad.yaml:2:46: adapters.telegram.api_url: must be an http(s) URL",
		"bad.yaml:3:10: adapters.wecom: configure at least one of app, contact, aibot, webhooks",
		"bad.yaml:4:21: adapters.console.group: \"telegram:abc\" is not a telegram chat",
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(ps), len(want), got)
	}
}

// validate checks what run would refuse: files named by the config, and
// the message archive in a build without its SDK.
func TestWhatRunRefusesIsAProblem(t *testing.T) {
	yaml := `adapters:
  wecom:
    corp_id: ww1436e0e65a779aee
    webhooks: { ops: k }
    archive: { secret: s, private_key_file: /nonexistent/archive.pem }
`
	_, err := config.Parse("bad.yaml", []byte(yaml), schema())
	got := ""
	if err != nil {
		got = err.Error()
	}
	for _, w := range []string{
		"bad.yaml:5:45: adapters.wecom.archive.private_key_file: cannot read /nonexistent/archive.pem: no such file or directory",
		"bad.yaml:5:14: adapters.wecom.archive: this qunbot is built without the message archive SDK",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}
