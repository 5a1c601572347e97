// Package locks keeps kinds of content out of a group (Rose's locks):
// moderators /lock links, forwards, stickers, media, polls… and what a
// member who is not a moderator then posts of that kind is deleted and
// counted (warned only where the config says so). Night mode closes the
// group for a daily span: platform permissions where the platform has
// them, deletion otherwise, with a message when it closes and opens.
package locks

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/moderation"
)

// Kind is a set of lockable kinds of content, one bit each.
type Kind uint32

// Lockable kinds. The bit values are stored in Redis: never renumber.
const (
	Links Kind = 1 << iota
	Forwards
	Photos
	Videos
	Stickers
	GIFs
	Voice
	Audio
	Documents
	Polls
	Contacts
	Locations
	Games
	All
	// Service is the platform's notices of joins and leaves ("Ann joined
	// the group"): locked, they are deleted as they come (Rose's
	// cleanservice). "all" does not include it: it locks members' content.
	Service
	// RTL, Cyrillic and CJK are messages written (in part) in a script a
	// group does not use: Arabic or Hebrew letters (and the right-to-left
	// override that disguises file names), Cyrillic letters (look-alikes
	// in "раураl" too), Chinese, Japanese or Korean — what Rose's rtl lock
	// and Combot's language filters keep out of groups that ads in those
	// scripts flood.
	RTL
	Cyrillic
	CJK
	// Inline is a message sent through an inline bot ("via @bot"), and
	// Buttons one that carries buttons (only an inline bot's can): Rose's
	// inline and button locks. Ads come so, a harmless line and a "Join"
	// button.
	Inline
	Buttons
	// Channels is a message sent as a channel (Telegram's "send as"):
	// Rose's anonchannel lock. Spam comes so, from channels made for one
	// post, which a ban of an account does not reach. The group's linked
	// channel is an admin and passes.
	Channels

	lastKind = Channels // the highest bit: loops over the kinds end here
)

// Media is every kind of attachment but polls, contacts, locations and games.
const Media = Photos | Videos | Stickers | GIFs | Voice | Audio | Documents

// kinds are the words /lock takes, each with its aliases; the first
// word is the one shown.
var kinds = []struct {
	k     Kind
	words []string
}{
	{Links, []string{"links", "link", "url", "urls"}},
	{Forwards, []string{"forwards", "forward"}},
	{Photos, []string{"photo", "photos", "image", "images"}},
	{Videos, []string{"video", "videos"}},
	{Stickers, []string{"sticker", "stickers"}},
	{GIFs, []string{"gif", "gifs", "animation"}},
	{Voice, []string{"voice", "voices", "videonote"}},
	{Audio, []string{"audio", "music"}},
	{Documents, []string{"document", "documents", "file", "files"}},
	{Polls, []string{"polls", "poll"}},
	{Contacts, []string{"contacts", "contact"}},
	{Locations, []string{"location", "locations"}},
	{Games, []string{"games", "game", "dice"}},
	{All, []string{"all"}},
	{Service, []string{"service", "joins", "cleanservice"}},
	{RTL, []string{"rtl", "arabic", "hebrew"}},
	{Cyrillic, []string{"cyrillic", "russian"}},
	{CJK, []string{"cjk", "chinese", "japanese", "korean"}},
	{Inline, []string{"inline", "via", "inlinebot"}},
	{Buttons, []string{"button", "buttons", "keyboard"}},
	{Channels, []string{"channel", "channels", "anonchannel", "sendas"}},
	{Media, []string{"media"}},
}

// ParseKinds reads lock words ("sticker gif", "media") into a set; the
// words it does not know are returned.
func ParseKinds(ws []string) (Kind, []string) {
	var k Kind
	var unknown []string
	for _, w := range ws {
		w = strings.ToLower(strings.Trim(w, ",，"))
		if w == "" {
			continue
		}
		found := false
		for _, e := range kinds {
			if slices.Contains(e.words, w) {
				k |= e.k
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, w)
		}
	}
	return k, unknown
}

