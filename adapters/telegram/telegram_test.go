package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/chart"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

const group = "-1001234"

type sink struct {
	mu     sync.Mutex
	events []bot.Event
	fail   func(ev bot.Event) error
}

func (s *sink) HandleEvent(_ context.Context, ev bot.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(ev); err != nil {
			return err
		}
	}
	s.events = append(s.events, ev)
	return nil
}

func (s *sink) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		w := string(e.Kind) + ":" + e.Member.ID
		if e.Command != nil {
			w += ":/" + e.Command.Name
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

type env struct {
	api   *fakeAPI
	cfg   *telegram.Config
	store *state.Store
	ad    *telegram.Adapter
}

func setup(t testing.TB, prefix ...string) *env {
	t.Helper()
	api := newFakeAPI(t)
	cfg := &telegram.Config{}
	cfg.SetDefaults()
	cfg.Token = config.Secret(api.token)
	cfg.APIURL = api.srv.URL
	cfg.PollTimeout = config.Duration(time.Second)
	cfg.Webhook.Secret = "s3cret-token"
	cfg.Webhook.MaxBody = 4096
	c, p := redistest.Client(t)
	if len(prefix) > 0 {
		p = prefix[0]
	}
	store := state.New(c, p)
	api.admins[group] = []int64{7}
	ad := telegram.New(telegram.Options{Config: cfg, Store: store})
	return &env{api: api, cfg: cfg, store: store, ad: ad}
}

func user(id int, name string) string {
	return fmt.Sprintf(`{"id":%d,"is_bot":false,"first_name":%q,"username":%q}`, id, name, strings.ToLower(name))
}

func chatJSON() string { return `{"id":` + group + `,"type":"supergroup","title":"Coffee <Club>"}` }

func msgUpdate(uid, mid, from int, name, text string, extra string) string {
	return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1767600000,"chat":%s,"from":%s,"text":%q%s}}`,
		uid, mid, chatJSON(), user(from, name), text, extra)
}

func memberUpdate(uid, id int, name, oldStatus, newStatus string) string {
	return fmt.Sprintf(`{"update_id":%d,"chat_member":{"chat":%s,"from":%s,"date":1767600000,
		"old_chat_member":{"status":%q,"user":%s},"new_chat_member":{"status":%q,"user":%s}}}`,
		uid, chatJSON(), user(id, name), oldStatus, user(id, name), newStatus, user(id, name))
}

func runFor(t *testing.T, e *env, s bot.EventSink, until func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.ad.Run(ctx, s); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !until() {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestTranslateUpdates(t *testing.T) {
	tests := []struct {
		name    string
		updates []string
		want    string
	}{
		{"message", []string{msgUpdate(1, 10, 5, "Alice", "hello", "")}, "message:5"},
		{"command to us", []string{msgUpdate(1, 10, 5, "Alice", "/help@qunbot x", `,"entities":[{"type":"bot_command","offset":0,"length":12}]`)}, "message:5:/help"},
		{"command to another bot", []string{msgUpdate(1, 10, 5, "Alice", "/help@otherbot", `,"entities":[{"type":"bot_command","offset":0,"length":14}]`)}, "message:5"},
		{"join twice: chat_member and service message", []string{
			memberUpdate(1, 6, "Bob", "left", "member"),
			fmt.Sprintf(`{"update_id":2,"message":{"message_id":11,"date":1767600000,"chat":%s,"from":%s,"new_chat_members":[%s]}}`, chatJSON(), user(6, "Bob"), user(6, "Bob")),
		}, "join:6 service:6"}, // the join once; the notice, to clean away
		{"join, leave, join", []string{
			memberUpdate(1, 6, "Bob", "left", "member"),
			memberUpdate(2, 6, "Bob", "member", "left"),
			fmt.Sprintf(`{"update_id":3,"message":{"message_id":12,"date":1767600000,"chat":%s,"from":%s,"left_chat_member":%s}}`, chatJSON(), user(6, "Bob"), user(6, "Bob")),
			memberUpdate(4, 6, "Bob", "left", "member"),
		}, "join:6 leave:6 service:6 join:6"},
		{"promotion is not a join", []string{memberUpdate(1, 6, "Bob", "member", "administrator")}, ""},
		{"join request", []string{fmt.Sprintf(`{"update_id":1,"chat_join_request":{"chat":%s,"from":%s,"date":1767600000}}`, chatJSON(), user(8, "Cy"))}, "join_request:8"},
		{"button", []string{fmt.Sprintf(`{"update_id":1,"callback_query":{"id":"cb1","from":%s,"data":"verify:5:2","message":{"message_id":10,"date":1767600000,"chat":%s}}}`, user(5, "Alice"), chatJSON())}, "button:5"},
		{"unknown update kind", []string{`{"update_id":1,"poll":{"id":"x"}}`}, ""},
		{"channel post without sender", []string{`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":-100,"type":"channel"}}}`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.api.push(tt.updates...)
			s := &sink{}
			runFor(t, e, s, func() bool { return e.api.pollsAtLeast(2) })
			if got := s.summary(); got != tt.want {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

// A join's source, as the Bot API reports the invite link (ChatInviteLink
// in chat_member and chat_join_request): a named link by its name, the
// bot's own personal links (named "qb:<id> <name>") as members' invites,
// an unnamed or cut-short link as the group's link, a member added by
// someone (chat_member's from, or the service message's) as added.
func TestJoinSource(t *testing.T) {
	link := func(name string) string {
		return fmt.Sprintf(`,"invite_link":{"invite_link":"https://t.me/+AbC…","creator":%s,"creates_join_request":false,"is_primary":false,"is_revoked":false%s}`,
			user(1, "Owner"), name)
	}
	join := func(from int, extra string) string {
		return fmt.Sprintf(`{"update_id":1,"chat_member":{"chat":%s,"from":%s,"date":1767600000,
			"old_chat_member":{"status":"left","user":%s},"new_chat_member":{"status":"member","user":%s}%s}}`,
			chatJSON(), user(from, "X"), user(6, "Bob"), user(6, "Bob"), extra)
	}
	tests := []struct {
		name, update, want string
	}{
		{"a named link", join(6, link(`,"name":"poster-a"`)), "poster-a"},
		{"a member's personal link", join(6, link(`,"name":"qb:5 Alice"`)), bot.SourceInvite},
		{"an unnamed link", join(6, link("")), bot.SourceLink},
		{"added by an admin", join(1, ""), bot.SourceAdded},
		{"by the group's public name", join(6, ""), ""},
		{"added, by the service message", fmt.Sprintf(`{"update_id":1,"message":{"message_id":11,"date":1767600000,"chat":%s,"from":%s,"new_chat_members":[%s]}}`,
			chatJSON(), user(5, "Alice"), user(6, "Bob")), bot.SourceAdded},
		{"a join request through a named link", fmt.Sprintf(`{"update_id":1,"chat_join_request":{"chat":%s,"from":%s,"date":1767600000%s}}`,
			chatJSON(), user(8, "Cy"), link(`,"name":"partner-b"`)), "partner-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.api.push(tt.update)
			s := &sink{}
			runFor(t, e, s, func() bool { return e.api.pollsAtLeast(2) })
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.events) == 0 || (s.events[0].Kind != bot.EventJoin && s.events[0].Kind != bot.EventJoinRequest) {
				t.Fatalf("no join: %+v", s.events)
			}
			if got := s.events[0].Source; got != tt.want {
				t.Errorf("source %q, want %q", got, tt.want)
			}
		})
	}
}

