package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the run goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// `qunbot run` serves the probes and metrics, handles console traffic, and
// on SIGTERM (ctx cancel) drains and exits 0.
func TestRunServesAndShutsDown(t *testing.T) {
	addr := freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "qunbot.yaml")
	cfg := fmt.Sprintf("locale: en\nhttp: { listen: %q }\nflows: { stats: {} }\n", addr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	e, _, _ := testEnv(t, "join alice\nalice: /help\n")
	out, errs := &syncBuffer{}, &syncBuffer{}
	e.stdout, e.stderr = out, errs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- runCLI(ctx, []string{"run", "-c", cfgPath}, e) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := httpGet("http://" + addr + "/readyz")
		if code == 200 && strings.Contains(out.String(), "Commands:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready with the help answer in 10s\nstdout: %s\nstderr: %s", out, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body := httpGet("http://" + addr + "/metrics"); code != 200 || !strings.Contains(body, `qunbot_events_in_total{kind="command",platform="console"} 1`) {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr: %s", code, errs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop after SIGTERM")
	}
	logs := errs.String()
	for _, want := range []string{`"msg":"http listening"`, `"msg":"shutting down: intake stopped, draining the outbox"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestRunWithRedisDownStaysUpNotReady(t *testing.T) {
	addr := freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "qunbot.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("http: { listen: %q }\nredis: { url: \"redis://user:hunter2@127.0.0.1:1/0\" }\n", addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	errs := &syncBuffer{}
	e := env{stdin: strings.NewReader("join alice\n"), stdout: io.Discard, stderr: errs, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- runCLI(ctx, []string{"run", "-c", cfgPath}, e) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := httpGet("http://" + addr + "/readyz")
		if code == 503 && strings.Contains(body, "redis") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never said not ready: %d %s\n%s", code, body, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	if strings.Contains(errs.String(), "hunter2") {
		t.Error("the Redis password appeared in the logs")
	}
	if !strings.Contains(errs.String(), "Redis is not reachable") {
		t.Errorf("no clear log line about Redis:\n%s", errs)
	}
}

// `qunbot run` with adapters.telegram: polls a Bot API (a fake on
// loopback) and answers /help through it.
func TestRunWithTelegram(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	served := false
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		w.Header().Set("Content-Type", "application/json")
		switch method {
		case "getMe":
			fmt.Fprint(w, `{"ok":true,"result":{"id":999,"is_bot":true,"first_name":"Q","username":"qunbot"}}`)
		case "getUpdates":
			mu.Lock()
			first := !served
			served = true
			mu.Unlock()
			if first {
				fmt.Fprint(w, `{"ok":true,"result":[{"update_id":1,"message":{"message_id":5,"date":1767600000,"chat":{"id":-100777,"type":"supergroup","title":"G"},"from":{"id":42,"is_bot":false,"first_name":"Ann"},"text":"/help","entities":[{"type":"bot_command","offset":0,"length":5}]}}]}`)
				return
			}
			time.Sleep(50 * time.Millisecond)
			fmt.Fprint(w, `{"ok":true,"result":[]}`)
		case "getChatAdministrators":
			fmt.Fprint(w, `{"ok":true,"result":[]}`)
		case "sendMessage":
			mu.Lock()
			sent = append(sent, r.PostForm.Get("text"))
			mu.Unlock()
			fmt.Fprint(w, `{"ok":true,"result":{"message_id":6,"date":1767600000,"chat":{"id":-100777,"type":"supergroup"}}}`)
		default:
			fmt.Fprint(w, `{"ok":true,"result":true}`)
		}
	}))
	defer api.Close()
	cfgPath := filepath.Join(t.TempDir(), "qunbot.yaml")
	cfg := fmt.Sprintf("locale: en\nhttp: { listen: %q }\nadapters:\n  telegram: { token: \"1:T\", api_url: %q, poll_timeout: 1s }\n", freePort(t), api.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	e, _, _ := testEnv(t, "")
	errs := &syncBuffer{}
	e.stderr = errs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- runCLI(ctx, []string{"run", "-c", cfgPath}, e) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(sent)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no answer sent through the Bot API\n%s", errs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(sent[0], "/help") {
		t.Errorf("sent %q", sent)
	}
	if strings.Contains(errs.String(), "1:T") {
		t.Error("the token appeared in the logs")
	}
}

// /readyz names an adapter that stopped (Telegram refused the token) or
// cannot reach its platform, and turns green when it can again; /healthz
// stays about the process.
func TestReadinessPerAdapter(t *testing.T) {
	var mu sync.Mutex
	getMe := func(w http.ResponseWriter) {
		fmt.Fprint(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/getMe") {
			getMe(w)
			return
		}
		fmt.Fprint(w, `{"ok":true,"result":[]}`)
	}))
	defer api.Close()
	tests := []struct {
		name  string
		getMe func(w http.ResponseWriter)
		want  string
	}{
		{"token rejected", getMe, "telegram adapter stopped: telegram rejected the token (401 Unauthorized)"},
		{"unreachable", func(w http.ResponseWriter) { w.WriteHeader(502); fmt.Fprint(w, "<html>bad gateway</html>") }, "telegram adapter: cannot reach the Bot API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			getMe = tt.getMe
			mu.Unlock()
			addr := freePort(t)
			cfgPath := filepath.Join(t.TempDir(), "qunbot.yaml")
			cfg := fmt.Sprintf("http: { listen: %q }\nadapters:\n  telegram: { token: \"1:x\", api_url: %q }\n", addr, api.URL)
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			e, _, _ := testEnv(t, "")
			e.stdout, e.stderr = io.Discard, io.Discard
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int)
			go func() { done <- runCLI(ctx, []string{"run", "-c", cfgPath}, e) }()
			defer func() { cancel(); <-done }()
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, body := httpGet("http://" + addr + "/readyz")
				if code == http.StatusServiceUnavailable && strings.Contains(body, tt.want) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("readyz: %d %q, want 503 with %q", code, body, tt.want)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if code, _ := httpGet("http://" + addr + "/healthz"); code != 200 {
				t.Errorf("healthz %d", code)
			}
		})
	}
}
