package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/flows/adfilter"
)

const adfilterUsage = `usage: qunbot adfilter eval --spam FILE --ham FILE [-c config] [--group G]
                        [--folds K | --train-spam FILE --train-ham FILE] [--target-precision P] [--max-fp N] [--show N] [--scores FILE]
       qunbot adfilter train --spam FILE --ham FILE [-c config] [--group G] [-o model]
--spam, --ham, --train-spam and --train-ham may each be given more than once`

// cmdAdfilter: eval scores labelled messages (one per line) with a
// group's filter and prints precision, recall, F1, false positives per
// 1,000 ham and a table by threshold; with --folds K the classifier is
// trained on K-1 folds and scores the held-out one, K times; with
// --train-spam/--train-ham it is trained on those and scores the others.
// train fits the classifier to the files and reports how long it took.
func cmdAdfilter(args []string, e env) error {
	if len(args) == 0 || (args[0] != "eval" && args[0] != "train") {
		return errors.New(adfilterUsage)
	}
	fs := flag.NewFlagSet("adfilter "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("c", "", "config file (default: the ad filter's built-in defaults, with a classifier)")
	group := fs.String("group", "", "score with this group's settings (default: the defaults under flows:)")
	var spamFiles, hamFiles, trainSpam, trainHam fileList
	fs.Var(&spamFiles, "spam", "file of spam messages, one per line (repeat for more files)")
	fs.Var(&hamFiles, "ham", "file of messages that are not spam, one per line (repeat for more files)")
	folds := fs.Int("folds", 0, "K-fold cross-validation: train on K-1 folds, score the held-out one")
	fs.Var(&trainSpam, "train-spam", "train the classifier on this spam file (with --train-ham; repeat for more)")
	fs.Var(&trainHam, "train-ham", "train the classifier on this ham file (with --train-spam; repeat for more)")
	target := fs.Float64("target-precision", 0.99, "report the lowest threshold reaching this precision")
	maxFP := fs.Float64("max-fp", 10, "report the model's best F1 at no more than this many false positives per 1,000 ham, over every P(spam) cut")
	outFile := fs.String("o", "", "train: write the model here (load it with classifier.file)")
	show := fs.Int("show", 20, "eval: list at most this many false positives and missed spam each (0: none)")
	scoresFile := fs.String("scores", "", "eval: write every message's fold, P(spam), score and decision here (tab-separated)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if len(spamFiles) == 0 || len(hamFiles) == 0 || (len(trainSpam) == 0) != (len(trainHam) == 0) || *folds == 1 || *folds < 0 || *maxFP < 0 || *show < 0 {
		return errors.New(adfilterUsage)
	}
	sc, threshold, err := adfilterScorer(*path, *group)
	if err != nil {
		return err
	}
	spamSet, err := readSets(spamFiles)
	if err != nil {
		return err
	}
	hamSet, err := readSets(hamFiles)
	if err != nil {
		return err
	}
	spam, ham := spamSet.texts, hamSet.texts
	w := e.stdout
	if args[0] == "train" {
		start := time.Now()
		m := sc.Train(spam, ham)
		took := time.Since(start)
		res := scoreAll(sc, m, spamSet, hamSet)
		fmt.Fprintf(w, "trained on %d spam and %d ham in %s\n", len(spam), len(ham), took.Round(time.Millisecond))
		fmt.Fprintln(w, sureLine(sc, m))
		if *outFile != "" {
			if err := writeModel(*outFile, m); err != nil {
				return err
			}
			fmt.Fprintf(w, "model written to %s (load it with classifier: { file: %s })\n", *outFile, *outFile)
		}
		fmt.Fprintln(w, "on the training messages themselves (flatters; use eval --folds for a fair figure):")
		printEval(w, res, threshold, *target, *maxFP, 0)
		return nil
	}
	var res []scored
	switch {
	case *folds > 1:
		res = crossValidate(w, sc, spamSet, hamSet, *folds)
	case len(trainSpam) > 0:
		var ts, th sampleSet
		if ts, err = readSets(trainSpam); err == nil {
			th, err = readSets(trainHam)
		}
		if err == nil {
			m := sc.Train(ts.texts, th.texts)
			res = scoreAll(sc, m, spamSet, hamSet)
		}
	default:
		res = scoreAll(sc, nil, spamSet, hamSet)
	}
	if err != nil {
		return err
	}
	if *scoresFile != "" {
		if err := writeScores(*scoresFile, res, threshold, spamFiles, hamFiles); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "spam %d, ham %d\n", len(spam), len(ham))
	printEval(w, res, threshold, *target, *maxFP, *show)
	if len(spamFiles) > 1 || len(hamFiles) > 1 {
		printByFile(w, res, threshold, *maxFP, spamFiles, hamFiles)
	}
	return nil
}

// fileList is a flag given once per file.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ",") }

func (l *fileList) Set(v string) error {
	if v == "" {
		return errors.New("empty file name")
	}
	*l = append(*l, v)
	return nil
}

// sampleSet is the messages of one or more sample files, each message
// with the index of its file, so results can be told apart by file.
type sampleSet struct {
	texts []string
	file  []int
	nth   []int // the message's number in its file, from 1
}

func readSets(files []string) (sampleSet, error) {
	var s sampleSet
	for i, f := range files {
		texts, err := adfilter.ReadSamples(f)
		if err != nil {
			return s, err
		}
		s.texts = append(s.texts, texts...)
		for j := range texts {
			s.file, s.nth = append(s.file, i), append(s.nth, j+1)
		}
	}
	return s, nil
}

// pick is the messages (and their files) at idx.
func (s sampleSet) pick(idx []int) sampleSet {
	out := sampleSet{texts: make([]string, len(idx)), file: make([]int, len(idx)), nth: make([]int, len(idx))}
	for j, i := range idx {
		out.texts[j], out.file[j], out.nth[j] = s.texts[i], s.file[i], s.nth[i]
	}
	return out
}

// printByFile breaks the figures at threshold down by sample file: what
// share of each spam file is caught, how many of each ham file's
// messages in 1,000 are removed, and, where the spam and ham files pair
// up (as many of each), each pair's precision, recall and F1 — how one
// model trained on several sources does on each.
func printByFile(w io.Writer, res []scored, threshold, maxFP float64, spamFiles, hamFiles []string) {
	type tally struct{ hit, n int }
	spam, ham := make([]tally, len(spamFiles)), make([]tally, len(hamFiles))
	for _, r := range res {
		tallies := ham
		if r.spam {
			tallies = spam
		}
		t := &tallies[r.file]
		t.n++
		if r.v.Score >= threshold {
			t.hit++
		}
	}
	fmt.Fprintln(w, "by file:")
	for i, f := range spamFiles {
		fmt.Fprintf(w, "  spam %s: caught %d of %d (recall %.4f)\n", f, spam[i].hit, spam[i].n, ratio(spam[i].hit, spam[i].n))
	}
	for i, f := range hamFiles {
		fmt.Fprintf(w, "  ham  %s: flagged %d of %d (%.1f per 1,000)\n", f, ham[i].hit, ham[i].n, 1000*ratio(ham[i].hit, ham[i].n))
	}
	if len(spamFiles) != len(hamFiles) {
		return
	}
	for i := range spamFiles {
		tp, fp := spam[i].hit, ham[i].hit
		p, r := ratio(tp, tp+fp), ratio(tp, spam[i].n)
		f1 := 0.0
		if p+r > 0 {
			f1 = 2 * p * r / (p + r)
		}
		rank := ""
		var pair []scored
		for _, x := range res {
			if x.file == i {
				pair = append(pair, x)
			}
		}
		if rf1, _, ok := rankingF1(pair, maxFP); ok {
			rank = fmt.Sprintf("; the model's ranking alone %.4f", rf1)
		}
		fmt.Fprintf(w, "  pair %d (%s, %s): precision %.4f  recall %.4f  F1 %.4f%s\n", i+1, spamFiles[i], hamFiles[i], p, r, f1, rank)
	}
}

// adfilterScorer compiles a group's ad filter from a config, or the
// defaults with a classifier.
func adfilterScorer(path, group string) (*adfilter.Scorer, float64, error) {
	schema := schemaOf(flows.Builtin())
	var cfg *config.Config
	var err error
	if path != "" {
		cfg, err = config.Load(path, schema)
	} else {
		cfg, err = config.Parse("defaults.yaml", []byte("flows:\n  adfilter: { classifier: {} }\n"), schema)
	}
	if err != nil {
		return nil, 0, err
	}
	g := cfg.Default
	if group != "" {
		g = cfg.Group(group)
	}
	c, ok := g.Flow("adfilter")
	if !ok {
		return nil, 0, errors.New("the config does not enable adfilter (add flows: adfilter: ...)")
	}
	ac := c.(*adfilter.Config)
	return ac.Scorer(), ac.Threshold, nil
}

type scored struct {
	v    adfilter.Verdict
	text string
	spam bool
	file int // which of the spam or ham files it came from
	nth  int // its number in that file
	fold int // the fold that scored it (cross-validation), from 1; else 0
}

func scoreAll(sc *adfilter.Scorer, m *adfilter.Model, spam, ham sampleSet) []scored {
	out := make([]scored, 0, len(spam.texts)+len(ham.texts))
	for _, set := range []struct {
		s    sampleSet
		spam bool
	}{{spam, true}, {ham, false}} {
		for i, t := range set.s.texts {
			out = append(out, scored{v: sc.Score(adfilter.Input{Text: t}, m), text: t, spam: set.spam, file: set.s.file[i], nth: set.s.nth[i]})
		}
	}
	return out
}

// sureLine says from which P(spam) a trained model decides alone.
func sureLine(sc *adfilter.Scorer, m *adfilter.Model) string {
	c := sc.Config().Classifier
	if c != nil && c.Sure != 0 {
		return fmt.Sprintf("the model decides alone from P(spam) %.3g (classifier.sure)", c.Sure)
	}
	return fmt.Sprintf("the model decides alone from P(spam) %.3f (learned for max_false_positives %g per 1,000; messages under 12 characters: %.3f)",
		m.Sure(), c.MaxFalsePositives, 1-(1-m.Sure())/2)
}

// crossValidate splits each class into k folds (a fixed shuffle), trains
// on k-1 and scores the held-out fold, k times.
func crossValidate(w io.Writer, sc *adfilter.Scorer, spam, ham sampleSet, k int) []scored {
	sf := adfilter.FoldIndex(len(spam.texts), k, adfilter.SpamFoldSeed)
	hf := adfilter.FoldIndex(len(ham.texts), k, adfilter.HamFoldSeed)
	var res []scored
	var took time.Duration
	var sures []string
	for f := range k {
		var ts, th []int
		for g := range k {
			if g != f {
				ts = append(ts, sf[g]...)
				th = append(th, hf[g]...)
			}
		}
		start := time.Now()
		m := sc.Train(spam.pick(ts).texts, ham.pick(th).texts)
		took += time.Since(start)
		sures = append(sures, fmt.Sprintf("%.3f", m.Sure()))
		held := scoreAll(sc, m, spam.pick(sf[f]), ham.pick(hf[f]))
		for i := range held {
			held[i].fold = f + 1
		}
		res = append(res, held...)
	}
	fmt.Fprintf(w, "%d-fold cross-validation; training took %s per fold on average\n", k, (took / time.Duration(k)).Round(time.Millisecond))
	if c := sc.Config().Classifier; c != nil && c.Sure == 0 {
		fmt.Fprintf(w, "the model decides alone from P(spam) %s (learned per fold for max_false_positives %g per 1,000)\n", strings.Join(sures, ", "), c.MaxFalsePositives)
	}
	return res
}

// printEval prints the figures at the configured threshold, a table by
// threshold and the lowest threshold reaching the target precision;
// unless show is 0, up to show of the false positives and missed spam.
func printEval(w io.Writer, res []scored, threshold, target, maxFP float64, show int) {
	count := func(t float64) (tp, fn, fp, tn int) {
		for _, r := range res {
			switch hit := r.v.Score >= t; {
			case r.spam && hit:
				tp++
			case r.spam:
				fn++
			case hit:
				fp++
			default:
				tn++
			}
		}
		return
	}
	line := func(t float64) string {
		tp, fn, fp, tn := count(t)
		p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
		f1 := 0.0
		if p+r > 0 {
			f1 = 2 * p * r / (p + r)
		}
		return fmt.Sprintf("%9.2f  %9.4f  %6.4f  %6.4f  %8.1f", t, p, r, f1, 1000*ratio(fp, fp+tn))
	}
	tp, fn, fp, tn := count(threshold)
	p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
	f1 := 0.0
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	fmt.Fprintf(w, "caught %d of %d spam; flagged %d of %d ham\n", tp, tp+fn, fp, fp+tn)
	fmt.Fprintf(w, "precision %.4f  recall %.4f  F1 %.4f  false positives per 1,000 ham %.1f  (threshold %.2f)\n", p, r, f1, 1000*ratio(fp, fp+tn), threshold)
	fmt.Fprintln(w, "threshold  precision  recall      F1  FP/1000")
	for _, t := range []float64{0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0} {
		fmt.Fprintln(w, line(t*threshold))
	}
	best := math.NaN()
	for k := 1; k <= 100; k++ {
		t := float64(k) / 20
		tp, _, fp, _ := count(t * threshold)
		if tp > 0 && ratio(tp, tp+fp) >= target {
			best = t * threshold
			break
		}
	}
	if math.IsNaN(best) {
		fmt.Fprintf(w, "no threshold up to 5× reaches precision %.2f\n", target)
	} else {
		fmt.Fprintf(w, "lowest threshold reaching precision %.2f: %.2f (%s)\n", target, best, strings.TrimSpace(line(best)))
	}
	if f1, at, ok := rankingF1(res, maxFP); ok {
		all, _, _ := rankingF1(res, 1000)
		fmt.Fprintf(w, "the model's ranking alone: best F1 %.4f at ≤ %g false positives per 1,000 ham (cut at P(spam) %.3f), %.4f with no limit\n", f1, maxFP, at, all)
	}
	if show == 0 {
		return
	}
	var fps, fns []string
	for _, r := range res {
		hit := r.v.Score >= threshold
		if !r.spam && hit {
			fps = append(fps, fmt.Sprintf("  %.2f  %s   ← %s", r.v.Score, adfilter.Excerpt(r.text, 80), r.v.Summary()))
		}
		if r.spam && !hit {
			fns = append(fns, fmt.Sprintf("  %.2f  %s", r.v.Score, adfilter.Excerpt(r.text, 80)))
		}
	}
	for _, list := range []struct {
		name  string
		items []string
	}{{"false positives", fps}, {"missed spam", fns}} {
		fmt.Fprintf(w, "%s (%d):\n", list.name, len(list.items))
		for i, s := range list.items {
			if i == show {
				fmt.Fprintf(w, "  ... and %d more (--show N lists more)\n", len(list.items)-show)
				break
			}
			fmt.Fprintln(w, s)
		}
	}
}

// writeScores writes every scored message as a row of tab-separated
// values, for a spreadsheet or another tool to read (a comparison on the
// same folds, see scripts/adfilter-baseline.py): its label, file, number
// in the file, fold, P(spam) (-1 without a classifier), score, whether
// it would be removed, the signals, and the text.
func writeScores(path string, res []scored, threshold float64, spamFiles, hamFiles []string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("scores: %w", err)
	}
	cw := csv.NewWriter(f)
	cw.Comma = '\t'
	_ = cw.Write([]string{"label", "file", "message", "fold", "p", "score", "removed", "signals", "text"})
	for _, r := range res {
		label, file := "ham", hamFiles[r.file]
		if r.spam {
			label, file = "spam", spamFiles[r.file]
		}
		_ = cw.Write([]string{label, file, strconv.Itoa(r.nth), strconv.Itoa(r.fold), strconv.FormatFloat(r.v.P, 'f', 6, 64),
			strconv.FormatFloat(r.v.Score, 'f', 4, 64), strconv.FormatBool(r.v.Score >= threshold), r.v.Summary(), r.text})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return fmt.Errorf("scores %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("scores %s: %w", path, err)
	}
	return nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// writeModel writes a model file whole or not at all.
func writeModel(path string, m *adfilter.Model) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	if _, err := m.WriteTo(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write model: %w", err)
	}
	return os.Rename(tmp, path)
}

// rankingF1 is the best F1 any cut of the model's P(spam) reaches with at
// most maxFP false positives per 1,000 ham, and the cut: how well the
// model orders the messages, apart from the threshold training learned
// and the rules. It tells a threshold that is too careful (the learned
// decision well below this) from a model that cannot separate the two
// (both low). ok is false without a model.
func rankingF1(res []scored, maxFP float64) (f1, at float64, ok bool) {
	ps := make([]scored, 0, len(res))
	nspam, nham := 0, 0
	for _, r := range res {
		if r.v.P < 0 {
			return 0, 0, false
		}
		ps = append(ps, r)
		if r.spam {
			nspam++
		} else {
			nham++
		}
	}
	if nspam == 0 || nham == 0 {
		return 0, 0, false
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].v.P > ps[j].v.P })
	tp, fp := 0, 0
	for i, r := range ps {
		if r.spam {
			tp++
		} else {
			fp++
		}
		if i+1 < len(ps) && ps[i+1].v.P == r.v.P {
			continue // a cut takes every message of the same P
		}
		if 1000*float64(fp)/float64(nham) > maxFP {
			continue
		}
		if f := 2 * float64(tp) / float64(tp+fp+nspam); f > f1 {
			f1, at = f, r.v.P
		}
	}
	return f1, at, true
}
