package telegram_test

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// fakeAPI is a Bot API server on loopback speaking the real wire format:
// form-encoded requests to /bot<token>/<method>, {"ok":...} JSON answers.
type fakeAPI struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	calls    []apiCall
	uploads  [][]byte // files uploaded (multipart), in order
	updates  []string // JSON updates, each with its update_id
	nextMsg  int
	admins   map[string][]int64 // chat id → admin user ids
	perms    map[string]string  // chat id → permissions as setChatPermissions left them (JSON)
	linked   map[string]int64   // chat id → its linked channel (getChat's linked_chat_id)
	override map[string]func(p url.Values) (int, string)
	polls    int

	// enforce makes sendMessage answer 429 past Telegram's limits: 30
	// messages/s overall, 20/min per group, 1/s per private chat.
	enforce  bool
	sentAll  []time.Time
	sentChat map[string][]time.Time
	tooMany  int
}

// within counts times after now-window.
func within(ts []time.Time, now time.Time, window time.Duration) int {
	n := 0
	for i := len(ts) - 1; i >= 0 && now.Sub(ts[i]) < window; i-- {
		n++
	}
	return n
}

// limit reports the retry_after for a send that breaks a limit, or 0.
func (f *fakeAPI) limit(chat string) int {
	now := time.Now()
	if within(f.sentAll, now, time.Second) >= 30 {
		return 1
	}
	window, max := time.Second, 1
	if strings.HasPrefix(chat, "-") {
		window, max = time.Minute, 20
	}
	if within(f.sentChat[chat], now, window) >= max {
		return int(window / time.Second)
	}
	f.sentAll = append(f.sentAll, now)
	f.sentChat[chat] = append(f.sentChat[chat], now)
	return 0
}

type apiCall struct {
	Method string
	Params url.Values
	At     time.Time
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{token: "123:TEST", admins: map[string][]int64{}, perms: map[string]string{}, linked: map[string]int64{}, override: map[string]func(url.Values) (int, string){}, nextMsg: 100,
		sentChat: map[string][]time.Time{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func ok(result any) string {
	b, _ := json.Marshal(map[string]any{"ok": true, "result": result})
	return string(b)
}

func apiErr(code int, desc string, params map[string]any) string {
	m := map[string]any{"ok": false, "error_code": code, "description": desc}
	if params != nil {
		m["parameters"] = params
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + f.token + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, apiErr(404, "Not Found", nil))
		return
	}
	method := strings.TrimPrefix(r.URL.Path, prefix)
	var upload []byte
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		// a file upload (sendPhoto with a picture qunbot drew): the Bot
		// API takes the file as a part named after the parameter
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, apiErr(400, "Bad Request: "+err.Error(), nil))
			return
		}
		for _, field := range []string{"photo", "document"} {
			if fh := r.MultipartForm.File[field]; len(fh) > 0 {
				file, _ := fh[0].Open()
				upload, _ = io.ReadAll(file)
				file.Close()
			}
		}
	} else {
		_ = r.ParseForm()
	}
	f.mu.Lock()
	if upload != nil {
		f.uploads = append(f.uploads, upload)
	}
	f.calls = append(f.calls, apiCall{Method: method, Params: r.PostForm, At: time.Now()})
	fn := f.override[method]
	if method == "sendMessage" && f.enforce {
		if after := f.limit(r.PostForm.Get("chat_id")); after > 0 {
			f.tooMany++
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, apiErr(429, fmt.Sprintf("Too Many Requests: retry after %d", after), map[string]any{"retry_after": after}))
			return
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fn != nil {
		code, body := fn(r.PostForm)
		w.WriteHeader(code)
		fmt.Fprint(w, body)
		return
	}
	fmt.Fprint(w, f.answer(method, r.PostForm))
}

