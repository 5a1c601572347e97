package config

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher reloads a config file when it changes on disk and on demand
// (SIGHUP). A config with problems is rejected as a whole: OnError gets
// every problem and the last good config stays in force.
type Watcher struct {
	Path     string
	Schema   Schema
	OnChange func(*Config)
	OnError  func(error)
	// Debounce groups the several events one save produces (default 200ms).
	Debounce time.Duration

	reload chan struct{}
}

// Reload asks the watcher to reload now (the SIGHUP path).
func (w *Watcher) Reload() {
	select {
	case w.reload <- struct{}{}:
	default:
	}
}

// Run watches until ctx ends. It watches the file's directory, not the
// file: editors and Kubernetes ConfigMaps replace files by rename, which
// ends a watch on the old inode.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Debounce <= 0 {
		w.Debounce = 200 * time.Millisecond
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch config: %w", err)
	}
	defer fw.Close()
	abs, err := filepath.Abs(w.Path)
	if err != nil {
		return fmt.Errorf("watch config %s: %w", w.Path, err)
	}
	if err := fw.Add(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("watch config directory of %s: %w", w.Path, err)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-fw.Events:
			if filepath.Clean(ev.Name) == abs && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
				timer.Reset(w.Debounce)
			}
		case err := <-fw.Errors:
			w.OnError(fmt.Errorf("watch config: %w", err))
		case <-timer.C:
			w.load()
		case <-w.reloadCh():
			w.load()
		}
	}
}

func (w *Watcher) reloadCh() chan struct{} {
	if w.reload == nil {
		w.reload = make(chan struct{}, 1)
	}
	return w.reload
}

func (w *Watcher) load() {
	cfg, err := Load(w.Path, w.Schema)
	if err != nil {
		w.OnError(err)
		return
	}
	w.OnChange(cfg)
}

// NewWatcher returns a watcher ready for Reload before Run starts.
func NewWatcher(path string, schema Schema, onChange func(*Config), onError func(error)) *Watcher {
	return &Watcher{Path: path, Schema: schema, OnChange: onChange, OnError: onError, reload: make(chan struct{}, 1)}
}
