package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
)

// cmdForget: qunbot forget --member ID (--group G | --platform P) [-c config]
// erases what qunbot keeps about a member, for a request to be forgotten
// that reaches the operator rather than the bot (a letter, an e-mail).
func cmdForget(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("forget", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	member := fs.String("member", "", "the member's id on the platform (Telegram: the numeric user id; WeCom: the userid or external userid)")
	group := fs.String("group", "", "erase in this group only, e.g. telegram:-1001234567890")
	platform := fs.String("platform", "", "erase in every group of this platform qunbot knows, and in the member's private chat with the bot")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *member == "" || (*group == "") == (*platform == "") {
		return errors.New("usage: qunbot forget --member ID (--group platform:chat-id | --platform telegram|wecom|console) [-c config]")
	}
	a, err := exportApp(ctx, *path, e)
	if err != nil {
		return err
	}
	defer a.close()
	groups := []string{*group}
	if *platform != "" {
		known, err := a.store.Client().HGetAll(ctx, a.store.GlobalKey("groups")).Result()
		if err != nil {
			return fmt.Errorf("read the known groups: %w", err)
		}
		groups = groups[:0]
		for g, p := range known {
			if p == *platform {
				groups = append(groups, g)
			}
		}
		sort.Strings(groups)
		dm, ok := map[string]string{"telegram": "telegram:" + *member, "wecom": "wecom:@" + *member, "console": "console:@" + *member}[*platform]
		if !ok {
			return fmt.Errorf("unknown platform %q (telegram, wecom or console)", *platform)
		}
		groups = append(groups, dm)
	}
	total := 0
	for _, g := range groups {
		got, err := a.store.ForgetMember(ctx, g, *member)
		if err != nil {
			return fmt.Errorf("forget %s in %s: %w", *member, g, err)
		}
		if n := got.Keys + got.Entries; n > 0 {
			fmt.Fprintf(e.stdout, "%s: %d keys and %d entries erased\n", g, got.Keys, got.Entries)
			total += n
		}
	}
	fmt.Fprintf(e.stderr, "forgot %s in %d chats (%d items); the moderation logs and warnings are kept\n", *member, len(groups), total)
	return nil
}
