// Package survey is questionnaires (问卷) a member answers in a private
// chat with the bot: /survey NAME in the group starts one; the bot asks
// the questions one by one; the answers are kept per member; finishing
// counts in the day's record and sets the tags flow's questionnaire tags.
// The churned wake-up note can point to it ("发送 /survey feedback").
package survey

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/i18n"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/tags"
)

// Config is the survey section.
type Config struct {
	Forms []Form `yaml:"forms,seq"`
}

// Form is one questionnaire.
type Form struct {
	Name      string   `yaml:"name"`
	Title     string   `yaml:"title"`
	Questions []string `yaml:"questions"`
}

// Validate implements config.Validator.
func (c *Config) Validate(report func(field, msg string)) {
	seen := map[string]bool{}
	for i, f := range c.Forms {
		at := fmt.Sprintf("forms[%d].", i)
		if f.Name == "" || strings.ContainsAny(f.Name, " \n|") || seen[f.Name] {
			report(at+"name", "a unique name without spaces")
		}
		seen[f.Name] = true
		if len(f.Questions) == 0 || len(f.Questions) > 20 {
			report(at+"questions", "1 to 20 questions")
		}
	}
}

func (c *Config) form(name string) *Form {
	for i := range c.Forms {
		if c.Forms[i].Name == name {
			return &c.Forms[i]
		}
	}
	return nil
}

// Flow is the survey flow.
type Flow struct{}

// Name implements engine.Flow.
func (Flow) Name() string { return "survey" }

// Schema implements engine.Flow: on where the config has a section.
func (Flow) Schema() config.FlowSchema {
	return config.FlowSchema{New: func() any { return &Config{} }}
}

// Stage implements engine.EventHandler.
func (Flow) Stage() engine.Stage { return engine.StageWelcome }

// HandlesPrivateChats implements engine.PrivateChats: the answers come
// privately.
func (Flow) HandlesPrivateChats() {}

var words = i18n.Catalog{
	"zh-CN": {
		"help":  "填写问卷（私聊进行）；管理员：/survey results 名称",
		"usage": "用法：/survey 问卷名。可选：%s", "unknown": "没有叫“%s”的问卷。可选：%s",
		"start": "我在私聊里发你问卷“%s”了，请查看。", "nodm": "私聊不到你：请先私聊我一次，再发 /survey %s。",
		"intro": "问卷“%s”，共 %d 题。随时回复 /cancel 结束。", "q": "第 %d/%d 题：%s",
		"thanks": "谢谢你填完问卷“%s”！", "cancelled": "问卷已结束，没填完的不会保存为完成。", "again": "你已经填过问卷“%s”了，谢谢！",
		"results": "问卷“%s”：%d 人填完。最近的回答：", "noresults": "问卷“%s”还没人填完。",
	},
	"en": {
		"help":  "answer a questionnaire (privately); moderators: /survey results NAME",
		"usage": "Usage: /survey NAME. Available: %s", "unknown": "No questionnaire “%s”. Available: %s",
		"start": "I sent you the questionnaire “%s” privately.", "nodm": "I cannot write to you privately: start a chat with me first, then send /survey %s.",
		"intro": "Questionnaire “%s”, %d questions. Reply /cancel any time to stop.", "q": "Question %d/%d: %s",
		"thanks": "Thank you for answering “%s”!", "cancelled": "Stopped; it is not saved as answered.", "again": "You answered “%s” already, thank you!",
		"results": "“%s”: %d answered. The latest answers:", "noresults": "Nobody has answered “%s” yet.",
	},
}

// Commands implements engine.Commander.
func (Flow) Commands(loc string) []engine.CommandSpec {
	return []engine.CommandSpec{{Name: "survey", Args: "NAME", Help: words.T(loc, "help")}}
}

// a member's survey in progress: global, since the answers come by
// private message (no group); the value names the group and the form.
func activeKey(s *state.Store, platform, member string) string {
	return s.GlobalKey("survey", "active", platform, member)
}
func answersKey(s *state.Store, group, form, member string) string {
	return s.Key(group, "survey", form, member)
}
func doneKey(s *state.Store, group, form string) string { return s.Key(group, "survey", form, "done") }

func names(c *Config) string {
	var n []string
	for _, f := range c.Forms {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}

// HandleCommand implements engine.Commander: /survey NAME in the group.
func (Flow) HandleCommand(ctx context.Context, fc *engine.FlowContext) error {
	cfg, _ := fc.Config.(*Config)
	ev := fc.Event
	if cfg == nil || ev.Chat.Type != bot.ChatGroup {
		return nil
	}
	loc := fc.Locale()
	args := ev.Command.Args
	if len(args) == 2 && args[0] == "results" && fc.IsModerator() {
		return results(ctx, fc, cfg, args[1])
	}
	if len(args) != 1 {
		fc.Reply(words.T(loc, "usage", names(cfg)))
		return nil
	}
	f := cfg.form(args[0])
	if f == nil {
		fc.Reply(words.T(loc, "unknown", args[0], names(cfg)))
		return nil
	}
	group := ev.GroupKey()
	done, err := fc.Store.Client().ZScore(ctx, doneKey(fc.Store, group, f.Name), ev.Member.ID).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("%w: read a questionnaire: %w", state.ErrRedis, err)
	}
	if done > 0 {
		fc.Reply(words.T(loc, "again", f.Name))
		return nil
	}
	if !fc.Caps.Has(bot.CanDM) {
		fc.Reply(words.T(loc, "nodm", f.Name))
		return nil
	}
	if err := fc.Store.Client().Set(ctx, activeKey(fc.Store, ev.Platform, ev.Member.ID), group+"\n"+f.Name+"\n0", 7*24*time.Hour).Err(); err != nil {
		return fmt.Errorf("%w: start a questionnaire: %w", state.ErrRedis, err)
	}
	title := f.Title
	if title == "" {
		title = f.Name
	}
	dm := func(text string) {
		fc.Do(bot.Action{Type: bot.ActDM, Member: ev.Member, Text: text, Fallback: words.T(loc, "nodm", f.Name)})
	}
	dm(words.T(loc, "intro", title, len(f.Questions)) + "\n" + words.T(loc, "q", 1, len(f.Questions), f.Questions[0]))
	fc.Reply(words.T(loc, "start", title))
	return nil
}

