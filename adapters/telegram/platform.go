package telegram

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/platform"
)

// Platform registers Telegram: chat keys "telegram:<chat id>" (groups
// "telegram:-1001234567890", private chats "telegram:123456789").
func Platform() platform.Platform {
	return platform.Platform{
		Name:      "telegram",
		Config:    func() any { c := &Config{}; c.SetDefaults(); return c },
		ValidChat: ValidChat,
		Open: func(_ context.Context, conf any, d platform.Deps) (bot.Adapter, error) {
			return New(Options{Config: conf.(*Config), Store: d.Store, Log: d.Log, Clock: d.Clock}), nil
		},
		Limits: func(conf any) config.Limits { return conf.(*Config).Limits },
	}
}

// ValidChat checks a Telegram chat id: a non-zero whole number.
func ValidChat(id string) error {
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n == 0 {
		return errors.New("a Telegram chat id is a non-zero whole number, e.g. -1001234567890")
	}
	return nil
}

// Routes implements platform.Router: the webhook, in webhook mode.
func (a *Adapter) Routes() map[string]http.Handler {
	if a.cfg.Mode != "webhook" {
		return nil
	}
	return map[string]http.Handler{"POST " + a.cfg.Webhook.Path: a.WebhookHandler()}
}
