package telegram_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
)

// An answer that is not the Bot API's — an emulator's or a proxy's —
// gives an error naming the HTTP status and what the server said, and
// keeps its class: temporary only for a server error without a readable
// body, a flood wait for 429. Bot API answers are read as before.
func TestNotBotAPIAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   []string
		class  string // temporary, wait or permanent
	}{
		{"an emulator's unknown method", 500, `{"message":"API method 'getChatAdministrators' is not supported."}`,
			[]string{"HTTP 500 Internal Server Error (not a Bot API answer): API method 'getChatAdministrators' is not supported."}, "permanent"},
		{"a proxy's error page", 502, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
			[]string{"HTTP 502 Bad Gateway (not a Bot API answer): <html> <head><title>502 Bad Gateway</title>"}, "temporary"},
		{"a wrong api_url", 404, "404 page not found\n", []string{"HTTP 404 Not Found (not a Bot API answer): 404 page not found"}, "permanent"},
		{"a rate limit without a Bot API body", 429, "slow down", []string{"HTTP 429 Too Many Requests (not a Bot API answer): slow down"}, "wait"},
		{"an empty body", 503, "", []string{"HTTP 503 Service Unavailable (not a Bot API answer)"}, "temporary"},
		{"a JSON error of another shape", 400, `{"error":"bad chat_id"}`, []string{"HTTP 400 Bad Request (not a Bot API answer): bad chat_id"}, "permanent"},
		{"a long page cut at a character", 500, strings.Repeat("页", 300), []string{"HTTP 500 Internal Server Error (not a Bot API answer): 页页", "页…"}, "temporary"},
		{"the Bot API's own error", 400, apiErr(400, "Bad Request: chat_id is empty", nil), []string{"400 Bad Request: chat_id is empty"}, "permanent"},
		{"the Bot API's own server error", 500, apiErr(500, "Internal Server Error", nil), []string{"500 Internal Server Error"}, "temporary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.api.override["getChatAdministrators"] = func(url.Values) (int, string) { return tt.status, tt.body }
			_, err := e.ad.IsAdmin(context.Background(), "telegram:"+group, "7")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "not a Bot API answer") != (tt.body == "" || !strings.Contains(tt.body, `"ok"`)) {
				t.Errorf("error %q: Bot API answer misread", err)
			}
			class := "permanent"
			var wait *bot.RetryAfterError
			switch {
			case errors.Is(err, bot.ErrTemporary):
				class = "temporary"
			case errors.As(err, &wait):
				class = "wait"
			}
			if class != tt.class {
				t.Errorf("a %s error, want %s: %v", class, tt.class, err)
			}
		})
	}
}

// A group whose admin list cannot be read costs one Bot API call and one
// warning per adminRetry, not one per message.
func TestAdminListFailureLoggedOnce(t *testing.T) {
	e := setup(t)
	core, logs := observer.New(zap.WarnLevel)
	ad := telegram.New(telegram.Options{Config: e.cfg, Store: e.store, Log: zap.New(core)})
	e.api.override["getChatAdministrators"] = func(url.Values) (int, string) { return 500, `{"message":"not supported"}` }
	for range 5 {
		if _, err := ad.IsAdmin(context.Background(), "telegram:"+group, "7"); err == nil {
			t.Fatal("no error")
		}
	}
	if n := logs.FilterMessageSnippet("admin list unavailable").Len(); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
	if n := e.api.count("getChatAdministrators"); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}
