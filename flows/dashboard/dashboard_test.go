package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/dashboard"
)

const conf = `
locale: en
flows:
  adfilter:
    keywords: [{words: [刷单]}]
    newcomer: {messages: 0, for: 0s}
    ladder: {steps: [{at: 1, action: warn}]}
  checkin:
    activity: { points: 1, daily_cap: 5 }
  stats: {}
  posts:
    items: [{name: morning, cron: "0 9 * * *", text: "早安，今天的咖啡小知识"}]
  wakeup:
    tiers: {silent: 7d, churned: 30d}
    stages: [{after: 7d, text: "we miss you"}]
moderators: ["console:mod"]
`

const token = "s3cret-operator-token"

type fixture struct {
	h    *bottest.Harness
	dash *dashboard.Server
	srv  *httptest.Server
}

// newFixture runs a group for 20 days through the real engine and flows
// (members join and speak, check in, one sends spam) and serves the
// console over it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	h := bottest.New(t, flows.Builtin(), conf)
	for i := 0; i < 12; i++ {
		h.Join("m" + strconv.Itoa(i))
	}
	for day := 0; day < 20; day++ {
		for i := 0; i < 12; i++ {
			if (i+day)%3 == 0 {
				h.Say("m"+strconv.Itoa(i), fmt.Sprintf("hello %d from %d", day, i))
			}
		}
		if day%2 == 0 {
			h.Say("m1", "签到")
		}
		h.Advance(24 * time.Hour)
	}
	h.Say("m7", "刷单兼职日结，加我")
	h.Out.Take()
	d, err := dashboard.New(dashboard.Options{Store: h.Store, Engine: h.Engine, Token: token, Now: h.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Mount(mux, "/")
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{h: h, dash: d, srv: srv}
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestLoginRules(t *testing.T) {
	f := newFixture(t)
	base := f.srv.URL + "/"
	group := base + "g/" + url.PathEscape(bottest.Group) + "/"
	c := client(t)
	if code, _, hdr := get(t, c, group); code != http.StatusSeeOther || hdr.Get("Location") != "/login" {
		t.Fatalf("no session: %d %s, want a redirect to the login", code, hdr.Get("Location"))
	}
	if code, _ := post(t, c, base+"g/"+url.PathEscape(bottest.Group)+"/notspam", url.Values{"entry": {"1-0"}}); code != http.StatusUnauthorized {
		t.Fatalf("action without a session: %d, want 401", code)
	}
	// wrong tokens: refused, and after five the client is locked out
	for i := 1; i <= 6; i++ {
		code, body := post(t, c, base+"login", url.Values{"token": {"guess" + strconv.Itoa(i)}})
		want := http.StatusUnauthorized
		if i > 5 {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("wrong token %d: %d, want %d (%s)", i, code, want, body)
		}
	}
	if code, _ := post(t, c, base+"login", url.Values{"token": {token}}); code != http.StatusTooManyRequests {
		t.Fatalf("the right token while locked out: %d, want 429", code)
	}
	f.h.Redis.Del(context.Background(), f.h.Store.GlobalKey("dash", "fail", "127.0.0.1"))
	code, _ := post(t, c, base+"login", url.Values{"token": {token}})
	if code != http.StatusOK {
		t.Fatalf("operator login: %d", code)
	}
	u, _ := url.Parse(base)
	var sess *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "qb_dash" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	code, body, _ := get(t, c, group)
	if code != http.StatusOK || !strings.Contains(body, `data-chart="active"`) {
		t.Fatalf("group page after login: %d", code)
	}
	// a state change without its CSRF token is refused
	if code, _ := post(t, c, group+"notspam", url.Values{"entry": {"1-0"}}); code != http.StatusForbidden {
		t.Fatalf("notspam without CSRF: %d, want 403", code)
	}
	if code, _ := post(t, c, group+"notspam", url.Values{"entry": {"1-0"}, "csrf": {"forged"}}); code != http.StatusForbidden {
		t.Fatalf("notspam with a wrong CSRF: %d, want 403", code)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	f := newFixture(t)
	res, err := http.PostForm(f.srv.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	raw := res.Header.Get("Set-Cookie")
	for _, want := range []string{"qb_dash=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(raw, want) {
			t.Errorf("session cookie %q lacks %s", raw, want)
		}
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("plain HTTP cookie marked Secure: %q", raw)
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/login", strings.NewReader("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if raw := res.Header.Get("Set-Cookie"); !strings.Contains(raw, "Secure") {
		t.Errorf("cookie behind TLS not Secure: %q", raw)
	}
}

// link asks the bot for a login link as a member in a private chat and
// answers it.
func link(t *testing.T, f *fixture, member string) string {
	t.Helper()
	f.h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member(member), Text: "/dashboard",
		Chat: bot.Chat{Key: "console:dm-" + member, Type: bot.ChatPrivate}})
	for _, a := range f.h.Out.Take() {
		if m := regexp.MustCompile(`https?://\S+/login/link\?t=\S+`).FindString(a.Text); m != "" {
			return m
		}
	}
	return ""
}

func TestModeratorLinks(t *testing.T) {
	f := newFixture(t)
	if l := link(t, f, "m3"); l != "" {
		t.Fatalf("a member who moderates nothing got a link: %s", l)
	}
	// in the group itself no link is posted
	f.h.Event(bot.Event{Kind: bot.EventMessage, Member: bottest.Member("mod"), Text: "/dashboard"})
	for _, a := range f.h.Out.Take() {
		if strings.Contains(a.Text, "login/link") {
			t.Fatalf("a login link posted in the group: %q", a.Text)
		}
	}
	l := link(t, f, "mod")
	if l == "" {
		t.Fatal("the moderator got no link")
	}
	lu, _ := url.Parse(l)
	at := f.srv.URL + lu.RequestURI()
	c := client(t)
	code, body, _ := get(t, c, at)
	if code != http.StatusOK {
		t.Fatalf("link login: %d %s", code, body)
	}
	if code, body, _ = get(t, c, f.srv.URL+"/"); code != http.StatusOK || !strings.Contains(body, bottest.Group) {
		t.Fatalf("overview after link login: %d, group listed: %v", code, strings.Contains(body, bottest.Group))
	}
	if code, _, _ := get(t, c, f.srv.URL+"/g/"+url.PathEscape("console:other")+"/"); code != http.StatusNotFound {
		t.Fatalf("a group the moderator does not moderate: %d, want 404", code)
	}
	tests := []struct {
		name string
		link func() string
		want string
	}{
		{"used", func() string { return at }, "used already"},
		{"forged", func() string { return at[:len(at)-3] + "abc" }, "not valid"},
		{"expired", func() string {
			l := link(t, f, "mod")
			f.h.Advance(11 * time.Minute)
			u, _ := url.Parse(l)
			return f.srv.URL + u.RequestURI()
		}, "expired"},
	}
	for _, tc := range tests {
		code, body, _ := get(t, client(t), tc.link())
		if code != http.StatusForbidden || !strings.Contains(body, tc.want) {
			t.Errorf("%s link: %d, want 403 saying %q", tc.name, code, tc.want)
		}
	}
}

// The group page's numbers are the KPI records'.
func TestGroupPageNumbers(t *testing.T) {
	f := newFixture(t)
	c := client(t)
	post(t, c, f.srv.URL+"/login", url.Values{"token": {token}})
	_, body, _ := get(t, c, f.srv.URL+"/g/"+url.PathEscape(bottest.Group)+"/?d=30")
	now := f.h.Clock.Now()
	to := now.Format("2006-01-02")
	from := now.AddDate(0, 0, -29).Format("2006-01-02")
	days, err := kpi.Read(context.Background(), f.h.Store, bottest.Group, from, to, now)
	if err != nil {
		t.Fatal(err)
	}
	var msgs, checkins, ads int64
	for _, d := range days {
		msgs += d.Values["msgs"]
		checkins += d.Values["checkins"]
		ads += d.Values["ads"]
	}
	if msgs == 0 || checkins == 0 || ads == 0 {
		t.Fatalf("fixture made no history: msgs %d checkins %d ads %d", msgs, checkins, ads)
	}
	for name, want := range map[string]int64{"msgs": msgs, "checkins": checkins, "ads": ads} {
		m := regexp.MustCompile(`data-kpi="` + name + `">(\d+)<`).FindStringSubmatch(body)
		if m == nil || m[1] != strconv.FormatInt(want, 10) {
			t.Errorf("page %s = %v, KPI records say %d", name, m, want)
		}
	}
}

// The group page reads the newcomers by what brought them, named as
// /sources names them.
func TestGroupPageSources(t *testing.T) {
	f := newFixture(t)
	f.h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("pa1"), Source: "poster-a"})
	f.h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("pa2"), Source: "poster-a"})
	f.h.Event(bot.Event{Kind: bot.EventJoin, Member: bottest.Member("inv"), Source: bot.SourceInvite})
	f.h.Event(bot.Event{Kind: bot.EventLeave, Member: bottest.Member("pa2")})
	c := client(t)
	post(t, c, f.srv.URL+"/login", url.Values{"token": {token}})
	_, body, _ := get(t, c, f.srv.URL+"/g/"+url.PathEscape(bottest.Group)+"/?d=7&lang=en")
	table := body[strings.Index(body, `id="sources"`):]
	table = table[:strings.Index(table, "</table>")]
	for _, want := range []string{"<td>poster-a</td><td>2</td>", "<td>50%</td></tr>", "<td>members&#39; invite links</td><td>1</td>"} {
		if !strings.Contains(table, want) {
			t.Errorf("the sources table lacks %q:\n%s", want, table)
		}
	}
}

