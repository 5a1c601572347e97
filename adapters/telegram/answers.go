package telegram

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// plainAnswers turns an HTTP error whose body is not a Bot API answer — a
// proxy's HTML page, a wrong api_url's 404, an emulator's
// {"message": "API method 'banChatMember' is not supported"} — into one
// that says what happened. telegram-bot-api/v5 reads every body as a Bot
// API answer: a JSON object without "ok" became an error with code 0 and
// no description ("telegram banChatMember (chat …): 0 "), and a body that
// is not JSON a decoding error that names neither the status nor the
// server's words.
//
// The errors keep their classes: a server error without a readable body
// (502, 503, 504, a 500 page) and 429 stay temporary (their status is the
// error code, see mapError); a JSON answer that is not the Bot API's, and
// any other status, is permanent (code 0), as before — a method an
// emulator or proxy does not serve must fail at once, not be retried for
// a minute while the chat's other actions wait.
type plainAnswers struct{ base http.RoundTripper }

// maxErrorBody is as much of an error answer as is read: a Bot API error
// is a few hundred bytes, a proxy's page a few kilobytes.
const maxErrorBody = 64 << 10

func (t plainAnswers) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read the answer to HTTP %s: %w", resp.Status, err)
	}
	var probe struct {
		OK      *bool  `json:"ok"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	isJSON := json.Unmarshal(body, &probe) == nil
	if isJSON && probe.OK != nil {
		resp.Body = io.NopCloser(bytes.NewReader(body)) // the Bot API's own
		return resp, nil
	}
	said := probe.Message
	if said == "" {
		said = probe.Error
	}
	if said == "" {
		said = string(body)
	}
	said = excerpt([]byte(said), 200)
	code := 0
	if !isJSON && resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		code = resp.StatusCode
	}
	desc := "HTTP " + resp.Status + " (not a Bot API answer)"
	if said != "" {
		desc += ": " + said
	}
	out, _ := json.Marshal(map[string]any{"ok": false, "error_code": code, "description": desc})
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}

// excerpt is the start of a body as one line of valid UTF-8.
func excerpt(b []byte, max int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
