// Package survey is questionnaires (问卷) a member answers in a private
// chat with the bot: /survey NAME in the group starts one; the bot asks
// the questions one by one; the answers are kept per member; finishing
// counts in the day's record and sets the tags flow's questionnaire tags.
// The churned wake-up note can point to it ("发送 /survey feedback").
package survey

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
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
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/checkin"
	"github.com/qunbot/qunbot/flows/codes"
	"github.com/qunbot/qunbot/flows/tags"
)

// Config is the survey section.
type Config struct {
	Forms []Form `yaml:"forms,seq"`
}

// Form is one questionnaire.
type Form struct {
	Name      string     `yaml:"name"`
	Title     string     `yaml:"title"`
	Questions []Question `yaml:"questions"`
	// What finishing gives: points on the ledger, a code from a pool
	// (privately), tags.
	Points int64    `yaml:"points"`
	Codes  *Codes   `yaml:"codes"`
	Tags   []string `yaml:"tags"`
}

// Codes is a pool of codes, one per member who finishes.
type Codes struct {
	Pool string      `yaml:"pool"`
	File config.Path `yaml:"file"`
}

// Question types.
const (
	Text     = "text"
	Single   = "single"
	Multiple = "multiple"
	Scale    = "scale"
)

// Question is one question: free text (written as just its text), a
// single or multiple choice, or a scale.
type Question struct {
	ID      string   `yaml:"id"`
	Text    string   `yaml:"text"`
	Type    string   `yaml:"type"`
	Options []string `yaml:"options"`
	Min     int      `yaml:"min"`
	Max     int      `yaml:"max"`
	// Tag tags the member by the option they chose (流失原因:价格).
	Tag map[string]string `yaml:"tag"`
	// Next branches: after this option, go to the question with that id
	// ("end" finishes); other answers go on in order.
	Next map[string]string `yaml:"next"`
}

// FromScalar implements config.Shorthand: a free-text question.
func (q *Question) FromScalar(s string) { *q = Question{Text: s, Type: Text} }

func (q *Question) kind() string {
	if q.Type == "" {
		if len(q.Options) > 0 {
			return Single
		}
		return Text
	}
	return q.Type
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	seen := map[string]bool{}
	for i, f := range c.Forms {
		at := fmt.Sprintf("forms[%d].", i)
		if f.Name == "" || strings.ContainsAny(f.Name, " \n|:") || seen[f.Name] {
			report(at+"name", "a unique name without spaces")
		}
		seen[f.Name] = true
		if len(f.Questions) == 0 || len(f.Questions) > 30 {
			report(at+"questions", "1 to 30 questions")
		}
		ids := map[string]bool{"end": true}
		for _, q := range f.Questions {
			if q.ID != "" {
				ids[q.ID] = true
			}
		}
		for j, q := range f.Questions {
			qa := fmt.Sprintf("%squestions[%d].", at, j)
			if q.Text == "" {
				report(qa+"text", "the question's text")
			}
			switch q.kind() {
			case Single, Multiple:
				if len(q.Options) < 2 || len(q.Options) > 10 {
					report(qa+"options", "2 to 10 options")
				}
			case Scale:
				if q.Max <= q.Min || q.Max-q.Min > 10 {
					report(qa+"max", "a scale of min to max, at most 11 steps (e.g. 0 to 10)")
				}
			case Text:
			default:
				report(qa+"type", "text, single, multiple or scale")
			}
			for opt, to := range q.Next {
				if !slices.Contains(q.Options, opt) {
					report(qa+"next", fmt.Sprintf("%q is not an option", opt))
				}
				if !ids[to] {
					report(qa+"next", fmt.Sprintf("no question with id %q (or end)", to))
				}
			}
			for opt := range q.Tag {
				if !slices.Contains(q.Options, opt) {
					report(qa+"tag", fmt.Sprintf("%q is not an option", opt))
				}
			}
		}
		if f.Codes != nil && (f.Codes.Pool == "" || f.Codes.File == "") {
			report(at+"codes", "give a pool name and a file of codes")
		}
	}
}

// Form is the questionnaire with that name, or nil.
func (c *Config) Form(name string) *Form { return c.form(name) }

func (c *Config) form(name string) *Form {
	for i := range c.Forms {
		if c.Forms[i].Name == name {
			return &c.Forms[i]
		}
	}
	return nil
}

