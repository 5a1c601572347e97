package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"go.uber.org/zap/zapcore"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/flows/checkin"
)

// cmdPoints: qunbot points export --group G [-c config] [-o file.csv]
func cmdPoints(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "export" {
		return errors.New("usage: qunbot points export --group <platform:chat-id> [-c config] [-o file.csv]")
	}
	fs := flag.NewFlagSet("points export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "configs/qunbot.yaml", "config file")
	group := fs.String("group", "", "group key, e.g. telegram:-1001234567890")
	out := fs.String("o", "", "output file (default stdout)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *group == "" {
		return errors.New("--group is required, e.g. --group telegram:-1001234567890")
	}
	a, err := exportApp(ctx, *path, e)
	if err != nil {
		return err
	}
	defer a.close()
	w, done, err := exportWriter(*out, e.stdout)
	if err != nil {
		return fmt.Errorf("points export: %w", err)
	}
	defer done()
	loc := a.engine.Config().Group(*group).Location
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "member", "name", "delta", "reason", "balance", "entry"})
	names := map[string]string{}
	n := 0
	err = checkin.NewLedger(a.store, *group, 0).Entries(ctx, func(en checkin.Entry) error {
		name, ok := names[en.Member]
		if !ok {
			m, err := a.store.Member(ctx, *group, en.Member)
			if err != nil {
				return err
			}
			name, names[en.Member] = m.Name, m.Name
		}
		n++
		return cw.Write([]string{en.At.In(loc).Format("2006-01-02T15:04:05Z07:00"), en.Member, name,
			strconv.FormatInt(en.Delta, 10), en.Reason, strconv.FormatInt(en.Balance, 10), en.ID})
	})
	cw.Flush()
	if err != nil {
		return fmt.Errorf("points export: %w", err)
	}
	if err := cw.Error(); err != nil {
		return fmt.Errorf("points export: %w", err)
	}
	fmt.Fprintf(e.stderr, "exported %d ledger entries of %s\n", n, *group)
	return nil
}

// exportApp opens the config's store for an export: the embedded store
// has nothing to export.
func exportApp(ctx context.Context, path string, e env) (*app, error) {
	a, err := newApp(ctx, path, e, humanLogger(e.stderr, zapcore.WarnLevel), bot.SystemClock{})
	if err != nil {
		return nil, err
	}
	if a.conn.Embedded {
		a.close()
		return nil, errors.New("no Redis configured: the embedded store is empty; set redis.url or QUNBOT_REDIS_URL")
	}
	return a, nil
}

// exportWriter is the file -o names, or stdout; done closes the file.
func exportWriter(out string, stdout io.Writer) (w io.Writer, done func(), err error) {
	if out == "" {
		return stdout, func() {}, nil
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}
