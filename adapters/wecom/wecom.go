// Package wecom is qunbot's WeCom (企业微信) adapter. WeCom offers no single
// bot API: customer groups (客户群) show joins and leaves through customer
// contact callbacks but take posts only as tasks their owner confirms, and
// allow no deletion or removal; internal groups created by a self-built app
// take posts and member removal; the AI bot (智能机器人) receives @-messages
// and answers them; group robots post through a webhook. The adapter serves
// a signed, encrypted callback endpoint for each, and declares per chat
// what is possible, so flows do the most WeCom allows and tell operators
// where it draws the line.
package wecom

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/work/externalcontact"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/inbox"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
)

// Options configure the adapter.
type Options struct {
	Config *Config
	Store  *state.Store
	Log    *zap.Logger
	Clock  bot.Clock
	// HTTP is the client for WeCom's API (tests point it at a fake).
	HTTP *http.Client
	// Archive overrides the message archive config (tests).
	Archive Archive
}

// Adapter is the WeCom adapter.
type Adapter struct {
	opt Options
	cfg *Config
	// the corp's customer tags of contact.tag_group, by name
	tagMu   sync.Mutex
	tagIDs  map[string]string
	app     *api // the self-built app's secret
	contact *api // the customer contact secret
	crypts  map[string]*Crypt
	inbox   *inbox.Inbox // callbacks, stored before WeCom gets its answer
	archive Archive

	healthMu sync.Mutex
	health   map[string]error // by secret: why no access token can be had

	lacking lacking // what WeCom refused the app lately (see lack)
}

// New builds the adapter; callbacks are served by Handlers.
func New(opt Options) (*Adapter, error) {
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	c := opt.Config
	a := &Adapter{opt: opt, cfg: c, crypts: map[string]*Crypt{}, health: map[string]error{}, inbox: inbox.New(opt.Store.Client(), opt.Store.GlobalKey("{wecom-inbox}"), "")}
	tokens := redisCache{rdb: opt.Store.Client(), ctx: context.Background()}
	prefix := opt.Store.GlobalKey("")
	if c.App != nil {
		a.app = newAPI(c.APIURL, c.CorpID, c.App.Secret.Reveal(), prefix, tokens, opt.HTTP)
	}
	if c.Contact != nil {
		a.contact = newAPI(c.APIURL, c.CorpID, c.Contact.Secret.Reveal(), prefix, tokens, opt.HTTP)
	}
	a.archive = opt.Archive
	if a.archive == nil && c.Archive != nil {
		arc, err := openArchive(c.CorpID, c.Archive)
		if err != nil {
			return nil, err
		}
		a.archive = arc
	}
	for name, cb := range a.callbacks() {
		cr, err := NewCrypt(cb.Token.Reveal(), cb.EncodingAESKey.Reveal())
		if err != nil {
			return nil, fmt.Errorf("wecom %s callback: %w", name, err)
		}
		a.crypts[name] = cr
	}
	return a, nil
}

func (a *Adapter) callbacks() map[string]Callback {
	out := map[string]Callback{}
	if a.cfg.App != nil {
		out["app"] = a.cfg.App.Callback
	}
	if a.cfg.Contact != nil {
		out["contact"] = a.cfg.Contact.Callback
	}
	if a.cfg.AIBot != nil {
		out["aibot"] = a.cfg.AIBot.Callback
	}
	return out
}

// Name implements bot.Adapter.
func (a *Adapter) Name() string { return "wecom" }

// Capabilities implements bot.Adapter: what WeCom allows in each kind of
// chat.
func (a *Adapter) Capabilities(chat string) bot.Capability {
	return a.capabilities(chat) &^ a.lacks()
}

func (a *Adapter) capabilities(chat string) bot.Capability {
	kind, _ := chatKind(chat)
	switch kind {
	case kindCustomer:
		// posts are owner-confirmed tasks; joins and leaves are seen; no
		// messages (without the paid archive), no delete, no removal
		if a.contact == nil {
			return 0
		}
		c := bot.CanSend | bot.CanDM | bot.PostsAreTasks | bot.CanSourceLinks
		if a.archive != nil {
			c |= bot.SeesMessages
		}
		if a.cfg.Contact.TagGroup != "" {
			c |= bot.CanTag
		}
		return c
	case kindApp:
		return bot.CanSend | bot.CanKick
	case kindBot:
		return bot.CanSend | bot.SeesMessages | bot.CanDM
	case kindHook:
		return bot.CanSend
	case "@":
		if a.app != nil {
			return bot.CanSend
		}
	}
	return 0
}

// Run implements bot.Adapter: it processes the callbacks the handlers
// stored, one at a time and in order (member changes must not overtake
// each other), until ctx ends. Callbacks a dying process was handling are
// handled again (the engine de-duplicates).
func (a *Adapter) Run(ctx context.Context, sink bot.EventSink) error {
	a.watchTokens(ctx)
	if a.archive != nil {
		every := 10 * time.Second
		if a.cfg.Archive != nil {
			every = a.cfg.Archive.Interval.D()
		}
		go a.pollArchive(ctx, sink, a.archive, every)
	}
	if a.cfg.Contact != nil && a.cfg.Contact.SyncOnStart {
		go func() {
			groups, members, err := a.Sync(ctx)
			if err != nil {
				a.opt.Log.Error("wecom sync at start-up failed", zap.Int("groups", groups), zap.Error(err))
				return
			}
			a.opt.Log.Info("wecom customer groups taken in", zap.Int("groups", groups), zap.Int("new members", members))
		}()
	}
	if n, err := a.inbox.Recover(ctx); err != nil {
		a.opt.Log.Error("wecom callbacks of a previous run not recovered", zap.Error(err))
	} else if n > 0 {
		a.opt.Log.Info("wecom callbacks of a previous run handled again", zap.Int("callbacks", n))
	}
	// one lane: a callback's chat is known only once it is decrypted and
	// parsed, and WeCom's event order (a group created, then its members)
	// matters more than the rate, which WeCom keeps low
	oneLane := func([]byte) string { return "wecom" }
	a.inbox.Run(ctx, inbox.Options{Lane: oneLane, Settle: func(ctx context.Context) error { return bot.Settle(ctx, sink) }},
		func(ctx context.Context, data []byte) error {
			endpoint, msg, _ := strings.Cut(string(data), "\n")
			return a.process(ctx, sink, endpoint, []byte(msg))
		}, func(err error) { a.opt.Log.Error("wecom inbox", zap.Error(err)) })
	return nil
}

