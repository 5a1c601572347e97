// Package inbox is a durable queue in Redis for updates a platform pushed
// to qunbot (Telegram webhooks, WeCom callbacks): the HTTP handler
// acknowledges an update only once it is stored, and a worker removes it
// only once it is handled, so a process that dies with updates queued
// loses none. Each process keeps the updates it is handling in a list of
// its own and renews a lease; the live replicas put a dead one's updates
// back in line as soon as its lease runs out (and a process its own from
// before a restart at start-up). Handling an update twice is harmless: the
// engine de-duplicates by update id.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Inbox is one queue: a list of waiting updates and, per process, a list
// of updates being handled.
type Inbox struct {
	rdb        redis.UniversalClient
	key        string
	instance   string
	processing string
	lease      time.Duration
}

// Lease is how long a silent process keeps the updates it was handling.
const Lease = 10 * time.Second

// New returns the inbox at key (give it a hash tag, e.g. qb:{tg-inbox}, so
// all its lists share a Cluster slot) for the process named instance
// (default host:pid).
func New(rdb redis.UniversalClient, key, instance string) *Inbox {
	if instance == "" {
		host, _ := os.Hostname()
		instance = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	return &Inbox{rdb: rdb, key: key, instance: instance, processing: key + ":processing:" + instance, lease: Lease}
}

// reclaimScript puts back in line the updates of processes whose lease ran
// out (and, with ARGV[4] "1", the caller's own and those of the shared
// list older versions used), and renews the caller's lease. KEYS[1] the
// queue, KEYS[2] the set of processes; ARGV[1] the queue's key, ARGV[2]
// the caller, ARGV[3] the lease in ms.
var reclaimScript = redis.NewScript(`
local n = 0
local function back(list)
  while redis.call('LMOVE', list, KEYS[1], 'RIGHT', 'RIGHT') do n = n + 1 end
end
if ARGV[4] == '1' then
  back(ARGV[1] .. ':processing:' .. ARGV[2])
  back(ARGV[1] .. ':processing')
end
for _, inst in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if inst ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. ':lease:' .. inst) == 0 then
    back(ARGV[1] .. ':processing:' .. inst)
    redis.call('SREM', KEYS[2], inst)
  end
end
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('SET', ARGV[1] .. ':lease:' .. ARGV[2], '1', 'PX', ARGV[3])
return n
`)

func (q *Inbox) reclaim(ctx context.Context, own bool) (int, error) {
	flag := "0"
	if own {
		flag = "1"
	}
	n, err := reclaimScript.Run(ctx, q.rdb, []string{q.key, q.key + ":instances"}, q.key, q.instance, q.lease.Milliseconds(), flag).Int()
	if err != nil {
		return 0, fmt.Errorf("inbox: reclaim: %w", err)
	}
	return n, nil
}

// Push stores an update; only then may it be acknowledged.
func (q *Inbox) Push(ctx context.Context, data []byte) error {
	if err := q.rdb.LPush(ctx, q.key, data).Err(); err != nil {
		return fmt.Errorf("inbox: store update: %w", err)
	}
	return nil
}

// pushOnceScript stores an update unless its mark exists, and sets the
// mark, in one step: KEYS[1] the mark, KEYS[2] the inbox.
var pushOnceScript = redis.NewScript(`
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
`)

// PushOnce stores an update unless one with the same mark (a callback's
// nonce) was stored within ttl; it reports whether it stored it. The mark
// and the update are written together, so an update that could not be
// stored leaves no mark: the platform's retry is taken, a replay of a
// stored one is not.
func (q *Inbox) PushOnce(ctx context.Context, mark string, ttl time.Duration, data []byte) (bool, error) {
	n, err := pushOnceScript.Run(ctx, q.rdb, []string{q.markKey(mark), q.key}, ttl.Milliseconds(), data).Int()
	if err != nil {
		return false, fmt.Errorf("inbox: store update: %w", err)
	}
	return n == 1, nil
}

// Marked reports whether an update with this mark was stored.
func (q *Inbox) Marked(ctx context.Context, mark string) (bool, error) {
	n, err := q.rdb.Exists(ctx, q.markKey(mark)).Result()
	if err != nil {
		return false, fmt.Errorf("inbox: read mark: %w", err)
	}
	return n == 1, nil
}

// Mark records a mark without an update (a callback with nothing to
// handle); it reports whether the mark is new.
func (q *Inbox) Mark(ctx context.Context, mark string, ttl time.Duration) (bool, error) {
	ok, err := q.rdb.SetNX(ctx, q.markKey(mark), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("inbox: set mark: %w", err)
	}
	return ok, nil
}

// markKey shares the inbox key's hash tag, so a mark and its update are
// one step even in Redis Cluster.
func (q *Inbox) markKey(mark string) string { return q.key + ":mark:" + mark }

// Recover puts back in line the updates this process was handling before
// a restart and those of processes that are gone, and takes the lease.
// Call it at start-up; Run goes on doing it for replicas that die later.
func (q *Inbox) Recover(ctx context.Context) (int, error) { return q.reclaim(ctx, true) }

// Len is how many updates wait.
func (q *Inbox) Len(ctx context.Context) (int64, error) { return q.rdb.LLen(ctx, q.key).Result() }

// Patience is how long an update that cannot be handled yet (Redis away,
// another replica still handling it) is tried again before it is dropped;
// it outlasts the engine's processing lease.
const Patience = 90 * time.Second

// Options say how Run hands out updates.
type Options struct {
	// Lane names the order an update keeps: updates of one lane (a chat)
	// are handled one after another in the order they arrived; lanes run
	// in parallel, as many as there are lanes with work, so the work
	// spreads over every core the process has. nil: every update is a
	// lane of its own.
	Lane func(data []byte) string
	// Settle is called before handled updates are removed (the engine
	// writes their done marks): an update removed must be marked done.
	Settle func(ctx context.Context) error
	// InFlight caps the updates taken and not yet removed (default 1024):
	// the memory a burst may hold, not a worker count.
	InFlight int
	// Flush is how often handled updates are settled and removed in one
	// round trip (default 10 ms).
	Flush time.Duration
}

// takeScript moves up to ARGV[1] waiting updates, oldest first, to the
// caller's processing list in one round trip.
var takeScript = redis.NewScript(`
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not v then break end
  out[#out + 1] = v
end
return out
`)

// Run hands updates to handle until ctx ends. Updates are taken many at a
// time when they queue up (one round trip for a batch), handled in their
// lanes, and removed in batches after Settle (one round trip for all
// handled meanwhile), so a busy inbox costs about one round trip per
// update beyond the push and the engine's own. An update is removed when
// handle returns nil; an error means "not yet": its lane tries it again
// with backoff for Patience, then drops and reports it (the other lanes
// go on). If Redis is away Run waits and tries again.
func (q *Inbox) Run(ctx context.Context, opt Options, handle func(ctx context.Context, data []byte) error, onErr func(error)) {
	if opt.InFlight <= 0 {
		opt.InFlight = 1024
	}
	if opt.Flush <= 0 {
		opt.Flush = 10 * time.Millisecond
	}
	go func() { // keep the lease; take over what dead replicas held
		t := time.NewTicker(q.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := q.reclaim(ctx, false); err != nil && ctx.Err() == nil {
					onErr(err)
				}
			}
		}
	}()
	r := &runner{q: q, opt: opt, handle: handle, onErr: onErr, lanes: map[string][][]byte{}, room: make(chan struct{}, 1), handled: make(chan struct{}, 1)}
	flushed := make(chan struct{})
	go func() { r.flushLoop(ctx); close(flushed) }()
	r.takeLoop(ctx)
	r.lanesDone.Wait()
	_ = r.flush(context.WithoutCancel(ctx)) // what was handled is removed, even when stopping (a failure was reported)
	<-flushed
}

