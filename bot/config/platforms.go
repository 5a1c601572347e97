package config

import (
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ChatKey is a reference to a chat in the config ("telegram:-100123",
// "wecom:ext:wrOgQh..."): the loader checks it with its platform's grammar,
// so a mistyped log chat is reported where it is written, not when the
// first report fails to arrive.
type ChatKey string

var chatKeyType = reflect.TypeFor[ChatKey]()

// Adapter returns the decoded section of a configured platform.
func (c *Config) Adapter(name string) (any, bool) {
	v, ok := c.Adapters[name]
	return v, ok
}

// decodeAdapters decodes each platform's section under adapters: with the
// platform's own schema.
func decodeAdapters(d *decoder, n *yaml.Node, platforms map[string]PlatformSchema) map[string]any {
	out := map[string]any{}
	for name, e := range mappingEntries(d, n, "adapters") {
		ps, ok := platforms[name]
		if !ok {
			d.errf(e.key, "unknown platform %q under adapters (known platforms: %s)", name, sortedKeys(platforms))
			continue
		}
		v := ps.New()
		if isNull(resolveAlias(e.val)) {
			// `console:` with no settings takes the defaults
			e.val = &yaml.Node{Kind: yaml.MappingNode, Line: e.val.Line, Column: e.val.Column}
		}
		d.decode(e.val, reflect.ValueOf(v).Elem(), "adapters."+name)
		out[name] = v
	}
	return out
}

// checkChatKey checks "platform:id" against the platform's grammar.
func (d *decoder) checkChatKey(key string) error {
	platform, id, ok := strings.Cut(key, ":")
	if !ok || platform == "" || id == "" {
		return fmt.Errorf("%q must be platform:chat-id, e.g. \"telegram:-1001234567890\" or \"wecom:ext:wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA\"", key)
	}
	ps, known := d.platforms[platform]
	if !known {
		return fmt.Errorf("%q names an unknown platform %q (known platforms: %s)", key, platform, sortedKeys(d.platforms))
	}
	if ps.ValidChat != nil {
		if err := ps.ValidChat(id); err != nil {
			return fmt.Errorf("%q is not a %s chat: %v", key, platform, err)
		}
	}
	return nil
}

// checkMemberRef checks a moderator entry: a bare member id, or
// "platform:member-id" naming a known platform.
func (d *decoder) checkMemberRef(n *yaml.Node, ref string) {
	if strings.TrimSpace(ref) == "" {
		d.errf(n, "moderators: empty member id")
		return
	}
	platform, _, ok := strings.Cut(ref, ":")
	if !ok {
		return
	}
	if _, known := d.platforms[platform]; !known {
		d.errf(n, "moderators: %q names an unknown platform %q (write platform:member-id, known platforms: %s)", ref, platform, sortedKeys(d.platforms))
	}
}

// checkListen checks http.listen is host:port with a port number.
func checkListen(d *decoder, n *yaml.Node, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		if p, perr := strconv.Atoi(port); perr != nil || p < 0 || p > 65535 {
			err = fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
	}
	if err != nil {
		d.errf(n, "http.listen: %q is not an address to listen on (write host:port, e.g. 127.0.0.1:8080 or :8080): %v", addr, err)
	}
}