// "Not spam" teaches the model, takes the warning back and logs who did
// it; "ban" has the platform ban the member.
func TestModerationActions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := client(t)
	post(t, c, f.srv.URL+"/login", url.Values{"token": {token}})
	mod := f.srv.URL + "/g/" + url.PathEscape(bottest.Group) + "/moderation"
	_, body, _ := get(t, c, mod)
	entry := regexp.MustCompile(`data-entry="([^"]+)" class="removal"`).FindStringSubmatch(body)
	csrf := csrfRe.FindStringSubmatch(body)
	if entry == nil || csrf == nil {
		t.Fatalf("no removal with actions on the moderation page:\n%s", body)
	}
	if n, _ := adfilter.WarningCount(ctx, f.h.Store, bottest.Group, "m7", 0, f.h.Clock.Now()); n != 1 {
		t.Fatalf("the spammer has %d warnings before, want 1", n)
	}
	if code, body := post(t, c, mod[:len(mod)-len("moderation")]+"notspam", url.Values{"entry": {entry[1]}, "csrf": {csrf[1]}}); code != http.StatusSeeOther {
		t.Fatalf("notspam: %d %s", code, body)
	}
	if n, _ := adfilter.WarningCount(ctx, f.h.Store, bottest.Group, "m7", 0, f.h.Clock.Now()); n != 0 {
		t.Errorf("warnings after not spam: %d, want 0", n)
	}
	reports, _ := f.h.Redis.LRange(ctx, f.h.Store.GlobalKey("{clf:default}", "reports"), 0, -1).Result()
	if len(reports) != 1 || !strings.Contains(reports[0], "刷单兼职日结") {
		t.Errorf("model reports = %q, want the whole removed text as ham", reports)
	}
	es, _ := adfilter.Recent(ctx, f.h.Store, bottest.Group, 1)
	if len(es) != 1 || es[0].By != "dashboard:operator" || !strings.HasPrefix(es[0].Action, "ham") {
		t.Errorf("latest audit entry %+v, want ham by dashboard:operator", es)
	}
	if code, _ := post(t, c, mod[:len(mod)-len("moderation")]+"notspam", url.Values{"entry": {entry[1]}, "csrf": {csrf[1]}}); code != http.StatusBadRequest {
		t.Errorf("second review of the same removal: %d, want 400", code)
	}
	_, body, _ = get(t, c, mod)
	if !strings.Contains(body, "marked not spam") {
		t.Error("the page does not show the removal as reviewed")
	}
}

