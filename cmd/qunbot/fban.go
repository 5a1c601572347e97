package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/qunbot/qunbot/flows/federation"
)

const fbanUsage = `usage: qunbot fban import FILE --federation NAME [--platform telegram] [--reason R] [-c config]
       qunbot fban export --federation NAME [-c config] [-o file.csv]

import adds the member ids in FILE (one per line, or the first column of a
CSV such as an exported CAS list; /fbanlist's own export keeps its
platform column) to a federation's ban list: members on it are banned
when they join any group of the federation. Entries already there are
kept. export writes the list as CSV.
`

func cmdFban(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		fmt.Fprint(e.stderr, fbanUsage)
		return errors.New("give import or export")
	}
	verb := args[0]
	fs := flag.NewFlagSet("fban "+verb, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	name := fs.String("federation", "", "the federation's name, as the groups' federation.name")
	platform := fs.String("platform", "telegram", "the platform the ids are of")
	reason := fs.String("reason", "imported list", "reason kept with each entry")
	out := fs.String("o", "", "output file (export; default stdout)")
	rest := args[1:]
	file := ""
	if verb == "import" && len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		file, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if verb == "import" && file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if *name == "" {
		return errors.New("--federation is required, e.g. --federation brand")
	}
	if verb == "import" && file == "" {
		return errors.New("give the file to import: qunbot fban import FILE --federation NAME")
	}
	a, err := exportApp(ctx, *path, e)
	if err != nil {
		return err
	}
	defer a.close()
	if verb == "export" {
		w, done, err := exportWriter(*out, e.stdout)
		if err != nil {
			return fmt.Errorf("fban export: %w", err)
		}
		defer done()
		n, err := federation.Export(ctx, a.store, *name, w)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%d entries\n", n)
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := federation.Import(ctx, a.store, *name, *platform, *reason, f, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "federation %s: %d added, %d already on the list, %d lines skipped", *name, res.Added, res.Already, len(res.Skipped))
	if len(res.Skipped) > 0 {
		show := res.Skipped[:min(len(res.Skipped), 10)]
		fmt.Fprintf(e.stdout, " (lines %v", show)
		if len(res.Skipped) > 10 {
			fmt.Fprint(e.stdout, " …")
		}
		fmt.Fprint(e.stdout, ": not a member id)")
	}
	fmt.Fprintln(e.stdout)
	return nil
}
