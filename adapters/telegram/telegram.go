// Package telegram connects qunbot to the Telegram Bot API through
// github.com/go-telegram-bot-api/telegram-bot-api/v5: long polling (one
// active replica, the others on standby behind a Redis lease) or a webhook
// (any number of replicas; updates de-duplicated in Redis), translation of
// updates into qunbot events, and every group action.
package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/inbox"
	"github.com/qunbot/qunbot/bot/state"
)

// AllowedUpdates are the update kinds qunbot asks for. chat_member and
// chat_join_request arrive only when listed here and the bot is an admin.
var AllowedUpdates = []string{"message", "edited_message", "callback_query", "chat_member", "my_chat_member", "chat_join_request", "poll_answer"}

// Options configure the adapter.
type Options struct {
	Config *Config
	// API defaults to telegram-bot-api/v5 against Config.APIURL.
	API   API
	Store *state.Store
	Log   *zap.Logger
	Clock bot.Clock
	// Instance names this process in the polling lease (default host:pid).
	Instance string
}

type adminEntry struct {
	ids     map[string]bool
	err     error // the list could not be read: asked again only after expires
	expires time.Time
}

// adminRetry is how long an admin list that could not be read is not
// asked for again: a group whose list fails must not cost a Bot API call
// per message.
const adminRetry = 30 * time.Second

type cachedPerms struct {
	perms   *tgbotapi.ChatPermissions
	expires time.Time
}

// Adapter is the Telegram platform.
type Adapter struct {
	cfg      *Config
	api      API
	store    *state.Store
	rdb      redis.UniversalClient
	log      *zap.Logger
	clock    bot.Clock
	instance string

	mu       sync.Mutex
	self     tgbotapi.User
	inactive map[string]string
	lacking  map[string]lack // admin rights a group refused lately (rights.go)
	admins   map[string]adminEntry
	perms    map[string]cachedPerms
	inbox    *inbox.Inbox // webhook updates, stored before they are acknowledged
	// health is why the Bot API cannot be used now (nil: connected).
	health error
}

func itoa(i int) string { return strconv.Itoa(i) }

// New builds the adapter; Run connects.
func New(opt Options) *Adapter {
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.Clock == nil {
		opt.Clock = bot.SystemClock{}
	}
	if opt.API == nil {
		b := &tgbotapi.BotAPI{Token: opt.Config.Token.Reveal(), Buffer: 100,
			Client: &http.Client{Timeout: opt.Config.PollTimeout.D() + 15*time.Second, Transport: plainAnswers{base: http.DefaultTransport}}}
		b.SetAPIEndpoint(opt.Config.APIURL + "/bot%s/%s")
		opt.API = b
	}
	if opt.Instance == "" {
		opt.Instance = instanceName()
	}
	return &Adapter{cfg: opt.Config, api: opt.API, store: opt.Store, rdb: opt.Store.Client(), log: opt.Log.With(zap.String("adapter", "telegram")),
		clock: opt.Clock, instance: opt.Instance, inactive: map[string]string{}, lacking: map[string]lack{}, admins: map[string]adminEntry{}, perms: map[string]cachedPerms{},
		inbox: inbox.New(opt.Store.Client(), opt.Store.GlobalKey("{tg-inbox}"), opt.Instance)}
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return "telegram" }

// Capabilities implements bot.Adapter. In groups the bot (as an admin)
// can do everything qunbot asks; in a private chat it can talk.
func (a *Adapter) Capabilities(chat string) bot.Capability {
	if _, gone := a.isInactive(chat); gone {
		return 0
	}
	id, err := chatID(chat)
	if err == nil && id > 0 {
		return bot.CanSend | bot.CanButtons | bot.CanDelete | bot.CanDM | bot.CanAutoDelete | bot.CanUpload
	}
	return (bot.AllCapabilities | bot.CanPoll) &^ a.lackingIn(chat)
}

func (a *Adapter) now() time.Time { return a.clock.Now() }

func (a *Adapter) username() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.self.UserName
}

