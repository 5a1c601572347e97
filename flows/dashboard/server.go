package dashboard

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot"
	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/bot/kpi"
	"github.com/qunbot/qunbot/bot/state"
	"github.com/qunbot/qunbot/flows/adfilter"
	"go.uber.org/zap"
)

//go:embed assets templates
var files embed.FS

// Engine is what the console needs of the engine: the config in force
// and a way to have the platform act (a ban).
type Engine interface {
	Config() *config.Config
	Do(platform string, actions ...bot.Action) error
	HandleEvent(ctx context.Context, ev bot.Event) error
	NextFire(ctx context.Context, flow, group, name string) (time.Time, bool, error)
}

// Options configure a Server.
type Options struct {
	Store  *state.Store
	Engine Engine
	// Token logs operators in (QUNBOT_DASHBOARD_TOKEN); empty: only
	// moderators' links do.
	Token string
	Now   func() time.Time
	Log   *zap.Logger
	// Status tells the config page about loads and rejected reloads.
	Status *Status
	// Check validates pasted YAML as the config loader would.
	Check func([]byte) error
}

// Server is the web console.
type Server struct {
	store  *state.Store
	eng    Engine
	auth   *auth
	now    func() time.Time
	log    *zap.Logger
	base   string
	pages  map[string]*template.Template
	status *Status
	check  func([]byte) error
}

// New makes the console; Mount serves it.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	s := &Server{store: o.Store, eng: o.Engine, now: o.Now, log: o.Log, base: "/", status: o.Status, check: o.Check,
		auth: &auth{store: o.Store, token: o.Token, now: o.Now}}
	if err := s.parse(); err != nil {
		return nil, err
	}
	return s, nil
}

// Mux is where the console is mounted (the HTTP listener's).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Mount serves the console under base ("/" or "/console/").
func (s *Server) Mount(m Mux, base string) {
	s.base = base
	in := http.NewServeMux()
	in.HandleFunc("GET /{$}", s.page(s.overview))
	in.HandleFunc("GET /login", s.loginPage)
	in.HandleFunc("POST /login", s.loginToken)
	in.HandleFunc("GET /login/link", s.loginLink)
	in.HandleFunc("POST /logout", s.logout)
	in.HandleFunc("GET /g/{group}/{$}", s.page(s.groupPage))
	in.HandleFunc("GET /g/{group}/members", s.page(s.membersPage))
	in.HandleFunc("GET /g/{group}/m/{member}", s.page(s.memberPage))
	in.HandleFunc("GET /g/{group}/moderation", s.page(s.moderationPage))
	in.HandleFunc("POST /g/{group}/notspam", s.action(s.notSpam))
	in.HandleFunc("POST /g/{group}/ban", s.action(s.ban))
	in.HandleFunc("GET /g/{group}/posts", s.page(s.postsPage))
	in.HandleFunc("POST /g/{group}/posts", s.action(s.postAction))
	in.HandleFunc("GET /config", s.page(s.configPage))
	in.HandleFunc("POST /config/validate", s.validate)
	sub, _ := fs.Sub(files, "assets")
	in.Handle("GET /assets/", http.StripPrefix("/assets/", assetHandler(sub)))
	m.Handle(base, http.StripPrefix(strings.TrimSuffix(base, "/"), s.headers(in)))
}

// Link is a one-time login link for a moderator of groups.
func (s *Server) Link(ctx context.Context, publicURL, who string, groups []string) (string, error) {
	t, err := s.auth.Link(ctx, who, groups)
	if err != nil {
		return "", err
	}
	return loginURL(publicURL, s.base, t), nil
}

func assetHandler(f fs.FS) http.Handler {
	h := http.FileServerFS(f)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		h.ServeHTTP(w, r)
	})
}

// headers: no framing, no inline script, no referrer carrying a link.
func (s *Server) headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// view is what every page template gets.
type view struct {
	Lang    string
	Base    string
	Session *Session
	Title   string
	Data    any
	Error   string
	Path    string
	Zone    *time.Location // the group's, on a group's pages
}

func (v view) T(key string, args ...any) string { return T(v.Lang, key, args...) }

