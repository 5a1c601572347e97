// Package outbox carries out an adapter's actions through one rate-limited
// queue: a global message rate, a rate per group and per private chat, the
// platform's "retry after N seconds", and backoff for temporary failures.
//
// Actions of one chat go out in order, one at a time; chats proceed in
// parallel up to the worker count. The next action sent is always the oldest
// one whose chat is allowed to send, so a busy group cannot starve others.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/metrics"
)

// Sender carries out one action: the adapter.
type Sender interface {
	Do(ctx context.Context, a bot.Action) (bot.Result, error)
}

// Options configure an Outbox.
type Options struct {
	Name   string // adapter name, for logs and metrics
	Limits config.Limits
	// MaxAttempts bounds retries of temporary failures (default 5).
	MaxAttempts int
	// Backoff is the first retry delay, doubled each attempt up to 30s,
	// with jitter (default 500ms).
	Backoff time.Duration
	// OnSent runs after a message was sent (auto-delete scheduling).
	OnSent func(ctx context.Context, a bot.Action, r bot.Result) error
	// OnUnreachable runs when a direct message could not reach its member
	// (so flows can stop trying for a while).
	OnUnreachable func(ctx context.Context, a bot.Action)
	Log           *zap.Logger
	Metrics       *metrics.Metrics
}

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("outbox closed")

type item struct {
	a         bot.Action
	seq       uint64
	attempts  int
	notBefore time.Time
}

type chatQueue struct {
	items  []*item
	busy   bool
	paused time.Time
	lim    *rate.Limiter // message rate of this chat
}

// Outbox is one adapter's queue.
type Outbox struct {
	opt    Options
	sender Sender
	global *rate.Limiter

	mu       sync.Mutex
	chats    map[string]*chatQueue
	paused   time.Time // the whole bot, after a global retry-after
	seq      uint64
	pending  int // queued plus in flight
	inflight int
	closed   bool
	idle     chan struct{}
	wake     chan struct{}
	work     chan func()
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	workerWG sync.WaitGroup
}

// margin keeps the pace a little under the configured rate: requests
// reach the platform with some jitter, and a sliding window that counts
// exactly N would be tipped by one early arrival.
const margin = 0.98

func limiter(r config.Rate) *rate.Limiter {
	ps := r.PerSecond()
	if ps <= 0 {
		return rate.NewLimiter(rate.Inf, 1)
	}
	// Burst 1: platforms count messages in sliding windows, and a bucket
	// that bursts would send more than N within one window.
	return rate.NewLimiter(rate.Limit(ps*margin), 1)
}

// New starts an outbox in front of sender.
func New(sender Sender, opt Options) *Outbox {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 5
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 500 * time.Millisecond
	}
	if opt.Limits.Workers <= 0 {
		opt.Limits.Workers = 8
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Outbox{
		opt: opt, sender: sender, global: limiter(opt.Limits.Global),
		chats: map[string]*chatQueue{}, wake: make(chan struct{}, 1), work: make(chan func()),
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	for i := 0; i < opt.Limits.Workers; i++ {
		o.workerWG.Add(1)
		go func() {
			defer o.workerWG.Done()
			for f := range o.work {
				f()
			}
		}()
	}
	go o.dispatch()
	return o
}

func chatOf(a bot.Action) string {
	if a.Type == bot.ActDM {
		return "dm:" + a.Member.ID
	}
	return a.Chat
}

// Enqueue queues an action; it never blocks on the platform.
func (o *Outbox) Enqueue(a bot.Action) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	o.push(&item{a: a}, false)
	return nil
}

// push adds an item at the tail, or back at the head for a retry. Caller
// holds mu.
func (o *Outbox) push(it *item, head bool) {
	key := chatOf(it.a)
	q, ok := o.chats[key]
	if !ok {
		r := o.opt.Limits.PerGroup
		if it.a.Type == bot.ActDM {
			r = o.opt.Limits.PerPrivate
		}
		q = &chatQueue{lim: limiter(r)}
		o.chats[key] = q
	}
	if head {
		q.items = append([]*item{it}, q.items...)
	} else {
		o.seq++
		it.seq = o.seq
		q.items = append(q.items, it)
		o.pending++
	}
	o.opt.Metrics.OutboxDepth.WithLabelValues(o.opt.Name).Set(float64(o.pending))
	o.signal()
}

