package adfilter

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/config"
)

// Config is the adfilter section. Every score is what the signal adds to
// a message's total; a message at or above the threshold is spam.
type Config struct {
	// DryRun only reports what would have been done, to the log chat.
	DryRun    bool    `yaml:"dry_run"`
	Threshold float64 `yaml:"threshold"`
	// LogChat receives a report of every action (a chat key, e.g.
	// telegram:-1009876543210); empty: reports go to the log only.
	LogChat config.ChatKey `yaml:"log_chat"`
	Exempt  Exempt         `yaml:"exempt"`

	// Words is a shorthand: keywords scored at the threshold.
	Words      []string    `yaml:"words"`
	Keywords   []Keywords  `yaml:"keywords"`
	Regexes    []Regex     `yaml:"regexes"`
	Links      Links       `yaml:"links"`
	Contacts   Contacts    `yaml:"contacts"`
	Forwards   Forwards    `yaml:"forwards"`
	Flood      Flood       `yaml:"flood"`
	Newcomer   Newcomer    `yaml:"newcomer"`
	Names      NamesConfig `yaml:"names"`
	Classifier *Classifier `yaml:"classifier"`
	Ladder     Ladder      `yaml:"ladder"`

	scorer *Scorer // compiled when the config loads
	cache  *Cache  // the flow's, shared by every group's config
}

// Exempt members are never filtered (platform admins and moderators
// never are).
type Exempt struct {
	Members []string `yaml:"members"` // member ids, or platform:id
	// Level: members at or above this level of the checkin flow.
	Level string `yaml:"level"`
}

// Keywords is a list of words or phrases, inline or in a file (one per
// line, # comments; "phrase<TAB>score" overrides the list's score).
type Keywords struct {
	Words []string    `yaml:"words"`
	File  config.Path `yaml:"file"`
	Score float64     `yaml:"score"`
}

// Regex is a regular expression over the message as written.
type Regex struct {
	Name    string        `yaml:"name"`
	Pattern config.Regexp `yaml:"pattern"`
	Score   float64       `yaml:"score"`
}

// Links scores the links in a message (visible, and hidden behind text).
type Links struct {
	Allow      []string `yaml:"allow"`      // domains (and their subdomains) never scored
	Deny       []string `yaml:"deny"`       // domains scored DenyScore
	DenyScore  float64  `yaml:"deny_score"` // default: the threshold
	Shorteners float64  `yaml:"shorteners"` // bit.ly, t.cn, ...
	Invites    float64  `yaml:"invites"`    // t.me/+..., t.me/joinchat/..., chat.whatsapp.com
	Channels   float64  `yaml:"channels"`   // t.me/<name> and @mentions of names not in the group
	Hidden     float64  `yaml:"hidden"`     // a link behind text (text_link)
	Other      float64  `yaml:"other"`      // any other link
}

// Contacts scores contact details.
type Contacts struct {
	Phone  float64 `yaml:"phone"`  // a mobile number (CN 11 digits, or +international)
	WeChat float64 `yaml:"wechat"` // "vx: abc123", "加微 abc123", "微信号 ..."
	QQ     float64 `yaml:"qq"`     // "qq 12345678", "扣扣 ..."
}

// Forwards scores forwarded messages by origin.
type Forwards struct {
	Channel float64 `yaml:"channel"`
	Group   float64 `yaml:"group"`
	User    float64 `yaml:"user"`
}

// Flood scores bursts and repeats (state in Redis, shared by replicas).
type Flood struct {
	Messages     int             `yaml:"messages"` // more than this many ...
	Window       config.Duration `yaml:"window"`   // ... within this: flooding (0: off)
	Repeat       int             `yaml:"repeat"`   // the same text this many times by one member ...
	RepeatWindow config.Duration `yaml:"repeat_window"`
	Crowd        int             `yaml:"crowd"` // ... or by this many members
	CrowdWindow  config.Duration `yaml:"crowd_window"`
	// Groups: the same text (ids and numbers aside) from newcomers in this
	// many groups of the deployment within GroupsWindow (0: off) scores
	// GroupsScore: below the threshold by default, since in a deployment of
	// hundreds of groups newcomers' greetings coincide; a wave's contact,
	// link or the model's lean adds the rest.
	Groups       int             `yaml:"groups"`
	GroupsWindow config.Duration `yaml:"groups_window"`
	GroupsScore  float64         `yaml:"groups_score"`
	Score        float64         `yaml:"score"`
	// MinLength: texts shorter than this (in characters, after
	// normalisation) are never repeats ("ok", "+1", "签到").
	MinLength int `yaml:"min_length"`
}

