package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/qunbot/qunbot/bot"
)

func chatID(key string) (int64, error) {
	id, ok := strings.CutPrefix(key, "telegram:")
	if !ok {
		return 0, fmt.Errorf("not a telegram chat: %q", key)
	}
	return strconv.ParseInt(id, 10, 64)
}

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

func keyboard(rows [][]bot.ButtonSpec) string {
	kb := make([][]inlineButton, 0, len(rows))
	for _, r := range rows {
		row := make([]inlineButton, 0, len(r))
		for _, b := range r {
			row = append(row, inlineButton{Text: b.Text, CallbackData: b.Data, URL: b.URL})
		}
		kb = append(kb, row)
	}
	out, _ := json.Marshal(map[string]any{"inline_keyboard": kb})
	return string(out)
}

// Do implements bot.Adapter: one action, one (or two, for a kick) Bot API
// calls. All text is sent with parse_mode HTML and fully escaped, so
// nothing a member wrote (a name, an answer) can inject markup.
func (a *Adapter) Do(ctx context.Context, act bot.Action) (bot.Result, error) {
	if reason, ok := a.isInactive(act.Chat); ok && act.Type != bot.ActDM {
		return bot.Result{}, fmt.Errorf("telegram %s in %s: %w (%s)", act.Type, act.Chat, ErrInactive, reason)
	}
	switch act.Type {
	case bot.ActSend, bot.ActDM:
		return a.send(ctx, act)
	case bot.ActAnswerPress:
		if act.CallbackID == "" {
			return bot.Result{}, nil
		}
		p := tgbotapi.Params{"callback_query_id": act.CallbackID}
		p.AddNonEmpty("text", act.Text)
		return bot.Result{}, a.call(ctx, "answerCallbackQuery", "", p, nil)
	}
	cid, err := chatID(act.Chat)
	if err != nil {
		return bot.Result{}, fmt.Errorf("telegram %s: %w", act.Type, err)
	}
	p := tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10)}
	p.AddNonEmpty("user_id", act.Member.ID)
	switch act.Type {
	case bot.ActDelete:
		p["message_id"] = act.MessageID
		return bot.Result{}, a.call(ctx, "deleteMessage", act.Chat, p, nil)
	case bot.ActPin:
		p["message_id"] = act.MessageID
		p["disable_notification"] = "true"
		return bot.Result{}, a.call(ctx, "pinChatMessage", act.Chat, p, nil)
	case bot.ActRestrict:
		perms := tgbotapi.ChatPermissions{CanSendMessages: act.AllowText}
		b, _ := json.Marshal(perms)
		p["permissions"] = string(b)
		p["use_independent_chat_permissions"] = "true"
		p.AddNonZero64("until_date", untilDate(act.Until, a.now()))
		return bot.Result{}, a.call(ctx, "restrictChatMember", act.Chat, p, nil)
	case bot.ActUnrestrict:
		perms, err := a.defaultPermissions(ctx, act.Chat)
		if err != nil {
			return bot.Result{}, err
		}
		b, _ := json.Marshal(perms)
		p["permissions"] = string(b)
		return bot.Result{}, a.call(ctx, "restrictChatMember", act.Chat, p, nil)
	case bot.ActKick:
		// Telegram has no kick: ban, then lift the ban so they may rejoin.
		if err := a.call(ctx, "banChatMember", act.Chat, p, nil); err != nil {
			return bot.Result{}, err
		}
		p["only_if_banned"] = "true"
		return bot.Result{}, a.call(ctx, "unbanChatMember", act.Chat, p, nil)
	case bot.ActBan:
		p.AddNonZero64("until_date", untilDate(act.Until, a.now()))
		return bot.Result{}, a.call(ctx, "banChatMember", act.Chat, p, nil)
	case bot.ActUnban:
		p["only_if_banned"] = "true"
		return bot.Result{}, a.call(ctx, "unbanChatMember", act.Chat, p, nil)
	case bot.ActApprove:
		return bot.Result{}, a.call(ctx, "approveChatJoinRequest", act.Chat, p, nil)
	case bot.ActDecline:
		return bot.Result{}, a.call(ctx, "declineChatJoinRequest", act.Chat, p, nil)
	}
	return bot.Result{}, fmt.Errorf("telegram: action %q: %w", act.Type, bot.ErrUnsupported)
}

// untilDate converts an end time for restrictChatMember/banChatMember.
// Telegram treats less than 30 s or more than 366 days from now as
// forever: a short one is stretched to 31 s rather than turned permanent.
func untilDate(until, now time.Time) int64 {
	if until.IsZero() {
		return 0
	}
	d := until.Sub(now)
	switch {
	case d < 31*time.Second:
		return now.Add(31 * time.Second).Unix()
	case d > 366*24*time.Hour:
		return 0
	}
	return until.Unix()
}