// When shows a time in the page's group's zone (the server's elsewhere).
func (v view) When(t time.Time) string {
	if v.Zone != nil {
		t = t.In(v.Zone)
	}
	return when(t)
}

// handler renders a page for a logged-in session; it answers the page's
// template name, title and data.
type handler func(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error)

var errNotFound = errors.New("not found")

func (s *Server) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sess, err := s.auth.session(ctx, r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if sess == nil {
			http.Redirect(w, r, s.base+"login", http.StatusSeeOther)
			return
		}
		v := &view{Lang: s.lang(w, r, ""), Base: s.base, Session: sess, Path: r.URL.Path}
		name, err := h(ctx, r, sess, v)
		if errors.Is(err, errNotFound) {
			http.Error(w, T(v.Lang, "notfound"), http.StatusNotFound)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, name, v)
	}
}

func (s *Server) render(w http.ResponseWriter, name string, v *view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.pages[name].ExecuteTemplate(w, "layout", v); err != nil {
		s.log.Error("dashboard page not rendered", zap.String("page", name), zap.Error(err))
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("dashboard request failed", zap.String("path", r.URL.Path), zap.Error(err))
	code := http.StatusInternalServerError
	if state.Transient(err) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, "qunbot: "+http.StatusText(code)+" (see the log)", code)
}

// lang is the page's language: asked for (?lang=, kept in a cookie), else
// the group's, else the config's.
func (s *Server) lang(w http.ResponseWriter, r *http.Request, group string) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh-CN" {
		http.SetCookie(w, &http.Cookie{Name: "qb_lang", Value: l, Path: s.base, SameSite: http.SameSiteStrictMode, HttpOnly: true, Secure: secure(r)})
		return l
	}
	if c, err := r.Cookie("qb_lang"); err == nil && (c.Value == "en" || c.Value == "zh-CN") {
		return c.Value
	}
	cfg := s.eng.Config()
	if group != "" {
		return normLang(cfg.Group(group).Locale)
	}
	return normLang(cfg.Locale)
}

func normLang(l string) string {
	if strings.HasPrefix(l, "en") {
		return "en"
	}
	return "zh-CN"
}

// groupIn resolves the {group} of a path for a page, whose times then
// read in the group's zone.
func (s *Server) groupIn(ctx context.Context, r *http.Request, sess *Session, v *view) (GroupRef, error) {
	g, err := s.group(ctx, r, sess)
	if err == nil {
		v.Zone = s.eng.Config().Group(g.Key).Location
	}
	return g, err
}

// group resolves the {group} of a path for a session.
func (s *Server) group(ctx context.Context, r *http.Request, sess *Session) (GroupRef, error) {
	key := r.PathValue("group")
	if !sess.May(key) {
		return GroupRef{}, errNotFound
	}
	gs, err := s.groups(ctx, sess)
	if err != nil {
		return GroupRef{}, err
	}
	for _, g := range gs {
		if g.Key == key {
			return g, nil
		}
	}
	return GroupRef{}, errNotFound
}

func (s *Server) overview(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error) {
	gs, err := s.groups(ctx, sess)
	if err != nil {
		return "", err
	}
	now := s.now()
	var rows []Summary
	for _, g := range gs {
		sm, err := s.summary(ctx, g, now)
		if err != nil {
			return "", err
		}
		rows = append(rows, sm)
	}
	v.Title, v.Data = T(v.Lang, "overview"), rows
	return "overview", nil
}

// Ranges are the spans the group page offers, in days.
var Ranges = []int{7, 30, 90, 365}

func (s *Server) groupPage(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error) {
	g, err := s.groupIn(ctx, r, sess, v)
	if err != nil {
		return "", err
	}
	days := 30
	if d, err := strconv.Atoi(r.URL.Query().Get("d")); err == nil {
		for _, ok := range Ranges {
			if d == ok {
				days = d
			}
		}
	}
	if r.URL.Query().Get("lang") == "" {
		if _, err := r.Cookie("qb_lang"); err != nil {
			v.Lang = normLang(s.eng.Config().Group(g.Key).Locale)
		}
	}
	gd, err := s.groupData(ctx, g, days, s.now())
	if err != nil {
		return "", err
	}
	v.Title, v.Data = g.Name(), gd
	return "group", nil
}

