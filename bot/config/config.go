// Package config loads qunbot's YAML config: environment expansion, defaults
// under flows: merged with per-group overrides under groups:, and validation
// that lists every problem as file:line:col: message.
package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Locales built into qunbot.
var Locales = []string{"zh-CN", "en"}

// FlowSchema describes one flow's config section to the loader.
type FlowSchema struct {
	// New returns a pointer to the flow's config struct filled with defaults.
	New func() any
	// DefaultOn enables the flow in every group even when flows: omits it
	// (e.g. /help). A section with `enabled: false` still turns it off.
	DefaultOn bool
}

// PlatformSchema describes one platform's config section (under
// adapters:) and the grammar of its chat keys, so the core can check a
// config without naming any platform.
type PlatformSchema struct {
	// New returns a pointer to the platform's config struct filled with
	// defaults (it may implement Defaulter and Validator too).
	New func() any
	// ValidChat checks a chat id: the part of a chat key after
	// "platform:", e.g. "-1001234567890" or "ext:wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA".
	ValidChat func(id string) error
}

// Schema is what the loader knows of flows and platforms.
type Schema struct {
	Flows     map[string]FlowSchema
	Platforms map[string]PlatformSchema
}

// Config is a loaded, validated config. It is immutable once loaded; a
// reload builds a new one.
type Config struct {
	File     string
	Timezone *time.Location
	Locale   string
	Redis    Redis
	HTTP     HTTP
	// Adapters holds the decoded section of every platform configured
	// under adapters:, by platform name (the pointer its schema made).
	Adapters map[string]any
	// Groups holds the resolved settings of every group named under groups:;
	// Default serves every other group.
	Groups  map[string]*Group
	Default *Group
}

// Redis selects the store. With neither url nor addrs, qunbot starts an
// embedded in-process store.
type Redis struct {
	URL        Secret   `yaml:"url"`         // redis://[:password@]host:port/db
	Addrs      []string `yaml:"addrs"`       // several addresses: a Cluster
	MasterName string   `yaml:"master_name"` // with addrs: Sentinel
	Password   Secret   `yaml:"password"`
	Prefix     string   `yaml:"prefix"` // key prefix, default "qb:"
	// Pipeline > 1 sends the ingests of updates that queue up together, up
	// to this many per round trip (group commit; 0: one each).
	Pipeline int `yaml:"pipeline"`
}

// HTTP is the listener for /healthz, /readyz, /metrics and webhooks.
type HTTP struct {
	Listen string `yaml:"listen"`
	// Dashboard is the path the web console is served under (default
	// "/"; "off" serves none).
	Dashboard string `yaml:"dashboard"`
	// PublicURL is how people reach the listener (the login links the bot
	// hands out), e.g. https://bot.example.com; default http://<listen>.
	PublicURL string `yaml:"public_url"`
}

// Limits are the outbox's rate limits for one adapter.
type Limits struct {
	Global     Rate `yaml:"global"`      // all messages of the adapter
	PerGroup   Rate `yaml:"per_group"`   // messages into one group
	PerPrivate Rate `yaml:"per_private"` // messages into one private chat
	// Moderation paces the calls that protect a group (delete, restrict,
	// kick, ban, join requests), which do not count as messages.
	Moderation Rate `yaml:"moderation"`
	Workers    int  `yaml:"workers"` // concurrent API calls
}

// Group is one group's resolved settings: top-level values, the flows:
// defaults and the group's overrides, merged.
type Group struct {
	Key        string
	Locale     string
	Location   *time.Location
	Moderators []string
	flows      map[string]flowSection
}

type flowSection struct {
	enabled bool
	value   any
}

// Flow returns the flow's resolved config (the pointer FlowSchema.New made)
// and whether the flow is enabled in this group.
func (g *Group) Flow(name string) (any, bool) {
	s, ok := g.flows[name]
	if !ok || !s.enabled {
		return nil, false
	}
	return s.value, true
}

