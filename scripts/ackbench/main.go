// Command ackbench is an open-loop load generator for the acknowledgement benchmark:
// it sends signed slash-command POSTs, as Slack does, to authtriage serve in HTTP
// mode at constant rates, and prints how fast they were answered. Slack gives up on
// an answer after 3 seconds.
//
// Open loop: each request leaves on its schedule, whether or not earlier ones have
// been answered, and its latency counts from the scheduled time, so a slow server
// cannot hide its latency by slowing the sender down.
//
// With -fake-api it also runs a fake Slack Web API (internal/slackfake), so the
// server has somewhere to post its replies; the requests' response_url values point
// at it. -serve-only runs only that fake, for a server that must find it before
// the load starts; the load runs then point at it with -reply-to.
//
// Usage:
//
//	go run ./scripts/ackbench -url http://127.0.0.1:8080/slack/commands -secret-file FILE \
//		-rates 50,100,200,400,800 -duration 5s -text help -fake-api 127.0.0.1:8099
//	go run ./scripts/ackbench -fake-api 127.0.0.1:8099 -serve-only
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/authtriage/authtriage/internal/slackfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ackbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ackbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", "", "slash-command URL of the server under test")
	secretFile := fs.String("secret-file", "", "file holding the Slack signing secret")
	ratesFlag := fs.String("rates", "50,100,200,400,800", "comma-separated request rates per second, one run each")
	duration := fs.Duration("duration", 5*time.Second, "how long to send at each rate")
	text := fs.String("text", "help", "text of the slash command")
	command := fs.String("command", "/authtriage", "the slash command")
	timeout := fs.Duration("timeout", 10*time.Second, "give up on an answer after this long")
	pause := fs.Duration("pause", time.Second, "pause between rates, for the server's replies to settle")
	fakeAPI := fs.String("fake-api", "", "also run a fake Slack Web API on this host:port; response_url values point at it")
	serveOnly := fs.Bool("serve-only", false, "with -fake-api, only run the fake until interrupted, then print its call counts")
	replyTo := fs.String("reply-to", "", "host:port of the fake Slack API of an ackbench -serve-only; response_url values point at it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	var fake *slackfake.Server
	if *fakeAPI != "" {
		var err error
		if fake, err = slackfake.NewAt(*fakeAPI); err != nil {
			return fmt.Errorf("fake Slack API: %w", err)
		}
		defer fake.Close()
		fmt.Fprintf(stderr, "ackbench: fake Slack API at %s\n", fake.APIURL())
	}
	if *serveOnly {
		if fake == nil {
			return errors.New("-serve-only needs -fake-api")
		}
		<-ctx.Done()
		fmt.Fprintln(stdout, summarize(fake.Calls()))
		return nil
	}

	if *target == "" || *secretFile == "" {
		return errors.New("-url and -secret-file are required")
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return err
	}
	if secret = bytes.TrimSpace(secret); len(secret) == 0 {
		return fmt.Errorf("%s is empty", *secretFile)
	}
	rates, err := parseRates(*ratesFlag)
	if err != nil {
		return err
	}
	if *duration <= 0 || *timeout <= 0 {
		return errors.New("-duration and -timeout must be positive")
	}

	l := &load{
		client: &http.Client{
			Timeout:   *timeout,
			Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true},
		},
		url:     *target,
		secret:  secret,
		command: *command,
		text:    *text,
		run:     rand.Text()[:8],
	}
	switch {
	case fake != nil:
		l.replyURL = fake.ResponseURL
	case *replyTo != "":
		// The response_url layout of internal/slackfake.
		l.replyURL = func(id string) string { return "http://" + *replyTo + "/response/" + id }
	default:
		// Nothing listens on the discard port: replies fail at once, on this machine.
		l.replyURL = func(id string) string { return "http://127.0.0.1:9/response/" + id }
	}
	defer l.client.CloseIdleConnections()

	fmt.Fprintf(stdout, "POST %s  %s %q  %v per rate, open loop; latency in ms from the scheduled send\n",
		*target, *command, *text, *duration)
	fmt.Fprintf(stdout, "%7s %7s %7s %7s %9s %9s %9s %9s\n", "rate/s", "sent", "2xx", "errors", "p50", "p90", "p99", "max")
	failed := 0
	for i, rate := range rates {
		if i > 0 && sleep(ctx, *pause) != nil {
			break
		}
		r := l.at(ctx, rate, *duration)
		fmt.Fprintln(stdout, r.row())
		for msg, n := range r.errs {
			fmt.Fprintf(stderr, "ackbench: %d/s: %d× %s\n", rate, n, msg)
		}
		failed += r.sent - r.ok
		if ctx.Err() != nil {
			break
		}
	}
	if fake != nil {
		sleep(ctx, *pause)
		fmt.Fprintln(stdout, summarize(fake.Calls()))
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return ctx.Err()
}

