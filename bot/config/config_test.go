package config_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/render"
)

type nested struct {
	Limit int             `yaml:"limit"`
	Per   config.Duration `yaml:"per"`
}

type sample struct {
	Text    render.Template `yaml:"text"`
	Timeout config.Duration `yaml:"timeout"`
	Cron    config.Cron     `yaml:"cron"`
	Pattern config.Regexp   `yaml:"pattern"`
	Bonus   map[int]int     `yaml:"bonus"`
	Words   []string        `yaml:"words"`
	Nested  nested          `yaml:"nested"`
}

func (s *sample) Validate(report func(field, msg string)) {
	if s.Nested.Limit < 0 {
		report("nested.limit", "must be zero or more")
	}
}

// testChat is a platform of the test's own: the core names no platform,
// so these tests bring two (numeric chat ids, and any name).
type testChat struct {
	Title  string        `yaml:"title"`
	Limits config.Limits `yaml:"limits"`
}

func schema() config.Schema {
	numeric := func(id string) error {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return errors.New("not a number")
		}
		return nil
	}
	return config.Schema{
		Flows: map[string]config.FlowSchema{
			"sample": {New: func() any { return &sample{Timeout: config.Duration(time.Minute), Nested: nested{Limit: 1}} }},
			"help":   {New: func() any { return &struct{}{} }, DefaultOn: true},
		},
		Platforms: map[string]config.PlatformSchema{
			"telegram": {New: func() any { return &testChat{} }, ValidChat: numeric},
			"console":  {New: func() any { return &testChat{} }},
		},
	}
}

func TestGoodConfig(t *testing.T) {
	cfg, err := config.Load("testdata/good.yaml", schema())
	if err != nil {
		t.Fatalf("good.yaml: %v", err)
	}
	if cfg.Timezone.String() != "Asia/Shanghai" || cfg.Redis.URL.Reveal() != "redis://127.0.0.1:6379/3" {
		t.Errorf("top level: tz=%v url=%v", cfg.Timezone, cfg.Redis.URL.Reveal())
	}
	cc, ok := cfg.Adapter("console")
	if !ok {
		t.Fatal("adapters.console not decoded")
	}
	if l := cc.(*testChat).Limits; l.PerGroup.N != 20 || l.PerGroup.Per != time.Minute {
		t.Errorf("limits: %+v", l)
	}
	tests := []struct {
		group      string
		enabled    bool
		text       string
		limit      int
		per        time.Duration
		locale, tz string
		moderator  string
	}{
		{"telegram:-999", true, "Hi Alice", 3, 10 * time.Second, "zh-CN", "Asia/Shanghai", "telegram:1"},
		{"telegram:-1001", true, "Hello Alice", 5, 10 * time.Second, "en", "Asia/Shanghai", "telegram:1"},
		{"telegram:-1002", false, "", 0, 0, "zh-CN", "Asia/Shanghai", "telegram:1"},
		{"console:demo", true, "Hi Alice", 3, 10 * time.Second, "zh-CN", "Europe/Berlin", "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			g := cfg.Group(tt.group)
			if g.Locale != tt.locale || g.Location.String() != tt.tz || !g.IsModerator(tt.moderator) {
				t.Errorf("group settings: locale=%s tz=%s moderators=%v", g.Locale, g.Location, g.Moderators)
			}
			if _, on := g.Flow("help"); !on {
				t.Error("help (DefaultOn) is off")
			}
			v, on := g.Flow("sample")
			if on != tt.enabled {
				t.Fatalf("sample enabled = %v, want %v", on, tt.enabled)
			}
			if !on {
				return
			}
			s := v.(*sample)
			text, err := s.Text.Render(render.Data{Member: render.Member{Name: "Alice"}})
			if err != nil || text != tt.text {
				t.Errorf("text = %q (%v), want %q", text, err, tt.text)
			}
			if s.Nested.Limit != tt.limit || s.Nested.Per.D() != tt.per {
				t.Errorf("nested = %+v", s.Nested)
			}
			if s.Bonus[7] != 20 || s.Bonus[30] != 100 || len(s.Words) != 2 || s.Timeout.D() != 2*time.Minute {
				t.Errorf("values: %+v", s)
			}
			if !s.Pattern.MatchString("BUY NOW") {
				t.Error("pattern does not match")
			}
			next := s.Cron.Schedule.Next(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) // a Monday
			if next.Weekday() != time.Wednesday || next.Hour() != 9 {
				t.Errorf("cron next = %v", next)
			}
		})
	}
}

