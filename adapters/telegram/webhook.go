package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/inbox"
)

// WebhookHandler receives Telegram's POSTs. It checks the secret token
// header before reading anything, refuses oversized and malformed bodies,
// and answers as soon as the update is stored in the Redis inbox (Redis
// away: 503, and Telegram retries later); updates are processed in the
// background, and one a dying process was handling is handled again at the
// next start. Behind a load balancer every replica may receive updates:
// the engine's Redis de-duplication makes a retried update count once.
func (a *Adapter) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		if subtle.ConstantTimeCompare([]byte(got), []byte(a.cfg.Webhook.Secret.Reveal())) != 1 {
			a.log.Warn("webhook request with a wrong secret token refused", zap.String("remote", r.RemoteAddr))
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.Webhook.MaxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				a.log.Warn("webhook body too large; refused", zap.Int64("limit", a.cfg.Webhook.MaxBody))
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		var u tgbotapi.Update
		if err := json.Unmarshal(body, &u); err != nil || u.UpdateID == 0 {
			if u, derr := a.decodeUpdate(body); derr != nil && u.UpdateID > 0 {
				// Telegram's own update that this version cannot read
				// (logged by decodeUpdate): a retry would not read better,
				// and refusing it would hold back the updates behind it
				w.WriteHeader(http.StatusOK)
				return
			}
			a.log.Warn("malformed webhook update refused", zap.Error(err), zap.Int("bytes", len(body)))
			http.Error(w, "malformed update", http.StatusBadRequest)
			return
		}
		if err := a.inbox.Push(r.Context(), body); err != nil {
			a.log.Error("webhook update not stored; asking Telegram to retry", zap.Int("update_id", u.UpdateID), zap.Error(err))
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// runWebhook registers the webhook and processes stored updates. A failed
// update is retried with backoff for a while (Redis coming back), then
// dropped with an error log.
func (a *Adapter) runWebhook(ctx context.Context, sink bot.EventSink) error {
	p := tgbotapi.Params{"url": a.cfg.Webhook.URL, "secret_token": a.cfg.Webhook.Secret.Reveal(),
		"max_connections": itoa(a.cfg.Webhook.MaxConnections)}
	_ = p.AddInterface("allowed_updates", AllowedUpdates)
	for ctx.Err() == nil {
		err := a.call(ctx, "setWebhook", "", p, nil)
		if err == nil {
			a.log.Info("webhook registered", zap.String("url", a.cfg.Webhook.URL))
			break
		}
		a.log.Error("setWebhook failed; retrying", zap.Error(err))
		sleep(ctx, 5*time.Second)
	}
	if n, err := a.inbox.Recover(ctx); err != nil {
		a.log.Error("webhook updates of a previous run not recovered", zap.Error(err))
	} else if n > 0 {
		a.log.Info("webhook updates of a previous run handled again", zap.Int("updates", n))
	}
	a.inbox.Run(ctx, inbox.Options{Lane: updateLane, Settle: func(ctx context.Context) error { return bot.Settle(ctx, sink) }},
		func(ctx context.Context, data []byte) error {
			var u tgbotapi.Update
			if err := json.Unmarshal(data, &u); err != nil {
				a.log.Error("stored webhook update unreadable; dropped", zap.Error(err))
				return nil
			}
			err := a.deliver(ctx, sink, u, data)
			if err != nil && ctx.Err() == nil {
				a.log.Warn("webhook update not processed yet; trying again", zap.Int("update_id", u.UpdateID), zap.Error(err))
			}
			return err
		}, func(err error) { a.log.Error("webhook inbox", zap.Error(err)) })
	return nil
}

// updateLane is the chat an update belongs to: a chat's updates are
// handled in the order Telegram sent them (a join before the newcomer's
// first message), different chats in parallel.
func updateLane(data []byte) string {
	h, ok := readHead(data)
	if !ok {
		return ""
	}
	for _, m := range []*rawMessage{h.message(), h.EditedMessage, h.ChannelPost, h.EditedChannelPost, h.MyChatMember, h.ChatMember, h.ChatJoinRequest} {
		if m != nil && m.Chat.ID != 0 {
			return strconv.FormatInt(m.Chat.ID, 10)
		}
	}
	return ""
}

// rawMessage is what qunbot reads of an update's message (or chat member
// update, or join request) without the library's types: its chat, and its
// forum topic, which telegram-bot-api v5.5.1 predates.
type rawMessage struct {
	Chat struct {
		ID int64 `json:"id"`
	} `json:"chat"`
	ThreadID int64 `json:"message_thread_id"`
	IsTopic  bool  `json:"is_topic_message"`
	// ForwardOrigin is Bot API 7.0's account of a forward, which replaced
	// forward_from, forward_from_chat and forward_sender_name in its
	// documents (Telegram still sends those too; a server that follows
	// the documents may send only this)
	ForwardOrigin *rawOrigin `json:"forward_origin"`
	// ExternalReply and Quote (Bot API 7.0): a reply to a message of
	// another chat, and the part of the replied message the member quoted
	ExternalReply *struct {
		Origin *rawOrigin     `json:"origin"`
		Chat   *tgbotapi.Chat `json:"chat"`
	} `json:"external_reply"`
	Quote *struct {
		Text string `json:"text"`
	} `json:"quote"`
}

// rawOrigin is a MessageOrigin: "user" (sender_user), "hidden_user"
// (sender_user_name), "chat" (sender_chat: a group, or its anonymous
// admin) or "channel" (chat).
type rawOrigin struct {
	Type       string         `json:"type"`
	SenderUser *tgbotapi.User `json:"sender_user"`
	SenderName string         `json:"sender_user_name"`
	SenderChat *tgbotapi.Chat `json:"sender_chat"`
	Chat       *tgbotapi.Chat `json:"chat"`
}

// rawHead is an update's head: its message by kind.
type rawHead struct {
	Message           *rawMessage `json:"message"`
	EditedMessage     *rawMessage `json:"edited_message"`
	ChannelPost       *rawMessage `json:"channel_post"`
	EditedChannelPost *rawMessage `json:"edited_channel_post"`
	MyChatMember      *rawMessage `json:"my_chat_member"`
	ChatMember        *rawMessage `json:"chat_member"`
	ChatJoinRequest   *rawMessage `json:"chat_join_request"`
	CallbackQuery     *struct {
		Message *rawMessage `json:"message"`
	} `json:"callback_query"`
}

func readHead(data []byte) (rawHead, bool) {
	var h rawHead
	return h, json.Unmarshal(data, &h) == nil
}

// message is the update's message, or the pressed button's message.
func (h rawHead) message() *rawMessage {
	if h.Message == nil && h.CallbackQuery != nil {
		return h.CallbackQuery.Message
	}
	return h.Message
}