func (f *Form) index(id string) int {
	for i := range f.Questions {
		if f.Questions[i].ID == id {
			return i
		}
	}
	return -1
}

func (f *Form) title() string {
	if f.Title != "" {
		return f.Title
	}
	return f.Name
}

// Flow is the survey flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "survey" }

// Schema implements engine.Flow: on where the config has a section.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }}
}

// Stage implements engine.EventHandler.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// HandlesPrivateChats implements engine.PrivateChats: the answers come
// privately.
func (Flow) HandlesPrivateChats() {}

// Claims implements engine.CommandClaimer: /cancel stops a questionnaire
// in progress (Handle answers it).
func (Flow) Claims(_ any, command string) bool { return command == "cancel" }

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "survey", Args: words.T(loc, "args"), Help: words.T(loc, "help")}}
}

// a member's survey in progress: global, since the answers come by
// private message (no group); the value is group, form, question index
// and the picks of a multiple choice so far, one a line.
func activeKey(s *state.Store, platform, member string) string {
	return s.GlobalKey("survey", "active", platform, member)
}
func answersKey(s *state.Store, group, form, member string) string {
	return s.Key(group, "survey", form, member)
}
func doneKey(s *state.Store, group, form string) string { return s.Key(group, "survey", form, "done") }

const inProgress = 7 * 24 * time.Hour

func names(c *Config) string {
	var n []string
	for _, f := range c.Forms {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

// HandleCommand implements engine.Commander: /survey NAME in the group;
// moderators: /survey start NAME, /survey results NAME [csv].
func (f Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	ev := fc.Event
	if cfg == nil || ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	loc := fc.Locale()
	args := ev.Command.Args
	if len(args) >= 2 && (args[0] == "results" || args[0] == "start") {
		if !fc.IsModerator() {
			fc.Reply(words.T(loc, "mods"))
			return nil
		}
		form := cfg.form(args[1])
		if form == nil {
			fc.Reply(words.T(loc, "unknown", args[1], names(cfg)))
			return nil
		}
		if args[0] == "start" {
			return announce(fc, form)
		}
		return results(ctx, fc, form, len(args) == 3 && args[2] == "csv")
	}
	if len(args) != 1 {
		fc.Reply(words.T(loc, "usage", names(cfg)))
		return nil
	}
	form := cfg.form(args[0])
	if form == nil {
		fc.Reply(words.T(loc, "unknown", args[0], names(cfg)))
		return nil
	}
	said, _, err := Begin(ctx, fc, ev.GroupKey(), form, ev.Member, "")
	if err != nil {
		return err
	}
	fc.Reply(said)
	return nil
}

// announce posts a questionnaire in the group with a button to answer it.
func announce(fc *engine.FlowContext, form *Form) error {
	loc := fc.Locale()
	a := bot.Action{Type: bot.ActSend, Chat: fc.Event.GroupKey(), Text: words.T(loc, "announce", form.title(), len(form.Questions), form.Name)}
	if fc.Caps.Has(bot.CanButtons) {
		a.Buttons = [][]bot.ButtonSpec{{StartButton(loc, form.Name)}}
	}
	fc.Do(a)
	return nil
}

// StartButton is a button that starts a questionnaire for whoever
// presses it (a post's, the announcement's).
func StartButton(loc, form string) bot.ButtonSpec {
	return bot.ButtonSpec{Text: words.T(loc, "start.button"), Data: "sv:start:" + form}
}

// Begin starts (or resumes) a questionnaire for a member of group: the
// first question (or the one they stopped at) goes privately, after
// intro when given (a wake-up stage's note). It answers what to say in
// the group, and whether the question went (not: answered before, or no
// private chats here).
func Begin(ctx context.Context, fc *engine.FlowContext, group string, form *Form, m bot.Member, intro string) (string, bool, error) {
	loc := fc.GroupConfig(group).Locale
	rdb := fc.Store.Client()
	done, err := rdb.ZScore(ctx, doneKey(fc.Store, group, form.Name), m.ID).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", false, fmt.Errorf("%w: read a questionnaire: %w", state.ErrRedis, err)
	}
	if done > 0 {
		return words.T(loc, "again", form.title()), false, nil
	}
	if !fc.CapsFor(group).Has(bot.CanDM) {
		return words.T(loc, "nodm", form.Name), false, nil
	}
	k := activeKey(fc.Store, fc.Event.Platform, m.ID)
	cur, err := rdb.Get(ctx, k).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", false, fmt.Errorf("%w: read a questionnaire in progress: %w", state.ErrRedis, err)
	}
	p := parseProgress(cur)
	if p.group != group || p.form != form.Name {
		p = progress{group: group, form: form.Name}
		if err := rdb.Set(ctx, k, p.String(), inProgress).Err(); err != nil {
			return "", false, fmt.Errorf("%w: start a questionnaire: %w", state.ErrRedis, err)
		}
	}
	head := words.T(loc, "intro", form.title(), len(form.Questions))
	if p.at > 0 {
		head = words.T(loc, "resume", form.title())
	}
	if intro != "" {
		head = intro + "\n\n" + head
	}
	fc.Do(ask(fc, group, loc, form, p, m, head))
	return words.T(loc, "start", form.title()), true, nil
}