// runner is one Run's state: the lanes with work, and the handled updates
// waiting to be removed.
type runner struct {
	q      *Inbox
	opt    Options
	handle func(ctx context.Context, data []byte) error
	onErr  func(error)

	mu        sync.Mutex
	lanes     map[string][][]byte // lane → updates not yet handled, oldest first
	inFlight  int                 // taken and not yet removed
	done      [][]byte            // handled, to remove
	lanesDone sync.WaitGroup
	room      chan struct{} // a flush made room
	handled   chan struct{} // an update was handled
	seq       uint64        // names updates without a lane
}

func (r *runner) takeLoop(ctx context.Context) {
	for ctx.Err() == nil {
		r.mu.Lock()
		n := r.opt.InFlight - r.inFlight
		r.mu.Unlock()
		if n <= 0 {
			select {
			case <-ctx.Done():
			case <-r.room:
			}
			continue
		}
		items, err := r.take(ctx, n)
		if err != nil {
			if ctx.Err() == nil {
				r.onErr(err)
				sleep(ctx, time.Second)
			}
			continue
		}
		r.mu.Lock()
		for _, data := range items {
			lane := ""
			if r.opt.Lane != nil {
				lane = r.opt.Lane(data)
			}
			if lane == "" {
				r.seq++
				lane = "\x00" + strconv.FormatUint(r.seq, 36)
			}
			r.inFlight++
			busy := len(r.lanes[lane]) > 0
			r.lanes[lane] = append(r.lanes[lane], data)
			if !busy {
				r.lanesDone.Add(1)
				go r.runLane(ctx, lane)
			}
		}
		r.mu.Unlock()
	}
}

