// Command qunbot-chaos checks that intake is exactly once when replicas
// crash: it serves a fake Telegram Bot API on loopback, runs two `qunbot
// run` processes on one Redis, feeds them updates by polling or by
// webhook, and kills one of them with SIGKILL at random moments (a
// supervisor restarts it). Then it reads the outcome from the fake's
// records and from Redis:
//
//   - acknowledged: updates Telegram would not send again (confirmed by a
//     later getUpdates offset; answered 200 to the webhook);
//   - handled: updates whose work is recorded as done;
//   - lost: acknowledged but not handled;
//   - messages counted per member against the updates each member sent
//     (fewer = lost, more = doubled: an independent check of the above);
//   - replies: every command (/checkin, /points) must get exactly one
//     sendMessage replying to it (missing, doubled);
//   - points: the ledger must add up to every balance, and every member
//     who checked in was credited once.
//
// It flushes the Redis database it is given.
//
//	go run ./cmd/qunbot-chaos -updates 20000 -kills 5
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	redisURL string
	bin      string
	updates  int
	members  int
	groups   int
	rate     int
	kills    int
	commands float64
	modes    []string
	seed     uint64
	keep     bool
}

func main() {
	var o options
	var modes string
	flag.StringVar(&o.redisURL, "redis", envOr("QUNBOT_REDIS_URL", "redis://127.0.0.1:6379/15"), "Redis URL (the database is flushed)")
	flag.StringVar(&o.bin, "bin", "", "qunbot binary (default: go build ./cmd/qunbot)")
	flag.IntVar(&o.updates, "updates", 20000, "updates per mode")
	flag.IntVar(&o.members, "members", 500, "members")
	flag.IntVar(&o.groups, "groups", 20, "groups")
	flag.IntVar(&o.rate, "rate", 400, "updates offered per second")
	flag.IntVar(&o.kills, "kills", 5, "at least this many kill -9 per mode (0: none, a calibration run)")
	flag.Float64Var(&o.commands, "commands", 0.25, "share of updates that are commands needing a reply")
	flag.StringVar(&modes, "modes", "polling,webhook", "modes to run")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed (updates and kill times)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (configs, replica logs)")
	flag.Parse()
	o.modes = strings.Split(modes, ",")
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "qunbot-chaos:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "qunbot-chaos-")
	if err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Println("work directory:", dir)
	}
	if o.bin == "" {
		o.bin = filepath.Join(dir, "qunbot")
		build := exec.Command("go", "build", "-o", o.bin, "./cmd/qunbot")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build qunbot (run from the module root or pass -bin): %w", err)
		}
	}
	failed := false
	for _, mode := range o.modes {
		rep, err := runMode(ctx, o, dir, mode)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		fmt.Print(rep)
		failed = failed || !rep.clean()
	}
	if failed {
		return errors.New("updates were lost or doubled, or replies missing or doubled")
	}
	return nil
}

// workload is the updates of a run and what each should cause.
type workload struct {
	updates  [][]byte
	group    []int    // update → group index
	member   []int    // update → member id
	command  []string // update → "" or the command
	checkins map[[2]int]bool
}

func chatID(g int) int64 { return -1001000000000 - int64(g) }

func makeWorkload(o options) workload {
	r := rand.New(rand.NewPCG(o.seed, 7))
	w := workload{checkins: map[[2]int]bool{}}
	// each message is dated when it is offered (replies that clean
	// themselves up expire a minute after their message, as in a group)
	start := time.Now().Add(2 * time.Second)
	for i := 1; i <= o.updates; i++ {
		now := start.Add(time.Duration(i) * time.Second / time.Duration(max(o.rate, 1))).Unix()
		g := r.IntN(o.groups)
		m := 100 + r.IntN(o.members)
		text, cmd := fmt.Sprintf("message %d from %d", i, m), ""
		if r.Float64() < o.commands {
			cmd = "/points"
			if !w.checkins[[2]int{g, m}] {
				cmd = "/checkin"
				w.checkins[[2]int{g, m}] = true
			}
			text = cmd
		}
		msg := map[string]any{
			"message_id": i, "date": now,
			"chat": map[string]any{"id": chatID(g), "type": "supergroup", "title": fmt.Sprintf("Group %d", g)},
			"from": map[string]any{"id": m, "is_bot": false, "first_name": fmt.Sprintf("M%d", m)},
			"text": text,
		}
		if cmd != "" {
			msg["entities"] = []map[string]any{{"type": "bot_command", "offset": 0, "length": len(cmd)}}
		}
		b, _ := json.Marshal(map[string]any{"update_id": i, "message": msg})
		w.updates = append(w.updates, b)
		w.group = append(w.group, g)
		w.member = append(w.member, m)
		w.command = append(w.command, cmd)
	}
	return w
}

const (
	token  = "123456:CHAOS"
	secret = "chaos-secret"
)

