package state

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Datum is one thing a group keeps about a member, for a member's request
// to see their data (PIPL art. 45, GDPR art. 15).
type Datum struct {
	// Key is where it is kept, within the group: "mr:812" (the member
	// record's bucket), "points" (the points board), "tag:vip".
	Key string `json:"key"`
	// Kind: "record" (the member record, its fields by name), "field" (a
	// hash field: a vote, a purchase count), "entry" (a set or board
	// entry, with its score), "line" (a ledger or moderation log line),
	// "key" (a key of the member's own: questionnaire answers, invitees).
	Kind  string `json:"kind"`
	Value any    `json:"value"`
}

// MemberData collects what a group keeps about a member: every key that
// ForgetMember would erase from, and the moderation log and warnings it
// keeps. It walks the group's keys as ForgetMember does.
func (s *Store) MemberData(ctx context.Context, group, member string) ([]Datum, error) {
	if member == "" {
		return nil, fmt.Errorf("member data: no member id")
	}
	w := who{member: true}
	mk, err := s.sortKeys(ctx, group, w)
	if err != nil {
		return nil, wrap("member data", err)
	}
	var out []Datum
	short := func(k string) string { return strings.TrimPrefix(k, mk.base) }
	// what is named for them: the whole key
	own := append(append([]string(nil), mk.own...), filterKept(mk, member)...)
	for _, k := range own {
		v, err := dump(ctx, s.rdb, k)
		if err != nil {
			return nil, wrap("member data: "+k, err)
		}
		out = append(out, Datum{Key: short(k), Kind: "key", Value: v})
	}
	// their entry in what is shared
	scores := make([]*redis.FloatCmd, len(mk.shared))
	fields := make([]*redis.MapStringStringCmd, len(mk.shared))
	err = batches(ctx, s.rdb, len(mk.shared), func(p redis.Pipeliner, i int) func() error {
		switch mk.types[i] {
		case "zset":
			scores[i] = p.ZScore(ctx, mk.shared[i], member)
		case "set":
			c := p.SIsMember(ctx, mk.shared[i], member)
			return func() error {
				if c.Val() {
					out = append(out, Datum{Key: short(mk.shared[i]), Kind: "entry", Value: member})
				}
				return c.Err()
			}
		case "hash":
			fields[i] = p.HGetAll(ctx, mk.shared[i])
		}
		return func() error { return nil }
	})
	if err != nil {
		return nil, wrap("member data: read entries", err)
	}
	for i, k := range mk.shared {
		switch {
		case scores[i] != nil && scores[i].Err() == nil:
			out = append(out, Datum{Key: short(k), Kind: "entry", Value: scores[i].Val()})
		case fields[i] != nil && isAbout(fields[i].Val(), w):
			out = append(out, Datum{Key: short(k), Kind: "key", Value: fields[i].Val()})
		case fields[i] != nil:
			family, _, _ := strings.Cut(short(k), ":")
			for f, v := range fields[i].Val() {
				if !holds(family, f, v, w) {
					continue
				}
				if family == "mr" && f == member {
					rec := map[string]string{}
					decodeRecord(v, rec)
					out = append(out, Datum{Key: short(k), Kind: "record", Value: rec})
					continue
				}
				out = append(out, Datum{Key: short(k), Kind: "field", Value: map[string]string{f: v}})
			}
		case mk.types[i] == "stream":
			lines, err := streamAbout(ctx, s.rdb, k, w)
			if err != nil {
				return nil, wrap("member data: "+k, err)
			}
			for _, l := range lines {
				out = append(out, Datum{Key: short(k), Kind: "line", Value: l})
			}
		}
	}
	for _, k := range mk.kept {
		if strings.HasSuffix(k, ":modlog") {
			lines, err := streamAbout(ctx, s.rdb, k, w)
			if err != nil {
				return nil, wrap("member data: "+k, err)
			}
			for _, l := range lines {
				out = append(out, Datum{Key: short(k), Kind: "line", Value: l})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// filterKept are the kept keys named for the member: their warnings. Only
// that family: a dedupe bucket or a day's figures may end with a number
// that a member id equals, and they are the group's, not the member's.
func filterKept(mk memberKeys, member string) []string {
	var out []string
	for _, k := range mk.kept {
		if k == mk.base+"warns:"+member {
			out = append(out, k)
		}
	}
	return out
}

// dump reads a whole key as plain values.
func dump(ctx context.Context, rdb redis.UniversalClient, k string) (any, error) {
	typ, err := rdb.Type(ctx, k).Result()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "hash":
		return rdb.HGetAll(ctx, k).Result()
	case "zset":
		zs, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		out := make(map[string]float64, len(zs))
		for _, z := range zs {
			out[fmt.Sprint(z.Member)] = z.Score
		}
		return out, err
	case "set":
		return rdb.SMembers(ctx, k).Result()
	case "list":
		return rdb.LRange(ctx, k, 0, -1).Result()
	case "string":
		return rdb.Get(ctx, k).Result()
	}
	return nil, nil
}

// streamAbout are a stream's entries about the member (see about), with
// their ids.
func streamAbout(ctx context.Context, rdb redis.UniversalClient, k string, w who) ([]map[string]any, error) {
	var out []map[string]any
	start := "-"
	for {
		xs, err := rdb.XRangeN(ctx, k, start, "+", 1000).Result()
		if err != nil {
			return out, err
		}
		for _, x := range xs {
			if about(x, w) {
				l := map[string]any{"id": x.ID}
				for f, v := range x.Values {
					l[f] = v
				}
				out = append(out, l)
			}
		}
		if len(xs) < 1000 {
			return out, nil
		}
		start = "(" + xs[len(xs)-1].ID
	}
}
