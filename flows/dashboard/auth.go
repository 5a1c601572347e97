package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/qunbot/qunbot/bot/state"
	"github.com/redis/go-redis/v9"
)

// Sessions and login links live in Redis, so every replica serves every
// operator: a session is a hash under a digest of its cookie (a Redis
// dump does not hand out live cookies), a link is signed with a secret
// the first replica made and all share, and spent once by SET NX.
const (
	cookieName  = "qb_dash"
	sessionLife = 12 * time.Hour
	// LinkLife is how long a moderator's login link may be used.
	LinkLife = 10 * time.Minute
	// failures per client within failWindow before logins are refused
	maxFailures = 5
	failWindow  = 15 * time.Minute
)

// Session is who is logged in and what they may see.
type Session struct {
	Who    string   // "operator" or a moderator's platform:id
	Groups []string // nil: every group (the operator)
	CSRF   string
}

// May reports whether the session may see a group.
func (s *Session) May(group string) bool {
	if s.Groups == nil {
		return true
	}
	for _, g := range s.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// auth keeps sessions and links in Redis.
type auth struct {
	store *state.Store
	token string // QUNBOT_DASHBOARD_TOKEN; "" disables token logins
	now   func() time.Time
}

func (a *auth) key(parts ...string) string {
	return a.store.GlobalKey(append([]string{"dash"}, parts...)...)
}

// secret is the links' signing key, made by the first replica to need it.
func (a *auth) secret(ctx context.Context) ([]byte, error) {
	c := a.store.Client()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := c.SetNX(ctx, a.key("secret"), hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, fmt.Errorf("%w: dashboard secret: %w", state.ErrRedis, err)
	}
	v, err := c.Get(ctx, a.key("secret")).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: dashboard secret: %w", state.ErrRedis, err)
	}
	return hex.DecodeString(v)
}

type linkBody struct {
	Who    string   `json:"w"`
	Groups []string `json:"g"`
	Exp    int64    `json:"e"`
	Nonce  string   `json:"n"`
}

// Link signs a one-time login for a moderator of groups.
func (a *auth) Link(ctx context.Context, who string, groups []string) (string, error) {
	sec, err := a.secret(ctx)
	if err != nil {
		return "", err
	}
	n := make([]byte, 16)
	if _, err := rand.Read(n); err != nil {
		return "", err
	}
	body, _ := json.Marshal(linkBody{Who: who, Groups: groups, Exp: a.now().Add(LinkLife).Unix(), Nonce: hex.EncodeToString(n)})
	p := base64.RawURLEncoding.EncodeToString(body)
	return p + "." + sign(sec, p), nil
}

func sign(secret []byte, payload string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Refusals a login can meet, said to the person as they are.
var (
	ErrBadLink     = errors.New("this login link is not valid")
	ErrExpiredLink = errors.New("this login link has expired; ask the bot for a new one with /dashboard")
	ErrUsedLink    = errors.New("this login link was used already; ask the bot for a new one with /dashboard")
	ErrBadToken    = errors.New("wrong token")
	ErrTooMany     = errors.New("too many failed logins; try again in 15 minutes")
)

// redeem checks a link and spends it.
func (a *auth) redeem(ctx context.Context, link string) (*linkBody, error) {
	p, sig, ok := strings.Cut(link, ".")
	if !ok {
		return nil, ErrBadLink
	}
	sec, err := a.secret(ctx)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(sign(sec, p)), []byte(sig)) != 1 {
		return nil, ErrBadLink
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, ErrBadLink
	}
	var b linkBody
	if err := json.Unmarshal(raw, &b); err != nil || b.Nonce == "" || b.Who == "" {
		return nil, ErrBadLink
	}
	if a.now().Unix() > b.Exp {
		return nil, ErrExpiredLink
	}
	fresh, err := a.store.Client().SetNX(ctx, a.key("used", b.Nonce), "1", LinkLife+time.Minute).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: spend login link: %w", state.ErrRedis, err)
	}
	if !fresh {
		return nil, ErrUsedLink
	}
	return &b, nil
}

// failed counts a failed login of a client and reports whether it may
// still try.
func (a *auth) failed(ctx context.Context, client string) error {
	k := a.key("fail", client)
	p := a.store.Client().TxPipeline()
	n := p.Incr(ctx, k)
	p.Expire(ctx, k, failWindow)
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("%w: count failed login: %w", state.ErrRedis, err)
	}
	if n.Val() > maxFailures {
		return ErrTooMany
	}
	return nil
}

// blocked reports whether a client failed too often lately.
func (a *auth) blocked(ctx context.Context, client string) (bool, error) {
	n, err := a.store.Client().Get(ctx, a.key("fail", client)).Int()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: read failed logins: %w", state.ErrRedis, err)
	}
	return n >= maxFailures, nil
}

// checkToken compares an operator token in constant time.
func (a *auth) checkToken(tok string) bool {
	return a.token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(a.token)) == 1
}

func digest(id string) string {
	s := sha256.Sum256([]byte(id))
	return hex.EncodeToString(s[:])
}

func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// open starts a session and answers its cookie value.
func (a *auth) open(ctx context.Context, s *Session) (string, error) {
	id, err := randomID()
	if err != nil {
		return "", err
	}
	if s.CSRF, err = randomID(); err != nil {
		return "", err
	}
	groups := "*"
	if s.Groups != nil {
		groups = strings.Join(s.Groups, "\n")
	}
	k := a.key("s", digest(id))
	p := a.store.Client().TxPipeline()
	p.HSet(ctx, k, "who", s.Who, "groups", groups, "csrf", s.CSRF)
	p.Expire(ctx, k, sessionLife)
	if _, err := p.Exec(ctx); err != nil {
		return "", fmt.Errorf("%w: open session: %w", state.ErrRedis, err)
	}
	return id, nil
}

// session reads the request's session (nil: none).
func (a *auth) session(ctx context.Context, r *http.Request) (*Session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, nil
	}
	kv, err := a.store.Client().HGetAll(ctx, a.key("s", digest(c.Value))).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: read session: %w", state.ErrRedis, err)
	}
	if kv["who"] == "" {
		return nil, nil
	}
	s := &Session{Who: kv["who"], CSRF: kv["csrf"]}
	if g := kv["groups"]; g != "*" {
		s.Groups = strings.Split(g, "\n")
	}
	return s, nil
}

// close ends the request's session.
func (a *auth) close(ctx context.Context, r *http.Request) error {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	return a.store.Client().Del(ctx, a.key("s", digest(c.Value))).Err()
}

// clientOf is the address failed logins are counted against. Behind a
// proxy every client shares its address: the limit then protects the
// token from guessing, at the price of locking out everyone for a while.
func clientOf(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// secure reports whether the request came over TLS (directly or through a
// proxy that says so), so the cookie is marked Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
