package privacy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/privacy"
)

// no flows: section at all: the privacy flow is on everywhere
func flows() []engine.Flow { return []engine.Flow{privacy.Flow{}} }

const yaml = "locale: en\nmoderators: [\"console:mod\"]\n"

// /forget erases a member's data in the group (moderators only, never a
// moderator's); /forgetme asks first, then erases the member's own. The
// moderation log keeps that it was done, without the name.
func TestForget(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	msgs := func(id string) int64 {
		m, err := h.Store.Member(context.Background(), bottest.Group, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Messages
	}
	h.Say("bob", "hi")
	h.Say("carl", "hello")
	if got := bottest.Texts(h.Command("eve", "/forget @bob", nil)); !strings.Contains(got, "moderators") {
		t.Errorf("/forget from a member: %s", got)
	}
	if msgs("bob") != 1 {
		t.Fatalf("bob's record went on a member's /forget: %d messages", msgs("bob"))
	}
	if got := bottest.Texts(h.Command("mod", "/forget @bob", nil)); !strings.Contains(got, "Erased the data of") {
		t.Errorf("/forget: %s", got)
	}
	if m, _ := h.Store.Member(context.Background(), bottest.Group, "bob"); m.Messages != 0 || m.Name != "" || len(m.Fields) != 0 {
		t.Errorf("bob's record after /forget: %+v", m)
	}
	if got := bottest.Texts(h.Command("mod", "/forget @mod", nil)); strings.Contains(got, "Erased") {
		t.Errorf("a moderator was forgotten: %s", got)
	}
	if got := bottest.Texts(h.Command("carl", "/forgetme", nil)); !strings.Contains(got, "/forgetme yes") || msgs("carl") != 2 {
		t.Errorf("/forgetme without yes: %s; %d messages", got, msgs("carl"))
	}
	if got := bottest.Texts(h.Command("carl", "/forgetme yes", nil)); !strings.Contains(got, "Erased your data") {
		t.Errorf("/forgetme yes: %s", got)
	}
	if m, _ := h.Store.Member(context.Background(), bottest.Group, "carl"); m.Messages != 0 || m.Name != "" {
		t.Errorf("carl's record after /forgetme: %+v", m)
	}
	es, err := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10)
	if err != nil {
		t.Fatal(err)
	}
	var forgotten []string
	for _, e := range es {
		if strings.HasPrefix(e.Action, "erased member data") {
			if e.Name != "" {
				t.Errorf("the log kept the name of a forgotten member: %+v", e)
			}
			forgotten = append(forgotten, e.Member)
		}
	}
	if got := strings.Join(forgotten, " "); got != "carl bob" && got != "bob carl" {
		t.Errorf("logged erasures of %q", got)
	}
}

// /forgetme in a private chat erases what qunbot keeps of that chat.
func TestForgetMeInPrivate(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	dm := bot.Chat{Key: "console:@carl", Type: bot.ChatPrivate}
	say := func(text string) string {
		h.Out.Take()
		h.Event(bot.Event{Kind: bot.EventMessage, Chat: dm, Member: bottest.Member("carl"), Text: text, MessageID: "p" + text})
		return bottest.Texts(h.Out.Take())
	}
	say("hello")
	if got := say("/forgetme yes"); !strings.Contains(got, "Erased your data") {
		t.Fatalf("/forgetme yes in private: %q", got)
	}
	if m, _ := h.Store.Member(context.Background(), dm.Key, "carl"); m.Messages != 0 || m.Name != "" {
		t.Errorf("the private chat's record after /forgetme: %+v", m)
	}
}

// /mydata sends the member their data privately: a JSON file where the
// platform takes uploads, the JSON as text elsewhere; the group only hears
// that it was sent, and a fallback for a member the bot cannot reach
// privately shows none of the data.
func TestMyData(t *testing.T) {
	for _, upload := range []bool{true, false} {
		t.Run(fmt.Sprint("upload=", upload), func(t *testing.T) {
			h := bottest.New(t, flows(), yaml)
			if !upload {
				h.Out.Caps &^= bot.CanUpload
			}
			h.Say("bob", "hi")
			h.Say("carl", "hello")
			acts := h.Command("bob", "/mydata", nil)
			dm, notice := mydata(acts)
			if dm == nil || notice == nil || dm.Member.ID != "bob" || !strings.Contains(notice.Text, "privately") {
				t.Fatalf("actions: %s", bottest.Texts(acts))
			}
			if strings.Contains(dm.Fallback, "{") || !strings.Contains(dm.Fallback, "/start") {
				t.Errorf("fallback: %q", dm.Fallback)
			}
			var js string
			switch i := strings.Index(dm.Text, "{"); {
			case upload && (dm.File == nil || i >= 0):
				t.Fatalf("no file, or the data in the caption: %+v", dm)
			case upload:
				js = string(dm.File.Data)
			case i < 0:
				t.Fatalf("no data in the text: %q", dm.Text)
			default:
				js = dm.Text[i:]
			}
			var doc struct {
				Member string
				Data   []struct {
					Key, Kind string
					Value     any
				}
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, js)
			}
			kinds := map[string]bool{}
			for _, d := range doc.Data {
				kinds[d.Kind] = true
				if d.Kind == "record" && d.Value.(map[string]any)["name"] != "bob" {
					t.Errorf("record: %v", d.Value)
				}
				if strings.Contains(fmt.Sprint(d.Value), "carl") {
					t.Errorf("carl's data in bob's: %+v", d)
				}
			}
			if doc.Member != "bob" || !kinds["record"] || !kinds["entry"] {
				t.Errorf("document: %s", js)
			}
		})
	}
}

