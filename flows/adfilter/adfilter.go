// Package adfilter scores every message from a non-exempt member before
// any other flow sees it: keywords (one Aho-Corasick pass over a
// normalised form that undoes the usual evasions), regular expressions,
// links, contact details, forwards, flooding and repeats, stricter rules
// for newcomers, a spam wave across groups, and a learned classifier (logistic
// regression) shared through Redis. Spam is
// deleted, counted as a warning, and climbs a ladder of warn, mute, kick
// and ban; every action is reported to the moderators and logged.
package adfilter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/checkin"
)

// Flow is the adfilter flow.
type Flow struct {
	cache *Cache // nil: every group compiles its own rules
}

// New returns the flow with a cache that shares compiled rules between
// groups and across reloads; the zero Flow compiles each group's alone.
func New() Flow { return Flow{cache: &Cache{}} }

// Name implements engine.Flow.
func (Flow) Name() string { return "adfilter" }

// Schema implements engine.Flow.
func (f Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any {
		c := defaults()
		c.cache = f.cache
		return c
	}}
}

// Stage implements engine.EventHandler: after the gate, before everything
// that rewards a message.
func (Flow) Stage() engine.Stage { return engine.StageFilter }

// Handle implements engine.EventHandler.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind != bot.EventMessage || ev.Chat.Type != bot.ChatGroup || ev.Member.ID == "" {
		return nil
	}
	cfg := fc.Config.(*Config)
	if cfg.scorer == nil || IsExempt(fc, cfg) {
		return nil
	}
	in := Input{Text: ev.Text, Links: ev.Links, Hidden: ev.HiddenLinks, Forward: ev.Forward, External: ev.External, Newcomer: isNewcomer(fc, cfg)}
	if ev.Quote != "" || len(ev.Buttons) > 0 {
		// what the group sees with the text: the quote of another chat's
		// post the member replied to ("in stock!" quoting a drug
		// channel's offer), an inline bot's buttons ("进群领取")
		parts := []string{ev.Text}
		if ev.Quote != "" {
			parts = append(parts, ev.Quote)
		}
		in.Text = strings.Join(append(parts, ev.Buttons...), "\n")
	}
	unknown, err := unknownMentions(ctx, fc)
	if err != nil {
		return err
	}
	in.UnknownMentions = unknown
	model, err := cfg.scorer.Model(ctx, fc.Store, fc.Now)
	if err != nil {
		fc.Log.Warn("classifier reports unavailable; using the sample files alone", zap.Error(err))
	}
	v := cfg.scorer.Score(in, model)
	// what is not about the text: the member's own pace and name
	var pace float64
	if c, ok := fc.Prepared(); ok && len(c) == 3 {
		pace = floodHits(cfg, FloodCounts{c[0], c[1], c[2]}, &v)
	}
	if cfg.Names.Score > 0 {
		if score, hits := cfg.scorer.NameScore(ev.Member); score > 0 {
			v.Add("name", hits, score*cfg.Names.Score)
			pace += score * cfg.Names.Score
		}
	}
	fl := cfg.Flood
	template := ""
	if fl.Groups > 0 && !ev.Edited && ev.MessageID != "" {
		template = cfg.scorer.WaveKey(ev.Text, max(fl.MinLength, 1))
	}
	self := waveEntry{Platform: ev.Platform, Chat: ev.Chat.Key, Group: ev.GroupKey(), Message: ev.MessageID}
	var copies []waveEntry
	if template != "" && in.Newcomer {
		if copies, err = wave(ctx, fc.Store, template, self, true, fl.GroupsWindow.D(), fc.Now); err != nil {
			return err
		}
		if n := groupsIn(copies); n >= fl.Groups && fl.GroupsScore > 0 {
			v.Add("flood", fmt.Sprintf("same text in %d groups", n), fl.GroupsScore)
		}
	}
	if !v.Spam() {
		return nil
	}
	// a newcomer's spam, for newcomer.action: of a member who joined
	// within newcomer.for. Members of a group from before qunbot came
	// (no join known, or WeCom's join time years ago) are "newcomers" for
	// their first messages too, and none of them a drive-by bot.
	m, within := fc.Member, cfg.Newcomer.For.D()
	recent := m != nil && !m.JoinedAt.IsZero() && within > 0 && fc.Now.Sub(m.JoinedAt) < within
	// a channel (Telegram's "send as") never joined and has no standing:
	// spam channels are made for a post or two, as spam accounts are
	recent = recent || ev.Member.IsChannel && within > 0
	if err := f.act(ctx, fc, cfg, &v, recent && v.Score-pace >= v.Threshold); err != nil {
		return err
	}
	if template == "" || cfg.DryRun || v.Score-pace < v.Threshold {
		return nil // removed for its pace or name, not for what it says: its copies stay
	}
	if copies == nil { // a settled member's spam: newcomers' earlier copies go too
		if copies, err = wave(ctx, fc.Store, template, self, false, fl.GroupsWindow.D(), fc.Now); err != nil {
			return err
		}
	}
	return sweepWave(ctx, fc, template, copies, self, ev.Text)
}

