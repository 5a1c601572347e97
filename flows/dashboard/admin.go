package dashboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/qunbot/qunbot/bot/config"
	"github.com/qunbot/qunbot/flows/adfilter"
	"github.com/qunbot/qunbot/flows/posts"
)

// Status is what the config page tells of the config: the file in force
// and when it was loaded, and the last reload the watcher rejected. The
// process keeps it (run's watcher reports to it); a replica shows its own.
type Status struct {
	mu         sync.Mutex
	loadedAt   time.Time
	rejectedAt time.Time
	problems   []string
}

// Loaded records a config taking effect.
func (s *Status) Loaded(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadedAt = at
}

// Rejected records a reload that did not take effect, with its problems
// (file:line:col: message each).
func (s *Status) Rejected(at time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectedAt = at
	s.problems = problemLines(err)
}

func problemLines(err error) []string {
	var ps config.Problems
	if errors.As(err, &ps) {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Error()
		}
		return out
	}
	return []string{err.Error()}
}

// postsView is the content calendar page.
type postsView struct {
	Group   GroupRef
	Entries []postRow
	Cap     int
	Quiet   string
}

type postRow struct {
	posts.Entry
	NextFire time.Time
}

func (s *Server) postsPage(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error) {
	g, err := s.groupIn(ctx, r, sess, v)
	if err != nil {
		return "", err
	}
	gc := s.eng.Config().Group(g.Key)
	pv := postsView{Group: g}
	if c, on := gc.Flow("posts"); on {
		cfg := c.(*posts.Config)
		cal, err := posts.Calendar(ctx, s.store, g.Key, cfg, today(gc, s.now()).Format("2006-01-02"))
		if err != nil {
			return "", err
		}
		for _, e := range cal {
			row := postRow{Entry: e}
			if t, ok, err := s.eng.NextFire(ctx, "posts", g.Key, e.Name); err != nil {
				return "", err
			} else if ok {
				row.NextFire = t.In(gc.Location)
			}
			pv.Entries = append(pv.Entries, row)
		}
		pv.Cap, pv.Quiet = cfg.DailyCap, cfg.QuietHours.String()
	}
	v.Title, v.Data = T(v.Lang, "posts")+" · "+g.Name(), pv
	return "posts", nil
}

// postAction pauses, resumes or sends a post now.
func (s *Server) postAction(ctx context.Context, r *http.Request, sess *Session, g GroupRef) error {
	gc := s.eng.Config().Group(g.Key)
	c, on := gc.Flow("posts")
	if !on {
		return badRequest{"the posts flow is off in this group"}
	}
	name := r.PostFormValue("name")
	known := false
	for _, p := range c.(*posts.Config).Items {
		known = known || p.Name == name
	}
	if !known {
		return badRequest{"no post of that name"}
	}
	op := r.PostFormValue("op")
	now := s.now()
	switch op {
	case "pause", "resume":
		if err := posts.SetPaused(ctx, s.store, g.Key, name, op == "pause"); err != nil {
			return err
		}
	case "now":
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		platform, _, _ := strings.Cut(g.Key, ":")
		if err := s.eng.HandleEvent(ctx, posts.NowEvent("dash:"+hex.EncodeToString(b), platform, g.Key, name, now)); err != nil {
			return err
		}
	default:
		return badRequest{"unknown operation"}
	}
	return adfilter.Audit(ctx, s.store, g.Key, adfilter.Entry{At: now, By: who(sess), Action: "post " + op + " (dashboard)", Reason: name})
}

// configView is the config page (operators only).
type configView struct {
	File       string
	Text       string
	LoadedAt   time.Time
	RejectedAt time.Time
	Problems   []string
	Pasted     string
	Checked    bool
	Valid      bool
	Found      []string
}

// secretLine finds values that must not be shown: tokens, secrets,
// passwords, AES keys, and passwords inside URLs. ${VAR} references are
// kept (they say where the value comes from).
var (
	secretLine = regexp.MustCompile(`(?im)^(\s*-?\s*[\w.]*(?:token|secret|password|aes_key|passwd)[\w.]*\s*:\s*)(["']?)([^"'\s#][^"'#\n]*)(["']?)`)
	urlSecret  = regexp.MustCompile(`(://[^:/\s@]*:)([^@\s$]+)(@)`)
)

func redact(text string) string {
	text = secretLine.ReplaceAllStringFunc(text, func(m string) string {
		p := secretLine.FindStringSubmatch(m)
		if strings.HasPrefix(p[3], "${") {
			return m
		}
		return p[1] + p[2] + "•••" + p[4]
	})
	return urlSecret.ReplaceAllString(text, "${1}•••${3}")
}

func (s *Server) configPage(ctx context.Context, r *http.Request, sess *Session, v *view) (string, error) {
	if sess.Groups != nil {
		return "", errNotFound // operators only: the config names every group
	}
	cv, err := s.configView()
	if err != nil {
		return "", err
	}
	v.Title, v.Data = T(v.Lang, "config"), cv
	return "config", nil
}

func (s *Server) configView() (*configView, error) {
	cfg := s.eng.Config()
	cv := &configView{File: cfg.File}
	if b, err := os.ReadFile(cfg.File); err == nil {
		cv.Text = redact(string(b))
	} else {
		cv.Text = "(" + err.Error() + ")"
	}
	if s.status != nil {
		s.status.mu.Lock()
		cv.LoadedAt, cv.RejectedAt, cv.Problems = s.status.loadedAt, s.status.rejectedAt, s.status.problems
		s.status.mu.Unlock()
	}
	return cv, nil
}

// validate checks pasted YAML as `qunbot validate` would; nothing is
// applied.
func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.posted(w, r, 1<<20)
	if !ok {
		return
	}
	if sess.Groups != nil {
		http.Error(w, "operators only", http.StatusForbidden)
		return
	}
	cv, err := s.configView()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cv.Pasted, cv.Checked = r.PostFormValue("yaml"), true
	if s.check == nil {
		cv.Found = []string{"no validator in this process"}
	} else if err := s.check([]byte(cv.Pasted)); err != nil {
		cv.Found = problemLines(err)
	} else {
		cv.Valid = true
	}
	v := &view{Lang: s.lang(w, r, ""), Base: s.base, Session: sess, Title: T(s.lang(w, r, ""), "config"), Data: cv, Path: r.URL.Path}
	s.render(w, "config", v)
}
