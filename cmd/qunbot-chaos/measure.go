package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/checkin"
)

type report struct {
	mode                string
	updates, acked      int
	handled, lost       int
	kills               int
	elapsed             time.Duration
	msgsShort           int // messages counted fewer than sent, summed over members
	msgsExtra           int // messages counted more than sent
	kpiShort, kpiExtra  int // the groups' day records' messages against those sent
	replies             int // commands answered exactly once
	repliesMissing      int
	repliesDoubled      int
	checkinsExpected    int
	checkinsCredited    int
	checkinsDoubled     int
	ledgerMismatch      int // members whose ledger does not add up to their balance
	inFlight            int // messages on their way to the API at a kill, not sent again
	expired             int // actions dropped because their time was up
	unknown             map[string]int
	lostIDs, missingIDs []string
}

func (r *report) clean() bool {
	return r.acked == r.updates && r.lost == 0 && r.msgsShort == 0 && r.msgsExtra == 0 && r.kpiShort == 0 && r.kpiExtra == 0 && r.repliesMissing == 0 &&
		r.repliesDoubled == 0 && r.checkinsCredited == r.checkinsExpected && r.checkinsDoubled == 0 && r.ledgerMismatch == 0
}

func (r *report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d updates in %s, %d kill -9\n", r.mode, r.updates, r.elapsed.Round(time.Second), r.kills)
	fmt.Fprintf(&b, "  acknowledged %d, handled %d, lost %d\n", r.acked, r.handled, r.lost)
	fmt.Fprintf(&b, "  messages counted per member: %d short, %d extra\n", r.msgsShort, r.msgsExtra)
	fmt.Fprintf(&b, "  messages in the groups' day records: %d short, %d extra\n", r.kpiShort, r.kpiExtra)
	fmt.Fprintf(&b, "  replies: %d once, %d missing, %d doubled\n", r.replies, r.repliesMissing, r.repliesDoubled)
	if r.inFlight > 0 {
		fmt.Fprintf(&b, "  messages on their way to the Bot API at a kill, not sent again (they may or may not have arrived): %d\n", r.inFlight)
	}
	if r.expired > 0 {
		fmt.Fprintf(&b, "  actions dropped because their time was up before they went out: %d\n", r.expired)
	}
	fmt.Fprintf(&b, "  check-ins: %d of %d credited, %d doubled; ledger ≠ balance for %d members\n",
		r.checkinsCredited, r.checkinsExpected, r.checkinsDoubled, r.ledgerMismatch)
	if len(r.lostIDs) > 0 {
		fmt.Fprintf(&b, "  lost update ids: %s\n", strings.Join(r.lostIDs[:min(20, len(r.lostIDs))], " "))
	}
	if len(r.missingIDs) > 0 {
		fmt.Fprintf(&b, "  updates without a reply: %s\n", strings.Join(r.missingIDs[:min(20, len(r.missingIDs))], " "))
	}
	if len(r.unknown) > 0 {
		fmt.Fprintf(&b, "  Bot API methods the fake does not know: %v\n", r.unknown)
	}
	return b.String()
}

func flushRedis(ctx context.Context, url string) error {
	rdb, err := client(url)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return fmt.Errorf("flush %s: %w", url, err)
	}
	return nil
}

func client(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	return redis.NewClient(opt), nil
}

func groupKey(g int) string { return "telegram:" + strconv.FormatInt(chatID(g), 10) }

