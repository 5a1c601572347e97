package config

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a config file, at a position in it.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
}

// Problems lists everything wrong with a config; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

func (ps *Problems) add(file string, n *yaml.Node, msg string) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	for _, p := range *ps { // the same default flow section is decoded once per group
		if p.Line == line && p.Col == col && p.Msg == msg {
			return
		}
	}
	*ps = append(*ps, Problem{File: file, Line: line, Col: col, Msg: msg})
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
	return ps
}

// Duration is a time.Duration written like "90s", "10m", "36h" or "7d".
type Duration time.Duration

// ParseDuration extends time.ParseDuration with weeks and days ("2w",
// "7d", "1w2d12h"); "0" and "forever" are zero (no end, where a duration
// ends something).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if s == "forever" || s == "永久" {
		return 0, nil
	}
	var total time.Duration
	rest := s
	if i := strings.Index(rest, "w"); i > 0 {
		weeks, err := strconv.Atoi(rest[:i])
		if err != nil || weeks < 0 || weeks > 5200 {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 10m, 36h, 7d, 2w)", s)
		}
		total = time.Duration(weeks) * 7 * 24 * time.Hour
		rest = rest[i+1:]
	}
	if i := strings.Index(rest, "d"); i > 0 {
		days, err := strconv.Atoi(rest[:i])
		if err != nil || days < 0 || days > 36500 {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 10m, 36h, 7d, 2w)", s)
		}
		total += time.Duration(days) * 24 * time.Hour
		rest = rest[i+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 10m, 36h, 7d, 2w)", s)
		}
		total += d
	}
	if total < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return total, nil
}

// UnmarshalNode implements NodeUnmarshaler.
func (d *Duration) UnmarshalNode(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Location is a time zone name such as Asia/Shanghai.
type Location struct{ *time.Location }

// UnmarshalNode implements NodeUnmarshaler.
func (l *Location) UnmarshalNode(n *yaml.Node) error {
	loc, err := time.LoadLocation(n.Value)
	if err != nil || n.Value == "" {
		return fmt.Errorf("unknown time zone %q (use an IANA name such as Asia/Shanghai)", n.Value)
	}
	l.Location = loc
	return nil
}

// Secret is a string that never prints: tokens and passwords.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "******"
}

// GoString keeps %#v from leaking the value too.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps JSON and zap from leaking the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// UnmarshalNode implements NodeUnmarshaler.
func (s *Secret) UnmarshalNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a string")
	}
	*s = Secret(n.Value)
	return nil
}

// Rate is "N/period", e.g. "30/s", "20/1m", "1/s". Zero means unlimited.
type Rate struct {
	N   int
	Per time.Duration
}

// PerSecond returns the rate as events per second (0 = unlimited).
func (r Rate) PerSecond() float64 {
	if r.N <= 0 || r.Per <= 0 {
		return 0
	}
	return float64(r.N) / r.Per.Seconds()
}

// ParseRate parses "N/period".
func ParseRate(s string) (Rate, error) {
	if s == "0" || s == "unlimited" {
		return Rate{}, nil
	}
	num, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("invalid rate %q (use N/period, e.g. 30/s or 20/1m, or unlimited)", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 0 {
		return Rate{}, fmt.Errorf("invalid rate %q: %q is not a count", s, num)
	}
	per = strings.TrimSpace(per)
	switch per {
	case "s":
		per = "1s"
	case "m":
		per = "1m"
	case "h":
		per = "1h"
	}
	d, err := ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("invalid rate %q: period %q", s, per)
	}
	return Rate{N: n, Per: d}, nil
}

// UnmarshalNode implements NodeUnmarshaler.
func (r *Rate) UnmarshalNode(n *yaml.Node) error {
	v, err := ParseRate(n.Value)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Regexp is a compiled regular expression (RE2 syntax).
type Regexp struct{ *regexp.Regexp }

// UnmarshalNode implements NodeUnmarshaler.
func (r *Regexp) UnmarshalNode(n *yaml.Node) error {
	re, err := regexp.Compile(n.Value)
	if err != nil {
		return fmt.Errorf("invalid regular expression: %v", err)
	}
	r.Regexp = re
	return nil
}

// CronParser accepts five fields or six with leading seconds, and the
// @daily-style descriptors, as robfig/cron/v3 documents.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Cron is a parsed cron spec.
type Cron struct {
	Spec     string
	Schedule cron.Schedule
}

// ParseCron parses a cron spec as the config does.
func ParseCron(spec string) (Cron, error) {
	s, err := cronParser.Parse(spec)
	if err != nil {
		return Cron{}, fmt.Errorf("invalid cron spec %q: %v", spec, err)
	}
	return Cron{Spec: spec, Schedule: s}, nil
}

// UnmarshalNode implements NodeUnmarshaler.
func (c *Cron) UnmarshalNode(n *yaml.Node) error {
	v, err := ParseCron(n.Value)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// FormatDuration writes a duration the way configs write them: "90s",
// "10m", "36h", "7d", "1d12h".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	day := 24 * time.Hour
	s := ""
	if d >= day {
		s = strconv.FormatInt(int64(d/day), 10) + "d"
		d %= day
	}
	if d == 0 {
		return s
	}
	rest := d.String()
	// time.Duration.String writes "1m0s" and "2h0m0s"; drop the zero tails.
	for _, z := range []string{"0s", "0m"} {
		if len(rest) > len(z) && strings.HasSuffix(rest, z) && !strings.HasSuffix(rest, "."+z) {
			trimmed := strings.TrimSuffix(rest, z)
			if last := trimmed[len(trimmed)-1]; last == 'm' || last == 'h' {
				rest = trimmed
			}
		}
	}
	return s + rest
}

// QuietHours is a daily span such as "22:00-08:00" (in the group's time
// zone) when nothing is posted or sent unasked.
type QuietHours struct {
	Start, End int // minutes after midnight; Start == End means none
	set        bool
}

// UnmarshalNode implements NodeUnmarshaler.
func (q *QuietHours) UnmarshalNode(n *yaml.Node) error {
	a, b, ok := strings.Cut(n.Value, "-")
	parse := func(s string) (int, bool) {
		t, err := time.Parse("15:04", strings.TrimSpace(s))
		if err != nil {
			return 0, false
		}
		return t.Hour()*60 + t.Minute(), true
	}
	start, ok1 := parse(a)
	end, ok2 := parse(b)
	if !ok || !ok1 || !ok2 {
		return fmt.Errorf("quiet hours %q: write HH:MM-HH:MM, e.g. 22:00-08:00", n.Value)
	}
	*q = QuietHours{Start: start, End: end, set: start != end}
	return nil
}

// Contains reports whether t (in its own location) falls in the span.
func (q QuietHours) Contains(t time.Time) bool {
	if !q.set {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End // across midnight
}

// Ends returns when the quiet span containing t ends (t if it is not in one).
func (q QuietHours) Ends(t time.Time) time.Time {
	if !q.Contains(t) {
		return t
	}
	end := time.Date(t.Year(), t.Month(), t.Day(), q.End/60, q.End%60, 0, 0, t.Location())
	if !end.After(t) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

// String writes the span back as configured.
func (q QuietHours) String() string {
	if !q.set {
		return ""
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", q.Start/60, q.Start%60, q.End/60, q.End%60)
}