func TestBadConfigs(t *testing.T) {
	tests := []struct {
		file string
		want []string // each must appear in the problems, in this order
	}{
		{"bad_many.yaml", []string{
			"bad_many.yaml:1:11: timezone: unknown time zone \"Mars/Olympus\"",
			"bad_many.yaml:2:9: locale \"fr\" is not built in",
			"bad_many.yaml:3:1: unknown key \"colour\"",
			"bad_many.yaml:7:11: sample.text: template:",
			"bad_many.yaml:8:14: sample.timeout: invalid duration \"2 minutes\"",
			"bad_many.yaml:9:11: sample.cron: invalid cron spec \"0 25 * * *\"",
			"bad_many.yaml:10:14: sample.pattern: invalid regular expression",
			"bad_many.yaml:11:14: sample.bonus: expected a whole number, got \"seven\"",
			"bad_many.yaml:12:22: sample.nested.limit: expected a whole number, got \"many\"",
			"bad_many.yaml:12:38: unknown key \"extra\" in sample.nested (known keys: limit, per)",
			"bad_many.yaml:13:3: unknown flow \"checkout\"",
			"bad_many.yaml:16:21: sample.text: template:",
			"bad_many.yaml:17:5: unknown key \"welcome\" in groups.telegram:-1001",
			"bad_many.yaml:18:3: group key \"nope\" must be platform:chat-id",
		}},
		{"bad_env.yaml", []string{"bad_env.yaml:3:12: environment variable QB_SURELY_UNSET_VAR is not set"}},
		{"bad_syntax.yaml", []string{"bad_syntax.yaml:4:4: YAML syntax: did not find expected key"}},
		{"bad_validate.yaml", []string{"bad_validate.yaml:4:22: sample.nested.limit: must be zero or more"}},
		{"bad_adapter.yaml", []string{
			"bad_adapter.yaml:2:3: unknown platform \"pigeon\" under adapters (known platforms: console, telegram)",
			"bad_adapter.yaml:3:21: adapters.console.title: expected a single value, not a list",
			"bad_adapter.yaml:4:17: http.listen: \"localhost\" is not an address to listen on",
			"bad_adapter.yaml:5:14: moderators: \"irc:42\" names an unknown platform \"irc\"",
			"bad_adapter.yaml:7:3: group key \"telegram:abc\" is not a telegram chat: not a number",
			"bad_adapter.yaml:8:34: moderators: \"fax:1\" names an unknown platform \"fax\"",
			"bad_adapter.yaml:9:20: redis.pipeline is -3: give 0 (off) or up to 1000",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := config.Load("testdata/"+tt.file, schema())
			var ps config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			got := err.Error()
			pos := 0
			for _, w := range tt.want {
				i := strings.Index(got[pos:], w)
				if i < 0 {
					t.Fatalf("problem %q missing (or out of order) in:\n%s", w, got)
				}
				pos += i + len(w)
			}
			if len(ps) != len(tt.want) {
				t.Errorf("%d problems, want %d:\n%s", len(ps), len(tt.want), got)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("QB_TEST_TITLE", "From env")
	cfg, err := config.Parse("env.yaml", []byte("adapters:\n  console:\n    title: \"${QB_TEST_TITLE} / ${QB_TEST_UNSET:-fallback}\"\n"), schema())
	if err != nil {
		t.Fatal(err)
	}
	cc, _ := cfg.Adapter("console")
	if got := cc.(*testChat).Title; got != "From env / fallback" {
		t.Errorf("title = %q", got)
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := config.Secret("123456:ABC-token")
	for _, out := range []string{s.String(), s.GoString()} {
		if strings.Contains(out, "ABC") {
			t.Fatalf("secret leaked: %s", out)
		}
	}
	b, _ := s.MarshalText()
	if strings.Contains(string(b), "ABC") {
		t.Fatalf("secret leaked in text: %s", b)
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"10m", 10 * time.Minute, true},
		{"-1m", 0, false},
		{"d", 0, false},
		{"", 0, false},
		{"7", 0, false},
	}
	for _, tt := range tests {
		got, err := config.ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok {
			back, err := config.ParseDuration(config.FormatDuration(got))
			if err != nil || back != got {
				t.Errorf("FormatDuration(%v) = %q does not parse back", got, config.FormatDuration(got))
			}
		}
	}
}

func TestRates(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"30/s", 30, true}, {"20/1m", 20.0 / 60, true}, {"1/s", 1, true}, {"unlimited", 0, true},
		{"30", 0, false}, {"x/s", 0, false}, {"3/0s", 0, false},
	}
	for _, tt := range tests {
		r, err := config.ParseRate(tt.in)
		if (err == nil) != tt.ok || r.PerSecond() != tt.want {
			t.Errorf("ParseRate(%q) = %v/s, %v", tt.in, r.PerSecond(), err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"good.yaml", "bad_many.yaml", "bad_env.yaml", "bad_syntax.yaml", "bad_validate.yaml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("flows: [1, 2]\ngroups: x\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("fuzz.yaml", data, schema())
		if err == nil {
			if cfg.Default == nil {
				t.Fatal("accepted config without defaults")
			}
			return
		}
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				if p.Msg == "" {
					t.Fatal("problem without a message")
				}
			}
		}
	})
}

// A section with several problems shows them all, also when one of its
// fields failed to decode; a file the config names must be readable.
func TestEveryProblemOfASection(t *testing.T) {
	dir := t.TempDir()
	yaml := `flows:
  sample: { timeout: soon, nested: { limit: -1 }, pattern: "(" }
  files: { a: missing.txt, b: . }
`
	type files struct {
		A config.Path `yaml:"a"`
		B config.Path `yaml:"b"`
	}
	s := schema()
	s.Flows["files"] = config.FlowSchema{New: func() any { return &files{} }}
	_, err := config.Parse(dir+"/t.yaml", []byte(yaml), s)
	got := ""
	if err != nil {
		got = err.Error()
	}
	for _, w := range []string{
		"t.yaml:2:22: sample.timeout: invalid duration \"soon\"",
		"t.yaml:2:45: sample.nested.limit: must be zero or more",
		"t.yaml:2:60: sample.pattern: invalid regular expression",
		"t.yaml:3:15: files.a: cannot read " + dir + "/missing.txt: no such file or directory",
		"t.yaml:3:31: files.b: " + dir + " is a folder, not a file",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}
