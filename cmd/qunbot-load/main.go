// Command qunbot-load drives synthetic members and messages through the
// real engine and a real Redis, and prints messages/second, latency
// percentiles, Redis round trips per message and Redis bytes per member.
//
// With -compare (default on) it also runs redis-benchmark with 16 clients
// on EVALSHA of the script one message of the run actually sent (the
// ingest composed with the config's flow steps, with its keys and
// arguments, member and update ids randomised) against the same Redis, in
// the same run: the ceiling a Redis-bound pipeline can reach on this
// machine, and the ratio qunbot achieves of it; and again with -P 16, the
// ceiling of pipelining 16 updates per round trip.
//
//	go run ./cmd/qunbot-load -members 100000 -messages 300000 -workers 16
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/adapters"
	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/platform"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/scheduler"
)

// discard is an adapter whose actions go nowhere (ordinary messages cause
// none; the tool counts any that appear).
type discard struct{ actions atomic.Int64 }

// capture keeps the ingest EVALSHA of one update (probe), so redis-benchmark
// runs exactly what the engine sent.
type capture struct {
	probe string // the update's packed id argument ends with this
	mu    sync.Mutex
	args  []string
}

func (c *capture) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *capture) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.see(cmd)
		}
		return next(ctx, cmds)
	}
}
func (c *capture) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.see(cmd)
		return next(ctx, cmd)
	}
}

func (c *capture) see(cmd redis.Cmder) {
	args := cmd.Args()
	if cmd.Name() != "evalsha" || len(args) <= 3 {
		return
	}
	// the ingest (its second key the member's record), not the done mark
	nk, _ := strconv.Atoi(fmt.Sprint(args[2]))
	if len(args) <= 3+nk || nk < 2 {
		return
	}
	if a, _ := args[3+nk].(string); strings.HasSuffix(a, c.probe) && strings.Contains(fmt.Sprint(args[4]), ":mr:") {
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = fmt.Sprint(a)
		}
		c.mu.Lock()
		c.args = out
		c.mu.Unlock()
	}
}

// benchArgs turns the captured command into redis-benchmark's: the member
// id (whole key segments and arguments) and the message's text key become
// __rand_int__ (over the run's members, see redisBenchmark), so every
// request is a message of one of the members.
func (c *capture) benchArgs(member string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.args == nil {
		return nil, fmt.Errorf("no ingest of update %s was seen", c.probe)
	}
	// the flood step's text key varies per message like the member
	textKey := ""
	for _, a := range c.args {
		if _, k, ok := strings.Cut(a, ":fl:c:"); ok {
			textKey = k
		}
	}
	out := make([]string, len(c.args))
	nk, _ := strconv.Atoi(c.args[2])
	for i, a := range c.args {
		switch {
		case i == 3+nk:
			// redis-benchmark has one random range, over the members, and
			// draws each placeholder apart: two of them make the update
			// id one of members² (new, as in the engine's run), a third
			// its bucket hash
			w, _, _ := strings.Cut(a, " ")
			a = w + " __rand_int__ load:__rand_int__:__rand_int__"
		case a == member || (textKey != "" && a == textKey):
			a = "__rand_int__"
		default:
			parts := strings.Split(a, ":")
			for j, p := range parts {
				if (p == member || (textKey != "" && p == textKey)) && j > 0 {
					parts[j] = "__rand_int__"
				}
				// a member's bucket (record, last activity, balance):
				// redis-benchmark cannot hash the member it draws, so
				// the bucket is drawn too (a bucket of about one member
				// rather than dozens: the same script work, listpacks a
				// few microseconds shorter to scan)
				if j > 0 && (parts[j-1] == "mr" || parts[j-1] == "active" || parts[j-1] == "pts") {
					if _, err := strconv.Atoi(p); err == nil {
						parts[j] = "__rand_int__"
					}
				}
			}
			a = strings.Join(parts, ":")
		}
		out[i] = a
	}
	out[0] = "EVALSHA"
	return out, nil
}

func (d *discard) Name() string                                       { return "console" }
func (d *discard) Capabilities(string) bot.Capability                 { return bot.AllCapabilities }
func (d *discard) Run(context.Context, bot.EventSink) error           { return nil }
func (d *discard) Do(context.Context, bot.Action) (bot.Result, error) { return bot.Result{}, nil }
func (d *discard) Enqueue(as ...bot.Action) error                     { d.actions.Add(int64(len(as))); return nil }

