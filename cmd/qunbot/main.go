// Command qunbot runs community groups on Telegram and WeCom.
//
//	qunbot run      -c configs/qunbot.yaml
//	qunbot console  -c configs/example.yaml [--now RFC3339] [--json]
//	qunbot validate -c configs/qunbot.yaml
//	qunbot version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `qunbot runs community groups (社群运营) on Telegram and WeCom.

usage:
  qunbot run      -c configs/qunbot.yaml     run every adapter the config enables
  qunbot console  -c configs/example.yaml    a simulated group in the terminal
                  [--now 2026-01-05T09:00:00+08:00] [--json]
  qunbot demo     [-members 500] [-days 90] [-listen 127.0.0.1:8080]   a simulated community, then its dashboard
  qunbot validate -c configs/qunbot.yaml     check a config: exit 0, or file:line:col: message and exit 1
  qunbot points export --group G [-c config] [-o file.csv]   a group's points ledger as CSV
  qunbot kpi --group G [--from D] [--to D] [--format csv|json] [-c config] [-o file]   a group's daily figures
  qunbot adfilter eval --spam FILE --ham FILE [-c config]   precision, recall, F1 and false positives of the ad filter
  qunbot fban import FILE --federation NAME [--platform telegram]   add a list of ids (e.g. CAS) to a federation's bans
  qunbot fban export --federation NAME [-o file.csv]   a federation's ban list as CSV
  qunbot lottery verify --seed S --entries FILE --winners K [--commit C]   check a published lottery draw
  qunbot forget --member ID (--group G | --platform P) [-c config]   erase what qunbot keeps about a member
  qunbot member-data --member ID (--group G | --platform P) [-c config] [-o file.json]   what qunbot keeps about a member
  qunbot wecom welcome-template [-c config] [--group G]   the customer-group welcome template from the welcome text
  qunbot version

environment:
  QUNBOT_REDIS_URL     Redis URL, overrides redis.url (neither: an embedded in-process store)
  QUNBOT_REDIS_PREFIX  key prefix, overrides redis.prefix
`

// env is what the commands read from the environment; tests pass their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(runCLI(ctx, os.Args[1:], e))
}

func runCLI(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], e)
	case "demo":
		err = cmdDemo(ctx, args[1:], e)
	case "console":
		err = cmdConsole(ctx, args[1:], e)
	case "validate":
		return cmdValidate(args[1:], e)
	case "kpi":
		err = cmdKPI(ctx, args[1:], e)
	case "points":
		err = cmdPoints(ctx, args[1:], e)
	case "adfilter":
		err = cmdAdfilter(args[1:], e)
	case "wecom":
		err = cmdWeCom(ctx, args[1:], e)
	case "fban":
		err = cmdFban(ctx, args[1:], e)
	case "lottery":
		err = cmdLottery(args[1:], e)
	case "forget":
		err = cmdForget(ctx, args[1:], e)
	case "member-data":
		err = cmdMemberData(ctx, args[1:], e)
	case "version", "--version", "-v":
		fmt.Fprintln(e.stdout, versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.stderr, "qunbot: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "qunbot %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