// IsExempt reports whether the event's member is never filtered: platform
// admins, moderators, the allowlist, and members at the exempt level.
func IsExempt(fc *engine.FlowContext, cfg *Config) bool {
	if fc.IsModerator() {
		return true
	}
	m := fc.Event.Member
	for _, id := range cfg.Exempt.Members {
		if id == m.ID || id == fc.Event.Platform+":"+m.ID {
			return true
		}
	}
	if cfg.Exempt.Level != "" && fc.Member != nil {
		if c, ok := fc.Flow("checkin"); ok {
			for _, l := range c.(*checkin.Config).Levels {
				if l.Name == cfg.Exempt.Level {
					var earned int64
					fmt.Sscan(fc.Member.Fields["pts_earned"], &earned)
					return earned >= l.Points
				}
			}
		}
	}
	return false
}

func isNewcomer(fc *engine.FlowContext, cfg *Config) bool {
	m := fc.Member
	if m == nil {
		return false
	}
	n := cfg.Newcomer
	return (n.Messages > 0 && m.Messages <= int64(n.Messages)) ||
		(n.For > 0 && !m.JoinedAt.IsZero() && fc.Now.Sub(m.JoinedAt) < n.For.D())
}

// unknownMentions counts @names in the message that are not members of
// the group: channels and outside accounts being promoted.
func unknownMentions(ctx context.Context, fc *engine.FlowContext) (int, error) {
	var names []string
	for _, name := range fc.Event.Mentions {
		if name != "" && (name[0] < '0' || name[0] > '9') { // not a text mention of a member by id
			names = append(names, name)
		}
	}
	ids, err := fc.Store.ByUsernames(ctx, fc.Event.GroupKey(), names...)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if id == "" {
			n++
		}
	}
	return n, nil
}

// Prepare implements engine.Preparer: the flood counters are written in
// the message's ingest script.
func (f Flow) Prepare(fc *engine.FlowContext) *state.Step {
	ev := fc.Event
	cfg := fc.Config.(*Config)
	if ev.Kind != bot.EventMessage || ev.Edited || ev.Chat.Type != bot.ChatGroup || ev.Member.ID == "" || cfg.scorer == nil ||
		cfg.Flood.Score <= 0 || (cfg.Flood.Window <= 0 && cfg.Flood.RepeatWindow <= 0) {
		return nil
	}
	key := cfg.scorer.MatchKey(ev.Text, max(cfg.Flood.MinLength, 1))
	return FloodStep(fc.Store, ev.GroupKey(), ev.Member.ID, ev.MessageID, key, cfg.Flood, fc.Now)
}

