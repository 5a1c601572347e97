package telegram_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/qunbot/qunbot/adapters/adaptertest"
	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
)

// Telegram against the fake Bot API, in webhook mode: a redelivery is
// Telegram posting the same update again, as it does when an answer is
// late.
func TestConformance(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T) *adaptertest.Harness {
		e := setup(t)
		e.cfg.Mode = "webhook"
		e.cfg.Webhook.URL = "https://bot.example/telegram"
		var webhook http.Handler
		for pattern, h := range e.ad.Routes() {
			if pattern != "POST /telegram" {
				t.Fatalf("route %q", pattern)
			}
			webhook = h
		}
		fail := func(f adaptertest.Failure) {
			e.api.mu.Lock()
			defer e.api.mu.Unlock()
			answer := map[adaptertest.Failure]string{
				adaptertest.RateLimited: apiErr(429, "Too Many Requests: retry after 3", map[string]any{"retry_after": 3}),
				adaptertest.ServerError: apiErr(502, "Bad Gateway", nil),
				adaptertest.Unreachable: apiErr(403, "Forbidden: bot can't initiate conversation with a user", nil),
			}[f]
			status := map[adaptertest.Failure]int{adaptertest.RateLimited: 429, adaptertest.ServerError: 502, adaptertest.Unreachable: 403}[f]
			if f == 0 {
				delete(e.api.override, "sendMessage")
				return
			}
			e.api.override["sendMessage"] = func(url.Values) (int, string) { return status, answer }
		}
		return &adaptertest.Harness{
			Platform: telegram.Platform(), Adapter: e.ad, Group: "telegram:" + group, Member: bot.Member{ID: "5", Name: "Alice"},
			Deliver: func(t testing.TB, n int) {
				r := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(msgUpdate(n, 10+n, 5, "Alice", "hello", "")))
				r.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret-token")
				w := httptest.NewRecorder()
				webhook.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Fatalf("webhook answered %d", w.Code)
				}
			},
			Fail: fail,
		}
	})
}
