package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// botAPI is a Telegram Bot API on loopback, written from the published
// documents (core.telegram.org/bots/api), not from the adapter: requests to
// /bot<token>/<method> as form or JSON, {"ok":...} answers, getUpdates
// with offset confirmation and long polling, 409 to the older of two
// concurrent getUpdates calls and to getUpdates while a webhook is set,
// 404 for methods it does not know.
type botAPI struct {
	token string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when updates arrive or a poll is superseded
	updates [][]byte      // updates[i] is update_id i+1
	avail   int           // updates made available so far
	acked   int           // getUpdates confirmed every update_id <= acked
	pollGen int           // the newest getUpdates call
	webhook string
	sent    map[sentKey]int // (chat, reply_to_message_id) → sendMessage calls
	sends   int
	unknown map[string]int
	lastMsg time.Time
	nextMsg int
}

type sentKey struct {
	chat    string
	replyTo int
}

func newBotAPI(token string, updates [][]byte) *botAPI {
	return &botAPI{token: token, updates: updates, changed: make(chan struct{}),
		sent: map[sentKey]int{}, unknown: map[string]int{}, nextMsg: 1 << 30}
}

// release makes n more updates available.
func (b *botAPI) release(n int) {
	b.mu.Lock()
	b.avail = min(b.avail+n, len(b.updates))
	b.wake()
	b.mu.Unlock()
}

func (b *botAPI) wake() {
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *botAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/bot" + b.token + "/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		reply(w, 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	method := strings.TrimPrefix(r.URL.Path, prefix)
	p, err := params(r)
	if err != nil {
		reply(w, 400, fmt.Sprintf(`{"ok":false,"error_code":400,"description":%q}`, "Bad Request: "+err.Error()))
		return
	}
	switch method {
	case "getMe":
		reply(w, 200, `{"ok":true,"result":{"id":999,"is_bot":true,"first_name":"Q","username":"qunbot_chaos_bot","can_join_groups":true,"can_read_all_group_messages":true}}`)
	case "getUpdates":
		b.getUpdates(w, r, p)
	case "setWebhook":
		b.mu.Lock()
		b.webhook = p.Get("url")
		b.wake()
		b.mu.Unlock()
		reply(w, 200, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	case "deleteWebhook":
		b.mu.Lock()
		b.webhook = ""
		b.mu.Unlock()
		reply(w, 200, `{"ok":true,"result":true,"description":"Webhook is already deleted"}`)
	case "sendMessage":
		chat := p.Get("chat_id")
		to, _ := strconv.Atoi(p.Get("reply_to_message_id"))
		if rp := p.Get("reply_parameters"); rp != "" {
			var v struct {
				MessageID int `json:"message_id"`
			}
			_ = json.Unmarshal([]byte(rp), &v)
			to = v.MessageID
		}
		b.mu.Lock()
		b.sent[sentKey{chat, to}]++
		b.sends++
		b.lastMsg = time.Now()
		b.nextMsg++
		id := b.nextMsg
		b.mu.Unlock()
		reply(w, 200, fmt.Sprintf(`{"ok":true,"result":{"message_id":%d,"date":%d,"chat":{"id":%s,"type":"supergroup","title":"G"},"text":%q}}`,
			id, time.Now().Unix(), chat, p.Get("text")))
	case "getChatAdministrators":
		reply(w, 200, `{"ok":true,"result":[{"status":"creator","user":{"id":1,"is_bot":false,"first_name":"Owner"}}]}`)
	case "getChatMemberCount":
		reply(w, 200, `{"ok":true,"result":50}`)
	case "getChat":
		reply(w, 200, fmt.Sprintf(`{"ok":true,"result":{"id":%s,"type":"supergroup","title":"G"}}`, p.Get("chat_id")))
	case "deleteMessage", "restrictChatMember", "banChatMember", "unbanChatMember", "pinChatMessage",
		"approveChatJoinRequest", "declineChatJoinRequest", "answerCallbackQuery", "setMyCommands":
		reply(w, 200, `{"ok":true,"result":true}`)
	default:
		b.mu.Lock()
		b.unknown[method]++
		b.mu.Unlock()
		reply(w, 404, `{"ok":false,"error_code":404,"description":"Not Found"}`)
	}
}

// getUpdates confirms updates below offset, then answers with the
// available ones from there, waiting up to timeout seconds for some. A
// newer call ends an open one with 409, as Telegram does.
func (b *botAPI) getUpdates(w http.ResponseWriter, r *http.Request, p url.Values) {
	offset, _ := strconv.Atoi(p.Get("offset"))
	limit, _ := strconv.Atoi(p.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(p.Get("timeout"))
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)

	b.mu.Lock()
	if b.webhook != "" {
		b.mu.Unlock()
		reply(w, 409, `{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}`)
		return
	}
	if offset-1 > b.acked {
		b.acked = min(offset-1, b.avail)
	}
	b.pollGen++
	gen := b.pollGen
	b.wake()
	for {
		if gen != b.pollGen {
			b.mu.Unlock()
			reply(w, 409, `{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}`)
			return
		}
		from := max(offset, b.acked+1) // update ids are 1-based
		if from <= b.avail || time.Now().After(deadline) {
			var out []string
			for id := from; id <= b.avail && len(out) < limit; id++ {
				out = append(out, string(b.updates[id-1]))
			}
			b.mu.Unlock()
			reply(w, 200, `{"ok":true,"result":[`+strings.Join(out, ",")+`]}`)
			return
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
		case <-r.Context().Done():
			return
		}
		b.mu.Lock()
	}
}

func params(r *http.Request) (url.Values, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("can't parse JSON: %w", err)
		}
		v := url.Values{}
		for k, x := range m {
			switch x := x.(type) {
			case string:
				v.Set(k, x)
			default:
				b, _ := json.Marshal(x)
				v.Set(k, string(b))
			}
		}
		return v, nil
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		return nil, err
	}
	return r.Form, nil
}

func reply(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// pollAcked is how many updates a poller confirmed (a later getUpdates
// offset); available is how many were offered.
func (b *botAPI) pollAcked() (acked, available int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.acked, b.avail
}

// replies copies the sendMessage count per (chat, reply-to).
func (b *botAPI) replies() (map[sentKey]int, int, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[sentKey]int, len(b.sent))
	for k, v := range b.sent {
		out[k] = v
	}
	return out, b.sends, b.lastMsg
}
