// Package inbox is a durable queue in Redis for updates a platform pushed
// to qunbot (Telegram webhooks): the HTTP handler acknowledges an update
// only once it is stored, and a worker removes it only once it is handled,
// so a process that dies with updates queued loses none — the next start
// puts the ones it was holding back in line. Handling an update twice is
// harmless: the engine de-duplicates by update id.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Inbox is one queue: a list of waiting updates and a list of updates
// being handled.
type Inbox struct {
	rdb        redis.UniversalClient
	key        string
	processing string
}

// New returns the inbox at key (give it a hash tag, e.g. qb:{tg-inbox}, so
// both lists share a Cluster slot).
func New(rdb redis.UniversalClient, key string) *Inbox {
	return &Inbox{rdb: rdb, key: key, processing: key + ":processing"}
}

// Push stores an update; only then may it be acknowledged.
func (q *Inbox) Push(ctx context.Context, data []byte) error {
	if err := q.rdb.LPush(ctx, q.key, data).Err(); err != nil {
		return fmt.Errorf("inbox: store update: %w", err)
	}
	return nil
}

// Recover puts updates left being handled (by a process that died) back
// in line. Call it at start-up.
func (q *Inbox) Recover(ctx context.Context) (int, error) {
	n := 0
	for {
		err := q.rdb.LMove(ctx, q.processing, q.key, "RIGHT", "RIGHT").Err()
		if errors.Is(err, redis.Nil) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("inbox: recover: %w", err)
		}
		n++
	}
}

// Len is how many updates wait.
func (q *Inbox) Len(ctx context.Context) (int64, error) { return q.rdb.LLen(ctx, q.key).Result() }

// Run hands updates to handle with workers goroutines until ctx ends,
// oldest first. An update is removed when handle returns; if Redis is away
// the workers wait and try again.
func (q *Inbox) Run(ctx context.Context, workers int, handle func(ctx context.Context, data []byte), onErr func(error)) {
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
				handle(ctx, data)
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
