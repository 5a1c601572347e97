package bottest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// CorpusLines reads up to n non-empty lines of a real corpus file under
// ../shared/corpora beside the checkout (e.g. "adfilter/cn-chat/ham.txt"),
// in place: third-party data is never copied into the project. Without
// it the benchmark or test fails and says where it belongs.
func CorpusLines(tb testing.TB, rel string, n int) []string {
	tb.Helper()
	_, here, _, _ := runtime.Caller(0) // bot/bottest/corpus.go
	path := filepath.Join(filepath.Dir(here), "..", "..", "..", "shared", "corpora", filepath.FromSlash(rel))
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("the corpus is needed (../shared/corpora beside the checkout): %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(out) < n {
		if t := sc.Text(); t != "" {
			out = append(out, t)
		}
	}
	return out
}
