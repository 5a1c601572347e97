package adfilter

import (
	"math/rand/v2"
	"strings"
)

// ReadSamples reads a file of messages, one per line, blank lines and
// comments ("# " and what follows) skipped: the form of
// classifier.spam/ham and of eval's files. A line that starts with a
// hashtag ("#вакансия Требуются...", "#ad") is a message: much Telegram
// spam starts with one, and skipping it would train and score without
// it, unseen.
func ReadSamples(path string) ([]string, error) {
	var out []string
	err := readLines(path, func(line string) error {
		out = append(out, line)
		return nil
	}, func(line string) bool {
		return line == "#" || strings.HasPrefix(line, "# ") || strings.HasPrefix(line, "#\t")
	})
	return out, err
}

// Folds splits texts into k folds by a fixed shuffle of the seed. It is
// exported so that programs outside qunbot (the tg-spam comparison in
// scripts/tgspam-compare) score exactly the folds `adfilter eval` scores.
func Folds(texts []string, k int, seed uint64) [][]string {
	out := make([][]string, k)
	for f, idx := range FoldIndex(len(texts), k, seed) {
		for _, i := range idx {
			out[f] = append(out[f], texts[i])
		}
	}
	return out
}

// FoldIndex is Folds of n messages as their indices.
func FoldIndex(n, k int, seed uint64) [][]int {
	idx := rand.New(rand.NewPCG(seed, 42)).Perm(n)
	out := make([][]int, k)
	for pos, i := range idx {
		out[pos%k] = append(out[pos%k], i)
	}
	return out
}

// Fold seeds: spam and ham are shuffled apart so each fold keeps the
// classes' ratio.
const (
	SpamFoldSeed = 1
	HamFoldSeed  = 2
)