func (a *Adapter) send(ctx context.Context, act bot.Action) (bot.Result, error) {
	target := act.Chat
	if act.Type == bot.ActDM {
		uid, err := strconv.ParseInt(act.Member.ID, 10, 64)
		if err != nil {
			return bot.Result{}, fmt.Errorf("telegram dm: member id %q: %w", act.Member.ID, err)
		}
		target = chatKey(uid) // a private chat's id is the user's id
	}
	cid, err := chatID(target)
	if err != nil {
		return bot.Result{}, fmt.Errorf("telegram send: %w", err)
	}
	p := tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10), "text": mentionLink(act), "parse_mode": "HTML",
		"disable_web_page_preview": "true"}
	if act.ReplyTo != "" && act.Type == bot.ActSend {
		p["reply_to_message_id"] = act.ReplyTo
		p["allow_sending_without_reply"] = "true"
	}
	if len(act.Buttons) > 0 {
		p["reply_markup"] = keyboard(act.Buttons)
	}
	method := "sendMessage"
	switch {
	case act.Image != "" && utf8.RuneCountInString(act.Text) > maxCaption:
		// too long for a caption: the text, with the picture as its link
		// preview, loses nothing
		p["text"] = html.EscapeString(act.Text) + "\n" + html.EscapeString(act.Image)
		delete(p, "disable_web_page_preview")
	case act.Image != "":
		// a picture with the text as its caption
		method = "sendPhoto"
		p["photo"] = act.Image
		p["caption"] = p["text"]
		delete(p, "text")
		delete(p, "disable_web_page_preview")
	}
	var msg tgbotapi.Message
	if len(act.ImagePNG) > 0 && act.Image == "" && utf8.RuneCountInString(act.Text) <= maxCaption {
		// a picture qunbot drew, uploaded, with the text as its caption
		p["caption"] = p["text"]
		delete(p, "text")
		delete(p, "disable_web_page_preview")
		file := tgbotapi.RequestFile{Name: "photo", Data: tgbotapi.FileBytes{Name: "chart.png", Bytes: act.ImagePNG}}
		err := a.upload(ctx, "sendPhoto", target, p, []tgbotapi.RequestFile{file}, &msg)
		if !errors.Is(err, bot.ErrUnsupported) {
			if err != nil {
				return bot.Result{}, err
			}
			return bot.Result{MessageID: strconv.Itoa(msg.MessageID), Chat: target}, nil
		}
		p["text"] = p["caption"] // the text alone
		delete(p, "caption")
	}
	if err := a.call(ctx, method, target, p, &msg); err != nil {
		return bot.Result{}, err
	}
	return bot.Result{MessageID: strconv.Itoa(msg.MessageID), Chat: target}, nil
}

// mentionLink escapes the text and, for a member without a @username,
// turns the first appearance of their name into a mention link, so they
// are notified as a @username would be.
func mentionLink(act bot.Action) string {
	text := html.EscapeString(act.Text)
	m := act.Member
	if act.Type != bot.ActSend || m.Username != "" || m.Name == "" {
		return text
	}
	if _, err := strconv.ParseInt(m.ID, 10, 64); err != nil {
		return text
	}
	name := html.EscapeString(m.Name)
	i := strings.Index(text, name)
	if i < 0 {
		return text
	}
	return text[:i] + `<a href="tg://user?id=` + m.ID + `">` + name + `</a>` + text[i+len(name):]
}

// maxCaption is Telegram's limit on a photo caption (sendMessage allows
// 4096).
const maxCaption = 1024

// defaultPermissions are the group's own member permissions (getChat),
// which lifting a restriction restores; cached with the admin list.
func (a *Adapter) defaultPermissions(ctx context.Context, chat string) (*tgbotapi.ChatPermissions, error) {
	a.mu.Lock()
	if p, ok := a.perms[chat]; ok && a.now().Before(p.expires) {
		a.mu.Unlock()
		return p.perms, nil
	}
	a.mu.Unlock()
	cid, err := chatID(chat)
	if err != nil {
		return nil, err
	}
	var c tgbotapi.Chat
	if err := a.call(ctx, "getChat", chat, tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10)}, &c); err != nil {
		return nil, err
	}
	perms := c.Permissions
	if perms == nil { // not reported: allow what a member of a fresh group may do
		perms = &tgbotapi.ChatPermissions{CanSendMessages: true, CanSendMediaMessages: true, CanSendPolls: true,
			CanSendOtherMessages: true, CanAddWebPagePreviews: true, CanInviteUsers: true}
	}
	a.mu.Lock()
	a.perms[chat] = cachedPerms{perms: perms, expires: a.now().Add(a.cfg.AdminsTTL.D())}
	a.mu.Unlock()
	return perms, nil
}

// InviteLink creates a personal invite link for a member (invite tracking):
// createChatInviteLink named after the member.
func (a *Adapter) InviteLink(ctx context.Context, chat, memberID, name string) (string, error) {
	cid, err := chatID(chat)
	if err != nil {
		return "", err
	}
	p := tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10), "name": truncate("qb:"+memberID+" "+name, 32)}
	var link tgbotapi.ChatInviteLink
	if err := a.call(ctx, "createChatInviteLink", chat, p, &link); err != nil {
		return "", err
	}
	return link.InviteLink, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