// floodHits scores the flood counters the message's ingest answered and
// answers what the member's pace added (flooding and repeating, as
// against a crowd posting one text). Repeats and crowd are 0 for texts
// too short to count.
func floodHits(cfg *Config, c FloodCounts, v *Verdict) (pace float64) {
	fl := cfg.Flood
	if fl.Messages > 0 && fl.Window > 0 && c.Recent > int64(fl.Messages) {
		v.Add("flood", fmt.Sprintf("%d messages in %s", c.Recent, config.FormatDuration(fl.Window.D())), fl.Score)
		pace += fl.Score
	}
	if c.Repeats > 0 && fl.Repeat > 0 && c.Repeats >= int64(fl.Repeat) {
		v.Add("flood", fmt.Sprintf("same text %d times", c.Repeats), fl.Score)
		pace += fl.Score
	}
	if c.Crowd > 0 && fl.Crowd > 0 && c.Crowd >= int64(fl.Crowd) {
		v.Add("flood", fmt.Sprintf("same text from %d members", c.Crowd), fl.Score)
	}
	return pace
}

// act removes a spam message and takes the ladder's step, or, for
// newcomerSpam (a newcomer's message removed for what it says, not for
// its pace or the member's name), newcomer.action's.
func (f Flow) act(ctx context.Context, fc *engine.FlowContext, cfg *Config, v *Verdict, newcomerSpam bool) error {
	ev := fc.Event
	loc := fc.Locale()
	group := ev.GroupKey()
	who := mention(ev.Member)
	excerpt := Excerpt(ev.Text, 80)
	if cfg.DryRun {
		return Report(ctx, fc, cfg, words.T(loc, "report.dry", who, ev.Member.ID, v.Score, v.Summary(), excerpt))
	}
	fc.Stop("spam")
	fc.Emit(bot.EventSpam)
	fc.Count(kpi.Ads, 1)
	if !ev.Edited && fc.Member != nil {
		if err := fc.Store.Unrecord(ctx, group, ev.Member.ID, fc.Member.PrevActive, fc.Member.LastActive); err != nil {
			return err
		}
	}
	if cfg.Classifier != nil && !ev.Edited {
		// the next of its wave, here or in another group, is known by its likeness
		if err := Remember(ctx, fc.Store, cfg.Classifier.Model, ev.Text); err != nil {
			return err
		}
	}
	var done []string
	del := -1 // the deletion's place among the event's actions
	if fc.Caps.Has(bot.CanDelete) && ev.MessageID != "" {
		del = len(fc.Actions())
		fc.Do(bot.Action{Type: bot.ActDelete, MessageID: ev.MessageID, Member: ev.Member})
		done = append(done, words.T(loc, "did.delete"))
	} else {
		done = append(done, words.T(loc, "did.nodelete"))
	}
	did, removed := "", false
	if newcomerSpam {
		did, removed = removeNewcomer(fc, cfg, ev.Member)
	}
	if removed {
		done = append(done, did)
	} else {
		n, err := Warnings(ctx, fc.Store, group, ev.Member.ID, 1, false, cfg.Ladder.Decay.D(), fc.Now)
		if err != nil {
			return err
		}
		done = append(done, ApplyLadder(fc, cfg, ev.Member, n, words.T(loc, "reason.spam", v.Hits()[0].Rule), false)...)
	}
	action := strings.Join(done, " · ")
	if err := Report(ctx, fc, cfg, words.T(loc, "report.spam", who, ev.Member.ID, v.Score, v.Summary(), action, excerpt)); err != nil {
		return err
	}
	if del >= 0 {
		// logged once the platform removed the message (or refused to),
		// with all that was decided
		fc.Actions()[del].Audit = &bot.Audit{By: "adfilter", What: action, Reason: v.Summary() + " · " + excerpt, Text: AuditText(ev.Text)}
		return nil
	}
	return Audit(ctx, fc.Store, group, Entry{At: fc.Now, By: "adfilter", Action: action, Member: ev.Member.ID, Name: ev.Member.Name,
		Reason: v.Summary() + " · " + excerpt, Text: ev.Text})
}

