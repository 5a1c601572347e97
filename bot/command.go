package bot

import (
	"strings"
	"unicode"
)

// ParseCommand parses "/name[@bot] args" from message text. It returns nil
// when the text is not a command, or when it is addressed to another bot
// (botUsername empty accepts any address).
func ParseCommand(text, botUsername string) *Command {
	text = strings.TrimLeftFunc(text, unicode.IsSpace)
	if len(text) < 2 || text[0] != '/' {
		return nil
	}
	head, rest, _ := strings.Cut(text[1:], " ")
	if i := strings.IndexAny(head, "\n\t"); i >= 0 {
		rest = head[i+1:] + " " + rest
		head = head[:i]
	}
	name, addr, addressed := strings.Cut(head, "@")
	if addressed && botUsername != "" && !strings.EqualFold(addr, botUsername) {
		return nil
	}
	if name == "" || len(name) > 32 {
		return nil
	}
	for _, r := range name {
		if !(r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return nil
		}
	}
	rest = strings.TrimSpace(rest)
	return &Command{Name: strings.ToLower(name), Args: strings.Fields(rest), ArgText: rest}
}