type membersView struct {
	Group   GroupRef
	Query   string
	Results []MemberRow
}

func (s *Server) membersPage(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error) {
	g, err := s.groupIn(ctx, r, sess, v)
	if err != nil {
		return "", err
	}
	q := r.URL.Query().Get("q")
	if len(q) > 100 {
		q = q[:100]
	}
	res, err := s.search(ctx, g.Key, q)
	if err != nil {
		return "", err
	}
	v.Title, v.Data = T(v.Lang, "members")+" · "+g.Name(), membersView{Group: g, Query: q, Results: res}
	return "members", nil
}

func (s *Server) memberPage(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error) {
	g, err := s.groupIn(ctx, r, sess, v)
	if err != nil {
		return "", err
	}
	md, err := s.memberData(ctx, g, r.PathValue("member"), s.now())
	if err != nil {
		return "", err
	}
	if md == nil {
		return "", errNotFound
	}
	v.Title, v.Data = md.Member.Name+" · "+g.Name(), md
	return "member", nil
}

// ModRow is an audit log entry as the moderation page shows it.
type ModRow struct {
	adfilter.Entry
	Removal  bool   // the filter removed a message: "not spam" and "ban" apply
	Reviewed string // "ham" or "ban" once a moderator acted here
}

type modView struct {
	Group   GroupRef
	Entries []ModRow
}

func (s *Server) reviewedKey(group string) string { return s.store.Key(group, "dash", "reviewed") }

func (s *Server) moderationPage(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error) {
	g, err := s.groupIn(ctx, r, sess, v)
	if err != nil {
		return "", err
	}
	es, err := adfilter.Recent(ctx, s.store, g.Key, 200)
	if err != nil {
		return "", err
	}
	done, err := s.store.Client().HGetAll(ctx, s.reviewedKey(g.Key)).Result()
	if err != nil {
		return "", fmt.Errorf("%w: read reviewed removals: %w", state.ErrRedis, err)
	}
	rows := make([]ModRow, len(es))
	for i, e := range es {
		rows[i] = ModRow{Entry: e, Removal: e.By == "adfilter" && e.Member != "", Reviewed: done[e.ID]}
	}
	v.Title, v.Data = T(v.Lang, "moderation")+" · "+g.Name(), modView{Group: g, Entries: rows}
	return "moderation", nil
}

// posted checks a state-changing request: a session (401 without one),
// a body of at most limit bytes, and the session's CSRF token (403). It
// has answered the request when it returns false.
func (s *Server) posted(w http.ResponseWriter, r *http.Request, limit int64) (*Session, bool) {
	sess, err := s.auth.session(r.Context(), r)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if sess == nil {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) != 1 {
		http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
		return nil, false
	}
	return sess, true
}

// action wraps a state-changing request: a session, its CSRF token, a
// group it may see; the handler answers where to go back to.
func (s *Server) action(h func(ctx context.Context, r *http.Request, sess *Session, g GroupRef) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sess, ok := s.posted(w, r, 64<<10)
		if !ok {
			return
		}
		g, err := s.group(ctx, r, sess)
		if errors.Is(err, errNotFound) {
			http.Error(w, "no such group", http.StatusNotFound)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := h(ctx, r, sess, g); err != nil {
			var bad badRequest
			if errors.As(err, &bad) {
				http.Error(w, bad.Error(), http.StatusBadRequest)
				return
			}
			s.fail(w, r, err)
			return
		}
		back := "/moderation"
		if strings.HasSuffix(r.URL.Path, "/posts") {
			back = "/posts"
		}
		http.Redirect(w, r, s.base+"g/"+url.PathEscape(g.Key)+back, http.StatusSeeOther)
	}
}

type badRequest struct{ msg string }

func (b badRequest) Error() string { return b.msg }

