package telegram

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

func chatKey(id int64) string { return "telegram:" + strconv.FormatInt(id, 10) }

func member(u *tgbotapi.User) bot.Member {
	if u == nil || u.ID <= 0 {
		// users' ids are positive; a negative one is a chat's (see
		// sender), and taken as a user's it would act on that chat
		return bot.Member{}
	}
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" {
		name = u.UserName
	}
	return bot.Member{ID: strconv.FormatInt(u.ID, 10), Name: name, Username: u.UserName, IsBot: u.IsBot}
}

func chat(c *tgbotapi.Chat) bot.Chat {
	if c == nil {
		return bot.Chat{}
	}
	t := bot.ChatGroup
	if c.Type == "private" {
		t = bot.ChatPrivate
	}
	title := c.Title
	if title == "" {
		title = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	return bot.Chat{Key: chatKey(c.ID), Type: t, Title: title}
}

func unix(sec int) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(int64(sec), 0)
}

// membership is what a chat_member status means for presence.
func present(status string, isMember bool) bool {
	switch status {
	case "creator", "administrator", "member":
		return true
	case "restricted":
		return isMember
	}
	return false
}

// translate turns one update into qunbot events. Unknown or malformed
// shapes yield none; nothing here may panic on what Telegram (or an
// attacker posting to the webhook) sends.
func (a *Adapter) translate(u tgbotapi.Update) []bot.Event {
	id := "tg:" + strconv.Itoa(u.UpdateID)
	switch {
	case u.Message != nil:
		return a.fromMessage(id, u.Message, false)
	case u.EditedMessage != nil:
		return a.fromMessage(id, u.EditedMessage, true)
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		if q.From == nil {
			return nil
		}
		ev := bot.Event{ID: id, Kind: bot.EventButton, Platform: "telegram", Member: member(q.From),
			Button: &bot.Button{ID: q.ID, Data: q.Data}, Time: a.now()}
		if q.Message != nil && q.Message.Chat != nil {
			ev.Chat = chat(q.Message.Chat)
			ev.Button.MessageID = strconv.Itoa(q.Message.MessageID)
			ev.MessageID = ev.Button.MessageID
		} else {
			ev.Chat = bot.Chat{Key: chatKey(q.From.ID), Type: bot.ChatPrivate}
		}
		return []bot.Event{ev}
	case u.ChatMember != nil:
		return a.fromChatMember(id, u.ChatMember)
	case u.PollAnswer != nil:
		return a.fromPollAnswer(id, u.PollAnswer)
	case u.MyChatMember != nil:
		a.botMembership(u.MyChatMember)
		return nil
	case u.ChatJoinRequest != nil:
		r := u.ChatJoinRequest
		ev := bot.Event{ID: id, Kind: bot.EventJoinRequest, Platform: "telegram", Chat: chat(&r.Chat),
			Member: member(&r.From), Time: unix(r.Date)}
		if r.InviteLink != nil {
			ev.InviteLink, ev.Source = r.InviteLink.InviteLink, linkSource(r.InviteLink)
		}
		return []bot.Event{ev}
	}
	return nil
}

func (a *Adapter) fromChatMember(id string, cm *tgbotapi.ChatMemberUpdated) []bot.Event {
	if cm.NewChatMember.User == nil {
		return nil
	}
	c := chat(&cm.Chat)
	a.adminChange(c.Key, cm.OldChatMember.Status, cm.NewChatMember.Status)
	if member(cm.NewChatMember.User).ID == "" {
		return nil // not a user's id (see member)
	}
	was := present(cm.OldChatMember.Status, cm.OldChatMember.IsMember)
	is := present(cm.NewChatMember.Status, cm.NewChatMember.IsMember)
	m := member(cm.NewChatMember.User)
	ev := bot.Event{ID: id, Platform: "telegram", Chat: c, Member: m, Time: unix(cm.Date)}
	switch {
	case !was && is:
		ev.Kind = bot.EventJoin
		if by := member(&cm.From); by.ID != "" && by.ID != m.ID {
			by.IsAdmin = a.isAdmin(c.Key, by.ID)
			ev.By = &by
		}
		switch {
		case cm.InviteLink != nil:
			ev.InviteLink, ev.Source = cm.InviteLink.InviteLink, linkSource(cm.InviteLink)
		case ev.By != nil:
			ev.Source = bot.SourceAdded
		}
	case was && !is:
		ev.Kind = bot.EventLeave
	default:
		return nil // a promotion or a restriction: not a join or leave
	}
	ev.Member.IsAdmin = a.isAdmin(c.Key, m.ID)
	return []bot.Event{ev}
}

