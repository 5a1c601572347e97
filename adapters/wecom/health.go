package wecom

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Health implements platform.Health: why WeCom's API cannot be used now —
// an access token that cannot be had for the app's or customer contact's
// secret (a wrong secret, an IP not on the trusted list, WeCom away).
func (a *Adapter) Health() error {
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	return errors.Join(a.health["app"], a.health["contact"])
}

func (a *Adapter) setHealth(part string, err error) {
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	if err != nil {
		err = fmt.Errorf("cannot get an access token for the %s secret: %w", part, err)
	}
	a.health[part] = err
}

// watchTokens gets an access token for each configured secret at start,
// so a wrong secret shows on /readyz at once rather than at the first
// post; a failure is tried again with backoff until it works.
func (a *Adapter) watchTokens(ctx context.Context) {
	parts := map[string]*api{"app": a.app, "contact": a.contact}
	for part, api := range parts {
		if api == nil {
			continue
		}
		go func() {
			backoff := 5 * time.Second
			for {
				_, err := api.token(ctx)
				if ctx.Err() != nil {
					return
				}
				a.setHealth(part, err)
				if err == nil {
					return
				}
				a.opt.Log.Error("wecom: no access token; retrying", zap.String("secret", part), zap.Duration("in", backoff), zap.Error(err))
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Minute)
			}
		}()
	}
}