// When the service message of a join comes first, it knows no link; the
// chat_member update after it is not a second join, but its link and
// source reach the member's record.
func TestJoinLinkArrivingLate(t *testing.T) {
	e := setup(t)
	service := fmt.Sprintf(`{"update_id":1,"message":{"message_id":11,"date":1767600000,"chat":%s,"from":%s,"new_chat_members":[%s]}}`,
		chatJSON(), user(6, "Bob"), user(6, "Bob"))
	member := fmt.Sprintf(`{"update_id":2,"chat_member":{"chat":%s,"from":%s,"date":1767600000,
		"old_chat_member":{"status":"left","user":%s},"new_chat_member":{"status":"member","user":%s},
		"invite_link":{"invite_link":"https://t.me/+AbCdEf","creator":%s,"creates_join_request":false,"is_primary":false,"is_revoked":false,"name":"poster-a"}}}`,
		chatJSON(), user(6, "Bob"), user(6, "Bob"), user(6, "Bob"), user(1, "Owner"))
	e.api.push(service, member)
	s := &sink{}
	runFor(t, e, s, func() bool { return e.api.pollsAtLeast(2) })
	if got := s.summary(); got != "join:6 service:6" {
		t.Fatalf("events %q: the join once", got)
	}
	m, err := e.store.Member(context.Background(), "telegram:"+group, "6")
	if err != nil || m.Fields["join_link"] != "https://t.me/+AbCdEf" || m.Fields["join_src"] != "poster-a" {
		t.Fatalf("the late link did not reach the record: %v %v", m, err)
	}
}

