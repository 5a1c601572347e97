package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/platform"
)

// Platform registers WeCom: chat keys "wecom:ext:<chat_id>" (customer
// groups), "wecom:app:<chatid>" (internal app groups), "wecom:bot:<chatid>"
// (groups with the AI bot), "wecom:hook:<name>" (group robots) and
// "wecom:@<userid>" (a staff member's or customer's private chat).
func Platform() platform.Platform {
	return platform.Platform{
		Name:      "wecom",
		Config:    func() any { c := &Config{}; c.SetDefaults(); return c },
		ValidChat: ValidChat,
		Open: func(_ context.Context, conf any, d platform.Deps) (bot.Adapter, error) {
			return New(Options{Config: conf.(*Config), Store: d.Store, Log: d.Log, Clock: d.Clock})
		},
		Limits: func(conf any) config.Limits { return conf.(*Config).Limits },
	}
}

// WeCom's ids are letters, digits and a few marks (chat ids such as
// wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA, user ids such as zhangsan or
// wmxxxx-external_userid); robot names are the operator's own.
var wecomIDRe = regexp.MustCompile(`^[A-Za-z0-9_.@=-]{1,128}$`)

// ValidChat checks a WeCom chat id: kind:id, or @user.
func ValidChat(id string) error {
	kind, rest := chatKind("wecom:" + id)
	switch kind {
	case "@", kindCustomer, kindApp, kindBot, kindHook:
	default:
		return fmt.Errorf("write ext:<chat_id>, app:<chatid>, bot:<chatid>, hook:<robot name> or @<userid> after wecom: (got kind %q)", kind)
	}
	if !wecomIDRe.MatchString(rest) {
		return errors.New("the id after the kind is 1-128 letters, digits or _ . @ = -")
	}
	return nil
}

// Routes implements platform.Router: one signed callback endpoint per
// configured part (app, customer contact, AI bot).
func (a *Adapter) Routes() map[string]http.Handler { return a.Handlers() }
