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

// Run hands updates to handle with workers goroutines until ctx ends,
// oldest first. An update is removed when handle returns nil; an error
// means "not yet": it is tried again with backoff for Patience, then
// dropped and reported. If Redis is away the workers wait and try again.
func (q *Inbox) Run(ctx context.Context, workers int, handle func(ctx context.Context, data []byte) error, onErr func(error)) {
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
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for ctx.Err() == nil {
				data, err := q.rdb.BLMove(ctx, q.key, q.processing, "RIGHT", "LEFT", time.Second).Bytes()
				if errors.Is(err, redis.Nil) || ctx.Err() != nil {
					continue
				}
				if err != nil {
					onErr(fmt.Errorf("inbox: take update: %w", err))
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
					continue
				}
				if !retry(ctx, func() error { return handle(ctx, data) }, onErr) {
					continue // shutting down: it stays ours, taken back at the next start
				}
				// a fresh context: the update is handled, even if we are
				// shutting down
				if err := q.rdb.LRem(context.Background(), q.processing, 1, data).Err(); err != nil {
					onErr(fmt.Errorf("inbox: remove handled update: %w", err))
				}
			}
		}()
	}
	for range workers {
		<-done
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