// Handlers returns the callback endpoints to mount on http.listen: path →
// handler.
func (a *Adapter) Handlers() map[string]http.Handler {
	out := map[string]http.Handler{}
	for name, cb := range a.callbacks() {
		out[cb.Path] = &endpoint{a: a, name: name, crypt: a.crypts[name], receiveID: a.receiveID(name)}
	}
	return out
}

// receiveID is what an endpoint's messages must be encrypted for: the corp
// id for the app and customer contact; the AI bot's messages carry none
// (or the bot id).
func (a *Adapter) receiveID(name string) func(string) bool {
	if name == "aibot" {
		botID := a.cfg.AIBot.BotID
		return func(id string) bool { return id == "" || id == botID }
	}
	corp := a.cfg.CorpID
	return func(id string) bool { return id == corp }
}

// endpoint is one callback URL.
type endpoint struct {
	a         *Adapter
	name      string
	crypt     *Crypt
	receiveID func(string) bool
}

func (e *endpoint) refuse(w http.ResponseWriter, r *http.Request, code int, why string) {
	e.a.opt.Log.Warn("wecom callback refused", zap.String("endpoint", e.name), zap.String("reason", why),
		zap.String("remote", r.RemoteAddr))
	http.Error(w, why, code)
}

// ServeHTTP verifies (GET echostr) or receives (POST) a callback. The
// signature is checked first, then the timestamp and the nonce (a replay is
// refused), then the message is decrypted and its receive id checked; only
// then is it queued for processing, and WeCom gets its answer at once.
func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	var encrypted string
	var body []byte
	switch r.Method {
	case http.MethodGet:
		encrypted = q.Get("echostr")
	case http.MethodPost:
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, e.a.cfg.MaxBody))
		if err != nil {
			e.refuse(w, r, http.StatusRequestEntityTooLarge, "body too large or unreadable")
			return
		}
		encrypted, err = outerCiphertext(e.name, body)
		if err != nil {
			e.refuse(w, r, http.StatusBadRequest, "malformed body")
			return
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if sig == "" || ts == "" || nonce == "" || encrypted == "" {
		e.refuse(w, r, http.StatusBadRequest, "missing msg_signature, timestamp, nonce or ciphertext")
		return
	}
	if !e.crypt.Verify(sig, ts, nonce, encrypted) {
		e.refuse(w, r, http.StatusUnauthorized, "bad signature")
		return
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	now := e.a.opt.Clock.Now()
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > e.a.cfg.MaxSkew.D() {
		e.refuse(w, r, http.StatusForbidden, "stale timestamp")
		return
	}
	// a nonce is good once within the skew window (per endpoint); it is
	// recorded in the same step that stores the callback (accept), so a
	// callback that could not be stored can be retried
	mark := e.name + ":" + ts + ":" + nonce
	seen, err := e.a.inbox.Marked(r.Context(), mark)
	if err != nil {
		e.a.opt.Log.Error("wecom callback: Redis unavailable for the replay check", zap.Error(err))
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if seen {
		e.refuse(w, r, http.StatusConflict, "replayed nonce")
		return
	}
	msg, rid, err := e.crypt.Decrypt(encrypted)
	if err != nil {
		e.refuse(w, r, http.StatusBadRequest, "cannot decrypt")
		return
	}
	if !e.receiveID(rid) {
		e.refuse(w, r, http.StatusForbidden, "wrong receive id")
		return
	}
	if r.Method == http.MethodGet {
		if fresh, err := e.a.inbox.Mark(r.Context(), mark, 2*e.a.cfg.MaxSkew.D()); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		} else if !fresh {
			e.refuse(w, r, http.StatusConflict, "replayed nonce")
			return
		}
		_, _ = w.Write(msg) // URL verification: echo the plaintext
		return
	}
	if err := e.a.accept(e.name, mark, msg); errors.Is(err, errBusy) {
		e.a.opt.Log.Error("wecom callback not stored; WeCom will retry", zap.String("endpoint", e.name), zap.Error(err))
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	} else if errors.Is(err, errReplay) {
		e.refuse(w, r, http.StatusConflict, "replayed nonce")
		return
	} else if err != nil {
		e.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	_, _ = w.Write([]byte("success"))
}

// outerCiphertext reads the Encrypt field: XML for the app and customer
// contact, JSON for the AI bot.
func outerCiphertext(endpoint string, body []byte) (string, error) {
	if endpoint == "aibot" {
		var j struct {
			Encrypt string `json:"encrypt"`
		}
		err := json.Unmarshal(body, &j)
		return j.Encrypt, err
	}
	var env envelope
	err := xml.Unmarshal(body, &env)
	return env.Encrypt, err
}

// accept checks that a decrypted callback parses and stores it for
// processing, with its nonce mark in the same step; WeCom gets its answer
// only once it is stored (Redis away: an error, and WeCom retries). An AI
// bot message's response_url is kept in Redis under its message, so
// whichever replica answers that message uses its own URL.
func (a *Adapter) accept(endpoint, mark string, msg []byte) error {
	ctx := context.Background()
	now := a.opt.Clock.Now()
	ttl := 2 * a.cfg.MaxSkew.D()
	noEvent := func() error {
		fresh, err := a.inbox.Mark(ctx, mark, ttl)
		if err != nil {
			return fmt.Errorf("%w: %v", errBusy, err)
		}
		if !fresh {
			return errReplay
		}
		return nil
	}
	switch endpoint {
	case "aibot":
		ev, m, err := parseAIBot(msg, now)
		if errors.Is(err, errNoEvent) {
			return noEvent()
		}
		if err != nil {
			return err
		}
		if m.ResponseURL != "" {
			_, err := a.opt.Store.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, a.responseKey(ev.MessageID), m.ResponseURL, responseTTL)
				if ev.Chat.Type == bot.ChatPrivate {
					p.Set(ctx, a.latestKey(ev.Chat.Key), ev.MessageID, responseTTL)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("%w: %v", errBusy, err)
			}
		}
	default:
		if _, _, err := parseXML(msg, now); err != nil && !errors.Is(err, errNoEvent) {
			return err
		} else if errors.Is(err, errNoEvent) {
			return noEvent()
		}
	}
	stored, err := a.inbox.PushOnce(ctx, mark, ttl, append([]byte(endpoint+"\n"), msg...))
	if err != nil {
		return fmt.Errorf("%w: %v", errBusy, err)
	}
	if !stored {
		return errReplay // the same callback, delivered twice at once
	}
	return nil
}

// errBusy: the callback could not be stored; WeCom should retry.
var errBusy = errors.New("busy")

// errReplay: the callback was stored before.
var errReplay = errors.New("replayed nonce")

// responseTTL is how long an AI bot message's response_url answers
// (WeCom: an hour).
const responseTTL = time.Hour

// responseKey holds an AI bot message's response_url, by message id.
func (a *Adapter) responseKey(msgID string) string {
	return a.opt.Store.GlobalKey("wecom", "aibot", "response", msgID)
}

// latestKey holds the latest message of an AI bot private chat.
func (a *Adapter) latestKey(chat string) string {
	return a.opt.Store.GlobalKey("wecom", "aibot", "latest", chat)
}

// process turns a stored callback into events. An error means an event
// was not handled yet (Redis away): the inbox tries the callback again,
// and the events already handled are duplicates then.
func (a *Adapter) process(ctx context.Context, sink bot.EventSink, endpoint string, msg []byte) error {
	now := a.opt.Clock.Now()
	if endpoint == "aibot" {
		if ev, _, err := parseAIBot(msg, now); err == nil {
			return a.deliver(ctx, sink, *ev)
		}
		return nil
	}
	evs, m, err := parseXML(msg, now)
	if err != nil {
		return nil
	}
	var failed error
	if m.Event != "change_external_chat" {
		for _, ev := range evs {
			failed = errors.Join(failed, a.deliver(ctx, sink, ev))
		}
		return failed
	}
	// read the group first: it says which join way each member came
	// through (vouched joins), and repairs lost callbacks
	g, ok := a.fetchGroup(ctx, m.ChatID, m.ChangeType)
	var skip map[string]bool
	if ok {
		var err error
		if skip, err = a.baseline(ctx, m, g, evs); err != nil {
			return err // not done: the inbox tries again
		}
	}
	for _, ev := range evs {
		if ev.Kind == bot.EventJoin && skip[ev.Member.ID] {
			continue
		}
		if ok && ev.Kind == bot.EventJoin {
			ev.Vouched = a.vouched(g, ev.Member.ID)
			ev.Source = joinSource(g, ev.Member.ID)
			ev.Chat.Title = g.GroupChat.Name
			if name := memberName(g, ev.Member.ID); name != "" {
				ev.Member.Name = name
			}
		}
		failed = errors.Join(failed, a.deliver(ctx, sink, ev))
	}
	if ok {
		a.reconcile(ctx, sink, m.ChatID, g)
	}
	return failed
}

func (a *Adapter) deliver(ctx context.Context, sink bot.EventSink, ev bot.Event) error {
	err := sink.HandleEvent(ctx, ev)
	if err != nil {
		a.opt.Log.Warn("wecom event not handled yet", zap.String("event", ev.ID), zap.Error(err))
	}
	return err
}

type groupChat struct {
	reply
	GroupChat struct {
		ChatID     string `json:"chat_id"`
		Name       string `json:"name"`
		Owner      string `json:"owner"`
		MemberList []struct {
			UserID    string `json:"userid"`
			Type      int    `json:"type"` // 1 staff, 2 customer
			JoinTime  int64  `json:"join_time"`
			JoinScene int    `json:"join_scene"`
			State     string `json:"state"`
			Name      string `json:"name"`
		} `json:"member_list"`
		MemberVersion string `json:"member_version"`
	} `json:"group_chat"`
}

// fetchGroup reads a customer group (groupchat/get) and keeps its owner
// and name.
func (a *Adapter) fetchGroup(ctx context.Context, chatID, change string) (*groupChat, bool) {
	key := chatKey(kindCustomer, chatID)
	log := a.opt.Log.With(zap.String("group", key))
	if a.contact == nil {
		return nil, false
	}
	if change == "dismiss" {
		log.Info("customer group dismissed")
		return nil, false
	}
	var g groupChat
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/groupchat/get", map[string]any{"chat_id": chatID, "need_name": 1}, &g); err != nil {
		log.Warn("customer group not read; joins and leaves not reconciled", zap.Error(err))
		return nil, false
	}
	if err := a.opt.Store.SetGroupFields(ctx, key, map[string]string{"owner": g.GroupChat.Owner, "title": g.GroupChat.Name}); err != nil {
		log.Warn("customer group owner not stored", zap.Error(err))
	}
	return &g, true
}

