package answers

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// Config is the answers section.
type Config struct {
	// Rules are tried in order; the first that matches answers.
	Rules []Rule `yaml:"rules,seq"`
	// Cooldown is every rule's unless it sets its own.
	Cooldown Cooldown `yaml:"cooldown"`
	// Questions tracks members' questions that no rule answered.
	Questions Questions `yaml:"questions"`

	once sync.Once
	m    *matcher
	// chat answers per group, read at most every chatTTL: an ordinary
	// message costs no Redis round trip for them
	chatMu sync.Mutex
	chat   map[string]chatCache
}

type chatCache struct {
	answers map[string]string
	read    time.Time
}

// Rule is one auto-reply: any of its triggers fires it.
type Rule struct {
	Name string `yaml:"name"`
	// Keywords match the message's normalised text (the ad filter's
	// normaliser and one-pass matcher: 幾點開始 matches 几点开始).
	Keywords []string `yaml:"keywords"`
	// Regex matches the message's text as written.
	Regex string `yaml:"regex"`
	// Command fires on /command (without the slash).
	Command string `yaml:"command"`
	// Similar are example questions; a message whose character-bigram
	// similarity (Dice) to one of them is at least MinSimilarity fires.
	Similar       []string `yaml:"similar"`
	MinSimilarity float64  `yaml:"min_similarity"`
	// Reply is a template (.Member, .Group); Image a picture URL sent with
	// it as the caption; Buttons link out.
	Reply   render.Template `yaml:"reply"`
	Image   string          `yaml:"image"`
	Buttons []Button        `yaml:"buttons"`
	// Private answers by private message, keeping the group quiet (with
	// the reply in the group as the fallback when the member cannot be
	// reached privately).
	Private  bool      `yaml:"private"`
	Cooldown *Cooldown `yaml:"cooldown"`

	re *regexp.Regexp
}

// Button is a link under a reply.
type Button struct {
	Text string `yaml:"text"`
	URL  string `yaml:"url"`
}

// Cooldown keeps a rule from answering the same member, or the group, too
// often: within Member of its last answer to that member, or Group of its
// last answer in the group, it stays silent.
type Cooldown struct {
	Member config.Duration `yaml:"member"`
	Group  config.Duration `yaml:"group"`
}

// Questions configures question tracking.
type Questions struct {
	Off bool `yaml:"off"`
	// EscalateAfter sends a question still open this long to the
	// moderators (default 2h).
	EscalateAfter config.Duration `yaml:"escalate_after"`
}

// SetDefaults implements config.Defaulter.
func (c *Config) SetDefaults() {
	c.Cooldown = Cooldown{Member: config.Duration(10 * time.Minute), Group: config.Duration(time.Minute)}
	c.Questions.EscalateAfter = config.Duration(2 * time.Hour)
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	names := map[string]bool{}
	for i := range c.Rules {
		r := &c.Rules[i]
		at := fmt.Sprintf("rules[%d].", i)
		if r.Name == "" {
			r.Name = fmt.Sprint(i + 1)
		}
		if names[r.Name] {
			report(at+"name", fmt.Sprintf("%q is used by another rule", r.Name))
		}
		names[r.Name] = true
		if len(r.Keywords) == 0 && r.Regex == "" && r.Command == "" && len(r.Similar) == 0 {
			report(at+"keywords", "a rule needs a trigger: keywords, regex, command or similar")
		}
		if r.Reply.IsZero() {
			report(at+"reply", "a rule needs a reply")
		}
		if r.Regex != "" {
			re, err := regexp.Compile(r.Regex)
			if err != nil {
				report(at+"regex", err.Error())
			}
			r.re = re
		}
		r.Command = strings.TrimPrefix(strings.ToLower(r.Command), "/")
		if len(r.Similar) > 0 && r.MinSimilarity == 0 {
			r.MinSimilarity = 0.6
		}
		if r.MinSimilarity < 0 || r.MinSimilarity > 1 {
			report(at+"min_similarity", "a share from 0 to 1, e.g. 0.6")
		}
		for j, b := range r.Buttons {
			if b.Text == "" || !strings.HasPrefix(b.URL, "http") {
				report(fmt.Sprintf("%sbuttons[%d]", at, j), "a button needs text and an http(s) url")
			}
		}
	}
	if c.Questions.EscalateAfter.D() < time.Minute {
		report("questions.escalate_after", "at least 1m")
	}
}

// cooldown is a rule's cooldown.
func (c *Config) cooldown(r *Rule) Cooldown {
	if r.Cooldown != nil {
		return *r.Cooldown
	}
	return c.Cooldown
}

// compiled is the rules' matcher, built once per config.
func (c *Config) compiled() *matcher {
	c.once.Do(func() { c.m = compile(c.Rules) })
	return c.m
}

// matcher finds the rules a message fires.
type matcher struct {
	kw     *adfilter.Matcher
	kwRule []int    // keyword pattern → rule
	kwText []string // keyword pattern → the keyword as written
	// rules with a regex, with a command
	regexRules, cmdRules []int
	similar              *similarIndex
}

func compile(rules []Rule) *matcher {
	var n adfilter.Normalizer
	m := &matcher{similar: newSimilarIndex()}
	var pats []adfilter.Pattern
	for i, r := range rules {
		for _, k := range r.Keywords {
			rs := append([]rune(nil), n.Normalize(k)...)
			if len(rs) == 0 {
				continue
			}
			pats = append(pats, adfilter.Pattern{Runes: rs})
			m.kwRule = append(m.kwRule, i)
			m.kwText = append(m.kwText, k)
		}
		for _, q := range r.Similar {
			m.similar.add(i, n.Normalize(q))
		}
		if r.re != nil {
			m.regexRules = append(m.regexRules, i)
		}
		if r.Command != "" {
			m.cmdRules = append(m.cmdRules, i)
		}
	}
	m.kw = adfilter.NewMatcher(pats)
	return m
}