func replicaConfig(redisURL, listen, api, mode string) string {
	return fmt.Sprintf(`timezone: UTC
locale: en
redis: { url: %q }
http: { listen: %q }
adapters:
  telegram:
    token: %q
    api_url: %q
    mode: %s
    webhook: { url: "https://bot.example.com/telegram", path: /telegram, secret: %q }
    poll_timeout: 1s
    limits: { global: unlimited, per_group: unlimited, per_private: unlimited, moderation: unlimited, workers: 8 }
flows:
  checkin: { points: 10 }
`, redisURL, listen, token, api, mode, secret)
}

func runMode(ctx context.Context, o options, dir, mode string) (*report, error) {
	if mode != "polling" && mode != "webhook" {
		return nil, fmt.Errorf("unknown mode %q (polling, webhook)", mode)
	}
	if err := flushRedis(ctx, o.redisURL); err != nil {
		return nil, err
	}
	w := makeWorkload(o)
	api := newBotAPI(token, w.updates)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: api}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var reps []*replica
	for i := range 2 {
		listen, err := freePort()
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("%s-%d", mode, i+1)
		r, err := newReplica(dir, name, o.bin, replicaConfig(o.redisURL, listen, "http://"+ln.Addr().String(), mode), listen)
		if err != nil {
			return nil, err
		}
		if err := r.start(); err != nil {
			return nil, err
		}
		defer r.kill(syscall.SIGKILL)
		reps = append(reps, r)
	}
	for _, r := range reps {
		if err := r.ready(30 * time.Second); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	rnd := rand.New(rand.NewPCG(o.seed, 11))

	// Offer updates at the rate; in webhook mode, deliver them.
	var webAcked atomic.Int64
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		per := max(1, o.rate/100)
		for n := 0; n < len(w.updates); n += per {
			<-tick.C
			api.release(per)
		}
	}()
	var deliverers sync.WaitGroup
	if mode == "webhook" {
		deliverers.Add(1)
		go func() { defer deliverers.Done(); deliverWebhooks(api, reps, len(w.updates), &webAcked) }()
	}
	acked := func() int {
		if mode == "webhook" {
			return int(webAcked.Load())
		}
		a, _ := api.pollAcked()
		return a
	}

	// Kill a random replica every 1-4 s until the feed is over and enough
	// kills were made; a supervisor restarts it 0.3-1.5 s later.
	kills, lastKill := 0, time.Now()
	for o.kills > 0 {
		time.Sleep(time.Duration(1000+rnd.IntN(3000)) * time.Millisecond)
		fed := false
		select {
		case <-feedDone:
			fed = true
		default:
		}
		if fed && (kills >= o.kills || acked() == len(w.updates)) {
			break
		}
		victim := reps[rnd.IntN(len(reps))]
		victim.kill(syscall.SIGKILL)
		kills, lastKill = kills+1, time.Now()
		time.Sleep(time.Duration(300+rnd.IntN(1200)) * time.Millisecond)
		if err := victim.start(); err != nil {
			return nil, err
		}
	}
	<-feedDone
	// Wait for every update to be acknowledged, then for the replies to
	// settle (no new sendMessage for 10 s, or every expected reply seen).
	wantReplies := 0
	for _, c := range w.command {
		if c != "" {
			wantReplies++
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for acked() < len(w.updates) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		_, sends, last := api.replies()
		if sends >= wantReplies && time.Since(last) > 2*time.Second || time.Since(last) > 10*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A dead replica's webhook work is reclaimed after its inbox lease
	// (10 s) and taken over after the update's lease (15 s); its outbox
	// journal is adopted after its lease (15 s). Wait for every update to
	// be done, or a minute, and then for a quiet spell for the replies.
	if err := waitDone(ctx, o.redisURL, w, time.Minute); err != nil {
		return nil, err
	}
	for time.Now().Before(deadline) {
		_, _, last := api.replies()
		if time.Since(last) > 5*time.Second && time.Since(lastKill) > 25*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(start)
	for _, r := range reps {
		r.kill(syscall.SIGTERM)
	}
	deliverers.Wait()
	rep, err := measure(ctx, o, w, api, mode, acked(), kills, elapsed)
	if err != nil {
		return nil, err
	}
	for _, r := range reps {
		rep.inFlight += countLines(r.logPath, "a message being sent when its process stopped is not sent again")
		rep.expired += countLines(r.logPath, `"why":"expired"`)
	}
	api.mu.Lock()
	rep.unknown = api.unknown
	api.mu.Unlock()
	return rep, nil
}

// deliverWebhooks is Telegram's side of a webhook: up to 8 requests at
// once, each update retried (on the other replica, as a load balancer
// would) until it is answered 2xx.
func deliverWebhooks(api *botAPI, reps []*replica, total int, acked *atomic.Int64) {
	var next atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for worker := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) // update_id
				if i > total {
					return
				}
				for {
					_, avail := api.pollAcked()
					if i <= avail {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				for attempt := 0; ; attempt++ {
					r := reps[(i+attempt+worker)%len(reps)]
					if deliver(client, r, api.updates[i-1]) {
						acked.Add(1)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}

func deliver(c *http.Client, r *replica, body []byte) bool {
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.listen+"/telegram", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

// countLines counts the lines of a file that contain s.
func countLines(path, s string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), s)
}