// joinWindow is how close to a callback a member's join_time must be for
// the member to be that callback's newcomer rather than someone the group
// already had.
const joinWindow = 10 * time.Minute

// baseline takes in a group qunbot reads for the first time: the members
// it already has — owner and staff included — are recorded as present,
// without joins (no welcome, no challenge, no newcomer alert). Only the
// members this callback adds, with a join_time near its own time, stay
// newcomers; a group's creation adds none. Staff (type 1) are never
// newcomers, first read or not. It returns the members whose join events
// must not be raised.
func (a *Adapter) baseline(ctx context.Context, m *callbackXML, g *groupChat, evs []bot.Event) (map[string]bool, error) {
	key := chatKey(kindCustomer, m.ChatID)
	skip := map[string]bool{}
	for _, mem := range g.GroupChat.MemberList {
		if mem.Type == 1 {
			skip[mem.UserID] = true
		}
	}
	fields, err := a.opt.Store.GroupFields(ctx, key)
	if err != nil {
		return nil, err
	}
	first := fields["baselined"] == ""
	at := a.opt.Clock.Now()
	if m.CreateTime > 0 {
		at = time.Unix(m.CreateTime, 0)
	}
	joining := map[string]bool{}
	if m.ChangeType != "create" {
		for _, ev := range evs {
			if ev.Kind == bot.EventJoin {
				joining[ev.Member.ID] = true
			}
		}
	}
	var present []state.Present
	for _, mem := range g.GroupChat.MemberList {
		joined := time.Time{}
		if mem.JoinTime > 0 {
			joined = time.Unix(mem.JoinTime, 0)
		}
		newcomer := joining[mem.UserID] && mem.Type != 1 && (joined.IsZero() || at.Sub(joined).Abs() <= joinWindow)
		if (first && !newcomer) || mem.Type == 1 {
			skip[mem.UserID] = true
			name := mem.Name
			if name == "" {
				name = mem.UserID
			}
			present = append(present, state.Present{ID: mem.UserID, Name: name, JoinedAt: joined})
		}
	}
	if len(present) > 0 {
		n, err := a.opt.Store.Baseline(ctx, key, present, a.opt.Clock.Now())
		if err != nil {
			return nil, err
		}
		if first {
			a.opt.Log.Info("customer group taken in: its members recorded, not greeted", zap.String("group", key),
				zap.Int("members", len(g.GroupChat.MemberList)), zap.Int("recorded", n))
		}
	}
	if first {
		if err := a.opt.Store.SetGroupFields(ctx, key, map[string]string{"baselined": strconv.FormatInt(a.opt.Clock.Now().Unix(), 10)}); err != nil {
			return nil, err
		}
	}
	return skip, nil
}

