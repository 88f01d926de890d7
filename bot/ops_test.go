package bot

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestOpsHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.request(FromSlash, "ok")
	var notReady error
	srv := httptest.NewServer(OpsHandler(reg, func() error { return notReady }))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, path string
		ready      error
		code       int
		body       string
	}{
		{"alive", "/healthz", nil, 200, "ok"},
		{"alive while not ready", "/healthz", errors.New("x"), 200, "ok"},
		{"ready", "/readyz", nil, 200, "ready"},
		{"not ready says why", "/readyz", errors.New("socket mode is not connected to Slack"), 503, "socket mode is not connected"},
		{"metrics", "/metrics", nil, 200, `authtriage_requests_total{origin="slash",result="ok"} 1`},
		{"nothing else", "/debug/pprof/", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notReady = tt.ready
			code, body := get(tt.path)
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("GET %s = %d %q; want %d with %q", tt.path, code, body, tt.code, tt.body)
			}
		})
	}
}
