package state

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options selects a Redis deployment: a URL (one node), or Addrs (a
// Cluster, or Sentinel with MasterName).
type Options struct {
	URL        string
	Addrs      []string
	MasterName string
	Password   string
}

// Conn is an open store connection.
type Conn struct {
	Client redis.UniversalClient
	// Embedded marks an in-process store (see bot/state/embedded), whose
	// state is lost on exit.
	Embedded bool
	// Addr is where the store listens, with any password removed, for logs.
	Addr string
}

// Close closes the client.
func (c *Conn) Close() { _ = c.Client.Close() }

// Open connects to Redis. One UniversalClient serves a single node, a
// Sentinel group (MasterName) or a Cluster (several Addrs), so switching is a
// config change.
func Open(o Options) (*Conn, error) {
	if o.URL == "" && len(o.Addrs) == 0 {
		return nil, errors.New("open redis: set a url or addrs")
	}
	if o.URL != "" {
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, fmt.Errorf("parse redis url %q: %w", Redact(o.URL), err)
		}
		c := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs: []string{opt.Addr}, DB: opt.DB, Username: opt.Username, Password: opt.Password,
			TLSConfig: opt.TLSConfig, PoolSize: opt.PoolSize,
		})
		return &Conn{Client: c, Addr: Redact(o.URL)}, nil
	}
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: o.Addrs, MasterName: o.MasterName, Password: o.Password})
	return &Conn{Client: c, Addr: fmt.Sprint(o.Addrs)}, nil
}

// Redact removes the password from a Redis URL.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable redis url)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// Observer receives the duration of every Redis round trip.
type Observer func(op string, d time.Duration)

// Hook counts Redis round trips and reports their latency. A pipeline or
// transaction is one round trip.
type Hook struct {
	observe    Observer
	roundTrips atomic.Int64
}

// NewHook returns a hook; observe may be nil.
func NewHook(observe Observer) *Hook { return &Hook{observe: observe} }

// RoundTrips returns the number of round trips so far.
func (h *Hook) RoundTrips() int64 { return h.roundTrips.Load() }

// DialHook implements redis.Hook.
func (h *Hook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

// ProcessHook implements redis.Hook.
func (h *Hook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.roundTrips.Add(1)
		if h.observe != nil {
			h.observe(cmd.Name(), time.Since(start))
		}
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (h *Hook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.roundTrips.Add(1)
		if h.observe != nil {
			h.observe("pipeline", time.Since(start))
		}
		return err
	}
}
