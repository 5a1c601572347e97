package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/qunbot/qunbot/bot"
)

// A text over Telegram's limit goes in parts (the fake Bot API refuses
// more than 4096 characters, as Telegram does): the reply on the first,
// the buttons on the last, the parts named in the result.
func TestLongMessageGoesInParts(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	g := "telegram:" + group
	var lines []string
	for i := range 300 {
		lines = append(lines, fmt.Sprintf("%03d. Ann <3 signed up for the meetup ✓", i))
	}
	text := strings.Join(lines, "\n")
	res, err := e.ad.Do(ctx, bot.Action{Type: bot.ActSend, Chat: g, Text: text, ReplyTo: "10",
		Member: bot.Member{ID: "42", Name: "Ann <3"}, Buttons: [][]bot.ButtonSpec{{{Text: "Join", Data: "ev:join"}}}})
	if err != nil {
		t.Fatal(err)
	}
	calls := e.api.take()
	if got := methods(calls); got != "sendMessage sendMessage sendMessage" {
		t.Fatalf("calls %q for a %d-character text", got, len([]rune(text)))
	}
	var got []string
	for i, c := range calls {
		if (c.Params.Get("reply_to_message_id") != "") != (i == 0) || (c.Params.Get("reply_markup") != "") != (i == 2) {
			t.Errorf("part %d: reply %q, buttons %q", i, c.Params.Get("reply_to_message_id"), c.Params.Get("reply_markup"))
		}
		got = append(got, html.UnescapeString(strings.ReplaceAll(strings.ReplaceAll(c.Params.Get("text"), `<a href="tg://user?id=42">`, ""), "</a>", "")))
	}
	if strings.Join(got, "") != text {
		t.Error("the parts do not make up the text")
	}
	if !strings.Contains(calls[0].Params.Get("text"), `<a href="tg://user?id=42">Ann &lt;3</a>`) {
		t.Error("the member is no longer linked")
	}
	if len(res.Earlier) != 2 || res.MessageID == "" || res.Earlier[0] == res.MessageID {
		t.Errorf("result %+v: the last part and two earlier ones", res)
	}

	// a caption of 700 emoji is 1,400 units: over the caption limit though
	// under 1,024 characters, so it goes as a message with the picture as
	// its preview rather than be refused
	if _, err := e.ad.Do(ctx, bot.Action{Type: bot.ActSend, Chat: g, Text: strings.Repeat("🎉", 700), Image: "https://example.com/a.jpg"}); err != nil {
		t.Fatal(err)
	}
	if got := methods(e.api.take()); got != "sendMessage" {
		t.Errorf("a long emoji caption: %q", got)
	}
}

// A 429 on a later part: the outbox retries the action, and the retry
// sends only the parts not yet sent (recorded in Redis), so nothing shows
// twice.
func TestLongMessageResumesAfterTooManyRequests(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	g := "telegram:" + group
	text := strings.Repeat("a line of the event roster\n", 400) // 10,800 characters: three parts
	act := bot.Action{Type: bot.ActSend, Chat: g, Text: text, Origin: "telegram:" + group + "/tg:7#0"}
	n := 0
	e.api.override["sendMessage"] = func(p url.Values) (int, string) {
		n++
		if n == 2 {
			return 429, apiErr(429, "Too Many Requests: retry after 3", map[string]any{"retry_after": 3})
		}
		return 200, e.api.answer("sendMessage", p)
	}
	_, err := e.ad.Do(ctx, act)
	var ra *bot.RetryAfterError
	if !errors.As(err, &ra) {
		t.Fatalf("the 429 on part 2: %v", err)
	}
	first := e.api.take()
	res, err := e.ad.Do(ctx, act) // the outbox's retry
	if err != nil {
		t.Fatal(err)
	}
	second := e.api.take()
	if len(first) != 2 || len(second) != 2 {
		t.Fatalf("calls: %d then %d, want 2 (one refused) then the remaining 2", len(first), len(second))
	}
	var got []string
	for _, c := range []apiCall{first[0], second[0], second[1]} {
		got = append(got, c.Params.Get("text"))
	}
	if strings.Join(got, "") != text {
		t.Error("the parts sent do not make up the text once")
	}
	if len(res.Earlier) != 2 {
		t.Errorf("result %+v: the first part's id kept from before the retry", res)
	}
	// done: the same text sent again later goes whole
	if _, err := e.ad.Do(ctx, act); err != nil {
		t.Fatal(err)
	}
	if calls := e.api.take(); len(calls) != 3 {
		t.Errorf("a repeat after completion sent %d parts, want 3", len(calls))
	}
}