// Names lists a set's kinds by their first word.
func (k Kind) Names() []string {
	var out []string
	for _, e := range kinds {
		if e.k&(e.k-1) == 0 && k&e.k != 0 { // single kinds only, not "media"
			out = append(out, e.words[0])
		}
	}
	return out
}

// mediaKinds are the lock kinds of the platforms' media (bot.Media).
var mediaKinds = map[bot.Media]Kind{
	bot.MediaPhoto: Photos, bot.MediaVideo: Videos, bot.MediaSticker: Stickers, bot.MediaGIF: GIFs, bot.MediaVoice: Voice,
	bot.MediaAudio: Audio, bot.MediaDocument: Documents, bot.MediaPoll: Polls, bot.MediaContact: Contacts,
	bot.MediaLocation: Locations, bot.MediaGame: Games,
}

// Of is the kind of content a message is (0 for plain text without links
// or forwards); allowed says whether a link's host may pass a links lock.
func Of(ev *bot.Event, allowed func(host string) bool) Kind {
	k := mediaKinds[ev.Media]
	if ev.Forward != nil {
		k |= Forwards
	}
	if ev.ViaBot != "" {
		k |= Inline
	}
	if len(ev.Buttons) > 0 {
		k |= Buttons
	}
	if ev.Member.IsChannel {
		k |= Channels
	}
	for _, h := range adfilter.LinkHosts(ev.Text, ev.Links) {
		if !allowed(h) {
			k |= Links
			break
		}
	}
	return k | scripts(ev.Text)
}

// scripts are the script kinds of a text: any letter of one is enough.
func scripts(text string) Kind {
	var k Kind
	for _, r := range text {
		switch {
		case r < 0x0400:
		case r <= 0x052F || r >= 0x1C80 && r <= 0x1C8F || r >= 0x2DE0 && r <= 0x2DFF || r >= 0xA640 && r <= 0xA69F:
			k |= Cyrillic
		case r >= 0x0590 && r <= 0x08FF || r >= 0xFB1D && r <= 0xFDFF || r >= 0xFE70 && r <= 0xFEFF || r == 0x202E || r == 0x2067:
			k |= RTL
		case r >= 0x4E00 && r <= 0x9FFF || r >= 0x3040 && r <= 0x30FF || r >= 0x1100 && r <= 0x11FF || r >= 0x3130 && r <= 0x318F ||
			r >= 0xAC00 && r <= 0xD7AF || unicode.Is(unicode.Han, r):
			k |= CJK
		}
	}
	return k
}

// Config is the locks section.
type Config struct {
	// Locked are the kinds locked from the start; a moderator's /lock and
	// /unlock in the chat override them.
	Locked []string `yaml:"locked"`
	// AllowDomains pass a links lock (and their subdomains): the brand's
	// own site.
	AllowDomains []string `yaml:"allow_domains"`
	// Warn also gives the member a warning (the moderation ladder) for
	// locked content; by default it is only deleted and counted.
	Warn bool `yaml:"warn"`
	// Notice tells the member why their message went, at most once per
	// notice_every, in a message that deletes itself.
	Notice      bool            `yaml:"notice"`
	NoticeEvery config.Duration `yaml:"notice_every"`
	// Night closes the group for a daily span.
	Night Night `yaml:"night"`
}

// Night is night mode.
type Night struct {
	// Hours is the span, in the group's zone: "23:00-07:00".
	Hours config.QuietHours `yaml:"hours"`
	// CloseMessage and OpenMessage are posted when it closes and opens
	// (templates; a default in the group's language when empty).
	CloseMessage render.Template `yaml:"close_message"`
	OpenMessage  render.Template `yaml:"open_message"`
}

// configured is the set the config locks.
func (c *Config) configured() Kind {
	k, _ := ParseKinds(c.Locked)
	return k
}