// measure reads what the replicas left in Redis and what the fake API
// recorded.
func measure(ctx context.Context, o options, w workload, api *botAPI, mode string, acked, kills int, elapsed time.Duration) (*report, error) {
	rdb, err := client(o.redisURL)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	s := state.New(rdb, "qb:")
	r := &report{mode: mode, updates: len(w.updates), acked: acked, kills: kills, elapsed: elapsed}

	// Handled: the update's work is recorded as done.
	marks, err := doneMarks(ctx, rdb, w)
	if err != nil {
		return nil, err
	}
	for i, m := range marks {
		if m == "d" {
			r.handled++
		} else if i < acked {
			r.lost++
			r.lostIDs = append(r.lostIDs, fmt.Sprintf("%d(%q)", i+1, m))
		}
	}

	// Messages per member, against what each member sent.
	sent := map[[2]int]int64{}
	for i := range w.updates {
		sent[[2]int{w.group[i], w.member[i]}]++
	}
	for gm, want := range sent {
		m, err := s.Member(ctx, groupKey(gm[0]), strconv.Itoa(gm[1]))
		if err != nil {
			return nil, err
		}
		if m.Messages < want {
			r.msgsShort += int(want - m.Messages)
		} else {
			r.msgsExtra += int(m.Messages - want)
		}
	}

	// The day records: every message (commands too) once, whichever
	// replica recorded it and however often it was killed.
	perGroup := map[int]int64{}
	for gm, n := range sent {
		perGroup[gm[0]] += n
	}
	for g, want := range perGroup {
		var got int64
		iter := rdb.Scan(ctx, 0, "qb:{"+groupKey(g)+"}:kpi:*", 1000).Iterator()
		for iter.Next(ctx) {
			if strings.HasSuffix(iter.Val(), ":hll") {
				continue
			}
			n, err := rdb.HGet(ctx, iter.Val(), "msgs").Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, err
			}
			got += n
		}
		if err := iter.Err(); err != nil {
			return nil, err
		}
		if got < want {
			r.kpiShort += int(want - got)
		} else {
			r.kpiExtra += int(got - want)
		}
	}

	// Replies: one sendMessage replying to each command.
	got, _, _ := api.replies()
	for i, c := range w.command {
		if c == "" {
			continue
		}
		switch n := got[sentKey{strconv.FormatInt(chatID(w.group[i]), 10), i + 1}]; {
		case n == 0:
			r.repliesMissing++
			r.missingIDs = append(r.missingIDs, strconv.Itoa(i+1))
		case n == 1:
			r.replies++
		default:
			r.repliesDoubled++
		}
	}

	// Points: check-ins credited once; each ledger adds up to its balance.
	r.checkinsExpected = len(w.checkins)
	for g := range o.groups {
		sums, credits := map[string]int64{}, map[string]int{}
		err := checkin.NewLedger(s, groupKey(g), 0).Entries(ctx, func(e checkin.Entry) error {
			sums[e.Member] += e.Delta
			if e.Reason == "checkin" {
				credits[e.Member]++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		members := make([]string, 0, len(sums))
		for m := range sums {
			members = append(members, m)
		}
		slices.Sort(members)
		for _, id := range members {
			m, err := s.Member(ctx, groupKey(g), id)
			if err != nil {
				return nil, err
			}
			if bal, _ := strconv.ParseInt(m.Fields["pts"], 10, 64); bal != sums[id] {
				r.ledgerMismatch++
			}
			n := credits[id]
			if n >= 1 {
				r.checkinsCredited++
			}
			if n > 1 {
				r.checkinsDoubled += n - 1
			}
		}
	}
	return r, nil
}

// doneMarks reads each update's dedupe mark ("d" once its work is done).
func doneMarks(ctx context.Context, rdb *redis.Client, w workload) ([]string, error) {
	s := state.New(rdb, "qb:")
	us := make([]state.Update, len(w.updates))
	for i := range w.updates {
		us[i] = state.Update{Group: groupKey(w.group[i]), ID: "tg:" + strconv.Itoa(i+1)}
	}
	out, err := s.UpdateStates(ctx, us)
	if err != nil {
		return nil, fmt.Errorf("read update marks: %w", err)
	}
	return out, nil
}

// waitDone waits until every update is marked done, or for patience.
func waitDone(ctx context.Context, url string, w workload, patience time.Duration) error {
	rdb, err := client(url)
	if err != nil {
		return err
	}
	defer rdb.Close()
	deadline := time.Now().Add(patience)
	for {
		marks, err := doneMarks(ctx, rdb, w)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(marks, func(m string) bool { return m != "d" }) || time.Now().After(deadline) {
			return nil
		}
		time.Sleep(time.Second)
	}
}