// privacy.forget_left_after erases, in the daily run, members who left
// that long ago and did not come back; members still there, and members
// who left since, stay. The moderation log says how many, without ids.
func TestRetention(t *testing.T) {
	h := bottest.New(t, flows(), yaml+"flows:\n  privacy: { forget_left_after: 30d }\n")
	for _, m := range []string{"ann", "bob", "cat", "dan"} {
		h.Join(m)
		h.Say(m, "hi")
	}
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("ann")})
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("bob")})
	h.Advance(10 * 24 * time.Hour)
	h.Join("bob") // came back
	h.Advance(15 * 24 * time.Hour)
	h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("cat")}) // left lately
	h.Advance(6 * 24 * time.Hour)                                           // ann left 31 days ago
	for _, c := range []struct {
		who  string
		kept bool
	}{{"ann", false}, {"bob", true}, {"cat", true}, {"dan", true}} {
		m, err := h.Store.Member(context.Background(), bottest.Group, c.who)
		if err != nil {
			t.Fatal(err)
		}
		if (m.Name != "") != c.kept {
			t.Errorf("%s: record %+v, kept %v", c.who, m, c.kept)
		}
	}
	es, err := adfilter.Recent(context.Background(), h.Store, bottest.Group, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || !strings.Contains(es[0].Action, "1 members") || es[0].Member != "" {
		t.Errorf("moderation log: %+v", es)
	}
}

func TestRetentionIsValidated(t *testing.T) {
	for _, v := range []string{"-1d", "12h"} {
		_, err := config.Parse("test.yaml", []byte("flows:\n  privacy: { forget_left_after: "+v+" }\n"), engine.Schema(flows(), bottest.Platforms()))
		if err == nil || !strings.Contains(err.Error(), "forget_left_after") {
			t.Errorf("forget_left_after %s: %v", v, err)
		}
	}
}

// Where files cannot go and the data is long (a ledger of many lines),
// /mydata sends counts by kind instead of dozens of messages. The command
// and the group's answer leave the chat after a minute.
func TestMyDataSummaryAndClean(t *testing.T) {
	h := bottest.New(t, flows(), yaml)
	h.Out.Caps &^= bot.CanUpload
	h.Say("bob", "hi")
	for i := range 100 {
		if err := h.Redis.XAdd(context.Background(), &redis.XAddArgs{Stream: h.Store.Key(bottest.Group, "ledger"),
			Values: []any{"member", "bob", "delta", 1, "reason", fmt.Sprint("activity ", i)}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	acts := h.Command("bob", "/mydata", nil)
	dm, notice := mydata(acts)
	if dm == nil || strings.Contains(dm.Text, "{") || !strings.Contains(dm.Text, "ledger (line): 100") || len(dm.Text) > 2000 {
		t.Fatalf("summary: %+v", dm)
	}
	if notice == nil || notice.DeleteAfter != time.Minute {
		t.Errorf("the group's answer stays: %+v", notice)
	}
	h.Advance(time.Minute + time.Second)
	deleted := false
	for _, a := range h.Out.Take() {
		deleted = deleted || a.Type == bot.ActDelete && a.MessageID == "c/mydata"
	}
	if !deleted {
		t.Error("the /mydata command stayed in the chat")
	}
}

// mydata picks /mydata's private message and its notice in the group.
func mydata(acts []bot.Action) (dm, notice *bot.Action) {
	for i := range acts {
		switch acts[i].Type {
		case bot.ActDM:
			dm = &acts[i]
		case bot.ActSend:
			notice = &acts[i]
		}
	}
	return dm, notice
}
