package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/qunbot/qunbot/bot/kpi"
)

// cmdKPI: qunbot kpi --group G [--from D] [--to D] [--format csv|json] [-c config] [-o file]
func cmdKPI(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("kpi", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	group := fs.String("group", "", "group key, e.g. telegram:-1001234567890")
	from := fs.String("from", "", "first day, 2006-01-02 (default: 30 days before --to)")
	to := fs.String("to", "", "last day, 2006-01-02 (default: today in the group's zone)")
	format := fs.String("format", "csv", "csv or json")
	out := fs.String("o", "", "output file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *group == "" {
		return errors.New("--group is required, e.g. --group telegram:-1001234567890")
	}
	if *format != "csv" && *format != "json" {
		return fmt.Errorf("--format %q: give csv or json", *format)
	}
	a, err := exportApp(ctx, *path, e)
	if err != nil {
		return err
	}
	defer a.close()
	now := time.Now().In(a.engine.Config().Group(*group).Location)
	if *to == "" {
		*to = now.Format("2006-01-02")
	}
	if *from == "" {
		t, err := time.Parse("2006-01-02", *to)
		if err != nil {
			return fmt.Errorf("--to %q: write a day as 2006-01-02", *to)
		}
		*from = t.AddDate(0, 0, -29).Format("2006-01-02")
	}
	days, err := kpi.Read(ctx, a.store, *group, *from, *to, now)
	if err != nil {
		return err
	}
	w, done, err := exportWriter(*out, e.stdout)
	if err != nil {
		return fmt.Errorf("kpi: %w", err)
	}
	defer done()
	if *format == "json" {
		err = kpi.WriteJSON(w, days)
	} else {
		err = kpi.WriteCSV(w, days)
	}
	if err != nil {
		return fmt.Errorf("kpi: %w", err)
	}
	fmt.Fprintf(e.stderr, "%d days of %s (%s to %s)\n", len(days), *group, *from, *to)
	return nil
}
