// Package tags tags members by what they say (keywords), by what they do
// (check-in streak, points, joining through an invite) and by moderators
// (/tag, /untag), and shows them with /whois.
//
// A tag is kept twice in Redis, both under the group's hash tag: on the
// member's record as the field "tg:<tag>" = "<expiry ms>|<why>|<set ms>"
// (0: never expires), so the flows read a member's tags with the record
// they already have, at no extra round trip; and in a sorted set per tag,
// {g}:tag:<tag>, of members scored by expiry (+inf: never), so an
// audience of a tag is a range of one set, not a read of every member.
// An expired tag counts as absent wherever it is read; the sets drop
// expired members when they are read.
package tags

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// Config is the tags section.
type Config struct {
	Rules []Rule `yaml:"rules,seq"`

	once sync.Once
	kw   *adfilter.Matcher
	kwOf []int // keyword pattern → rule
}

// Rule adds Tag when its condition holds (each rule one condition).
type Rule struct {
	Tag string `yaml:"tag"`
	// Keywords: the member said one (normalised like the ad filter's).
	Keywords []string `yaml:"keywords"`
	// CheckinStreak: a check-in streak of at least this many days.
	CheckinStreak int `yaml:"checkin_streak"`
	// Points: a balance of at least this many points.
	Points int64 `yaml:"points"`
	// Invited: the member joined through someone's invite link.
	Invited bool `yaml:"invited"`
	// Source: the member joined through this join source — the name of a
	// Telegram invite link or a WeCom join way's state, as /sources shows
	// it (渠道活码 tags: on WeCom they become the corp's customer tags).
	Source string `yaml:"source"`
	// Tier: the member is in this tier (core, active, silent, churned: the
	// wake-up flow's); the tag comes and goes with the tier, kept in step
	// by the wake-up flow's daily scan.
	Tier string `yaml:"tier"`
	// Questionnaire: the member answered this questionnaire (the survey
	// flow's) to the end.
	Questionnaire string `yaml:"questionnaire"`
	// Expire removes the tag this long after it was (last) set; 0 keeps it.
	Expire config.Duration `yaml:"expire"`
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	for i, r := range c.Rules {
		at := fmt.Sprintf("rules[%d].", i)
		if err := checkTag(r.Tag); err != nil {
			report(at+"tag", err.Error())
		}
		n := 0
		for _, on := range []bool{len(r.Keywords) > 0, r.CheckinStreak > 0, r.Points > 0, r.Invited, r.Source != "", r.Tier != "", r.Questionnaire != ""} {
			if on {
				n++
			}
		}
		if n != 1 {
			report(at+"keywords", "a rule needs exactly one condition: keywords, checkin_streak, points, invited, source, tier or questionnaire")
		}
		if r.Tier != "" && !slices.Contains([]string{"core", "active", "silent", "churned"}, r.Tier) {
			report(at+"tier", fmt.Sprintf("%q is not a tier (core, active, silent, churned)", r.Tier))
		}
		if r.Expire.D() < 0 {
			report(at+"expire", "0 (never) or a duration such as 90d")
		}
	}
}

func checkTag(t string) error {
	if t == "" || len([]rune(t)) > 32 || strings.ContainsAny(t, " |:\n\t") {
		return fmt.Errorf("a tag is 1 to 32 characters without spaces, | or :")
	}
	return nil
}

func (c *Config) matcher() *adfilter.Matcher {
	c.once.Do(func() {
		var n adfilter.Normalizer
		var pats []adfilter.Pattern
		for i, r := range c.Rules {
			for _, k := range r.Keywords {
				if rs := n.Normalize(k); len(rs) > 0 {
					pats = append(pats, adfilter.Pattern{Runes: append([]rune(nil), rs...)})
					c.kwOf = append(c.kwOf, i)
				}
			}
		}
		c.kw = adfilter.NewMatcher(pats)
	})
	return c.kw
}

// Flow is the tags flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "tags" }

// Schema implements engine.Flow: the rules need a section; /tag, /untag
// and /whois work in every group.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }, DefaultOn: true}
}