func (a *Adapter) fromMessage(id string, msg *tgbotapi.Message, edited bool) []bot.Event {
	if msg.Chat == nil || msg.From == nil {
		return nil // channel posts and anonymous admins: nobody to attribute
	}
	c := chat(msg.Chat)
	at := unix(msg.Date)
	if msg.MigrateToChatID != 0 {
		a.migrated(c.Key, msg.MigrateToChatID)
		return nil
	}
	if len(msg.NewChatMembers) > 0 {
		from := member(msg.From)
		var evs []bot.Event
		for i := range msg.NewChatMembers {
			m := member(&msg.NewChatMembers[i])
			if m.ID == "" {
				continue // not a user's id (see member)
			}
			ev := bot.Event{ID: id + ":" + m.ID, Kind: bot.EventJoin, Platform: "telegram", Chat: c, Member: m, Time: at}
			if from.ID != m.ID {
				from.IsAdmin = a.isAdmin(c.Key, from.ID)
				f := from
				ev.By, ev.Source = &f, bot.SourceAdded
			}
			evs = append(evs, ev)
		}
		return append(evs, serviceEvent(id, c, from, msg.MessageID, at))
	}
	if msg.LeftChatMember != nil {
		svc := serviceEvent(id, c, member(msg.From), msg.MessageID, at)
		if m := member(msg.LeftChatMember); m.ID != "" { // else not a user's id (see member)
			return []bot.Event{{ID: id, Kind: bot.EventLeave, Platform: "telegram", Chat: c, Member: m, Time: at}, svc}
		}
		return []bot.Event{svc}
	}
	if msg.IsAutomaticForward {
		// the group's linked channel's post, copied in by Telegram for
		// comments: the operator's own, not a member's (from is the
		// service account 777000, and it is a forward from a channel,
		// which the ad filter and a forwards lock would count against it)
		return nil
	}
	text, entities := msg.Text, msg.Entities
	if text == "" {
		text, entities = msg.Caption, msg.CaptionEntities
	}
	ev := bot.Event{ID: id, Kind: bot.EventMessage, Platform: "telegram", Chat: c, Member: a.sender(msg),
		Text: text, MessageID: strconv.Itoa(msg.MessageID), Time: at, Edited: edited, CommandChecked: true}
	if msg.ReplyToMessage != nil && msg.ReplyToMessage.From != nil {
		r := msg.ReplyToMessage
		rt := r.Text
		if rt == "" {
			rt = r.Caption
		}
		ev.ReplyTo = &bot.Reply{MessageID: strconv.Itoa(r.MessageID), Member: a.sender(r), Text: rt}
	}
	ev.Links, ev.HiddenLinks, ev.Mentions = entityValues(text, entities)
	if msg.ViaBot != nil {
		ev.ViaBot = msg.ViaBot.UserName
		if ev.ViaBot == "" {
			ev.ViaBot = strconv.FormatInt(msg.ViaBot.ID, 10)
		}
	}
	readButtons(&ev, msg.ReplyMarkup)
	ev.Media = media(msg)
	if msg.ForwardFromChat != nil {
		ev.Forward = &bot.Forward{FromChat: chatKey(msg.ForwardFromChat.ID), FromTitle: msg.ForwardFromChat.Title}
	} else if msg.ForwardFrom != nil {
		ev.Forward = &bot.Forward{FromUser: strconv.FormatInt(msg.ForwardFrom.ID, 10), Name: member(msg.ForwardFrom).Name}
	} else if msg.ForwardSenderName != "" {
		ev.Forward = &bot.Forward{Name: msg.ForwardSenderName}
	}
	if !edited && len(entities) > 0 && entities[0].Type == "bot_command" && entities[0].Offset == 0 {
		ev.Command = bot.ParseCommand(text, a.username())
	}
	return []bot.Event{ev}
}

