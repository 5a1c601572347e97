package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/scheduler"
)

// command is a group message that is a bot command (with its entity),
// optionally replying to message replyTo of user replyFrom.
func command(uid, mid, from int, name, text string, replyTo, replyFrom int) string {
	word, _, _ := strings.Cut(text, " ")
	extra := fmt.Sprintf(`,"entities":[{"type":"bot_command","offset":0,"length":%d}]`, len(utf16.Encode([]rune(word))))
	if replyTo > 0 {
		extra += fmt.Sprintf(`,"reply_to_message":{"message_id":%d,"date":1767600000,"chat":%s,"from":%s,"text":"earlier"}`,
			replyTo, chatJSON(), user(replyFrom, fmt.Sprintf("U%d", replyFrom)))
	}
	return msgUpdate(uid, mid, from, name, text, extra)
}

// rig is the whole bot on the fake Bot API: the built-in flows with a
// config, the scheduler on a fake clock, the outbox.
type rig struct {
	t     *testing.T
	e     *env
	clock *bot.FakeClock
	sched *scheduler.Scheduler
	ob    *outbox.Outbox
	sink  *engineSink
	want  int
}

func newRig(t *testing.T, e *env, yaml string) *rig {
	t.Helper()
	fl := flows.Builtin()
	cfg, err := config.Parse("t.yaml", []byte(yaml), engine.Schema(fl, platform.Schemas([]platform.Platform{telegram.Platform()})))
	if err != nil {
		t.Fatal(err)
	}
	clock := bot.NewFakeClock(time.Unix(1767600000, 0)) // 2026-01-05 08:00 UTC
	sched := scheduler.New(scheduler.Options{Redis: e.store.Client(), Prefix: e.store.GlobalKey(""), Clock: clock})
	eng, err := engine.New(engine.Options{Store: e.store, Timers: sched, Clock: clock, Flows: fl}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched.Connect(eng, eng)
	ob := outbox.New(e.ad, outbox.Options{Name: "telegram", Limits: config.Limits{Workers: 1}, Clock: clock,
		OnSent: func(ctx context.Context, a bot.Action, r bot.Result) error {
			return eng.AfterSend(ctx, "telegram", a, r)
		},
		OnDone: func(ctx context.Context, a bot.Action, err error) { eng.AfterDone(ctx, a, err) }})
	eng.Attach(e.ad, ob)
	return &rig{t: t, e: e, clock: clock, sched: sched, ob: ob, sink: &engineSink{eng: eng}}
}

// find counts the calls of method whose param is value (any, for "").
func find(calls []apiCall, method, param, value string) int {
	n := 0
	for _, c := range calls {
		if c.Method == method && (param == "" || c.Params.Get(param) == value) {
			n++
		}
	}
	return n
}

// step delivers updates that each make an event, waits for them, sends
// what the bot queued, and returns the Bot API calls made.
func (r *rig) step(updates ...string) []apiCall {
	r.t.Helper()
	r.want += len(updates)
	r.e.api.push(updates...)
	runFor(r.t, r.e, r.sink, func() bool { return r.sink.handled() >= r.want })
	return r.flush()
}

func (r *rig) flush() []apiCall {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.ob.Flush(ctx); err != nil {
		r.t.Fatal(err)
	}
	return r.e.api.take()
}

// advance moves the clock, running what falls due, and returns the calls.
func (r *rig) advance(d time.Duration) []apiCall {
	r.t.Helper()
	step := scheduler.AdvanceTo(r.sched, r.clock, func(context.Context) error { return nil })
	if err := step(context.Background(), r.clock.Now().Add(d)); err != nil {
		r.t.Fatal(err)
	}
	return r.flush()
}

// Moderation on Telegram's wire format: admins cannot be reached by
// @username or id; locks delete; /pin, /unpin, /purge; a member's
// /report reaches the moderator privately and their press bans; a
// federation ban, a rejoin refused, the list as a document; night mode
// closes the group with setChatPermissions and gives back exactly the
// permissions it had.
func TestModerationOnTelegram(t *testing.T) {
	e := setup(t)
	e.api.admins[group] = []int64{1, 7}
	r := newRig(t, e, `locale: en
timezone: UTC
moderators: ["telegram:5"]
flows:
  moderation: {}
  federation: {name: brand}
  locks: {night: {hours: "23:00-07:00"}}
`)
	step, clock := r.step, r.clock

	step(msgUpdate(1, 200, 6, "Bob", "hi", ""), msgUpdate(2, 201, 7, "Boss", "hello", ""), msgUpdate(3, 202, 8, "Eve", "buy crypto now", ""))

	// an admin, however named, is out of reach
	calls := step(command(4, 203, 5, "Mod", "/ban @boss", 0, 0), command(5, 204, 5, "Mod", "/mute 7 1h", 0, 0),
		command(6, 205, 5, "Mod", "/warn @boss", 0, 0), command(7, 206, 5, "Mod", "/kick 7", 0, 0))
	if got := methods(calls); strings.Contains(got, "banChatMember") || strings.Contains(got, "restrictChatMember") {
		t.Fatalf("an admin named by @username or id was acted on: %s", got)
	}
	if n := find(calls, "sendMessage", "", ""); n != 4 {
		t.Errorf("%d refusals, want 4: %s", n, methods(calls))
	}

	// a locked sticker goes
	calls = step(command(8, 207, 5, "Mod", "/lock sticker", 0, 0),
		msgUpdate(9, 208, 6, "Bob", "", `,"sticker":{"file_id":"s1","file_unique_id":"u1","type":"regular","width":512,"height":512,"is_animated":false,"is_video":false}`))
	if wasDeleted(calls, "208") != 1 {
		t.Errorf("the locked sticker stays: %s", methods(calls))
	}

	// pin, unpin the latest, purge
	calls = step(command(10, 209, 5, "Mod", "/pin", 200, 6), command(11, 210, 5, "Mod", "/unpin", 0, 0))
	if find(calls, "pinChatMessage", "message_id", "200") != 1 || find(calls, "unpinChatMessage", "message_id", "") != 1 {
		t.Errorf("pin/unpin: %s", methods(calls))
	}
	calls = step(command(12, 215, 5, "Mod", "/purge", 212, 6))
	if n := len(deletedIDs(calls)); n != 4 {
		t.Errorf("/purge of 212..215 deleted %d messages: %s", n, methods(calls))
	}

	// a member reports Eve's message: the moderator is told privately
	calls = step(command(13, 216, 6, "Bob", "/report", 202, 8))
	var report apiCall
	for _, c := range calls {
		if c.Method == "sendMessage" && c.Params.Get("chat_id") == "5" {
			report = c
		}
	}
	if report.Method == "" || !strings.Contains(report.Params.Get("text"), "https://t.me/c/1234/202") {
		t.Fatalf("the moderator was not told with a link: %s %v", methods(calls), report.Params)
	}
	data := regexp.MustCompile(`rep:ban:[0-9a-z]+`).FindString(report.Params.Get("reply_markup"))
	if data == "" {
		t.Fatalf("no ban button: %s", report.Params.Get("reply_markup"))
	}
	calls = step(fmt.Sprintf(`{"update_id":14,"callback_query":{"id":"cbq-9","from":%s,"data":%q,"message":{"message_id":300,"date":1767600000,"chat":{"id":5,"type":"private"}}}}`,
		user(5, "Mod"), data))
	if find(calls, "banChatMember", "user_id", "8") != 1 || wasDeleted(calls, "202") != 1 || find(calls, "answerCallbackQuery", "", "") != 1 {
		t.Errorf("the moderator's ban press: %s", methods(calls))
	}

	// a federation ban of an id never seen here, then their join
	calls = step(command(15, 217, 5, "Mod", "/fban 4242 known spammer", 0, 0))
	if find(calls, "banChatMember", "user_id", "4242") != 1 {
		t.Errorf("/fban: %s", methods(calls))
	}
	calls = step(memberUpdate(16, 4242, "Spam", "left", "member"))
	if got := methods(calls); got != "banChatMember" {
		t.Errorf("a federation-banned member's join: %s (want a ban, no challenge)", got)
	}
	before := len(e.api.uploads)
	calls = step(command(17, 218, 5, "Mod", "/fbanlist", 0, 0))
	if find(calls, "sendDocument", "", "") != 1 || len(e.api.uploads) != before+1 || !bytes.Contains(e.api.uploads[before], []byte("telegram,4242,5,known spammer")) {
		t.Errorf("/fbanlist: %s", methods(calls))
	}

	// night mode
	e.api.perms[group] = `{"can_send_messages":true,"can_send_photos":false,"can_send_polls":true,"can_invite_users":true}`
	kept := e.api.perms[group]
	night := r.advance
	calls = night(15*time.Hour + time.Minute) // 23:01
	var closed map[string]bool
	for _, c := range calls {
		if c.Method == "setChatPermissions" {
			_ = json.Unmarshal([]byte(c.Params.Get("permissions")), &closed)
		}
	}
	if closed == nil || closed["can_send_messages"] || closed["can_send_photos"] || find(calls, "sendMessage", "", "") != 1 {
		t.Fatalf("closing: %s %v", methods(calls), closed)
	}
	late := strings.Replace(msgUpdate(18, 219, 6, "Bob", "anyone?", ""), `"date":1767600000`, fmt.Sprintf(`"date":%d`, clock.Now().Unix()), 1)
	calls = step(late)
	if wasDeleted(calls, "219") != 1 {
		t.Errorf("a message in the night stays: %s", methods(calls))
	}
	calls = night(8 * time.Hour)
	if find(calls, "setChatPermissions", "permissions", kept) != 1 {
		t.Errorf("opening gave back %q, want the group's own %s", e.api.perms[group], kept)
	}
}

// A native poll: sendPoll with InputPollOption objects, the members'
// poll_answer updates (which name only the poll) recorded in the poll's
// group, a vote taken back, and stopPoll at /poll close.
func TestNativePollOnTelegram(t *testing.T) {
	e := setup(t)
	r := newRig(t, e, "locale: en\nmoderators: [\"telegram:5\"]\nflows:\n  poll: {}\n")
	step := r.step
	calls := step(command(1, 200, 5, "Mod", "/poll Which day? | Sat | Sun", 0, 0))
	var sent apiCall
	for _, c := range calls {
		if c.Method == "sendPoll" {
			sent = c
		}
	}
	if sent.Method == "" || sent.Params.Get("options") != `[{"text":"Sat"},{"text":"Sun"}]` || sent.Params.Get("is_anonymous") != "false" {
		t.Fatalf("sendPoll: %s %v", methods(calls), sent.Params)
	}
	vote := func(uid, who int, opts string) string {
		return fmt.Sprintf(`{"update_id":%d,"poll_answer":{"poll_id":"poll-101","user":%s,"option_ids":[%s]}}`, uid, user(who, fmt.Sprintf("U%d", who)), opts)
	}
	// votes, one changed, one taken back, one in a poll that is not ours
	stranger := `{"update_id":7,"poll_answer":{"poll_id":"someone-elses","user":` + user(9, "U9") + `,"option_ids":[0]}}`
	r.want-- // the stranger's vote is no event
	step(vote(2, 6, "0"), vote(3, 7, "1"), vote(4, 8, "0"), vote(5, 7, "0"), vote(6, 8, ""), stranger)
	calls = step(command(8, 201, 5, "Mod", "/poll results 1", 0, 0))
	if len(calls) != 1 || !strings.Contains(calls[0].Params.Get("text"), "Sat — 2 (100%)") || !strings.Contains(calls[0].Params.Get("text"), "2 members voted") {
		t.Fatalf("results: %s %v", methods(calls), calls)
	}
	calls = step(command(9, 202, 5, "Mod", "/poll close 1", 0, 0))
	if find := methods(calls); !strings.Contains(find, "stopPoll") {
		t.Fatalf("closing: %s", find)
	}
	for _, c := range calls {
		if c.Method == "stopPoll" && c.Params.Get("message_id") != "101" {
			t.Errorf("stopPoll of message %s, want 101", c.Params.Get("message_id"))
		}
	}
}

// The rest of the moderator's kit on the wire: /rules, a note saved and
// read by #name, /del on a reply, /locks and /unlock, /unfban.
func TestNotesDelAndUnlockOnTelegram(t *testing.T) {
	e := setup(t)
	r := newRig(t, e, `locale: en
moderators: ["telegram:5"]
flows:
  moderation: {}
  federation: {name: brand}
  notes: {rules: "Be kind. No ads."}
`)
	r.step(msgUpdate(1, 200, 6, "Bob", "hi", ""))
	calls := r.step(command(2, 201, 6, "Bob", "/rules", 0, 0))
	if len(calls) != 1 || calls[0].Params.Get("text") != "Be kind. No ads." {
		t.Errorf("/rules: %v", calls)
	}
	r.step(command(3, 202, 5, "Mod", "/save wifi password coffee123", 0, 0))
	calls = r.step(msgUpdate(4, 203, 6, "Bob", "#wifi", ""))
	if len(calls) != 1 || calls[0].Params.Get("text") != "password coffee123" {
		t.Errorf("#wifi: %v", calls)
	}
	calls = r.step(command(5, 204, 5, "Mod", "/del", 200, 6))
	if wasDeleted(calls, "200") != 1 || wasDeleted(calls, "204") != 1 {
		t.Errorf("/del: %s", methods(calls))
	}
	r.step(command(6, 205, 5, "Mod", "/lock forwards", 0, 0))
	calls = r.step(command(7, 206, 5, "Mod", "/locks", 0, 0))
	if len(calls) != 1 || !strings.Contains(calls[0].Params.Get("text"), "forwards") {
		t.Errorf("/locks: %v", calls)
	}
	r.step(command(8, 207, 5, "Mod", "/unlock forwards", 0, 0))
	calls = r.step(msgUpdate(9, 208, 6, "Bob", "look", `,"forward_from_chat":{"id":-1009,"type":"channel","title":"Deals"}`))
	if len(deletedIDs(calls)) != 0 {
		t.Errorf("an unlocked forward was deleted: %s", methods(calls))
	}
	r.step(command(10, 209, 5, "Mod", "/fban 4242", 0, 0))
	calls = r.step(command(11, 210, 5, "Mod", "/unfban 4242", 0, 0))
	if find(calls, "unbanChatMember", "user_id", "4242") != 1 {
		t.Errorf("/unfban: %s", methods(calls))
	}
}

// A member whose name is an ad is banned as they join, on Telegram's wire
// format, before verification posts a challenge that would show the name;
// a join request with such a name is declined; a plain name is verified.
func TestSpamNamesOnTelegram(t *testing.T) {
	e := setup(t)
	r := newRig(t, e, `locale: en
timezone: UTC
flows:
  adfilter: {}
  verify: {method: button}
  welcome: {text: "welcome {{.Flow.Mentions}}"}
`)
	join := func(uid, mid, id int, name string) string {
		return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1767600000,"chat":%s,"from":%s,"new_chat_members":[%s]}}`,
			uid, mid, chatJSON(), user(id, name), user(id, name))
	}
	calls := r.step(join(1, 300, 9, "加微信 abc12345 领福利"))
	r.want++ // a join message is two events: the join and its service message
	calls = append(calls, r.advance(time.Minute)...)
	if find(calls, "banChatMember", "user_id", "9") != 1 || find(calls, "restrictChatMember", "", "") != 0 {
		t.Fatalf("the spam name: %s", methods(calls))
	}
	for _, c := range calls {
		if strings.Contains(c.Params.Get("text"), "abc12345") {
			t.Fatalf("the ad was shown to the group: %s", c.Params.Get("text"))
		}
	}
	calls = r.step(fmt.Sprintf(`{"update_id":2,"chat_join_request":{"chat":%s,"from":%s,"date":1767600000}}`, chatJSON(), user(10, "QQ 12345678 代开发票")))
	if find(calls, "declineChatJoinRequest", "user_id", "10") != 1 {
		t.Fatalf("the spam name's request: %s", methods(calls))
	}
	calls = r.step(join(3, 301, 6, "Bob"))
	if find(calls, "restrictChatMember", "user_id", "6") != 1 || find(calls, "banChatMember", "", "") != 0 {
		t.Fatalf("a plain name: %s", methods(calls))
	}
}
