// Package outbox carries out an adapter's actions through rate-limited
// lanes: a global message rate, a rate per group and per private chat, a
// rate for the calls that protect a group, the platform's "retry after N
// seconds", and backoff for temporary failures.
//
// Each chat has three lanes (bot.Lane): actions that protect the group
// (delete, restrict, kick, ban, join requests) never wait behind messages
// and do not count against the message limits; replies and challenges go
// before posts and broadcasts. A chat sends one action at a time; chats
// proceed in parallel up to the worker count. The next action sent is the
// one in the most urgent lane, and within a lane the oldest, whose chat is
// allowed to send, so a busy group cannot starve others. An action past
// its Expires is dropped when its turn comes; an ActCancel withdraws the
// queued actions with its Key.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/metrics"
)

// Sender carries out one action: the adapter.
type Sender interface {
	Do(ctx context.Context, a bot.Action) (bot.Result, error)
}

// BatchDeleter is a Sender that deletes many of a chat's messages in one
// call (Telegram's deleteMessages, up to 100). The outbox then sends the
// deletions queued one after another in a chat as one call: in a raid of
// 500 spam messages, 5 calls under the moderation limit instead of 500,
// which the restrictions wait behind.
type BatchDeleter interface {
	DeleteMessages(ctx context.Context, chat string, messageIDs []string) error
}

// maxBatch is the most deletions sent as one call (the Bot API's bound).
const maxBatch = 100

// batchable reports whether an action may go in a batch of deletions: a
// plain deletion, with nothing to do after it but its audit (which
// OnDone writes for each).
func batchable(a bot.Action) bool {
	return a.Type == bot.ActDelete && a.MessageID != "" && len(a.Then) == 0 && len(a.Else) == 0
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
	// OnDone runs once an action's outcome is final: carried out (err nil)
	// or given up (a moderation log entry is written then).
	OnDone func(ctx context.Context, a bot.Action, err error)
	// Journal, when set, keeps queued actions in Redis: a restart or a
	// crash loses none (see Journal). Nil keeps them in memory only.
	Journal *Journal
	// Shared, when set, keeps the limits and the platform's pauses in
	// Redis for every replica (see Shared). Nil keeps them per process.
	Shared *Shared
	// Clock judges Expires: the engine's clock, which the console and the
	// tests move (default the wall clock). Rate limits use the wall clock.
	Clock   bot.Clock
	Log     *zap.Logger
	Metrics *metrics.Metrics
}

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("outbox closed")

type item struct {
	id        string // journal id: instance:seq
	a         bot.Action
	seq       uint64
	attempts  int
	notBefore time.Time
}

type chatQueue struct {
	lanes  [bot.Lanes][]*item
	busy   bool
	paused time.Time
	gates  []gate // the message limits of this chat
}

