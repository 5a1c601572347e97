package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"html"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/state"
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
	switch {
	case !isChannel(act.Member):
		p.AddNonEmpty("user_id", act.Member.ID)
	case act.Type == bot.ActBan || act.Type == bot.ActUnban || act.Type == bot.ActKick || act.Type == bot.ActRestrict ||
		act.Type == bot.ActUnrestrict || act.Type == bot.ActApprove || act.Type == bot.ActDecline:
		return bot.Result{}, a.actOnChannel(ctx, act, p)
	}
	switch act.Type {
	case bot.ActDelete:
		p["message_id"] = act.MessageID
		return bot.Result{}, a.call(ctx, "deleteMessage", act.Chat, p, nil)
	case bot.ActPin:
		p["message_id"] = act.MessageID
		p["disable_notification"] = "true"
		return bot.Result{}, a.call(ctx, "pinChatMessage", act.Chat, p, nil)
	case bot.ActUnpin:
		// without a message id Telegram unpins the latest pinned one
		p.AddNonEmpty("message_id", act.MessageID)
		return bot.Result{}, a.call(ctx, "unpinChatMessage", act.Chat, p, nil)
	case bot.ActPoll:
		p.AddNonEmpty("message_thread_id", act.Thread)
		return a.sendPoll(ctx, act, p)
	case bot.ActClosePoll:
		p["message_id"] = act.MessageID
		return bot.Result{}, a.call(ctx, "stopPoll", act.Chat, p, nil)
	case bot.ActCloseChat:
		return bot.Result{}, a.closeChat(ctx, act.Chat, p)
	case bot.ActOpenChat:
		return bot.Result{}, a.openChat(ctx, act.Chat, p)
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

// DeleteMessages implements outbox.BatchDeleter: deleteMessages (Bot API
// 7.0) removes up to 100 of a chat's messages in one call, skipping those
// already gone. A server without the method (an older self-hosted Bot API
// server, an emulator) answers 404 or not as the Bot API: that is
// ErrUnsupported, and the outbox goes back to one call a message.
func (a *Adapter) DeleteMessages(ctx context.Context, chat string, messageIDs []string) error {
	if reason, ok := a.isInactive(chat); ok {
		return fmt.Errorf("telegram deleteMessages in %s: %w (%s)", chat, ErrInactive, reason)
	}
	cid, err := chatID(chat)
	if err != nil {
		return fmt.Errorf("telegram deleteMessages: %w", err)
	}
	ids := make([]int64, len(messageIDs))
	for i, m := range messageIDs {
		if ids[i], err = strconv.ParseInt(m, 10, 64); err != nil {
			return fmt.Errorf("telegram deleteMessages: message id %q: %w", m, err)
		}
	}
	b, _ := json.Marshal(ids)
	err = a.call(ctx, "deleteMessages", chat, tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10), "message_ids": string(b)}, nil)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Code == 404 || ae.Code == 0 && strings.Contains(ae.Desc, "not a Bot API answer")) {
		return fmt.Errorf("%w: %w", err, bot.ErrUnsupported)
	}
	return err
}

// anonymousAdmin is GroupAnonymousBot, whom an anonymous admin's
// messages are from (see Adapter.sender).
const anonymousAdmin = "1087968824"

// isChannel reports whether an action's member is a channel that spoke
// in the group (see Adapter.sender): its id is a chat's, and chats' ids
// are negative where users' are not, so an id alone — a moderator's
// /ban -1001234567890 — tells it too.
func isChannel(m bot.Member) bool { return m.IsChannel || strings.HasPrefix(m.ID, "-") }

