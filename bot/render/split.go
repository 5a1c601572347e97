package render

import (
	"strings"
	"unicode/utf8"
)

// Split cuts a text longer than limit into parts that fit, for platforms
// that refuse (Telegram) or cut off (WeCom) a longer message. size is how
// the platform counts a character (UTF-16 code units, UTF-8 bytes). A cut
// falls at the last blank line in the second half of what fits, else the
// last line break there, else the last space, else at the limit (never
// inside a character). A part that would be only white space is dropped:
// platforms refuse an empty message.
func Split(s string, limit int, size func(rune) int) []string {
	var parts []string
	for Measure(s, size) > limit {
		cut := prefixWithin(s, limit, size)
		head := s[:cut]
		switch {
		case strings.LastIndex(head, "\n\n") > cut/2:
			cut = strings.LastIndex(head, "\n\n") + 2
		case strings.LastIndexByte(head, '\n') > cut/2:
			cut = strings.LastIndexByte(head, '\n') + 1
		case strings.LastIndexByte(head, ' ') > cut/2:
			cut = strings.LastIndexByte(head, ' ') + 1
		}
		if strings.TrimSpace(s[:cut]) != "" {
			parts = append(parts, s[:cut])
		}
		s = s[cut:]
	}
	if strings.TrimSpace(s) != "" || len(parts) == 0 {
		parts = append(parts, s)
	}
	return parts
}

// Measure is the text's length as size counts it (invalid UTF-8 reads as
// U+FFFD): utf16.RuneLen for Telegram's limits, utf8.RuneLen for WeCom's.
func Measure(s string, size func(rune) int) int {
	n := 0
	for _, r := range s {
		n += size(r)
	}
	return n
}

// prefixWithin is the byte length of the longest prefix of s within limit
// (at least one character, so a cut always advances).
func prefixWithin(s string, limit int, size func(rune) int) int {
	n := 0
	for i, r := range s {
		n += size(r)
		if n > limit {
			if i == 0 {
				_, w := utf8.DecodeRuneInString(s)
				return w
			}
			return i
		}
	}
	return len(s)
}