// removal reads the audit entry a moderation action names.
func (s *Server) removal(ctx context.Context, group, id string) (*adfilter.Entry, error) {
	if id == "" || len(id) > 40 {
		return nil, badRequest{"no entry named"}
	}
	xs, err := s.store.Client().XRange(ctx, s.store.Key(group, "modlog"), id, id).Result()
	if err != nil {
		return nil, badRequest{"no such entry"}
	}
	if len(xs) == 0 {
		return nil, badRequest{"no such entry (the log keeps the latest entries only)"}
	}
	es, err := adfilter.Recent(ctx, s.store, group, 200)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.ID == id && e.By == "adfilter" && e.Member != "" {
			return &e, nil
		}
	}
	return nil, badRequest{"that entry is not a removal by the ad filter"}
}

func who(sess *Session) string { return "dashboard:" + sess.Who }

// notSpam is /ham for a removed message: the model learns it is not
// spam, the warning it cost is taken back. Nothing is restored on the
// platform (a deleted message stays deleted).
func (s *Server) notSpam(ctx context.Context, r *http.Request, sess *Session, g GroupRef) error {
	e, err := s.removal(ctx, g.Key, r.PostFormValue("entry"))
	if err != nil {
		return err
	}
	gc := s.eng.Config().Group(g.Key)
	model := "default"
	af, on := gc.Flow("adfilter")
	var acfg *adfilter.Config
	if on {
		acfg = af.(*adfilter.Config)
		if acfg.Classifier != nil {
			model = acfg.Classifier.Model
		}
	}
	text := e.Text
	if text == "" {
		// entries written before messages were kept: the excerpt
		_, text, _ = strings.Cut(e.Reason, " · ")
		text = strings.TrimSuffix(text, "…")
	}
	if strings.TrimSpace(text) == "" {
		return badRequest{"the entry keeps no text to learn from"}
	}
	fresh, err := s.store.Client().HSetNX(ctx, s.reviewedKey(g.Key), e.ID, "ham").Result()
	if err != nil {
		return fmt.Errorf("%w: mark reviewed: %w", state.ErrRedis, err)
	}
	if !fresh {
		return badRequest{"this removal was reviewed already"}
	}
	if err := adfilter.Teach(ctx, s.store, model, text, false); err != nil {
		return err
	}
	if acfg != nil && acfg.Scorer() != nil {
		acfg.Scorer().Forget()
	}
	now := s.now()
	decay := time.Duration(0)
	if acfg != nil {
		decay = acfg.Ladder.Decay.D()
	}
	// (a decay of 0 would read every warning as past: with the filter
	// off now, its warnings are left as they are)
	if decay > 0 {
		if _, err := adfilter.Warnings(ctx, s.store, g.Key, e.Member, -1, false, decay, now); err != nil {
			return err
		}
	}
	if err := s.count(ctx, g.Key, kpi.Ham, now); err != nil {
		return err
	}
	return adfilter.Audit(ctx, s.store, g.Key, adfilter.Entry{At: now, By: who(sess), Action: "ham (dashboard): warning cleared, learned",
		Member: e.Member, Name: e.Name, Reason: adfilter.Excerpt(text, 80)})
}

// ban bans the member of a removal through the platform; the audit log
// records it once the platform answered.
func (s *Server) ban(ctx context.Context, r *http.Request, sess *Session, g GroupRef) error {
	e, err := s.removal(ctx, g.Key, r.PostFormValue("entry"))
	if err != nil {
		return err
	}
	gc := s.eng.Config().Group(g.Key)
	platform, _, _ := strings.Cut(g.Key, ":")
	if gc.IsModerator(e.Member) || gc.IsModerator(platform+":"+e.Member) {
		return badRequest{"a moderator cannot be banned from here"}
	}
	fresh, err := s.store.Client().HSetNX(ctx, s.reviewedKey(g.Key), e.ID, "ban").Result()
	if err != nil {
		return fmt.Errorf("%w: mark reviewed: %w", state.ErrRedis, err)
	}
	if !fresh {
		return badRequest{"this removal was reviewed already"}
	}
	err = s.eng.Do(platform, bot.Action{Type: bot.ActBan, Chat: g.Key, Member: bot.Member{ID: e.Member, Name: e.Name}, Flow: "dashboard",
		Audit: &bot.Audit{By: who(sess), What: "ban (dashboard)", Reason: "after: " + e.Action}})
	if err != nil {
		s.store.Client().HDel(ctx, s.reviewedKey(g.Key), e.ID)
		return fmt.Errorf("ban from the dashboard: %w", err)
	}
	return s.count(ctx, g.Key, kpi.Bans, s.now())
}

