package telegram

import (
	"unicode/utf16"

	"github.com/qunbot/qunbot/bot/render"
)

// maxText is Telegram's limit on a message's text: 4096 characters after
// entities parsing, counted (as all Bot API offsets are) in UTF-16 code
// units. A longer text is refused with "message is too long", and the
// message would be lost; it goes in parts instead.
const maxText = 4096

// splitText cuts a text into parts within limit UTF-16 code units.
func splitText(s string, limit int) []string { return render.Split(s, limit, utf16.RuneLen) }

// utf16Len is the text's length as Telegram counts it.
func utf16Len(s string) int { return render.Measure(s, utf16.RuneLen) }
