package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
)

// Forgetting a member leaves nothing of them in the group's keys but the
// moderation record, and what /mydata shows them covers every key they
// are found in. Each transcript (a group's life: joins, check-ins,
// invites, questionnaires, votes, lotteries, events, wake-ups, spam) is
// run; every member it names is then forgotten in every group, and every
// key, field, member, value and stream entry in Redis is searched for
// their id. What may remain is listed in allowedLeft, with the reason.
func TestForgetLeavesNothing(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "testdata/transcripts/*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := runTranscript(t, string(in))
			c, _ := redistest.Client(t)
			prefix := e.getenv("QUNBOT_REDIS_PREFIX")
			ctx := context.Background()
			members := transcriptMembers(string(in))
			groups := map[string]bool{}
			for _, k := range allKeys(t, c, prefix) {
				if g, ok := groupOf(k, prefix); ok && !strings.HasPrefix(g, "console:@") {
					groups[g] = true
				}
			}
			if len(members) > 0 && len(occurrences(t, c, prefix, members)) == 0 {
				t.Fatalf("the search finds none of %v before forgetting them", members)
			}
			s := state.New(c, prefix)
			// what /mydata shows covers every key the member is found in
			for g := range groups {
				for m := range members {
					data, err := s.MemberData(ctx, g, m)
					if err != nil {
						t.Fatal(err)
					}
					shown := map[string]bool{}
					for _, d := range data {
						shown[d.Key] = true
					}
					for _, where := range occurrences(t, c, prefix, map[string]bool{m: true}) {
						key, _, _ := strings.Cut(where, " ")
						rest, ok := strings.CutPrefix(key, "{"+g+"}:")
						if !ok || allowedLeft(where) && !strings.Contains(where, ":modlog") {
							continue // transient, or kept outside the group
						}
						if strings.HasPrefix(rest, "mr:") && shown["invitees:"+m] {
							continue // an invitee's record names its inviter: shown as the inviter's invitees
						}
						if !shown[rest] {
							t.Errorf("%s in %s: /mydata leaves out %s", m, g, where)
						}
					}
				}
			}
			for g := range groups {
				for m := range members {
					if _, err := s.ForgetMember(ctx, g, m); err != nil {
						t.Fatal(err)
					}
				}
				if kept, counted := presentCounts(t, c, s, g); kept != counted {
					t.Errorf("%s: the kept member count is %d, the last-active buckets hold %d", g, kept, counted)
				}
			}
			for _, left := range occurrences(t, c, prefix, members) {
				if !allowedLeft(left) {
					t.Errorf("left after forgetting: %s", left)
				}
			}
		})
	}
}

// allowedLeft: what forgetting keeps, or leaves to expire.
func allowedLeft(where string) bool {
	for _, re := range allowed {
		if re.MatchString(where) {
			return true
		}
	}
	return false
}

var allowed = []*regexp.Regexp{
	regexp.MustCompile(`^\{console:[^@}][^}]*\}:(modlog|warns:)`),  // the moderation record (kept)
	regexp.MustCompile(`^\{console:@`),                             // a private chat: /forgetme there
	regexp.MustCompile(`^\{jobs\}`),                                // pending jobs: gone when they run
	regexp.MustCompile(`^\{perk:[^}]*\}:given`),                    // which perk code went to whom (kept)
	regexp.MustCompile(`^rep:`),                                    // open reports: expire in a day
	regexp.MustCompile(`^\{console:[^}]*\}:w_batch `),              // a welcome being batched: seconds
	regexp.MustCompile(`^\{console:[^}]*\}:fl:c:`),                 // a flood counter: minutes
	regexp.MustCompile(`^(verify:request|survey:active|ans:qid):`), // a challenge or questionnaire in progress
	regexp.MustCompile(`^\{fed:[^}]*\}`),                           // a federation's ban list (kept)
	regexp.MustCompile(`^\{console:[^}]*\}:dash:reviewed `),        // the dashboard's reviewed removals
}

var nameLine = regexp.MustCompile(`(?m)^(?:join |leave )?([a-z]+)(?::|\s*$)`)

// transcriptMembers are the members a transcript names, moderators aside.
func transcriptMembers(in string) map[string]bool {
	out := map[string]bool{}
	for _, m := range nameLine.FindAllStringSubmatch(in, -1) {
		switch m[1] {
		case "mod", "boss", "advance", "join", "leave", "press", "nonsense", "members":
			continue
		}
		out[m[1]] = true
	}
	return out
}