func main() {
	url := flag.String("redis", envOr("QUNBOT_REDIS_URL", "redis://127.0.0.1:6379/15"), "Redis URL")
	members := flag.Int("members", 100000, "synthetic members")
	messages := flag.Int("messages", 300000, "messages to send")
	workers := flag.Int("workers", 16, "concurrent workers")
	groups := flag.Int("groups", 10, "groups the members are spread over")
	compare := flag.Bool("compare", true, "also run redis-benchmark -c 16 on EVALSHA of the ingest script")
	cfgPath := flag.String("c", "", "config whose flows run (default: the stats flow alone)")
	keep := flag.Bool("keep", false, "leave the run's keys in Redis to inspect them (prefix printed)")
	joined := flag.Bool("joined", false, "members join (with a @username) before they speak, recorded as the platform's join updates are, without the flows: a member's state with their join and first words")
	pipeline := flag.Int("pipeline", -1, "ingests per round trip when they queue up (default: the config's redis.pipeline)")
	flag.Parse()
	if err := run(*url, *cfgPath, *members, *messages, *workers, *groups, *pipeline, *compare, *keep, *joined); err != nil {
		fmt.Fprintln(os.Stderr, "qunbot-load:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(url, cfgPath string, members, messages, workers, groups, pipeline int, compare, keep, joined bool) error {
	ctx := context.Background()
	opt, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("redis url: %w", err)
	}
	conn, err := state.Open(state.Options{URL: url})
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", state.Redact(url), err)
	}
	hook := state.NewHook(nil)
	conn.Client.AddHook(hook)
	// the last member's first message: an id no other argument equals
	probeIdx := min(members, messages) - 1
	probeMember := strconv.Itoa(probeIdx % members)
	capt := &capture{probe: " load:" + strconv.Itoa(probeIdx)}
	conn.Client.AddHook(capt)
	prefix := fmt.Sprintf("qbload-%d:", time.Now().UnixNano())
	if keep {
		fmt.Printf("keys kept under %s\n", prefix)
	} else {
		defer clean(conn.Client, prefix)
	}

	fl := flows.Builtin()
	schema := engine.Schema(fl, platform.Schemas(adapters.Builtin()))
	cfg, err := config.Parse("load.yaml", []byte("flows: { stats: {} }\n"), schema)
	if cfgPath != "" {
		cfg, err = config.Load(cfgPath, schema)
	}
	if err != nil {
		return err
	}
	store := state.New(conn.Client, prefix)
	if err := state.RaiseListpackLimit(ctx, conn.Client); err != nil {
		fmt.Printf("hash-max-listpack-value not raised (%v): member records cost more than they need\n", err)
	}
	if pipeline < 0 {
		pipeline = cfg.Redis.Pipeline
	}
	store.Pipeline(pipeline, 4) // as run does
	// marks of handled updates batched as `run` does
	eng, err := engine.New(engine.Options{Store: store, Timers: scheduler.New(scheduler.Options{Redis: conn.Client, Prefix: prefix}), Flows: fl,
		DoneBatch: 20 * time.Millisecond}, cfg)
	if err != nil {
		return err
	}
	ad := &discard{}
	eng.Attach(ad, ad)
	// Load the script once, so the measured path is the steady state.
	if err := state.IngestScript().Load(ctx, conn.Client).Err(); err != nil {
		return fmt.Errorf("load script: %w", err)
	}
	memBefore := usedMemory(ctx, conn.Client)
	now := time.Now()
	if joined {
		// an hour before their messages, 1,000 a round trip
		for start := 0; start < members; start += 1000 {
			ins := make([]state.Ingest, 0, 1000)
			for m := start; m < min(start+1000, members); m++ {
				ins = append(ins, state.Ingest{Group: "console:g" + strconv.Itoa(m%groups), UpdateID: "join:" + strconv.Itoa(m), Member: strconv.Itoa(m),
					Name: "member" + strconv.Itoa(m), Username: "user_" + strconv.Itoa(m), Kind: state.KindJoin, At: now.Add(-time.Hour)})
			}
			if err := store.IngestMany(ctx, ins); err != nil {
				return fmt.Errorf("joins: %w", err)
			}
		}
		fmt.Printf("  %d members joined (with a username) before the run\n", members)
	}
	rtBefore := hook.RoundTrips()

	lat := make([]time.Duration, messages)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= messages {
					return
				}
				m := i % members
				ev := bot.Event{
					ID: "load:" + strconv.Itoa(i), Kind: bot.EventMessage, Platform: "console",
					Chat:   bot.Chat{Key: "console:g" + strconv.Itoa(m%groups), Type: bot.ChatGroup},
					Member: bot.Member{ID: strconv.Itoa(m), Name: "member" + strconv.Itoa(m)},
					Text:   "hello everyone, message " + strconv.Itoa(i), MessageID: strconv.Itoa(i),
					Time: now.Add(time.Duration(i) * time.Millisecond),
				}
				t := time.Now()
				if err := eng.HandleEvent(ctx, ev); err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rt := hook.RoundTrips() - rtBefore
	memAfter := usedMemory(ctx, conn.Client)

	slices.Sort(lat)
	rate := float64(messages) / elapsed.Seconds()
	fmt.Printf("qunbot engine: %d messages from %d members in %d groups, %d workers, config %s, pipeline %d\n", messages, members, groups, workers, cmpOr(cfgPath, "(stats flow alone)"), pipeline)
	fmt.Printf("  throughput      %.0f messages/s (%.2fs)\n", rate, elapsed.Seconds())
	fmt.Printf("  latency         p50 %v  p99 %v  max %v\n", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	fmt.Printf("  redis trips     %.3f per message\n", float64(rt)/float64(messages))
	fmt.Printf("  failures        %d; actions queued %d\n", failed.Load(), ad.actions.Load())
	memberBytes, activeBytes, dedupeBytes := sampleMemory(ctx, conn.Client, store, members, groups, messages)
	fmt.Printf("  redis memory    %.0f bytes/member (record %.0f + last-active set %.0f); update marks %.1f bytes each (kept 25h)\n",
		memberBytes+activeBytes, memberBytes, activeBytes, dedupeBytes)
	if memBefore > 0 && memAfter > memBefore {
		fmt.Printf("  used_memory     +%.1f MiB overall (%.0f bytes/member incl. %d dedupe keys)\n",
			float64(memAfter-memBefore)/(1<<20), float64(memAfter-memBefore)/float64(members), messages)
	}
	var standing, transient int64
	for i, f := range memoryByFamily(ctx, conn.Client, prefix) {
		life := "kept"
		switch {
		case !f.forever && f.expires <= 26*time.Hour:
			life = "expires within " + f.expires.Round(time.Second).String()
			transient += f.bytes
		default:
			standing += f.bytes
		}
		if i < 12 {
			fmt.Printf("    %-28s %6d keys %8.1f bytes/member  %s\n", f.name, f.keys, float64(f.bytes)/float64(members), life)
		}
	}
	fmt.Printf("  member state    %.0f bytes/member kept; %.0f more in keys that expire within a day (flood counters, update marks)\n",
		float64(standing)/float64(members), float64(transient)/float64(members))
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Printf("  bot memory      %.1f MiB heap in use after the run (latency samples: %.1f MiB of it)\n",
		float64(ms.HeapInuse)/(1<<20), float64(messages*8)/(1<<20))
	if !compare {
		return nil
	}
	cmd, err := capt.benchArgs(probeMember)
	if err != nil {
		fmt.Printf("redis-benchmark: not run: %v\n", err)
		return nil
	}
	if os.Getenv("QUNBOT_LOAD_SHOW") != "" {
		fmt.Printf("benchmark command: %q\n", cmd)
	}
	ceiling, err := redisBenchmark(opt, cmd, messages, members, 1)
	if err != nil {
		fmt.Printf("redis-benchmark: not run: %v\n", err)
		return nil
	}
	fmt.Printf("redis-benchmark -c 16 EVALSHA (the same script, keys and arguments): %.0f requests/s\n", ceiling)
	fmt.Printf("  ratio           %.2f of the Redis ceiling\n", rate/ceiling)
	piped, err := redisBenchmark(opt, cmd, messages, members, 16)
	if err != nil {
		fmt.Printf("redis-benchmark -P 16: not run: %v\n", err)
		return nil
	}
	fmt.Printf("redis-benchmark -c 16 -P 16 EVALSHA (pipelined): %.0f requests/s\n", piped)
	fmt.Printf("  ratio           %.2f of the pipelined ceiling\n", rate/piped)
	return nil
}

func usedMemory(ctx context.Context, c redis.UniversalClient) int64 {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`used_memory:(\d+)`).FindStringSubmatch(info)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// sampleMemory asks Redis (MEMORY USAGE) what a member's record (their
// share of the record buckets), a share of the last-active set and an
// update's mark cost.
func sampleMemory(ctx context.Context, c redis.UniversalClient, s *state.Store, members, groups, updates int) (member, active, dedupe float64) {
	var total int64
	for g := 0; g < groups; g++ {
		cmds, _ := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range s.Buckets("console:g"+strconv.Itoa(g), "mr").Keys() {
				p.MemoryUsage(ctx, k, 0)
			}
			return nil
		})
		for _, cmd := range cmds {
			total += cmd.(*redis.IntCmd).Val()
		}
	}
	member = float64(total) / float64(members)
	var zs int64
	for g := 0; g < groups; g++ {
		// the buckets of the group's last-active set, and its count
		cmds, _ := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range append(s.ActiveKeys("console:g"+strconv.Itoa(g)), s.Key("console:g"+strconv.Itoa(g), "active", "n")) {
				p.MemoryUsage(ctx, k, 0)
			}
			return nil
		})
		for _, cmd := range cmds {
			zs += cmd.(*redis.IntCmd).Val()
		}
	}
	active = float64(zs) / float64(members)
	// the update tables: every key of them, over the updates they hold
	var d int64
	iter := c.Scan(ctx, 0, s.GlobalKey("{*}:ud*"), 5000).Iterator()
	for iter.Next(ctx) {
		v, _ := c.MemoryUsage(ctx, iter.Val(), 0).Result()
		d += v
	}
	return member, active, float64(d) / float64(updates)
}

