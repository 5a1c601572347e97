// Package render turns operator-written message templates into text.
//
// Templates are Go text/template. They are parsed when the config is loaded
// and tried once against sample data, so a typo such as {{.Membr.Name}} is
// reported by `qunbot validate` with its line, not discovered in a group.
package render

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

// Member is what a template knows about a member.
type Member struct {
	ID       string
	Name     string
	Username string
	// Mention is the member's display form in a message (@username, or the
	// name when there is no username).
	Mention string
}

// Group is what a template knows about a group.
type Group struct {
	ID       string // platform-qualified key, e.g. telegram:-100123
	Title    string
	Platform string
}

// Data is the value every template executes against.
type Data struct {
	Member  Member
	Members []Member // several members, e.g. a burst of joins welcomed together
	Group   Group
	// Flow holds values the flow adds (points, streak, code, ...). Each flow
	// documents its keys in README.
	Flow map[string]any
	Now  time.Time
}

// NewMember builds a Member with its mention filled in.
func NewMember(id, name, username string) Member {
	m := Member{ID: id, Name: name, Username: username, Mention: name}
	if username != "" {
		m.Mention = "@" + username
	}
	return m
}

// Template is a parsed message template. The zero value renders "".
type Template struct {
	src string
	t   *template.Template
}

// Parse parses and trial-executes src.
func Parse(name, src string) (Template, error) {
	t, err := template.New(name).Option("missingkey=zero").Parse(src)
	if err != nil {
		return Template{}, fmt.Errorf("template: %s", trimTemplateErr(err))
	}
	sample := Data{
		Member:  NewMember("1", "Alice", "alice"),
		Members: []Member{NewMember("1", "Alice", "alice")},
		Group:   Group{ID: "console:demo", Title: "Demo", Platform: "console"},
		Flow:    map[string]any{},
		Now:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if err := t.Execute(&bytes.Buffer{}, sample); err != nil {
		return Template{}, fmt.Errorf("template: %s", trimTemplateErr(err))
	}
	return Template{src: src, t: t}, nil
}

// MustParse is Parse for built-in templates known to be valid.
func MustParse(name, src string) Template {
	t, err := Parse(name, src)
	if err != nil {
		panic(err)
	}
	return t
}

// UnmarshalNode lets the config loader decode a template with its position.
func (t *Template) UnmarshalNode(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a template string")
	}
	parsed, err := Parse("config", n.Value)
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// IsZero reports whether no template was set.
func (t Template) IsZero() bool { return t.t == nil }

// Source returns the template text as written.
func (t Template) Source() string { return t.src }

// Render executes the template. Errors name the template source so an
// operator can find it.
func (t Template) Render(d Data) (string, error) {
	if t.t == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := t.t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render template %q: %w", abbreviate(t.src), err)
	}
	return b.String(), nil
}

func trimTemplateErr(err error) string {
	s := err.Error()
	// text/template prefixes "template: config:1:5: "; the config loader adds
	// file:line:col itself, so keep only the column-relative part.
	s = strings.TrimPrefix(s, "template: ")
	s = strings.TrimPrefix(s, "config:")
	return s
}

func abbreviate(s string) string {
	if len([]rune(s)) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

// MessageLink is a link to a group message where the platform has one: a
// Telegram supergroup's t.me/c/<id>/<message> (its chat id without the
// -100), which opens for members of the group; "" elsewhere.
func MessageLink(group, msg string) string {
	id, ok := strings.CutPrefix(group, "telegram:-100")
	if !ok || id == "" || msg == "" {
		return ""
	}
	return "https://t.me/c/" + id + "/" + msg
}