// connect asks getMe who the bot is, retrying while Telegram is away.
func (a *Adapter) connect(ctx context.Context) error {
	backoff := time.Second
	for {
		var me tgbotapi.User
		err := a.call(ctx, "getMe", "", nil, &me)
		a.setHealth(err)
		if err == nil {
			a.mu.Lock()
			a.self = me
			a.mu.Unlock()
			a.log.Info("connected", zap.String("bot", me.UserName), zap.Int64("id", me.ID), zap.String("mode", a.cfg.Mode))
			return nil
		}
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == 401 || ae.Code == 404) {
			return fmt.Errorf("telegram rejected the token (%d %s); check adapters.telegram.token", ae.Code, ae.Desc)
		}
		a.log.Error("cannot reach the Bot API; retrying", zap.Duration("in", backoff), zap.Error(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (a *Adapter) setHealth(err error) {
	if err != nil {
		err = fmt.Errorf("cannot reach the Bot API: %w", err)
	}
	a.mu.Lock()
	a.health = err
	a.mu.Unlock()
}

// Health implements platform.Health: the last failure to reach the Bot
// API (getMe, getUpdates), until a call succeeds again.
func (a *Adapter) Health() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.health
}

// Run implements bot.Adapter: polling or webhook, per config. In webhook
// mode the handler is served by the HTTP server (see WebhookHandler); Run
// registers the webhook and processes what the handler queues.
func (a *Adapter) Run(ctx context.Context, sink bot.EventSink) error {
	if err := a.connect(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	if a.cfg.Mode == "webhook" {
		return a.runWebhook(ctx, sink)
	}
	return a.runPolling(ctx, sink)
}

// deliver passes one update's events to the engine. A join or leave seen
// twice (the chat_member update and the service message) reaches it once.
// raw is the update as Telegram sent it, for what the library's types
// lack (forum topics).
func (a *Adapter) deliver(ctx context.Context, sink bot.EventSink, u tgbotapi.Update, raw []byte) error {
	thread, origin := topicOf(raw), forwardOrigin(raw)
	external, quote := externalReply(raw)
	for _, ev := range a.translate(u) {
		if thread != "" && ev.Kind != bot.EventJoin && ev.Kind != bot.EventLeave && ev.Kind != bot.EventService {
			ev.Thread = thread
		}
		if ev.Kind == bot.EventMessage {
			if origin != nil && ev.Forward == nil {
				ev.Forward = origin
			}
			ev.External, ev.Quote = external, quote
		}
		if ev.Kind == bot.EventJoin || ev.Kind == bot.EventLeave {
			first, err := a.presenceChange(ctx, ev)
			if err != nil {
				return err
			}
			if !first {
				if err := a.lateLink(ctx, ev); err != nil {
					return err
				}
				continue
			}
		}
		if err := sink.HandleEvent(ctx, ev); err != nil {
			if ev.Kind == bot.EventJoin || ev.Kind == bot.EventLeave {
				a.rdb.Del(context.WithoutCancel(ctx), a.presenceKey(ev))
			}
			return err
		}
	}
	return nil
}

// lateLink keeps the invite link of a join already counted: when the
// service message came first, it knew no link, and the chat_member update
// that follows names it. The member's record gets the link and its source
// (what /sources and invite credit at verification read); the join is not
// raised again.
func (a *Adapter) lateLink(ctx context.Context, ev bot.Event) error {
	if ev.Kind != bot.EventJoin || ev.InviteLink == "" {
		return nil
	}
	err := a.store.SetFields(ctx, ev.Chat.Key, ev.Member.ID, map[string]string{"join_link": ev.InviteLink, "join_src": ev.Source})
	if err != nil {
		return fmt.Errorf("telegram: keep a join's link: %w", err)
	}
	return nil
}

var presenceScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

func (a *Adapter) presenceKey(ev bot.Event) string {
	return a.store.Key(ev.Chat.Key, "tgpresence", ev.Member.ID)
}

// presenceChange reports whether this join (or leave) is news: the two
// sources of the same change arrive seconds apart, so the last change is
// remembered for ten minutes.
func (a *Adapter) presenceChange(ctx context.Context, ev bot.Event) (bool, error) {
	n, err := presenceScript.Run(ctx, a.rdb, []string{a.presenceKey(ev)}, string(ev.Kind), (10 * time.Minute).Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("telegram: de-duplicate %s: %w", ev.Kind, err)
	}
	return n == 1, nil
}

// isAdmin reports whether a member is an admin of the group, from the
// getChatAdministrators list cached here and in Redis. A list that cannot
// be read counts nobody (adminList logs that once per attempt, not once
// per message).
func (a *Adapter) isAdmin(chat, memberID string) bool {
	ids, err := a.adminList(context.Background(), chat)
	return err == nil && ids[memberID]
}

func (a *Adapter) adminList(ctx context.Context, chat string) (map[string]bool, error) {
	a.mu.Lock()
	e, ok := a.admins[chat]
	a.mu.Unlock()
	if ok && a.now().Before(e.expires) {
		return e.ids, e.err
	}
	key := a.store.Key(chat, "tgadmins")
	ttl := a.cfg.AdminsTTL.D()
	var ids []string
	if raw, err := a.rdb.Get(ctx, key).Result(); err == nil {
		_ = json.Unmarshal([]byte(raw), &ids)
	} else {
		cid, err := chatID(chat)
		if err != nil {
			return nil, err
		}
		var list []tgbotapi.ChatMember
		if err := a.call(ctx, "getChatAdministrators", chat, tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10)}, &list); err != nil {
			a.log.Warn("admin list unavailable; its members count as not admins until it is asked for again",
				zap.String("chat", chat), zap.Duration("again_in", adminRetry), zap.Error(err))
			a.mu.Lock()
			a.admins[chat] = adminEntry{err: err, expires: a.now().Add(adminRetry)}
			a.mu.Unlock()
			return nil, err
		}
		for _, m := range list {
			if m.User != nil {
				ids = append(ids, strconv.FormatInt(m.User.ID, 10))
			}
		}
		// the group's linked channel speaks for its owners as an admin
		// does: its admins answer in the discussion group as the channel
		var info tgbotapi.Chat
		if err := a.call(ctx, "getChat", chat, tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10)}, &info); err != nil {
			a.log.Debug("linked channel unknown", zap.String("chat", chat), zap.Error(err))
		} else if info.LinkedChatID != 0 {
			ids = append(ids, strconv.FormatInt(info.LinkedChatID, 10))
		}
		b, _ := json.Marshal(ids)
		a.rdb.Set(ctx, key, b, ttl)
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	a.mu.Lock()
	a.admins[chat] = adminEntry{ids: set, expires: a.now().Add(min(ttl, time.Minute))}
	a.mu.Unlock()
	return set, nil
}

