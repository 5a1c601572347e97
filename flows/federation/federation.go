// Package federation is a ban list shared by groups (Rose's federations):
// groups whose config names the same federation share it; a moderator's
// /fban bans the member in every group of the federation on the same
// platform and keeps them out of any group of it they try to join later;
// /unfban lifts it; /fbanlist exports the list as CSV; `qunbot fban
// import` takes a list of known spammers (an exported CAS list).
package federation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
)

// Config is the federation section.
type Config struct {
	// Name is the federation: groups with the same name share a ban list.
	Name string `yaml:"name"`
}

var (
	nameRe     = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	platformRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,15}$`)
)

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if !nameRe.MatchString(c.Name) {
		report("name", "give the federation a name of 1 to 32 of a-z, 0-9, _ and -, e.g. brand")
	}
}

// Flow is the federation flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "federation" }

// Schema implements engine.Flow: off until a config names a federation.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }}
}

// Stage implements engine.EventHandler: before entry verification, so a
// banned member gets no challenge.
func (Flow) Stage() engine.Stage { return engine.StageGate }

// Entry is one ban on the list.
type Entry struct {
	Member string `json:"-"` // platform:id
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	Group  string `json:"group,omitempty"` // where it was given
	At     int64  `json:"at"`              // unix seconds
}

// Key is the federation's list in Redis: a hash, platform:id → Entry.
func Key(s *state.Store, name string) string { return s.GlobalKey("fed", name, "bans") }

// Banned reports whether a member (platform:id) is on a federation's list.
func Banned(ctx context.Context, s *state.Store, name, member string) (bool, error) {
	ok, err := s.Client().HExists(ctx, Key(s, name), member).Result()
	if err != nil {
		return false, fmt.Errorf("%w: read the federation's ban list: %w", state.ErrRedis, err)
	}
	return ok, nil
}

// Handle implements engine.EventHandler: a member on the list who joins
// is banned again; one who asks to join is declined.
func (Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	ev := fc.Event
	if ev.Kind != bot.EventJoin && ev.Kind != bot.EventJoinRequest || ev.Member.ID == "" || ev.Member.IsBot {
		return nil
	}
	banned, err := Banned(ctx, fc.Store, cfg.Name, ev.Platform+":"+ev.Member.ID)
	if err != nil || !banned {
		return err
	}
	fc.Stop("federation ban")
	fc.Count(kpi.FedBans, 1)
	group := ev.GroupKey()
	audit := &bot.Audit{By: "federation", What: "federation ban: refused", Reason: cfg.Name}
	if ev.Kind == bot.EventJoinRequest {
		if fc.CapsFor(group).Has(bot.CanApprove) {
			fc.Do(bot.Action{Type: bot.ActDecline, Chat: group, Member: ev.Member, Audit: audit})
		}
		return nil
	}
	if fc.Caps.Has(bot.CanBan) {
		fc.Do(bot.Action{Type: bot.ActBan, Chat: group, Member: ev.Member, Audit: audit})
	} else if fc.Caps.Has(bot.CanKick) {
		fc.Do(bot.Action{Type: bot.ActKick, Chat: group, Member: ev.Member, Audit: audit})
	} else {
		fc.TellModerators(words.T(fc.Locale(), "cannot.join", mention(ev.Member), ev.Member.ID, cfg.Name))
	}
	return nil
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{
		{Name: "fban", Args: words.T(loc, "args.target") + " [" + words.T(loc, "args.reason") + "]", Help: words.T(loc, "help.fban"), Moderator: true},
		{Name: "unfban", Args: words.T(loc, "args.target"), Help: words.T(loc, "help.unfban"), Moderator: true},
		{Name: "fbanlist", Help: words.T(loc, "help.fbanlist"), Moderator: true},
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
	if ev.Command.Name == "fbanlist" {
		return f.list(ctx, fc, cfg)
	}
	t, args, err := target(ctx, fc)
	var unknown engine.UnknownTarget
	switch {
	case errors.As(err, &unknown):
		fc.Reply(words.T(loc, "target.unknown", unknown.Name))
		return nil
	case err != nil:
		return err
	case t.ID == "":
		fc.Reply(words.T(loc, "target.none", ev.Command.Name))
		return nil
	}
	if mod, err := fc.IsModeratorOf(ctx, ev.GroupKey(), t); err != nil {
		return err
	} else if mod || t.IsAdmin {
		fc.Reply(words.T(loc, "target.moderator", mention(t)))
		return nil
	}
	key := ev.Platform + ":" + t.ID
	groups, err := Groups(ctx, fc, cfg.Name, ev.Platform)
	if err != nil {
		return err
	}
	rdb := fc.Store.Client()
	if ev.Command.Name == "unfban" {
		n, err := rdb.HDel(ctx, Key(fc.Store, cfg.Name), key).Result()
		if err != nil {
			return fmt.Errorf("%w: lift a federation ban: %w", state.ErrRedis, err)
		}
		if n == 0 {
			fc.Reply(words.T(loc, "unfban.none", mention(t), cfg.Name)) // nothing changed: nothing logged
			return nil
		}
		for _, g := range groups {
			if fc.CapsFor(g).Has(bot.CanBan) {
				fc.Do(bot.Action{Type: bot.ActUnban, Chat: g, Member: t, Audit: &bot.Audit{By: ev.Member.ID, What: "federation unban", Reason: cfg.Name}})
			}
		}
		fc.Reply(words.T(loc, "unfbanned", mention(t), cfg.Name, len(groups)))
		return nil
	}
	reason := strings.Join(args, " ")
	b, _ := json.Marshal(Entry{By: ev.Member.ID, Reason: reason, Group: ev.GroupKey(), At: fc.Now.Unix()})
	first, err := rdb.HSetNX(ctx, Key(fc.Store, cfg.Name), key, b).Result()
	if err != nil {
		return fmt.Errorf("%w: keep a federation ban: %w", state.ErrRedis, err)
	}
	if !first {
		fc.Reply(words.T(loc, "fban.already", mention(t), cfg.Name))
		return nil
	}
	n := 0
	for _, g := range groups {
		if !fc.CapsFor(g).Has(bot.CanBan) {
			continue
		}
		n++
		fc.Do(bot.Action{Type: bot.ActBan, Chat: g, Member: t,
			Audit: &bot.Audit{By: ev.Member.ID, What: "federation ban (" + cfg.Name + ")", Reason: reason}})
	}
	fc.Count(kpi.Bans, 1)
	fc.Reply(words.T(loc, "fbanned", mention(t), cfg.Name, n))
	return nil
}

// target is the engine's Target, but a numeric id never seen here is
// still a member to ban (a known spammer from elsewhere in the
// federation, or one taken from an imported list).
func target(ctx context.Context, fc *engine.FlowContext) (bot.Member, []string, error) {
	t, args, err := fc.Target(ctx)
	var unknown engine.UnknownTarget
	if errors.As(err, &unknown) {
		if _, perr := strconv.ParseInt(unknown.Name, 10, 64); perr == nil {
			return bot.Member{ID: unknown.Name, Name: unknown.Name}, fc.Event.Command.Args[1:], nil
		}
	}
	return t, args, err
}

// Groups are the groups of a federation on a platform: those the bot has
// seen or the config names, whose config names the federation.
func Groups(ctx context.Context, fc *engine.FlowContext, name, platform string) ([]string, error) {
	known, err := fc.Store.Client().HGetAll(ctx, fc.Store.GlobalKey("groups")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: list groups: %w", state.ErrRedis, err)
	}
	for key := range fc.RootConfig().Groups {
		known[key] = ""
	}
	var out []string
	for key := range known {
		if !strings.HasPrefix(key, platform+":") {
			continue
		}
		c, on := fc.GroupConfig(key).Flow("federation")
		if fed, ok := c.(*Config); on && ok && fed.Name == name {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f Flow) list(ctx context.Context, fc *engine.FlowContext, cfg *Config) error {
	loc := fc.Locale()
	var buf bytes.Buffer
	n, err := Export(ctx, fc.Store, cfg.Name, &buf)
	if err != nil {
		return err
	}
	if n == 0 {
		fc.Reply(words.T(loc, "list.empty", cfg.Name))
		return nil
	}
	text := words.T(loc, "list", cfg.Name, n)
	if fc.Caps.Has(bot.CanUpload) {
		fc.Do(bot.Action{Type: bot.ActSend, Text: text, ReplyTo: fc.Event.MessageID, Member: fc.Event.Member,
			File: &bot.File{Name: "fbans-" + cfg.Name + ".csv", Data: buf.Bytes()}})
		return nil
	}
	// no uploads here: the first lines as text
	lines := strings.SplitN(buf.String(), "\n", 52)
	if len(lines) > 51 {
		lines = append(lines[:51], words.T(loc, "list.more"))
	}
	fc.Reply(text + "\n" + strings.Join(lines, "\n"))
	return nil
}

// Export writes a federation's list as CSV (platform, id, by, reason,
// group, at in RFC 3339), sorted, and returns how many entries it wrote.
func Export(ctx context.Context, s *state.Store, name string, w io.Writer) (int, error) {
	all, err := s.Client().HGetAll(ctx, Key(s, name)).Result()
	if err != nil {
		return 0, fmt.Errorf("%w: read the federation's ban list: %w", state.ErrRedis, err)
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cw := csv.NewWriter(w)
	cw.Write([]string{"platform", "id", "by", "reason", "group", "at"})
	for _, k := range keys {
		var e Entry
		_ = json.Unmarshal([]byte(all[k]), &e) // an unreadable entry still lists its member
		platform, id, _ := strings.Cut(k, ":")
		at := ""
		if e.At > 0 {
			at = time.Unix(e.At, 0).UTC().Format(time.RFC3339)
		}
		cw.Write([]string{platform, id, e.By, e.Reason, e.Group, at})
	}
	cw.Flush()
	return len(keys), cw.Error()
}

// ImportResult is what an import did.
type ImportResult struct {
	Added, Already int
	// Skipped are the lines (1-based) that hold no member id: headers,
	// comments, garbage.
	Skipped []int
}

// Import reads a list of member ids — one per line, or the first column
// of a CSV (a CAS export, or /fbanlist's own, whose platform column is
// then used) — and adds them to a federation's list for platform, in
// batches. Existing entries are kept as they are.
func Import(ctx context.Context, s *state.Store, name, platform, reason string, r io.Reader, now time.Time) (ImportResult, error) {
	var res ImportResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	b, _ := json.Marshal(Entry{By: "import", Reason: reason, At: now.Unix()})
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		pipe := s.Client().Pipeline()
		cmds := make([]*redis.BoolCmd, len(batch))
		for i, k := range batch {
			cmds[i] = pipe.HSetNX(ctx, Key(s, name), k, b)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("%w: import into the federation's ban list: %w", state.ErrRedis, err)
		}
		for _, c := range cmds {
			if c.Val() {
				res.Added++
			} else {
				res.Already++
			}
		}
		batch = batch[:0]
		return nil
	}
	line := 0
	for sc.Scan() {
		line++
		key, ok := ParseLine(sc.Text(), platform)
		if !ok {
			res.Skipped = append(res.Skipped, line)
			continue
		}
		batch = append(batch, key)
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read the list: %w", err)
	}
	return res, flush()
}

// ParseLine reads one line of an imported list: a member id, or a CSV
// row whose first column is one, or /fbanlist's "platform,id,…". It
// returns the list's key (platform:id).
func ParseLine(line, platform string) (string, bool) {
	fields := strings.Split(strings.TrimSpace(strings.TrimPrefix(line, "\ufeff")), ",")
	p, id := platform, strings.TrimSpace(fields[0])
	if len(fields) > 1 && !isID(id) && isID(strings.TrimSpace(fields[1])) {
		p, id = strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1])
	}
	if !isID(id) || !platformRe.MatchString(p) {
		return "", false
	}
	return p + ":" + id, true
}

func isID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func mention(m bot.Member) string { return render.NewMember(m.ID, m.Name, m.Username).Mention }

var words = i18n.Catalog{
	"zh-CN": {
		"args.target":      "(回复消息|@成员|ID)",
		"args.reason":      "原因",
		"help.fban":        "在联盟的所有群封禁成员，并阻止其加入联盟的群",
		"help.unfban":      "解除联盟封禁",
		"help.fbanlist":    "导出联盟封禁名单（CSV）",
		"group.only":       "请在群里使用这个命令。",
		"target.none":      "请回复要处理的成员的消息，或写上 @用户名 或 ID：/%s @用户名",
		"target.unknown":   "我在这个群里没见过 %s：回复他的消息，或用他的 @用户名 或 ID。",
		"target.moderator": "%s 是管理员，不能对其执行这个操作。",
		"fbanned":          "⛔ 已将 %s 加入联盟 %s 的封禁名单，并在 %d 个群封禁。",
		"fban.already":     "%s 已经在联盟 %s 的封禁名单上。",
		"unfbanned":        "✅ 已将 %s 移出联盟 %s 的封禁名单，并在 %d 个群解除封禁。",
		"unfban.none":      "%s 不在联盟 %s 的封禁名单上，没有变化。",
		"list":             "联盟 %s 的封禁名单：%d 人。",
		"list.empty":       "联盟 %s 的封禁名单是空的。",
		"list.more":        "……（更多内容请用 qunbot fban export 或在支持文件的平台上导出）",
		"cannot.join":      "%s（%s）在联盟 %s 的封禁名单上，加入了群，但这个平台不能移出成员，请手动处理。",
	},
	"en": {
		"args.target":      "(reply|@member|id)",
		"args.reason":      "reason",
		"help.fban":        "ban a member in every group of the federation, and keep them out",
		"help.unfban":      "lift a federation ban",
		"help.fbanlist":    "the federation's ban list as CSV",
		"group.only":       "Use this command in the group.",
		"target.none":      "Reply to the member's message, or name them: /%s @username or id",
		"target.unknown":   "I have not seen %s in this group: reply to their message, or use their @username or id.",
		"target.moderator": "%s is a moderator: not done.",
		"fbanned":          "⛔ %s is on federation %s's ban list and banned in %d groups.",
		"fban.already":     "%s is on federation %s's ban list already.",
		"unfbanned":        "✅ %s is off federation %s's ban list and unbanned in %d groups.",
		"unfban.none":      "%s is not on federation %s's ban list: nothing changed.",
		"list":             "Federation %s's ban list: %d members.",
		"list.empty":       "Federation %s's ban list is empty.",
		"list.more":        "… (the rest: qunbot fban export, or a platform that takes files)",
		"cannot.join":      "%s (%s), on federation %s's ban list, joined, but this platform cannot remove members: please act by hand.",
	},
}
