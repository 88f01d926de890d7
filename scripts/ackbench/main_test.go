package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/slackfake"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var d []time.Duration
		for _, n := range ns {
			d = append(d, time.Duration(n)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{ms(7), 0.5, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 0.9, 4 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 9 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 1, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v; want %v", tt.sorted, tt.p, got, tt.want)
		}
	}
}

// commandServer is a tiny slash-command endpoint: it verifies the signature with
// slack-go, as authtriage serve does, and remembers the commands it accepted.
type commandServer struct {
	secret string
	delay  time.Duration // before answering
	reply  bool          // post to the response_url before answering; 500 if that fails

	mu   sync.Mutex
	cmds []slack.SlashCommand
}

func (s *commandServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sv, err := slack.NewSecretsVerifier(r.Header, s.secret)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.Body = io.NopCloser(io.TeeReader(r.Body, &sv))
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := sv.Ensure(); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	time.Sleep(s.delay)
	if s.reply {
		err := slack.PostWebhookContext(r.Context(), cmd.ResponseURL, &slack.WebhookMessage{Text: "done"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	s.mu.Lock()
	s.cmds = append(s.cmds, cmd)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"response_type": "ephemeral", "text": "ok"})
}

// bench runs ackbench against s with args (after -url and -secret-file) and
// returns its table's rows, split in fields, and its error.
func bench(t *testing.T, s *commandServer, secret string, args ...string) ([][]string, string, error) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	args = append([]string{"-url", srv.URL + "/slack/commands", "-secret-file", file, "-pause", "0"}, args...)
	err := run(t.Context(), args, &stdout, &stderr)
	t.Logf("ackbench %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	var rows [][]string
	for line := range strings.Lines(stdout.String()) {
		f := strings.Fields(line)
		if len(f) == 8 {
			if _, err := strconv.Atoi(f[0]); err == nil {
				rows = append(rows, f)
			}
		}
	}
	return rows, stdout.String(), err
}

func TestRun(t *testing.T) {
	s := &commandServer{secret: "s3cret"}
	rows, _, err := bench(t, s, "s3cret", "-rates", "40,80", "-duration", "250ms", "-text", "check sqlhost01")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"40", "10", "10", "0"}, {"80", "20", "20", "0"}}
	if len(rows) != len(want) {
		t.Fatalf("rows = %q; want %d", rows, len(want))
	}
	for i, w := range want {
		if got := rows[i][:4]; !slices.Equal(got, w) {
			t.Errorf("row %d = %q; want rate, sent, 2xx, errors %q", i, rows[i], w)
		}
	}

	users, triggers := map[string]bool{}, map[string]bool{}
	for _, c := range s.cmds {
		if c.Command != "/authtriage" || c.Text != "check sqlhost01" || c.TeamID == "" || c.ChannelID == "" ||
			c.ResponseURL == "" || c.APIAppID == "" || c.UserName == "" {
			t.Errorf("command %+v lacks a field", c)
		}
		users[c.UserID], triggers[c.TriggerID] = true, true
	}
	if len(s.cmds) != 30 || len(users) != 30 || len(triggers) != 30 {
		t.Errorf("%d commands with %d users and %d trigger IDs; want 30 of each", len(s.cmds), len(users), len(triggers))
	}
}

func TestRunWrongSecret(t *testing.T) {
	rows, _, err := bench(t, &commandServer{secret: "s3cret"}, "other", "-rates", "20", "-duration", "250ms")
	if err == nil || !strings.Contains(err.Error(), "5 requests failed") {
		t.Errorf("err = %v; want 5 requests failed", err)
	}
	if len(rows) != 1 || rows[0][2] != "0" || rows[0][3] != "5" {
		t.Errorf("rows = %q; want 5 errors, no 2xx", rows)
	}
}

// TestOpenLoop checks that a slow server does not slow the sender: requests leave
// on schedule, and their latency shows the server's delay.
func TestOpenLoop(t *testing.T) {
	start := time.Now()
	rows, _, err := bench(t, &commandServer{secret: "s", delay: 200 * time.Millisecond}, "s", "-rates", "100", "-duration", "300ms")
	if err != nil {
		t.Fatal(err)
	}
	// Closed loop, one at a time, 30 requests would take 6s.
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("30 requests answered in 200ms each took %v; want them sent concurrently", took)
	}
	if len(rows) != 1 || rows[0][1] != "30" {
		t.Fatalf("rows = %q; want 30 sent", rows)
	}
	if p50, _ := strconv.ParseFloat(rows[0][4], 64); p50 < 200 {
		t.Errorf("p50 = %v ms; want at least the server's 200 ms", p50)
	}
}

func TestFakeAPI(t *testing.T) {
	s := &commandServer{secret: "s", reply: true}
	rows, out, err := bench(t, s, "s", "-rates", "40", "-duration", "250ms", "-fake-api", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0][2] != "10" {
		t.Errorf("rows = %q; want 10 answered after posting to their response_url", rows)
	}
	if !strings.Contains(out, "fake Slack API: 10 calls: response_url 10") {
		t.Errorf("output lacks the fake's call counts")
	}
}

// TestReplyTo checks that -reply-to points response_url values at a fake run
// elsewhere, as with -serve-only.
func TestReplyTo(t *testing.T) {
	fake, err := slackfake.NewAt("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	addr := strings.TrimSuffix(strings.TrimPrefix(fake.APIURL(), "http://"), "/")
	s := &commandServer{secret: "s", reply: true}
	if _, _, err := bench(t, s, "s", "-rates", "40", "-duration", "250ms", "-reply-to", addr); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c.Method, "response_url:") && c.JSON["text"] == "done" {
			n++
		}
	}
	if n != 10 {
		t.Errorf("the fake got %d replies; want 10", n)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-serve-only"}, "-serve-only needs -fake-api"},
		{[]string{"-url", "http://127.0.0.1:1/"}, "-url and -secret-file are required"},
		{[]string{"-url", "http://127.0.0.1:1/", "-secret-file", "testdata-missing"}, "no such file"},
		{[]string{"-fake-api", "nonsense"}, "fake Slack API"},
		{[]string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		err := run(t.Context(), tt.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tt.args, err, tt.want)
		}
	}
	if err := run(t.Context(), []string{"-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run -h = %v; want flag.ErrHelp", err)
	}
}

func TestParseRates(t *testing.T) {
	if got, err := parseRates("50, 100,800"); err != nil || !slices.Equal(got, []int{50, 100, 800}) {
		t.Errorf("parseRates(50, 100,800) = %v, %v; want [50 100 800]", got, err)
	}
	for _, s := range []string{"", "10,x", "0", "-5", "10,,20"} {
		if got, err := parseRates(s); err == nil {
			t.Errorf("parseRates(%q) = %v; want an error", s, got)
		}
	}
}
