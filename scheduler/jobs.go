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

// Jobs is the delayed-job queue: a sorted set scored by due time (ms).
type Jobs struct {
	rdb redis.UniversalClient
	key string
}

// NewJobs returns a queue stored at key.
func NewJobs(rdb redis.UniversalClient, key string) *Jobs { return &Jobs{rdb: rdb, key: key} }

// Add schedules a job. Adding a job with the same ID twice stores it once.
func (j *Jobs) Add(ctx context.Context, job Job) error {
	b, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", job.ID, err)
	}
	if err := j.rdb.ZAdd(ctx, j.key, redis.Z{Score: float64(job.At.UnixMilli()), Member: b}).Err(); err != nil {
		return fmt.Errorf("schedule job %s: %w", job.ID, err)
	}
	return nil
}

// claimScript takes due jobs out of the queue in one step; a job returned to
// one caller is gone for every other.
var claimScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
`)

// Claim removes and returns up to limit jobs due at or before now, earliest
// first.
func (j *Jobs) Claim(ctx context.Context, now time.Time, limit int) ([]Job, error) {
	res, err := claimScript.Run(ctx, j.rdb, []string{j.key}, now.UnixMilli(), limit).StringSlice()
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