// memberName is a member's name as groupchat/get gives it, or "".
func memberName(g *groupChat, id string) string {
	for _, m := range g.GroupChat.MemberList {
		if m.UserID == id {
			return m.Name
		}
	}
	return ""
}

// Sync takes in every customer group of the configured staff (the
// contact sender and the alert staff) without events: groupchat/list,
// then groupchat/get for each, each group's members recorded as present.
// It returns the groups and the members new to qunbot.
func (a *Adapter) Sync(ctx context.Context) (groups, members int, err error) {
	if a.contact == nil {
		return 0, 0, errors.New("wecom sync needs contact.secret (customer contact)")
	}
	owners := []string{}
	for _, s := range append([]string{a.cfg.Contact.Sender}, a.cfg.Contact.Owners...) {
		if s != "" && !slices.Contains(owners, s) {
			owners = append(owners, s)
		}
	}
	cursor := ""
	for {
		var page struct {
			reply
			GroupChatList []struct {
				ChatID string `json:"chat_id"`
			} `json:"group_chat_list"`
			NextCursor string `json:"next_cursor"`
		}
		body := map[string]any{"status_filter": 0, "limit": 1000, "cursor": cursor}
		if len(owners) > 0 {
			body["owner_filter"] = map[string]any{"userid_list": owners}
		}
		if err := a.contact.call(ctx, "/cgi-bin/externalcontact/groupchat/list", body, &page); err != nil {
			return groups, members, fmt.Errorf("wecom sync: list customer groups: %w", err)
		}
		for _, c := range page.GroupChatList {
			var g groupChat
			if err := a.contact.call(ctx, "/cgi-bin/externalcontact/groupchat/get", map[string]any{"chat_id": c.ChatID, "need_name": 1}, &g); err != nil {
				return groups, members, fmt.Errorf("wecom sync: read group %s: %w", c.ChatID, err)
			}
			key := chatKey(kindCustomer, c.ChatID)
			present := make([]state.Present, 0, len(g.GroupChat.MemberList))
			for _, mem := range g.GroupChat.MemberList {
				name := mem.Name
				if name == "" {
					name = mem.UserID
				}
				p := state.Present{ID: mem.UserID, Name: name}
				if mem.JoinTime > 0 {
					p.JoinedAt = time.Unix(mem.JoinTime, 0)
				}
				present = append(present, p)
			}
			n, err := a.opt.Store.Baseline(ctx, key, present, a.opt.Clock.Now())
			if err != nil {
				return groups, members, err
			}
			err = a.opt.Store.SetGroupFields(ctx, key, map[string]string{"owner": g.GroupChat.Owner, "title": g.GroupChat.Name,
				"baselined": strconv.FormatInt(a.opt.Clock.Now().Unix(), 10)})
			if err != nil {
				return groups, members, err
			}
			groups++
			members += n
		}
		if page.NextCursor == "" {
			return groups, members, nil
		}
		cursor = page.NextCursor
	}
}

