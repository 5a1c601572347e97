package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/qunbot/qunbot/bot"
)

// Messages sent on behalf of a chat, in the Bot API's wire format (its
// Message.sender_chat, is_automatic_forward and author_signature): the
// placeholder users Telegram puts in "from" are Channel_Bot (136817688)
// for a channel, GroupAnonymousBot (1087968824) for an anonymous admin
// and the service account 777000 for the linked channel's posts copied
// into its discussion group.
func TestSendersOnBehalfOfChats(t *testing.T) {
	const (
		channelBot = `{"id":136817688,"is_bot":true,"first_name":"Channel","username":"Channel_Bot"}`
		anonBot    = `{"id":1087968824,"is_bot":true,"first_name":"Group","username":"GroupAnonymousBot"}`
		service    = `{"id":777000,"is_bot":false,"first_name":"Telegram"}`
		spamChan   = `{"id":-1002222,"title":"Crypto Signals","type":"channel","username":"cryptosig"}`
		ownChan    = `{"id":-1001111,"title":"Coffee News","type":"channel","username":"coffeenews"}`
	)
	msg := func(uid, mid int, from, extra string) string {
		return fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1767600000,"chat":%s,"from":%s,"text":"hi"%s}}`,
			uid, mid, chatJSON(), from, extra)
	}
	tests := []struct {
		name   string
		update string
		want   []bot.Member // the event's member, then the replied-to one's
	}{
		{"the linked channel's post copied in: the operator's, no event", msg(1, 10, service,
			`,"sender_chat":`+ownChan+`,"is_automatic_forward":true,"forward_from_chat":`+ownChan+`,"forward_from_message_id":5,"forward_date":1767599990`), nil},
		{"a channel speaking in the group: a member of its own", msg(2, 11, channelBot, `,"sender_chat":`+spamChan),
			[]bot.Member{{ID: "-1002222", Name: "Crypto Signals", Username: "cryptosig", IsChannel: true}}},
		{"the linked channel speaking: an admin", msg(3, 12, channelBot, `,"sender_chat":`+ownChan),
			[]bot.Member{{ID: "-1001111", Name: "Coffee News", Username: "coffeenews", IsChannel: true, IsAdmin: true}}},
		{"an anonymous admin: an admin, by its title", msg(4, 13, anonBot, `,"sender_chat":`+chatJSON()+`,"author_signature":"Barista"`),
			[]bot.Member{{ID: "1087968824", Name: "Barista", IsBot: true, IsAdmin: true}}},
		{"a reply to a channel's message names the channel", msg(5, 14, user(5, "Alice"),
			`,"reply_to_message":{"message_id":11,"date":1767600000,"chat":`+chatJSON()+`,"from":`+channelBot+`,"sender_chat":`+spamChan+`,"text":"buy"}`),
			[]bot.Member{{ID: "5", Name: "Alice", Username: "alice"}, {ID: "-1002222", Name: "Crypto Signals", Username: "cryptosig", IsChannel: true}}},
		{"an ordinary member is unchanged", msg(6, 15, user(7, "Owner"), ""),
			[]bot.Member{{ID: "7", Name: "Owner", Username: "owner", IsAdmin: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.api.linked[group] = -1001111
			s := &sink{}
			// a marker after the update: the update is handled once it is
			e.api.push(tt.update, msgUpdate(99, 99, 8, "Marker", "end", ""))
			runFor(t, e, s, func() bool {
				s.mu.Lock()
				defer s.mu.Unlock()
				return len(s.events) > 0 && s.events[len(s.events)-1].Member.ID == "8"
			})
			evs := s.events[:len(s.events)-1]
			if tt.want == nil {
				if len(evs) != 0 {
					t.Fatalf("events %+v, want none", evs)
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			if got := evs[0].Member; got != tt.want[0] {
				t.Errorf("member %+v, want %+v", got, tt.want[0])
			}
			if len(tt.want) > 1 {
				if evs[0].ReplyTo == nil || evs[0].ReplyTo.Member != tt.want[1] {
					t.Errorf("replied-to %+v, want %+v", evs[0].ReplyTo, tt.want[1])
				}
			}
		})
	}
}

// A channel is banned with banChatSenderChat (there is no banning one as
// a user), unbanned with unbanChatSenderChat, and neither muted nor
// kicked: those are refused with ErrUnsupported without a call. A DM to
// one is unreachable (its id would post into the channel itself).
func TestActionsOnAChannel(t *testing.T) {
	e := setup(t)
	g := "telegram:" + group
	ch := bot.Member{ID: "-1002222", IsChannel: true}
	ctx := context.Background()
	for _, a := range []bot.Action{
		{Type: bot.ActBan, Chat: g, Member: ch},
		{Type: bot.ActUnban, Chat: g, Member: bot.Member{ID: "-1002222"}}, // an id alone: /unban -1002222
		{Type: bot.ActDelete, Chat: g, Member: ch, MessageID: "11"},
	} {
		if _, err := e.ad.Do(ctx, a); err != nil {
			t.Fatalf("%s: %v", a.Type, err)
		}
	}
	for _, typ := range []bot.ActionType{bot.ActRestrict, bot.ActKick, bot.ActUnrestrict} {
		if _, err := e.ad.Do(ctx, bot.Action{Type: typ, Chat: g, Member: ch}); !errors.Is(err, bot.ErrUnsupported) {
			t.Errorf("%s of a channel: %v, want ErrUnsupported", typ, err)
		}
	}
	// a channel has no private chat: the outbox then sends the fallback
	if _, err := e.ad.Do(ctx, bot.Action{Type: bot.ActDM, Member: ch, Text: "your answer"}); !errors.Is(err, bot.ErrUnreachable) {
		t.Errorf("a DM to a channel: %v, want ErrUnreachable", err)
	}
	var got []string
	for _, c := range e.api.take() {
		got = append(got, fmt.Sprintf("%s sender_chat_id=%s user_id=%s message_id=%s", c.Method,
			c.Params.Get("sender_chat_id"), c.Params.Get("user_id"), c.Params.Get("message_id")))
	}
	want := []string{
		"banChatSenderChat sender_chat_id=-1002222 user_id= message_id=",
		"unbanChatSenderChat sender_chat_id=-1002222 user_id= message_id=",
		"deleteMessage sender_chat_id= user_id= message_id=11",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls\n%q\nwant\n%q", got, want)
	}
	if !bot.AllCapabilities.For(ch).Has(bot.CanBan|bot.CanDelete) || bot.AllCapabilities.For(ch)&(bot.CanRestrict|bot.CanKick|bot.CanDM) != 0 {
		t.Errorf("a channel's capabilities: %v", bot.AllCapabilities.For(ch))
	}
}

// Forwards as Bot API 7.0 documents them (Message.forward_origin, a
// MessageOrigin), with the older fields absent, as a server that follows
// the documents may send them; where both are present, the older fields
// are read as before and agree.
func TestForwardOrigins(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		want  *bot.Forward
	}{
		{"a channel's post", `,"forward_origin":{"type":"channel","date":1767599000,"chat":{"id":-100555,"type":"channel","title":"Ads"},"message_id":7}`,
			&bot.Forward{FromChat: "telegram:-100555", FromTitle: "Ads"}},
		{"a group's anonymous admin", `,"forward_origin":{"type":"chat","date":1767599000,"sender_chat":{"id":-100666,"type":"supergroup","title":"Other"}}`,
			&bot.Forward{FromChat: "telegram:-100666", FromTitle: "Other"}},
		{"a user", `,"forward_origin":{"type":"user","date":1767599000,"sender_user":` + user(42, "Zed") + `}`,
			&bot.Forward{FromUser: "42", Name: "Zed"}},
		{"a hidden user", `,"forward_origin":{"type":"hidden_user","date":1767599000,"sender_user_name":"Anon"}`,
			&bot.Forward{Name: "Anon"}},
		{"a kind newer than the adapter", `,"forward_origin":{"type":"story","date":1767599000}`, &bot.Forward{}},
		{"both, as Telegram sends them", `,"forward_from_chat":{"id":-100555,"type":"channel","title":"Ads"},"forward_origin":{"type":"channel","date":1767599000,"chat":{"id":-100555,"type":"channel","title":"Ads"},"message_id":7}`,
			&bot.Forward{FromChat: "telegram:-100555", FromTitle: "Ads"}},
		{"no forward", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := oneMessage(t, "look", tt.extra).Forward
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("forward %+v, want %+v", got, tt.want)
			}
		})
	}
}

// deleteMessages (Bot API 7.0) as the documents give it: chat_id and
// message_ids, a JSON array of 1–100 message ids. A server without the
// method — Telegram's own 404 for an unknown method, an emulator's answer
// that is not the Bot API's — is ErrUnsupported, for the outbox to go back
// to one deletion a call.
func TestDeleteMessages(t *testing.T) {
	e := setup(t)
	g := "telegram:" + group
	ctx := context.Background()
	e.api.override["deleteMessages"] = func(p url.Values) (int, string) {
		var ids []int64
		if err := json.Unmarshal([]byte(p.Get("message_ids")), &ids); err != nil || len(ids) == 0 || len(ids) > 100 || p.Get("chat_id") != group {
			return 400, apiErr(400, "Bad Request: message identifiers are invalid", nil)
		}
		return 200, ok(true)
	}
	if err := e.ad.DeleteMessages(ctx, g, []string{"10", "11", "12"}); err != nil {
		t.Fatal(err)
	}
	calls := e.api.take()
	if len(calls) != 1 || calls[0].Method != "deleteMessages" || calls[0].Params.Get("message_ids") != "[10,11,12]" {
		t.Fatalf("calls %+v", calls)
	}
	if err := e.ad.DeleteMessages(ctx, g, []string{"10", "x"}); err == nil || len(e.api.take()) != 0 {
		t.Errorf("a message id that is no number: %v", err)
	}
	for name, answer := range map[string]func(url.Values) (int, string){
		"Telegram's unknown method": func(url.Values) (int, string) { return 404, apiErr(404, "Not Found", nil) },
		"an emulator's": func(url.Values) (int, string) {
			return 500, `{"message":"API method 'deleteMessages' is not supported."}`
		},
	} {
		e.api.override["deleteMessages"] = answer
		if err := e.ad.DeleteMessages(ctx, g, []string{"10", "11"}); !errors.Is(err, bot.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
	e.api.override["deleteMessages"] = func(url.Values) (int, string) {
		return 400, apiErr(400, "Bad Request: not enough rights to delete a message", nil)
	}
	if err := e.ad.DeleteMessages(ctx, g, []string{"10", "11"}); err == nil || errors.Is(err, bot.ErrUnsupported) {
		t.Errorf("a refusal for want of rights: %v, want a plain error", err)
	}
}

// A reply to another chat's message (Bot API 7.0's external_reply) and
// the part of it the member quoted (quote), as Telegram sends them: where
// the replied message lives, and the quoted text the group sees. A reply
// across forum topics of the same group is an external_reply too, and is
// no other chat's; a reply within the chat keeps its quote to itself.
func TestExternalReplies(t *testing.T) {
	scam := `{"id":-100555,"type":"channel","title":"Beeline Info"}`
	tests := []struct {
		name     string
		extra    string
		external *bot.Forward
		quote    string
	}{
		{"a reply to a channel's post, quoting it",
			`,"external_reply":{"origin":{"type":"channel","date":1767599000,"chat":` + scam + `,"message_id":9},"chat":` + scam + `,"message_id":9},"quote":{"text":"Написать менеджеру: @Beeline","position":0}`,
			&bot.Forward{FromChat: "telegram:-100555", FromTitle: "Beeline Info"}, "Написать менеджеру: @Beeline"},
		{"a hidden user's message, no chat",
			`,"external_reply":{"origin":{"type":"hidden_user","date":1767599000,"sender_user_name":"Anon"}},"quote":{"text":"cheap followers","position":0}`,
			&bot.Forward{Name: "Anon"}, "cheap followers"},
		{"another topic of this group: not another chat",
			`,"external_reply":{"origin":{"type":"user","date":1767599000,"sender_user":` + user(6, "Bob") + `},"chat":` + chatJSON() + `,"message_id":3},"quote":{"text":"hello","position":0}`,
			nil, ""},
		{"a reply within the chat, quoting it",
			`,"reply_to_message":{"message_id":3,"date":1,"chat":` + chatJSON() + `,"from":` + user(6, "Bob") + `,"text":"hello there"},"quote":{"text":"hello","position":0}`,
			nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := oneMessage(t, "Пришло быстро!", tt.extra)
			if (ev.External == nil) != (tt.external == nil) || ev.External != nil && *ev.External != *tt.external || ev.Quote != tt.quote {
				t.Errorf("external %+v quote %q, want %+v %q", ev.External, ev.Quote, tt.external, tt.quote)
			}
		})
	}
}

// oneMessage is the event of one member's message (text, and the given
// extra fields of the Bot API's Message) through a fresh adapter.
func oneMessage(t *testing.T, text, extra string) bot.Event {
	t.Helper()
	e := setup(t)
	s := &sink{}
	e.api.push(msgUpdate(1, 10, 5, "Alice", text, extra))
	runFor(t, e, s, func() bool { return s.count() == 1 })
	return s.events[0]
}
