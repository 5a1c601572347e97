// Package platform is how a platform plugs into qunbot, the counterpart of
// a flow's registration: a name, its own config section, the grammar of its
// chat keys, how to open its adapter, and optional HTTP routes. The core
// names no platform; adapters/ lists the built-in ones.
package platform

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/state"
)

// Deps is what qunbot hands a platform when it opens the adapter.
type Deps struct {
	Store *state.Store
	Log   *zap.Logger
	Clock bot.Clock
	// Config is the whole loaded config (a platform may need a group's
	// time zone or locale).
	Config *config.Config
	// Stdin, Stdout and Stderr are the process's, for a platform that
	// lives in the terminal (the console).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Settle waits until the bot has carried out what it was handed, and
	// AdvanceTo moves a simulated clock to t, running the work due on the
	// way: for a platform that simulates a group and its time.
	Settle    func(ctx context.Context) error
	AdvanceTo func(ctx context.Context, t time.Time) error
}

// Platform registers one platform.
type Platform struct {
	// Name is the prefix of the platform's chat keys ("telegram") and its
	// key under adapters: in the config.
	Name string
	// Config returns a pointer to the platform's config section filled with
	// its defaults; it may implement config.Defaulter and config.Validator,
	// so problems are reported with file:line:col like a flow's.
	Config func() any
	// ValidChat checks a chat id, the part of a chat key after "name:".
	ValidChat func(id string) error
	// Open builds the adapter from the section Config made (decoded).
	Open func(ctx context.Context, conf any, deps Deps) (bot.Adapter, error)
	// Limits returns the outbox's rate limits from the decoded section.
	Limits func(conf any) config.Limits
	// Fallback marks the platform that serves when no platform is
	// configured (the console), so `run` is useful for trying a config.
	Fallback bool
}

// Router is implemented by adapters that serve HTTP (webhooks,
// callbacks): patterns as http.ServeMux takes them, e.g. "POST /telegram".
type Router interface {
	Routes() map[string]http.Handler
}

// Health is implemented by adapters that can tell whether they are
// connected; /readyz reports the error with the adapter's name.
type Health interface {
	Health() error
}

// Schemas returns the config schemas of the platforms, for config.Load.
func Schemas(ps []Platform) map[string]config.PlatformSchema {
	out := make(map[string]config.PlatformSchema, len(ps))
	for _, p := range ps {
		out[p.Name] = config.PlatformSchema{New: p.Config, ValidChat: p.ValidChat}
	}
	return out
}

// Find returns the platform with the name.
func Find(ps []Platform, name string) (Platform, error) {
	for _, p := range ps {
		if p.Name == name {
			return p, nil
		}
	}
	return Platform{}, fmt.Errorf("no platform %q", name)
}