func (c *Config) allowed(host string) bool {
	for _, d := range c.AllowDomains {
		d = strings.ToLower(strings.TrimPrefix(d, "."))
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if _, unknown := ParseKinds(c.Locked); len(unknown) > 0 {
		report("locked", fmt.Sprintf("unknown kinds %v; use %s", unknown, strings.Join(kindWords(), ", ")))
	}
	for i, d := range c.AllowDomains {
		if d == "" || strings.ContainsAny(d, "/: ") {
			report(fmt.Sprintf("allow_domains[%d]", i), "write a domain, e.g. example.com")
		}
	}
	if c.NoticeEvery < 0 {
		report("notice_every", "must not be negative")
	}
}

func kindWords() []string {
	out := make([]string, 0, len(kinds))
	for _, e := range kinds {
		out = append(out, e.words[0])
	}
	return out
}

// Flow is the locks flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "locks" }

// Schema implements engine.Flow: on everywhere (nothing is locked until a
// moderator or the config says so).
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any {
		return &Config{Notice: true, NoticeEvery: config.Duration(10 * time.Minute)}
	}, DefaultOn: true}
}

// Stage implements engine.EventHandler: after the ad filter, so spam gets
// the spam treatment (ladder, learning) and locks take what is left.
func (Flow) Stage() engine.Stage { return engine.StageFilter }

func key(s *state.Store, group string) string { return s.Key(group, "locks") }

// stateFragment reads the chat's locks inside the message's ingest script
// (no round trip of its own): fields are kind bits, "1" locked and "0"
// unlocked by a moderator; it answers {locked, unlocked}.
var stateFragment = &state.Fragment{Name: "locks.state", Lua: `
local on, off = 0, 0
local v = redis.call('HGETALL', KEYS[1])
for i = 1, #v, 2 do
  local b = tonumber(v[i]) or 0
  if v[i + 1] == '1' then on = on + b else off = off + b end
end
return {on, off}
`}

// Prepare implements engine.Preparer.
func (Flow) Prepare(fc *engine.FlowContext) *state.Step {
	ev := fc.Event
	if (ev.Kind != bot.EventMessage || ev.Edited || ev.Member.ID == "") && ev.Kind != bot.EventService || ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	return &state.Step{Fragment: stateFragment, Keys: []string{key(fc.Store, ev.GroupKey())}}
}

// chatLocks reads the chat's locks and unlocks (a takeover, or a command).
func chatLocks(ctx context.Context, s *state.Store, group string) (on, off Kind, err error) {
	v, err := s.Client().HGetAll(ctx, key(s, group)).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: read locks: %w", state.ErrRedis, err)
	}
	for f, val := range v {
		b, _ := strconv.ParseUint(f, 10, 32)
		if val == "1" {
			on |= Kind(b)
		} else {
			off |= Kind(b)
		}
	}
	return on, off, nil
}

// Effective is what is locked: the config's, with the chat's locks added
// and its unlocks taken away.
func Effective(cfg *Config, on, off Kind) Kind { return (cfg.configured() | on) &^ off }

// Handle implements engine.EventHandler.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	if ev.Kind == bot.EventService {
		return cleanService(ctx, fc, cfg)
	}
	if ev.Kind != bot.EventMessage || ev.Edited || ev.Chat.Type != bot.ChatGroup || ev.Member.ID == "" || ev.Command != nil {
		return nil
	}
	if fc.IsModerator() || !fc.Caps.Has(bot.CanDelete) || ev.MessageID == "" {
		return nil // moderators are never locked out; without deletion a lock cannot act (/lock says so)
	}
	loc := fc.Locale()
	if cfg.Night.Hours.Contains(fc.Now.In(fc.Group.Location)) {
		// closed by permissions where the platform has them; what still
		// arrives (a close that failed, a platform without them) goes
		return remove(ctx, fc, cfg, "night", words.T(loc, "notice.night", cfg.Night.Hours.String()))
	}
	on, off, err := preparedLocks(ctx, fc)
	if err != nil {
		return err
	}
	locked := Effective(cfg, on, off)
	if locked == 0 {
		return nil
	}
	hit := locked & Of(ev, cfg.allowed)
	if locked&All != 0 {
		hit |= All
	}
	if hit == 0 {
		return nil
	}
	what := strings.Join(hit.Names(), ", ")
	return remove(ctx, fc, cfg, "locked: "+what, words.T(loc, "notice.locked", what))
}