// take moves up to n waiting updates to the processing list: all that
// wait in one round trip, or, when none does, the next to come (blocking
// for up to a second).
func (r *runner) take(ctx context.Context, n int) ([][]byte, error) {
	q := r.q
	res, err := takeScript.Run(ctx, q.rdb, []string{q.key, q.processing}, n).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("inbox: take updates: %w", err)
	}
	if len(res) > 0 {
		out := make([][]byte, len(res))
		for i, v := range res {
			out[i] = []byte(v)
		}
		return out, nil
	}
	data, err := q.rdb.BLMove(ctx, q.key, q.processing, "RIGHT", "LEFT", time.Second).Bytes()
	if errors.Is(err, redis.Nil) || ctx.Err() != nil {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: take update: %w", err)
	}
	return [][]byte{data}, nil
}

// runLane handles a lane's updates one after another until it has none.
func (r *runner) runLane(ctx context.Context, lane string) {
	defer r.lanesDone.Done()
	for {
		r.mu.Lock()
		data := r.lanes[lane][0]
		r.mu.Unlock()
		if !retry(ctx, func() error { return r.handle(ctx, data) }, r.onErr) {
			// shutting down: the rest stays ours, taken back at the next start
			r.mu.Lock()
			delete(r.lanes, lane)
			r.mu.Unlock()
			return
		}
		r.mu.Lock()
		r.done = append(r.done, data)
		rest := r.lanes[lane][1:]
		if len(rest) == 0 {
			delete(r.lanes, lane)
		} else {
			r.lanes[lane] = rest
		}
		r.mu.Unlock()
		select {
		case r.handled <- struct{}{}:
		default:
		}
		if len(rest) == 0 {
			return
		}
	}
}

func (r *runner) flushLoop(ctx context.Context) {
	t := time.NewTicker(r.opt.Flush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.handled:
		}
		select { // gather what else is handled meanwhile
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.flush(ctx) != nil {
			sleep(ctx, time.Second) // Redis away: not every tick
		}
	}
}

// flush settles the handled updates and removes them in one round trip.
// A failure keeps them for the next flush (a redelivery meanwhile is a
// duplicate: harmless).
func (r *runner) flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.done
	r.done = nil
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := error(nil)
	if r.opt.Settle != nil {
		err = r.opt.Settle(ctx)
	}
	if err == nil {
		_, err = r.q.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, data := range batch {
				p.LRem(ctx, r.q.processing, 1, data)
			}
			return nil
		})
	}
	r.mu.Lock()
	if err != nil {
		r.done = append(batch, r.done...)
		r.mu.Unlock()
		if ctx.Err() == nil {
			r.onErr(fmt.Errorf("inbox: remove %d handled updates: %w", len(batch), err))
		}
		select {
		case r.handled <- struct{}{}: // try again
		default:
		}
		return err
	}
	r.inFlight -= len(batch)
	r.mu.Unlock()
	select {
	case r.room <- struct{}{}:
	default:
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// retry runs try until it succeeds or Patience runs out (reported, and the
// update counts as done); false means ctx ended first.
func retry(ctx context.Context, try func() error, onErr func(error)) bool {
	start, backoff := time.Now(), 200*time.Millisecond
	for {
		err := try()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if time.Since(start) > Patience {
			onErr(fmt.Errorf("inbox: update dropped after %v of retries: %w", Patience, err))
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
