package telegram

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

type downAPI struct{}

func (downAPI) MakeRequest(string, tgbotapi.Params) (*tgbotapi.APIResponse, error) {
	return nil, errors.New("offline")
}

// FuzzTranslate: whatever JSON arrives, translation yields well-formed
// events or none, and never panics.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"group"},"from":{"id":5},"text":"/x@qunbot","entities":[{"type":"bot_command","offset":0,"length":9},{"type":"url","offset":5,"length":-2},{"type":"text_mention","offset":0,"length":1}]}}`,
		`{"update_id":2,"chat_member":{"chat":{"id":-1},"from":{"id":1},"old_chat_member":{"status":"left"},"new_chat_member":{"status":"member","user":{"id":2}}}}`,
		`{"update_id":3,"callback_query":{"id":"c","from":{"id":3}}}`,
		`{"update_id":4,"message":{"chat":{"id":-1},"from":{"id":1},"new_chat_members":[{"id":1},{"id":2}]}}`,
		`{"update_id":5,"my_chat_member":{"chat":{"id":-1},"new_chat_member":{"status":"kicked"}}}`,
		`{"update_id":6,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"supergroup"},"from":{"id":5},"message_thread_id":7,"is_topic_message":true,"text":"hi"}}`,
		`{"update_id":7,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"supergroup"},"from":{"id":136817688,"is_bot":true},"sender_chat":{"id":-1002,"type":"channel","title":"C"},"text":"hi","reply_to_message":{"message_id":2,"date":1,"chat":{"id":-1},"from":{"id":136817688},"sender_chat":{"id":-1,"type":"supergroup"}}}}`,
		`{"update_id":9,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"supergroup"},"from":{"id":5},"text":"x","forward_origin":{"type":"channel","chat":{"id":-100,"type":"channel"}}}}`,
		`{"update_id":10,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"supergroup"},"from":{"id":5},"left_chat_member":{"id":-7}}}`,
		`{"update_id":11,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"supergroup"},"from":{"id":5},"new_chat_members":[{"id":-7},{"id":8}]}}`,
		`{"update_id":12,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"supergroup"},"from":{"id":5},"text":"x","external_reply":{"origin":{"type":"channel","chat":{"id":-100,"type":"channel"}},"chat":{"id":-100,"type":"channel"}},"quote":{"text":"ad"}}}`,
		`{"update_id":8,"message":{"message_id":1,"date":1,"chat":{"id":-1,"type":"supergroup"},"from":{"id":777000},"sender_chat":{"id":-1003,"type":"channel"},"is_automatic_forward":true,"text":"post"}}`,
	} {
		f.Add([]byte(s))
	}
	c, prefix := redistest.Client(f)
	cfg := &Config{}
	cfg.SetDefaults()
	a := New(Options{Config: cfg, API: downAPI{}, Store: state.New(c, prefix)})
	f.Fuzz(func(t *testing.T, data []byte) {
		// the topic is read from any bytes without panicking, and is a
		// number when there is one
		if th := topicOf(data); th != "" && strings.Trim(th, "-0123456789") != "" {
			t.Fatalf("topic %q", th)
		}
		if f := forwardOrigin(data); f != nil && f.FromChat != "" && !strings.HasPrefix(f.FromChat, "telegram:") {
			t.Fatalf("forward from %q", f.FromChat)
		}
		if f, q := externalReply(data); f == nil && q != "" || f != nil && f.FromChat != "" && !strings.HasPrefix(f.FromChat, "telegram:") {
			t.Fatalf("external reply %+v quoting %q", f, q)
		}
		var u tgbotapi.Update
		if json.Unmarshal(data, &u) != nil {
			return
		}
		lane := updateLane(data)
		for _, ev := range a.translate(u) {
			if ev.ID == "" || ev.Kind == "" || ev.Chat.Key == "" || ev.Platform != "telegram" ||
				(ev.Kind == bot.EventJoin || ev.Kind == bot.EventLeave) && ev.Member.ID == "" {
				t.Fatalf("incomplete event %+v", ev)
			}
			// a channel is a chat: its id is negative, a user's never is,
			// so the two never share a member record
			for _, m := range []bot.Member{ev.Member, replied(ev)} {
				if m.IsChannel != strings.HasPrefix(m.ID, "-") {
					t.Fatalf("member %+v: a channel's id must be a chat's, and only a channel's", m)
				}
			}
			// the webhook keeps a chat's order by this lane
			if lane != "" && ev.Chat.Key != "telegram:"+lane {
				t.Fatalf("update of chat %s handled in lane %s", ev.Chat.Key, lane)
			}
		}
	})
}

func TestUpdateLane(t *testing.T) {
	for _, tc := range []struct{ update, lane string }{
		{`{"update_id":1,"message":{"chat":{"id":-100123},"from":{"id":5},"text":"hi"}}`, "-100123"},
		{`{"update_id":2,"edited_message":{"chat":{"id":-7}}}`, "-7"},
		{`{"update_id":3,"chat_member":{"chat":{"id":-100123},"from":{"id":1}}}`, "-100123"},
		{`{"update_id":4,"chat_join_request":{"chat":{"id":-9},"from":{"id":1}}}`, "-9"},
		{`{"update_id":5,"callback_query":{"id":"c","message":{"chat":{"id":-5}}}}`, "-5"},
		{`{"update_id":6,"callback_query":{"id":"c","inline_message_id":"x"}}`, ""}, // no chat: a lane of its own
		{`{"update_id":7,"message":{"chat":null}}`, ""},
		{`not json`, ""},
	} {
		if got := updateLane([]byte(tc.update)); got != tc.lane {
			t.Errorf("%s: lane %q, want %q", tc.update, got, tc.lane)
		}
	}
}

func replied(ev bot.Event) bot.Member {
	if ev.ReplyTo == nil {
		return bot.Member{}
	}
	return ev.ReplyTo.Member
}