func allKeys(t *testing.T, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func groupOf(key, prefix string) (string, bool) {
	k := strings.TrimPrefix(key, prefix)
	if !strings.HasPrefix(k, "{") {
		return "", false
	}
	end := strings.IndexByte(k, '}')
	if end < 0 {
		return "", false
	}
	return k[1:end], strings.HasPrefix(k[1:end], "console:")
}

func presentCounts(t *testing.T, c redis.UniversalClient, s *state.Store, group string) (kept, counted int64) {
	t.Helper()
	ctx := context.Background()
	kept, _ = c.Get(ctx, s.Key(group, "active", "n")).Int64()
	for _, k := range s.ActiveKeys(group) {
		n, err := c.ZCard(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		counted += n
	}
	return kept, counted
}

var token = regexp.MustCompile(`[A-Za-z0-9_]+`)

// occurrences lists where a member id appears as a whole word: in a key's
// name, a hash's field or value, a set's member, a list's or a string's
// value, a stream entry's field.
func occurrences(t *testing.T, c redis.UniversalClient, prefix string, members map[string]bool) []string {
	t.Helper()
	ctx := context.Background()
	has := func(s string) bool {
		for _, w := range token.FindAllString(s, -1) {
			if members[w] {
				return true
			}
		}
		return false
	}
	var out []string
	for _, k := range allKeys(t, c, prefix) {
		short := strings.TrimPrefix(k, prefix)
		if has(short) {
			out = append(out, short+" (its name)")
			continue
		}
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		switch typ {
		case "hash":
			m, _ := c.HGetAll(ctx, k).Result()
			for f, v := range m {
				vals = append(vals, f, v)
			}
		case "zset":
			vals, _ = c.ZRange(ctx, k, 0, -1).Result()
		case "set":
			vals, _ = c.SMembers(ctx, k).Result()
		case "list":
			vals, _ = c.LRange(ctx, k, 0, -1).Result()
		case "string":
			v, _ := c.Get(ctx, k).Result()
			vals = []string{v}
		case "stream":
			xs, _ := c.XRange(ctx, k, "-", "+").Result()
			for _, x := range xs {
				for f, v := range x.Values {
					vals = append(vals, f+"="+fmt.Sprint(v))
				}
			}
		}
		for _, v := range vals {
			if has(v) {
				out = append(out, fmt.Sprintf("%s %s: %.80q", short, typ, v))
				break
			}
		}
	}
	return out
}

// qunbot member-data shows, and qunbot forget erases, a member in every
// group of the platform and their private chat, or in one group; forget
// refuses to run without a member and a scope.
func TestForgetCommand(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(repoRoot, "testdata/transcripts/checkin.txt"))
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(repoRoot, header(t, string(in))["config"])
	e, _ := runTranscript(t, string(in))
	c, _ := redistest.Client(t)
	prefix := e.getenv("QUNBOT_REDIS_PREFIX")
	run := func(args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := runCLI(context.Background(), append([]string{"forget", "-c", config}, args...), env{stdin: strings.NewReader(""), stdout: &out, stderr: &errs, getenv: e.getenv})
		return code, out.String(), errs.String()
	}
	for _, args := range [][]string{{}, {"--member", "alice"}, {"--group", "console:club"}, {"--member", "alice", "--group", "console:club", "--platform", "console"}, {"--member", "alice", "--platform", "irc"}} {
		if code, _, _ := run(args...); code == 0 {
			t.Errorf("forget %v: exit 0", args)
		}
	}
	if left := occurrences(t, c, prefix, map[string]bool{"alice": true}); len(left) == 0 {
		t.Fatal("alice is nowhere before she is forgotten")
	}
	var data bytes.Buffer
	code := runCLI(context.Background(), []string{"member-data", "-c", config, "--member", "alice", "--platform", "console"},
		env{stdin: strings.NewReader(""), stdout: &data, stderr: io.Discard, getenv: e.getenv})
	var doc struct {
		Member string
		Chats  []struct {
			Chat string
			Data []state.Datum
		}
	}
	if err := json.Unmarshal(data.Bytes(), &doc); code != 0 || err != nil || doc.Member != "alice" || len(doc.Chats) != 1 || doc.Chats[0].Chat != "console:club" || len(doc.Chats[0].Data) < 5 {
		t.Fatalf("member-data: exit %d, %v\n%s", code, err, data.String())
	}
	code, out, stderr := run("--member", "alice", "--platform", "console")
	if code != 0 || !strings.Contains(out, "console:club:") || !strings.Contains(stderr, "forgot alice") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, left := range occurrences(t, c, prefix, map[string]bool{"alice": true}) {
		if !allowedLeft(left) || strings.HasPrefix(left, "{console:@alice}") {
			t.Errorf("left: %s", left)
		}
	}
	if left := occurrences(t, c, prefix, map[string]bool{"bob": true}); len(left) == 0 {
		t.Error("bob went too")
	}
}
