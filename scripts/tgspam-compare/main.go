//go:build ignore

// Command tgspam-compare scores umputun/tg-spam's detector on the folds
// `qunbot adfilter eval --folds K` scores, so the two can be set side by
// side (scripts/compare-tgspam.sh does that for every corpus). It is not
// part of qunbot: the build tag keeps it, and tg-spam, out of the module;
// the script builds it in a throwaway module of its own.
//
// Each fold trains a fresh tg-spam detector the way tg-spam loads its
// sample files (LoadSamples over the training messages, one per line),
// with tg-spam's command-line defaults: similarity 0.5, min-msg-len 50,
// max-emoji 2, min-probability 50, multi-lang off. --stop-words and
// --exclude-tokens add tg-spam's preset files when given.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/umputun/tg-spam/lib/spamcheck"
	"github.com/umputun/tg-spam/lib/tgspam"
)

func main() {
	spamFile := flag.String("spam", "", "spam messages, one per line")
	hamFile := flag.String("ham", "", "ham messages, one per line")
	k := flag.Int("folds", 5, "K-fold cross-validation, the folds of `qunbot adfilter eval --folds K`")
	stopWords := flag.String("stop-words", "", "tg-spam stop-words file (its data/stop-words.txt)")
	exclude := flag.String("exclude-tokens", "", "tg-spam exclude-tokens file (its data/exclude-tokens.txt)")
	similarity := flag.Float64("similarity", 0.5, "tg-spam --similarity-threshold")
	minLen := flag.Int("min-msg-len", 50, "tg-spam --min-msg-len")
	maxEmoji := flag.Int("max-emoji", 2, "tg-spam --max-emoji (-1: off)")
	minProb := flag.Float64("min-probability", 50, "tg-spam --min-probability")
	flag.Parse()
	if *spamFile == "" || *hamFile == "" || *k < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run main.go --spam FILE --ham FILE [--folds K] [--stop-words F] [--exclude-tokens F]")
		os.Exit(2)
	}
	if err := run(*spamFile, *hamFile, *k, *stopWords, *exclude, tgspam.Config{
		SimilarityThreshold: *similarity, MinMsgLen: *minLen, MaxAllowedEmoji: *maxEmoji, MinSpamProbability: *minProb,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "tgspam-compare:", err)
		os.Exit(1)
	}
}

func run(spamFile, hamFile string, k int, stopFile, exclFile string, cfg tgspam.Config) error {
	spam, err := adfilter.ReadSamples(spamFile)
	if err != nil {
		return err
	}
	ham, err := adfilter.ReadSamples(hamFile)
	if err != nil {
		return err
	}
	optional := func(path string) (string, error) {
		if path == "" {
			return "", nil
		}
		b, err := os.ReadFile(path)
		return string(b), err
	}
	stop, err := optional(stopFile)
	if err != nil {
		return err
	}
	excl, err := optional(exclFile)
	if err != nil {
		return err
	}
	sf, hf := adfilter.Folds(spam, k, adfilter.SpamFoldSeed), adfilter.Folds(ham, k, adfilter.HamFoldSeed)
	var tp, fn, fp, tn int
	fired := map[string]int{} // which check flagged the ham it flagged
	for f := range k {
		var ts, th []string
		for g := range k {
			if g != f {
				ts = append(ts, sf[g]...)
				th = append(th, hf[g]...)
			}
		}
		d := tgspam.NewDetector(cfg)
		if _, err := d.LoadSamples(strings.NewReader(excl),
			[]io.Reader{strings.NewReader(strings.Join(ts, "\n"))},
			[]io.Reader{strings.NewReader(strings.Join(th, "\n"))}); err != nil {
			return fmt.Errorf("fold %d: load samples: %w", f, err)
		}
		if stop != "" {
			if _, err := d.LoadStopWords(strings.NewReader(stop)); err != nil {
				return fmt.Errorf("fold %d: load stop words: %w", f, err)
			}
		}
		for _, m := range sf[f] {
			if isSpam, _ := d.Check(spamcheck.Request{Msg: m}); isSpam {
				tp++
			} else {
				fn++
			}
		}
		for _, m := range hf[f] {
			isSpam, cr := d.Check(spamcheck.Request{Msg: m})
			if !isSpam {
				tn++
				continue
			}
			fp++
			for _, r := range cr {
				if r.Spam {
					fired[r.Name]++
				}
			}
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
	f1 := 0.0
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	fmt.Printf("tg-spam %d-fold: caught %d of %d spam; flagged %d of %d ham\n", k, tp, tp+fn, fp, fp+tn)
	fmt.Printf("precision %.4f  recall %.4f  F1 %.4f  false positives per 1,000 ham %.1f\n", p, r, f1, 1000*ratio(fp, fp+tn))
	names := make([]string, 0, len(fired))
	for n := range fired {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("  ham flagged by %s: %d\n", n, fired[n])
	}
	return nil
}