// IsModerator reports whether a member id is listed as a moderator.
func (g *Group) IsModerator(memberID string) bool {
	for _, m := range g.Moderators {
		if m == memberID {
			return true
		}
	}
	return false
}

// Group returns the resolved settings of a group key such as
// "telegram:-100123"; groups not named in the config get the defaults.
func (c *Config) Group(key string) *Group {
	if g, ok := c.Groups[key]; ok {
		return g
	}
	return c.Default
}

// raw is the file's top level as written.
type raw struct {
	Timezone   Location  `yaml:"timezone"`
	Locale     string    `yaml:"locale"`
	Redis      Redis     `yaml:"redis"`
	HTTP       HTTP      `yaml:"http"`
	Adapters   yaml.Node `yaml:"adapters"`
	Moderators []string  `yaml:"moderators"`
	Flows      yaml.Node `yaml:"flows"`
	Groups     yaml.Node `yaml:"groups"`
}

// rawGroup is a group's own keys; every other key names a flow override.
type rawGroup struct {
	Timezone   Location `yaml:"timezone"`
	Locale     string   `yaml:"locale"`
	Moderators []string `yaml:"moderators"`
}

var groupOwnKeys = map[string]bool{"timezone": true, "locale": true, "moderators": true}

// Load reads and validates a config file.
func Load(path string, schema Schema) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, schema)
}

// Parse validates config bytes; name is used in problem positions. The
// error, when not nil, is Problems listing everything found.
func Parse(name string, data []byte, schema Schema) (*Config, error) {
	var problems Problems
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(name, data, err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, Problems{{File: name, Line: 1, Col: 1, Msg: "config is empty"}}
	}
	root := doc.Content[0]
	expandEnv(name, root, &problems)

	d := &decoder{file: name, problems: &problems, pos: map[string]*yaml.Node{}, platforms: schema.Platforms}
	var r raw
	d.decode(root, reflect.ValueOf(&r).Elem(), "")

	cfg := &Config{File: name, Timezone: time.Local, Locale: "zh-CN", Redis: r.Redis, HTTP: r.HTTP,
		Adapters: decodeAdapters(d, &r.Adapters, schema.Platforms)}
	if r.Timezone.Location != nil {
		cfg.Timezone = r.Timezone.Location
	}
	if r.Locale != "" {
		cfg.Locale = r.Locale
		checkLocale(d, d.pos["locale"], r.Locale)
	}
	if cfg.Redis.Prefix == "" {
		cfg.Redis.Prefix = "qb:"
	}
	if p := cfg.Redis.Pipeline; p < 0 || p > 1000 {
		d.errf(d.pos["redis.pipeline"], "redis.pipeline is %d: give 0 (off) or up to 1000 ingests per round trip", p)
	}
	if cfg.HTTP.Listen == "" {
		cfg.HTTP.Listen = "127.0.0.1:8080"
	} else {
		checkListen(d, d.pos["http.listen"], cfg.HTTP.Listen)
	}
	switch p := cfg.HTTP.Dashboard; {
	case p == "":
		cfg.HTTP.Dashboard = "/"
	case p == "off":
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " ?#{}"):
		d.errf(d.pos["http.dashboard"], "http.dashboard: %q is not a path (write one such as /console, or off)", p)
	case !strings.HasSuffix(p, "/"):
		cfg.HTTP.Dashboard = p + "/"
	}
	if u := cfg.HTTP.PublicURL; u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		d.errf(d.pos["http.public_url"], "http.public_url: %q must start with http:// or https://", u)
	}
	cfg.HTTP.PublicURL = strings.TrimSuffix(cfg.HTTP.PublicURL, "/")
	if cfg.HTTP.PublicURL == "" {
		cfg.HTTP.PublicURL = "http://" + cfg.HTTP.Listen
	}
	for i, m := range r.Moderators {
		d.checkMemberRef(d.pos[fmt.Sprintf("moderators[%d]", i)], m)
	}

	flowDefaults := mappingEntries(d, &r.Flows, "flows")
	for fname, n := range flowDefaults {
		if _, ok := schema.Flows[fname]; !ok {
			d.errf(n.key, "unknown flow %q under flows (known flows: %s)", fname, schema.flowNames())
		}
	}
	base := &Group{Key: "", Locale: cfg.Locale, Location: cfg.Timezone, Moderators: r.Moderators}
	cfg.Default = resolveGroup(d, base, schema, flowDefaults, nil)
	cfg.Groups = map[string]*Group{}
	for gkey, gn := range mappingEntries(d, &r.Groups, "groups") {
		if err := d.checkChatKey(gkey); err != nil {
			d.errf(gn.key, "group key %v", err)
		}
		g := &Group{Key: gkey, Locale: cfg.Locale, Location: cfg.Timezone, Moderators: r.Moderators}
		overrides := map[string]entry{}
		if gn.val.Kind != yaml.MappingNode {
			if !isNull(gn.val) {
				d.errf(gn.val, "groups.%s: expected a mapping of settings and flow overrides", gkey)
			}
		} else {
			own := &yaml.Node{Kind: yaml.MappingNode, Line: gn.val.Line, Column: gn.val.Column}
			for i := 0; i+1 < len(gn.val.Content); i += 2 {
				k, v := gn.val.Content[i], gn.val.Content[i+1]
				if groupOwnKeys[k.Value] {
					own.Content = append(own.Content, k, v)
					continue
				}
				if _, ok := schema.Flows[k.Value]; !ok {
					d.errf(k, "unknown key %q in groups.%s (a group takes timezone, locale, moderators and flow names: %s)", k.Value, gkey, schema.flowNames())
					continue
				}
				overrides[k.Value] = entry{key: k, val: v}
			}
			var rg rawGroup
			d.decode(own, reflect.ValueOf(&rg).Elem(), "groups."+gkey)
			if rg.Locale != "" {
				g.Locale = rg.Locale
				checkLocale(d, d.pos["groups."+gkey+".locale"], rg.Locale)
			}
			if rg.Timezone.Location != nil {
				g.Location = rg.Timezone.Location
			}
			if rg.Moderators != nil {
				g.Moderators = rg.Moderators
				for i, m := range rg.Moderators {
					d.checkMemberRef(d.pos[fmt.Sprintf("groups.%s.moderators[%d]", gkey, i)], m)
				}
			}
		}
		cfg.Groups[gkey] = resolveGroup(d, g, schema, flowDefaults, overrides)
	}
	if len(problems) > 0 {
		return nil, problems.sorted()
	}
	return cfg, nil
}

