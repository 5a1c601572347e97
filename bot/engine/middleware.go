package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// Handler runs one flow for one event.
type Handler func(ctx context.Context, fc *FlowContext) error

// Middleware wraps every flow handler: recover, timeout, metrics. flow is
// the flow's name.
type Middleware func(flow string, next Handler) Handler

// Recoverer turns a flow's panic into an error, so one broken flow cannot
// take the bot down or stop the other flows.
func Recoverer() Middleware {
	return func(flow string, next Handler) Handler {
		return func(ctx context.Context, fc *FlowContext) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("flow %s panicked: %v\n%s", flow, r, debug.Stack())
				}
			}()
			return next(ctx, fc)
		}
	}
}

// Timeout bounds one flow's work on one event.
func Timeout(d time.Duration) Middleware {
	return func(flow string, next Handler) Handler {
		return func(ctx context.Context, fc *FlowContext) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, fc)
		}
	}
}

func chain(flow string, h Handler, mws []Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](flow, h)
	}
	return h
}