// cleanService deletes a join or leave notice when the group locks them.
// It is the platform's message, not the member's: nobody is warned, told
// or counted, and a moderator's adding someone is cleaned too.
func cleanService(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	ev := fc.Event
	if ev.Chat.Type != bot.ChatGroup || ev.MessageID == "" || !fc.Caps.Has(bot.CanDelete) {
		return nil
	}
	on, off, err := preparedLocks(ctx, fc)
	if err != nil {
		return err
	}
	if Effective(cfg, on, off)&Service == 0 {
		return nil
	}
	fc.Do(bot.Action{Type: bot.ActDelete, MessageID: ev.MessageID})
	return nil
}

// preparedLocks are the chat's locks and unlocks, read inside the event's
// ingest script when it could be, else now.
func preparedLocks(ctx context.Context, fc *engine.FlowContext) (on, off Kind, err error) {
	if res, ok := fc.Prepared(); ok && len(res) == 2 {
		return Kind(res[0]), Kind(res[1]), nil
	}
	return chatLocks(ctx, fc.Store, fc.Event.GroupKey())
}

// remove deletes the event's message for a lock or the night, counts it,
// and warns or tells the member as configured.
func remove(ctx context.Context, fc *engine.FlowContext, cfg *Config, why, notice string) error {
	ev := fc.Event
	group := ev.GroupKey()
	fc.Stop(why)
	fc.Count(kpi.Locked, 1)
	if fc.Member != nil {
		// not activity: the message is gone, as spam is
		if err := fc.Store.Unrecord(ctx, group, ev.Member.ID, fc.Member.PrevActive, fc.Member.LastActive); err != nil {
			return err
		}
	}
	did := why
	if cfg.Warn && !strings.HasPrefix(why, "night") {
		w, err := moderation.Warn(ctx, fc, ev.Member, why)
		if err != nil {
			return err
		}
		did += " · " + w
	}
	fc.Do(bot.Action{Type: bot.ActDelete, MessageID: ev.MessageID, Member: ev.Member,
		Audit: &bot.Audit{By: "locks", What: did, Reason: adfilter.Excerpt(ev.Text, 60)}})
	if !cfg.Notice || cfg.Warn { // a warning has a notice of its own
		return nil
	}
	every := max(cfg.NoticeEvery.D(), time.Second)
	first, err := fc.Store.Client().SetNX(ctx, fc.Store.Key(group, "locks", "told", ev.Member.ID), 1, every).Result()
	if err != nil {
		return fmt.Errorf("%w: notice cooldown: %w", state.ErrRedis, err)
	}
	if first {
		fc.Do(bot.Action{Type: bot.ActSend, Member: ev.Member, Text: render.NewMember(ev.Member.ID, ev.Member.Name, ev.Member.Username).Mention + " " + notice,
			DeleteAfter: time.Minute})
	}
	return nil
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "lock", Args: "<" + strings.Join(kindWords(), "|") + ">…", Help: words.T(loc, "help.lock"), Moderator: true},
		{Name: "unlock", Args: "<…>", Help: words.T(loc, "help.unlock"), Moderator: true},
		{Name: "locks", Help: words.T(loc, "help.locks"), Moderator: true},
	}
}

