package config_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot/config"
)

// A good edit is applied; a bad edit is rejected with every problem and the
// last good config stays; SIGHUP's Reload re-reads on demand.
func TestWatcherHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "qunbot.yaml")
	write := func(s string) {
		// write-then-rename, as editors and ConfigMaps do
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write("locale: zh-CN\n")
	changes := make(chan *config.Config, 10)
	errs := make(chan error, 10)
	w := config.NewWatcher(path, schema(), func(c *config.Config) { changes <- c }, func(err error) { errs <- err })
	w.Debounce = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(100 * time.Millisecond) // let the watch start

	write("locale: en\n")
	select {
	case c := <-changes:
		if c.Locale != "en" {
			t.Fatalf("reloaded locale = %s", c.Locale)
		}
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no reload after a file change")
	}

	write("locale: fr\ncolour: blue\n")
	select {
	case c := <-changes:
		t.Fatalf("bad config applied: %+v", c)
	case err := <-errs:
		for _, want := range []string{"qunbot.yaml:1:9: locale \"fr\"", "qunbot.yaml:2:1: unknown key \"colour\""} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("rejection lacks %q: %v", want, err)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bad edit neither applied nor rejected")
	}

	write("locale: zh-CN\n")
	<-changes
	w.Reload()
	select {
	case c := <-changes:
		if c.Locale != "zh-CN" {
			t.Fatalf("locale = %s", c.Locale)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Reload did not reload")
	}
}