// progress is where a member is in a questionnaire.
type progress struct {
	group, form string
	at          int
	picks       []int // a multiple choice's picks so far
}

func parseProgress(v string) progress {
	parts := strings.SplitN(v, "\n", 4)
	if len(parts) < 3 {
		return progress{}
	}
	p := progress{group: parts[0], form: parts[1]}
	p.at, _ = strconv.Atoi(parts[2])
	if len(parts) == 4 {
		for _, x := range strings.Split(parts[3], ",") {
			if i, err := strconv.Atoi(x); err == nil {
				p.picks = append(p.picks, i)
			}
		}
	}
	return p
}

func (p progress) String() string {
	picks := make([]string, len(p.picks))
	for i, x := range p.picks {
		picks[i] = strconv.Itoa(x)
	}
	return p.group + "\n" + p.form + "\n" + strconv.Itoa(p.at) + "\n" + strings.Join(picks, ",")
}

// ask is a question as a private message: buttons where the platform has
// them, numbered lines to reply with everywhere.
func ask(fc *engine.FlowContext, group, loc string, form *Form, p progress, m bot.Member, head string) bot.Action {
	q := &form.Questions[p.at]
	lines := []string{words.T(loc, "q", p.at+1, len(form.Questions), q.Text)}
	var rows [][]bot.ButtonSpec
	buttons := fc.CapsFor(group).Has(bot.CanButtons)
	switch q.kind() {
	case Single, Multiple:
		for i, o := range q.Options {
			mark := ""
			if slices.Contains(p.picks, i) {
				mark = "✓ "
			}
			lines = append(lines, fmt.Sprintf("%d. %s%s", i+1, mark, o))
			rows = append(rows, []bot.ButtonSpec{{Text: mark + o, Data: "sv:a:" + strconv.Itoa(p.at) + ":" + strconv.Itoa(i)}})
		}
		if q.kind() == Multiple {
			lines = append(lines, words.T(loc, "multiple"))
			rows = append(rows, []bot.ButtonSpec{{Text: words.T(loc, "next.button"), Data: "sv:next:" + strconv.Itoa(p.at)}})
		} else {
			lines = append(lines, words.T(loc, "single"))
		}
	case Scale:
		var row []bot.ButtonSpec
		for v := q.Min; v <= q.Max; v++ {
			row = append(row, bot.ButtonSpec{Text: strconv.Itoa(v), Data: "sv:a:" + strconv.Itoa(p.at) + ":" + strconv.Itoa(v-q.Min)})
		}
		rows = append(rows, row)
		lines = append(lines, words.T(loc, "scale", q.Min, q.Max))
	}
	if head != "" {
		lines = append([]string{head}, lines...)
	}
	a := bot.Action{Type: bot.ActDM, Chat: group, Member: m, Text: strings.Join(lines, "\n"), Fallback: words.T(loc, "nodm", form.Name)}
	if buttons {
		a.Buttons = rows
	}
	return a
}

