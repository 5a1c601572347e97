package wecom

import (
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

// A WeCom app is granted its APIs in the admin console: without the
// customer-contact permission every mark_tag fails (errcode 48002 "api
// forbidden", 60011 "no privilege"), and so does every call from an IP
// outside the app's trusted ones (60020). Each member tagged, each kick,
// would log the same error. The adapter then stops offering that
// capability — in every group: a grant is the app's, not a group's — for
// lackRetry, so the flows act as where WeCom cannot (tags stay qunbot's
// own), with one warning to say what to grant.
type lacking struct {
	mu    sync.Mutex
	caps  bot.Capability
	until time.Time
}

// lackRetry is how long a refused capability is not offered.
const lackRetry = 10 * time.Minute

// deniedCodes are WeCom's errcodes for a call the app may not make, as
// opposed to one about its argument (84061: a customer no staff has as a
// contact).
var deniedCodes = map[int]string{
	48001: "the app is not authorised for this API",
	48002: "the API is forbidden to the app: grant it in the admin console (应用管理 → API 权限 / 客户联系)",
	60011: "the app has no privilege over this member or contact",
	60020: "the call came from an IP that is not among the app's trusted IPs (企业可信IP)",
}

// denied reports the errcode of an error that says the app may not make
// the call.
func denied(err error) (int, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return 0, false
	}
	_, ok := deniedCodes[e.Code]
	return e.Code, ok
}

// lack stops offering caps for lackRetry when err says the app may not
// make what needs them; it answers err.
func (a *Adapter) lack(caps bot.Capability, err error) error {
	code, ok := denied(err)
	if !ok {
		return err
	}
	l := &a.lacking
	l.mu.Lock()
	now := a.now()
	fresh := !now.Before(l.until) || l.caps&caps != caps
	if !now.Before(l.until) {
		l.caps = 0
	}
	l.caps |= caps
	l.until = now.Add(lackRetry)
	l.mu.Unlock()
	if fresh {
		a.opt.Log.Warn("WeCom refuses the app a call; qunbot stops using it for a while",
			zap.Stringer("capabilities", caps), zap.Int("errcode", code), zap.String("why", deniedCodes[code]),
			zap.Duration("again_in", lackRetry), zap.Error(err))
	}
	return err
}

// lacks is what is not offered now.
func (a *Adapter) lacks() bot.Capability {
	l := &a.lacking
	l.mu.Lock()
	defer l.mu.Unlock()
	if !a.now().Before(l.until) {
		return 0
	}
	return l.caps
}

// now is the adapter's clock (the wall clock when none was given).
func (a *Adapter) now() time.Time {
	if a.opt.Clock == nil {
		return time.Now()
	}
	return a.opt.Clock.Now()
}
