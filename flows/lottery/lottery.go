// Package lottery runs giveaways (抽奖) anyone can check: a moderator's
// /lottery opens one with a prize, a number of winners and a draw time;
// members who meet its conditions enter by a button (or a keyword), once
// each however many replicas see the press; at the draw time the winners
// are derived from a seed published as a hash at the opening (see
// draw.go), announced, and claim by a button (a code privately, points,
// a tag); prizes not claimed in time are drawn again.
package lottery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	"github.com/qunbot/qunbot/flows/activity"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/codes"
	"github.com/qunbot/qunbot/flows/tags"
)

// Config is the lottery section.
type Config struct {
	// Keyword: a message that is exactly this enters every open lottery.
	Keyword string `yaml:"keyword"`
	// ClaimWithin: a prize not claimed this long after the draw is drawn
	// again (0: never).
	ClaimWithin config.Duration `yaml:"claim_within"`
	// Redraws is how many times unclaimed prizes are drawn again.
	Redraws int `yaml:"redraws"`
	// Codes gives each winner who claims a code from a pool (a file, one
	// per line), privately.
	Codes *Codes `yaml:"codes"`
	// Points are credited to each winner who claims.
	Points int64 `yaml:"points"`
	// Tag is set on each winner who claims.
	Tag string `yaml:"tag"`
	// Eligible says who may enter.
	Eligible activity.Eligibility `yaml:"eligible"`
	// Scheduled lotteries open by themselves (a weekly giveaway).
	Scheduled []Scheduled `yaml:"scheduled"`
}

// Scheduled is a lottery the config opens on a schedule.
type Scheduled struct {
	Name    string `yaml:"name"`
	Prize   string `yaml:"prize"`
	Winners int    `yaml:"winners"`
	// Cron is when it opens (the group's zone); DrawAfter how long it
	// stays open.
	Cron      config.Cron     `yaml:"cron"`
	DrawAfter config.Duration `yaml:"draw_after"`
}

// Codes is a pool of prize codes.
type Codes struct {
	Pool string      `yaml:"pool"`
	File config.Path `yaml:"file"`
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.ClaimWithin < 0 {
		report("claim_within", "must not be negative")
	}
	if c.Redraws < 0 || c.Redraws > 10 {
		report("redraws", "0 to 10")
	}
	if c.Codes != nil && (c.Codes.Pool == "" || c.Codes.File == "") {
		report("codes", "give a pool name and a file of codes")
	}
	if c.Points < 0 {
		report("points", "must not be negative")
	}
	c.Eligible.Validate("eligible", report)
	seen := map[string]bool{}
	for i, sc := range c.Scheduled {
		at := fmt.Sprintf("scheduled[%d].", i)
		if sc.Name == "" || seen[sc.Name] {
			report(at+"name", "a unique name")
		}
		seen[sc.Name] = true
		if sc.Prize == "" || sc.Winners < 1 || sc.Winners > 100 {
			report(at+"winners", "a prize and 1 to 100 winners")
		}
		if sc.Cron.Schedule == nil {
			report(at+"cron", "when it opens, e.g. \"0 20 * * 5\"")
		}
		if sc.DrawAfter.D() < time.Minute {
			report(at+"draw_after", "at least 1m")
		}
	}
}

// Schedules implements engine.Scheduled: the lotteries the config opens.
func (Flow) Schedules(_ *config.Group, conf any) []engine.Schedule {
	cfg := conf.(*Config)
	out := make([]engine.Schedule, 0, len(cfg.Scheduled))
	for _, sc := range cfg.Scheduled {
		out = append(out, engine.Schedule{Name: sc.Name, Spec: sc.Cron.Spec, Cron: sc.Cron.Schedule, Grace: time.Hour})
	}
	return out
}

// HandleFire implements engine.Scheduled: a scheduled lottery opens.
func (f Flow) HandleFire(ctx context.Context, fc *engine.FlowContext) error {
	cfg := fc.Config.(*Config)
	for _, sc := range cfg.Scheduled {
		if sc.Name == fc.Event.Timer.Args["name"] {
			return f.open(ctx, fc, cfg, sc.Prize, sc.Winners, fc.Now.Add(sc.DrawAfter.D()))
		}
	}
	return nil
}

