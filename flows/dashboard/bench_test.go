package dashboard_test

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/bottest"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/engine"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/bot/state/redistest"
	"github.com/qunbot/qunbot/flows"
	"github.com/qunbot/qunbot/flows/dashboard"
)

type staticEngine struct{ cfg *config.Config }

func (e staticEngine) Config() *config.Config                       { return e.cfg }
func (e staticEngine) Do(string, ...bot.Action) error               { return nil }
func (e staticEngine) HandleEvent(context.Context, bot.Event) error { return nil }
func (e staticEngine) NextFire(context.Context, string, string, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

// BenchmarkGroupPage serves the group page of a group with 365 days of
// records and 100,000 members who joined over the year (so the funnel and
// retention read every one of them), as the server sees it: time per
// page and bytes sent.
//
//	go test ./flows/dashboard -run '^$' -bench GroupPage -benchtime 5x
func BenchmarkGroupPage(b *testing.B) {
	ctx := context.Background()
	c, prefix := redistest.Client(b)
	s := state.New(c, prefix)
	const g, members = "telegram:-1001", 100000
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cfg, err := config.Parse("b.yaml", []byte("locale: en\nflows: {stats: {}, wakeup: {tiers: {silent: 7d, churned: 30d}}}\n"), engine.Schema(flows.Builtin(), bottest.Platforms()))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	batch := make([]state.Ingest, 0, 5000)
	for i := 0; i < members; i++ {
		at := now.Add(-time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
		batch = append(batch, state.Ingest{Group: g, Member: strconv.Itoa(i), Name: "member " + strconv.Itoa(i), Kind: state.KindJoin, At: at},
			state.Ingest{Group: g, Member: strconv.Itoa(i), Name: "member " + strconv.Itoa(i), Kind: state.KindMessage, At: at.Add(time.Hour)})
		if len(batch) >= cap(batch)-1 {
			if err := s.IngestMany(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := s.IngestMany(ctx, batch); err != nil {
		b.Fatal(err)
	}
	p := c.Pipeline()
	for d := 0; d < 400; d++ {
		day := now.AddDate(0, 0, -d).Format("2006-01-02")
		p.HSet(ctx, s.KPIKey(g, day), "members", members-d*200, "msgs", 20000+rng.IntN(5000), "dau", 3000+rng.IntN(500), "wau", 12000, "mau", 30000,
			"joins", 270, "leaves", 60, "checkins", 900, "ads", 40, "tier_core", 6000, "tier_active", 28000, "tier_silent", 45000, "tier_churned", 18000,
			"wake:604800s", 300, "back:604800s", 40)
	}
	if _, err := p.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	c.HSet(ctx, s.GlobalKey("groups"), g, "telegram")
	d, err := dashboard.New(dashboard.Options{Store: s, Engine: staticEngine{cfg}, Token: token, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	d.Mount(mux, "/")
	login := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/login", formBody("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	mux.ServeHTTP(login, req)
	cookie := login.Result().Cookies()[0]
	for _, page := range []struct{ name, path string }{
		{"group-365d", "/g/" + url.PathEscape(g) + "/?d=365"},
		{"group-30d", "/g/" + url.PathEscape(g) + "/?d=30"},
		{"overview", "/"},
	} {
		b.Run(page.name, func(b *testing.B) {
			var bytes int
			for b.Loop() {
				req := httptest.NewRequest("GET", page.path, nil)
				req.AddCookie(cookie)
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", page.path, w.Code)
				}
				bytes = w.Body.Len()
			}
			b.ReportMetric(float64(bytes), "bytes/page")
		})
	}
}

// TestAssetsSize reports the embedded assets' size (and fails if the chart
// library went missing from the embed).
func TestAssetsSize(t *testing.T) {
	total := 0
	err := fs.WalkDir(dashboard.Files(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(dashboard.Files(), p)
		total += len(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(dashboard.Files(), "assets/uplot.min.js"); err != nil || len(b) < 40000 {
		t.Fatalf("uPlot not embedded: %d bytes, %v", len(b), err)
	}
	t.Logf("embedded assets and templates: %d bytes", total)
}