// sender is who a message is from. Messages sent on behalf of a chat
// carry a placeholder user (the Bot API's sender_chat): a channel's are
// from Channel_Bot, an anonymous admin's from GroupAnonymousBot, and
// taken at their word every channel would be one member — one warning
// count, one ban — and every anonymous admin a bot the ad filter judges
// and whose commands are refused. So a channel is a member of its own,
// its chat id (negative, never a user's) for its id, and an anonymous
// admin is an admin: only admins can post as the group. So is the
// group's linked channel, whose admins answer as the channel.
func (a *Adapter) sender(msg *tgbotapi.Message) bot.Member {
	sc := msg.SenderChat
	if sc == nil || sc.ID >= 0 { // a chat's id is negative; a user's is not
		m := member(msg.From)
		m.IsAdmin = msg.Chat != nil && chat(msg.Chat).Type == bot.ChatGroup && a.isAdmin(chatKey(msg.Chat.ID), m.ID)
		return m
	}
	m := member(msg.From)
	if msg.Chat != nil && sc.ID == msg.Chat.ID {
		if msg.AuthorSignature != "" {
			m.Name = msg.AuthorSignature // the admin's custom title, if shown
		}
		// named by that, not as @GroupAnonymousBot (see mentionLink)
		m.Username = ""
		// still a bot to the counts: which admin it was is not known
		m.IsAdmin = true
		return m
	}
	name := strings.TrimSpace(sc.Title)
	if name == "" {
		name = sc.UserName
	}
	m = bot.Member{ID: strconv.FormatInt(sc.ID, 10), Name: name, Username: sc.UserName, IsChannel: true}
	// the group's linked channel is on its admin list (see adminList)
	m.IsAdmin = msg.Chat != nil && a.isAdmin(chatKey(msg.Chat.ID), m.ID)
	return m
}

// fromPollAnswer makes a vote in a poll qunbot sent a button event in the
// poll's chat (a poll_answer names only the poll; the chat was kept when
// it was sent). Votes in other polls are not qunbot's.
func (a *Adapter) fromPollAnswer(id string, pa *tgbotapi.PollAnswer) []bot.Event {
	if pa.User.ID == 0 || pa.PollID == "" || len(pa.OptionIDs) > 10 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ref, err := a.rdb.Get(ctx, a.pollKey(pa.PollID)).Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			a.log.Warn("a poll's chat not read; the vote is dropped", zap.String("poll", pa.PollID), zap.Error(err))
		}
		return nil
	}
	chatKey, poll, ok := strings.Cut(ref, "\n")
	if !ok {
		return nil
	}
	opts := make([]string, len(pa.OptionIDs))
	for i, o := range pa.OptionIDs {
		opts[i] = strconv.Itoa(o)
	}
	return []bot.Event{{ID: id, Kind: bot.EventButton, Platform: "telegram", Chat: bot.Chat{Key: chatKey, Type: bot.ChatGroup},
		Member: member(&pa.User), Button: &bot.Button{Data: "poll:ans:" + poll + ":" + strings.Join(opts, ",")}, Time: a.now()}}
}

// maxButtons bounds the buttons read from one message (Telegram allows
// 100): a keyboard is the sender's to make as large as it likes.
const maxButtons = 100

