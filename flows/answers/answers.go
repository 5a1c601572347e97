// Package answers is qunbot's auto-replies (自动话术) and question
// tracking. Rules answer messages by keyword (the ad filter's normaliser
// and matcher), regex, command or similarity to example questions, with
// cooldowns per member and per group, in the group or privately.
// Moderators add answers in chat too (/answer add, Rose's "filters").
// A member's question no rule answered stays open until someone else
// replies to it or a moderator marks it done; one still open after
// questions.escalate_after goes to the moderators.
package answers

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// Flow is the answers flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "answers" }

// Schema implements engine.Flow: on where the config has an answers
// section.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }}
}

// Stage implements engine.EventHandler: after the ad filter (spam gets no
// answer) and with the greetings.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// HandlesPrivateChats implements engine.PrivateChats: a moderator marks
// a question done from the private message that escalated it.
func (Flow) HandlesPrivateChats() {}

// Claims implements engine.CommandClaimer: the rules' commands.
func (Flow) Claims(conf any, command string) bool {
	for _, r := range conf.(*Config).Rules {
		if r.Command == command {
			return true
		}
	}
	return false
}

// Hit is a rule that fires for a message, and why.
type Hit struct {
	Rule  int // index in Rules; -1: an answer added in chat
	Name  string
	Why   string
	Reply string // a chat answer's reply
}

var normalizers = sync.Pool{New: func() any { return new(adfilter.Normalizer) }}

// Find answers the first rule a message fires (config order, then the
// answers added in chat), or nil; all lists every rule that would fire.
func Find(cfg *Config, chat map[string]string, text string, command string, all bool) []Hit {
	var hits []Hit
	n := normalizers.Get().(*adfilter.Normalizer)
	defer normalizers.Put(n)
	norm := n.Normalize(text)
	m := cfg.compiled()
	// the first keyword rule met (all: every one), and the keyword
	var kw map[int]string
	if len(m.kwRule) > 0 {
		m.kw.Match(norm, func(id, end int) bool {
			r := m.kwRule[id]
			if kw == nil {
				kw = map[int]string{}
			}
			if _, seen := kw[r]; !seen {
				kw[r] = m.kwText[id]
			}
			return true
		})
	}
	simRule, simScore := -1, -1.0
	if len(m.similar.size) > 0 {
		simRule, simScore = m.similar.best(norm)
	}
	// the rules that may fire: not all 2,000 of a big config, only those
	// a trigger met (regexes are few and tried as they come)
	var cand []int
	if all {
		for i := range cfg.Rules {
			cand = append(cand, i)
		}
	} else {
		for i := range kw {
			cand = append(cand, i)
		}
		if simRule >= 0 {
			cand = append(cand, simRule)
		}
		cand = append(cand, m.regexRules...)
		if command != "" {
			cand = append(cand, m.cmdRules...)
		}
		slices.Sort(cand)
		cand = slices.Compact(cand)
	}
	for _, i := range cand {
		r := &cfg.Rules[i]
		why := ""
		switch {
		case command != "" && r.Command == command:
			why = "command /" + command
		case command != "":
		case kw[i] != "":
			why = fmt.Sprintf("keyword %q", kw[i])
		case r.re != nil && r.re.MatchString(text):
			why = fmt.Sprintf("regex %q", r.Regex)
		case simRule == i && simScore >= r.MinSimilarity:
			why = fmt.Sprintf("similar question (%.2f ≥ %.2f)", simScore, r.MinSimilarity)
		case len(r.Similar) > 0 && all:
			// the best example of this rule, for /answer test
			best := 0.0
			for _, q := range r.Similar {
				var qn adfilter.Normalizer
				best = max(best, similarity(norm, qn.Normalize(q)))
			}
			if best >= r.MinSimilarity {
				why = fmt.Sprintf("similar question (%.2f ≥ %.2f)", best, r.MinSimilarity)
			}
		}
		if why != "" {
			hits = append(hits, Hit{Rule: i, Name: r.Name, Why: why})
			if !all {
				return hits
			}
		}
	}
	if command == "" {
		for k, reply := range chat {
			var kn adfilter.Normalizer
			if kr := kn.Normalize(k); len(kr) > 0 && strings.Contains(string(norm), string(kr)) {
				hits = append(hits, Hit{Rule: -1, Name: k, Why: fmt.Sprintf("chat answer %q", k), Reply: reply})
				if !all {
					return hits
				}
			}
		}
	}
	return hits
}

func chatKey(s *state.Store, group string) string { return s.Key(group, "ans", "chat") }

// chatTTL is how long a replica uses the chat answers it read: one added
// with /answer add works at once on the replica that took the command,
// and within this on the others.
const chatTTL = 10 * time.Second

// chatAnswers are the answers moderators added in a group (cached for
// chatTTL of real time; fresh: read now).
func chatAnswers(ctx context.Context, cfg *Config, s *state.Store, group string, fresh bool) (map[string]string, error) {
	cfg.chatMu.Lock()
	c, ok := cfg.chat[group]
	cfg.chatMu.Unlock()
	if ok && !fresh && time.Since(c.read) < chatTTL {
		return c.answers, nil
	}
	v, err := s.Client().HGetAll(ctx, chatKey(s, group)).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: read chat answers: %w", state.ErrRedis, err)
	}
	cfg.chatMu.Lock()
	if cfg.chat == nil {
		cfg.chat = map[string]chatCache{}
	}
	cfg.chat[group] = chatCache{answers: v, read: time.Now()}
	cfg.chatMu.Unlock()
	return v, nil
}