// removeNewcomer bans or kicks the author of a newcomer's spam as
// newcomer.action says, quietly: the report and the moderation log say
// it. It reports false — the ladder applies — for the action "ladder",
// and where the platform cannot ban or kick.
func removeNewcomer(fc *engine.FlowContext, cfg *Config, m bot.Member) (string, bool) {
	loc := fc.Locale()
	switch {
	case cfg.Newcomer.Action == "ban" && fc.Caps.For(m).Has(bot.CanBan):
		fc.Do(bot.Action{Type: bot.ActBan, Member: m})
		fc.Count(kpi.Bans, 1)
		return words.T(loc, "did.newcomer", words.T(loc, "did.banned")), true
	case cfg.Newcomer.Action == "kick" && fc.Caps.For(m).Has(bot.CanKick):
		fc.Do(bot.Action{Type: bot.ActKick, Member: m})
		fc.Count(kpi.Kicks, 1)
		return words.T(loc, "did.newcomer", words.T(loc, "did.kicked")), true
	}
	return "", false
}

// ApplyLadder takes the ladder's step for a member's warning count and
// returns what was done, in words. Where the platform cannot act, the
// words say so and the report to moderators is the action. manual marks
// a moderator's /warn (the notice then says so, not "message removed").
func ApplyLadder(fc *engine.FlowContext, cfg *Config, m bot.Member, warns int, reason string, manual bool) []string {
	loc := fc.Locale()
	var step *Step
	for i := range cfg.Ladder.Steps {
		s := &cfg.Ladder.Steps[i]
		if s.At <= warns && (step == nil || s.At > step.At) {
			step = s
		}
	}
	who := mention(m)
	notice := func(key string, args ...any) {
		if fc.Caps.Has(bot.CanSend) {
			fc.Do(bot.Action{Type: bot.ActSend, Member: m, Text: words.T(loc, key, args...), DeleteAfter: 2 * time.Minute})
		}
	}
	warnNotice := "notice.warn"
	if manual {
		warnNotice = "notice.warned"
	}
	if step == nil {
		fc.Count(kpi.Warns, 1)
		notice(warnNotice, who, reason, warns)
		return []string{words.T(loc, "did.warn", warns)}
	}
	var until time.Time
	if step.For > 0 {
		until = fc.Now.Add(step.For.D())
	}
	switch step.Action {
	case "mute":
		if !fc.Caps.For(m).Has(bot.CanRestrict) {
			return []string{words.T(loc, "did.cannot", "mute")}
		}
		fc.Do(bot.Action{Type: bot.ActRestrict, Member: m, Until: until})
		fc.Count(kpi.Mutes, 1)
		notice("notice.mute", who, reason, i18n.Duration(loc, step.For.D()))
		return []string{words.T(loc, "did.mute", warns, i18n.Duration(loc, step.For.D()))}
	case "kick":
		if !fc.Caps.For(m).Has(bot.CanKick) {
			return []string{words.T(loc, "did.cannot", "kick")}
		}
		fc.Do(bot.Action{Type: bot.ActKick, Member: m})
		fc.Count(kpi.Kicks, 1)
		notice("notice.kick", who, reason)
		return []string{words.T(loc, "did.kick", warns)}
	case "ban":
		if !fc.Caps.For(m).Has(bot.CanBan) {
			return []string{words.T(loc, "did.cannot", "ban")}
		}
		fc.Do(bot.Action{Type: bot.ActBan, Member: m, Until: until})
		fc.Count(kpi.Bans, 1)
		notice("notice.ban", who, reason)
		return []string{words.T(loc, "did.ban", warns)}
	}
	fc.Count(kpi.Warns, 1)
	notice(warnNotice, who, reason, warns)
	return []string{words.T(loc, "did.warn", warns)}
}