type entry struct{ key, val *yaml.Node }

func mappingEntries(d *decoder, n *yaml.Node, path string) map[string]entry {
	out := map[string]entry{}
	n = resolveAlias(n)
	if n == nil || n.Kind == 0 || isNull(n) {
		return out
	}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s: expected a mapping", path)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := out[k.Value]; dup {
			d.errf(k, "duplicate key %q in %s", k.Value, path)
			continue
		}
		out[k.Value] = entry{key: k, val: n.Content[i+1]}
	}
	return out
}

// resolveGroup decodes every flow for one group from the defaults merged
// with the group's overrides.
func resolveGroup(d *decoder, g *Group, schema Schema, defaults, overrides map[string]entry) *Group {
	g.flows = map[string]flowSection{}
	for fname, fs := range schema.Flows {
		def, hasDef := defaults[fname]
		ovr, hasOvr := overrides[fname]
		if !hasDef && !hasOvr && !fs.DefaultOn {
			continue
		}
		var merged *yaml.Node
		switch {
		case hasDef && hasOvr:
			merged = mergeNodes(def.val, ovr.val)
		case hasDef:
			merged = def.val
		case hasOvr:
			merged = ovr.val
		}
		enabled := true
		if merged != nil {
			merged, enabled = takeEnabled(d, merged, fname)
		}
		v := fs.New()
		if merged != nil {
			d.decode(merged, reflect.ValueOf(v).Elem(), fname)
		} else if val, ok := v.(Validator); ok {
			val.Validate(func(field, msg string) { d.errf(nil, "%s: %s", join(fname, field), msg) })
		}
		g.flows[fname] = flowSection{enabled: enabled, value: v}
	}
	return g
}