// vouched reports whether a member joined through the join way whose
// state the operator marked as verified.
func (a *Adapter) vouched(g *groupChat, member string) bool {
	want := a.cfg.Contact.VerifiedState
	if want == "" {
		return false
	}
	for _, m := range g.GroupChat.MemberList {
		if m.UserID == member {
			return m.State == want
		}
	}
	return false
}

// SourceLink makes a join way (加入群聊方式) for a customer group whose
// state is the join source's name — a 渠道活码 — and answers its QR
// code's address. Members who scan it arrive with the state, read back
// by joinSource. The code stands for this group alone: it does not grow
// into new groups when full (JoinWay does, for the CLI).
func (a *Adapter) SourceLink(ctx context.Context, chat, name string) (string, error) {
	qr, _, err := a.JoinWay(ctx, JoinWay{State: name, Groups: []string{chat}})
	return qr, err
}

// JoinWay is a customer-group join way to make (加入群聊方式).
type JoinWay struct {
	State  string   // the join source's name, 1 to 30 characters
	Groups []string // 1 to 5 customer groups (wecom:ext:<chat_id>)
	// AutoCreate: when the groups are full, WeCom makes a new group named
	// RoomName with a number from RoomStart on (群满自动建群).
	AutoCreate bool
	RoomName   string
	RoomStart  int
}

// JoinWay makes a join way (groupchat/add_join_way, scene 2: a QR code,
// with silenceper's request and answer types) and answers its QR code's
// address and config id (get_join_way). WeCom's own limits are checked
// first, so a bad request is refused with a reason, not an errcode.
func (a *Adapter) JoinWay(ctx context.Context, w JoinWay) (qr, configID string, err error) {
	if a.contact == nil {
		return "", "", fmt.Errorf("wecom: join ways need adapters.wecom.contact: %w", bot.ErrUnsupported)
	}
	if n := utf8.RuneCountInString(w.State); n == 0 || n > maxState {
		return "", "", fmt.Errorf("wecom: a join way's state is 1 to %d characters, %q is %d", maxState, w.State, n)
	}
	if len(w.Groups) == 0 || len(w.Groups) > 5 {
		return "", "", fmt.Errorf("wecom: a join way takes 1 to 5 customer groups, not %d", len(w.Groups))
	}
	var ids []string
	for _, g := range w.Groups {
		kind, id := chatKind(g)
		if kind != kindCustomer || id == "" {
			return "", "", fmt.Errorf("wecom: a join way is made for customer groups (wecom:ext:<chat_id>), not %s: %w", g, bot.ErrUnsupported)
		}
		ids = append(ids, id)
	}
	if utf8.RuneCountInString(w.RoomName) > 40 || w.RoomStart < 0 {
		return "", "", fmt.Errorf("wecom: a new group's name is at most 40 characters and its first number not negative")
	}
	auto := 0
	if w.AutoCreate {
		auto = 1
	}
	var added externalcontact.AddJoinWayResponse
	err = a.contact.call(ctx, "/cgi-bin/externalcontact/groupchat/add_join_way", &externalcontact.AddJoinWayRequest{
		Scene: 2, Remark: truncateRunes("qunbot "+w.State, 30), AutoCreateRoom: auto, RoomBaseName: w.RoomName, RoomBaseID: w.RoomStart,
		ChatIDList: ids, State: w.State}, &added)
	if err != nil {
		return "", "", err
	}
	var got externalcontact.GetJoinWayResponse
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/groupchat/get_join_way", &externalcontact.JoinWayConfigRequest{ConfigID: added.ConfigID}, &got); err != nil {
		return "", "", err
	}
	if got.JoinWay.QrCode == "" {
		return "", "", fmt.Errorf("wecom: join way %s has no QR code", added.ConfigID)
	}
	return got.JoinWay.QrCode, added.ConfigID, nil
}

// maxState is the longest state a join way takes, in characters.
const maxState = 30

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// joinSource is what brought a member into a customer group: the state
// of the join way (加入群聊方式, a "渠道活码") it came through, as the
// operator named it; else how, by groupchat/get's join_scene.
func joinSource(g *groupChat, member string) string {
	for _, m := range g.GroupChat.MemberList {
		if m.UserID != member {
			continue
		}
		if m.State != "" {
			return m.State
		}
		switch m.JoinScene {
		case 1: // invited directly by a group member
			return bot.SourceAdded
		case 2: // a member's invite link
			return bot.SourceLink
		case 3: // the group's QR code
			return bot.SourceQR
		}
	}
	return ""
}

