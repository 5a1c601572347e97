package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CAS-style list is imported, then exported as CSV.
func TestFbanImportExport(t *testing.T) {
	e, out, errs := testEnv(t, "")
	cfg := filepath.Join(repoRoot, "testdata/transcripts/notes.yaml")
	list := filepath.Join(t.TempDir(), "cas.csv")
	if err := os.WriteFile(list, []byte("user_id\n111\n222\nbad line\n111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := runCLI(context.Background(), []string{"fban", "import", list, "--federation", "brand", "-c", cfg}, e); code != 0 {
		t.Fatalf("import exit %d: %s", code, errs)
	}
	if got := out.String(); !strings.Contains(got, "2 added, 1 already on the list, 2 lines skipped (lines [1 4]") {
		t.Errorf("import said %q", got)
	}
	out.Reset()
	if code := runCLI(context.Background(), []string{"fban", "export", "--federation", "brand", "-c", cfg}, e); code != 0 {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	if got := out.String(); !strings.HasPrefix(got, "platform,id,by,reason,group,at\ntelegram,111,import,imported list,,") || !strings.Contains(got, "\ntelegram,222,") {
		t.Errorf("export:\n%s", got)
	}
	for _, args := range [][]string{{"fban"}, {"fban", "import", "--federation", "brand"}, {"fban", "export"}} {
		errs.Reset()
		if code := runCLI(context.Background(), append(args, "-c", cfg), e); code != 1 {
			t.Errorf("%v: exit %d (%s)", args, code, errs)
		}
	}
}
