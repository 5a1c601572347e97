package moderation

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// A member's report lives under a short global number, so a moderator's
// button fits Telegram's 64 bytes of callback data whatever the group's
// key ("rep:ban:1k3"): {qb}:rep:<n> is a hash (group, msg, member, name,
// username, text, by, at; done once handled), kept reportTTL; one
// message is reported once: {g}:rep:m:<msg> holds its number.
const reportTTL = 7 * 24 * time.Hour

var adminRe = regexp.MustCompile(`(?i)(^|\s)@admins?(\s|$)`)

// Stage implements engine.EventHandler: "@admin" in a reply, and the
// moderators' buttons on a report.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// HandlesPrivateChats implements engine.PrivateChats: a report's buttons
// are pressed in a moderator's private chat.
func (Flow) HandlesPrivateChats() {}

// Handle implements engine.EventHandler.
func (f Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Kind == bot.EventButton && ev.Button != nil && strings.HasPrefix(ev.Button.Data, "rep:") {
		return f.pressed(ctx, fc)
	}
	if fc.Config == nil || ev.Kind != bot.EventMessage || ev.Chat.Type != bot.ChatGroup || ev.Edited || !adminRe.MatchString(ev.Text) {
		return nil
	}
	return f.reportToModerators(ctx, fc)
}

// reportToModerators handles /report and "@admin" on a replied-to message.
func (f Flow) reportToModerators(ctx context.Context, fc *engine.FlowContext) error {
	loc := fc.Locale()
	ev := fc.Event
	r := ev.ReplyTo
	if r == nil || r.MessageID == "" || r.Member.ID == "" {
		fc.Reply(words.T(loc, "rep.reply"))
		return nil
	}
	if r.Member.ID == ev.Member.ID {
		fc.Reply(words.T(loc, "rep.self"))
		return nil
	}
	if mod, err := fc.IsModeratorOf(ctx, ev.GroupKey(), r.Member); err != nil {
		return err
	} else if mod {
		fc.Reply(words.T(loc, "target.moderator", mention(r.Member)))
		return nil
	}
	group := ev.GroupKey()
	rdb := fc.Store.Client()
	n, err := rdb.Incr(ctx, fc.Store.GlobalKey("rep", "seq")).Result()
	if err != nil {
		return fmt.Errorf("%w: number a report: %w", state.ErrRedis, err)
	}
	id := strconv.FormatInt(n, 36)
	first, err := rdb.SetNX(ctx, fc.Store.Key(group, "rep", "m", r.MessageID), id, reportTTL).Result()
	if err != nil {
		return fmt.Errorf("%w: mark a reported message: %w", state.ErrRedis, err)
	}
	if !first {
		fc.Reply(words.T(loc, "rep.again")) // told once per message
		return nil
	}
	k := fc.Store.GlobalKey("rep", id)
	if err := rdb.HSet(ctx, k, "group", group, "msg", r.MessageID, "member", r.Member.ID, "name", r.Member.Name,
		"username", r.Member.Username, "text", adfilter.Excerpt(r.Text, 300), "by", ev.Member.ID, "at", fc.Now.Unix()).Err(); err != nil {
		return fmt.Errorf("%w: keep a report: %w", state.ErrRedis, err)
	}
	rdb.Expire(ctx, k, reportTTL)
	fc.Count(kpi.Reports, 1)

	text := words.T(loc, "rep.text", mention(ev.Member), mention(r.Member), r.Member.ID, ev.Chat.Title, adfilter.Excerpt(r.Text, 300))
	rows := [][]bot.ButtonSpec{{
		{Text: words.T(loc, "rep.del"), Data: "rep:del:" + id},
		{Text: words.T(loc, "rep.warn"), Data: "rep:warn:" + id},
		{Text: words.T(loc, "rep.ban"), Data: "rep:ban:" + id},
		{Text: words.T(loc, "rep.ok"), Data: "rep:ok:" + id},
	}}
	if link := render.MessageLink(group, r.MessageID); link != "" {
		text += "\n" + link
		rows = append(rows, []bot.ButtonSpec{{Text: words.T(loc, "rep.open"), URL: link}})
	}
	cfg, _ := fc.Config.(*Config)
	told := 0
	if cfg != nil && cfg.ReportChat != "" {
		fc.Do(bot.Action{Type: bot.ActSend, Chat: string(cfg.ReportChat), Text: text, Buttons: rows})
		told = 1
	} else {
		told = fc.TellModeratorsWith(bot.Action{Text: text, Buttons: rows})
	}
	if told == 0 {
		// nobody to tell privately: the group's admins see it here
		fc.Do(bot.Action{Type: bot.ActSend, Text: text, Buttons: rows, ReplyTo: r.MessageID})
		return nil
	}
	fc.Reply(words.T(loc, "rep.sent"))
	return nil
}