func parseRates(s string) ([]int, error) {
	var rates []int
	for f := range strings.SplitSeq(s, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("bad rate %q in -rates: want positive integers", f)
		}
		rates = append(rates, r)
	}
	return rates, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load sends slash commands to one server.
type load struct {
	client   *http.Client
	url      string
	secret   []byte
	command  string
	text     string
	replyURL func(id string) string
	run      string // tells this process's requests from other runs'
	seq      int    // requests scheduled so far, for their user and trigger IDs
}

// A result is what one rate's run measured.
type result struct {
	rate      int
	sent, ok  int             // requests sent; answered with a 2xx status
	latencies []time.Duration // of every request, failed or not
	errs      map[string]int  // failures by message
}

// An outcome is one request's.
type outcome struct {
	latency time.Duration
	err     error
}

// at sends rate requests a second for d, on schedule, and waits for the answers.
// It stops scheduling when ctx is done.
func (l *load) at(ctx context.Context, rate int, d time.Duration) result {
	n := int(math.Round(float64(rate) * d.Seconds()))
	interval := time.Second / time.Duration(rate)
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	sent := 0
	for i := range n {
		due := t0.Add(time.Duration(i) * interval)
		if sleep(ctx, time.Until(due)) != nil {
			break
		}
		l.seq++
		seq := l.seq
		wg.Go(func() {
			err := l.send(seq)
			outcomes[i] = outcome{latency: time.Since(due), err: err}
		})
		sent++
	}
	wg.Wait()

	r := result{rate: rate, sent: sent, errs: map[string]int{}}
	for _, o := range outcomes[:sent] {
		r.latencies = append(r.latencies, o.latency)
		if o.err != nil {
			r.errs[o.err.Error()]++
		} else {
			r.ok++
		}
	}
	return r
}

// send posts the slash command numbered seq, as Slack would, and reads the answer.
// It fails unless the status is 2xx.
func (l *load) send(seq int) error {
	id := fmt.Sprintf("%s-%d", l.run, seq)
	form := url.Values{
		"token":        {"ackbench-verification-token"},
		"team_id":      {slackfake.TeamID},
		"team_domain":  {"example"},
		"channel_id":   {"C0BENCH01"},
		"channel_name": {"bench"},
		"user_id":      {fmt.Sprintf("U%08X", seq)},
		"user_name":    {fmt.Sprintf("bench%d", seq)},
		"command":      {l.command},
		"text":         {l.text},
		"response_url": {l.replyURL(id)},
		"trigger_id":   {fmt.Sprintf("%d.%d.%s", time.Now().Unix(), seq, l.run)},
		"api_app_id":   {"A0BENCH01"},
	}
	body := []byte(form.Encode())
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slackfake.Signature(string(l.secret), ts, body))
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func (r result) row() string {
	sorted := slices.Sorted(slices.Values(r.latencies))
	ms := func(p float64) string {
		if len(sorted) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", float64(percentile(sorted, p))/float64(time.Millisecond))
	}
	return fmt.Sprintf("%7d %7d %7d %7d %9s %9s %9s %9s",
		r.rate, r.sent, r.ok, r.sent-r.ok, ms(0.50), ms(0.90), ms(0.99), ms(1))
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 1) of sorted,
// which must not be empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// summarize counts the calls the fake Slack API received, by method;
// "response_url:ID" and "upload:ID" count as one method each.
func summarize(calls []slackfake.Call) string {
	counts := map[string]int{}
	for _, c := range calls {
		m, _, _ := strings.Cut(c.Method, ":")
		counts[m]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "fake Slack API: %d calls", len(calls))
	for i, m := range slices.Sorted(maps.Keys(counts)) {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %d", sep, m, counts[m])
	}
	return b.String()
}