func (f *fakeAPI) pollsAtLeast(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls >= n*5 // every getUpdates call makes up to five passes
}

func TestMessageDetails(t *testing.T) {
	e := setup(t)
	text := "看 https://x.example 和 @bob"
	// offsets count UTF-16 units: 看 is one, so the URL starts at 2
	e.api.push(msgUpdate(1, 10, 7, "Ann", text, `,"entities":[{"type":"url","offset":2,"length":17},{"type":"mention","offset":22,"length":4},{"type":"text_link","offset":0,"length":1,"url":"https://hidden.example"}],"forward_from_chat":{"id":-100555,"type":"channel","title":"Ads"},"reply_to_message":{"message_id":9,"date":1,"chat":`+chatJSON()+`,"from":`+user(5, "Alice")+`,"text":"orig"}`))
	s := &sink{}
	runFor(t, e, s, func() bool { return s.count() == 1 })
	ev := s.events[0]
	if strings.Join(ev.Links, ",") != "https://x.example,https://hidden.example" || strings.Join(ev.Mentions, ",") != "bob" {
		t.Errorf("links %v mentions %v", ev.Links, ev.Mentions)
	}
	if ev.Forward == nil || ev.Forward.FromChat != "telegram:-100555" || ev.ReplyTo == nil || ev.ReplyTo.Member.ID != "5" {
		t.Errorf("forward %+v reply %+v", ev.Forward, ev.ReplyTo)
	}
	if !ev.Member.IsAdmin || ev.Chat.Key != "telegram:"+group || ev.Chat.Title != "Coffee <Club>" {
		t.Errorf("member %+v chat %+v", ev.Member, ev.Chat)
	}
}

// A member's message sent via an inline bot: the bot's name, and its
// keyboard's buttons, whose URLs are links behind text (the wire format of
// the Bot API's Message.via_bot and reply_markup).
func TestInlineBotMessage(t *testing.T) {
	e := setup(t)
	e.api.push(msgUpdate(1, 10, 7, "Ann", "今日福利", `,"via_bot":{"id":99,"is_bot":true,"first_name":"Promo","username":"promo_bot"},`+
		`"reply_markup":{"inline_keyboard":[[{"text":"进群领取","url":"https://t.me/+AbCdEf"},{"text":"👍","callback_data":"like"}],[{"text":"官网","url":"https://casino.example/r"}]]}`),
		msgUpdate(2, 11, 7, "Ann", "plain", ""))
	s := &sink{}
	runFor(t, e, s, func() bool { return s.count() == 2 })
	ev := s.events[0]
	if ev.ViaBot != "promo_bot" || strings.Join(ev.Buttons, ",") != "进群领取,👍,官网" {
		t.Errorf("via %q buttons %q", ev.ViaBot, ev.Buttons)
	}
	if want := "https://t.me/+AbCdEf,https://casino.example/r"; strings.Join(ev.Links, ",") != want || strings.Join(ev.HiddenLinks, ",") != want {
		t.Errorf("links %v hidden %v", ev.Links, ev.HiddenLinks)
	}
	if plain := s.events[1]; plain.ViaBot != "" || plain.Buttons != nil || plain.Links != nil {
		t.Errorf("a plain message: %+v", plain)
	}
}