// Handle implements engine.EventHandler: an answer in the private chat
// (typed, or a button), and the start button in the group.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind == bot.EventButton && ev.Button != nil && strings.HasPrefix(ev.Button.Data, "sv:start:") && ev.Chat.Type == bot.ChatGroup {
		cfg, _ := fc.Config.(*Config)
		if cfg == nil {
			return nil
		}
		form := cfg.form(strings.TrimPrefix(ev.Button.Data, "sv:start:"))
		text := words.T(fc.Locale(), "gone")
		if form != nil {
			var err error
			if text, _, err = Begin(ctx, fc, ev.GroupKey(), form, ev.Member, ""); err != nil {
				return err
			}
		}
		fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: text})
		return nil
	}
	if ev.Chat.Type != bot.ChatPrivate {
		return nil
	}
	button := ev.Kind == bot.EventButton && ev.Button != nil && strings.HasPrefix(ev.Button.Data, "sv:")
	if !button && ev.Kind != bot.EventMessage && ev.Kind != bot.EventCommand {
		return nil
	}
	k := activeKey(fc.Store, ev.Platform, ev.Member.ID)
	rdb := fc.Store.Client()
	cur, err := rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		if button {
			fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: words.T(fc.Locale(), "gone")})
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: read a questionnaire in progress: %w", state.ErrRedis, err)
	}
	p := parseProgress(cur)
	gc := fc.GroupConfig(p.group)
	loc := gc.Locale
	c, on := gc.Flow("survey")
	var form *Form
	if on {
		form = c.(*Config).form(p.form)
	}
	if form == nil || p.at >= len(form.Questions) {
		return rdb.Del(ctx, k).Err() // the form was removed from the config
	}
	if ev.Command != nil {
		if ev.Command.Name == "cancel" {
			fc.Reply(words.T(loc, "cancelled"))
			fc.Stop("survey")
			return rdb.Del(ctx, k).Err()
		}
		return nil
	}
	fc.Stop("survey") // an answer is not a chat message for the other flows
	if button && !strings.HasPrefix(ev.Button.Data, "sv:a:"+strconv.Itoa(p.at)+":") && ev.Button.Data != "sv:next:"+strconv.Itoa(p.at) {
		// a button of a question answered before (or of another form)
		fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: words.T(loc, "stale")})
		return nil
	}
	q := &form.Questions[p.at]
	answer, picks, ok := read(q, ev, p.picks)
	if button {
		fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member})
	}
	if !ok {
		switch q.kind() {
		case Scale:
			fc.Reply(words.T(loc, "bad.scale", q.Min, q.Max))
		case Text:
			fc.Reply(words.T(loc, "bad.text"))
		default:
			fc.Reply(words.T(loc, "bad."+q.kind(), len(q.Options)))
		}
		return nil
	}
	if q.kind() == Multiple && answer == "" {
		// a pick toggled: show the question again with the picks
		p.picks = picks
		if err := rdb.Set(ctx, k, p.String(), inProgress).Err(); err != nil {
			return fmt.Errorf("%w: keep a pick: %w", state.ErrRedis, err)
		}
		fc.Do(ask(fc, p.group, loc, form, p, ev.Member, ""))
		return nil
	}
	next := p.at + 1
	for opt, to := range q.Next {
		if slices.Contains(strings.Split(answer, sep), opt) {
			next = form.index(to)
			if to == "end" {
				next = len(form.Questions)
			}
		}
	}
	ak := answersKey(fc.Store, p.group, form.Name, ev.Member.ID)
	field := "q" + strconv.Itoa(p.at+1)
	_, err = rdb.TxPipelined(ctx, func(pp redis.Pipeliner) error {
		pp.HSet(ctx, ak, field, answer)
		pp.Expire(ctx, ak, 400*24*time.Hour)
		pp.Set(ctx, k, progress{group: p.group, form: p.form, at: next}.String(), inProgress)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: keep an answer: %w", state.ErrRedis, err)
	}
	for _, opt := range strings.Split(answer, sep) {
		if tag := q.Tag[opt]; tag != "" {
			if err := tags.Add(ctx, fc.Store, p.group, ev.Member.ID, tag, "answered "+form.Name, 0, fc.Now); err != nil {
				return err
			}
		}
	}
	if next < len(form.Questions) {
		fc.Do(ask(fc, p.group, loc, form, progress{group: p.group, form: p.form, at: next}, ev.Member, ""))
		return nil
	}
	return finish(ctx, fc, gc, form, p.group, k)
}

