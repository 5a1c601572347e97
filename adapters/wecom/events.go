package wecom

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot"
)

// Chat keys. WeCom has several kinds of group, with different powers; the
// key says which, so Capabilities can answer per chat.
const (
	kindCustomer = "ext"  // customer group (客户群): wecom:ext:<chat_id>
	kindApp      = "app"  // internal group created by the app: wecom:app:<chatid>
	kindBot      = "bot"  // a group with the AI bot: wecom:bot:<chatid>
	kindHook     = "hook" // a group robot webhook: wecom:hook:<name>
)

func chatKey(kind, id string) string { return "wecom:" + kind + ":" + id }

// privateKey is a staff member's or customer's private chat with qunbot.
func privateKey(user string) string { return "wecom:@" + user }

// chatKind splits a chat key.
func chatKind(key string) (kind, id string) {
	rest, ok := strings.CutPrefix(key, "wecom:")
	if !ok {
		return "", ""
	}
	if u, ok := strings.CutPrefix(rest, "@"); ok {
		return "@", u
	}
	kind, id, _ = strings.Cut(rest, ":")
	return kind, id
}

// envelope is the outer XML of app and customer-contact callbacks.
type envelope struct {
	ToUserName string `xml:"ToUserName"`
	AgentID    string `xml:"AgentID"`
	Encrypt    string `xml:"Encrypt"`
}

// callbackXML is the decrypted XML of app and customer-contact callbacks:
// the fields qunbot reads, including the customer-group ones silenceper's
// externalcontact callback drops.
type callbackXML struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Event        string `xml:"Event"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"`
	AgentID      string `xml:"AgentID"`
	// change_external_chat
	ChatID       string   `xml:"ChatId"`
	ChangeType   string   `xml:"ChangeType"`   // create, update, dismiss
	UpdateDetail string   `xml:"UpdateDetail"` // add_member, del_member, change_owner, ...
	JoinScene    int      `xml:"JoinScene"`
	QuitScene    int      `xml:"QuitScene"` // 0 left by themselves, 1 removed by the owner
	MemChangeCnt int      `xml:"MemChangeCnt"`
	MemChange    []string `xml:"MemChangeList>Item"`
	LastMemVer   string   `xml:"LastMemVer"`
	CurMemVer    string   `xml:"CurMemVer"`
}

// aibotMsg is the decrypted JSON of an AI bot callback.
type aibotMsg struct {
	MsgID       string `json:"msgid"`
	AIBotID     string `json:"aibotid"`
	ChatID      string `json:"chatid"`
	ChatType    string `json:"chattype"` // single or group
	ResponseURL string `json:"response_url"`
	MsgType     string `json:"msgtype"`
	From        struct {
		UserID string `json:"userid"`
	} `json:"from"`
	Text struct {
		Content string `json:"content"`
	} `json:"text"`
}

var errNoEvent = errors.New("nothing qunbot handles")

// parseXML decodes a decrypted app or customer-contact callback into
// events. Unknown kinds yield errNoEvent (acknowledged, not processed).
func parseXML(data []byte, now time.Time) ([]bot.Event, *callbackXML, error) {
	var m callbackXML
	if err := xml.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("wecom callback XML: %w", err)
	}
	at := now
	if m.CreateTime > 0 {
		at = time.Unix(m.CreateTime, 0)
	}
	switch {
	case m.MsgType == "text" && m.FromUserName != "":
		// a staff member writing to the app: a private chat (commands)
		id := m.MsgID
		if id == "" {
			id = m.FromUserName + ":" + strconv.FormatInt(m.CreateTime, 10)
		}
		return []bot.Event{{
			ID: "app:" + id, Kind: bot.EventMessage, Platform: "wecom",
			Chat:   bot.Chat{Key: privateKey(m.FromUserName), Type: bot.ChatPrivate},
			Member: bot.Member{ID: m.FromUserName, Name: m.FromUserName}, Text: m.Content, MessageID: m.MsgID, Time: at,
		}}, &m, nil
	case m.MsgType == "event" && m.Event == "change_external_chat" && m.ChatID != "":
		if m.ChangeType != "update" || (m.UpdateDetail != "add_member" && m.UpdateDetail != "del_member") {
			return nil, &m, nil // create/dismiss/owner changes: reconciled, no member events
		}
		kind, verb := bot.EventJoin, "join"
		if m.UpdateDetail == "del_member" {
			kind, verb = bot.EventLeave, "leave"
		}
		var evs []bot.Event
		seen := map[string]bool{}
		for _, u := range m.MemChange {
			u = strings.TrimSpace(u)
			if u == "" || seen[u] {
				continue
			}
			seen[u] = true
			evs = append(evs, bot.Event{
				// one event per member and member version: a redelivered
				// callback is the same update
				ID: "ext:" + m.ChatID + ":" + m.CurMemVer + ":" + verb + ":" + u, Kind: kind, Platform: "wecom",
				Chat: bot.Chat{Key: chatKey(kindCustomer, m.ChatID), Type: bot.ChatGroup}, Member: bot.Member{ID: u, Name: u}, Time: at,
			})
		}
		return evs, &m, nil
	}
	return nil, &m, errNoEvent
}

// parseAIBot decodes a decrypted AI bot callback into an event; the
// @-mention of the bot is taken off the text so commands parse.
func parseAIBot(data []byte, now time.Time) (*bot.Event, *aibotMsg, error) {
	var m aibotMsg
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, fmt.Errorf("wecom AI bot JSON: %w", err)
	}
	if m.MsgType != "text" || m.From.UserID == "" || m.MsgID == "" {
		return nil, &m, errNoEvent
	}
	text := strings.TrimSpace(m.Text.Content)
	if strings.HasPrefix(text, "@") {
		// "@机器人 签到": drop the leading mention
		if i := strings.IndexAny(text, " \u2005\u00a0"); i > 0 {
			text = strings.TrimSpace(text[i:])
		} else {
			text = ""
		}
	}
	ev := &bot.Event{ID: "bot:" + m.MsgID, Kind: bot.EventMessage, Platform: "wecom", Text: text, MessageID: m.MsgID,
		Member: bot.Member{ID: m.From.UserID, Name: m.From.UserID}, Time: now}
	if m.ChatType == "group" && m.ChatID != "" {
		ev.Chat = bot.Chat{Key: chatKey(kindBot, m.ChatID), Type: bot.ChatGroup}
	} else {
		ev.Chat = bot.Chat{Key: chatKey(kindBot, "@"+m.From.UserID), Type: bot.ChatPrivate}
	}
	return ev, &m, nil
}