// reconcile raises the joins and leaves that callbacks lost or reordered,
// by comparing the group as WeCom has it with the members qunbot has as
// present: WeCom does not promise to deliver every change_external_chat.
func (a *Adapter) reconcile(ctx context.Context, sink bot.EventSink, chatID string, g *groupChat) {
	key := chatKey(kindCustomer, chatID)
	present, err := a.opt.Store.PresentMembers(ctx, key)
	if err != nil {
		a.opt.Log.Warn("customer group not reconciled", zap.String("group", key), zap.Error(err))
		return
	}
	known := map[string]bool{}
	for _, id := range present {
		known[id] = true
	}
	now := a.opt.Clock.Now()
	ver := g.GroupChat.MemberVersion
	inGroup := map[string]bool{}
	for _, m := range g.GroupChat.MemberList {
		inGroup[m.UserID] = true
		if known[m.UserID] || m.Type == 1 { // staff are recorded by baseline, never newcomers
			continue
		}
		at := now
		if m.JoinTime > 0 {
			at = time.Unix(m.JoinTime, 0)
		}
		name := m.Name
		if name == "" {
			name = m.UserID
		}
		a.deliver(ctx, sink, bot.Event{ID: "ext:" + chatID + ":" + ver + ":join:" + m.UserID, Kind: bot.EventJoin, Platform: "wecom",
			Chat: bot.Chat{Key: key, Type: bot.ChatGroup, Title: g.GroupChat.Name}, Member: bot.Member{ID: m.UserID, Name: name}, Time: at,
			Vouched: a.cfg.Contact.VerifiedState != "" && m.State == a.cfg.Contact.VerifiedState, Source: joinSource(g, m.UserID)})
	}
	for _, id := range present {
		if !inGroup[id] {
			a.deliver(ctx, sink, bot.Event{ID: "ext:" + chatID + ":" + ver + ":leave:" + id, Kind: bot.EventLeave, Platform: "wecom",
				Chat: bot.Chat{Key: key, Type: bot.ChatGroup, Title: g.GroupChat.Name}, Member: bot.Member{ID: id, Name: id}, Time: now})
		}
	}
}

// Do implements bot.Adapter.
func (a *Adapter) Do(ctx context.Context, act bot.Action) (bot.Result, error) {
	kind, id := chatKind(act.Chat)
	switch act.Type {
	case bot.ActSend:
		return a.send(ctx, kind, id, act.Chat, act.ReplyTo, withLinks(act))
	case bot.ActDM:
		res, err := a.dm(ctx, kind, act.Member.ID, act.Text)
		if err == nil && len(act.ImagePNG) > 0 {
			a.dmImage(ctx, kind, act.Member.ID, act.ImagePNG)
		}
		return res, err
	case bot.ActKick:
		if kind == kindApp && a.app != nil {
			return bot.Result{}, a.lack(bot.CanKick, a.app.call(ctx, "/cgi-bin/appchat/update", map[string]any{"chatid": id, "del_user_list": []string{act.Member.ID}}, nil))
		}
	case bot.ActAnswerPress:
		return bot.Result{}, nil // WeCom has no button presses to answer
	case bot.ActTag, bot.ActUntag:
		if kind == kindCustomer && a.contact != nil && a.cfg.Contact.TagGroup != "" {
			return bot.Result{}, a.lack(bot.CanTag, a.markTag(ctx, act.Chat, act.Member.ID, act.Text, act.Type == bot.ActTag))
		}
	}
	// Nothing in WeCom does this here: say so to the staff named under
	// alerts, so a person can (remove the message in the client, or turn
	// on 防骚扰 rules).
	a.alert(ctx, act)
	return bot.Result{}, fmt.Errorf("wecom: %s is not possible in %s (staff alerted): %w", act.Type, act.Chat, bot.ErrUnsupported)
}

func (a *Adapter) send(ctx context.Context, kind, id, chat, replyTo, text string) (bot.Result, error) {
	switch kind {
	case kindBot:
		// each message has its own response_url, which answers once; in a
		// private chat a message that answers none goes to the latest
		msg := replyTo
		if msg == "" && strings.HasPrefix(id, "@") {
			latest, err := a.opt.Store.Client().Get(ctx, a.latestKey(chat)).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return bot.Result{}, fmt.Errorf("%w: %v", bot.ErrTemporary, err)
			}
			msg = latest
		}
		if msg == "" {
			return bot.Result{}, fmt.Errorf("wecom: the AI bot can only answer a message (%s): %w", chat, bot.ErrUnsupported)
		}
		u, err := a.opt.Store.Client().GetDel(ctx, a.responseKey(msg)).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return bot.Result{}, fmt.Errorf("%w: %v", bot.ErrTemporary, err)
		}
		if u == "" {
			// answered already, or past its hour: tell the staff rather
			// than lose the answer without a word
			a.alertText(ctx, fmt.Sprintf("qunbot：AI 机器人在 %s 的一条回答没能送达（消息 %s 的回复地址已用过或已过期）：\n%s", chat, msg, text))
			return bot.Result{}, fmt.Errorf("wecom: no response_url for message %s in %s (answered or expired; staff told): %w", msg, chat, bot.ErrUnsupported)
		}
		var r reply
		if err := doJSON(ctx, a.opt.HTTP, http.MethodPost, u, map[string]any{"msgtype": "markdown", "markdown": map[string]string{"content": text}}, &r); err != nil {
			return bot.Result{}, fmt.Errorf("wecom AI bot reply: %w", err)
		}
		return bot.Result{}, classify("aibot response_url", r.ErrCode, r.ErrMsg)
	case kindApp:
		if a.app == nil {
			break
		}
		for _, part := range textParts(text) {
			if err := a.app.call(ctx, "/cgi-bin/appchat/send", map[string]any{"chatid": id, "msgtype": "text", "text": map[string]string{"content": part}}, nil); err != nil {
				return bot.Result{}, err
			}
		}
		return bot.Result{}, nil
	case kindHook:
		key, ok := a.cfg.Webhooks[id]
		if !ok {
			break
		}
		for _, part := range textParts(text) {
			var r reply
			if err := doJSON(ctx, a.opt.HTTP, http.MethodPost, a.cfg.APIURL+"/cgi-bin/webhook/send?key="+key.Reveal(),
				map[string]any{"msgtype": "text", "text": map[string]string{"content": part}}, &r); err != nil {
				return bot.Result{}, fmt.Errorf("wecom robot %s: %w", id, err)
			}
			if err := classify("webhook/send", r.ErrCode, r.ErrMsg); err != nil {
				return bot.Result{}, err
			}
		}
		return bot.Result{}, nil
	case kindCustomer:
		if a.contact == nil {
			break
		}
		return a.groupTask(ctx, chat, id, text)
	case "@":
		return a.dm(ctx, "@", id, text)
	}
	return bot.Result{}, fmt.Errorf("wecom: cannot post to %s with this configuration", chat)
}