// Stage implements engine.EventHandler: after the points (a check-in's
// streak is known).
func (Flow) Stage() engine.Stage { return engine.StagePoints + 1 }

// Tag is one of a member's tags.
type Tag struct {
	Name    string
	Why     string
	Set     time.Time
	Expires time.Time // zero: never
}

// Of reads a member's live tags from their record's fields.
func Of(fields map[string]string, now time.Time) []Tag {
	var out []Tag
	for k, v := range fields {
		name, ok := strings.CutPrefix(k, "tg:")
		if !ok {
			continue
		}
		parts := strings.SplitN(v, "|", 3)
		if len(parts) != 3 {
			continue
		}
		exp, _ := strconv.ParseInt(parts[0], 10, 64)
		set, _ := strconv.ParseInt(parts[2], 10, 64)
		t := Tag{Name: name, Why: parts[1], Set: time.UnixMilli(set)}
		if exp > 0 {
			t.Expires = time.UnixMilli(exp)
			if !t.Expires.After(now) {
				continue
			}
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Tag) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func has(fields map[string]string, tag string, now time.Time) bool {
	for _, t := range Of(map[string]string{"tg:" + tag: fields["tg:"+tag]}, now) {
		if t.Name == tag {
			return true
		}
	}
	return false
}

// SetKey is a tag's set of members.
func SetKey(s *state.Store, group, tag string) string { return s.Key(group, "tag", tag) }

// tagScript tags (ARGV: member, field, value, score) or untags (member,
// field) a member: their record (KEYS[1]) and the tag's set (KEYS[2])
// together. Untagging answers 1 when the member had the tag.
var tagScript = redis.NewScript(state.RecordLua + `
local r = ropen(KEYS[1], ARGV[1])
if ARGV[3] then
  rset(r, ARGV[2], ARGV[3])
  rsave(r)
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
if rget(r, ARGV[2]) == nil then return 0 end
rdel(r, ARGV[2])
rsave(r)
return 1
`)

// Add tags a member (again: the expiry starts over).
func Add(ctx context.Context, s *state.Store, group, member, tag, why string, expire time.Duration, now time.Time) error {
	exp, score := int64(0), math.Inf(1)
	if expire > 0 {
		exp = now.Add(expire).UnixMilli()
		score = float64(exp)
	}
	why = strings.ReplaceAll(why, "|", "/")
	v := strconv.FormatInt(exp, 10) + "|" + why + "|" + strconv.FormatInt(now.UnixMilli(), 10)
	sc := strconv.FormatFloat(score, 'f', -1, 64)
	err := tagScript.Run(ctx, s.Client(), []string{s.RecordKey(group, member), SetKey(s, group, tag)}, member, "tg:"+tag, v, sc).Err()
	if err != nil {
		return fmt.Errorf("%w: tag a member: %w", state.ErrRedis, err)
	}
	return nil
}

// Remove untags a member; it answers whether the member had the tag.
func Remove(ctx context.Context, s *state.Store, group, member, tag string) (bool, error) {
	n, err := tagScript.Run(ctx, s.Client(), []string{s.RecordKey(group, member), SetKey(s, group, tag)}, member, "tg:"+tag).Int()
	if err != nil {
		return false, fmt.Errorf("%w: untag a member: %w", state.ErrRedis, err)
	}
	return n == 1, nil
}

// Members lists a tag's live members (dropping expired ones from the set).
func Members(ctx context.Context, s *state.Store, group, tag string, now time.Time) ([]string, error) {
	k := SetKey(s, group, tag)
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	var r *redis.StringSliceCmd
	_, err := s.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, k, "-inf", ms)
		r = p.ZRangeByScore(ctx, k, &redis.ZRangeBy{Min: "(" + ms, Max: "+inf"})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: read a tag's members: %w", state.ErrRedis, err)
	}
	return r.Val(), nil
}

var normalizers = sync.Pool{New: func() any { return new(adfilter.Normalizer) }}

