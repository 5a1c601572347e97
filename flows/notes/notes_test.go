package notes_test

import (
	"context"
	"strings"
	"testing"

	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/notes"
)

const conf = `
locale: en
moderators: ["console:mod"]
flows:
  notes:
    rules: "1. Be kind. 2. No ads. Welcome to {{.Group.Title}}!"
`

func said(h *bottest.Harness) string {
	var out []string
	for _, a := range h.Out.Take() {
		out = append(out, a.Text)
	}
	return strings.Join(out, "\n")
}

func TestRulesAndNotes(t *testing.T) {
	h := bottest.New(t, []engine.Flow{notes.Flow{}}, conf)
	tests := []struct {
		who, text, want string
	}{
		{"ann", "/rules", "1. Be kind. 2. No ads. Welcome to G!"},
		{"mod", "/save wifi The password is coffee123", "Saved note #wifi."},
		{"ann", "#wifi", "The password is coffee123"},
		{"ann", "/get wifi", "The password is coffee123"},
		{"ann", "#nothing", ""}, // an ordinary hashtag
		{"ann", "/get nothing", "No note #nothing."},
		{"ann", "/notes", "#wifi"},
		{"ann", "/save hack x", "moderators"}, // refused to a member
		{"mod", "/save bad!name x", "A note's name"},
		{"mod", "/clear wifi", "Removed note #wifi."},
		{"mod", "/clear wifi", "No note #wifi."},
		{"ann", "/notes", "No notes here yet."},
	}
	for _, tc := range tests {
		h.Say(tc.who, tc.text)
		got := said(h)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %s → %q, want %q", tc.who, tc.text, got, tc.want)
		}
	}
	es, _ := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10)
	if len(es) != 2 || es[0].Action != "note removed" || es[1].Action != "note saved" {
		t.Errorf("audit: %+v (the second /clear changed nothing and is not logged)", es)
	}
}