// NamesConfig reads members' names (display name and username) by the rules:
// an account named "加微信abc123 领福利" is an ad however it writes.
type NamesConfig struct {
	// Join is what happens to a member whose name alone reaches the
	// threshold when joining or asking to join: ban, kick, report (to
	// log_chat only) or off. A request is declined.
	Join string `yaml:"join"`
	// Score is the share of the name's score each of the member's
	// messages carries (0: names are not read with messages): a member
	// who joined with a plain name and renamed to an ad.
	Score float64 `yaml:"score"`
}

// Newcomer makes the filter stricter for new members.
type Newcomer struct {
	Messages int             `yaml:"messages"` // a member's first N messages ...
	For      config.Duration `yaml:"for"`      // ... or first hours after joining
	Links    float64         `yaml:"links"`    // score for any link
	Forwards float64         `yaml:"forwards"` // score for any forward
	// Threshold replaces the threshold for newcomers (0: the same).
	Threshold float64 `yaml:"threshold"`
	// Action is what a newcomer's message removed for what it says costs
	// its author: "ladder" (default: a warning, as anyone's) or "ban" or
	// "kick" at once, without a notice in the group. Spam bots post once
	// per account, so a warning stops none of them, and in a raid the
	// warnings' notices would be the bot's own flood.
	Action string `yaml:"action"`
}

// Classifier is the learned model: logistic regression over character
// n-grams, words, the rules' hits and the message's shape.
type Classifier struct {
	// Model names the shared model in Redis, where /spam and /ham reports
	// go; groups naming the same model share it.
	Model string        `yaml:"model"`
	Spam  []config.Path `yaml:"spam"` // sample files, one message per line
	Ham   []config.Path `yaml:"ham"`
	// File is a model `qunbot adfilter train -o` wrote, instead of the
	// sample files (no training at start-up).
	File config.Path `yaml:"file"`
	// Weight is the most the classifier adds or takes away as it leans
	// (default 0.8 × threshold).
	Weight float64 `yaml:"weight"`
	// Sure is the P(spam) from which the classifier alone removes a
	// message. By default (0) training learns it from held-out samples
	// (MaxFalsePositives); messages under 12 characters need half the
	// doubt (0.9 → 0.95); 1: never alone, it only tips other signals.
	Sure float64 `yaml:"sure"`
	// MaxFalsePositives is how many ordinary messages in 1,000 the model
	// alone may remove, as training measures on held-out samples; it sets
	// the learned Sure (default 8).
	MaxFalsePositives float64 `yaml:"max_false_positives"`
}

// Ladder is what repeated spam leads to. Each spam message is deleted and
// counts as a warning; warnings expire after Decay. The step with the
// highest At not above the member's count applies.
type Ladder struct {
	Decay config.Duration `yaml:"decay"`
	Steps []Step          `yaml:"steps"`
}

// Step is one rung: warn, mute (For), kick or ban (For: 0 = forever).
type Step struct {
	At     int             `yaml:"at"`
	Action string          `yaml:"action"`
	For    config.Duration `yaml:"for"`
}

func defaults() *Config {
	return &Config{
		Threshold: 1,
		Links:     Links{Shorteners: 0.6, Invites: 1, Channels: 0.5, Hidden: 0.5},
		Contacts:  Contacts{Phone: 0.6, WeChat: 1, QQ: 1},
		Forwards:  Forwards{Channel: 0.6, Group: 0.6},
		Flood: Flood{Messages: 6, Window: config.Duration(10 * time.Second), Repeat: 3, RepeatWindow: config.Duration(10 * time.Minute),
			Crowd: 3, CrowdWindow: config.Duration(10 * time.Minute), Groups: 3, GroupsWindow: config.Duration(10 * time.Minute), GroupsScore: 0.6,
			Score: 1, MinLength: 10},
		Newcomer: Newcomer{Messages: 3, For: config.Duration(24 * time.Hour), Links: 1, Forwards: 1},
		Names:    NamesConfig{Join: "ban", Score: 0.5},
		Ladder: Ladder{Decay: config.Duration(30 * 24 * time.Hour), Steps: []Step{
			{At: 1, Action: "warn"}, {At: 3, Action: "mute", For: config.Duration(24 * time.Hour)}, {At: 5, Action: "ban"},
		}},
	}
}