// actOnChannel does to a channel what can be done to one: a ban keeps it
// from posting in the group (banChatSenderChat; Telegram's is until
// lifted, so a ban for a while is one for good). Muting and kicking are
// a member's, and flows do not ask them for a channel (Capability.For);
// asked anyway, it says so rather than call a method that would act on
// no one. Its messages are deleted as anyone's.
func (a *Adapter) actOnChannel(ctx context.Context, act bot.Action, p tgbotapi.Params) error {
	p["sender_chat_id"] = act.Member.ID
	switch act.Type {
	case bot.ActBan:
		return a.call(ctx, "banChatSenderChat", act.Chat, p, nil)
	case bot.ActUnban:
		return a.call(ctx, "unbanChatSenderChat", act.Chat, p, nil)
	}
	return fmt.Errorf("telegram %s of channel %s: a channel is not a member: %w", act.Type, act.Member.ID, bot.ErrUnsupported)
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
		if isChannel(act.Member) {
			// a channel has no private chat: its id would send into the
			// channel itself; the flow's fallback goes to the group
			return bot.Result{}, fmt.Errorf("telegram dm to channel %s: %w", act.Member.ID, bot.ErrUnreachable)
		}
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
	if act.Type == bot.ActSend {
		// in a forum topic (a DM has none); a reply would find its topic
		// alone, but a notice whose message was deleted would not
		p.AddNonEmpty("message_thread_id", act.Thread)
	}
	if len(act.Buttons) > 0 {
		p["reply_markup"] = keyboard(act.Buttons)
	}
	method := "sendMessage"
	raw := act.Text // the text as Telegram will count it
	switch {
	case act.Image != "" && utf16Len(act.Text) > maxCaption:
		// too long for a caption: the text, with the picture as its link
		// preview, loses nothing
		raw = act.Text + "\n" + act.Image
		p["text"] = html.EscapeString(raw)
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
	if act.File != nil && utf16Len(act.Text) <= maxCaption {
		// a document qunbot made (an export), the text as its caption
		p["caption"] = p["text"]
		delete(p, "text")
		delete(p, "disable_web_page_preview")
		file := tgbotapi.RequestFile{Name: "document", Data: tgbotapi.FileBytes{Name: act.File.Name, Bytes: act.File.Data}}
		if err := a.upload(ctx, "sendDocument", target, p, []tgbotapi.RequestFile{file}, &msg); err != nil {
			return bot.Result{}, err
		}
		return bot.Result{MessageID: strconv.Itoa(msg.MessageID), Chat: target}, nil
	}
	if len(act.ImagePNG) > 0 && act.Image == "" && utf16Len(act.Text) <= maxCaption {
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
	if method == "sendMessage" && utf16Len(raw) > maxText {
		return a.sendParts(ctx, act, target, raw, p)
	}
	if err := a.call(ctx, method, target, p, &msg); err != nil {
		return bot.Result{}, err
	}
	return bot.Result{MessageID: strconv.Itoa(msg.MessageID), Chat: target}, nil
}

// sendParts sends a text over Telegram's limit as several messages: the
// first answers what the action answers, the last carries the buttons (so
// a press names it) and is the result; the others are its Earlier parts,
// deleted and pinned with it.
//
// The parts sent so far are kept in Redis until the last is: a failure
// part way (a 429 on a later part, as one action may spend more of the
// group's 20 a minute than the outbox counted; a crash) is retried by the
// outbox, on this replica or another, and the retry resumes after them
// rather than show them twice. Without Redis it sends them all again,
// which loses less than the message.
func (a *Adapter) sendParts(ctx context.Context, act bot.Action, target, raw string, p tgbotapi.Params) (bot.Result, error) {
	parts := splitText(raw, maxText)
	key := a.partsKey(act, target, raw)
	var res bot.Result
	sent, err := a.rdb.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		a.log.Warn("parts already sent unknown; a long message is sent whole", zap.String("chat", target), zap.Error(err))
		sent = nil
	}
	if len(sent) >= len(parts) {
		sent = nil // not this message's (a hash collision, or split otherwise)
	}
	for i, id := range sent {
		if i > 0 {
			res.Earlier = append(res.Earlier, res.MessageID)
		}
		res.MessageID = id
	}
	for i := len(sent); i < len(parts); i++ {
		part := parts[i]
		q := tgbotapi.Params{}
		for k, v := range p {
			q[k] = v
		}
		one := act
		one.Text = part
		q["text"] = mentionLink(one)
		if i > 0 {
			delete(q, "reply_to_message_id")
			delete(q, "allow_sending_without_reply")
		}
		if i < len(parts)-1 {
			delete(q, "reply_markup")
		}
		var msg tgbotapi.Message
		if err := a.call(ctx, "sendMessage", target, q, &msg); err != nil {
			return bot.Result{}, fmt.Errorf("telegram: part %d of %d: %w", i+1, len(parts), err)
		}
		if i > 0 {
			res.Earlier = append(res.Earlier, res.MessageID)
		}
		res.MessageID = strconv.Itoa(msg.MessageID)
		if i < len(parts)-1 {
			pipe := a.rdb.TxPipeline()
			pipe.RPush(ctx, key, res.MessageID)
			pipe.PExpire(ctx, key, partsTTL)
			if _, err := pipe.Exec(ctx); err != nil {
				a.log.Warn("a sent part not recorded; a retry may repeat it", zap.String("chat", target), zap.Error(err))
			}
		}
	}
	if len(parts) > 1 {
		if err := a.rdb.Del(ctx, key).Err(); err != nil {
			a.log.Warn("parts record not removed; it expires", zap.String("key", key), zap.Error(err))
		}
	}
	res.Chat = target
	return res, nil
}

// partsTTL bounds how long a message part way through its parts waits for
// its retry: longer than any retry_after or restart, short enough that the
// same text sent again later (a repeated post) starts afresh even if its
// record was never removed.
const partsTTL = time.Hour

// partsKey names the record of a long message's parts sent so far: by the
// update and place the action answers (stable across retries and
// replicas), or for scheduled messages by chat and text.
func (a *Adapter) partsKey(act bot.Action, target, raw string) string {
	h := fnv.New64a()
	h.Write([]byte(act.Origin + "\x00" + target + "\x00" + raw))
	return a.store.GlobalKey("tg", "parts", strconv.FormatUint(h.Sum64(), 36))
}

// mentionLink escapes the text and turns the names of members without a
// @username into mention links, so they are notified as a @username would
// be: the action's Member at the first appearance of their name, then
// each of Mentioned in order, each after the one before. Names are found
// in the text as written and escaped with it, so a name never lands
// inside an HTML entity.
func mentionLink(act bot.Action) string {
	if act.Type != bot.ActSend {
		return html.EscapeString(act.Text)
	}
	var b strings.Builder
	rest := act.Text
	linked := map[string]bool{}
	link := func(m bot.Member) {
		if m.Username != "" || strings.TrimSpace(m.Name) == "" || linked[m.ID] || isChannel(m) || m.ID == anonymousAdmin {
			return // a channel, or an anonymous admin, is no user for tg://user to name
		}
		if _, err := strconv.ParseInt(m.ID, 10, 64); err != nil {
			return
		}
		i := strings.Index(rest, m.Name)
		if i < 0 {
			return
		}
		linked[m.ID] = true
		b.WriteString(html.EscapeString(rest[:i]))
		b.WriteString(`<a href="tg://user?id=` + m.ID + `">` + html.EscapeString(m.Name) + `</a>`)
		rest = rest[i+len(m.Name):]
	}
	link(act.Member)
	for _, m := range act.Mentioned {
		link(m)
	}
	b.WriteString(html.EscapeString(rest))
	return b.String()
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

// sendPoll sends a native poll and keeps which chat and flow poll its
// Telegram id belongs to: a poll_answer names only the poll.
func (a *Adapter) sendPoll(ctx context.Context, act bot.Action, p tgbotapi.Params) (bot.Result, error) {
	if act.Poll == nil {
		return bot.Result{}, fmt.Errorf("telegram poll: no poll")
	}
	delete(p, "user_id")
	opts := make([]map[string]string, len(act.Poll.Options))
	for i, o := range act.Poll.Options {
		opts[i] = map[string]string{"text": o} // InputPollOption (Bot API 7.3)
	}
	b, _ := json.Marshal(opts)
	p["question"] = act.Poll.Question
	p["options"] = string(b)
	p["is_anonymous"] = strconv.FormatBool(act.Poll.Anonymous)
	p["allows_multiple_answers"] = strconv.FormatBool(act.Poll.Multiple)
	var msg struct {
		MessageID int `json:"message_id"`
		Poll      *struct {
			ID string `json:"id"`
		} `json:"poll"`
	}
	if err := a.call(ctx, "sendPoll", act.Chat, p, &msg); err != nil {
		return bot.Result{}, err
	}
	if msg.Poll != nil && msg.Poll.ID != "" {
		if err := a.rdb.Set(ctx, a.pollKey(msg.Poll.ID), act.Chat+"\n"+act.Poll.ID, 90*24*time.Hour).Err(); err != nil {
			return bot.Result{}, fmt.Errorf("%w: keep a poll's id: %w", state.ErrRedis, err)
		}
	}
	return bot.Result{MessageID: strconv.Itoa(msg.MessageID)}, nil
}

func (a *Adapter) pollKey(id string) string { return a.store.GlobalKey("tg", "poll", id) }

// closeChat takes members' right to post (night mode). The permissions
// the group had are kept in Redis first, as the Bot API wrote them (the
// library's struct lacks the per-media fields of Bot API 6.5+), so opening
// gives back exactly those, from any replica and after a restart. Closing
// a closed group keeps what was kept before: "closed" is never the way
// back.
func (a *Adapter) closeChat(ctx context.Context, chat string, p tgbotapi.Params) error {
	var c struct {
		Permissions json.RawMessage `json:"permissions"`
	}
	if err := a.call(ctx, "getChat", chat, tgbotapi.Params{"chat_id": p["chat_id"]}, &c); err != nil {
		return err
	}
	if len(c.Permissions) > 0 && mayPost(c.Permissions) {
		if err := a.rdb.Set(ctx, a.nightKey(chat), []byte(c.Permissions), 0).Err(); err != nil {
			return fmt.Errorf("%w: keep the permissions of %s before closing it: %w", state.ErrRedis, chat, err)
		}
	}
	p["permissions"] = `{"can_send_messages":false,"can_send_audios":false,"can_send_documents":false,"can_send_photos":false,` +
		`"can_send_videos":false,"can_send_video_notes":false,"can_send_voice_notes":false,"can_send_polls":false,` +
		`"can_send_other_messages":false,"can_add_web_page_previews":false}`
	p["use_independent_chat_permissions"] = "true"
	a.forgetPermissions(chat)
	return a.call(ctx, "setChatPermissions", chat, p, nil)
}

// openChat gives back the permissions kept when the group was closed, or
// those of a fresh group when none were kept (closed by hand).
func (a *Adapter) openChat(ctx context.Context, chat string, p tgbotapi.Params) error {
	perms := `{"can_send_messages":true,"can_send_audios":true,"can_send_documents":true,"can_send_photos":true,` +
		`"can_send_videos":true,"can_send_video_notes":true,"can_send_voice_notes":true,"can_send_polls":true,` +
		`"can_send_other_messages":true,"can_add_web_page_previews":true,"can_invite_users":true}`
	kept, err := a.rdb.Get(ctx, a.nightKey(chat)).Result()
	switch {
	case err == nil && json.Valid([]byte(kept)):
		perms = kept
	case err == nil:
		a.log.Warn("kept permissions unreadable; opening with a fresh group's", zap.String("chat", chat))
	case !errors.Is(err, redis.Nil):
		return fmt.Errorf("%w: read the permissions of %s before it was closed: %w", state.ErrRedis, chat, err)
	}
	p["permissions"] = perms
	// per-media fields present: set them as they are, none implied by another
	if strings.Contains(perms, "can_send_photos") {
		p["use_independent_chat_permissions"] = "true"
	}
	a.forgetPermissions(chat)
	if err := a.call(ctx, "setChatPermissions", chat, p, nil); err != nil {
		return err
	}
	if err := a.rdb.Del(ctx, a.nightKey(chat)).Err(); err != nil {
		return fmt.Errorf("%w: %w", state.ErrRedis, err)
	}
	return nil
}

func (a *Adapter) nightKey(chat string) string { return a.store.GlobalKey("tg", "closed", chat) }

func (a *Adapter) forgetPermissions(chat string) {
	a.mu.Lock()
	delete(a.perms, chat)
	a.mu.Unlock()
}

// mayPost reports whether members may post anything under a chat's
// permissions as the Bot API wrote them.
func mayPost(raw json.RawMessage) bool {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k, v := range m {
		if b, ok := v.(bool); ok && b && strings.HasPrefix(k, "can_send_") {
			return true
		}
	}
	return false
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

// SourceLink creates an invite link named after a join source
// (createChatInviteLink with name): joins through it carry the name as
// their source (see linkSource).
func (a *Adapter) SourceLink(ctx context.Context, chat, name string) (string, error) {
	cid, err := chatID(chat)
	if err != nil {
		return "", err
	}
	p := tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10), "name": name}
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