type family struct {
	name        string
	keys, bytes int64
	// expires is the longest time to live of its keys, 0 when one of them
	// never expires: a family that expires within the day (flood
	// counters, update marks) is not a member's standing cost
	expires time.Duration
	forever bool
}

var digits = regexp.MustCompile(`[0-9]+`)

// memoryByFamily sums MEMORY USAGE over every key under prefix, grouped by
// the key's shape after the group (digits folded), largest first: where a
// member's bytes go.
func memoryByFamily(ctx context.Context, c redis.UniversalClient, prefix string) []family {
	by := map[string]*family{}
	iter := c.Scan(ctx, 0, prefix+"*", 5000).Iterator()
	var keys []string
	flush := func() {
		cmds, _ := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.MemoryUsage(ctx, k, 0)
				p.PTTL(ctx, k)
			}
			return nil
		})
		for i := 0; i+1 < len(cmds); i += 2 {
			cmd, ttl := cmds[i], cmds[i+1].(*redis.DurationCmd).Val()
			name := keys[i/2]
			if j := strings.LastIndex(name, "}"); j >= 0 {
				name = name[j+1:]
			}
			name = digits.ReplaceAllString(name, "N")
			f := by[name]
			if f == nil {
				f = &family{name: name}
				by[name] = f
			}
			f.keys++
			f.bytes += cmd.(*redis.IntCmd).Val()
			switch ttl {
			case -1: // no expiry (go-redis passes PTTL's -1 and -2 through)
				f.forever = true
			case -2: // gone since the scan
			default:
				f.expires = max(f.expires, ttl)
			}
		}
		keys = keys[:0]
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			flush()
		}
	}
	flush()
	out := make([]family, 0, len(by))
	for _, f := range by {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b family) int { return int(b.bytes - a.bytes) })
	return out
}

var rpsRe = regexp.MustCompile(`([\d.]+) requests per second`)

func redisBenchmark(opt *redis.Options, cmd []string, n, members, pipeline int) (float64, error) {
	path, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark not installed (apt-get install redis-tools)")
	}
	host, port, _ := strings.Cut(opt.Addr, ":")
	args := []string{"-h", host, "-p", port, "--dbnum", strconv.Itoa(opt.DB), "-c", "16", "-P", strconv.Itoa(pipeline),
		"-n", strconv.Itoa(n), "-r", strconv.Itoa(members), "-q"}
	if opt.Password != "" {
		args = append(args, "-a", opt.Password)
	}
	args = append(args, cmd...)
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	m := rpsRe.FindAllStringSubmatch(string(out), -1)
	if m == nil {
		return 0, fmt.Errorf("unexpected output: %s", out)
	}
	return strconv.ParseFloat(m[len(m)-1][1], 64)
}

func clean(c redis.UniversalClient, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 5000).Iterator()
	batch := make([]string, 0, 1000)
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			c.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Unlink(ctx, batch...)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
