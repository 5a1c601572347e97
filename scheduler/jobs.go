// Package scheduler keeps delayed jobs in Redis, driven by the engine's clock.
//
// A job is claimed atomically when due, so with several qunbot processes on
// one Redis each job runs once. Cron schedules (robfig/cron/v3) are parsed
// by the config package; their next fire times will live here too.
package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Job is one delayed piece of work.
type Job struct {
	ID   string            `json:"id"`
	Kind string            `json:"kind"` // e.g. "delete"
	At   time.Time         `json:"at"`
	Args map[string]string `json:"args,omitempty"`
}

// Jobs is the delayed-job queue: job ids in a sorted set scored by due
// time (ms), their bodies in a hash, both under one hash tag.
type Jobs struct {
	rdb     redis.UniversalClient
	key     string
	data    string
	running string // sorted set: claimed jobs by the time their claim runs out
}

// claimLease is how long a claimed job belongs to its claimer: one that
// is not acknowledged by then (the process died) is due again.
const claimLease = time.Minute

// NewJobs returns a queue stored at key and key + ":data". Give key a
// hash tag (qb:{jobs}) so both keys share a Redis Cluster slot.
func NewJobs(rdb redis.UniversalClient, key string) *Jobs {
	return &Jobs{rdb: rdb, key: key, data: key + ":data", running: key + ":running"}
}

// Add schedules jobs, in one round trip. A job with the same ID is
// replaced (stored once).
func (j *Jobs) Add(ctx context.Context, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	bodies := make([][]byte, len(jobs))
	for i, job := range jobs {
		b, err := json.Marshal(job)
		if err != nil {
			return fmt.Errorf("encode job %s: %w", job.ID, err)
		}
		bodies[i] = b
	}
	_, err := j.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, job := range jobs {
			p.HSet(ctx, j.data, job.ID, bodies[i])
			p.ZAdd(ctx, j.key, redis.Z{Score: float64(job.At.UnixMilli()), Member: job.ID})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule job %s (of %d): %w", jobs[0].ID, len(jobs), err)
	}
	return nil
}

// Remove cancels a job; removing a job that is not there is no error.
func (j *Jobs) Remove(ctx context.Context, id string) error {
	_, err := j.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, j.key, id)
		p.HDel(ctx, j.data, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	return nil
}

// claimScript takes due jobs out of the queue in one step — a job returned
// to one caller is gone for every other — and holds them as running until
// acknowledged. Claims that ran out (their claimer died) are due again
// first. Ties are broken by id.
var claimScript = redis.NewScript(`
local lost = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
for _, id in ipairs(lost) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due == 0 then return {} end
redis.call('ZREM', KEYS[1], unpack(due))
local out = {}
for i, id in ipairs(due) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    out[#out+1] = body
    redis.call('ZADD', KEYS[3], ARGV[1] + ARGV[3], id)
  end
end
return out
`)

// ackScript ends a claim: the job's body goes unless it was scheduled
// again meanwhile (the same id added for later).
var ackScript = redis.NewScript(`
redis.call('ZREM', KEYS[3], ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
`)

// Ack ends a claimed job's claim once it was carried out (or given up).
// Until then a claimer that dies leaves the job to be claimed again after
// claimLease.
func (j *Jobs) Ack(ctx context.Context, id string) error {
	if err := ackScript.Run(ctx, j.rdb, []string{j.key, j.data, j.running}, id).Err(); err != nil {
		return fmt.Errorf("acknowledge job %s: %w", id, err)
	}
	return nil
}

// Claim takes up to limit jobs due at or before now, earliest first; each
// must be acknowledged (Ack) once handled.
func (j *Jobs) Claim(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	res, err := claimScript.Run(ctx, j.rdb, []string{j.key, j.data, j.running}, now.UnixMilli(), limit, claimLease.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim due jobs: %w", err)
	}
	jobs := make([]Job, 0, len(res))
	for _, raw := range res {
		var job Job
		if err := json.Unmarshal([]byte(raw), &job); err != nil {
			return jobs, fmt.Errorf("decode job %q: %w", raw, err)
		}
		jobs = append(jobs, job)
	}
	// Same due time: keep the order they were due in, then by id, so the
	// console's output is the same every run.
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].At.Before(jobs[b].At) })
	return jobs, nil
}

// Next returns the due time of the earliest job, if any.
func (j *Jobs) Next(ctx context.Context) (time.Time, bool, error) {
	res, err := j.rdb.ZRangeWithScores(ctx, j.key, 0, 0).Result()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read next job: %w", err)
	}
	if len(res) == 0 {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(int64(res[0].Score)), true, nil
}

// Len counts the queued jobs.
func (j *Jobs) Len(ctx context.Context) (int64, error) {
	n, err := j.rdb.ZCard(ctx, j.key).Result()
	if err != nil {
		return 0, fmt.Errorf("count jobs: %w", err)
	}
	return n, nil
}

// ID builds a job id from parts.
func ID(parts ...any) string {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += ":"
		}
		switch v := p.(type) {
		case string:
			s += v
		case int64:
			s += strconv.FormatInt(v, 10)
		default:
			s += fmt.Sprint(v)
		}
	}
	return s
}