// HandleCommand implements engine.Commander.
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	loc := fc.Locale()
	if ev.Chat.Type != bot.ChatGroup {
		fc.Reply(words.T(loc, "group.only"))
		return nil
	}
	group := ev.GroupKey()
	on, off, err := chatLocks(ctx, fc.Store, group)
	if err != nil {
		return err
	}
	before := Effective(cfg, on, off)
	if ev.Command.Name == "locks" {
		fc.Reply(f.describe(fc, cfg, before))
		return nil
	}
	want, unknown := ParseKinds(ev.Command.Args)
	if len(unknown) > 0 || want == 0 {
		fc.Reply(words.T(loc, "usage", ev.Command.Name, strings.Join(kindWords(), ", ")))
		return nil
	}
	lock := ev.Command.Name == "lock"
	if lock && !fc.Caps.Has(bot.CanDelete) {
		fc.Reply(words.T(loc, "cannot"))
		return nil
	}
	after := before | want
	if !lock {
		after = before &^ want
	}
	if after == before {
		fc.Reply(words.T(loc, "same."+ev.Command.Name, strings.Join(want.Names(), ", "))) // nothing changed: nothing logged
		return nil
	}
	fields := map[string]any{}
	for b := Kind(1); b <= lastKind; b <<= 1 {
		if want&b == 0 {
			continue
		}
		v := "0"
		if lock {
			v = "1"
		}
		fields[strconv.FormatUint(uint64(b), 10)] = v
	}
	if err := fc.Store.Client().HSet(ctx, key(fc.Store, group), fields).Err(); err != nil {
		return fmt.Errorf("%w: keep locks: %w", state.ErrRedis, err)
	}
	changed := (after ^ before).Names()
	fc.Reply(words.T(loc, "done."+ev.Command.Name, strings.Join(changed, ", ")))
	return adfilter.Audit(ctx, fc.Store, group, adfilter.Entry{At: fc.Now, By: ev.Member.ID, Action: ev.Command.Name + ": " + strings.Join(changed, ", ")})
}

func (f Flow) describe(fc *engine.FlowContext, cfg *Config, locked Kind) string {
	loc := fc.Locale()
	var lines []string
	if locked == 0 {
		lines = append(lines, words.T(loc, "locks.none"))
	} else {
		lines = append(lines, words.T(loc, "locks.list", strings.Join(locked.Names(), ", ")))
	}
	if len(cfg.AllowDomains) > 0 {
		lines = append(lines, words.T(loc, "locks.allow", strings.Join(cfg.AllowDomains, ", ")))
	}
	if h := cfg.Night.Hours.String(); h != "" {
		how := words.T(loc, "night.perms")
		if !fc.Caps.Has(bot.CanCloseChat) {
			how = words.T(loc, "night.delete")
		}
		lines = append(lines, words.T(loc, "locks.night", h, how))
	}
	if !fc.Caps.Has(bot.CanDelete) {
		lines = append(lines, words.T(loc, "cannot"))
	}
	return strings.Join(lines, "\n")
}

// Schedules implements engine.Scheduled: night mode's close and open.
func (Flow) Schedules(_ *config.Group, conf any) []engine.Schedule {
	cfg := conf.(*Config)
	h := cfg.Night.Hours
	if h.String() == "" {
		return nil
	}
	span := time.Duration((h.End-h.Start+24*60)%(24*60)) * time.Minute
	at := func(m int) string { return fmt.Sprintf("%d %d * * *", m%60, m/60) }
	closeAt, _ := config.ParseCron(at(h.Start))
	openAt, _ := config.ParseCron(at(h.End))
	return []engine.Schedule{
		// a close after a restart still helps while the night lasts; an
		// open must happen even hours late
		{Name: "night.close", Spec: closeAt.Spec, Cron: closeAt.Schedule, Grace: max(span-time.Minute, time.Minute)},
		{Name: "night.open", Spec: openAt.Spec, Cron: openAt.Schedule, Grace: max(24*time.Hour-span-time.Minute, time.Minute)},
	}
}