// groupTask posts to a customer group the only way WeCom allows: a mass-
// message task (add_msg_template) that the group's owner confirms in the
// client. The task ids are kept in Redis (qb:{group}:wecom:tasks, the
// latest 100) for reading back whether they went out.
func (a *Adapter) groupTask(ctx context.Context, chat, chatID, text string) (bot.Result, error) {
	sender := a.cfg.Contact.Sender
	if gf, err := a.opt.Store.GroupFields(ctx, chat); err == nil && gf["owner"] != "" {
		sender = gf["owner"]
	}
	var out struct {
		reply
		MsgID    string   `json:"msgid"`
		FailList []string `json:"fail_list"`
	}
	body := map[string]any{"chat_type": "group", "sender": sender, "chat_id_list": []string{chatID}, "text": map[string]string{"content": text}}
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/add_msg_template", body, &out); err != nil {
		return bot.Result{}, err
	}
	if err := a.opt.Store.Client().LPush(ctx, a.opt.Store.Key(chat, "wecom", "tasks"), out.MsgID+"|"+strconv.FormatInt(a.opt.Clock.Now().Unix(), 10)).Err(); err != nil {
		a.opt.Log.Warn("wecom task id not kept", zap.Error(err))
	}
	a.opt.Store.Client().LTrim(ctx, a.opt.Store.Key(chat, "wecom", "tasks"), 0, 99)
	return bot.Result{MessageID: out.MsgID}, nil
}

// dm sends a private message: to staff through the app, to a customer as a
// one-to-one task (the staff member confirms), or to the AI bot's private
// chat through its response_url.
func (a *Adapter) dm(ctx context.Context, kind, user, text string) (bot.Result, error) {
	if kind == kindBot {
		return a.send(ctx, kindBot, "@"+user, chatKey(kindBot, "@"+user), "", text)
	}
	external := strings.HasPrefix(user, "wm") || strings.HasPrefix(user, "wo")
	if external && a.contact != nil {
		var out struct {
			reply
			MsgID string `json:"msgid"`
		}
		body := map[string]any{"chat_type": "single", "sender": a.cfg.Contact.Sender, "external_userid": []string{user}, "text": map[string]string{"content": text}}
		if err := a.contact.call(ctx, "/cgi-bin/externalcontact/add_msg_template", body, &out); err != nil {
			return bot.Result{}, err
		}
		return bot.Result{MessageID: out.MsgID}, nil
	}
	if a.app == nil || external {
		return bot.Result{}, fmt.Errorf("%w: no app to message %s", bot.ErrUnreachable, user)
	}
	var res bot.Result
	for i, part := range textParts(text) {
		var out struct {
			reply
			InvalidUser string `json:"invaliduser"`
			MsgID       string `json:"msgid"`
		}
		body := map[string]any{"touser": user, "msgtype": "text", "agentid": a.cfg.App.AgentID, "text": map[string]string{"content": part}}
		if err := a.app.call(ctx, "/cgi-bin/message/send", body, &out); err != nil {
			return bot.Result{}, err
		}
		if out.InvalidUser != "" {
			return bot.Result{}, fmt.Errorf("%w: %s is not in the app's visible range", bot.ErrUnreachable, user)
		}
		if i > 0 && res.MessageID != "" {
			res.Earlier = append(res.Earlier, res.MessageID)
		}
		res.MessageID = out.MsgID
	}
	res.Chat = privateKey(user)
	return res, nil
}

// withLinks is a message's text with what WeCom's text messages cannot
// carry written out as links, rather than dropped: the picture of a post
// (its URL) and link buttons ("更多技巧：https://…"). Press buttons have
// no WeCom form; the flows that use them say in the text what to type
// where the platform lacks buttons.
func withLinks(act bot.Action) string {
	var extra []string
	if act.Image != "" {
		extra = append(extra, act.Image)
	}
	for _, row := range act.Buttons {
		for _, b := range row {
			if b.URL != "" {
				extra = append(extra, b.Text+"："+b.URL)
			}
		}
	}
	if len(extra) == 0 {
		return act.Text
	}
	return strings.TrimRight(act.Text, "\n") + "\n" + strings.Join(extra, "\n")
}

// maxText is WeCom's limit on a text message's content: 2048 bytes of
// UTF-8 (appchat/send, message/send and the group robot's webhook/send;
// beyond it WeCom cuts the text off or refuses it).
const maxText = 2048

// textParts is a text in parts within maxText, cut at line breaks where
// it can be.
func textParts(text string) []string { return render.Split(text, maxText, utf8.RuneLen) }

// dmImage sends a picture qunbot drew (a report's chart) after its text
// to a staff member through the app: uploaded as temporary media, then an
// image message. Elsewhere (customers, the AI bot) the text went alone; a
// failure here is logged, the text has gone.
func (a *Adapter) dmImage(ctx context.Context, kind, user string, png []byte) {
	external := strings.HasPrefix(user, "wm") || strings.HasPrefix(user, "wo")
	if kind == kindBot || external || a.app == nil {
		return
	}
	id, err := a.app.uploadImage(ctx, "chart.png", png)
	if err == nil {
		body := map[string]any{"touser": user, "msgtype": "image", "agentid": a.cfg.App.AgentID, "image": map[string]string{"media_id": id}}
		err = a.app.call(ctx, "/cgi-bin/message/send", body, nil)
	}
	if err != nil {
		a.opt.Log.Warn("picture not sent after its text", zap.String("to", user), zap.Error(err))
	}
}

