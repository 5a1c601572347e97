package render_test

import (
	"testing"

	"github.com/qunbot/qunbot/bot/render"
)

func TestMessageLink(t *testing.T) {
	for _, tc := range []struct{ group, msg, want string }{
		{"telegram:-1001234567890", "42", "https://t.me/c/1234567890/42"},
		{"telegram:-12345", "42", ""}, // a basic group has no links
		{"wecom:ext:wrX", "m1", ""},
		{"console:g1", "1", ""},
	} {
		if got := render.MessageLink(tc.group, tc.msg); got != tc.want {
			t.Errorf("%s/%s: %q, want %q", tc.group, tc.msg, got, tc.want)
		}
	}
}