// sep joins a multiple choice's options in a stored answer.
const sep = "\x1f"

// read takes an answer to q from a typed reply or a button: an option's
// number or text, several numbers for a multiple choice ("1,3"), a value
// of the scale. For a multiple choice a button toggles a pick (answer
// ""); "next" or a typed reply ends it.
func read(q *Question, ev *bot.Event, picks []int) (answer string, newPicks []int, ok bool) {
	if ev.Kind == bot.EventButton {
		data := strings.TrimPrefix(ev.Button.Data, "sv:")
		if strings.HasPrefix(data, "next:") {
			if q.kind() != Multiple || len(picks) == 0 {
				return "", picks, false
			}
			return optionText(q, picks), nil, true
		}
		_, opt, _ := strings.Cut(strings.TrimPrefix(data, "a:"), ":")
		i, err := strconv.Atoi(opt)
		if err != nil || i < 0 {
			return "", picks, false
		}
		switch q.kind() {
		case Single:
			if i < len(q.Options) {
				return q.Options[i], nil, true
			}
		case Multiple:
			if i < len(q.Options) {
				if j := slices.Index(picks, i); j >= 0 {
					return "", slices.Delete(slices.Clone(picks), j, j+1), true
				}
				out := append(slices.Clone(picks), i)
				slices.Sort(out)
				return "", out, true
			}
		case Scale:
			if q.Min+i <= q.Max {
				return strconv.Itoa(q.Min + i), nil, true
			}
		}
		return "", picks, false
	}
	text := strings.TrimSpace(ev.Text)
	switch q.kind() {
	case Text:
		return text, nil, text != ""
	case Scale:
		v, err := strconv.Atoi(text)
		return text, nil, err == nil && v >= q.Min && v <= q.Max
	}
	var chosen []int
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == ' ' }) {
		if i, err := strconv.Atoi(part); err == nil && i >= 1 && i <= len(q.Options) {
			chosen = append(chosen, i-1)
		} else if j := slices.Index(q.Options, part); j >= 0 {
			chosen = append(chosen, j)
		} else {
			return "", picks, false
		}
	}
	slices.Sort(chosen)
	chosen = slices.Compact(chosen)
	if len(chosen) == 0 || (q.kind() == Single && len(chosen) != 1) {
		return "", picks, false
	}
	return optionText(q, chosen), nil, true
}

func optionText(q *Question, picks []int) string {
	out := make([]string, 0, len(picks))
	for _, i := range picks {
		if i >= 0 && i < len(q.Options) {
			out = append(out, q.Options[i])
		}
	}
	return strings.Join(out, sep)
}