// said answers the keyword rules a text fires, with why (nil: none).
func said(cfg *Config, text string) map[int]string {
	m := cfg.matcher()
	if len(cfg.kwOf) == 0 || text == "" {
		return map[int]string{}
	}
	n := normalizers.Get().(*adfilter.Normalizer)
	defer normalizers.Put(n)
	var fired map[int]string
	m.Match(n.Normalize(text), func(id, _ int) bool {
		r := cfg.kwOf[id]
		if fired == nil {
			fired = map[int]string{}
		}
		if _, ok := fired[r]; !ok {
			fired[r] = "said: " + adfilter.Excerpt(text, 40)
		}
		return true
	})
	if fired == nil {
		fired = map[int]string{}
	}
	return fired
}

// Handle implements engine.EventHandler: the rules, on a member's message.
func (Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	if len(cfg.Rules) == 0 || ev.Chat.Type != bot.ChatGroup || ev.Member.IsBot || fc.Member == nil {
		return nil
	}
	if ev.Kind == bot.EventJoin && ev.Source != "" {
		return joinedThrough(ctx, fc, cfg)
	}
	// a command's words are the bot's business, not the member's interests
	if ev.Kind != bot.EventMessage {
		return nil
	}
	f := fc.Member.Fields
	fired := said(cfg, ev.Text)
	streak, _ := strconv.Atoi(f["ci_streak"])
	pts, _ := strconv.ParseInt(f["pts"], 10, 64)
	for i, r := range cfg.Rules {
		switch {
		case r.CheckinStreak > 0 && streak >= r.CheckinStreak:
			fired[i] = fmt.Sprintf("check-in streak %d", streak)
		case r.Points > 0 && pts >= r.Points:
			fired[i] = fmt.Sprintf("points %d", pts)
		case r.Invited && f["inv_by"] != "":
			fired[i] = "invited by " + f["inv_by"]
		}
	}
	for i, why := range fired {
		r := cfg.Rules[i]
		// a keyword tag is set again (its expiry starts over); a standing
		// condition only when the member lacks the tag
		had := has(f, r.Tag, fc.Now)
		if len(r.Keywords) == 0 && had {
			continue
		}
		if err := set(ctx, fc, ev.Member.ID, r.Tag, why, r.Expire.D(), had); err != nil {
			return err
		}
	}
	return nil
}

// joinedThrough sets the tags of the source a member joined through.
func joinedThrough(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	for _, r := range cfg.Rules {
		if r.Source == "" || r.Source != fc.Event.Source {
			continue
		}
		had := has(fc.Member.Fields, r.Tag, fc.Now)
		if err := set(ctx, fc, fc.Event.Member.ID, r.Tag, "joined through "+r.Source, r.Expire.D(), had); err != nil {
			return err
		}
	}
	return nil
}

// set tags a member, and where the platform keeps tags of its own, there
// too (once: not again when the tag was only renewed), with a job that
// takes an expiring tag off the platform when it runs out.
func set(ctx context.Context, fc *engine.FlowContext, member, tag, why string, expire time.Duration, had bool) error {
	group := fc.Event.GroupKey()
	if err := Add(ctx, fc.Store, group, member, tag, why, expire, fc.Now); err != nil {
		return err
	}
	if !fc.CapsFor(group).Has(bot.CanTag) {
		return nil
	}
	if !had {
		fc.Do(bot.Action{Type: bot.ActTag, Chat: group, Member: bot.Member{ID: member}, Text: tag, Flow: "tags"})
	}
	if expire > 0 {
		return fc.Schedule(ctx, "tag:"+member+":"+tag, "expire", fc.Now.Add(expire), map[string]string{"member": member, "tag": tag})
	}
	return nil
}