// Flow is the lottery flow.
type Flow struct {
	// Seeds is where draw seeds come from: crypto/rand when nil. A
	// simulation with a fixed clock (the console's --now) passes a fixed
	// stream so its transcripts repeat.
	Seeds io.Reader
}

// Name implements engine.Flow.
func (Flow) Name() string { return "lottery" }

// Schema implements engine.Flow: on where the config has a section.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{ClaimWithin: config.Duration(24 * time.Hour), Redraws: 2} }}
}

// Stage implements engine.EventHandler.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// A lottery lives under a short global number (callback data fits 64
// bytes): {qb}:lot:<id> names its group; {g}:lot:<id> is a hash (prize,
// k, at, commit, seed, state open|drawn|cancelled, picks); {g}:lot:<id>:e
// the entries (member → when); {g}:lot:<id>:w the winners (member →
// won|claimed:<code>|lapsed); {g}:lot:open the open ones.
type keys struct {
	s     *state.Store
	group string
	id    string
}

func (k keys) lot() string     { return k.s.Key(k.group, "lot", k.id) }
func (k keys) entries() string { return k.s.Key(k.group, "lot", k.id, "e") }
func (k keys) winners() string { return k.s.Key(k.group, "lot", k.id, "w") }
func (k keys) open() string    { return k.s.Key(k.group, "lot", "open") }
func (k keys) index() string   { return k.s.GlobalKey("lot", k.id) }

const keep = 90 * 24 * time.Hour // a lottery's records, after its draw

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "lottery", Args: words.T(loc, "args"), Help: words.T(loc, "help"), Moderator: true},
		{Name: "claim", Args: "ID", Help: words.T(loc, "help.claim")},
		{Name: "enter", Args: "[ID]", Help: words.T(loc, "help.enter")}}
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
	args := ev.Command.Args
	if ev.Command.Name == "enter" {
		// entries where the platform has no buttons (or by habit)
		said, err := f.enterOpen(ctx, fc, cfg, args)
		if err != nil {
			return err
		}
		if len(said) == 0 {
			said = []string{words.T(loc, "none")}
		}
		fc.Reply(strings.Join(said, "\n"))
		return nil
	}
	if ev.Command.Name == "claim" {
		// claims where the platform has no buttons
		if len(args) != 1 {
			fc.Reply(words.T(loc, "claim.usage"))
			return nil
		}
		text, secret, err := f.claim(ctx, fc, cfg, args[0])
		if err != nil {
			return err
		}
		if secret {
			text = words.T(loc, "claimed.here") // the code went privately
		}
		fc.Reply(text)
		return nil
	}
	switch {
	case len(args) == 0:
		return f.list(ctx, fc)
	case len(args) == 2 && (args[0] == "draw" || args[0] == "cancel"):
		k := keys{fc.Store, ev.GroupKey(), args[1]}
		st, err := fc.Store.Client().HGet(ctx, k.lot(), "state").Result()
		if errors.Is(err, redis.Nil) || (err == nil && st != "open") {
			fc.Reply(words.T(loc, "notopen", args[1]))
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: read a lottery: %w", state.ErrRedis, err)
		}
		if args[0] == "draw" {
			return f.draw(ctx, fc, cfg, k)
		}
		if err := fc.Store.Client().HSet(ctx, k.lot(), "state", "cancelled").Err(); err != nil {
			return fmt.Errorf("%w: cancel a lottery: %w", state.ErrRedis, err)
		}
		fc.Store.Client().SRem(ctx, k.open(), k.id)
		fc.Reply(words.T(loc, "cancelled", k.id))
		return nil
	case len(args) < 3:
		fc.Reply(words.T(loc, "usage"))
		return nil
	}
	n, err := strconv.Atoi(args[len(args)-2])
	if err != nil || n < 1 || n > 100 {
		fc.Reply(words.T(loc, "usage"))
		return nil
	}
	at, ok := activity.When(args[len(args)-1], fc.Now, fc.Group.Location)
	if !ok {
		fc.Reply(words.T(loc, "when", args[len(args)-1]))
		return nil
	}
	prize := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(ev.Command.ArgText), args[len(args)-2]+" "+args[len(args)-1]))
	return f.open(ctx, fc, cfg, prize, n, at)
}