// Report sends a line to the moderators' log chat (when configured) and
// to the log. At most reportBurst lines a minute go to a log chat one by
// one; the rest are counted and told in one line when the minute is over
// (see digest): in a raid of 500 bots, Telegram's 20 messages a minute
// would otherwise keep the moderators' chat busy with reports for half an
// hour. A Redis failure sends the line rather than lose it.
func Report(ctx context.Context, fc *engine.FlowContext, cfg *Config, text string) error {
	fc.Log.Info("moderation", zap.String("group", fc.Event.GroupKey()), zap.String("report", text))
	if cfg.LogChat == "" {
		return nil
	}
	chat := string(cfg.LogChat)
	minute := fc.Now.Truncate(time.Minute)
	key := reportsKey(fc.Store, chat, minute)
	var n *redis.IntCmd
	_, err := fc.Store.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Incr(ctx, key)
		p.Expire(ctx, key, 10*time.Minute)
		return nil
	})
	if err != nil {
		fc.Log.Warn("report not counted; sent", zap.Error(err))
	}
	switch {
	case err != nil || n.Val() <= reportBurst:
		title := fc.Event.Chat.Title
		if title == "" {
			title = fc.Event.GroupKey()
		}
		fc.Do(bot.Action{Type: bot.ActSend, Chat: chat, Text: "[" + title + "] " + text})
	case n.Val() == reportBurst+1:
		// the first held back: the digest is told when the minute is over
		return fc.Schedule(ctx, chat+"@"+strconv.FormatInt(minute.Unix(), 10), "digest", minute.Add(time.Minute),
			map[string]string{"chat": chat, "minute": strconv.FormatInt(minute.Unix(), 10), "member": "", "name": "", "username": ""})
	}
	return nil
}

// reportBurst is how many reports a minute a log chat gets one by one.
const reportBurst = 10

func reportsKey(s *state.Store, chat string, minute time.Time) string {
	return s.GlobalKey("{reports:"+chat+"}", strconv.FormatInt(minute.Unix(), 10))
}

// digest tells a log chat how many reports of a minute were held back.
func digest(ctx context.Context, fc *engine.FlowContext) error {
	a := fc.Event.Timer.Args
	sec, err := strconv.ParseInt(a["minute"], 10, 64)
	if err != nil || a["chat"] == "" {
		fc.Log.Error("a report digest without its chat or minute; dropped", zap.Any("args", a))
		return nil
	}
	minute := time.Unix(sec, 0)
	n, err := fc.Store.Client().Get(ctx, reportsKey(fc.Store, a["chat"], minute)).Int64()
	if err != nil && err != redis.Nil {
		return fmt.Errorf("%w: read the held-back reports: %w", state.ErrRedis, err)
	}
	if more := n - reportBurst; more > 0 {
		fc.Do(bot.Action{Type: bot.ActSend, Chat: a["chat"],
			Text: words.T(fc.Locale(), "report.digest", more, minute.In(fc.Group.Location).Format("15:04"))})
	}
	return nil
}

// Excerpt shortens text to n characters on one line.
func Excerpt(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	r := []rune(text)
	return string(r[:n]) + "…"
}

func mention(m bot.Member) string { return render.NewMember(m.ID, m.Name, m.Username).Mention }

// Model returns the classifier to score with: the sample files' counts
// plus the moderators' reports from Redis, re-read when they changed
// (checked at most every modelCheck).
func (s *Scorer) Model(ctx context.Context, st *state.Store, now time.Time) (*Model, error) {
	cl := s.cfg.Classifier
	if cl == nil {
		return nil, nil
	}
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	sh := &s.shared
	if sh.model != nil && now.Sub(sh.checked) < modelCheck && now.After(sh.checked) {
		return sh.model, nil
	}
	sh.checked = now
	version, err := modelVersion(ctx, st, cl.Model)
	if err != nil {
		if sh.model != nil {
			return sh.model, err
		}
		return s.base, err
	}
	if sh.model != nil && version == sh.version {
		return sh.model, nil
	}
	reports, err := loadShared(ctx, st, cl.Model)
	if err != nil {
		return s.base, err
	}
	var m *Model
	switch {
	case s.base != nil:
		m = s.base.clone()
	case len(reports) > 0: // no sample files: the reports alone
		m = newModel()
	default:
		sh.model, sh.version = nil, version
		return nil, nil
	}
	sc := new(scratch)
	for _, r := range reports {
		if !r.removed {
			_, _, f := s.features(sc, Input{Text: r.text}, true)
			m.learn(f, r.spam)
		}
		if r.spam {
			m.known.add(sc.n.Normalize(r.text))
		}
	}
	m.quantize() // once for all the reports: about 2 ms
	sh.model, sh.version = m, version
	return m, nil
}

// Forget makes the next Model call re-read Redis (after a report here).
func (s *Scorer) Forget() {
	s.shared.mu.Lock()
	s.shared.model = nil
	s.shared.mu.Unlock()
}

