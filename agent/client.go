package agent

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/internal/human"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	Name       string        // the agent's name in the configuration, as reports show it; "" means the URL's host
	URL        string        // https://agent-east.corp.example:8443
	CertFile   string        // this client's certificate (PEM)
	KeyFile    string        // its private key (PEM)
	CAFile     string        // the CA that signed the agent's certificate, the only one trusted
	ServerName string        // the name to verify in the agent's certificate; "" means the URL's host
	Timeout    time.Duration // bounds each request, a whole triage stream included; 0 means 60s
}

// A Client asks one agent for triages over mutual TLS. It is built once per agent and
// lives as long as the process: it holds one http.Transport, whose connections (and TLS
// sessions) every request reuses, and is safe for concurrent use by any number of
// triages and sweeps. Close closes its idle connections when the process shuts down;
// requests in flight are not interrupted, and a Client may still be used after Close
// (it then dials again).
type Client struct {
	name    string
	url     string
	base    *url.URL
	http    *http.Client
	tr      *http.Transport
	timeout time.Duration
	log     *slog.Logger
}

// Retry policy of the connection attempt.
const (
	maxAttempts      = 5
	firstBackoff     = 200 * time.Millisecond
	maxBackoff       = 5 * time.Second
	handshakeTimeout = 10 * time.Second
)

// NewClient returns a client for the agent cfg describes; its certificate and CA
// files are read under ctx. A nil log discards.
func NewClient(ctx context.Context, cfg ClientConfig, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("agent: %q is not an https:// URL of an agent", cfg.URL)
	}
	serverName := cfg.ServerName
	if serverName == "" {
		serverName = u.Hostname()
	}
	tlsCfg, err := clientTLS(ctx, cfg.CertFile, cfg.KeyFile, cfg.CAFile, serverName)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", u.Host, err)
	}
	name := cfg.Name
	if name == "" {
		name = u.Hostname()
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		// Dialling and the handshake are done here so that their failures, the only
		// ones safe to retry, can be told from the rest.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, &connectError{err: err, retry: true}
			}
			cfg, offered := presentAlways(tlsCfg)
			tc := tls.Client(conn, cfg)
			hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
			defer cancel()
			err = tc.HandshakeContext(hctx)
			if why := offered.untrusted(); why != "" {
				// Under TLS 1.3 the agent's refusal only arrives with the first read;
				// it is certain once the agent named CAs that did not sign ours.
				conn.Close()
				return nil, &connectError{err: errors.New(why)}
			}
			if err != nil {
				conn.Close()
				return nil, &connectError{err: err, retry: !refusedByTLS(err)}
			}
			return tc, nil
		},
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &Client{
		name: name,
		url:  cfg.URL,
		base: u,
		tr:   tr,
		http: &http.Client{
			Transport: tr,
			// An agent never redirects; following one would show the certificate elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: cmp.Or(max(cfg.Timeout, 0), 60*time.Second), // a negative timeout is taken as none given
		log:     log,
	}, nil
}

// Name returns the agent's name, as reports show it.
func (c *Client) Name() string { return c.name }

// Close closes the Client's idle connections to the agent. It does not wait for, or
// cut, requests in flight; their connections close when those requests end.
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// presentAlways returns a copy of cfg for one connection that presents cfg's client
// certificate even when the agent's request does not list its issuer among the CAs it
// accepts. crypto/tls would otherwise send no certificate, and the agent would refuse
// with "certificate required", hiding the real fault; offered records the mismatch so
// that the handshake's error can name it.
func presentAlways(cfg *tls.Config) (*tls.Config, *offer) {
	o := &offer{}
	c := cfg.Clone()
	cert := cfg.Certificates[0]
	c.Certificates = nil
	c.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if err := cri.SupportsCertificate(&cert); err != nil && len(cri.AcceptableCAs) > 0 {
			o.mu.Lock()
			o.issuer, o.acceptable = issuerOf(cert), namesOf(cri.AcceptableCAs)
			o.mu.Unlock()
		}
		return &cert, nil
	}
	return c, o
}

// An offer records, for one handshake, that the agent asked for a client certificate
// from CAs that did not sign ours.
type offer struct {
	mu         sync.Mutex
	issuer     string
	acceptable []string
}

// untrusted says why the agent will refuse our certificate, or "" when it asked for
// certificates of our issuer (or said nothing of its CAs).
func (o *offer) untrusted() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.issuer == "" {
		return ""
	}
	return fmt.Sprintf("the client certificate is not signed by a CA the agent trusts (it is issued by %q; the agent accepts certificates issued by %s)",
		o.issuer, strings.Join(quoteAll(o.acceptable), ", "))
}