func (f Flow) open(ctx context.Context, fc *engine.FlowContext, cfg *Config, prize string, n int, at time.Time) error {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	rdb := fc.Store.Client()
	seq, err := rdb.Incr(ctx, fc.Store.GlobalKey("lot", "seq")).Result()
	if err != nil {
		return fmt.Errorf("%w: number a lottery: %w", state.ErrRedis, err)
	}
	k := keys{fc.Store, group, strconv.FormatInt(seq, 36)}
	var raw [32]byte
	src := f.Seeds
	if src == nil {
		src = rand.Reader
	}
	if _, err := io.ReadFull(src, raw[:]); err != nil {
		return fmt.Errorf("lottery seed: %w", err)
	}
	seed := hex.EncodeToString(raw[:])
	commit := Commit(seed)
	ttl := at.Sub(fc.Now) + keep
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.lot(), "prize", prize, "k", n, "at", at.Unix(), "commit", commit, "seed", seed, "state", "open", "by", fc.Event.Member.ID)
		p.Expire(ctx, k.lot(), ttl)
		p.SAdd(ctx, k.open(), k.id)
		return nil
	})
	if err == nil {
		err = rdb.Set(ctx, k.index(), group, ttl).Err()
	}
	if err != nil {
		return fmt.Errorf("%w: open a lottery: %w", state.ErrRedis, err)
	}
	if err := fc.Schedule(ctx, k.id, "draw", at, map[string]string{"id": k.id}); err != nil {
		return err
	}
	text := words.T(loc, "open", prize, n, at.In(fc.Group.Location).Format("01-02 15:04"), k.id)
	if d := cfg.Eligible.Describe(loc); d != "" {
		text += "\n" + words.T(loc, "who", d)
	}
	if cfg.Keyword != "" {
		text += "\n" + words.T(loc, "keyword", cfg.Keyword)
	}
	text += "\n" + words.T(loc, "commit", commit)
	a := bot.Action{Type: bot.ActSend, Chat: group, Text: text}
	if fc.Caps.Has(bot.CanButtons) {
		a.Buttons = [][]bot.ButtonSpec{{{Text: words.T(loc, "enter.button"), Data: "lot:in:" + k.id}}}
	} else {
		a.Text += "\n" + words.T(loc, "enter.how", k.id)
	}
	fc.Do(a)
	return nil
}

