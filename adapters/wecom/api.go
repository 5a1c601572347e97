package wecom

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"

	"github.com/qunbot/qunbot/bot"
)

// redisCache adapts our go-redis client to silenceper's cache.Cache, so
// access tokens are shared by every replica (WeCom invalidates older tokens
// when too many are fetched).
type redisCache struct {
	rdb redis.UniversalClient
	ctx context.Context
}

var _ cache.ContextCache = redisCache{}

func (c redisCache) Get(key string) interface{} { return c.GetContext(c.ctx, key) }
func (c redisCache) Set(key string, val interface{}, timeout time.Duration) error {
	return c.SetContext(c.ctx, key, val, timeout)
}
func (c redisCache) IsExist(key string) bool { return c.IsExistContext(c.ctx, key) }
func (c redisCache) Delete(key string) error { return c.DeleteContext(c.ctx, key) }
func (c redisCache) GetContext(ctx context.Context, key string) interface{} {
	v, err := c.rdb.Get(ctx, key).Result()
	if err != nil {
		return nil
	}
	return v
}
func (c redisCache) SetContext(ctx context.Context, key string, val interface{}, timeout time.Duration) error {
	return c.rdb.Set(ctx, key, fmt.Sprint(val), timeout).Err()
}
func (c redisCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.rdb.Exists(ctx, key).Result()
	return err == nil && n > 0
}
func (c redisCache) DeleteContext(ctx context.Context, key string) error {
	return c.rdb.Del(ctx, key).Err()
}

// api calls WeCom's JSON API with one secret's access token.
type api struct {
	base   string
	corpID string
	secret string
	cache  cache.Cache
	key    string // the token's cache key: one per secret
	http   *http.Client
	// fetch lets one caller of a process fetch a token while the others
	// wait for it: the start-up check and a first post must not both ask.
	fetch sync.Mutex
}

func newAPI(base, corpID, secret, prefix string, c cache.Cache, hc *http.Client) *api {
	sum := sha1.Sum([]byte(corpID + "\x00" + secret))
	// never the secret itself in a key name
	key := prefix + "wecom:token:" + corpID + ":" + hex.EncodeToString(sum[:6])
	return &api{base: base, corpID: corpID, secret: secret, cache: c, key: key, http: hc}
}

// Error is an errcode WeCom answered with.
type Error struct {
	Method  string
	Code    int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("wecom %s: errcode %d: %s", e.Method, e.Code, e.Message)
}

type reply struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// classify maps WeCom's errcodes onto the outbox's retry rules.
func classify(method string, code int, msg string) error {
	if code == 0 {
		return nil
	}
	e := &Error{Method: method, Code: code, Message: msg}
	switch code {
	case -1: // system busy
		return fmt.Errorf("%w: %w", bot.ErrTemporary, e)
	case 45009, 45033, 45035, 130101: // call frequency, concurrency, robot 20/min
		_ = e // the outbox logs the pause; the errcode is in the message below
		return fmt.Errorf("%w (errcode %d: %s)", &bot.RetryAfterError{After: time.Minute}, code, msg)
	}
	return e
}

// tokenExpired reports errcodes that mean the access token is no longer
// good: drop it and fetch another.
func tokenExpired(code int) bool {
	return code == 40014 || code == 42001 || code == 40001 || code == 41001
}

func (a *api) token(ctx context.Context) (string, error) {
	if v, ok := cache.GetContext(ctx, a.cache, a.key).(string); ok && v != "" {
		return v, nil
	}
	a.fetch.Lock()
	defer a.fetch.Unlock()
	if v, ok := cache.GetContext(ctx, a.cache, a.key).(string); ok && v != "" {
		return v, nil // fetched while this caller waited
	}
	q := url.Values{"corpid": {a.corpID}, "corpsecret": {a.secret}}
	var out struct {
		reply
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := doJSON(ctx, a.http, http.MethodGet, a.base+"/cgi-bin/gettoken?"+q.Encode(), nil, &out); err != nil {
		return "", fmt.Errorf("wecom gettoken: %w", err)
	}
	if err := classify("gettoken", out.ErrCode, out.ErrMsg); err != nil {
		return "", err
	}
	ttl := time.Duration(out.ExpiresIn)*time.Second - 5*time.Minute // refresh early
	if ttl <= 0 {
		ttl = time.Minute
	}
	if err := cache.SetContext(ctx, a.cache, a.key, out.AccessToken, ttl); err != nil {
		return "", fmt.Errorf("wecom: cache the access token: %w", err)
	}
	return out.AccessToken, nil
}

// call POSTs body to path with the access token and decodes the answer
// into out (which must embed reply). An expired token is dropped and the
// call made once more.
func (a *api) call(ctx context.Context, path string, body, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := a.token(ctx)
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := doJSON(ctx, a.http, http.MethodPost, a.base+path+"?access_token="+url.QueryEscape(tok), body, &raw); err != nil {
			return fmt.Errorf("wecom %s: %w", path, err)
		}
		var r reply
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("wecom %s: %w", path, err)
		}
		if tokenExpired(r.ErrCode) && attempt == 0 {
			_ = a.cache.Delete(a.key)
			continue
		}
		if err := classify(path, r.ErrCode, r.ErrMsg); err != nil {
			return err
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("wecom %s: %w", path, err)
			}
		}
		return nil
	}
}

// uploadImage stores a picture as temporary media (media/upload, kept 3
// days by WeCom) and returns its media_id, for an image message.
func (a *api) uploadImage(ctx context.Context, name string, data []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("media", name)
	if err != nil {
		return "", err
	}
	if _, err := part.Write(data); err != nil {
		return "", err
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		tok, err := a.token(ctx)
		if err != nil {
			return "", err
		}
		var out struct {
			reply
			MediaID string `json:"media_id"`
		}
		u := a.base + "/cgi-bin/media/upload?type=image&access_token=" + url.QueryEscape(tok)
		if err := doRequest(ctx, a.http, http.MethodPost, u, mw.FormDataContentType(), body.Bytes(), &out); err != nil {
			return "", fmt.Errorf("wecom media/upload: %w", err)
		}
		if tokenExpired(out.ErrCode) && attempt == 0 {
			_ = a.cache.Delete(a.key)
			continue
		}
		if err := classify("/cgi-bin/media/upload", out.ErrCode, out.ErrMsg); err != nil {
			return "", err
		}
		return out.MediaID, nil
	}
}

// doJSON makes one HTTP request; network failures and 5xx are temporary.
func doJSON(ctx context.Context, hc *http.Client, method, u string, body, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	return doRequest(ctx, hc, method, u, "application/json", b, out)
}

// doRequest is doJSON with a body already encoded (nil: none).
func doRequest(ctx context.Context, hc *http.Client, method, u, contentType string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries the access token or webhook key
		}
		return fmt.Errorf("%w: %v", bot.ErrTemporary, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%w: %v", bot.ErrTemporary, err)
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%w: HTTP %d", bot.ErrTemporary, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unexpected answer (%s): %w", strconv.Quote(string(data[:min(len(data), 200)])), err)
	}
	return nil
}
