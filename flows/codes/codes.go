// Package codes keeps pools of unique codes (perks, rewards) in Redis,
// loaded from files: each member gets at most one code from a pool, ever,
// and a code is never handed out twice.
package codes

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
)

// Pool is a set of unique codes in Redis. Its keys share the hash tag
// {perk:<name>}, so the issuing script is atomic on a Cluster too; a member
// (platform:id) gets at most one code from a pool, ever.
type Pool struct {
	rdb    redis.UniversalClient
	codes  string // list of codes not yet given, in file order
	queued string // set of the same codes, to load each once
	given  string // hash member → code
	used   string // set of codes ever given (never reloaded into codes)
	meta   string // hash: file signature, warnings sent
}

// New returns the pool named name.
func New(s *state.Store, name string) Pool {
	tag := "{perk:" + name + "}"
	return Pool{rdb: s.Client(), codes: s.GlobalKey(tag, "codes"), queued: s.GlobalKey(tag, "queued"), given: s.GlobalKey(tag, "given"),
		used: s.GlobalKey(tag, "used"), meta: s.GlobalKey(tag, "meta")}
}

var loadScript = redis.NewScript(`
local n = 0
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 and redis.call('SADD', KEYS[2], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
`)

// Load adds the file's codes to the pool when the file changed since the
// last load (by size and modification time).
func (p Pool) Load(ctx context.Context, file string) error {
	// file is already resolved against the config's folder
	st, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("perk codes: %w", err)
	}
	sig := fmt.Sprintf("%s|%d|%d", file, st.Size(), st.ModTime().UnixNano())
	if cur, _ := p.rdb.HGet(ctx, p.meta, "file").Result(); cur == sig {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("perk codes: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	batch := make([]any, 0, 500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := loadScript.Run(ctx, p.rdb, []string{p.codes, p.queued, p.used}, batch...).Err()
		batch = batch[:0]
		return err
	}
	for sc.Scan() {
		code := strings.TrimSpace(sc.Text())
		if code == "" || strings.HasPrefix(code, "#") {
			continue
		}
		batch = append(batch, code)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return fmt.Errorf("load perk codes: %w", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read perk codes %s: %w", file, err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("load perk codes: %w", err)
	}
	if err := p.rdb.HDel(ctx, p.meta, "warned_low", "warned_empty").Err(); err != nil {
		return fmt.Errorf("load perk codes: %w", err)
	}
	return p.rdb.HSet(ctx, p.meta, "file", sig).Err()
}

var issueScript = redis.NewScript(`
local got = redis.call('HGET', KEYS[2], ARGV[1])
if got then return {got, '-1'} end
local code = redis.call('LPOP', KEYS[1])
if not code then return {'', '0'} end
redis.call('HSET', KEYS[2], ARGV[1], code)
redis.call('SADD', KEYS[3], code)
redis.call('SREM', KEYS[4], code)
return {code, tostring(redis.call('LLEN', KEYS[1]))}
`)

// Issue gives member a code. fresh is false when the member had one
// already (that code is returned); code is "" when the pool is empty.
func (p Pool) Issue(ctx context.Context, member string) (code string, fresh bool, left int, err error) {
	res, err := issueScript.Run(ctx, p.rdb, []string{p.codes, p.given, p.used, p.queued}, member).StringSlice()
	if err != nil {
		return "", false, 0, fmt.Errorf("issue perk code: %w", err)
	}
	left, _ = strconv.Atoi(res[1])
	return res[0], left >= 0, left, nil
}

// GivenTo returns the member's code, if any.
func (p Pool) GivenTo(ctx context.Context, member string) (string, error) {
	code, err := p.rdb.HGet(ctx, p.given, member).Result()
	if err == redis.Nil {
		return "", nil
	}
	return code, err
}

// WarnOnce reports whether a warning of this kind has not been sent since
// the pool was last loaded.
func (p Pool) WarnOnce(ctx context.Context, kind string) (bool, error) {
	return p.rdb.HSetNX(ctx, p.meta, "warned_"+kind, "1").Result()
}

var popScript = redis.NewScript(`
local code = redis.call('LPOP', KEYS[1])
if not code then return {'', '0'} end
redis.call('SADD', KEYS[2], code)
redis.call('SREM', KEYS[3], code)
return {code, tostring(redis.call('LLEN', KEYS[1]))}
`)

// Pop takes the next code without tying it to a member (a reward a member
// may redeem several times); code is "" when the pool is empty.
func (p Pool) Pop(ctx context.Context) (code string, left int, err error) {
	res, err := popScript.Run(ctx, p.rdb, []string{p.codes, p.used, p.queued}).StringSlice()
	if err != nil {
		return "", 0, fmt.Errorf("take code: %w", err)
	}
	left, _ = strconv.Atoi(res[1])
	return res[0], left, nil
}
