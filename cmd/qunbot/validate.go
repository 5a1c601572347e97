package main

import (
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/flows"
)

func cmdValidate(args []string, e env) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path, schemaOf(flows.Builtin()))
	if err != nil {
		var ps config.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				fmt.Fprintln(e.stderr, p.Error())
			}
			fmt.Fprintf(e.stderr, "%d problem(s); the config was not accepted\n", len(ps))
		} else {
			fmt.Fprintf(e.stderr, "qunbot validate: %v\n", err)
		}
		return 1
	}
	groups := make([]string, 0, len(cfg.Groups))
	for g := range cfg.Groups {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var enabled []string
	for _, f := range flows.Builtin() {
		if _, on := cfg.Default.Flow(f.Name()); on {
			enabled = append(enabled, f.Name())
		}
	}
	fmt.Fprintf(e.stdout, "%s: ok (default flows: %s; groups: %d %s)\n", *path,
		strings.Join(enabled, ", "), len(groups), strings.Join(groups, " "))
	return 0
}
