package adfilter

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFolds(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{10, 5}, {11, 5}, {3, 5}, {85, 5}, {0, 2}} {
		t.Run(fmt.Sprintf("%d in %d", tc.n, tc.k), func(t *testing.T) {
			texts := make([]string, tc.n)
			for i := range texts {
				texts[i] = fmt.Sprint("m", i)
			}
			folds := Folds(texts, tc.k, SpamFoldSeed)
			if len(folds) != tc.k {
				t.Fatalf("%d folds, want %d", len(folds), tc.k)
			}
			var all []string
			for _, f := range folds {
				// sizes differ by at most one, so each fold keeps its share
				if len(f) < tc.n/tc.k || len(f) > tc.n/tc.k+1 {
					t.Errorf("a fold of %d from %d in %d", len(f), tc.n, tc.k)
				}
				all = append(all, f...)
			}
			slices.Sort(all)
			want := slices.Clone(texts)
			slices.Sort(want)
			if !slices.Equal(all, want) {
				t.Errorf("the folds do not hold each message once: %v", all)
			}
			// the same seed gives the same folds: eval and the tg-spam
			// comparison score the same messages
			if again := Folds(texts, tc.k, SpamFoldSeed); !slices.EqualFunc(again, folds, slices.Equal) {
				t.Error("the same seed gave other folds")
			}
		})
	}
	texts := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	if slices.EqualFunc(Folds(texts, 2, SpamFoldSeed), Folds(texts, 2, HamFoldSeed), slices.Equal) {
		t.Error("spam and ham seeds shuffle alike")
	}
}

func TestReadSamples(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.txt")
	// a hashtag starts a message, not a comment: much Telegram spam starts
	// with one
	data := "# comment\n  first  \n\nsecond\n#\n#\tcomment\n#вакансия Требуются сотрудники\r\n#ad free coins\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSamples(path)
	if want := []string{"first", "second", "#вакансия Требуются сотрудники", "#ad free coins"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("ReadSamples = %q, %v", got, err)
	}
	if _, err := ReadSamples(path + ".missing"); err == nil {
		t.Error("a missing file read without error")
	}
	// a byte-order mark before a comment: still a comment
	bom := filepath.Join(t.TempDir(), "bom.txt")
	if err := os.WriteFile(bom, []byte("\ufeff# spam from the group\r\nfirst\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadSamples(bom); err != nil || !slices.Equal(got, []string{"first"}) {
		t.Errorf("with a byte-order mark: %q, %v", got, err)
	}
	// a line over 1 MiB: an error naming the file and the line
	long := filepath.Join(t.TempDir(), "long.txt")
	if err := os.WriteFile(long, []byte("ok\n"+strings.Repeat("x", 2<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSamples(long); err == nil || !strings.Contains(err.Error(), "long.txt:2:") || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("a 2 MiB line: %v", err)
	}
}