// alert tells the staff under alerts about an action WeCom does not allow.
func (a *Adapter) alert(ctx context.Context, act bot.Action) {
	what := map[bot.ActionType]string{
		bot.ActDelete: "删除消息", bot.ActRestrict: "禁言", bot.ActKick: "移出群", bot.ActBan: "移出并拉黑",
	}[act.Type]
	if what == "" {
		what = string(act.Type)
	}
	a.alertText(ctx, fmt.Sprintf("qunbot：群 %s 需要人工处理：%s（成员 %s）。企业微信不允许机器人执行这个操作，请在客户端处理，或开启客户群防骚扰规则。", act.Chat, what, act.Member.ID))
}

// alertText sends a note to the staff named under alerts, through the app.
func (a *Adapter) alertText(ctx context.Context, text string) {
	if a.app == nil || len(a.cfg.Alerts) == 0 {
		a.opt.Log.Warn("wecom: no staff to alert is configured", zap.String("note", text))
		return
	}
	body := map[string]any{"touser": strings.Join(a.cfg.Alerts, "|"), "msgtype": "text", "agentid": a.cfg.App.AgentID, "text": map[string]string{"content": text}}
	if err := a.app.call(ctx, "/cgi-bin/message/send", body, nil); err != nil {
		a.opt.Log.Error("wecom staff alert not sent", zap.Error(err))
	}
}

// Tasks implements bot.TaskLister: the latest customer-group posts and
// whether their owner has sent them (get_groupmsg_task).
func (a *Adapter) Tasks(ctx context.Context, chat string, n int) ([]bot.Task, error) {
	kind, _ := chatKind(chat)
	if kind != kindCustomer || a.contact == nil {
		return nil, nil
	}
	ids, err := a.opt.Store.Client().LRange(ctx, a.opt.Store.Key(chat, "wecom", "tasks"), 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("wecom tasks: %w", err)
	}
	var out []bot.Task
	for _, entry := range ids {
		id, created, _ := strings.Cut(entry, "|")
		sec, _ := strconv.ParseInt(created, 10, 64)
		var res struct {
			reply
			TaskList []struct {
				UserID   string `json:"userid"`
				Status   int    `json:"status"` // 0 waiting, 2 sent
				SendTime int64  `json:"send_time"`
			} `json:"task_list"`
		}
		status := "unknown"
		if err := a.contact.call(ctx, "/cgi-bin/externalcontact/get_groupmsg_task", map[string]any{"msgid": id, "limit": 1000}, &res); err != nil {
			status = "unknown (" + err.Error() + ")"
		} else if len(res.TaskList) > 0 {
			t := res.TaskList[0]
			switch t.Status {
			case 0:
				status = "waiting for " + t.UserID + " to confirm"
			case 2:
				status = "sent by " + t.UserID + " at " + time.Unix(t.SendTime, 0).In(time.Local).Format("01-02 15:04")
			default:
				status = "status " + strconv.Itoa(t.Status)
			}
		}
		out = append(out, bot.Task{ID: id, Created: time.Unix(sec, 0), Status: status})
	}
	return out, nil
}

// SyncWelcomeTemplate creates or updates the customer-group welcome
// template (group_welcome_template) with text, in which %NICKNAME% stands
// for the newcomer. WeCom lets only a group's owner bind a template to a
// group, in the client; qunbot keeps the template's text in step with the
// welcome config. It returns the template id.
func (a *Adapter) SyncWelcomeTemplate(ctx context.Context, text string) (id string, created bool, err error) {
	if a.contact == nil {
		return "", false, errors.New("wecom: welcome templates need adapters.wecom.contact")
	}
	key := a.opt.Store.GlobalKey("wecom", "welcome_template")
	id, err = a.opt.Store.Client().Get(ctx, key).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", false, fmt.Errorf("wecom welcome template: %w", err)
	}
	content := map[string]string{"content": text}
	if id != "" {
		err = a.contact.call(ctx, "/cgi-bin/externalcontact/group_welcome_template/edit", map[string]any{"template_id": id, "text": content}, nil)
		var we *Error
		if !errors.As(err, &we) {
			return id, false, err
		}
		// the template was deleted in the console: make a new one
	}
	var out struct {
		reply
		TemplateID string `json:"template_id"`
	}
	body := map[string]any{"text": content, "notify": 1}
	if a.cfg.App != nil {
		body["agentid"] = a.cfg.App.AgentID
	}
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/group_welcome_template/add", body, &out); err != nil {
		return "", false, err
	}
	if err := a.opt.Store.Client().Set(ctx, key, out.TemplateID, 0).Err(); err != nil {
		return out.TemplateID, true, fmt.Errorf("wecom welcome template id not kept: %w", err)
	}
	return out.TemplateID, true, nil
}

// MemberCount implements bot.MemberCounter for customer groups:
// groupchat/get's member list (staff and customers). Other chats cannot
// be counted.
func (a *Adapter) MemberCount(ctx context.Context, chat string) (int, error) {
	id, ok := strings.CutPrefix(chat, chatKey(kindCustomer, ""))
	if !ok || id == "" || a.contact == nil {
		return 0, fmt.Errorf("count members of %s: %w", chat, bot.ErrUnsupported)
	}
	var g groupChat
	if err := a.contact.call(ctx, "/cgi-bin/externalcontact/groupchat/get", map[string]any{"chat_id": id}, &g); err != nil {
		return 0, fmt.Errorf("count members of %s: %w", chat, err)
	}
	return len(g.GroupChat.MemberList), nil
}