// HandleFire implements engine.Scheduled.
func (Flow) HandleFire(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	loc := fc.Locale()
	closing := fc.Event.Timer.Args["name"] == "night.close"
	tmpl, key, typ := cfg.Night.OpenMessage, "night.opened", bot.ActOpenChat
	if closing {
		tmpl, key, typ = cfg.Night.CloseMessage, "night.closed", bot.ActCloseChat
	}
	text := words.T(loc, key)
	if closing {
		text = words.T(loc, key, cfg.Night.Hours.String())
	}
	if !tmpl.IsZero() {
		t, err := tmpl.Render(fc.Data(nil))
		if err != nil {
			return fmt.Errorf("night message: %w", err)
		}
		text = strings.TrimSpace(t)
	}
	chat := fc.Event.GroupKey()
	if fc.Caps.Has(bot.CanCloseChat) {
		fc.Do(bot.Action{Type: typ, Chat: chat, Audit: &bot.Audit{By: "locks", What: "night: " + string(typ), Reason: cfg.Night.Hours.String()}})
	} else if !fc.Caps.Has(bot.CanDelete) {
		fc.Log.Warn("night mode cannot be enforced on this platform: only its messages are sent")
	}
	if fc.Caps.Has(bot.CanSend) && text != "" {
		fc.Do(bot.Action{Type: bot.ActSend, Chat: chat, Text: text})
	}
	return nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"help.lock":     "锁定一类内容：非管理员发的会被删除",
		"help.unlock":   "解除锁定",
		"help.locks":    "当前锁定的内容和夜间模式",
		"group.only":    "请在群里使用这个命令。",
		"usage":         "用法：/%s 类型…，类型有：%s",
		"cannot":        "这个平台不能删除群消息，锁定无法执行。",
		"same.lock":     "%s 已经是锁定状态，没有变化。",
		"same.unlock":   "%s 没有锁定，没有变化。",
		"done.lock":     "🔒 已锁定：%s。非管理员发送的这类内容会被删除。",
		"done.unlock":   "🔓 已解除锁定：%s。",
		"locks.none":    "当前没有锁定任何内容。",
		"locks.list":    "🔒 已锁定：%s",
		"locks.allow":   "允许的链接域名：%s",
		"locks.night":   "🌙 夜间模式 %s（%s）",
		"night.perms":   "关闭群发言权限",
		"night.delete":  "删除非管理员的消息",
		"notice.locked": "本群禁止发送：%s，消息已删除。",
		"notice.night":  "夜间模式（%s）期间暂停发言，消息已删除。",
		"night.closed":  "🌙 夜间模式开始（%s），明早开放发言，晚安！",
		"night.opened":  "☀️ 早上好，群已开放发言。",
	},
	"en": {
		"help.lock":     "lock a kind of content: members' posts of it are deleted",
		"help.unlock":   "lift a lock",
		"help.locks":    "what is locked, and night mode",
		"group.only":    "Use this command in the group.",
		"usage":         "Usage: /%s KIND…, kinds: %s",
		"cannot":        "This platform cannot delete group messages, so locks cannot act here.",
		"same.lock":     "%s already locked: nothing changed.",
		"same.unlock":   "%s not locked: nothing changed.",
		"done.lock":     "🔒 Locked: %s. Members' posts of it will be deleted.",
		"done.unlock":   "🔓 Unlocked: %s.",
		"locks.none":    "Nothing is locked.",
		"locks.list":    "🔒 Locked: %s",
		"locks.allow":   "Links allowed to: %s",
		"locks.night":   "🌙 Night mode %s (%s)",
		"night.perms":   "the group's permissions are closed",
		"night.delete":  "members' messages are deleted",
		"notice.locked": "posting %s is locked here; your message was removed.",
		"notice.night":  "the group is closed for the night (%s); your message was removed.",
		"night.closed":  "🌙 Night mode (%s): the group is closed until morning. Good night!",
		"night.opened":  "☀️ Good morning: the group is open again.",
	},
}