func (f *fakeAPI) answer(method string, p url.Values) string {
	switch method {
	case "getMe":
		return ok(map[string]any{"id": 999, "is_bot": true, "first_name": "Qun", "username": "qunbot"})
	case "getUpdates":
		offset, _ := strconv.Atoi(p.Get("offset"))
		for i := 0; i < 5; i++ {
			f.mu.Lock()
			f.polls++
			var out []json.RawMessage
			for _, u := range f.updates {
				var head struct {
					UpdateID int `json:"update_id"`
				}
				_ = json.Unmarshal([]byte(u), &head)
				if head.UpdateID >= offset {
					out = append(out, json.RawMessage(u))
				}
			}
			f.mu.Unlock()
			if len(out) > 0 {
				return ok(out)
			}
			time.Sleep(10 * time.Millisecond) // a short long-poll
		}
		return ok([]any{})
	case "sendPoll": // Bot API: returns the sent Message, with its Poll
		f.mu.Lock()
		f.nextMsg++
		id := f.nextMsg
		f.mu.Unlock()
		cid, _ := strconv.ParseInt(p.Get("chat_id"), 10, 64)
		var opts []map[string]any
		_ = json.Unmarshal([]byte(p.Get("options")), &opts)
		for _, o := range opts {
			o["voter_count"] = 0
		}
		return ok(map[string]any{"message_id": id, "date": 1767600000, "chat": map[string]any{"id": cid, "type": "supergroup"},
			"poll": map[string]any{"id": "poll-" + strconv.Itoa(id), "question": p.Get("question"), "options": opts, "total_voter_count": 0,
				"is_closed": false, "is_anonymous": p.Get("is_anonymous") == "true", "type": "regular", "allows_multiple_answers": p.Get("allows_multiple_answers") == "true"}})
	case "setChatPermissions":
		f.mu.Lock()
		f.perms[p.Get("chat_id")] = p.Get("permissions")
		f.mu.Unlock()
		return ok(true)
	case "sendMessage", "sendPhoto", "sendDocument":
		// the Bot API's limits, counted after entities parsing in UTF-16
		// code units: text 1-4096, caption 0-1024
		if method == "sendMessage" {
			switch n := visibleLen(p.Get("text"), p.Get("parse_mode")); {
			case n == 0:
				return apiErr(400, "Bad Request: message text is empty", nil)
			case n > 4096:
				return apiErr(400, "Bad Request: message is too long", nil)
			}
		} else if visibleLen(p.Get("caption"), p.Get("parse_mode")) > 1024 {
			return apiErr(400, "Bad Request: message caption is too long", nil)
		}
		f.mu.Lock()
		f.nextMsg++
		id := f.nextMsg
		f.mu.Unlock()
		cid, _ := strconv.ParseInt(p.Get("chat_id"), 10, 64)
		return ok(map[string]any{"message_id": id, "date": 1767600000, "chat": map[string]any{"id": cid, "type": "supergroup"}, "text": p.Get("text")})
	case "getChatMemberCount": // Bot API: returns Integer
		if p.Get("chat_id") == "" {
			return apiErr(400, "Bad Request: chat_id is empty", nil)
		}
		return ok(1234)
	case "getChatAdministrators":
		f.mu.Lock()
		ids := f.admins[p.Get("chat_id")]
		f.mu.Unlock()
		var list []any
		for _, id := range ids {
			list = append(list, map[string]any{"status": "administrator", "user": map[string]any{"id": id, "is_bot": false, "first_name": "Admin"}})
		}
		return ok(list)
	case "getChat":
		cid, _ := strconv.ParseInt(p.Get("chat_id"), 10, 64)
		var perms any = map[string]any{"can_send_messages": true, "can_send_media_messages": true, "can_invite_users": true}
		f.mu.Lock()
		if raw, set := f.perms[p.Get("chat_id")]; set {
			perms = json.RawMessage(raw)
		}
		info := map[string]any{"id": cid, "type": "supergroup", "title": "G", "permissions": perms}
		if l := f.linked[p.Get("chat_id")]; l != 0 {
			info["linked_chat_id"] = l
		}
		f.mu.Unlock()
		return ok(info)
	case "createChatInviteLink":
		return ok(map[string]any{"invite_link": "https://t.me/+abcDEF", "name": p.Get("name"), "creator": map[string]any{"id": 999}})
	}
	return ok(true)
}

func (f *fakeAPI) push(updates ...string) {
	f.mu.Lock()
	f.updates = append(f.updates, updates...)
	f.mu.Unlock()
}

// take returns the calls made since the last take, without the background
// getUpdates/getMe/getChatAdministrators traffic.
func (f *fakeAPI) take() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		switch c.Method {
		case "getUpdates", "getMe", "getChatAdministrators", "deleteWebhook":
			continue
		}
		out = append(out, c)
	}
	f.calls = nil
	return out
}

func methods(calls []apiCall) string {
	var s []string
	for _, c := range calls {
		s = append(s, c.Method)
	}
	return strings.Join(s, " ")
}

var htmlTag = regexp.MustCompile(`<[^>]*>`)

// visibleLen is a text's length as the Bot API counts it: after entities
// parsing (HTML tags gone, entities one character), in UTF-16 code units,
// surrounding white space trimmed.
func visibleLen(text, parseMode string) int {
	if parseMode == "HTML" {
		text = html.UnescapeString(htmlTag.ReplaceAllString(text, ""))
	}
	return len(utf16.Encode([]rune(strings.TrimSpace(text))))
}

// deletedIDs are the message ids the calls deleted, by deleteMessage or
// in batches by deleteMessages, in order.
func deletedIDs(calls []apiCall) []string {
	var out []string
	for _, c := range calls {
		switch c.Method {
		case "deleteMessage":
			out = append(out, c.Params.Get("message_id"))
		case "deleteMessages":
			var ids []int64
			_ = json.Unmarshal([]byte(c.Params.Get("message_ids")), &ids)
			for _, id := range ids {
				out = append(out, strconv.FormatInt(id, 10))
			}
		}
	}
	return out
}

// wasDeleted counts the calls' deletions of one message.
func wasDeleted(calls []apiCall, id string) int {
	n := 0
	for _, d := range deletedIDs(calls) {
		if d == id {
			n++
		}
	}
	return n
}
