package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/qunbot/qunbot/bot/state"
)

// memberFlags are the flags of forget and member-data: the member, and the
// chats to look in.
type memberFlags struct {
	path, member, group, platform *string
	fs                            *flag.FlagSet
}

func newMemberFlags(name string, e env) memberFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return memberFlags{
		fs:       fs,
		path:     fs.String("c", "configs/qunbot.yaml", "config file"),
		member:   fs.String("member", "", "the member's id on the platform (Telegram: the numeric user id; WeCom: the userid or external userid)"),
		group:    fs.String("group", "", "this group only, e.g. telegram:-1001234567890"),
		platform: fs.String("platform", "", "every group of this platform qunbot knows, and the member's private chat with the bot"),
	}
}

// chats are the chats the flags name: the group, or the platform's known
// groups and the member's private chat.
func (f memberFlags) chats(ctx context.Context, a *app) ([]string, error) {
	if *f.group != "" {
		return []string{*f.group}, nil
	}
	dm, ok := map[string]string{"telegram": "telegram:" + *f.member, "wecom": "wecom:@" + *f.member, "console": "console:@" + *f.member}[*f.platform]
	if !ok {
		return nil, fmt.Errorf("unknown platform %q (telegram, wecom or console)", *f.platform)
	}
	known, err := a.store.Client().HGetAll(ctx, a.store.GlobalKey("groups")).Result()
	if err != nil {
		return nil, fmt.Errorf("read the known groups: %w", err)
	}
	var out []string
	for g, p := range known {
		if p == *f.platform {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return append(out, dm), nil
}

// open parses the flags and opens the config's store; it answers the
// chats to look in. The caller closes the app.
func (f memberFlags) open(ctx context.Context, args []string, usage string, e env) (*app, []string, error) {
	if err := f.fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if *f.member == "" || (*f.group == "") == (*f.platform == "") {
		return nil, nil, errors.New(usage)
	}
	a, err := exportApp(ctx, *f.path, e)
	if err != nil {
		return nil, nil, err
	}
	chats, err := f.chats(ctx, a)
	if err != nil {
		a.close()
		return nil, nil, err
	}
	return a, chats, nil
}

// cmdForget: qunbot forget --member ID (--group G | --platform P) [-c config]
// erases what qunbot keeps about a member, for a request to be forgotten
// that reaches the operator rather than the bot (a letter, an e-mail).
func cmdForget(ctx context.Context, args []string, e env) error {
	f := newMemberFlags("forget", e)
	a, chats, err := f.open(ctx, args, "usage: qunbot forget --member ID (--group platform:chat-id | --platform telegram|wecom|console) [-c config]", e)
	if err != nil {
		return err
	}
	defer a.close()
	total := 0
	for _, g := range chats {
		got, err := a.store.ForgetMember(ctx, g, *f.member)
		if err != nil {
			return fmt.Errorf("forget %s in %s: %w", *f.member, g, err)
		}
		if n := got.Keys + got.Entries; n > 0 {
			fmt.Fprintf(e.stdout, "%s: %d keys and %d entries erased\n", g, got.Keys, got.Entries)
			total += n
		}
	}
	fmt.Fprintf(e.stderr, "forgot %s in %d chats (%d items); the moderation logs and warnings are kept\n", *f.member, len(chats), total)
	return nil
}

// cmdMemberData: qunbot member-data --member ID (--group G | --platform P)
// [-c config] [-o file.json] writes what qunbot keeps about a member, for
// a request to see it that reaches the operator.
func cmdMemberData(ctx context.Context, args []string, e env) error {
	f := newMemberFlags("member-data", e)
	out := f.fs.String("o", "", "output file (default stdout)")
	a, chats, err := f.open(ctx, args, "usage: qunbot member-data --member ID (--group platform:chat-id | --platform telegram|wecom|console) [-c config] [-o file.json]", e)
	if err != nil {
		return err
	}
	defer a.close()
	type chat struct {
		Chat string        `json:"chat"`
		Data []state.Datum `json:"data"`
	}
	doc := struct {
		Member string    `json:"member"`
		At     time.Time `json:"at"`
		Chats  []chat    `json:"chats"`
	}{Member: *f.member, At: time.Now().UTC()}
	n := 0
	for _, g := range chats {
		data, err := a.store.MemberData(ctx, g, *f.member)
		if err != nil {
			return fmt.Errorf("member data of %s in %s: %w", *f.member, g, err)
		}
		if len(data) > 0 {
			doc.Chats = append(doc.Chats, chat{g, data})
			n += len(data)
		}
	}
	w, done, err := exportWriter(*out, e.stdout)
	if err != nil {
		return fmt.Errorf("member-data: %w", err)
	}
	defer done()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("member-data: %w", err)
	}
	fmt.Fprintf(e.stderr, "%d items about %s in %d of %d chats\n", n, *f.member, len(doc.Chats), len(chats))
	return nil
}
