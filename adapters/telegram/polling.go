package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
)

// Polling is single-consumer by nature (a second getUpdates gets 409), so
// replicas take a Redis lease: one polls, the others wait as hot standbys
// and take over when the lease lapses. The offset lives in Redis too, so
// the successor resumes where the last one stopped.
//
// A clean stop releases the lease at once, even while a long poll is open
// (the call is abandoned, not waited for), so a standby takes over within
// standbyCheck. A crash releases nothing: the lease runs out after
// leaseTTL, and a standby takes over within leaseTTL + standbyCheck (8s).
// The holder renews every leaseTTL/3, so a renewal can fail twice in a
// row (Redis slow) before the lease is lost.

const (
	leaseTTL     = 6 * time.Second
	standbyCheck = 2 * time.Second
)

func (a *Adapter) botKey(parts ...string) string {
	a.mu.Lock()
	id := strconv.FormatInt(a.self.ID, 10)
	a.mu.Unlock()
	return a.store.GlobalKey(append([]string{"{tg:" + id + "}"}, parts...)...)
}

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

func (a *Adapter) runPolling(ctx context.Context, sink bot.EventSink) error {
	// getUpdates fails with 409 while a webhook is set.
	if err := a.call(ctx, "deleteWebhook", "", nil, nil); err != nil && ctx.Err() == nil {
		a.log.Warn("deleteWebhook failed; polling may be refused", zap.Error(err))
	}
	lease := a.botKey("poller")
	standbyLogged := false
	for ctx.Err() == nil {
		ok, err := a.rdb.SetNX(ctx, lease, a.instance, leaseTTL).Result()
		if err != nil {
			a.log.Error("polling lease: Redis unavailable; retrying", zap.Error(err))
		}
		if !ok {
			if !standbyLogged {
				holder, _ := a.rdb.Get(ctx, lease).Result()
				a.log.Info("another replica is polling; standing by", zap.String("holder", holder))
				standbyLogged = true
			}
			sleep(ctx, standbyCheck)
			continue
		}
		standbyLogged = false
		a.log.Info("polling lease taken; receiving updates", zap.String("instance", a.instance))
		a.poll(ctx, sink, lease)
		releaseScript.Run(context.WithoutCancel(ctx), a.rdb, []string{lease}, a.instance)
	}
	return nil
}

// poll runs while this replica holds the lease.
func (a *Adapter) poll(ctx context.Context, sink bot.EventSink, lease string) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // renew the lease; losing it stops polling
		t := time.NewTicker(leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				n, err := renewScript.Run(pctx, a.rdb, []string{lease}, a.instance, leaseTTL.Milliseconds()).Int()
				if err == nil && n == 0 {
					a.log.Warn("polling lease lost; standing by")
					cancel()
					return
				}
			}
		}
	}()
	offsetKey := a.botKey("offset")
	offset, _ := a.rdb.Get(pctx, offsetKey).Int()
	backoff := time.Second
	for pctx.Err() == nil {
		p := tgbotapi.Params{"timeout": strconv.Itoa(int(a.cfg.PollTimeout.D().Seconds()))}
		p.AddNonZero("offset", offset)
		_ = p.AddInterface("allowed_updates", AllowedUpdates)
		var raw []json.RawMessage
		asked := time.Now()
		err := a.call(pctx, "getUpdates", "", p, &raw)
		if err != nil {
			if pctx.Err() != nil {
				return
			}
			a.setHealth(err)
			var ae *APIError
			if errors.As(err, &ae) && ae.Code == 409 {
				a.log.Error("getUpdates conflict: another consumer polls this token outside the lease, or a webhook is set", zap.Error(err))
			} else {
				a.log.Warn("getUpdates failed; retrying", zap.Duration("in", backoff), zap.Error(err))
			}
			sleep(pctx, backoff)
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = time.Second
		a.setHealth(nil)
		if len(raw) == 0 && time.Since(asked) < emptyPollPause {
			// a server that answers a long poll at once (not the Bot API,
			// but an emulator or a proxy may) would have us spin; a short
			// pause, since every update that comes meanwhile waits for it
			sleep(pctx, emptyPollPause)
		}
		next := offset
		for _, r := range raw {
			u, err := a.decodeUpdate(r)
			if err == nil {
				// The offset moves past an update only once it was handled;
				// a failure (Redis away) fetches it again.
				if err := a.deliver(pctx, sink, u, r); err != nil {
					if pctx.Err() != nil {
						break
					}
					a.log.Error("update not processed; will fetch it again", zap.Int("update_id", u.UpdateID), zap.Error(err))
					sleep(pctx, backoff)
					break
				}
			}
			// handled, or unreadable (logged): never fetched again
			next = max(next, u.UpdateID+1)
		}
		if next == offset {
			continue
		}
		// The next getUpdates acknowledges every update below the offset:
		// first their done marks must be in Redis (a crash in between would
		// leave a handled update to nobody), then the offset, for a successor.
		sctx, scancel := context.WithTimeout(context.WithoutCancel(pctx), 10*time.Second)
		err = bot.Settle(sctx, sink)
		if err == nil {
			offset = next
			if err := a.rdb.Set(sctx, offsetKey, offset, 7*24*time.Hour).Err(); err != nil {
				a.log.Warn("offset not stored; a successor may see updates twice (de-duplicated)", zap.Error(err))
			}
		}
		scancel()
		if err != nil {
			a.log.Error("handled updates not recorded as done; fetching them again", zap.Error(err))
			sleep(pctx, backoff)
		}
	}
}

// decodeUpdate decodes one update of a getUpdates batch. One that cannot
// be read (a field of the wrong type) is logged with its update_id and
// skipped, rather than failing the batch — and every valid update after
// it — for good; its update_id is returned all the same, so the offset
// moves past it.
func (a *Adapter) decodeUpdate(r json.RawMessage) (tgbotapi.Update, error) {
	var u tgbotapi.Update
	err := json.Unmarshal(r, &u)
	if err == nil {
		return u, nil
	}
	var id struct {
		UpdateID int `json:"update_id"`
	}
	_ = json.Unmarshal(r, &id)
	a.log.Error("update cannot be read; skipped", zap.Int("update_id", id.UpdateID), zap.Error(err), zap.String("update", excerpt(r, 300)))
	return tgbotapi.Update{UpdateID: id.UpdateID}, err
}

// emptyPollPause is how long the poller waits after an empty answer that
// came at once: 4 requests a second against such a server, and at most a
// quarter second added to an update's way (it was 1 s: against
// telegram-test-api every ad's deletion waited up to that long).
const emptyPollPause = 250 * time.Millisecond

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