// HandleTimer implements engine.TimerHandler: an expiring tag's end on
// the platform (unless it was set again since).
func (Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	if fc.Event.Timer.Kind != "expire" {
		return nil
	}
	group, member, tag := fc.Event.GroupKey(), fc.Event.Timer.Args["member"], fc.Event.Timer.Args["tag"]
	m, err := fc.Store.Member(ctx, group, member)
	if err != nil {
		return err
	}
	if has(m.Fields, tag, fc.Now) {
		return nil // set again: its own job ends it
	}
	if _, err := Remove(ctx, fc.Store, group, member, tag); err != nil {
		return err
	}
	fc.Do(bot.Action{Type: bot.ActUntag, Chat: group, Member: bot.Member{ID: member}, Text: tag, Flow: "tags"})
	return nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"help.tag": "给成员打标签（可加有效期，如 30d）", "help.untag": "去掉成员的标签", "help.whois": "成员资料和标签",
		"usage.tag": "用法：回复某人发 /tag 标签 [30d]，或 /tag @用户名 标签 [30d]", "usage.untag": "用法：/untag @用户名 标签", "usage.whois": "用法：回复某人发 /whois，或 /whois @用户名",
		"nobody": "找不到这个成员。", "tagged": "已给 %s 打上“%s”%s。", "for": "（%s 后过期）", "untagged": "已去掉 %s 的“%s”。", "nottagged": "%s 没有“%s”这个标签。",
		"whois": "%s（%s）\n入群：%s%s · 最后发言：%s · 消息 %d 条 · 积分 %s\n标签：%s", "whois.via": "（来源：%s）", "notags": "无", "badtag": "标签不对：%v",
	},
	"en": {
		"help.tag": "tag a member (optionally for a while, e.g. 30d)", "help.untag": "remove a member's tag", "help.whois": "a member's record and tags",
		"usage.tag": "Usage: reply with /tag TAG [30d], or /tag @username TAG [30d]", "usage.untag": "Usage: /untag @username TAG", "usage.whois": "Usage: reply with /whois, or /whois @username",
		"nobody": "No such member.", "tagged": "Tagged %s “%s”%s.", "for": " (for %s)", "untagged": "Removed “%[2]s” from %[1]s.", "nottagged": "%s has no tag “%s”.",
		"whois": "%s (%s)\nJoined: %s%s · last spoke: %s · %d messages · points %s\nTags: %s", "whois.via": " (via %s)", "notags": "none", "badtag": "Bad tag: %v",
	},
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "tag", Args: "@member TAG [30d]", Help: words.T(loc, "help.tag"), Moderator: true},
		{Name: "untag", Args: "@member TAG", Help: words.T(loc, "help.untag"), Moderator: true},
		{Name: "whois", Args: "@member", Help: words.T(loc, "help.whois"), Moderator: true},
	}
}

// HandleCommand implements engine.Commander.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	ev := fc.Event
	if ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	name := ev.Command.Name
	t, args, err := fc.Target(ctx)
	if errors.Is(err, engine.ErrUnknownTarget) {
		fc.Reply(words.T(loc, "nobody"))
		return nil
	}
	if err != nil {
		return err
	}
	if t.ID == "" {
		fc.Reply(words.T(loc, "usage."+name))
		return nil
	}
	m, err := fc.Store.Member(ctx, ev.GroupKey(), t.ID)
	if err != nil {
		return err
	}
	if m.Name == "" && m.LastActive.IsZero() && m.JoinedAt.IsZero() {
		fc.Reply(words.T(loc, "nobody"))
		return nil
	}
	who := m.Name
	if who == "" {
		who = t.ID
	}
	switch name {
	case "whois":
		var ts []string
		for _, tg := range Of(m.Fields, fc.Now) {
			s := tg.Name + " (" + tg.Why
			if !tg.Expires.IsZero() {
				s += ", → " + tg.Expires.In(fc.Group.Location).Format("2006-01-02")
			}
			ts = append(ts, s+")")
		}
		list := words.T(loc, "notags")
		if len(ts) > 0 {
			list = strings.Join(ts, "; ")
		}
		day := func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(fc.Group.Location).Format("2006-01-02")
		}
		pts := m.Fields["pts"]
		if pts == "" {
			pts = "0"
		}
		via := ""
		if src := m.Fields["join_src"]; src != "" {
			via = words.T(loc, "whois.via", i18n.SourceName(loc, src))
		}
		fc.Reply(words.T(loc, "whois", who, t.ID, day(m.JoinedAt), via, day(m.LastActive), m.Messages, pts, list))
	case "tag", "untag":
		if len(args) == 0 {
			fc.Reply(words.T(loc, "usage."+name))
			return nil
		}
		tag := args[0]
		if err := checkTag(tag); err != nil {
			fc.Reply(words.T(loc, "badtag", err))
			return nil
		}
		if name == "untag" {
			had, err := Remove(ctx, fc.Store, ev.GroupKey(), t.ID, tag)
			if err != nil {
				return err
			}
			if !had {
				fc.Reply(words.T(loc, "nottagged", who, tag))
				return nil
			}
			if fc.CapsFor(ev.GroupKey()).Has(bot.CanTag) {
				fc.Do(bot.Action{Type: bot.ActUntag, Chat: ev.GroupKey(), Member: bot.Member{ID: t.ID}, Text: tag, Flow: "tags"})
			}
			fc.Reply(words.T(loc, "untagged", who, tag))
			return nil
		}
		var expire time.Duration
		suffix := ""
		if len(args) > 1 {
			d, err := config.ParseDuration(args[1])
			if err != nil || d <= 0 {
				fc.Reply(words.T(loc, "usage.tag"))
				return nil
			}
			expire, suffix = d, words.T(loc, "for", i18n.Duration(loc, d))
		}
		if err := set(ctx, fc, t.ID, tag, "by "+ev.Member.ID, expire, has(m.Fields, tag, fc.Now)); err != nil {
			return err
		}
		fc.Reply(words.T(loc, "tagged", who, tag, suffix))
	}
	return nil
}

