package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/qunbot/qunbot/bot/httpapi"
	"github.com/qunbot/qunbot/bot/metrics"
)

type readiness struct{ err error }

func (r *readiness) Ready(context.Context) error { return r.err }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	r := &readiness{}
	m := metrics.New()
	m.EventsIn.WithLabelValues("console", "message").Inc()
	s := httpapi.New(r, m.Registry, zap.NewNop())
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr()

	tests := []struct {
		path     string
		readyErr error
		code     int
		body     string
	}{
		{"/healthz", nil, 200, "ok"},
		{"/readyz", nil, 200, "ready"},
		{"/readyz", errors.New("redis: ping: connection refused"), 503, "not ready: redis: ping: connection refused"},
		{"/healthz", errors.New("down"), 200, "ok"}, // alive even when not ready
		{"/metrics", nil, 200, `qunbot_events_in_total{kind="message",platform="console"} 1`},
		{"/nope", nil, 404, ""},
	}
	for _, tt := range tests {
		r.err = tt.readyErr
		code, body := get(t, base+tt.path)
		if code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("GET %s (ready err %v) = %d %q", tt.path, tt.readyErr, code, body)
		}
	}
}