// The offset moves past an update only after it was handled: a failure
// fetches the same update again, and nothing is lost.
func TestPollingCommitsOffsetAfterHandling(t *testing.T) {
	e := setup(t)
	e.api.push(msgUpdate(1, 10, 5, "Alice", "one", ""), msgUpdate(2, 11, 5, "Alice", "two", ""), msgUpdate(3, 12, 5, "Alice", "three", ""))
	failed := false
	s := &sink{fail: func(ev bot.Event) error {
		if ev.Text == "two" && !failed {
			failed = true
			return errors.New("redis: connection refused")
		}
		return nil
	}}
	runFor(t, e, s, func() bool { return s.count() == 3 })
	var texts []string
	for _, ev := range s.events {
		texts = append(texts, ev.Text)
	}
	if strings.Join(texts, ",") != "one,two,three" {
		t.Errorf("handled %v", texts)
	}
	// a successor resumes after the last handled update
	e2 := setup(t, e.store.GlobalKey()) // same Redis prefix
	e2.api.push(msgUpdate(1, 10, 5, "Alice", "one", ""), msgUpdate(4, 13, 5, "Alice", "four", ""))
	s2 := &sink{}
	runFor(t, e2, s2, func() bool { return s2.count() >= 1 && e2.api.pollsAtLeast(2) })
	if got := s2.summary(); got != "message:5" || s2.events[0].Text != "four" {
		t.Errorf("successor handled %s (%v)", got, s2.events)
	}
}

// Two replicas polling one token: one polls, one stands by and takes over
// when the first stops.
func TestPollingLeaseStandby(t *testing.T) {
	a := setup(t)
	b := setup(t, a.store.GlobalKey())
	b.api = a.api // the same Bot API
	b.cfg.APIURL = a.cfg.APIURL
	b.ad = telegram.New(telegram.Options{Config: b.cfg, Store: b.store, Instance: "replica-b"})
	sa, sb := &sink{}, &sink{}
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { _ = a.ad.Run(ctxA, sa); close(doneA) }()
	time.Sleep(300 * time.Millisecond)
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneB := make(chan struct{})
	go func() { _ = b.ad.Run(ctxB, sb); close(doneB) }()
	a.api.push(msgUpdate(1, 10, 5, "Alice", "first", ""))
	waitFor(t, func() bool { return sa.count() == 1 })
	stopA()
	<-doneA
	a.api.push(msgUpdate(2, 11, 5, "Alice", "second", ""))
	waitFor(t, func() bool { return sb.count() >= 1 })
	if sb.events[0].Text != "second" || sa.count() != 1 {
		t.Errorf("a got %d, b got %v", sa.count(), sb.events)
	}
	stopB()
	<-doneB
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhook(t *testing.T) {
	e := setup(t)
	e.cfg.Mode = "webhook"
	e.cfg.Webhook.URL = "https://bot.example/telegram"
	h := e.ad.WebhookHandler()
	post := func(secret, body string) int {
		r := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(body))
		if secret != "" {
			r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	good := msgUpdate(1, 10, 5, "Alice", "hi", "")
	tests := []struct {
		name, secret, body string
		code               int
	}{
		{"no secret", "", good, 401},
		{"wrong secret", "guess", good, 401},
		{"too large", "s3cret-token", `{"update_id":2,"message":{"text":"` + strings.Repeat("x", 5000) + `"}}`, 413},
		{"malformed", "s3cret-token", `{"update_id":`, 400},
		{"no update id", "s3cret-token", `{}`, 400},
		{"good", "s3cret-token", good, 200},
	}
	for _, tt := range tests {
		if code := post(tt.secret, tt.body); code != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, code, tt.code)
		}
	}
	s := &sink{}
	runFor(t, e, s, func() bool { return s.count() == 1 })
	if s.summary() != "message:5" {
		t.Errorf("processed %s: only the authenticated update may be", s.summary())
	}
	var set *apiCall
	for _, c := range e.api.take() {
		if c.Method == "setWebhook" {
			set = &c
		}
	}
	if set == nil || set.Params.Get("secret_token") != "s3cret-token" || !strings.Contains(set.Params.Get("allowed_updates"), "chat_member") {
		t.Errorf("setWebhook: %+v", set)
	}
}