// finish records the end (once: the done set), counts it, and gives what
// the form and the tags flow give for it.
func finish(ctx context.Context, fc *engine.FlowContext, gc *config.Group, form *Form, group, k string) error {
	ev := fc.Event
	loc := gc.Locale
	rdb := fc.Store.Client()
	var added *redis.IntCmd
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		added = p.ZAddNX(ctx, doneKey(fc.Store, group, form.Name), redis.Z{Score: float64(fc.Now.UnixMilli()), Member: ev.Member.ID})
		p.Del(ctx, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: finish a questionnaire: %w", state.ErrRedis, err)
	}
	if added.Val() == 0 {
		fc.Reply(words.T(loc, "again", form.title()))
		return nil
	}
	fc.CountIn(group, kpi.Surveys, 1)
	var tagsToSet []string
	tagsToSet = append(tagsToSet, form.Tags...)
	if tc, on := gc.Flow("tags"); on {
		for _, r := range tc.(*tags.Config).Rules {
			if r.Questionnaire == form.Name {
				if err := tags.Add(ctx, fc.Store, group, ev.Member.ID, r.Tag, "answered "+form.Name, r.Expire.D(), fc.Now); err != nil {
					return err
				}
			}
		}
	}
	for _, t := range tagsToSet {
		if err := tags.Add(ctx, fc.Store, group, ev.Member.ID, t, "answered "+form.Name, 0, fc.Now); err != nil {
			return err
		}
	}
	lines := []string{words.T(loc, "thanks", form.title())}
	if form.Points > 0 {
		if _, err := checkin.GroupLedger(fc.Store, gc, group).Award(ctx, ev.Member.ID, form.Points, "survey "+form.Name, fc.Now, true); err != nil {
			return err
		}
		fc.CountIn(group, kpi.PointsIn, form.Points)
		lines = append(lines, words.T(loc, "points", form.Points))
	}
	if form.Codes != nil {
		p := codes.New(fc.Store, form.Codes.Pool)
		if err := p.Load(ctx, string(form.Codes.File)); err != nil {
			return err
		}
		code, _, _, err := p.Issue(ctx, ev.Member.ID+"@"+group)
		if err != nil {
			return err
		}
		if code != "" {
			lines = append(lines, words.T(loc, "code", code))
		}
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

// Tally is a question's results: counts per option (choices, scale
// values from min), the members who answered it, and the texts.
type Tally struct {
	Counts []int
	N      int
	Texts  []string
}

// Count tallies answers (stored values) to q.
func Count(q *Question, answers []string) Tally {
	var t Tally
	switch q.kind() {
	case Single, Multiple:
		t.Counts = make([]int, len(q.Options))
	case Scale:
		t.Counts = make([]int, q.Max-q.Min+1)
	}
	for _, a := range answers {
		if a == "" {
			continue
		}
		t.N++
		switch q.kind() {
		case Single, Multiple:
			for _, o := range strings.Split(a, sep) {
				if i := slices.Index(q.Options, o); i >= 0 {
					t.Counts[i]++
				}
			}
		case Scale:
			if v, err := strconv.Atoi(a); err == nil && v >= q.Min && v <= q.Max {
				t.Counts[v-q.Min]++
			}
		default:
			t.Texts = append(t.Texts, a)
		}
	}
	return t
}

// results: how many finished; per question the counts and shares, a
// scale's mean, the latest free texts; or all answers as a CSV file.
func results(ctx context.Context, fc *engine.FlowContext, form *Form, csvFile bool) error {
	loc := fc.Locale()
	group := fc.Event.GroupKey()
	rdb := fc.Store.Client()
	ids, err := rdb.ZRange(ctx, doneKey(fc.Store, group, form.Name), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("%w: read a questionnaire: %w", state.ErrRedis, err)
	}
	if len(ids) == 0 {
		fc.Reply(words.T(loc, "noresults", form.Name))
		return nil
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, answersKey(fc.Store, group, form.Name, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w: read answers: %w", state.ErrRedis, err)
	}
	if csvFile {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		head := []string{"member", "name"}
		for _, q := range form.Questions {
			head = append(head, q.Text)
		}
		w.Write(head)
		for i, id := range ids {
			m, err := fc.Store.Member(ctx, group, id)
			if err != nil {
				return err
			}
			row := []string{id, m.Name}
			for j := range form.Questions {
				row = append(row, strings.ReplaceAll(cmds[i].Val()["q"+strconv.Itoa(j+1)], sep, "; "))
			}
			w.Write(row)
		}
		w.Flush()
		a := bot.Action{Type: bot.ActSend, Text: words.T(loc, "results", form.title(), len(ids)), ReplyTo: fc.Event.MessageID, Member: fc.Event.Member}
		if fc.Caps.Has(bot.CanUpload) {
			a.File = &bot.File{Name: "survey-" + form.Name + ".csv", Data: buf.Bytes()}
		} else {
			a.Text += "\n" + buf.String()
		}
		fc.Do(a)
		return nil
	}
	lines := []string{words.T(loc, "results", form.title(), len(ids))}
	for j := range form.Questions {
		q := &form.Questions[j]
		answers := make([]string, len(ids))
		for i := range ids {
			answers[i] = cmds[i].Val()["q"+strconv.Itoa(j+1)]
		}
		t := Count(q, answers)
		lines = append(lines, words.T(loc, "r.q", j+1, q.Text, t.N))
		share := func(n int) int {
			if t.N == 0 {
				return 0
			}
			return (n*100 + t.N/2) / t.N
		}
		switch q.kind() {
		case Single, Multiple:
			for i, o := range q.Options {
				lines = append(lines, fmt.Sprintf("  %s — %d (%d%%)", o, t.Counts[i], share(t.Counts[i])))
			}
		case Scale:
			sum := 0
			var parts []string
			for i, n := range t.Counts {
				sum += (q.Min + i) * n
				parts = append(parts, fmt.Sprintf("%d:%d", q.Min+i, n))
			}
			mean := 0.0
			if t.N > 0 {
				mean = float64(sum) / float64(t.N)
			}
			lines = append(lines, words.T(loc, "r.mean", mean, strings.Join(parts, " ")))
		default:
			for i := len(t.Texts) - 1; i >= 0 && i >= len(t.Texts)-5; i-- {
				lines = append(lines, "  • "+t.Texts[i])
			}
		}
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}

var words = i18n.Catalog{
	"zh-CN": {
		"args": "名称 | start 名称 | results 名称 [csv]", "help": "填写问卷（私聊进行）；管理员：/survey start 名称 发到群里，/survey results 名称 [csv] 看结果",
		"usage": "用法：/survey 问卷名。可选：%s", "unknown": "没有叫“%s”的问卷。可选：%s", "mods": "只有管理员可以这样做。",
		"start": "我在私聊里发你问卷“%s”了，请查看。", "nodm": "私聊不到你：请先私聊我一次，再发 /survey %s。",
		"intro": "问卷“%s”，共 %d 题。随时回复 /cancel 结束。", "resume": "接着填问卷“%s”：", "q": "第 %d/%d 题：%s",
		"single": "（点选项，或回复序号）", "multiple": "（可多选：点选项勾选，再点“下一题”；或回复序号，如 1,3）", "scale": "（回复 %d 到 %d 的数字，或点按钮）",
		"next.button": "下一题 ➡", "start.button": "📝 填写问卷", "announce": "📝 问卷“%s”（%d 题），点下面的按钮在私聊里填写，或发送 /survey %s。",
		"bad.single": "请回复 1 到 %d 的一个序号。", "bad.multiple": "请回复 1 到 %d 之间的序号，多个用逗号隔开。", "bad.scale": "请回复 %d 到 %d 的数字。", "bad.text": "请写下你的回答。",
		"thanks": "谢谢你填完问卷“%s”！", "points": "已送你 %d 积分。", "code": "你的兑换码：%s",
		"cancelled": "问卷已结束，没填完的不会保存为完成。", "again": "你已经填过问卷“%s”了，谢谢！", "gone": "这个问卷已经不在了。", "stale": "这道题已经答过了，请回答最新的问题。",
		"results": "问卷“%s”：%d 人填完。", "noresults": "问卷“%s”还没人填完。", "r.q": "%d. %s（%d 人回答）", "r.mean": "  平均 %.1f（%s）",
	},
	"en": {
		"args": "NAME | start NAME | results NAME [csv]", "help": "answer a questionnaire (privately); moderators: /survey start NAME posts it, /survey results NAME [csv]",
		"usage": "Usage: /survey NAME. Available: %s", "unknown": "No questionnaire “%s”. Available: %s", "mods": "Only moderators can do that.",
		"start": "I sent you the questionnaire “%s” privately.", "nodm": "I cannot write to you privately: start a chat with me first, then send /survey %s.",
		"intro": "Questionnaire “%s”, %d questions. Reply /cancel any time to stop.", "resume": "Going on with “%s”:", "q": "Question %d/%d: %s",
		"single": "(press an option, or reply with its number)", "multiple": "(several: press options to tick them, then “Next”; or reply with numbers, e.g. 1,3)", "scale": "(reply with a number from %d to %d, or press one)",
		"next.button": "Next ➡", "start.button": "📝 Answer", "announce": "📝 Questionnaire “%s” (%d questions): press the button to answer privately, or send /survey %s.",
		"bad.single": "Reply with one number from 1 to %d.", "bad.multiple": "Reply with numbers from 1 to %d, separated by commas.", "bad.scale": "Reply with a number from %d to %d.", "bad.text": "Please write your answer.",
		"thanks": "Thank you for answering “%s”!", "points": "%d points are yours.", "code": "Your code: %s",
		"cancelled": "Stopped; it is not saved as answered.", "again": "You answered “%s” already, thank you!", "gone": "This questionnaire is gone.", "stale": "That question is answered: please answer the latest one.",
		"results": "“%s”: %d answered.", "noresults": "Nobody has answered “%s” yet.", "r.q": "%d. %s (%d answered)", "r.mean": "  mean %.1f (%s)",
	},
}