// takeEnabled removes the generic `enabled:` key from a flow section.
func takeEnabled(d *decoder, n *yaml.Node, fname string) (*yaml.Node, bool) {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		// `welcome: off` is a shorthand for enabled: false
		switch strings.ToLower(n.Value) {
		case "off", "false", "no":
			return nil, false
		case "on", "true", "yes":
			return nil, true
		}
		return n, true
	}
	if n.Kind != yaml.MappingNode {
		return n, true
	}
	enabled := true
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: n.Tag, Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "enabled" {
			var b bool
			d.decode(v, reflect.ValueOf(&b).Elem(), fname+".enabled")
			enabled = b
			continue
		}
		out.Content = append(out.Content, k, v)
	}
	return out, enabled
}

// mergeNodes merges an override over defaults: mappings key by key,
// anything else replaced. Positions stay those of the original nodes, so a
// problem is reported where it was written.
func mergeNodes(base, over *yaml.Node) *yaml.Node {
	base, over = resolveAlias(base), resolveAlias(over)
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: over.Tag, Line: over.Line, Column: over.Column}
	idx := map[string]int{}
	for i := 0; i+1 < len(base.Content); i += 2 {
		idx[base.Content[i].Value] = len(out.Content)
		out.Content = append(out.Content, base.Content[i], base.Content[i+1])
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if j, ok := idx[k.Value]; ok {
			out.Content[j] = k
			out.Content[j+1] = mergeNodes(out.Content[j+1], v)
			continue
		}
		out.Content = append(out.Content, k, v)
	}
	return out
}

func checkLocale(d *decoder, n *yaml.Node, loc string) {
	for _, l := range Locales {
		if l == loc {
			return
		}
	}
	d.errf(n, "locale %q is not built in (use one of: %s)", loc, strings.Join(Locales, ", "))
}

func (s Schema) flowNames() string { return sortedKeys(s.Flows) }

func sortedKeys[V any](m map[string]V) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem places a YAML syntax error. yaml.v3 reports the line where
// the enclosing block starts, not the offending line, so the loader looks
// for the first line at which the file stops parsing: a prefix of valid
// YAML is nearly always valid YAML itself.
func syntaxProblem(name string, data []byte, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	lines := strings.SplitAfter(string(data), "\n")
	fails := func(k int) bool {
		var probe yaml.Node
		return yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &probe) != nil
	}
	// Binary search for the first failing prefix: a large file stays fast.
	lo, hi := max(line, 1), len(lines)
	if lo <= hi && fails(hi) {
		for lo < hi {
			mid := (lo + hi) / 2
			if fails(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		text := lines[lo-1]
		col := len(text) - len(strings.TrimLeft(text, " \t")) + 1
		return Problem{File: name, Line: lo, Col: col, Msg: "YAML syntax: " + msg}
	}
	return Problem{File: name, Line: line, Col: 1, Msg: "YAML syntax: " + msg}
}

var envRe = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${VAR} and ${VAR:-default} in every scalar value. An
// unset variable without a default is a problem: a config that silently
// reads "" for a token fails far from its cause.
func expandEnv(name string, n *yaml.Node, problems *Problems) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = envRe.ReplaceAllStringFunc(n.Value, func(m string) string {
			sub := envRe.FindStringSubmatch(m)
			if v, ok := os.LookupEnv(sub[1]); ok {
				return v
			}
			if sub[2] != "" {
				return sub[3]
			}
			problems.add(name, n, fmt.Sprintf("environment variable %s is not set (write ${%s:-default} for a fallback)", sub[1], sub[1]))
			return ""
		})
		if n.Tag == "!!null" && n.Value != "" {
			n.Tag = "!!str"
		}
	}
	for _, c := range n.Content {
		expandEnv(name, c, problems)
	}
}
