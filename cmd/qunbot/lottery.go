package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/qunbot/qunbot/flows/lottery"
)

// cmdLottery checks a published draw: the seed against its commitment,
// and the winners from the seed and the entries (see flows/lottery).
func cmdLottery(args []string, e env) error {
	if len(args) == 0 || args[0] != "verify" {
		return errors.New("usage: qunbot lottery verify --seed HEX --entries FILE --winners K [--commit HEX] [--picks N]")
	}
	fs := flag.NewFlagSet("lottery verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	seed := fs.String("seed", "", "the seed published with the draw")
	commit := fs.String("commit", "", "the SHA-256 published when the lottery opened")
	file := fs.String("entries", "", "the entries published with the draw, one member id a line")
	k := fs.Int("winners", 1, "how many winners were drawn")
	picks := fs.Int("picks", 0, "how many picks to show (re-draws follow the winners; default: the winners)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *seed == "" || *file == "" {
		return errors.New("give --seed and --entries")
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	var entries []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			entries = append(entries, id)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if *commit != "" {
		if got := lottery.Commit(*seed); got != strings.ToLower(*commit) {
			return fmt.Errorf("the seed does not match the commitment: SHA-256(seed) = %s, published %s", got, *commit)
		}
		fmt.Fprintln(e.stdout, "commitment: ok (SHA-256 of the seed is the one published at the opening)")
	}
	n := max(*k, *picks)
	for i, id := range lottery.Picks(*seed, entries, n) {
		what := "winner"
		if i >= *k {
			what = "re-draw"
		}
		fmt.Fprintf(e.stdout, "%d\t%s\t%s\n", i+1, id, what)
	}
	return nil
}
