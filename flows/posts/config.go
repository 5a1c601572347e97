package posts

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/flows/audience"
)

// Config is the posts section: a group's content calendar.
type Config struct {
	// Items are the posts. The section may also be written as just this
	// list (posts: [ ... ]).
	Items []Post `yaml:"items,seq"`
	// DailyCap limits scheduled posts per calendar day in the group's time
	// zone, across all posts (0 = no limit). A post over the cap is skipped
	// and logged; /post now always sends but counts.
	DailyCap int `yaml:"daily_cap"`
	// QuietHours holds posts that fall in the span until it ends.
	QuietHours config.QuietHours `yaml:"quiet_hours"`
	// Grace is how late a fire may still be sent after downtime (default
	// 1h); older missed fires are skipped and logged.
	Grace config.Duration `yaml:"grace"`
}

// Post is one entry of the calendar.
type Post struct {
	Name string      `yaml:"name"`
	Cron config.Cron `yaml:"cron"`
	// Exactly one of Text (a template), Texts (templates that rotate, one
	// per fire) and File (items separated by lines of ---, taken in order).
	Text  render.Template   `yaml:"text"`
	Texts []render.Template `yaml:"texts"`
	File  config.Path       `yaml:"file"`
	// Loop starts File over after its last item (default: the post stops
	// and the operator is told).
	Loop    bool     `yaml:"loop"`
	Image   string   `yaml:"image"` // picture URL; the text is its caption
	Buttons []Button `yaml:"buttons"`
	// Survey adds a button that starts this questionnaire (the survey
	// flow's) privately for whoever presses it.
	Survey      string          `yaml:"survey"`
	Pin         bool            `yaml:"pin"`
	DeleteAfter config.Duration `yaml:"delete_after"`
	// Audience sends the post to the members it picks instead of the
	// group: privately where the platform allows, else in the group
	// mentioning them, 20 a message.
	Audience *audience.Spec `yaml:"audience"`
}

// Button is a URL button under a post.
type Button struct {
	Text string `yaml:"text"`
	URL  string `yaml:"url"`
}

var nameRe = regexp.MustCompile(`^[\p{L}\p{N}_-]{1,32}$`)

func defaults() *Config { return &Config{Grace: config.Duration(time.Hour)} }

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	if c.DailyCap < 0 {
		report("daily_cap", "must be zero (no limit) or more")
	}
	if c.Grace < 0 {
		report("grace", "must be zero or more")
	}
	seen := map[string]bool{}
	for i, p := range c.Items {
		at := fmt.Sprintf("items[%d]", i)
		if !nameRe.MatchString(p.Name) || seen[p.Name] {
			report(at+".name", "a unique name of letters, digits, _ or - (at most 32)")
		}
		seen[p.Name] = true
		if p.Cron.Schedule == nil {
			report(at+".cron", `needs a cron spec, e.g. "0 9 * * *" (09:00 daily in the group's time zone)`)
		}
		n := 0
		if !p.Text.IsZero() {
			n++
		}
		if len(p.Texts) > 0 {
			n++
		}
		if p.File != "" {
			n++
		}
		if n != 1 {
			report(at, "give exactly one of text, texts or file")
		}
		if p.Audience != nil {
			p.Audience.Validate(func(field, msg string) { report(at+".audience."+field, msg) })
		}
		if p.File != "" {
			if items, err := readItems(string(p.File)); err != nil {
				report(at+".file", err.Error())
			} else if len(items) == 0 {
				report(at+".file", "has no items (separate items with a line of ---)")
			}
		}
		if p.Loop && p.File == "" {
			report(at+".loop", "applies to file only (texts always rotate)")
		}
		for j, b := range p.Buttons {
			if b.Text == "" || b.URL == "" {
				report(fmt.Sprintf("%s.buttons[%d]", at, j), "a button needs text and url")
			}
		}
		if p.DeleteAfter < 0 {
			report(at+".delete_after", "must be zero (keep) or more")
		}
	}
}

func (c *Config) post(name string) *Post {
	for i := range c.Items {
		if c.Items[i].Name == name {
			return &c.Items[i]
		}
	}
	return nil
}

// readItems reads a file of post items separated by lines of ---.
func readItems(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read post items: %w", err)
	}
	var items []string
	var cur []string
	flush := func() {
		if t := strings.TrimSpace(strings.Join(cur, "\n")); t != "" {
			items = append(items, t)
		}
		cur = nil
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "---" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return items, nil
}