// issuerOf returns the issuer of cert's leaf, or "an unreadable issuer".
func issuerOf(cert tls.Certificate) string {
	leaf := cert.Leaf
	if leaf == nil && len(cert.Certificate) > 0 {
		leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	if leaf == nil {
		return "an unreadable issuer"
	}
	return leaf.Issuer.String()
}

// namesOf decodes the DER distinguished names of a certificate request.
func namesOf(ders [][]byte) []string {
	var out []string
	for _, der := range ders {
		var seq pkix.RDNSequence
		if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) > 0 {
			out = append(out, "(an undecodable name)")
			continue
		}
		var n pkix.Name
		n.FillFromRDNSequence(&seq)
		out = append(out, n.String())
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// connectError is a failure to connect: before anything was sent, so retrying is safe
// when retry says the cause may pass.
type connectError struct {
	err   error
	retry bool
}

func (e *connectError) Error() string { return e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// refusedByTLS reports whether a handshake failed because a side refused the other's
// certificate or is no TLS server: retrying would fail the same way.
func refusedByTLS(err error) bool {
	var (
		op       *net.OpError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return (errors.As(err, &op) && op.Op == "remote error") || errors.As(err, &verify) ||
		errors.As(err, &record) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// A StatusError is an agent's refusal of a request.
type StatusError struct {
	Code    int    // the HTTP status
	Message string // the agent's reason
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("refused with %d %s: %s", e.Code, http.StatusText(e.Code), e.Message)
}

// refusal reads an agent's error answer and closes its body.
func refusal(resp *http.Response) error {
	defer resp.Body.Close()
	var body errorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if json.Unmarshal(data, &body) != nil || body.Error == "" {
		body.Error = "no reason given"
	}
	return &StatusError{Code: resp.StatusCode, Message: clip(body.Error)}
}

// do sends a request, retrying only what is safe to retry: a connection that could not
// be made (before the request was sent), and the agent's 429 and 503, which it answers
// before running anything. It waits with capped exponential backoff, or as long as
// Retry-After says, and gives up when the wait would pass ctx's deadline.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	target := c.base.JoinPath(path).String()
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", ContentJSON)
		}
		resp, err := c.http.Do(req)
		var wait time.Duration
		switch {
		case err != nil:
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL is known; keep the cause
			}
			err = causeOf(ctx, err)
			var ce *connectError
			if !errors.As(err, &ce) || !ce.retry || ctx.Err() != nil {
				return nil, withAttempts(err, attempt)
			}
			wait = jitter(backoff)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			wait = max(jitter(backoff), retryAfter(resp.Header.Get("Retry-After")))
			err = refusal(resp)
		default:
			return resp, nil
		}
		if deadline, ok := ctx.Deadline(); attempt == maxAttempts || (ok && time.Until(deadline) < wait) {
			return nil, withAttempts(err, attempt)
		}
		c.log.DebugContext(ctx, "agent: retrying", "agent", c.name, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, withAttempts(err, attempt)
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func withAttempts(err error, attempts int) error {
	if attempts == 1 {
		return err
	}
	return fmt.Errorf("%w (%d attempts)", err, attempts)
}

// jitter spreads d by up to a quarter, so that clients refused together do not return
// together.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/4+1)
}

// retryAfter parses a Retry-After header in seconds or as an HTTP date; 0 when absent
// or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, 10*time.Minute)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), 10*time.Minute)
	}
	return 0
}

// causeOf returns the cause of ctx's end when err is nil or only says that ctx ended;
// else err.
func causeOf(ctx context.Context, err error) error {
	if ctx.Err() != nil && (err == nil || errors.Is(err, ctx.Err())) {
		return context.Cause(ctx)
	}
	return err
}

// timedOut words a failure that a deadline caused, with the time waited since began:
// ctx's own (the client's timeout) or one whose passing ended ctx with that cause (the
// limit of the checks that cut a stream).
func timedOut(ctx context.Context, began time.Time, err error) error {
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("timed out after %s: %w", human.Elapsed(time.Since(began)), err)
}

// Triage asks the agent to triage host, its logs looked at since back (0 means the
// agent's default), and calls fn with each check's line in the order they arrive. It
// returns nil when the stream ended with its end marker, or else why it did not, fn
// having seen every line that arrived. The request is bounded by the client's timeout
// and ctx; only the connection attempt is retried, never a stream that has begun. When
// ctx ends with a cause, the error gives the cause.
func (c *Client) Triage(ctx context.Context, host string, since time.Duration, fn func(Line)) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req := TriageRequest{Host: host}
	if since > 0 {
		req.Since = since.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPost, PathTriage, body)
	if err != nil {
		return timedOut(ctx, began, err)
	}
	if resp.StatusCode != http.StatusOK {
		return refusal(resp)
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != ContentNDJSON {
		return fmt.Errorf("answered with %q, not a triage stream", printable(resp.Header.Get("Content-Type")))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	n := 0
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		l, err := DecodeLine(sc.Bytes())
		if err != nil {
			return fmt.Errorf("stream broken after %s: %w", human.Count(n, "result", "results"), err)
		}
		if ctx.Err() != nil {
			// A line read after our own deadline or cancel may be the agent's account of
			// the cancel itself ("canceled"), not a result.
			break
		}
		if l.Done {
			return nil
		}
		n++
		fn(l)
	}
	err = causeOf(ctx, sc.Err())
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		return fmt.Errorf("stream broken after %s: a line is longer than %d MiB", human.Count(n, "result", "results"), maxLineBytes>>20)
	case err == nil:
		return fmt.Errorf("stream ended after %s without its end marker", human.Count(n, "result", "results"))
	}
	return timedOut(ctx, began, fmt.Errorf("stream cut after %s: %w", human.Count(n, "result", "results"), err))
}

// Health asks whether the agent is up and accepts this client.
func (c *Client) Health(ctx context.Context) error {
	var h Health
	if err := c.get(ctx, PathHealth, &h); err != nil {
		return err
	}
	if h.Status != "ok" {
		return fmt.Errorf("agent %s says its health is %q", c.name, printable(h.Status))
	}
	return nil
}

// Version returns the agent's build and API version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	err := c.get(ctx, PathVersion, &v)
	return v, err
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("agent %s: %w", c.name, timedOut(ctx, began, err))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("agent %s: %w", c.name, refusal(resp))
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(v); err != nil {
		return fmt.Errorf("agent %s: bad answer: %w", c.name, timedOut(ctx, began, err))
	}
	return nil
}