func (o *Outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// readyAt is when a chat's head item may go, by every limit.
func (o *Outbox) readyAt(q *chatQueue, now time.Time) time.Time {
	it := q.items[0]
	t := it.notBefore
	if q.paused.After(t) {
		t = q.paused
	}
	if o.paused.After(t) {
		t = o.paused
	}
	if it.a.IsMessage() {
		for _, l := range []*rate.Limiter{q.lim, o.global} {
			if l.Limit() == rate.Inf {
				continue
			}
			if tok := l.TokensAt(now); tok < 1 {
				wait := time.Duration((1 - tok) / float64(l.Limit()) * float64(time.Second))
				if w := now.Add(wait); w.After(t) {
					t = w
				}
			}
		}
	}
	return t
}

func (o *Outbox) dispatch() {
	defer close(o.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		o.mu.Lock()
		now := time.Now()
		var best *chatQueue
		var bestKey string
		var earliest time.Time
		for key, q := range o.chats {
			if o.inflight >= o.opt.Limits.Workers {
				break // every worker busy: wait, then pick the oldest again
			}
			if q.busy || len(q.items) == 0 {
				continue
			}
			at := o.readyAt(q, now)
			if !at.After(now) {
				if best == nil || q.items[0].seq < best.items[0].seq {
					best, bestKey = q, key
				}
			} else if earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
		}
		if best != nil {
			it := best.items[0]
			best.items = best.items[1:]
			best.busy = true
			o.inflight++
			o.mu.Unlock()
			select {
			case o.work <- func() { o.send(bestKey, best, it) }:
			case <-o.ctx.Done():
				return
			}
			continue
		}
		if o.closed && o.pending == 0 {
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		wait := time.Hour
		if !earliest.IsZero() {
			wait = time.Until(earliest)
		}
		timer.Reset(wait)
		select {
		case <-o.wake:
		case <-timer.C:
		case <-o.ctx.Done():
			return
		}
	}
}

func (o *Outbox) send(key string, q *chatQueue, it *item) {
	// A global pause may have started while this item waited for a worker:
	// put it back rather than send into a platform that asked us to stop.
	o.mu.Lock()
	if o.paused.After(time.Now()) {
		q.items = append([]*item{it}, q.items...)
		q.busy = false
		o.inflight--
		o.signal()
		o.mu.Unlock()
		return
	}
	o.mu.Unlock()
	if it.a.IsMessage() {
		// Tokens are taken here, right before the request, so the spacing
		// the platform sees is the limiter's, not the dispatcher's.
		if q.lim.Wait(o.ctx) != nil || o.global.Wait(o.ctx) != nil {
			o.mu.Lock()
			q.items = append([]*item{it}, q.items...)
			q.busy = false
			o.inflight--
			o.mu.Unlock()
			return
		}
	}
	res, err := o.sender.Do(o.ctx, it.a)
	log := o.opt.Log.With(zap.String("adapter", o.opt.Name), zap.String("action", string(it.a.Type)),
		zap.String("chat", key), zap.String("flow", it.a.Flow))
	// The hook runs before the action counts as done, so Flush returning
	// means any auto-deletion is already scheduled.
	if err == nil && o.opt.OnSent != nil && it.a.IsMessage() {
		if aerr := o.opt.OnSent(o.ctx, it.a, res); aerr != nil {
			log.Error("after-send hook failed (auto-delete not scheduled)", zap.Error(aerr))
		}
	}
	if errors.Is(err, bot.ErrUnreachable) && o.opt.OnUnreachable != nil {
		o.opt.OnUnreachable(o.ctx, it.a)
	}
	var ra *bot.RetryAfterError
	result := "ok"
	var fallback *item

	o.mu.Lock()
	q.busy = false
	o.inflight--
	done := true
	switch {
	case err == nil:
	case errors.As(err, &ra):
		until := time.Now().Add(ra.After)
		if ra.Global {
			o.paused = until
		} else {
			q.paused = until
		}
		log.Warn("rate limited by platform; pausing", zap.Duration("retry_after", ra.After), zap.Bool("whole_bot", ra.Global))
		q.items = append([]*item{it}, q.items...)
		done, result = false, "retry"
	case errors.Is(err, bot.ErrUnreachable) && it.a.Fallback != "":
		log.Info("member unreachable privately; falling back to the group", zap.String("member", it.a.Member.ID))
		fallback = &item{a: bot.Action{Type: bot.ActSend, Chat: it.a.Chat, Text: it.a.Fallback, Member: it.a.Member, Flow: it.a.Flow}}
		result = "fallback"
	case errors.Is(err, bot.ErrTemporary) && it.attempts+1 < o.opt.MaxAttempts && o.ctx.Err() == nil:
		it.attempts++
		backoff := min(o.opt.Backoff<<(it.attempts-1), 30*time.Second)
		backoff += time.Duration(rand.Int64N(int64(backoff)/2 + 1))
		it.notBefore = time.Now().Add(backoff)
		log.Warn("temporary failure; will retry", zap.Int("attempt", it.attempts), zap.Duration("backoff", backoff), zap.Error(err))
		q.items = append([]*item{it}, q.items...)
		done, result = false, "retry"
	default:
		log.Error("action failed; not retried", zap.String("member", it.a.Member.ID), zap.Error(err))
		result = "failed"
	}
	if done {
		o.pending--
		if fallback != nil {
			o.push(fallback, false)
		}
	}
	o.opt.Metrics.OutboxDepth.WithLabelValues(o.opt.Name).Set(float64(o.pending))
	o.opt.Metrics.ActionsOut.WithLabelValues(o.opt.Name, string(it.a.Type), result).Inc()
	if o.pending == 0 && o.idle != nil {
		close(o.idle)
		o.idle = nil
	}
	o.signal()
	o.mu.Unlock()
}

// Len returns the number of actions queued or in flight.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pending
}

// Flush waits until every queued action is done (sent, failed or dropped).
func (o *Outbox) Flush(ctx context.Context) error {
	o.mu.Lock()
	if o.pending == 0 {
		o.mu.Unlock()
		return nil
	}
	if o.idle == nil {
		o.idle = make(chan struct{})
	}
	ch := o.idle
	o.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush outbox %s: %d actions still queued: %w", o.opt.Name, o.Len(), ctx.Err())
	}
}

// Close stops intake, drains the queue until ctx ends, then stops. Actions
// still queued when ctx ends are reported and dropped.
func (o *Outbox) Close(ctx context.Context) error {
	o.mu.Lock()
	o.closed = true
	o.signal()
	o.mu.Unlock()
	err := o.Flush(ctx)
	o.cancel()
	<-o.done
	close(o.work)
	o.workerWG.Wait()
	return err
}
