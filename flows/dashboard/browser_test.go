package dashboard_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/flows/adfilter"
)

// chromium finds the browser: QUNBOT_CHROMIUM, else Debian's chromium.
// Like Redis, it is required: the test fails (it never skips) and says
// how to get one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("QUNBOT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no Chromium for the browser tests: apt-get install chromium (scripts/test.sh and .ci/run do), or set QUNBOT_CHROMIUM")
	return ""
}

func browser(t *testing.T) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1600),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

// shot saves a screenshot of the page as a test artifact (not committed):
// under QUNBOT_ARTIFACTS, else the system's temp directory.
func shot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	dir := os.Getenv("QUNBOT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "qunbot-artifacts")
	}
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		buf, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG
		if err != nil {
			return chromedp.Void{}, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return chromedp.Void{}, err
		}
		p := filepath.Join(dir, "dashboard-"+name+".png")
		t.Logf("screenshot: %s", p)
		return chromedp.Void{}, os.WriteFile(p, buf, 0o644)
	}
}

// text reads an element's text.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// chartCheck reads what each uPlot chart drew: its name, the values it
// holds that are not gaps, the series it built paths for, and the inked
// pixels of its canvas.
const chartCheck = `window.qbCharts.map(function (u) {
  var c = u.ctx.canvas, d = u.ctx.getImageData(0, 0, c.width, c.height).data, ink = 0;
  for (var i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
  var values = 0, paths = 0;
  for (var s = 1; s < u.data.length; s++) {
    values += u.data[s].filter(function (v) { return v !== null && v > 0; }).length;
    if (u.series[s]._paths) paths++;
  }
  return {name: u.qbName, values: values, paths: paths, ink: ink};
})`

type chartDrawn struct {
	Name   string `json:"name"`
	Values int    `json:"values"`
	Paths  int    `json:"paths"`
	Ink    int    `json:"ink"`
}

func TestInBrowser(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := browser(t)
	defer cancel()
	base := f.srv.URL + "/"
	group := base + "g/" + url.PathEscape(bottest.Group) + "/"
	l := link(t, f, "mod")
	lu, _ := url.Parse(l)
	login := f.srv.URL + lu.RequestURI()

	// the one-time link logs in and lands on the overview
	do(t, ctx, "overview", chromedp.Navigate(login), chromedp.WaitVisible("table.groups"), shot(t, "overview"))
	if overview := text(t, ctx, "table.groups"); !strings.Contains(overview, bottest.Group) {
		t.Fatalf("overview lists no group: %q", overview)
	}

	// the group page: every chart drew data; the numbers are the records'
	do(t, ctx, "group page", chromedp.Navigate(group+"?d=30"), chromedp.WaitVisible(".uplot"), shot(t, "group"))
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]chartDrawn](chartCheck))
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != 6 {
		t.Fatalf("%d charts drawn, want 6: %+v", len(charts), charts)
	}
	for _, c := range charts {
		if c.Values == 0 || c.Paths == 0 || c.Ink < 500 {
			t.Errorf("chart %s drew nothing: %+v", c.Name, c)
		}
	}
	msgs, checkins := text(t, ctx, `[data-kpi="msgs"]`), text(t, ctx, `[data-kpi="checkins"]`)
	now := f.h.Clock.Now()
	days, err := kpi.Read(context.Background(), f.h.Store, bottest.Group, now.AddDate(0, 0, -29).Format("2006-01-02"), now.Format("2006-01-02"), now)
	if err != nil {
		t.Fatal(err)
	}
	var wantMsgs, wantCheckins int64
	for _, d := range days {
		wantMsgs += d.Values["msgs"]
		wantCheckins += d.Values["checkins"]
	}
	if msgs != strconv.FormatInt(wantMsgs, 10) || checkins != strconv.FormatInt(wantCheckins, 10) {
		t.Errorf("page says msgs %s checkins %s; records %d and %d", msgs, checkins, wantMsgs, wantCheckins)
	}

	// a member's page, found by search
	m, err := f.h.Store.Member(context.Background(), bottest.Group, "m1")
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "member page", chromedp.Navigate(group+"members?q=m1"), chromedp.WaitVisible("#results"),
		chromedp.Click(`#results a[href$="/m/m1"]`), chromedp.WaitVisible("#member"), shot(t, "member"))
	if points, n := text(t, ctx, `[data-field="points"]`), text(t, ctx, `[data-field="msgs"]`); points != m.Fields["pts"] || n != strconv.FormatInt(m.Messages, 10) {
		t.Errorf("member page: points %s msgs %s; record %s and %d", points, n, m.Fields["pts"], m.Messages)
	}

	// moderation: "not spam" clears the warning
	do(t, ctx, "not spam", chromedp.Navigate(group+"moderation"), chromedp.WaitVisible("#modlog"), shot(t, "moderation"),
		chromedp.Click("tr.removal button.notspam"), chromedp.WaitVisible("tr.removal .reviewed"), shot(t, "moderation-after"))
	if n, _ := adfilter.WarningCount(context.Background(), f.h.Store, bottest.Group, "m7", 0, now); n != 0 {
		t.Errorf("after not spam: %d warnings", n)
	}

	// a POST without the CSRF token is refused, even with the session
	js := fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "entry=1-0"}).then(r => r.status)`, group+"ban")
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != 403 {
		t.Errorf("POST without CSRF: %d, want 403", status)
	}

	// refused: no session, a used link, an expired one (a new browser: a
	// new tab would share the cookies)
	other, cancel2 := browser(t)
	defer cancel2()
	do(t, other, "no session", chromedp.Navigate(group))
	where, err := chromedp.Run(other, chromedp.Location())
	if err != nil || !strings.HasSuffix(where, "/login") {
		t.Errorf("without a session the group page went to %s (%v), want the login", where, err)
	}
	do(t, other, "used link", chromedp.Navigate(login))
	if s := text(t, other, "#error"); !strings.Contains(s, "used already") {
		t.Errorf("a used link said %q", s)
	}
	expired := link(t, f, "mod")
	f.h.Advance(11 * time.Minute)
	eu, _ := url.Parse(expired)
	do(t, other, "expired link", chromedp.Navigate(f.srv.URL+eu.RequestURI()), shot(t, "refused"))
	if s := text(t, other, "#error"); !strings.Contains(s, "expired") {
		t.Errorf("an expired link said %q", s)
	}
}
