package welcome

import (
	"fmt"
	"regexp"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/render"
)

// Config is the welcome section.
type Config struct {
	// Text greets the newcomer(s). Values: .Member (the first newcomer),
	// .Members, .Flow.Mentions (everyone welcomed at once), .Flow.Count.
	Text render.Template `yaml:"text"`
	// Rules follow the welcome, or go by direct message with rules_dm.
	Rules   render.Template `yaml:"rules"`
	RulesDM bool            `yaml:"rules_dm"`
	// RulesButton puts a "rules" button under the welcome when the group
	// has rules (notes.rules) that the welcome does not already carry; a
	// press sends them privately (in the group where the member has not
	// started the bot). On by default.
	RulesButton bool `yaml:"rules_button"`
	// Perk is the newcomer perk: a fixed text, or with codes: a text using
	// {{.Flow.Code}}, sent privately.
	Perk  render.Template `yaml:"perk"`
	Codes *Codes          `yaml:"codes"`
	// Buttons are URL buttons under the welcome (rules page, FAQ, ...).
	Buttons []Button `yaml:"buttons"`
	// DeleteAfter removes each welcome after this long; a new welcome also
	// removes the previous one. 0 keeps welcomes.
	DeleteAfter config.Duration `yaml:"delete_after"`
	// Burst: joins within Window of the last welcome are welcomed together,
	// up to Max mentions a message.
	Burst Burst `yaml:"burst"`
}

// Codes is a pool of unique perk codes loaded from a file, one per line.
type Codes struct {
	Pool string      `yaml:"pool"` // name; groups naming the same pool share it
	File config.Path `yaml:"file"`
	// Low is the count at which moderators are warned (default 10).
	Low int `yaml:"low"`
}

// Button is a URL button.
type Button struct {
	Text string `yaml:"text"`
	URL  string `yaml:"url"`
}

// Burst groups joins.
type Burst struct {
	Window config.Duration `yaml:"window"`
	Max    int             `yaml:"max"`
}

var poolNameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func defaults() *Config {
	return &Config{Burst: Burst{Window: config.Duration(30 * time.Second), Max: 10}, RulesButton: true}
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.Codes != nil {
		if !poolNameRe.MatchString(c.Codes.Pool) {
			report("codes.pool", "name the pool with letters, digits, _ . - (at most 64)")
		}
		if c.Codes.File == "" {
			report("codes.file", "name the file of codes, one per line")
		}
		if c.Codes.Low < 0 {
			report("codes.low", "must be zero or more")
		}
		if c.Perk.IsZero() {
			report("perk", "codes need a perk text that shows {{.Flow.Code}}")
		}
	}
	for i, b := range c.Buttons {
		if b.Text == "" || b.URL == "" {
			report(fmt.Sprintf("buttons[%d]", i), "a button needs text and url")
		}
	}
	if c.Burst.Max < 1 {
		report("burst.max", "must be at least 1")
	}
}