func TestBanAction(t *testing.T) {
	f := newFixture(t)
	c := client(t)
	post(t, c, f.srv.URL+"/login", url.Values{"token": {token}})
	g := f.srv.URL + "/g/" + url.PathEscape(bottest.Group) + "/"
	_, body, _ := get(t, c, g+"moderation")
	entry := regexp.MustCompile(`data-entry="([^"]+)" class="removal"`).FindStringSubmatch(body)
	csrf := csrfRe.FindStringSubmatch(body)
	if code, body := post(t, c, g+"ban", url.Values{"entry": {entry[1]}, "csrf": {csrf[1]}}); code != http.StatusSeeOther {
		t.Fatalf("ban: %d %s", code, body)
	}
	var banned bool
	for _, a := range f.h.Out.Take() {
		if a.Type == bot.ActBan && a.Member.ID == "m7" && a.Audit != nil && a.Audit.By == "dashboard:operator" {
			banned = true
		}
	}
	if !banned {
		t.Error("no ban of m7 by the dashboard reached the platform")
	}
}

func formBody(s string) io.Reader { return strings.NewReader(s) }

// The content calendar: a post's next fire, pause and resume (the flow
// skips a paused post), and "send now" through the engine.
func TestPostsPage(t *testing.T) {
	f := newFixture(t)
	c := client(t)
	post(t, c, f.srv.URL+"/login", url.Values{"token": {token}})
	g := f.srv.URL + "/g/" + url.PathEscape(bottest.Group) + "/"
	_, body, _ := get(t, c, g+"posts")
	if !strings.Contains(body, `data-post="morning"`) || !strings.Contains(body, "0 9 * * *") {
		t.Fatalf("calendar lacks the post:\n%s", body)
	}
	next := regexp.MustCompile(`<td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td>`).FindStringSubmatch(body)
	if next == nil || !strings.HasSuffix(next[1], "09:00") {
		t.Errorf("next fire shown as %v, want a 09:00", next)
	}
	csrf := csrfRe.FindStringSubmatch(body)[1]
	f.h.Out.Take()
	if code, b := post(t, c, g+"posts", url.Values{"name": {"morning"}, "op": {"now"}, "csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("send now: %d %s", code, b)
	}
	sent := false
	for _, a := range f.h.Out.Take() {
		sent = sent || (a.Type == bot.ActSend && strings.Contains(a.Text, "咖啡小知识"))
	}
	if !sent {
		t.Error("send now sent no post")
	}
	if code, _ := post(t, c, g+"posts", url.Values{"name": {"morning"}, "op": {"pause"}, "csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("pause: %d", code)
	}
	f.h.Advance(24 * time.Hour)
	for _, a := range f.h.Out.Take() {
		if strings.Contains(a.Text, "咖啡小知识") {
			t.Fatal("a paused post was sent")
		}
	}
	if _, body, _ = get(t, c, g+"posts"); !strings.Contains(body, "paused") || !strings.Contains(body, `value="resume"`) {
		t.Error("the page does not show the post paused")
	}
	for _, bad := range []url.Values{{"name": {"nope"}, "op": {"now"}, "csrf": {csrf}}, {"name": {"morning"}, "op": {"explode"}, "csrf": {csrf}}} {
		if code, _ := post(t, c, g+"posts", bad); code != http.StatusBadRequest {
			t.Errorf("%v: %d, want 400", bad, code)
		}
	}
	es, _ := adfilter.Recent(context.Background(), f.h.Store, bottest.Group, 1)
	if len(es) != 1 || es[0].Action != "post pause (dashboard)" || es[0].By != "dashboard:operator" {
		t.Errorf("audit entry %+v, want the pause by the operator", es)
	}
}

// The config page: operators only, secrets hidden, and a validator that
// answers file:line:col problems without applying anything.
func TestConfigPage(t *testing.T) {
	h := bottest.New(t, flows.Builtin(), conf)
	dir := t.TempDir()
	file := dir + "/qunbot.yaml"
	os.WriteFile(file, []byte("adapters:\n  telegram:\n    token: 123456:ABCdef\n    webhook_secret: ${HOOK}\nredis:\n  url: redis://:hunter2@10.0.0.1:6379/0\n"), 0o600)
	h.Engine.Config().File = file
	st := &dashboard.Status{}
	st.Loaded(time.Now())
	st.Rejected(time.Now(), errors.New("qunbot.yaml:3:5: unknown key"))
	schema := engine.Schema(flows.Builtin(), bottest.Platforms())
	d, err := dashboard.New(dashboard.Options{Store: h.Store, Engine: h.Engine, Token: token, Now: h.Clock.Now, Status: st,
		Check: func(b []byte) error { _, err := config.Parse("pasted.yaml", b, schema); return err }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Mount(mux, "/")
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := client(t)
	post(t, c, srv.URL+"/login", url.Values{"token": {token}})
	code, body, _ := get(t, c, srv.URL+"/config")
	if code != http.StatusOK {
		t.Fatalf("config page: %d", code)
	}
	for _, secret := range []string{"ABCdef", "hunter2"} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows the secret %q", secret)
		}
	}
	if !strings.Contains(body, "${HOOK}") || !strings.Contains(body, "qunbot.yaml:3:5: unknown key") {
		t.Errorf("page lacks the env reference or the rejected reload:\n%s", body)
	}
	csrf := csrfRe.FindStringSubmatch(body)[1]
	tests := []struct {
		yaml, want string
	}{
		{"flows:\n  welcome:\n    txt: hi\n", "pasted.yaml:3:5"},
		{"locale: en\n", "No problems"},
	}
	for _, tc := range tests {
		code, body := post(t, c, srv.URL+"/config/validate", url.Values{"yaml": {tc.yaml}, "csrf": {csrf}})
		if code != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("validate %q: %d, want %q in the answer:\n%s", tc.yaml, code, tc.want, body[strings.Index(body, "<h2>"):])
		}
	}
	if code, _ := post(t, c, srv.URL+"/config/validate", url.Values{"yaml": {"locale: en\n"}}); code != http.StatusForbidden {
		t.Errorf("validate without CSRF: %d, want 403", code)
	}
	// a moderator's session does not see the config
	m := client(t)
	h.Say("m1", "hello") // the group is seen
	l := link(t, &fixture{h: h}, "mod")
	lu, _ := url.Parse(l)
	get(t, m, srv.URL+lu.RequestURI())
	if code, _, _ := get(t, m, srv.URL+"/config"); code != http.StatusNotFound {
		t.Errorf("config page for a moderator: %d, want 404", code)
	}
}

// Every page is in both languages: no message key shows through.
func TestPagesInBothLanguages(t *testing.T) {
	f := newFixture(t)
	c := client(t)
	post(t, c, f.srv.URL+"/login", url.Values{"token": {token}})
	g := f.srv.URL + "/g/" + url.PathEscape(bottest.Group) + "/"
	raw := regexp.MustCompile(`>\s*(k|c|t|f|op|cfg|rev|login|search)\.[a-z_.0-9]+\s*<|placeholder="search\.`)
	for _, lang := range []string{"zh-CN", "en"} {
		for _, p := range []string{f.srv.URL + "/", g, g + "members?q=m1", g + "m/m1", g + "moderation", g + "posts", f.srv.URL + "/config"} {
			code, body, _ := get(t, c, p+map[bool]string{true: "&", false: "?"}[strings.Contains(p, "?")]+"lang="+lang)
			if code != http.StatusOK {
				t.Errorf("%s %s: %d", lang, p, code)
				continue
			}
			if m := raw.FindString(body); m != "" {
				t.Errorf("%s %s shows a message key: %s", lang, p, m)
			}
			if !strings.Contains(body, `lang="`+lang+`"`) {
				t.Errorf("%s %s is not in %s", lang, p, lang)
			}
		}
	}
}