// Outbox is one adapter's queue.
type Outbox struct {
	opt    Options
	sender Sender
	global []gate
	mod    []gate // calls that protect a group

	mu     sync.Mutex
	chats  map[string]*chatQueue
	paused time.Time // the whole bot, after a global retry-after
	// heldMessages keeps messages back until the shared global limit
	// frees a slot another replica took, so not every chat asks Redis
	heldMessages time.Time
	seq          uint64
	pending      int // queued plus in flight
	inflight     int
	closed       bool
	idle         chan struct{}
	wake         chan struct{}
	work         chan func()
	ctx          context.Context
	cancel       context.CancelFunc
	done         chan struct{}
	workerWG     sync.WaitGroup
	ids          atomic.Uint64
	// forgotten are journal ids of actions dropped under mu, removed from
	// the journal by the dispatcher once mu is released.
	forgotten []string
	// noBatch: the platform refused a batch of deletions as unsupported;
	// they go one by one from then on
	noBatch bool
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
	if opt.Clock == nil {
		opt.Clock = bot.SystemClock{}
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.New()
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &Outbox{
		opt: opt, sender: sender, global: gates(opt.Limits.Global), mod: gates(opt.Limits.Moderation),
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
	if j := opt.Journal; j != nil {
		o.adopt(true)
		go o.keepLease(j)
	}
	go o.dispatch()
	return o
}

// adopt takes over journaled actions of processes that are gone (and, at
// start, this process's own from before a restart).
func (o *Outbox) adopt(self bool) {
	j := o.opt.Journal
	ctx, cancel := context.WithTimeout(o.ctx, 5*time.Second)
	defer cancel()
	if err := j.renew(ctx); err != nil {
		o.opt.Log.Error("outbox journal: lease not renewed", zap.String("adapter", o.opt.Name), zap.Error(err))
		return
	}
	got, err := j.adopt(ctx, self)
	if err != nil {
		o.opt.Log.Error("outbox journal: actions of stopped processes not adopted", zap.String("adapter", o.opt.Name), zap.Error(err))
		return
	}
	var drop []string
	o.mu.Lock()
	for _, ad := range got {
		it := &item{id: ad.e.ID, a: ad.e.Action}
		if ad.sending && it.a.Lane() != bot.LaneProtect {
			// it may have reached the platform: a message twice would show
			o.opt.Log.Warn("outbox journal: a message being sent when its process stopped is not sent again",
				zap.String("adapter", o.opt.Name), zap.String("chat", it.a.Chat), zap.String("flow", it.a.Flow))
			drop = append(drop, it.id)
			continue
		}
		o.push(it, false)
	}
	o.mu.Unlock()
	if len(got) > 0 {
		o.opt.Log.Info("outbox journal: actions adopted", zap.String("adapter", o.opt.Name), zap.Int("actions", len(got)-len(drop)), zap.Int("dropped", len(drop)))
	}
	if err := j.forget(ctx, drop); err != nil {
		o.opt.Log.Warn("outbox journal: dropped actions not removed", zap.Error(err))
	}
}

// keepLease renews this process's lease and adopts the actions of
// processes whose lease ran out, until the outbox closes.
func (o *Outbox) keepLease(j *Journal) {
	t := time.NewTicker(j.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-o.ctx.Done():
			return
		case <-t.C:
			o.adopt(false)
		}
	}
}

// newItems gives actions their journal ids and journals them. Actions
// whose origin was journaled already (by an earlier run of their update
// that died before marking it done) are left out.
func (o *Outbox) newItems(actions []bot.Action, done string) ([]*item, error) {
	its := make([]*item, 0, len(actions))
	for _, a := range actions {
		its = append(its, &item{id: o.instance() + ":" + strconv.FormatUint(o.ids.Add(1), 10), a: a})
	}
	if o.opt.Journal == nil || (len(its) == 0 && done == "") {
		return its, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	skipped, err := o.opt.Journal.put(ctx, its, done)
	if err != nil || len(skipped) == 0 {
		return its, err
	}
	kept := its[:0]
	for _, it := range its {
		if skipped[it.id] {
			o.opt.Log.Info("action queued by an earlier run of its update; not again",
				zap.String("origin", it.a.Origin), zap.String("type", string(it.a.Type)))
			continue
		}
		kept = append(kept, it)
	}
	return kept, nil
}

func (o *Outbox) instance() string {
	if o.opt.Journal != nil {
		return o.opt.Journal.instance
	}
	return o.opt.Name
}

func chatOf(a bot.Action) string {
	if a.Type == bot.ActDM {
		return "dm:" + a.Member.ID
	}
	return a.Chat
}

// Enqueue queues actions, all at once (one event's actions are ordered by
// lane together); it never blocks on the platform.
func (o *Outbox) Enqueue(actions ...bot.Action) error {
	var queue, cancels []bot.Action
	for _, a := range actions {
		if a.Type == bot.ActCancel {
			cancels = append(cancels, a)
		} else {
			queue = append(queue, a)
		}
	}
	// journaled before they are accepted: an error means the engine must
	// not count the event as handled
	its, err := o.newItems(queue, "")
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	for _, a := range cancels {
		o.cancelKey(a.Key)
	}
	for _, it := range its {
		if it.a.Type == bot.ActDelete && it.a.MessageID != "" {
			o.dropRepliesTo(it.a.Chat, it.a.MessageID)
		}
		o.push(it, false)
	}
	return nil
}

// dropRepliesTo drops queued replies to a message that is being deleted:
// they would answer nothing. Caller holds mu.
func (o *Outbox) dropRepliesTo(chat, msg string) {
	q, ok := o.chats[chat]
	if !ok {
		return
	}
	for l := range q.lanes {
		kept := q.lanes[l][:0]
		for _, it := range q.lanes[l] {
			if it.a.Type == bot.ActSend && it.a.ReplyTo == msg {
				o.drop(it, "stale")
				continue
			}
			kept = append(kept, it)
		}
		q.lanes[l] = kept
	}
}

// cancelKey drops queued actions with the key. Caller holds mu.
func (o *Outbox) cancelKey(key string) {
	if key == "" {
		return
	}
	for _, q := range o.chats {
		for l := range q.lanes {
			kept := q.lanes[l][:0]
			for _, it := range q.lanes[l] {
				if it.a.Key == key {
					o.drop(it, "cancelled")
					continue
				}
				kept = append(kept, it)
			}
			q.lanes[l] = kept
		}
	}
}

// drop counts a queued action as done without carrying it out. Caller
// holds mu.
func (o *Outbox) drop(it *item, why string) {
	o.pending--
	if o.opt.Journal != nil {
		o.forgotten = append(o.forgotten, it.id)
	}
	o.opt.Metrics.ActionsOut.WithLabelValues(o.opt.Name, string(it.a.Type), why).Inc()
	o.opt.Log.Info("action dropped before it went out", zap.String("adapter", o.opt.Name), zap.String("why", why),
		zap.String("action", string(it.a.Type)), zap.String("chat", it.a.Chat), zap.String("flow", it.a.Flow), zap.String("member", it.a.Member.ID))
	o.opt.Metrics.OutboxDepth.WithLabelValues(o.opt.Name).Set(float64(o.pending))
	o.idleCheck()
}

func (o *Outbox) idleCheck() {
	if o.pending == 0 && o.idle != nil {
		close(o.idle)
		o.idle = nil
	}
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
		q = &chatQueue{gates: gates(r)}
		o.chats[key] = q
	}
	l := it.a.Lane()
	if head {
		q.lanes[l] = append([]*item{it}, q.lanes[l]...)
	} else {
		o.seq++
		it.seq = o.seq
		q.lanes[l] = append(q.lanes[l], it)
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

// readyAt is when the head item of a chat's lane may go, by every limit.
func (o *Outbox) readyAt(q *chatQueue, l bot.Lane, now time.Time) time.Time {
	it := q.lanes[l][0]
	t := it.notBefore
	if q.paused.After(t) {
		t = q.paused
	}
	if o.paused.After(t) {
		t = o.paused
	}
	if it.a.IsMessage() && o.heldMessages.After(t) {
		t = o.heldMessages
	}
	for _, g := range o.gatesOf(q, it.a) {
		if w := g.ready(now); w.After(t) {
			t = w
		}
	}
	return t
}

// gatesOf are the limits an action counts against.
func (o *Outbox) gatesOf(q *chatQueue, a bot.Action) []gate {
	switch {
	case a.IsMessage():
		return append(slices.Clip(q.gates), o.global...)
	case a.Lane() == bot.LaneProtect && a.Type != bot.ActAnswerPress:
		return o.mod
	}
	return nil
}

// pick chooses the next action to send: of the chats not busy, the ready
// head of the most urgent lane, oldest first. It drops expired heads on
// the way, and returns when the earliest waiting head will be ready.
// Caller holds mu.
func (o *Outbox) pick(now time.Time) (best *chatQueue, bestKey string, bestLane bot.Lane, earliest time.Time) {
	botNow := o.opt.Clock.Now()
	for key, q := range o.chats {
		if q.busy {
			continue
		}
		for l := bot.Lane(0); l < bot.Lanes; l++ {
			for len(q.lanes[l]) > 0 && !q.lanes[l][0].a.Expires.IsZero() && botNow.After(q.lanes[l][0].a.Expires) {
				it := q.lanes[l][0]
				q.lanes[l] = q.lanes[l][1:]
				o.drop(it, "expired")
			}
			if len(q.lanes[l]) == 0 {
				continue
			}
			at := o.readyAt(q, l, now)
			if at.After(now) {
				if earliest.IsZero() || at.Before(earliest) {
					earliest = at
				}
				continue
			}
			if best == nil || l < bestLane || (l == bestLane && q.lanes[l][0].seq < best.lanes[bestLane][0].seq) {
				best, bestKey, bestLane = q, key, l
			}
			break // this chat's most urgent ready lane
		}
	}
	return best, bestKey, bestLane, earliest
}

func (o *Outbox) dispatch() {
	defer close(o.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		o.mu.Lock()
		var best *chatQueue
		var bestKey string
		var lane bot.Lane
		var earliest time.Time
		// every worker busy: wait for one, then pick again
		if o.inflight < o.opt.Limits.Workers {
			best, bestKey, lane, earliest = o.pick(time.Now())
		}
		if forgotten := o.forgotten; len(forgotten) > 0 {
			o.forgotten = nil
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := o.opt.Journal.forget(ctx, forgotten); err != nil {
					o.opt.Log.Warn("outbox journal: dropped actions not removed", zap.Error(err))
				}
			}()
		}
		if best != nil {
			items := o.take(best, lane)
			best.busy = true
			o.inflight++
			o.mu.Unlock()
			select {
			case o.work <- func() { o.send(bestKey, best, items) }:
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

// take removes the head of a chat's lane for sending, with the deletions
// that follow it in the lane when it is one and the platform deletes in
// batches (see BatchDeleter): those ready now, up to maxBatch. Caller
// holds mu.
func (o *Outbox) take(q *chatQueue, l bot.Lane) []*item {
	items := []*item{q.lanes[l][0]}
	q.lanes[l] = q.lanes[l][1:]
	if _, ok := o.sender.(BatchDeleter); !ok || o.noBatch || !batchable(items[0].a) {
		return items
	}
	now, botNow := time.Now(), o.opt.Clock.Now()
	for len(items) < maxBatch && len(q.lanes[l]) > 0 {
		next := q.lanes[l][0]
		if !batchable(next.a) || next.a.Chat != items[0].a.Chat || next.notBefore.After(now) ||
			!next.a.Expires.IsZero() && botNow.After(next.a.Expires) {
			break
		}
		items = append(items, next)
		q.lanes[l] = q.lanes[l][1:]
	}
	return items
}

// send carries out one action, or a batch of deletions (see take) as one
// call; each is judged and settled on its own.
func (o *Outbox) send(key string, q *chatQueue, items []*item) {
	it := items[0]
	if !o.admit(key, q, items) {
		return
	}
	j := o.opt.Journal
	marked := j != nil && it.a.Lane() != bot.LaneProtect
	if marked {
		// a crash from here on may or may not have reached the platform
		if err := j.markSending(o.ctx, it.id, true); err != nil {
			o.opt.Log.Warn("outbox journal: not marked as being sent", zap.Error(err))
		}
	}
	var res bot.Result
	var err error
	if len(items) == 1 {
		res, err = o.sender.Do(o.ctx, it.a)
	} else {
		ids := make([]string, len(items))
		for i, b := range items {
			ids[i] = b.a.MessageID
		}
		err = o.sender.(BatchDeleter).DeleteMessages(o.ctx, it.a.Chat, ids)
	}
	log := o.opt.Log.With(zap.String("adapter", o.opt.Name), zap.String("action", string(it.a.Type)),
		zap.String("chat", key), zap.String("flow", it.a.Flow))
	if len(items) > 1 {
		log = log.With(zap.Int("batch", len(items)))
		if errors.Is(err, bot.ErrUnsupported) {
			// a server without the method: each goes again on its own,
			// in order, under the limits
			log.Warn("the platform does not delete in batches here; deleting one by one", zap.Error(err))
			o.mu.Lock()
			o.noBatch = true
			o.putBack(q, items)
			o.mu.Unlock()
			return
		}
	}
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
	type outcome struct {
		done     bool
		result   string
		fallback *bot.Action
	}
	outs := make([]outcome, len(items))
	o.mu.Lock()
	q.busy = false
	o.inflight--
	// the last first: what goes back to the queue keeps its order
	var ra *bot.RetryAfterError
	for i := len(items) - 1; i >= 0; i-- {
		if i > 0 && errors.As(err, &ra) {
			// one call, one pause: the head's judging pauses and logs
			o.requeue(q, items[i])
			outs[i].result = "retry"
			continue
		}
		outs[i].done, outs[i].result, outs[i].fallback = o.judge(key, q, items[i], err, log)
	}
	o.mu.Unlock()
	for i, it := range items {
		out := outs[i]
		if !out.done && marked && o.ctx.Err() == nil {
			if jerr := j.markSending(o.ctx, it.id, false); jerr != nil {
				log.Warn("outbox journal: not unmarked", zap.Error(jerr))
			}
		}
		var children []*item
		if out.done {
			children = o.settle(it, err, out.fallback, log)
		}
		o.mu.Lock()
		for _, c := range children {
			o.push(c, false)
		}
		if out.done {
			o.pending--
		}
		o.opt.Metrics.OutboxDepth.WithLabelValues(o.opt.Name).Set(float64(o.pending))
		o.opt.Metrics.ActionsOut.WithLabelValues(o.opt.Name, string(it.a.Type), out.result).Inc()
		o.idleCheck()
		o.signal()
		o.mu.Unlock()
	}
}

// admit holds a call (one action, or a batch of deletions: one call, one
// token) until every limit lets it go; false means it went back to its
// queue (a pause began, another replica took the slot, the outbox is
// closing).
func (o *Outbox) admit(key string, q *chatQueue, items []*item) bool {
	it := items[0]
	back := func(notBefore time.Time, holdMessages bool) bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		if !notBefore.IsZero() {
			it.notBefore = notBefore
		}
		if holdMessages {
			o.heldMessages = notBefore
		}
		o.putBack(q, items)
		return false
	}
	// A global pause may have started while this item waited for a worker:
	// put it back rather than send into a platform that asked us to stop.
	o.mu.Lock()
	paused := o.paused.After(time.Now())
	o.mu.Unlock()
	if paused {
		return back(time.Time{}, false)
	}
	localLimits := true
	if sh := o.opt.Shared; sh != nil {
		wait, whole, err := o.sharedTake(sh, key, it.a)
		// the shared cells are the limits now; spending this process's
		// tokens as well would put the two out of step and slow both
		localLimits = err != nil
		if err != nil {
			// Redis away: go on under this process's own limits rather
			// than stop deleting spam
			o.opt.Log.Warn("shared rate limit unavailable; this process's limits apply", zap.Error(err))
		} else if wait > 0 {
			// another replica took the slot: back to the queue until it is
			// free, so this chat does not hold a worker meanwhile
			return back(time.Now().Add(wait), whole && it.a.IsMessage())
		}
	}
	if !localLimits {
		return true
	}
	// Tokens are taken here, right before the request, so the spacing the
	// platform sees is the limiter's, not the dispatcher's.
	for _, g := range o.gatesOf(q, it.a) {
		if g.take(o.ctx) != nil {
			return back(time.Time{}, false)
		}
	}
	return true
}

// judge decides what an answer means: done (carried out, fallen back, or
// given up) or back to the queue (paused, retried, shut down mid-call).
// Caller holds mu.
func (o *Outbox) judge(key string, q *chatQueue, it *item, err error, log *zap.Logger) (done bool, result string, fallback *bot.Action) {
	var ra *bot.RetryAfterError
	switch {
	case err == nil:
		return true, "ok", nil
	case errors.As(err, &ra):
		until := time.Now().Add(ra.After)
		if ra.Global {
			o.paused = until
		} else {
			q.paused = until
		}
		log.Warn("rate limited by platform; pausing", zap.Duration("retry_after", ra.After), zap.Bool("whole_bot", ra.Global))
		if sh := o.opt.Shared; sh != nil {
			name := "chat:" + key
			if ra.Global {
				name = "global"
			}
			go func() {
				if perr := sh.pauseFor(context.Background(), name, ra.After); perr != nil {
					log.Warn("pause not shared with the other replicas", zap.Error(perr))
				}
			}()
		}
		o.requeue(q, it)
		return false, "retry", nil
	case errors.Is(err, bot.ErrUnreachable) && it.a.Fallback != "":
		log.Info("member unreachable privately; falling back to the group", zap.String("member", it.a.Member.ID))
		return true, "fallback", &bot.Action{Type: bot.ActSend, Chat: it.a.Chat, Text: it.a.Fallback, Member: it.a.Member, Flow: it.a.Flow, Thread: it.a.Thread}
	case errors.Is(err, bot.ErrTemporary) && it.attempts+1 < o.opt.MaxAttempts && o.ctx.Err() == nil:
		it.attempts++
		backoff := min(o.opt.Backoff<<(it.attempts-1), 30*time.Second)
		backoff += time.Duration(rand.Int64N(int64(backoff)/2 + 1))
		it.notBefore = time.Now().Add(backoff)
		log.Warn("temporary failure; will retry", zap.Int("attempt", it.attempts), zap.Duration("backoff", backoff), zap.Error(err))
		o.requeue(q, it)
		return false, "retry", nil
	case o.ctx.Err() != nil && o.opt.Journal != nil:
		// shut down mid-call: it stays journaled for the next start (a
		// message stays marked as being sent, so it is not repeated)
		o.requeue(q, it)
		return false, "shutdown", nil
	}
	log.Error("action failed; not retried", zap.String("member", it.a.Member.ID), zap.Error(err))
	return true, "failed", nil
}

// settle records a final outcome: what depends on it is journaled and
// returned to be queued (a moderator's "banned" once the ban happened, or
// word that it failed), the action leaves the journal, and OnDone hears.
func (o *Outbox) settle(it *item, err error, fallback *bot.Action, log *zap.Logger) []*item {
	var next []bot.Action
	if fallback != nil {
		next = append(next, *fallback)
	}
	if err == nil || fallback != nil {
		next = append(next, it.a.Then...)
	} else {
		next = append(next, it.a.Else...)
	}
	children, jerr := o.newItems(next, it.id)
	if jerr != nil {
		log.Error("outbox journal: outcome not recorded; after a crash this action may be carried out again", zap.Error(jerr))
	}
	if o.opt.OnDone != nil {
		o.opt.OnDone(o.ctx, it.a, err)
	}
	return children
}

// interval is the spacing of a rate, at the outbox's margin (0: none).
// cells are a rate's shared limits, as gates are its local ones.
func cells(name string, r config.Rate, into map[string]cell) {
	ps := r.PerSecond()
	switch {
	case ps <= 0:
	case !budget(r):
		into[name] = cell{iv: time.Duration(float64(time.Second) / (ps * margin)), n: 1}
	default:
		pace, burst := budgetPace(r)
		into[name] = cell{iv: time.Duration(float64(time.Second) / pace), n: burst}
		into[name+":w"] = cell{window: true, iv: stretch(r.Per), n: r.N}
	}
}

// sharedTake takes the action's slot in every shared limit it counts
// against, or says how long until it can.
func (o *Outbox) sharedTake(sh *Shared, key string, a bot.Action) (time.Duration, bool, error) {
	cs := map[string]cell{}
	switch {
	case a.IsMessage():
		cells("global", o.opt.Limits.Global, cs)
		if a.Type == bot.ActDM {
			cells("chat:"+key, o.opt.Limits.PerPrivate, cs)
		} else {
			cells("chat:"+key, o.opt.Limits.PerGroup, cs)
		}
	case a.Lane() == bot.LaneProtect && a.Type != bot.ActAnswerPress:
		cells("mod", o.opt.Limits.Moderation, cs)
	}
	ctx, cancel := context.WithTimeout(o.ctx, 5*time.Second)
	defer cancel()
	return sh.take(ctx, cs, []string{"global", "chat:" + key})
}

// requeue puts an item back at the head of its lane. Caller holds mu.
// putBack returns a call's items to the head of their queue, in order,
// and frees the chat and the worker. Caller holds mu.
func (o *Outbox) putBack(q *chatQueue, items []*item) {
	for i := len(items) - 1; i >= 0; i-- {
		o.requeue(q, items[i])
	}
	q.busy = false
	o.inflight--
	o.signal()
}

func (o *Outbox) requeue(q *chatQueue, it *item) {
	l := it.a.Lane()
	q.lanes[l] = append([]*item{it}, q.lanes[l]...)
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
// still queued when ctx ends are reported; with a journal they stay in it
// and the next process (or another replica) carries them out, without one
// they are lost.
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
	if j := o.opt.Journal; j != nil {
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if rerr := j.release(rctx); rerr != nil {
			o.opt.Log.Warn("outbox journal: lease not released; what is left waits for it to run out", zap.Error(rerr))
		}
		if err != nil {
			err = fmt.Errorf("%w (left in the journal for the next start)", err)
		}
	}
	return err
}