// adminChange drops the cached admin list when someone becomes or stops
// being an admin, so moderator commands follow at once.
func (a *Adapter) adminChange(chat, oldStatus, newStatus string) {
	isAdmin := func(s string) bool { return s == "administrator" || s == "creator" }
	if isAdmin(oldStatus) == isAdmin(newStatus) {
		return
	}
	a.mu.Lock()
	delete(a.admins, chat)
	delete(a.perms, chat)
	a.mu.Unlock()
	a.rdb.Del(context.Background(), a.store.Key(chat, "tgadmins"))
}

// botMembership follows the bot's own membership: removed from a group,
// the group is marked inactive (actions into it stop); added back, active.
func (a *Adapter) botMembership(cm *tgbotapi.ChatMemberUpdated) {
	key := chatKey(cm.Chat.ID)
	a.rightsChanged(key)
	switch cm.NewChatMember.Status {
	case "left", "kicked":
		a.markInactive(key, "the bot was removed ("+cm.NewChatMember.Status+")")
	default:
		a.mu.Lock()
		delete(a.inactive, key)
		a.mu.Unlock()
		if err := a.store.SetGroupFields(context.Background(), key, map[string]string{"inactive": ""}); err != nil {
			a.log.Error("could not mark the group active", zap.String("chat", key), zap.Error(err))
		}
		a.log.Info("the bot is in the group", zap.String("chat", key), zap.String("status", cm.NewChatMember.Status))
	}
}

func (a *Adapter) markInactive(chat, reason string) {
	if chat == "" {
		return
	}
	a.mu.Lock()
	a.inactive[chat] = reason
	a.mu.Unlock()
	a.log.Warn("group marked inactive: actions into it stop", zap.String("chat", chat), zap.String("reason", reason))
	if err := a.store.SetGroupFields(context.Background(), chat, map[string]string{"inactive": reason}); err != nil {
		a.log.Error("could not store the inactive mark", zap.String("chat", chat), zap.Error(err))
	}
}

func (a *Adapter) isInactive(chat string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.inactive[chat]
	return r, ok
}

// migrated moves a group's state when it became a supergroup.
func (a *Adapter) migrated(from string, to int64) {
	toKey := chatKey(to)
	if from == "" || from == toKey {
		return
	}
	n, err := a.store.MoveGroup(context.Background(), from, toKey)
	if err != nil {
		a.log.Error("group became a supergroup; moving its state failed", zap.String("from", from), zap.String("to", toKey), zap.Error(err))
		return
	}
	a.log.Warn("group became a supergroup: state moved; rename its key under groups: in the config",
		zap.String("from", from), zap.String("to", toKey), zap.Int("keys", n))
}

