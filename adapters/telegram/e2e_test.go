package telegram_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qunbot/qunbot/adapters/telegram"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/outbox"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/scheduler"
)

// The whole path on Telegram's wire format: a newcomer joins (chat_member),
// is restricted and challenged with an inline keyboard, presses the right
// button (callback_query), is let in and welcomed; /help is answered.
func TestEndToEndVerificationOnTelegram(t *testing.T) {
	e := setup(t)
	fl := flows.Builtin()
	cfg, err := config.Parse("t.yaml", []byte("locale: en\nflows:\n  verify: { method: button }\n  welcome: { text: 'Welcome {{.Flow.Mentions}} to {{.Group.Title}}' }\n"), engine.Schema(fl, platform.Schemas([]platform.Platform{telegram.Platform()})))
	if err != nil {
		t.Fatal(err)
	}
	// the updates are dated 2026-01-05 09:20 UTC: the bot's clock stands there
	clock := bot.NewFakeClock(time.Unix(1767600000, 0))
	eng, err := engine.New(engine.Options{Store: e.store, Timers: scheduler.New(scheduler.Options{Redis: e.store.Client(), Prefix: e.store.GlobalKey(""), Clock: clock}),
		Clock: clock, Flows: fl}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ob := outbox.New(e.ad, outbox.Options{Name: "telegram", Limits: config.Limits{Workers: 1}, Clock: clock,
		OnSent: func(ctx context.Context, a bot.Action, r bot.Result) error {
			return eng.AfterSend(ctx, "telegram", a, r)
		}})
	eng.Attach(e.ad, ob)
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ob.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}

	e.api.push(memberUpdate(1, 6, "Bob", "left", "member"))
	s := &engineSink{eng: eng}
	runFor(t, e, s, func() bool { return s.handled() >= 1 })
	flush()
	calls := e.api.take()
	// getChat: the admin list, asked for the first time, names the
	// group's linked channel
	if got := methods(calls); got != "getChat restrictChatMember sendMessage" {
		t.Fatalf("on join: %s", got)
	}
	kb := calls[2].Params.Get("reply_markup")
	if !strings.Contains(kb, `"callback_data":"verify:6:`) {
		t.Fatalf("challenge keyboard: %s", kb)
	}
	bob, err := e.store.Member(context.Background(), "telegram:"+group, "6")
	if err != nil {
		t.Fatal(err)
	}
	answer := bob.Fields["v_answer"]

	e.api.push(fmt.Sprintf(`{"update_id":2,"callback_query":{"id":"cbq-1","from":%s,"data":"verify:6:%s","message":{"message_id":101,"date":1767600000,"chat":%s}}}`,
		user(6, "Bob"), answer, chatJSON()),
		msgUpdate(3, 102, 6, "Bob", "/help", `,"entities":[{"type":"bot_command","offset":0,"length":5}]`))
	runFor(t, e, s, func() bool { return s.handled() >= 3 })
	flush()
	calls = e.api.take()
	if got := methods(calls); got != "answerCallbackQuery getChat restrictChatMember deleteMessage sendMessage sendMessage" {
		t.Fatalf("on the right press, then /help: %s", got)
	}
	if calls[0].Params.Get("callback_query_id") != "cbq-1" || calls[3].Params.Get("message_id") != "101" {
		t.Errorf("answer %v delete %v", calls[0].Params, calls[3].Params)
	}
	if w := calls[4].Params.Get("text"); w != "Welcome @bob to Coffee &lt;Club&gt;" {
		t.Errorf("welcome text %q: the group title must be HTML-escaped", w)
	}
	if h := calls[5].Params.Get("text"); !strings.Contains(h, "/help") || calls[5].Params.Get("reply_to_message_id") != "102" {
		t.Errorf("help answer %v", calls[5].Params)
	}
}

type engineSink struct {
	eng *engine.Engine
	n   atomic.Int64
}

func (s *engineSink) HandleEvent(ctx context.Context, ev bot.Event) error {
	err := s.eng.HandleEvent(ctx, ev)
	if err == nil {
		s.n.Add(1)
	}
	return err
}

func (s *engineSink) handled() int { return int(s.n.Load()) }

