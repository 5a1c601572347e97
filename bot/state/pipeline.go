package state

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pipeline makes ingests that arrive while others are on the wire go
// together, up to size in one pipelined round trip, with at most senders
// round trips on the wire at once. It is group commit: an ingest waits
// only while the senders are all busy, so a quiet bot sends each at once
// (no added latency), and a busy one sends fewer, fuller round trips.
// Call it before the store is used.
func (s *Store) Pipeline(size, senders int) {
	if size <= 1 {
		s.pipe = nil
		return
	}
	s.pipe = &pipeline{max: size, senders: max(1, senders)}
}

type ingestReq struct {
	in     Ingest
	steps  []Step
	script *redis.Script
	keys   []string
	args   []any
	done   chan struct{}
	res    any
	err    error
}

type pipeline struct {
	max, senders int
	mu           sync.Mutex
	queue        []*ingestReq
	sending      int
}

// do runs one ingest: at once when a sender is free (and then the others
// queued meanwhile), else with the next batch.
func (p *pipeline) do(ctx context.Context, s *Store, r *ingestReq) (*Member, [][]int64, bool, error) {
	r.done = make(chan struct{})
	p.mu.Lock()
	p.queue = append(p.queue, r)
	var batch []*ingestReq
	if p.sending < p.senders {
		p.sending++
		batch = p.take()
	}
	p.mu.Unlock()
	if batch != nil {
		p.send(s, batch)
		// others queued while this was on the wire: a sender of their own
		p.mu.Lock()
		if next := p.take(); next != nil {
			p.mu.Unlock()
			go p.drain(s, next)
		} else {
			p.sending--
			p.mu.Unlock()
		}
	}
	select {
	case <-r.done:
		return parseIngest(r.in, r.steps, r.res, r.err)
	case <-ctx.Done():
		return nil, nil, false, wrap("ingest", ctx.Err())
	}
}

// take removes up to max queued ingests (under mu); nil when none.
func (p *pipeline) take() []*ingestReq {
	if len(p.queue) == 0 {
		return nil
	}
	n := min(len(p.queue), p.max)
	batch := make([]*ingestReq, n)
	copy(batch, p.queue)
	p.queue = append(p.queue[:0], p.queue[n:]...)
	return batch
}

// drain sends batches until none is queued.
func (p *pipeline) drain(s *Store, batch []*ingestReq) {
	for batch != nil {
		p.send(s, batch)
		p.mu.Lock()
		batch = p.take()
		if batch == nil {
			p.sending--
		}
		p.mu.Unlock()
	}
}

// send runs a batch in one round trip. Its context is its own: one
// caller giving up must not fail the others' ingests.
func (p *pipeline) send(s *Store, batch []*ingestReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmds := make([]*redis.Cmd, len(batch))
	_, _ = s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i, r := range batch {
			cmds[i] = r.script.EvalSha(ctx, pl, r.keys, r.args...)
		}
		return nil
	})
	// a script Redis does not know yet (first use, a restarted Redis):
	// load it and run those again
	var again []int
	for i, c := range cmds {
		if err := c.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		loaded := map[*redis.Script]bool{}
		for _, i := range again {
			if sc := batch[i].script; !loaded[sc] {
				loaded[sc] = true
				_ = sc.Load(ctx, s.rdb).Err() // a failure shows in the run below
			}
		}
		_, _ = s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
			for _, i := range again {
				r := batch[i]
				cmds[i] = r.script.EvalSha(ctx, pl, r.keys, r.args...)
			}
			return nil
		})
	}
	for i, r := range batch {
		r.res, r.err = cmds[i].Result()
		if r.err != nil && !errors.Is(r.err, redis.Nil) && ctx.Err() != nil {
			r.err = ctx.Err()
		}
		close(r.done)
	}
}