func (f Flow) list(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	ids, err := fc.Store.Client().SMembers(ctx, keys{fc.Store, group, ""}.open()).Result()
	if err != nil {
		return fmt.Errorf("%w: list lotteries: %w", state.ErrRedis, err)
	}
	if len(ids) == 0 {
		fc.Reply(words.T(loc, "none") + "\n" + words.T(loc, "usage"))
		return nil
	}
	slices.Sort(ids)
	lines := []string{words.T(loc, "list")}
	for _, id := range ids {
		k := keys{fc.Store, group, id}
		kv, err := fc.Store.Client().HGetAll(ctx, k.lot()).Result()
		if err != nil {
			return fmt.Errorf("%w: read a lottery: %w", state.ErrRedis, err)
		}
		n, _ := fc.Store.Client().ZCard(ctx, k.entries()).Result()
		at, _ := strconv.ParseInt(kv["at"], 10, 64)
		lines = append(lines, words.T(loc, "item", id, kv["prize"], kv["k"], time.Unix(at, 0).In(fc.Group.Location).Format("01-02 15:04"), n))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// enterScript adds an entry once, while the lottery is open and before
// its draw time; it answers 1 (entered), 0 (entered before) or -1 (closed),
// and the count.
var enterScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'open' or tonumber(redis.call('HGET', KEYS[1], 'at') or '0') <= tonumber(ARGV[2]) then
  return {-1, 0}
end
local added = redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return {added, redis.call('ZCARD', KEYS[2])}
`)

// enter enters the event's member, if eligible; it answers the result in
// words.
func (f Flow) enter(ctx context.Context, fc *engine.FlowContext, cfg *Config, id string) (string, error) {
	loc := fc.Locale()
	ev := fc.Event
	m := fc.Member
	if m == nil {
		var err error
		if m, err = fc.Store.Member(ctx, ev.GroupKey(), ev.Member.ID); err != nil {
			return "", err
		}
	}
	if ev.Member.IsBot {
		return words.T(loc, "bots"), nil
	}
	ok, why, err := cfg.Eligible.Check(ctx, fc, m)
	if err != nil || !ok {
		return why, err
	}
	k := keys{fc.Store, ev.GroupKey(), id}
	res, err := enterScript.Run(ctx, fc.Store.Client(), []string{k.lot(), k.entries()}, ev.Member.ID, fc.Now.Unix(), fc.Now.UnixMilli()).Int64Slice()
	if err != nil {
		return "", fmt.Errorf("%w: enter a lottery: %w", state.ErrRedis, err)
	}
	switch res[0] {
	case 1:
		return words.T(loc, "entered", res[1]), nil
	case 0:
		return words.T(loc, "again", res[1]), nil
	}
	return words.T(loc, "closed"), nil
}

// Handle implements engine.EventHandler: the entry and claim buttons, and
// the keyword.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	ev := fc.Event
	if cfg == nil || ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	if ev.Kind == bot.EventButton && ev.Button != nil && strings.HasPrefix(ev.Button.Data, "lot:") {
		what, id, _ := strings.Cut(strings.TrimPrefix(ev.Button.Data, "lot:"), ":")
		var text string
		var err error
		switch what {
		case "in":
			text, err = f.enter(ctx, fc, cfg, id)
		case "claim":
			text, _, err = f.claim(ctx, fc, cfg, id) // a press's answer is seen by the presser alone
		}
		if err != nil {
			return err
		}
		fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: text})
		return nil
	}
	if ev.Kind != bot.EventMessage || cfg.Keyword == "" || strings.TrimSpace(ev.Text) != cfg.Keyword {
		return nil
	}
	said, err := f.enterOpen(ctx, fc, cfg, nil)
	if err != nil {
		return err
	}
	if len(said) > 0 {
		fc.Do(bot.Action{Type: bot.ActSend, Text: strings.Join(said, "\n"), ReplyTo: ev.MessageID, Member: ev.Member, DeleteAfter: 2 * time.Minute})
	}
	return nil
}

// enterOpen enters the event's member into the open lotteries named (all
// when none is), and answers what each said.
func (f Flow) enterOpen(ctx context.Context, fc *engine.FlowContext, cfg *Config, only []string) ([]string, error) {
	ids, err := fc.Store.Client().SMembers(ctx, keys{fc.Store, fc.Event.GroupKey(), ""}.open()).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: list lotteries: %w", state.ErrRedis, err)
	}
	slices.Sort(ids)
	var said []string
	for _, id := range ids {
		if len(only) > 0 && !slices.Contains(only, id) {
			continue
		}
		text, err := f.enter(ctx, fc, cfg, id)
		if err != nil {
			return nil, err
		}
		said = append(said, text)
	}
	return slices.Compact(said), nil
}

// HandleTimer implements engine.TimerHandler: the draw and the re-draws.
func (f Flow) HandleTimer(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		cfg = Flow{}.Schema().New().(*Config)
	}
	k := keys{fc.Store, fc.Event.GroupKey(), fc.Event.Timer.Args["id"]}
	switch fc.Event.Timer.Kind {
	case "draw":
		return f.draw(ctx, fc, cfg, k)
	case "redraw":
		round, _ := strconv.Atoi(fc.Event.Timer.Args["round"])
		return f.redraw(ctx, fc, cfg, k, round)
	}
	return nil
}

// draw picks the winners and announces them with the seed. It is
// deterministic: run again (a restart in the middle) it writes and says
// the same, and the engine sends what it says once.
func (f Flow) draw(ctx context.Context, fc *engine.FlowContext, cfg *Config, k keys) error {
	loc := fc.Locale()
	rdb := fc.Store.Client()
	kv, err := rdb.HGetAll(ctx, k.lot()).Result()
	if err != nil {
		return fmt.Errorf("%w: read a lottery: %w", state.ErrRedis, err)
	}
	if kv["state"] != "open" && kv["state"] != "drawn" {
		return nil // cancelled, or gone
	}
	entries, err := rdb.ZRange(ctx, k.entries(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("%w: read entries: %w", state.ErrRedis, err)
	}
	n, _ := strconv.Atoi(kv["k"])
	winners := Picks(kv["seed"], entries, n)
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.lot(), "state", "drawn", "picks", len(winners), "drawn_at", fc.Now.Unix())
		for _, w := range winners {
			p.HSetNX(ctx, k.winners(), w, "won")
		}
		p.Expire(ctx, k.winners(), keep)
		p.Expire(ctx, k.lot(), keep)
		p.Expire(ctx, k.entries(), keep)
		p.Expire(ctx, k.index(), keep)
		p.SRem(ctx, k.open(), k.id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: record a draw: %w", state.ErrRedis, err)
	}
	group := k.group
	if len(winners) == 0 {
		fc.Do(bot.Action{Type: bot.ActSend, Chat: group, Text: words.T(loc, "nobody", kv["prize"], k.id)})
		return nil
	}
	names, named, err := f.mentions(ctx, fc, group, winners)
	if err != nil {
		return err
	}
	sorted := slices.Clone(entries)
	slices.Sort(sorted)
	text := words.T(loc, "drawn", kv["prize"], len(entries), strings.Join(names, " "), kv["seed"], kv["commit"], k.id, n)
	if cfg.ClaimWithin > 0 {
		text += "\n" + words.T(loc, "claim.within", i18n.Duration(loc, cfg.ClaimWithin.D()))
	}
	a := bot.Action{Type: bot.ActSend, Chat: group, Text: text, Mentioned: named}
	if fc.Caps.Has(bot.CanButtons) {
		a.Buttons = [][]bot.ButtonSpec{{{Text: words.T(loc, "claim.button"), Data: "lot:claim:" + k.id}}}
	} else {
		a.Text += "\n" + words.T(loc, "claim.how", k.id)
	}
	fc.Do(a)
	// the entries, so anyone can run the draw again
	list := strings.Join(sorted, "\n") + "\n"
	entriesMsg := bot.Action{Type: bot.ActSend, Chat: group, Text: words.T(loc, "entries", k.id, len(sorted))}
	if fc.Caps.Has(bot.CanUpload) {
		entriesMsg.File = &bot.File{Name: "lottery-" + k.id + "-entries.txt", Data: []byte(list)}
	} else if len(sorted) <= 200 {
		entriesMsg.Text += "\n" + strings.Join(sorted, " ")
	} else {
		entriesMsg.Text += "\n" + words.T(loc, "entries.many")
	}
	fc.Do(entriesMsg)
	if cfg.ClaimWithin > 0 && cfg.Redraws > 0 {
		return fc.Schedule(ctx, k.id+":1", "redraw", fc.Now.Add(cfg.ClaimWithin.D()), map[string]string{"id": k.id, "round": "1"})
	}
	return nil
}

// redraw gives the prizes not claimed in time to the next picks.
func (f Flow) redraw(ctx context.Context, fc *engine.FlowContext, cfg *Config, k keys, round int) error {
	loc := fc.Locale()
	rdb := fc.Store.Client()
	kv, err := rdb.HGetAll(ctx, k.lot()).Result()
	if err != nil {
		return fmt.Errorf("%w: read a lottery: %w", state.ErrRedis, err)
	}
	if kv["state"] != "drawn" {
		return nil
	}
	ws, err := rdb.HGetAll(ctx, k.winners()).Result()
	if err != nil {
		return fmt.Errorf("%w: read winners: %w", state.ErrRedis, err)
	}
	entries, err := rdb.ZRange(ctx, k.entries(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("%w: read entries: %w", state.ErrRedis, err)
	}
	picked, _ := strconv.Atoi(kv["picks"])
	var lapsed []string
	for _, w := range Picks(kv["seed"], entries, picked) {
		if ws[w] == "won" {
			lapsed = append(lapsed, w)
		}
	}
	if len(lapsed) == 0 {
		return nil
	}
	// the next picks only: the draw costs picks × entries
	all := Picks(kv["seed"], entries, picked+len(lapsed))
	next := all[min(picked, len(all)):min(picked+len(lapsed), len(all))]
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, w := range lapsed {
			p.HSet(ctx, k.winners(), w, "lapsed")
		}
		for _, w := range next {
			p.HSetNX(ctx, k.winners(), w, "won")
		}
		p.HSet(ctx, k.lot(), "picks", picked+len(next))
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: record a re-draw: %w", state.ErrRedis, err)
	}
	gone, _, err := f.mentions(ctx, fc, k.group, lapsed)
	if err != nil {
		return err
	}
	if len(next) == 0 {
		fc.Do(bot.Action{Type: bot.ActSend, Chat: k.group, Text: words.T(loc, "redraw.none", strings.Join(gone, " "), kv["prize"])})
		return nil
	}
	got, named, err := f.mentions(ctx, fc, k.group, next)
	if err != nil {
		return err
	}
	// the new winners are notified; those whose win lapsed are only named
	a := bot.Action{Type: bot.ActSend, Chat: k.group, Text: words.T(loc, "redraw", strings.Join(gone, " "), kv["prize"], strings.Join(got, " ")) +
		"\n" + words.T(loc, "claim.within", i18n.Duration(loc, cfg.ClaimWithin.D())), Mentioned: named}
	if fc.Caps.Has(bot.CanButtons) {
		a.Buttons = [][]bot.ButtonSpec{{{Text: words.T(loc, "claim.button"), Data: "lot:claim:" + k.id}}}
	}
	fc.Do(a)
	if round < cfg.Redraws {
		return fc.Schedule(ctx, k.id+":"+strconv.Itoa(round+1), "redraw", fc.Now.Add(cfg.ClaimWithin.D()), map[string]string{"id": k.id, "round": strconv.Itoa(round + 1)})
	}
	return nil
}

// claimScript turns a win into a claim once: 1 claimed now, 0 claimed
// before (the code answered), -1 lapsed, -2 not a winner.
var claimScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return {-2, ''} end
if v == 'lapsed' then return {-1, ''} end
if v ~= 'won' then return {0, string.sub(v, 9)} end
redis.call('HSET', KEYS[1], ARGV[1], 'claimed:' .. ARGV[2])
return {1, ARGV[2]}
`)

// claim hands a winner their prize, once.
// secret says the answer holds a code (not for the group to read).
func (f Flow) claim(ctx context.Context, fc *engine.FlowContext, cfg *Config, id string) (text string, secret bool, err error) {
	loc := fc.Locale()
	ev := fc.Event
	k := keys{fc.Store, ev.GroupKey(), id}
	rdb := fc.Store.Client()
	v, err := rdb.HGet(ctx, k.winners(), ev.Member.ID).Result()
	if errors.Is(err, redis.Nil) {
		return words.T(loc, "notwinner"), false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%w: read winners: %w", state.ErrRedis, err)
	}
	if v != "won" && v != "lapsed" {
		return words.T(loc, "claimed.before", strings.TrimPrefix(v, "claimed:")), strings.TrimPrefix(v, "claimed:") != "", nil
	}
	if v == "lapsed" {
		return words.T(loc, "lapsed"), false, nil
	}
	code := ""
	if cfg.Codes != nil {
		p := codes.New(fc.Store, cfg.Codes.Pool)
		if err := p.Load(ctx, string(cfg.Codes.File)); err != nil {
			return "", false, err
		}
		// one press per winner takes a code: a second press on another
		// replica waits for the first's answer
		if ok, err := rdb.HSetNX(ctx, k.winners(), "taking:"+ev.Member.ID, ev.ID).Result(); err != nil {
			return "", false, fmt.Errorf("%w: claim: %w", state.ErrRedis, err)
		} else if !ok {
			if holder, _ := rdb.HGet(ctx, k.winners(), "taking:"+ev.Member.ID).Result(); holder != ev.ID {
				return words.T(loc, "claiming"), false, nil
			}
		}
		if code, _, err = p.Pop(ctx); err != nil {
			return "", false, err
		}
		if code == "" {
			fc.TellModerators(words.T(loc, "pool.empty", cfg.Codes.Pool, id))
		}
	}
	res, err := claimScript.Run(ctx, rdb, []string{k.winners()}, ev.Member.ID, code).Slice()
	if err != nil {
		return "", false, fmt.Errorf("%w: claim: %w", state.ErrRedis, err)
	}
	st, _ := res[0].(int64)
	got, _ := res[1].(string)
	switch st {
	case -2:
		return words.T(loc, "notwinner"), false, nil
	case -1:
		return words.T(loc, "lapsed"), false, nil
	case 0:
		return words.T(loc, "claimed.before", got), got != "", nil
	}
	prize, _ := rdb.HGet(ctx, k.lot(), "prize").Result()
	// the rest of the prize follows the claim: a crash here loses the
	// points or the tag, never gives them twice
	if cfg.Points > 0 {
		if _, err := checkin.GroupLedger(fc.Store, fc.Group, ev.GroupKey()).Award(ctx, ev.Member.ID, cfg.Points, "lottery "+id, fc.Now, true); err != nil {
			return "", false, err
		}
		fc.Count(kpi.PointsIn, cfg.Points)
	}
	if cfg.Tag != "" {
		if err := tags.Add(ctx, fc.Store, ev.GroupKey(), ev.Member.ID, cfg.Tag, "lottery "+id, 0, fc.Now); err != nil {
			return "", false, err
		}
	}
	text = words.T(loc, "claimed", prize)
	if code != "" {
		text = words.T(loc, "claimed.code", prize, code)
		fc.Do(bot.Action{Type: bot.ActDM, Chat: ev.GroupKey(), Member: ev.Member, Text: text})
	}
	return text, code != "", nil
}

// mentions are how the members are named in the group, and the members,
// so the platform can notify those it names without a @username.
func (f Flow) mentions(ctx context.Context, fc *engine.FlowContext, group string, ids []string) ([]string, []bot.Member, error) {
	out := make([]string, 0, len(ids))
	members := make([]bot.Member, 0, len(ids))
	for _, id := range ids {
		m, err := fc.Store.Member(ctx, group, id)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, render.NewMember(id, m.Name, m.Username).Mention)
		members = append(members, bot.Member{ID: id, Name: m.Name, Username: m.Username})
	}
	return out, members, nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"args": "奖品 名额 开奖时间（2h、20:00）| draw ID | cancel ID", "help": "发起抽奖；不带参数列出进行中的抽奖",
		"group.only": "请在群里使用这个命令。", "usage": "用法：/lottery 奖品 名额 开奖时间，例如 /lottery 周边礼盒 3 2h（或 20:00）",
		"when": "开奖时间 %q 无效：写 2h、1d 或 20:00。", "notopen": "没有进行中的抽奖 %s。", "cancelled": "抽奖 %s 已取消。",
		"open": "🎁 抽奖 #%[4]s：%[1]s，共 %[2]d 名，%[3]s 开奖。",
		"who":  "参加条件：%s。", "keyword": "发送“%s”也可以参加。",
		"commit":       "公平性：开奖种子的 SHA-256 是 %s，开奖时公布种子，任何人都可以验证。",
		"enter.button": "🎁 参加抽奖", "entered": "已参加！目前 %d 人参加。", "again": "你已经参加过了（目前 %d 人）。", "closed": "这个抽奖已经结束。", "bots": "机器人不能参加。",
		"none": "现在没有进行中的抽奖。", "list": "进行中的抽奖：", "item": "#%s %s ×%s，%s 开奖，%d 人参加",
		"nobody":       "抽奖 #%[2]s（%[1]s）无人参加，已结束。",
		"drawn":        "🎉 抽奖 #%[6]s 开奖：%[1]s\n%[2]d 人参加，中奖：%[3]s\n种子：%[4]s\n（SHA-256 = %[5]s，与开奖前公布的一致）\n验证：qunbot lottery verify --seed 种子 --commit %[5]s --entries 名单文件 --winners %[7]d",
		"claim.within": "请在 %s 内点“领奖”，过时将重新抽取。", "claim.button": "🎁 领奖",
		"entries": "抽奖 #%s 的参加名单（%d 人，按 ID 排序）：", "entries.many": "（人数较多，名单请向管理员索取）",
		"redraw":      "⏰ %[1]s 未在时限内领取“%[2]s”，按公布的抽取顺序重新抽取：%[3]s",
		"redraw.none": "⏰ %s 未在时限内领取“%s”，已没有其他参加者可以抽取。",
		"notwinner":   "你没有中这个奖。", "lapsed": "已过领奖时间，奖品已重新抽取。", "claimed.before": "你已经领过奖了。%s", "claiming": "正在为你领奖，请稍候。",
		"claimed": "🎉 已领取：%s！", "claimed.here": "🎉 已领取，兑奖码已私信发给你。", "help.claim": "中奖后领奖：/claim 抽奖编号", "claim.usage": "用法：/claim 抽奖编号",
		"claim.how": "发送 /claim %s 领奖。", "enter.how": "发送 /enter %s 参加。", "help.enter": "参加抽奖：/enter（全部进行中的）或 /enter 编号", "claimed.code": "🎉 已领取：%s！你的兑奖码：%s", "pool.empty": "奖品码池 %q 已用完，抽奖 %s 的中奖者领不到码了，请补充。",
	},
	"en": {
		"args": "PRIZE WINNERS WHEN (2h, 20:00) | draw ID | cancel ID", "help": "open a lottery; alone: the open ones",
		"group.only": "Use this command in the group.", "usage": "Usage: /lottery PRIZE WINNERS WHEN, e.g. /lottery Gift box 3 2h (or 20:00)",
		"when": "%q is not a draw time: write 2h, 1d or 20:00.", "notopen": "No open lottery %s.", "cancelled": "Lottery %s is cancelled.",
		"open": "🎁 Lottery #%[4]s: %[1]s (winners: %[2]d), drawn at %[3]s.",
		"who":  "Who may enter: %s.", "keyword": "Sending “%s” enters too.",
		"commit":       "Fairness: the SHA-256 of the draw's seed is %s; the seed is published with the draw, so anyone can check it.",
		"enter.button": "🎁 Enter", "entered": "You are in! %d entries so far.", "again": "You are in already (%d entries).", "closed": "This lottery is over.", "bots": "Bots cannot enter.",
		"none": "No open lotteries.", "list": "Open lotteries:", "item": "#%s %s ×%s, drawn at %s, %d entries",
		"nobody":       "Lottery #%[2]s (%[1]s) had no entries; it is over.",
		"drawn":        "🎉 Lottery #%[6]s is drawn: %[1]s\n%[2]d entries; winners: %[3]s\nSeed: %[4]s\n(SHA-256 = %[5]s, as published at the opening)\nCheck it: qunbot lottery verify --seed SEED --commit %[5]s --entries FILE --winners %[7]d",
		"claim.within": "Press “Claim” within %s, or the prize is drawn again.", "claim.button": "🎁 Claim",
		"entries": "Lottery #%s's entries (%d, sorted by id):", "entries.many": "(too many to list here: ask a moderator)",
		"redraw":      "⏰ %[1]s did not claim “%[2]s” in time; the next in the published draw order: %[3]s",
		"redraw.none": "⏰ %s did not claim “%s” in time, and nobody else entered.",
		"notwinner":   "You did not win this one.", "lapsed": "Too late: the prize was drawn again.", "claimed.before": "You claimed it already. %s", "claiming": "Claiming for you, one moment.",
		"claimed": "🎉 Claimed: %s!", "claimed.here": "🎉 Claimed: your code is in your private messages.", "help.claim": "claim a lottery prize: /claim ID", "claim.usage": "Usage: /claim ID",
		"claim.how": "Send /claim %s to claim.", "enter.how": "Send /enter %s to enter.", "help.enter": "enter lotteries: /enter (every open one) or /enter ID", "claimed.code": "🎉 Claimed: %s! Your code: %s", "pool.empty": "Prize code pool %q is empty: winners of lottery %s get no code; add more.",
	},
}