// Two newcomers without a @username join together: the one welcome that
// greets them links each name (tg://user), so both are notified.
func TestBurstWelcomeLinksMembersWithoutUsername(t *testing.T) {
	e := setup(t)
	eng, sched, clock, ob := botOn(t, e, "locale: en\nflows:\n  welcome: { text: 'Welcome {{.Flow.Mentions}}!', burst: { window: 10s, max: 5 } }\n")
	anon := func(uid, id int, name string) string {
		u := fmt.Sprintf(`{"id":%d,"is_bot":false,"first_name":%q}`, id, name)
		return fmt.Sprintf(`{"update_id":%d,"chat_member":{"chat":%s,"from":%s,"date":1767600000,
		"old_chat_member":{"status":"left","user":%s},"new_chat_member":{"status":"member","user":%s}}}`, uid, chatJSON(), u, u, u)
	}
	// the first is greeted at once; the burst window gathers the next two
	e.api.push(anon(1, 7, "Ann"), anon(2, 8, "Cat & Co"), anon(3, 9, "Dee"))
	s := &engineSink{eng: eng}
	runFor(t, e, s, func() bool { return s.handled() >= 3 })
	advance := scheduler.AdvanceTo(sched, clock, func(context.Context) error { return nil })
	if err := advance(context.Background(), clock.Now().Add(11*time.Second)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range e.api.take() {
		if c.Method == "sendMessage" {
			texts = append(texts, c.Params.Get("text"))
		}
	}
	want := []string{
		`Welcome <a href="tg://user?id=7">Ann</a>!`,
		`Welcome <a href="tg://user?id=8">Cat &amp; Co</a> <a href="tg://user?id=9">Dee</a>!`,
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("welcomes:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
}

// "Ann joined the group" and "Ann left the group" go when the group locks
// service notices; the join itself is still handled once.
func TestServiceMessagesCleanedOnTelegram(t *testing.T) {
	e := setup(t)
	eng, _, _, ob := botOn(t, e, "locale: en\nflows:\n  welcome: { enabled: false }\n  verify: { enabled: false }\n  locks: { locked: [service] }\n")
	e.api.push(memberUpdate(1, 6, "Bob", "left", "member"),
		fmt.Sprintf(`{"update_id":2,"message":{"message_id":11,"date":1767600000,"chat":%s,"from":%s,"new_chat_members":[%s]}}`, chatJSON(), user(6, "Bob"), user(6, "Bob")),
		fmt.Sprintf(`{"update_id":3,"message":{"message_id":12,"date":1767600000,"chat":%s,"from":%s,"left_chat_member":%s}}`, chatJSON(), user(6, "Bob"), user(6, "Bob")))
	s := &engineSink{eng: eng}
	runFor(t, e, s, func() bool { return s.handled() >= 4 }) // join, its notice, leave, its notice
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	deleted := deletedIDs(e.api.take())
	if strings.Join(deleted, " ") != "11 12" {
		t.Errorf("deleted %v, want the join and leave notices 11 and 12", deleted)
	}
}

// botOn runs the built-in flows with a config over the fake Bot API: the
// engine, its scheduler (connected, so timers fire), a fake clock at the
// updates' date (2026-01-05 09:20 UTC) and the outbox.
func botOn(t *testing.T, e *env, yaml string) (*engine.Engine, *scheduler.Scheduler, *bot.FakeClock, *outbox.Outbox) {
	t.Helper()
	fl := flows.Builtin()
	cfg, err := config.Parse("t.yaml", []byte(yaml), engine.Schema(fl, platform.Schemas([]platform.Platform{telegram.Platform()})))
	if err != nil {
		t.Fatal(err)
	}
	clock := bot.NewFakeClock(time.Unix(1767600000, 0))
	sched := scheduler.New(scheduler.Options{Redis: e.store.Client(), Prefix: e.store.GlobalKey(""), Clock: clock})
	eng, err := engine.New(engine.Options{Store: e.store, Timers: sched, Clock: clock, Flows: fl}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched.Connect(eng, eng)
	ob := outbox.New(e.ad, outbox.Options{Name: "telegram", Limits: config.Limits{Workers: 1}, Clock: clock})
	eng.Attach(e.ad, ob)
	return eng, sched, clock, ob
}

// In a forum topic, what answers a message stays in its topic: the
// notice for a locked sticker (not a reply: the sticker is gone) carries
// the topic's message_thread_id.
func TestAnswersStayInTheirForumTopic(t *testing.T) {
	e := setup(t)
	eng, _, _, ob := botOn(t, e, "locale: en\nflows:\n  verify: { enabled: false }\n  locks: { locked: [sticker] }\n")
	sticker := `,"message_thread_id":77,"is_topic_message":true,"sticker":{"file_id":"s1","file_unique_id":"u1","type":"regular","width":512,"height":512,"is_animated":false,"is_video":false}`
	e.api.push(msgUpdate(1, 300, 6, "Bob", "", sticker),
		msgUpdate(2, 301, 8, "Dee", "", strings.Replace(sticker, `,"message_thread_id":77,"is_topic_message":true`, "", 1)))
	s := &engineSink{eng: eng}
	runFor(t, e, s, func() bool { return s.handled() >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var threads []string
	calls := e.api.take()
	for _, c := range calls {
		if c.Method == "sendMessage" {
			threads = append(threads, c.Params.Get("message_thread_id"))
		}
	}
	if strings.Join(threads, ",") != "77," {
		t.Errorf("notices went to threads %q, want topic 77, then the main thread", threads)
	}
}
