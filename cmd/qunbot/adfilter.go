package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/flows/adfilter"
)

const adfilterUsage = "usage: qunbot adfilter eval --spam FILE --ham FILE [-c config] [--group G]"

// cmdAdfilter: qunbot adfilter eval --spam FILE --ham FILE [-c config]
// scores labelled messages (one per line) with a group's filter rules and
// prints precision, recall, F1 and the false positives.
func cmdAdfilter(args []string, e env) error {
	if len(args) == 0 || args[0] != "eval" {
		return errors.New(adfilterUsage)
	}
	fs := flag.NewFlagSet("adfilter eval", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "", "config file (default: the ad filter's built-in defaults)")
	group := fs.String("group", "", "score with this group's settings (default: the defaults under flows:)")
	spamFile := fs.String("spam", "", "file of spam messages, one per line")
	hamFile := fs.String("ham", "", "file of messages that are not spam, one per line")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *spamFile == "" || *hamFile == "" {
		return errors.New(adfilterUsage)
	}
	schema := schemaOf(flows.Builtin())
	var cfg *config.Config
	var err error
	if *path != "" {
		cfg, err = config.Load(*path, schema)
	} else {
		cfg, err = config.Parse("defaults.yaml", []byte("flows:\n  adfilter: {}\n"), schema)
	}
	if err != nil {
		return err
	}
	g := cfg.Default
	if *group != "" {
		g = cfg.Group(*group)
	}
	c, ok := g.Flow("adfilter")
	if !ok {
		return errors.New("the config does not enable adfilter (add flows: adfilter: ...)")
	}
	sc := c.(*adfilter.Config).Scorer()
	spam, err := readMessages(*spamFile)
	if err != nil {
		return err
	}
	ham, err := readMessages(*hamFile)
	if err != nil {
		return err
	}
	var tp, fn, fp, tn int
	var fps, fns []string
	for _, m := range spam {
		if v := sc.Score(adfilter.Input{Text: m}, nil); v.Spam() {
			tp++
		} else {
			fn++
			fns = append(fns, fmt.Sprintf("  %.2f  %s", v.Score, m))
		}
	}
	for _, m := range ham {
		if v := sc.Score(adfilter.Input{Text: m}, nil); v.Spam() {
			fp++
			fps = append(fps, fmt.Sprintf("  %.2f  %s   ← %s", v.Score, m, v.Summary()))
		} else {
			tn++
		}
	}
	precision := ratio(tp, tp+fp)
	recall := ratio(tp, tp+fn)
	f1 := 0.0
	if precision+recall > 0 {
		f1 = 2 * precision * recall / (precision + recall)
	}
	w := e.stdout
	fmt.Fprintf(w, "spam %d, ham %d\n", len(spam), len(ham))
	fmt.Fprintf(w, "caught %d of %d spam; flagged %d of %d ham\n", tp, len(spam), fp, len(ham))
	fmt.Fprintf(w, "precision %.4f  recall %.4f  F1 %.4f\n", precision, recall, f1)
	fmt.Fprintf(w, "false positives (%d):\n", fp)
	for _, s := range fps {
		fmt.Fprintln(w, s)
	}
	fmt.Fprintf(w, "missed spam (%d):\n", fn)
	for i, s := range fns {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more\n", len(fns)-20)
			break
		}
		fmt.Fprintln(w, s)
	}
	return nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func readMessages(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}