// pressed carries out a moderator's choice on a report, once.
func (f Flow) pressed(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	loc := fc.Locale()
	answer := func(key string, args ...any) {
		fc.Do(bot.Action{Type: bot.ActAnswerPress, Chat: ev.Chat.Key, CallbackID: ev.Button.ID, Member: ev.Member, Text: words.T(loc, key, args...)})
	}
	act, id, _ := strings.Cut(strings.TrimPrefix(ev.Button.Data, "rep:"), ":")
	rdb := fc.Store.Client()
	k := fc.Store.GlobalKey("rep", id)
	kv, err := rdb.HGetAll(ctx, k).Result()
	if err != nil {
		return fmt.Errorf("%w: read a report: %w", state.ErrRedis, err)
	}
	if kv["group"] == "" {
		answer("rep.gone")
		return nil
	}
	group := kv["group"]
	if mod, err := fc.IsModeratorOf(ctx, group, ev.Member); err != nil {
		return err
	} else if !mod {
		answer("rep.notmod")
		return nil
	}
	first, err := rdb.HSetNX(ctx, k, "done", act+" "+ev.Member.ID).Result()
	if err != nil {
		return fmt.Errorf("%w: settle a report: %w", state.ErrRedis, err)
	}
	if !first {
		done, _ := rdb.HGet(ctx, k, "done").Result()
		how, who, _ := strings.Cut(done, " ")
		answer("rep.handled", who, how)
		return nil
	}
	t := bot.Member{ID: kv["member"], Name: kv["name"], Username: kv["username"]}
	return fc.Within(group, func() error {
		loc := fc.Locale()
		del := bot.Action{Type: bot.ActDelete, Chat: group, MessageID: kv["msg"], Member: t}
		audit := func(what string) *bot.Audit {
			return &bot.Audit{By: ev.Member.ID, What: "report: " + what, Reason: adfilter.Excerpt(kv["text"], 60)}
		}
		switch act {
		case "ok":
			answer("rep.dismissed")
			return adfilter.Audit(ctx, fc.Store, group, adfilter.Entry{At: fc.Now, By: ev.Member.ID, Action: "report dismissed",
				Member: t.ID, Name: t.Name, Reason: adfilter.Excerpt(kv["text"], 60)})
		case "del":
			if !fc.Caps.Has(bot.CanDelete) {
				answer("msg.cannot", "del")
				return nil
			}
			del.Audit = audit("deleted")
			fc.Do(del)
		case "warn":
			did, err := Warn(ctx, fc, t, words.T(loc, "rep.reason"))
			if err != nil {
				return err
			}
			if fc.Caps.Has(bot.CanDelete) {
				del.Audit = audit("deleted, " + did)
				fc.Do(del)
			} else if err := adfilter.Audit(ctx, fc.Store, group, adfilter.Entry{At: fc.Now, By: ev.Member.ID, Action: "report: " + did,
				Member: t.ID, Name: t.Name, Reason: adfilter.Excerpt(kv["text"], 60)}); err != nil {
				return err
			}
		case "ban":
			if !fc.Caps.Has(bot.CanBan) {
				answer("cannot", "ban")
				return nil
			}
			if fc.Caps.Has(bot.CanDelete) {
				fc.Do(del)
			}
			fc.Count(kpi.Bans, 1)
			fc.Do(bot.Action{Type: bot.ActBan, Chat: group, Member: t, Audit: audit("banned")})
		default:
			answer("rep.gone")
			return nil
		}
		answer("rep.done")
		return nil
	})
}