// Handle implements engine.EventHandler.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind == bot.EventButton && ev.Button != nil && strings.HasPrefix(ev.Button.Data, "ans:done:") {
		return markDone(ctx, fc, strings.TrimPrefix(ev.Button.Data, "ans:done:"))
	}
	cfg, _ := fc.Config.(*Config)
	if cfg == nil {
		return nil // a private chat where the flow is not on: only its buttons
	}
	if ev.Chat.Type != bot.ChatGroup || ev.Member.IsBot || ev.Edited || (ev.Kind != bot.EventMessage && ev.Kind != bot.EventCommand) {
		return nil
	}
	if ev.ReplyTo != nil && ev.ReplyTo.Member.ID != "" && ev.ReplyTo.Member.ID != ev.Member.ID {
		if err := resolve(ctx, fc, ev.GroupKey(), ev.ReplyTo.MessageID, "answered"); err != nil {
			return err
		}
	}
	command := ""
	if ev.Command != nil {
		command = ev.Command.Name
		if !f.Claims(cfg, command) {
			return nil // another flow's command
		}
	}
	chat, err := chatAnswers(ctx, cfg, fc.Store, ev.GroupKey(), false)
	if err != nil {
		return err
	}
	hits := Find(cfg, chat, ev.Text, command, false)
	question := command == "" && !cfg.Questions.Off && IsQuestion(ev.Text)
	if question {
		fc.Count(kpi.Questions, 1)
	}
	if len(hits) == 0 {
		if question {
			return open(ctx, fc, cfg)
		}
		return nil
	}
	h := hits[0]
	cd := cfg.Cooldown
	if h.Rule >= 0 {
		cd = cfg.cooldown(&cfg.Rules[h.Rule])
	}
	ok, err := takeCooldown(ctx, fc.Store, ev.GroupKey(), h.Name, ev.Member.ID, cd, fc.Now)
	if err != nil {
		return err
	}
	if !ok {
		fc.Log.Debug("auto-reply in cooldown", zap.String("rule", h.Name))
		return nil
	}
	if err := reply(fc, cfg, h); err != nil {
		return err
	}
	fc.Count(kpi.AutoReplies, 1)
	if question {
		fc.Count(kpi.AutoAnswered, 1)
	}
	return nil
}

func reply(fc *engine.FlowContext, cfg *Config, h Hit) error {
	ev := fc.Event
	text := h.Reply
	a := bot.Action{Type: bot.ActSend, Chat: ev.Chat.Key, ReplyTo: ev.MessageID, Member: ev.Member}
	if h.Rule >= 0 {
		r := &cfg.Rules[h.Rule]
		t, err := r.Reply.Render(fc.Data(nil))
		if err != nil {
			return fmt.Errorf("answer %s: %w", r.Name, err)
		}
		text, a.Image = t, r.Image
		for _, b := range r.Buttons {
			a.Buttons = append(a.Buttons, []bot.ButtonSpec{{Text: b.Text, URL: b.URL}})
		}
		if r.Private {
			a.Type, a.Fallback, a.ReplyTo = bot.ActDM, text, ""
		}
	}
	a.Text = text
	fc.Do(a)
	return nil
}

// cooldownScript takes a rule's cooldown for a member and the group:
// both must be free at now (ARGV[3], the engine's clock, so a console or
// a test moving time sees them end); then both are set. The keys hold
// when each cooldown ends, and expire then on Redis' own clock (at the
// latest: a fake clock ahead of it only ends them sooner).
var cooldownScript = redis.NewScript(`
local now = tonumber(ARGV[3])
for i = 1, 2 do
  if ARGV[i] ~= '0' and tonumber(redis.call('GET', KEYS[i]) or '0') > now then return 0 end
end
for i = 1, 2 do
  if ARGV[i] ~= '0' then redis.call('SET', KEYS[i], now + tonumber(ARGV[i]), 'PX', ARGV[i]) end
end
return 1
`)

func takeCooldown(ctx context.Context, s *state.Store, group, rule, member string, cd Cooldown, now time.Time) (bool, error) {
	if cd.Member.D() <= 0 && cd.Group.D() <= 0 {
		return true, nil
	}
	n, err := cooldownScript.Run(ctx, s.Client(), []string{s.Key(group, "ans", "cd", rule, member), s.Key(group, "ans", "cd", rule)},
		cd.Member.D().Milliseconds(), cd.Group.D().Milliseconds(), now.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("%w: auto-reply cooldown: %w", state.ErrRedis, err)
	}
	return n == 1, nil
}

var (
	questionWords = regexp.MustCompile(`怎么|怎样|如何|吗[?？]?\s*$|哪里|哪儿|哪个|多少|能不能|可不可以|是不是|有没有|为什么|什么时候|几点|请问|啥|咋|么[?？]?\s*$|呢[?？]?\s*$`)
	englishQ      = regexp.MustCompile(`(?i)^\s*(how|what|where|when|why|who|which|can|could|is|are|do|does|did|should|would|will|any(one|body))\b`)
)

// IsQuestion reports whether a message asks something: a question mark,
// Chinese question words, or an English question's first word.
func IsQuestion(text string) bool {
	t := strings.TrimSpace(text)
	if t == "" || strings.HasPrefix(t, "/") {
		return false
	}
	return strings.ContainsAny(t, "?？") || questionWords.MatchString(t) || englishQ.MatchString(t)
}