// count adds one to a figure of the group's day record.
func (s *Server) count(ctx context.Context, group string, n kpi.Name, now time.Time) error {
	day := today(s.eng.Config().Group(group), now).Format("2006-01-02")
	return s.store.Tallies(ctx, []state.Update{{Group: group, Day: day,
		Tally: &state.Tally{Group: group, Day: day, At: now, Counts: map[string]int64{string(n): 1}}}}, nil)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	v := &view{Lang: s.lang(w, r, ""), Base: s.base, Title: T(s.lang(w, r, ""), "login")}
	if s.auth.token == "" {
		v.Error = T(v.Lang, "login.notoken")
	}
	s.render(w, "login", v)
}

func (s *Server) loginToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := s.lang(w, r, "")
	// a login form posted from another site is refused (login CSRF)
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "cross-site login refused", http.StatusForbidden)
			return
		}
	}
	client := clientOf(r)
	if blocked, err := s.auth.blocked(ctx, client); err != nil {
		s.fail(w, r, err)
		return
	} else if blocked {
		s.log.Warn("dashboard login refused: too many failures", zap.String("client", client))
		w.WriteHeader(http.StatusTooManyRequests)
		s.render(w, "login", &view{Lang: lang, Base: s.base, Error: T(lang, "login.toomany")})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if !s.auth.checkToken(r.PostFormValue("token")) {
		err := s.auth.failed(ctx, client)
		s.log.Warn("dashboard login failed", zap.String("client", client))
		msg, code := T(lang, "login.wrong"), http.StatusUnauthorized
		if errors.Is(err, ErrTooMany) {
			msg, code = T(lang, "login.toomany"), http.StatusTooManyRequests
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(code)
		s.render(w, "login", &view{Lang: lang, Base: s.base, Error: msg})
		return
	}
	s.start(w, r, &Session{Who: "operator"})
}

func (s *Server) loginLink(w http.ResponseWriter, r *http.Request) {
	lang := s.lang(w, r, "")
	b, err := s.auth.redeem(r.Context(), r.URL.Query().Get("t"))
	if err != nil {
		if state.Transient(err) {
			s.fail(w, r, err)
			return
		}
		s.log.Warn("dashboard login link refused", zap.Error(err))
		key := map[error]string{ErrExpiredLink: "login.expired", ErrUsedLink: "login.used"}[err]
		if key == "" {
			key = "login.badlink"
		}
		w.WriteHeader(http.StatusForbidden)
		s.render(w, "login", &view{Lang: lang, Base: s.base, Error: T(lang, key)})
		return
	}
	groups := b.Groups
	if groups == nil {
		groups = []string{}
	}
	s.start(w, r, &Session{Who: b.Who, Groups: groups})
}

// start opens a session, sets its cookie and goes to the overview.
func (s *Server) start(w http.ResponseWriter, r *http.Request, sess *Session) {
	id, err := s.auth.open(r.Context(), sess)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("dashboard login", zap.String("who", sess.Who), zap.Strings("groups", sess.Groups))
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: s.base, HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLife.Seconds())})
	// SameSite=Strict cookies are not sent on a navigation that began on
	// another site (the chat app's link): a page of our own moves on
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=%s"><a href="%s">qunbot</a>`,
		template.HTMLEscapeString(s.base), template.HTMLEscapeString(s.base))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, err := s.auth.session(r.Context(), r)
	if err == nil && sess != nil {
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) != 1 {
			http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		if err := s.auth.close(r.Context(), r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: s.base, MaxAge: -1, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, s.base+"login", http.StatusSeeOther)
}

// Files are the console's embedded assets and templates.
func Files() fs.FS { return files }