// Scorer returns the compiled rules of a config.
func (c *Config) Scorer() *Scorer { return c.scorer }

const modelCheck = 30 * time.Second

type sharedModel struct {
	mu      sync.Mutex
	model   *Model
	version int64
	checked time.Time
}

var words = i18n.Catalog{
	"zh-CN": {
		"report.dry":      "🧪 [试运行] %s (%s) 的消息得分 %.2f：%s。本会删除。原文：%s",
		"report.spam":     "🚫 %s (%s) 的消息得分 %.2f：%s。处理：%s。原文：%s",
		"reason.spam":     "广告（%s）",
		"did.delete":      "已删除",
		"did.nodelete":    "平台不允许删除，请人工处理",
		"did.warn":        "警告（第 %d 次）",
		"did.mute":        "禁言（第 %d 次警告，%s）",
		"did.kick":        "移出群（第 %d 次警告）",
		"did.ban":         "封禁（第 %d 次警告）",
		"did.cannot":      "平台不支持 %s，请人工处理",
		"report.wave":     "🌊 同一内容在 %s 个群由新成员发出，本群较早的一条：%s。原文：%s",
		"report.wave.dry": "🧪 [试运行] 同一内容在 %s 个群由新成员发出，本群较早的一条本会删除。原文：%s",
		"reason.wave":     "广告潮（%s 个群）",
		"report.digest":   "…… %d 条报告因过多未逐条发送（%s 那一分钟），详见各群的 /modlog",
		"report.name":     "🚫 %s (%s) 的名字像广告（得分 %.2f：%s）。处理：%s",
		"did.report":      "仅报告",
		"did.decline":     "已拒绝入群申请",
		"did.banned":      "已封禁",
		"did.kicked":      "已移出",
		"did.newcomer":    "%s（新成员发广告）",
		"notice.warn":     "⚠️ %s 你的消息因%s被删除。警告 %d 次，多次违规将被禁言或移出。",
		"notice.warned":   "⚠️ %s 收到警告：%s（第 %d 次），多次警告将被禁言或移出。",
		"notice.mute":     "🔇 %s 因%s被禁言 %s。",
		"notice.kick":     "👋 %s 因%s被移出群。",
		"notice.ban":      "⛔ %s 因%s被封禁。",
	},
	"en": {
		"report.dry":      "🧪 [dry run] %s (%s) scored %.2f: %s. Would delete. Text: %s",
		"report.spam":     "🚫 %s (%s) scored %.2f: %s. Done: %s. Text: %s",
		"reason.spam":     "spam (%s)",
		"did.delete":      "deleted",
		"did.nodelete":    "the platform cannot delete it: please remove it by hand",
		"did.warn":        "warned (%d)",
		"did.mute":        "muted (warning %d, %s)",
		"did.kick":        "kicked (warning %d)",
		"did.ban":         "banned (warning %d)",
		"did.cannot":      "the platform cannot %s: please act by hand",
		"report.wave":     "🌊 The same text came from newcomers in %s groups; its earlier copy here: %s. Text: %s",
		"report.wave.dry": "🧪 [dry run] The same text came from newcomers in %s groups; would delete its earlier copy here. Text: %s",
		"reason.wave":     "spam wave (%s groups)",
		"report.digest":   "… and %d more reports held back (the minute from %s): see /modlog in each group",
		"report.name":     "🚫 %s (%s) has a name that reads as an ad (%.2f: %s). Done: %s",
		"did.report":      "reported only",
		"did.decline":     "join request declined",
		"did.banned":      "banned",
		"did.kicked":      "kicked",
		"did.newcomer":    "%s (a newcomer's spam)",
		"notice.warn":     "⚠️ %s, your message was removed as %s. Warning %d; repeated spam leads to a mute or removal.",
		"notice.warned":   "⚠️ %s, you are warned: %s (warning %d); repeated warnings lead to a mute or removal.",
		"notice.mute":     "🔇 %s was muted (%s) for %s.",
		"notice.kick":     "👋 %s was removed for %s.",
		"notice.ban":      "⛔ %s was banned for %s.",
	},
}
