package federation_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/flows/federation"
	"github.com/qunbot/qunbot/flows/verify"
)

const conf = `
locale: en
moderators: ["console:mod"]
flows:
  federation: {name: brand}
  verify: {method: button}
groups:
  "console:other":
    federation: {name: elsewhere}
  "console:g2": {}
`

func flows() []engine.Flow { return []engine.Flow{federation.Flow{}, verify.Flow{}} }

func in(group string) bot.Chat { return bot.Chat{Key: group, Type: bot.ChatGroup, Title: group} }

func say(h *bottest.Harness, group, who, text string) []bot.Action {
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventMessage, Chat: in(group), Member: bottest.Member(who), Text: text, MessageID: "m-" + text})
	return h.Out.Take()
}

func count(acts []bot.Action, typ bot.ActionType, who string) map[string]int {
	out := map[string]int{}
	for _, a := range acts {
		if a.Type == typ && a.Member.ID == who {
			out[a.Chat]++
		}
	}
	return out
}

func TestFederationAcrossGroupsAndReplicas(t *testing.T) {
	a := bottest.New(t, flows(), conf)
	b := bottest.New(t, flows(), conf, a.Prefix) // another replica
	for _, g := range []string{bottest.Group, "console:g2", "console:other"} {
		a.Event(bot.Event{Kind: bot.EventMessage, Chat: in(g), Member: bottest.Member("mod"), Text: "hello", MessageID: "hi-" + g})
	}
	a.Event(bot.Event{Kind: bot.EventMessage, Chat: in("console:g2"), Member: bottest.Member("spammer"), Text: "buy", MessageID: "s1"})

	acts := say(a, bottest.Group, "mod", "/fban 4242 crypto scam")
	bans := count(acts, bot.ActBan, "4242")
	if bans[bottest.Group] != 1 || bans["console:g2"] != 1 || bans["console:other"] != 0 {
		t.Fatalf("/fban bans %v, want both brand groups and not the other federation's: %s", bans, bottest.Summary(acts))
	}
	if got := bottest.Summary(say(b, "console:g2", "mod", "/fban 4242 again")); !strings.Contains(got, "send") || strings.Contains(got, "ban:") {
		t.Errorf("a second /fban: %s", got)
	}
	// the member joins a brand group through the other replica: banned
	// before verification, no challenge
	b.Out.Take()
	b.Event(bot.Event{Kind: bot.EventJoin, Chat: in("console:g2"), Member: bottest.Member("4242")})
	acts = b.Out.Take()
	if n := count(acts, bot.ActBan, "4242")["console:g2"]; n != 1 || len(acts) != 1 {
		t.Errorf("a banned member's join: %s", bottest.Summary(acts))
	}
	// a join request is declined
	b.Event(bot.Event{Kind: bot.EventJoinRequest, Chat: in(bottest.Group), Member: bottest.Member("4242")})
	if got := bottest.Summary(b.Out.Take()); got != "decline:4242" {
		t.Errorf("a banned member's join request: %s", got)
	}
	// the other federation's group lets them in (verification as usual)
	b.Event(bot.Event{Kind: bot.EventJoin, Chat: in("console:other"), Member: bottest.Member("4242")})
	if got := bottest.Summary(b.Out.Take()); strings.Contains(got, "ban:") {
		t.Errorf("another federation's group banned: %s", got)
	}
	// an admin cannot be federation-banned, however named
	boss := bottest.Member("boss")
	boss.IsAdmin = true
	a.Event(bot.Event{Kind: bot.EventMessage, Chat: in(bottest.Group), Member: boss, Text: "hi", MessageID: "b1"})
	a.Out.Admins = map[string]bool{"boss": true}
	for _, c := range []string{"/fban @boss", "/fban boss"} {
		if got := bottest.Summary(say(a, bottest.Group, "mod", c)); strings.Contains(got, "ban:") {
			t.Errorf("%s: %s", c, got)
		}
	}
	acts = say(a, bottest.Group, "mod", "/unfban 4242")
	if unbans := count(acts, bot.ActUnban, "4242"); unbans[bottest.Group] != 1 || unbans["console:g2"] != 1 || unbans["console:other"] != 0 {
		t.Errorf("/unfban unbans %v", unbans)
	}
	if got := said(say(a, bottest.Group, "mod", "/unfban 4242")); !strings.Contains(got, "nothing changed") {
		t.Errorf("a second /unfban: %s", got)
	}
	if got := said(say(a, bottest.Group, "eve", "/fban @spammer")); !strings.Contains(got, "moderators") {
		t.Errorf("/fban from a member: %s", got)
	}
}

func said(acts []bot.Action) string {
	var s []string
	for _, a := range acts {
		s = append(s, a.Text)
	}
	return strings.Join(s, "\n")
}

func TestImportAndExport(t *testing.T) {
	h := bottest.New(t, flows(), conf)
	ctx := context.Background()
	list := "\ufeffuser_id,offenses,time_added\n123456789,3,2024-01-01\n\n# a comment\n987654321\nnot-an-id\n123456789\n"
	res, err := federation.Import(ctx, h.Store, "brand", "console", "CAS", strings.NewReader(list), h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || res.Already != 1 || len(res.Skipped) != 4 {
		t.Errorf("import: %+v, want 2 added, 1 already, lines 1,3,4,6 skipped", res)
	}
	var buf bytes.Buffer
	n, err := federation.Export(ctx, h.Store, "brand", &buf)
	if err != nil || n != 2 || !strings.Contains(buf.String(), "console,123456789,import,CAS") {
		t.Fatalf("export: %d %v\n%s", n, err, buf.String())
	}
	// the export imports into another federation, its platform column kept
	res, err = federation.Import(ctx, h.Store, "other", "wecom", "", &buf, h.Clock.Now())
	if err != nil || res.Added != 2 || len(res.Skipped) != 1 {
		t.Errorf("re-import: %+v %v", res, err)
	}
	if ok, _ := federation.Banned(ctx, h.Store, "other", "console:987654321"); !ok {
		t.Error("re-imported entry lost its platform")
	}
	// an imported id is refused at join
	h.Out.Take()
	h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("987654321")})
	if got := bottest.Summary(h.Out.Take()); !strings.Contains(got, "ban:987654321") {
		t.Errorf("imported id joining: %s", got)
	}
	if got := said(say(h, bottest.Group, "mod", "/fbanlist")); !strings.Contains(got, "2 members") {
		t.Errorf("/fbanlist: %s", got)
	}
	acts := say(h, bottest.Group, "mod", "/fbanlist")
	if len(acts) != 1 || acts[0].File == nil || !bytes.Contains(acts[0].File.Data, []byte("987654321")) {
		t.Errorf("/fbanlist sends no CSV file: %+v", acts)
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"123", "user_id,offenses", "telegram,42,mod,spam", " 77 ", "\ufeff1", "-100,x", "a:b,1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		key, ok := federation.ParseLine(line, "telegram")
		if !ok {
			return
		}
		p, id, found := strings.Cut(key, ":")
		if !found || p == "" || id == "" || strings.ContainsAny(id, ": ,") || !utf8.ValidString(key) {
			t.Errorf("%q → %q", line, key)
		}
	})
}