// Handle implements engine.EventHandler: an answer in the private chat.
func (Flow) Handle(ctx context.Context, fc *engine.FlowContext) error {
	ev := fc.Event
	if ev.Chat.Type != bot.ChatPrivate || ev.Kind != bot.EventMessage && ev.Kind != bot.EventCommand {
		return nil
	}
	k := activeKey(fc.Store, ev.Platform, ev.Member.ID)
	cur, err := fc.Store.Client().Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: read a questionnaire in progress: %w", state.ErrRedis, err)
	}
	parts := strings.SplitN(cur, "\n", 3)
	if len(parts) != 3 {
		return fc.Store.Client().Del(ctx, k).Err()
	}
	group, name := parts[0], parts[1]
	i, _ := strconv.Atoi(parts[2])
	gc := fc.GroupConfig(group)
	loc := gc.Locale
	c, on := gc.Flow("survey")
	var f *Form
	if on {
		f = c.(*Config).form(name)
	}
	if f == nil || i >= len(f.Questions) {
		return fc.Store.Client().Del(ctx, k).Err() // the form was removed from the config
	}
	if ev.Command != nil {
		if ev.Command.Name == "cancel" {
			fc.Reply(words.T(loc, "cancelled"))
			fc.Stop("survey")
			return fc.Store.Client().Del(ctx, k).Err()
		}
		return nil
	}
	fc.Stop("survey") // an answer is not a chat message for the other flows
	ak := answersKey(fc.Store, group, name, ev.Member.ID)
	_, err = fc.Store.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, ak, "q"+strconv.Itoa(i+1), ev.Text)
		p.Expire(ctx, ak, 400*24*time.Hour)
		p.Set(ctx, k, group+"\n"+name+"\n"+strconv.Itoa(i+1), 7*24*time.Hour)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: keep an answer: %w", state.ErrRedis, err)
	}
	if i+1 < len(f.Questions) {
		fc.Reply(words.T(loc, "q", i+2, len(f.Questions), f.Questions[i+1]))
		return nil
	}
	// the last answer: done
	_, err = fc.Store.Client().TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, doneKey(fc.Store, group, name), redis.Z{Score: float64(fc.Now.UnixMilli()), Member: ev.Member.ID})
		p.Del(ctx, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: finish a questionnaire: %w", state.ErrRedis, err)
	}
	fc.CountIn(group, kpi.Surveys, 1)
	if tc, on := gc.Flow("tags"); on {
		for _, r := range tc.(*tags.Config).Rules {
			if r.Questionnaire == name {
				if err := tags.Add(ctx, fc.Store, group, ev.Member.ID, r.Tag, "answered "+name, r.Expire.D(), fc.Now); err != nil {
					return err
				}
			}
		}
	}
	title := f.Title
	if title == "" {
		title = f.Name
	}
	fc.Reply(words.T(loc, "thanks", title))
	return nil
}

// results: how many answered, and the latest answers.
func results(ctx context.Context, fc *engine.FlowContext, cfg *Config, name string) error {
	loc := fc.Locale()
	f := cfg.form(name)
	if f == nil {
		fc.Reply(words.T(loc, "unknown", name, names(cfg)))
		return nil
	}
	group := fc.Event.GroupKey()
	rdb := fc.Store.Client()
	n, err := rdb.ZCard(ctx, doneKey(fc.Store, group, name)).Result()
	if err != nil {
		return fmt.Errorf("%w: read a questionnaire: %w", state.ErrRedis, err)
	}
	if n == 0 {
		fc.Reply(words.T(loc, "noresults", name))
		return nil
	}
	latest, err := rdb.ZRevRange(ctx, doneKey(fc.Store, group, name), 0, 4).Result()
	if err != nil {
		return fmt.Errorf("%w: read a questionnaire: %w", state.ErrRedis, err)
	}
	lines := []string{words.T(loc, "results", name, n)}
	for _, id := range latest {
		a, err := rdb.HGetAll(ctx, answersKey(fc.Store, group, name, id)).Result()
		if err != nil {
			return fmt.Errorf("%w: read answers: %w", state.ErrRedis, err)
		}
		var parts []string
		for i := range f.Questions {
			parts = append(parts, a["q"+strconv.Itoa(i+1)])
		}
		m, err := fc.Store.Member(ctx, group, id)
		if err != nil {
			return err
		}
		who := m.Name
		if who == "" {
			who = id
		}
		lines = append(lines, "• "+who+": "+strings.Join(parts, " | "))
	}
	fc.Reply(strings.Join(lines, "\n"))
	return nil
}
