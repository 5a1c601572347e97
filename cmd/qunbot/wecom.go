package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"go.uber.org/zap/zapcore"

	"github.com/qunbot/qunbot/adapters/wecom"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/render"
	"github.com/qunbot/qunbot/flows/welcome"
)

const wecomUsage = "usage: qunbot wecom welcome-template [-c config] [--group G]\n       qunbot wecom sync [-c config]\n" +
	"       qunbot wecom join-way [-c config] --state NAME --group wecom:ext:<chat_id> [--group ...] [--auto-create [--room-name N] [--room-start 2]]"

// cmdWeCom: qunbot wecom welcome-template keeps the customer-group welcome
// template in step with the welcome flow's text (%NICKNAME% for the
// newcomer) and prints its id, which group owners bind in the client.
func cmdWeCom(ctx context.Context, args []string, e env) error {
	if len(args) > 0 && args[0] == "sync" {
		return cmdWeComSync(ctx, args[1:], e)
	}
	if len(args) > 0 && args[0] == "join-way" {
		return cmdWeComJoinWay(ctx, args[1:], e)
	}
	if len(args) == 0 || args[0] != "welcome-template" {
		return errors.New(wecomUsage)
	}
	fs := flag.NewFlagSet("wecom welcome-template", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	group := fs.String("group", "", "use this group's welcome settings (default: the defaults under flows:)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, ad, err := wecomAdapter(ctx, *path, e)
	if err != nil {
		return err
	}
	defer a.close()
	cfg := a.engine.Config()
	g := cfg.Default
	if *group != "" {
		g = cfg.Group(*group)
	}
	c, ok := g.Flow("welcome")
	if !ok {
		return errors.New("the welcome flow is not enabled")
	}
	w := c.(*welcome.Config)
	// one template serves every group its owner binds it in, and WeCom
	// fills in no group name: the group's own title when --group names a
	// group qunbot has read, otherwise words that fit any group
	title := map[string]string{"zh-CN": "本群", "en": "the group"}[g.Locale]
	if title == "" {
		title = "本群"
	}
	if *group != "" {
		if f, err := a.store.GroupFields(ctx, *group); err == nil && f["title"] != "" {
			title = f["title"]
		}
	}
	nick := render.Member{Name: "%NICKNAME%", Mention: "%NICKNAME%"}
	data := render.Data{Member: nick, Members: []render.Member{nick}, Group: render.Group{ID: *group, Title: title},
		Flow: map[string]any{"Mentions": "%NICKNAME%", "Count": 1}}
	var parts []string
	for _, t := range []render.Template{w.Text, w.Rules} {
		if t.IsZero() {
			continue
		}
		s, err := t.Render(data)
		if err != nil {
			return err
		}
		parts = append(parts, strings.TrimSpace(s))
	}
	if len(parts) == 0 {
		return errors.New("the welcome flow has no text")
	}
	id, created, err := ad.SyncWelcomeTemplate(ctx, strings.Join(parts, "\n\n"))
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(e.stdout, "welcome template %s: %s\ngroup owners bind it in the WeCom client (群聊 → 入群欢迎语)\n", verb, id)
	return nil
}

// cmdWeComSync: qunbot wecom sync takes in the customer groups of the
// configured staff: their members are recorded as present, without joins,
// so the first callback of an existing group greets nobody.
func cmdWeComSync(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("wecom sync", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, ad, err := wecomAdapter(ctx, *path, e)
	if err != nil {
		return err
	}
	defer a.close()
	groups, members, err := ad.Sync(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d customer groups taken in; %d members recorded (no joins, no welcomes)\n", groups, members)
	return nil
}

// groupFlags collects repeated --group flags.
type groupFlags []string

func (g *groupFlags) String() string     { return strings.Join(*g, ",") }
func (g *groupFlags) Set(v string) error { *g = append(*g, v); return nil }

// cmdWeComJoinWay: qunbot wecom join-way makes a 渠道活码 — a join way
// whose state names the join source (/sources, tags' source rules) —
// for up to five customer groups, optionally making new groups when they
// are full, and prints its QR code.
func cmdWeComJoinWay(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("wecom join-way", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	var w wecom.JoinWay
	var groups groupFlags
	fs.StringVar(&w.State, "state", "", "the join source's name (1 to 30 characters): /sources counts the joins under it")
	fs.Var(&groups, "group", "a customer group, wecom:ext:<chat_id> (1 to 5; repeat the flag)")
	fs.BoolVar(&w.AutoCreate, "auto-create", false, "when the groups are full, WeCom makes a new group (群满自动建群)")
	fs.StringVar(&w.RoomName, "room-name", "", "with --auto-create: the new groups' name (at most 40 characters)")
	fs.IntVar(&w.RoomStart, "room-start", 0, "with --auto-create: the new groups' first number")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w.Groups = groups
	if w.State == "" || len(groups) == 0 {
		return errors.New(wecomUsage)
	}
	if strings.HasPrefix(w.State, "qb:") {
		return fmt.Errorf("--state %q: names starting with qb: are qunbot's own sources", w.State)
	}
	a, ad, err := wecomAdapter(ctx, *path, e)
	if err != nil {
		return err
	}
	defer a.close()
	qr, id, err := ad.JoinWay(ctx, w)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "join way %s (state %s): %s\nmembers who scan it count under %q in /sources\n", id, w.State, qr, w.State)
	return nil
}

// wecomAdapter opens the config's store and its WeCom adapter, for the
// wecom commands that call WeCom once and exit; close the app after.
func wecomAdapter(ctx context.Context, path string, e env) (*app, *wecom.Adapter, error) {
	a, err := newApp(ctx, path, e, humanLogger(e.stderr, zapcore.WarnLevel), bot.SystemClock{})
	if err != nil {
		return nil, nil, err
	}
	wc, ok := a.engine.Config().Adapter("wecom")
	if !ok {
		a.close()
		return nil, nil, errors.New("the config has no adapters.wecom")
	}
	ad, err := wecom.New(wecom.Options{Config: wc.(*wecom.Config), Store: a.store, Clock: bot.SystemClock{}})
	if err != nil {
		a.close()
		return nil, nil, err
	}
	return a, ad, nil
}