func TestActions(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	g := "telegram:" + group
	until := time.Now().Add(2 * time.Hour)
	tests := []struct {
		act     bot.Action
		methods string
		check   func(p []url.Values) string
	}{
		{bot.Action{Type: bot.ActSend, Chat: g, Text: "Hi <b>&", ReplyTo: "10", Buttons: [][]bot.ButtonSpec{{{Text: "Yes", Data: "v:1"}, {Text: "Docs", URL: "https://x"}}}},
			"sendMessage", func(p []url.Values) string {
				if p[0].Get("text") != "Hi &lt;b&gt;&amp;" || p[0].Get("parse_mode") != "HTML" || p[0].Get("reply_to_message_id") != "10" ||
					p[0].Get("reply_markup") != `{"inline_keyboard":[[{"text":"Yes","callback_data":"v:1"},{"text":"Docs","url":"https://x"}]]}` {
					return fmt.Sprint(p[0])
				}
				return ""
			}},
		{bot.Action{Type: bot.ActDM, Chat: g, Member: bot.Member{ID: "5"}, Text: "psst"}, "sendMessage", func(p []url.Values) string {
			if p[0].Get("chat_id") != "5" {
				return fmt.Sprint(p[0])
			}
			return ""
		}},
		{bot.Action{Type: bot.ActSend, Chat: g, Text: "Morning <3", Image: "https://example.com/a.jpg"}, "sendPhoto", func(p []url.Values) string {
			if p[0].Get("photo") != "https://example.com/a.jpg" || p[0].Get("caption") != "Morning &lt;3" || p[0].Get("parse_mode") != "HTML" || p[0].Has("text") {
				return fmt.Sprint(p[0])
			}
			return ""
		}},
		{bot.Action{Type: bot.ActSend, Chat: g, Text: "Welcome Ann <3!", Member: bot.Member{ID: "42", Name: "Ann <3"}}, "sendMessage", func(p []url.Values) string {
			if p[0].Get("text") != `Welcome <a href="tg://user?id=42">Ann &lt;3</a>!` {
				return "a member without a username is mentioned by link: " + p[0].Get("text")
			}
			return ""
		}},
		{bot.Action{Type: bot.ActPin, Chat: g, MessageID: "10"}, "pinChatMessage", func(p []url.Values) string {
			if p[0].Get("message_id") != "10" || p[0].Get("disable_notification") != "true" {
				return fmt.Sprint(p[0])
			}
			return ""
		}},
		{bot.Action{Type: bot.ActDelete, Chat: g, MessageID: "10"}, "deleteMessage", nil},
		{bot.Action{Type: bot.ActRestrict, Chat: g, Member: bot.Member{ID: "5"}, Until: until}, "restrictChatMember", func(p []url.Values) string {
			if p[0].Get("until_date") != fmt.Sprint(until.Unix()) || p[0].Get("permissions") != "{}" {
				return fmt.Sprint(p[0])
			}
			return ""
		}},
		{bot.Action{Type: bot.ActRestrict, Chat: g, Member: bot.Member{ID: "5"}, Until: time.Now().Add(5 * time.Second), AllowText: true}, "restrictChatMember", func(p []url.Values) string {
			if p[0].Get("permissions") != `{"can_send_messages":true}` || p[0].Get("until_date") == "" {
				return "a 5s restriction must be stretched, not made permanent: " + fmt.Sprint(p[0])
			}
			return ""
		}},
		{bot.Action{Type: bot.ActUnrestrict, Chat: g, Member: bot.Member{ID: "5"}}, "getChat restrictChatMember", func(p []url.Values) string {
			if !strings.Contains(p[1].Get("permissions"), `"can_send_media_messages":true`) {
				return "unrestrict must restore the group's defaults: " + fmt.Sprint(p[1])
			}
			return ""
		}},
		{bot.Action{Type: bot.ActKick, Chat: g, Member: bot.Member{ID: "5"}}, "banChatMember unbanChatMember", func(p []url.Values) string {
			if p[1].Get("only_if_banned") != "true" {
				return fmt.Sprint(p[1])
			}
			return ""
		}},
		{bot.Action{Type: bot.ActBan, Chat: g, Member: bot.Member{ID: "5"}}, "banChatMember", nil},
		{bot.Action{Type: bot.ActUnban, Chat: g, Member: bot.Member{ID: "5"}}, "unbanChatMember", nil},
		{bot.Action{Type: bot.ActApprove, Chat: g, Member: bot.Member{ID: "5"}}, "approveChatJoinRequest", nil},
		{bot.Action{Type: bot.ActDecline, Chat: g, Member: bot.Member{ID: "5"}}, "declineChatJoinRequest", nil},
		{bot.Action{Type: bot.ActAnswerPress, Chat: g, CallbackID: "cb1", Text: "not yours"}, "answerCallbackQuery", nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.act.Type), func(t *testing.T) {
			if _, err := e.ad.Do(ctx, tt.act); err != nil {
				t.Fatal(err)
			}
			calls := e.api.take()
			if got := methods(calls); got != tt.methods {
				t.Fatalf("calls %q, want %q", got, tt.methods)
			}
			if tt.check != nil {
				var ps []url.Values
				for _, c := range calls {
					ps = append(ps, c.Params)
				}
				if msg := tt.check(ps); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
	link, err := e.ad.InviteLink(ctx, g, "5", "Alice")
	if err != nil || link != "https://t.me/+abcDEF" {
		t.Errorf("invite link %q %v", link, err)
	}
	// a join source's link carries the source's name, which its joins
	// then report (TestJoinSource)
	e.api.take()
	link, err = e.ad.SourceLink(ctx, g, "poster-a")
	calls := e.api.take()
	if err != nil || link != "https://t.me/+abcDEF" || methods(calls) != "createChatInviteLink" ||
		calls[0].Params.Get("name") != "poster-a" || calls[0].Params.Get("chat_id") != group {
		t.Errorf("source link %q %v %+v", link, err, calls)
	}
}

func TestErrorMapping(t *testing.T) {
	g := "telegram:" + group
	tests := []struct {
		name   string
		status int
		body   string
		act    bot.Action
		check  func(err error) bool
	}{
		{"429", 429, apiErr(429, "Too Many Requests: retry after 7", map[string]any{"retry_after": 7}), bot.Action{Type: bot.ActSend, Chat: g, Text: "x"},
			func(err error) bool {
				var ra *bot.RetryAfterError
				return errors.As(err, &ra) && ra.After == 7*time.Second && !ra.Global
			}},
		{"502", 502, apiErr(502, "Bad Gateway", nil), bot.Action{Type: bot.ActSend, Chat: g, Text: "x"}, func(err error) bool { return errors.Is(err, bot.ErrTemporary) }},
		{"proxy html", 502, "<html>bad gateway</html>", bot.Action{Type: bot.ActSend, Chat: g, Text: "x"}, func(err error) bool { return errors.Is(err, bot.ErrTemporary) }},
		{"dm never started", 403, apiErr(403, "Forbidden: bot can't initiate conversation with a user", nil), bot.Action{Type: bot.ActDM, Member: bot.Member{ID: "5"}, Text: "x"},
			func(err error) bool { return errors.Is(err, bot.ErrUnreachable) }},
		{"bad request", 400, apiErr(400, "Bad Request: message to delete not found", nil), bot.Action{Type: bot.ActDelete, Chat: g, MessageID: "1"},
			func(err error) bool {
				return err != nil && !errors.Is(err, bot.ErrTemporary) && strings.Contains(err.Error(), "deleteMessage") && strings.Contains(err.Error(), g)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.api.override["sendMessage"] = func(url.Values) (int, string) { return tt.status, tt.body }
			e.api.override["deleteMessage"] = e.api.override["sendMessage"]
			_, err := e.ad.Do(context.Background(), tt.act)
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestBotKickedMarksGroupInactive(t *testing.T) {
	e := setup(t)
	g := "telegram:" + group
	e.api.override["sendMessage"] = func(url.Values) (int, string) {
		return 403, apiErr(403, "Forbidden: bot was kicked from the supergroup chat", nil)
	}
	if _, err := e.ad.Do(context.Background(), bot.Action{Type: bot.ActSend, Chat: g, Text: "x"}); !errors.Is(err, telegram.ErrInactive) {
		t.Fatalf("err = %v", err)
	}
	if e.ad.Capabilities(g) != 0 {
		t.Error("an inactive group still reports capabilities")
	}
	e.api.take()
	if _, err := e.ad.Do(context.Background(), bot.Action{Type: bot.ActSend, Chat: g, Text: "y"}); !errors.Is(err, telegram.ErrInactive) {
		t.Errorf("second send: %v", err)
	}
	if calls := e.api.take(); len(calls) != 0 {
		t.Errorf("called the API for an inactive group: %s", methods(calls))
	}
}

func TestMigrationMovesState(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	old := "telegram:-4242"
	if err := e.store.SetFields(ctx, old, "5", map[string]string{"level": "3"}); err != nil {
		t.Fatal(err)
	}
	e.api.push(`{"update_id":1,"message":{"message_id":3,"date":1,"chat":{"id":-4242,"type":"group","title":"Old"},"from":` + user(5, "Alice") + `,"migrate_to_chat_id":-1009999}}`)
	s := &sink{}
	runFor(t, e, s, func() bool { return e.api.pollsAtLeast(2) })
	m, err := e.store.Member(ctx, "telegram:-1009999", "5")
	if err != nil || m.Fields["level"] != "3" {
		t.Errorf("state not moved: %+v %v", m, err)
	}
}

func FuzzWebhookUpdate(f *testing.F) {
	f.Add([]byte(msgUpdate(1, 10, 5, "Alice", "/help@qunbot", `,"entities":[{"type":"bot_command","offset":0,"length":12},{"type":"url","offset":-3,"length":99}]`)))
	f.Add([]byte(memberUpdate(1, 6, "Bob", "left", "member")))
	f.Add([]byte(`{"update_id":1,"callback_query":{"id":"x"}}`))
	f.Add([]byte(`{"update_id":1,"message":{"chat":null,"from":{},"new_chat_members":[{}]}}`))
	e := setup(f)
	e.cfg.Webhook.Secret = "k"
	h := e.ad.WebhookHandler()
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/telegram", bytes.NewReader(body))
		r.Header.Set("X-Telegram-Bot-Api-Secret-Token", "k")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r) // must not panic; 200, 400, 413 or 503
		if c := w.Code; c != 200 && c != 400 && c != 413 && c != 503 {
			t.Fatalf("status %d", c)
		}
	})
}

func TestNetworkErrorsDoNotLeakTheToken(t *testing.T) {
	e := setup(t)
	e.api.srv.Close() // Telegram unreachable
	_, err := e.ad.Do(context.Background(), bot.Action{Type: bot.ActSend, Chat: "telegram:" + group, Text: "x"})
	if !errors.Is(err, bot.ErrTemporary) {
		t.Fatalf("err = %v, want temporary", err)
	}
	if strings.Contains(err.Error(), e.api.token) {
		t.Fatalf("token leaked: %v", err)
	}
}

func (f *fakeAPI) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

// An admin list that cannot be read is not asked for again on every
// message, and a getUpdates that answers at once does not make the
// poller spin.
func TestNoHammeringOnFailure(t *testing.T) {
	e := setup(t)
	e.api.override["getChatAdministrators"] = func(url.Values) (int, string) {
		return 400, apiErr(400, "Bad Request: chat not found", nil)
	}
	for i := 1; i <= 5; i++ {
		e.api.push(msgUpdate(i, 10+i, 5, "Alice", "hi", ""))
	}
	s := &sink{}
	runFor(t, e, s, func() bool { return s.count() == 5 })
	if n := e.api.count("getChatAdministrators"); n > 1 {
		t.Errorf("getChatAdministrators asked %d times for 5 messages", n)
	}

	e2 := setup(t)
	e2.api.override["getUpdates"] = func(url.Values) (int, string) { return 200, ok([]any{}) }
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = e2.ad.Run(ctx, &sink{})
	if n := e2.api.count("getUpdates"); n > 10 { // one a quarter second, not hundreds
		t.Errorf("%d getUpdates in 2s against a server that answers at once", n)
	}
}

// A stopping replica releases the polling lease at once, even while its
// long poll is open, and a malformed update in a batch is skipped while
// the valid ones around it are handled.
func TestPollingStopAndMalformedUpdates(t *testing.T) {
	e := setup(t)
	e.api.push(msgUpdate(1, 11, 5, "Alice", "one", ""),
		`{"update_id":2,"message":{"message_id":12,"date":1767600000,"chat":"nope","text":"bad"}}`,
		msgUpdate(3, 13, 5, "Alice", "three", ""))
	s := &sink{}
	runFor(t, e, s, func() bool { return s.count() == 2 })
	if got := s.summary(); got != "message:5 message:5" {
		t.Fatalf("handled %s", got)
	}

	e2 := setup(t)
	e2.api.override["getUpdates"] = func(url.Values) (int, string) {
		time.Sleep(5 * time.Second) // a long poll that is still open
		return 200, ok([]any{})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e2.ad.Run(ctx, &sink{}); close(done) }()
	lease := e2.store.GlobalKey("{tg:999}", "poller")
	deadline := time.Now().Add(5 * time.Second)
	for e2.store.Client().Exists(context.Background(), lease).Val() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the lease was never taken")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the long poll is open now
	stopped := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1s of stopping")
	}
	if n := e2.store.Client().Exists(context.Background(), lease).Val(); n != 0 {
		t.Error("the lease was not released on stop")
	}
	t.Logf("stopped and released in %v", time.Since(stopped))
}

func TestMemberCount(t *testing.T) {
	e := setup(t)
	n, err := e.ad.MemberCount(context.Background(), "telegram:"+group)
	if err != nil || n != 1234 {
		t.Fatalf("member count %d %v, want 1234", n, err)
	}
	if _, err := e.ad.MemberCount(context.Background(), "telegram:abc"); err == nil {
		t.Fatal("a chat key that is no chat id was counted")
	}
}

// A picture qunbot drew (a report's chart) is uploaded with sendPhoto as
// multipart/form-data, the text as its caption.
func TestUploadsDrawnPicture(t *testing.T) {
	e := setup(t)
	pic, err := chart.Bars("DAU", []string{"01-05", "01-06"}, []int64{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ad.Do(context.Background(), bot.Action{Type: bot.ActSend, Chat: "telegram:" + group, Text: "Weekly report", ImagePNG: pic}); err != nil {
		t.Fatal(err)
	}
	e.api.mu.Lock()
	defer e.api.mu.Unlock()
	if len(e.api.uploads) != 1 || !bytes.Equal(e.api.uploads[0], pic) {
		t.Fatalf("uploads %d, want the chart once", len(e.api.uploads))
	}
	last := e.api.calls[len(e.api.calls)-1]
	if last.Method != "sendPhoto" || last.Params.Get("caption") != "Weekly report" {
		t.Fatalf("last call %s caption %q", last.Method, last.Params.Get("caption"))
	}
}
