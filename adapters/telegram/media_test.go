package telegram

import (
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/qunbot/qunbot/bot"
)

// Each kind of content a Bot API message carries is named as /lock names it.
func TestMedia(t *testing.T) {
	tests := []struct {
		name string
		msg  tgbotapi.Message
		want bot.Media
	}{
		{"text", tgbotapi.Message{Text: "hi"}, ""},
		{"photo", tgbotapi.Message{Photo: []tgbotapi.PhotoSize{{FileID: "p"}}}, bot.MediaPhoto},
		// an animation also carries a document (the Bot API says so)
		{"gif", tgbotapi.Message{Animation: &tgbotapi.Animation{FileID: "a"}, Document: &tgbotapi.Document{FileID: "a"}}, bot.MediaGIF},
		{"document", tgbotapi.Message{Document: &tgbotapi.Document{FileID: "d"}}, bot.MediaDocument},
		{"sticker", tgbotapi.Message{Sticker: &tgbotapi.Sticker{FileID: "s"}}, bot.MediaSticker},
		{"video note", tgbotapi.Message{VideoNote: &tgbotapi.VideoNote{FileID: "v"}}, bot.MediaVoice},
		{"poll", tgbotapi.Message{Poll: &tgbotapi.Poll{ID: "1"}}, bot.MediaPoll},
		{"contact", tgbotapi.Message{Contact: &tgbotapi.Contact{PhoneNumber: "1"}}, bot.MediaContact},
		{"venue", tgbotapi.Message{Venue: &tgbotapi.Venue{Title: "x"}, Location: &tgbotapi.Location{}}, bot.MediaLocation},
		{"dice", tgbotapi.Message{Dice: &tgbotapi.Dice{Emoji: "🎲"}}, bot.MediaGame},
	}
	for _, tc := range tests {
		if got := media(&tc.msg); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
