package telegram

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

type fixedAnswer struct {
	status int
	body   []byte
}

func (f fixedAnswer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Header: http.Header{},
		Body: io.NopCloser(bytes.NewReader(f.body))}, nil
}

// Whatever an error answer holds, what tgbotapi reads is a Bot API answer:
// the server's own when it was one, else one saying what came.
func FuzzPlainAnswers(f *testing.F) {
	f.Add(500, []byte(`{"message":"API method 'x' is not supported."}`))
	f.Add(502, []byte("<html>bad gateway</html>"))
	f.Add(400, []byte(`{"ok":false,"error_code":400,"description":"Bad Request"}`))
	f.Add(200, []byte(`{"ok":true,"result":[]}`))
	f.Add(404, []byte("\xff\xfe页"))
	f.Add(500, []byte(`{"message":"`+strings.Repeat("长", 500)+`"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		req, _ := http.NewRequest(http.MethodPost, "http://api.example/botT/getMe", nil)
		resp, err := plainAnswers{base: fixedAnswer{status, body}}.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if status < 300 || len(body) <= maxErrorBody && isBotAnswer(body) {
			if !bytes.Equal(got, body) {
				t.Fatalf("a Bot API answer or a success changed: %q → %q", body, got)
			}
			return
		}
		var a struct {
			OK          *bool  `json:"ok"`
			Code        int    `json:"error_code"`
			Description string `json:"description"`
		}
		if err := json.Unmarshal(got, &a); err != nil || a.OK == nil || *a.OK {
			t.Fatalf("not a Bot API error: %q (%v)", got, err)
		}
		if !utf8.ValidString(a.Description) || len(a.Description) > 400 {
			t.Fatalf("description %q", a.Description)
		}
		if a.Code != 0 && a.Code != status {
			t.Fatalf("code %d for HTTP %d", a.Code, status)
		}
	})
}

func isBotAnswer(b []byte) bool {
	var p struct {
		OK *bool `json:"ok"`
	}
	return json.Unmarshal(b, &p) == nil && p.OK != nil
}