// MemberCount implements bot.MemberCounter: getChatMemberCount.
func (a *Adapter) MemberCount(ctx context.Context, chat string) (int, error) {
	cid, err := chatID(chat)
	if err != nil {
		return 0, err
	}
	var n int
	if err := a.call(ctx, "getChatMemberCount", chat, tgbotapi.Params{"chat_id": strconv.FormatInt(cid, 10)}, &n); err != nil {
		return 0, fmt.Errorf("count members of %s: %w", chat, err)
	}
	return n, nil
}

// IsAdmin implements bot.AdminChecker from the cached admin list.
func (a *Adapter) IsAdmin(ctx context.Context, chat, member string) (bool, error) {
	ids, err := a.adminList(ctx, chat)
	if err != nil {
		return false, fmt.Errorf("telegram: admins of %s: %w", chat, err)
	}
	return ids[member], nil
}

// forwardOrigin is the forward an update's message names only in Bot
// API 7.0's forward_origin (see rawMessage), or nil: the forwards lock
// and the ad filter's forward signal read it as they read the older
// fields.
func forwardOrigin(raw []byte) *bot.Forward {
	if !bytes.Contains(raw, []byte(`"forward_origin"`)) {
		return nil
	}
	m := headMessage(raw)
	if m == nil || m.ForwardOrigin == nil {
		return nil
	}
	return originOf(m.ForwardOrigin)
}

// externalReply is where the message an update's message replies to
// lives when that is another chat (external_reply), and the text the
// member quoted of it: nil and "" for a reply within the chat — a reply
// across forum topics of the same group is an external_reply too, and
// its quote is of a message judged here already.
func externalReply(raw []byte) (*bot.Forward, string) {
	if !bytes.Contains(raw, []byte(`"external_reply"`)) {
		return nil, ""
	}
	m := headMessage(raw)
	if m == nil || m.ExternalReply == nil || m.ExternalReply.Chat != nil && m.ExternalReply.Chat.ID == m.Chat.ID {
		return nil, ""
	}
	from := &bot.Forward{}
	if o := m.ExternalReply.Origin; o != nil {
		from = originOf(o)
	}
	if c := m.ExternalReply.Chat; c != nil && c.ID != 0 && from.FromChat == "" {
		from.FromChat, from.FromTitle = chatKey(c.ID), c.Title
	}
	quote := ""
	if m.Quote != nil {
		quote = m.Quote.Text
	}
	return from, quote
}

// headMessage is an update's message or edited message, read raw.
func headMessage(raw []byte) *rawMessage {
	h, ok := readHead(raw)
	if !ok {
		return nil
	}
	if h.Message != nil {
		return h.Message
	}
	return h.EditedMessage
}

// originOf is a MessageOrigin as the forward it describes.
func originOf(o *rawOrigin) *bot.Forward {
	switch {
	case o.Type == "user" && o.SenderUser != nil && o.SenderUser.ID > 0:
		u := member(o.SenderUser)
		return &bot.Forward{FromUser: u.ID, Name: u.Name}
	case o.Type == "hidden_user":
		return &bot.Forward{Name: o.SenderName}
	case o.Type == "chat" && o.SenderChat != nil && o.SenderChat.ID != 0:
		return &bot.Forward{FromChat: chatKey(o.SenderChat.ID), FromTitle: o.SenderChat.Title}
	case o.Type == "channel" && o.Chat != nil && o.Chat.ID != 0:
		return &bot.Forward{FromChat: chatKey(o.Chat.ID), FromTitle: o.Chat.Title}
	}
	// an origin of a kind newer than this adapter: still a forward
	return &bot.Forward{}
}

// topicOf is the forum topic of an update's message (or of the pressed
// button's message): its message_thread_id when is_topic_message says it
// is in a topic. The General topic's messages carry a thread id too, but
// sending to it is refused ("message thread not found"): they stay in the
// main thread. telegram-bot-api v5.5.1 predates topics, so this reads the
// raw update; most updates are not in a topic and skip the decoding.
func topicOf(raw []byte) string {
	if !bytes.Contains(raw, []byte(`"is_topic_message"`)) {
		return ""
	}
	h, ok := readHead(raw)
	if !ok {
		return ""
	}
	m := h.message()
	if m == nil {
		m = h.EditedMessage
	}
	if m == nil || !m.IsTopic || m.ThreadID == 0 {
		return ""
	}
	return strconv.FormatInt(m.ThreadID, 10)
}