// Spec is tag conditions: any of Any, all of All, none of None.
type Spec struct{ Any, All, None []string }

// IsZero reports whether the spec asks nothing.
func (t Spec) IsZero() bool { return len(t.Any)+len(t.All)+len(t.None) == 0 }

// UnmarshalNode implements config.NodeUnmarshaler: a list is "any".
func (t *Spec) UnmarshalNode(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		return n.Decode(&t.Any)
	}
	var m struct {
		Any  []string `yaml:"any"`
		All  []string `yaml:"all"`
		None []string `yaml:"none"`
	}
	if err := n.Decode(&m); err != nil {
		return fmt.Errorf("tags: a list (any of them) or {any: […], all: […], none: […]}: %w", err)
	}
	t.Any, t.All, t.None = m.Any, m.All, m.None
	return nil
}

// Filter answers which of members fit a tag spec at now: one ZMSCORE per
// tag named, in one round trip.
func Filter(ctx context.Context, s *state.Store, group string, t Spec, members []string, now time.Time) ([]bool, error) {
	names := slices.Concat(t.Any, t.All, t.None)
	cmds := make([]*redis.FloatSliceCmd, len(names))
	if len(members) > 0 && len(names) > 0 {
		_, err := s.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, n := range names {
				cmds[i] = p.ZMScore(ctx, SetKey(s, group, n), members...)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%w: read tags: %w", state.ErrRedis, err)
		}
	}
	at := float64(now.UnixMilli())
	live := func(i, j int) bool { return cmds[i].Val()[j] > at } // a missing member reads 0
	out := make([]bool, len(members))
	for j := range members {
		ok := len(t.Any) == 0
		for i := range t.Any {
			ok = ok || live(i, j)
		}
		for i := range t.All {
			ok = ok && live(len(t.Any)+i, j)
		}
		for i := range t.None {
			ok = ok && !live(len(t.Any)+len(t.All)+i, j)
		}
		out[j] = ok
	}
	return out, nil
}

// Sync makes a tag's members exactly ids (a tier's members today): adds
// the newcomers, removes the rest, and answers how many of each. The
// tag's own Set/expiry rules do not apply: the tier decides.
func Sync(ctx context.Context, s *state.Store, group, tag, why string, ids []string, now time.Time) (added, removed int, err error) {
	cur, err := Members(ctx, s, group, tag, now)
	if err != nil {
		return 0, 0, err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	have := make(map[string]bool, len(cur))
	for _, id := range cur {
		have[id] = true
		if !want[id] {
			if _, err := Remove(ctx, s, group, id, tag); err != nil {
				return added, removed, err
			}
			removed++
		}
	}
	for _, id := range ids {
		if !have[id] {
			if err := Add(ctx, s, group, id, tag, why, 0, now); err != nil {
				return added, removed, err
			}
			added++
		}
	}
	return added, removed, nil
}