// Validate implements config.Validator: it also compiles the rules, so a
// missing keyword file is reported with its line.
func (c *Config) Validate(report func(field, msg string)) {
	if c.Threshold <= 0 {
		report("threshold", "must be above zero")
	}
	if len(c.Words) > 0 {
		c.Keywords = append(c.Keywords, Keywords{Words: c.Words, Score: c.Threshold})
		c.Words = nil
	}
	if c.Links.DenyScore == 0 {
		c.Links.DenyScore = c.Threshold
	}
	for i, k := range c.Keywords {
		if len(k.Words) == 0 && k.File == "" {
			report(fmt.Sprintf("keywords[%d]", i), "give words or a file")
		}
		if k.Score == 0 {
			c.Keywords[i].Score = c.Threshold
		}
	}
	for i, r := range c.Regexes {
		if r.Pattern.Regexp == nil {
			report(fmt.Sprintf("regexes[%d].pattern", i), "a regular expression is required")
		}
		if r.Name == "" {
			c.Regexes[i].Name = fmt.Sprintf("regex %d", i+1)
		}
		if r.Score == 0 {
			c.Regexes[i].Score = c.Threshold
		}
	}
	f := c.Flood
	if f.Window < 0 || f.RepeatWindow < 0 || f.CrowdWindow < 0 || f.Messages < 0 || f.Repeat < 0 || f.Crowd < 0 {
		report("flood", "counts and windows must be zero (off) or more")
	}
	if f.Groups < 0 || f.Groups == 1 {
		report("flood.groups", "must be 0 (off) or 2 or more: one group is not a wave")
	}
	switch c.Names.Join {
	case "ban", "kick", "report", "off":
	default:
		report("names.join", fmt.Sprintf("%q: want ban, kick, report or off", c.Names.Join))
	}
	if c.Names.Score < 0 {
		report("names.score", "must be zero or more")
	}
	if f.GroupsScore < 0 {
		report("flood.groups_score", "must be zero or more")
	}
	if f.Groups > 0 && (f.GroupsWindow <= 0 || f.GroupsWindow.D() > maxWaveWindow) {
		report("flood.groups_window", "must be above zero and at most 1h")
	}
	if cl := c.Classifier; cl != nil {
		if cl.Model == "" {
			cl.Model = "default"
		}
		if cl.Weight == 0 {
			cl.Weight = 0.8 * c.Threshold
		}
		if cl.MaxFalsePositives == 0 {
			cl.MaxFalsePositives = 8
		}
		if cl.MaxFalsePositives < 0 || cl.MaxFalsePositives >= 500 {
			report("classifier.max_false_positives", "ordinary messages per 1,000: above 0 and below 500")
		}
		if cl.File != "" && (len(cl.Spam) > 0 || len(cl.Ham) > 0) {
			report("classifier.file", "give a model file or sample files (spam, ham), not both")
		}
		if cl.Sure != 0 && (cl.Sure <= 0.5 || cl.Sure > 1) {
			report("classifier.sure", "must be above 0.5 and at most 1 (or 0: learned in training)")
		}
	}
	switch c.Newcomer.Action {
	case "", "ladder", "ban", "kick":
	default:
		report("newcomer.action", "one of ladder, ban, kick")
	}
	if c.Ladder.Decay <= 0 {
		report("ladder.decay", "must be above zero")
	}
	for i, s := range c.Ladder.Steps {
		at := fmt.Sprintf("ladder.steps[%d]", i)
		if s.At < 1 {
			report(at+".at", "a warning count of 1 or more")
		}
		switch s.Action {
		case "warn", "kick":
		case "mute":
			if s.For <= 0 {
				report(at+".for", "a mute needs a duration")
			}
		case "ban":
		default:
			report(at+".action", "one of warn, mute, kick, ban")
		}
	}
	sc, err := c.cache.compile(c)
	if err != nil {
		report("keywords", err.Error())
		return
	}
	c.scorer = sc
}

// readLines reads a word or sample file: one entry per line, blank lines
// and the lines comment reports skipped.
func readLines(path string, fn func(line string) error, comment func(line string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		if n == 1 {
			// a byte-order mark, as Windows editors write: not part of
			// the first line (a comment stays a comment)
			text = strings.TrimPrefix(text, "\ufeff")
		}
		line := strings.TrimSpace(text)
		if line == "" || comment(line) {
			continue
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w (a line may hold at most 1 MiB)", path, n+1, err)
	}
	return nil
}

// parseWord splits "phrase<TAB>score".
func parseWord(line string, def float64) (string, float64, error) {
	w, s, ok := strings.Cut(line, "\t")
	if !ok {
		return line, def, nil
	}
	score, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return "", 0, fmt.Errorf("score %q is not a number", s)
	}
	return strings.TrimSpace(w), score, nil
}