// readButtons reads the inline keyboard of a member's message (one sent
// via an inline bot, the only way a member's message carries one) into
// ev: the buttons' texts, and their URLs as links hidden behind text. Ads
// come so: a harmless line and a "Join" button to an invite link. Login
// buttons arrive as URL buttons (the Bot API says so); callback and other
// buttons hold no link.
func readButtons(ev *bot.Event, km *tgbotapi.InlineKeyboardMarkup) {
	if km == nil {
		return
	}
	for _, row := range km.InlineKeyboard {
		for _, b := range row {
			if len(ev.Buttons) == maxButtons {
				return
			}
			ev.Buttons = append(ev.Buttons, b.Text)
			if b.URL != nil && *b.URL != "" {
				ev.Links, ev.HiddenLinks = append(ev.Links, *b.URL), append(ev.HiddenLinks, *b.URL)
			}
		}
	}
}

// media names what a message carries besides text, in /lock's words. An
// animation also fills Document (the Bot API says so), so it is asked
// first.
func media(msg *tgbotapi.Message) bot.Media {
	switch {
	case msg.Animation != nil:
		return bot.MediaGIF
	case len(msg.Photo) > 0:
		return bot.MediaPhoto
	case msg.Video != nil:
		return bot.MediaVideo
	case msg.Sticker != nil:
		return bot.MediaSticker
	case msg.Voice != nil, msg.VideoNote != nil:
		return bot.MediaVoice
	case msg.Audio != nil:
		return bot.MediaAudio
	case msg.Document != nil:
		return bot.MediaDocument
	case msg.Poll != nil:
		return bot.MediaPoll
	case msg.Contact != nil:
		return bot.MediaContact
	case msg.Location != nil, msg.Venue != nil:
		return bot.MediaLocation
	case msg.Dice != nil, msg.Game != nil:
		return bot.MediaGame
	}
	return ""
}

// entityValues reads URLs (visible and text_link), and @mentions. Entity
// offsets count UTF-16 code units, as the Bot API documents.
func entityValues(text string, entities []tgbotapi.MessageEntity) (links, hidden, mentions []string) {
	u := utf16.Encode([]rune(text))
	slice := func(e tgbotapi.MessageEntity) string {
		if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > len(u) {
			return ""
		}
		return string(utf16.Decode(u[e.Offset : e.Offset+e.Length]))
	}
	for _, e := range entities {
		switch e.Type {
		case "url":
			if s := slice(e); s != "" {
				links = append(links, s)
			}
		case "text_link":
			if e.URL != "" {
				links = append(links, e.URL)
				hidden = append(hidden, e.URL)
			}
		case "mention":
			if s := slice(e); s != "" {
				mentions = append(mentions, strings.TrimPrefix(s, "@"))
			}
		case "text_mention":
			if e.User != nil {
				mentions = append(mentions, strconv.FormatInt(e.User.ID, 10))
			}
		}
	}
	return links, hidden, mentions
}

// serviceEvent is the service message itself ("Ann joined the group"), so
// a group that locks service notices can have it deleted.
func serviceEvent(id string, c bot.Chat, by bot.Member, messageID int, at time.Time) bot.Event {
	return bot.Event{ID: id + ":svc", Kind: bot.EventService, Platform: "telegram", Chat: c, Member: by,
		MessageID: strconv.Itoa(messageID), Time: at}
}

// linkSource is the join source an invite link stands for: its name, as
// whoever created it gave it ("poster-a"); a member's personal link
// (named "qb:<id> <name>" by InviteLink) as members' invites, so no
// invitee's record names the inviter; an unnamed link as the group's
// link (another admin's link reaches bots cut short, "https://t.me/+AbC…",
// so its URL would name nothing).
func linkSource(l *tgbotapi.ChatInviteLink) string {
	switch {
	case strings.HasPrefix(l.Name, "qb:"):
		return bot.SourceInvite
	case l.Name != "":
		return l.Name
	}
	return bot.SourceLink
}
