package agent

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/authtriage/authtriage/triage"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Hosts is the inventory the agent answers for, by name; names are matched
	// ignoring case. A request for any other host is refused.
	Hosts map[string]triage.Target
	// Checks returns the fixed checks the agent runs for a host, looking since back in
	// the logs (0 means the checks' default). Nothing from the request reaches them
	// but the inventory's target and since.
	Checks func(t triage.Target, since time.Duration) []triage.Check
	// AllowedClients are the client identities (certificate CN, or first DNS name when
	// the CN is empty) that may use the agent, matched ignoring case. Other
	// certificates signed by the client CA are refused with 403.
	AllowedClients []string
	Deadline       time.Duration // bounds one triage request; 0 means 60s
	CheckTimeout   time.Duration // bounds each check; 0 means 30s
	MaxConcurrent  int           // triages at once, beyond which requests get 503; 0 means 4
	RatePerMinute  int           // triage requests per minute per client; 0 means 30
	Burst          int           // triage requests a client may make at once; 0 means 5
	// SweepConcurrent is how many hosts of batch requests run at once, all batches
	// together, apart from MaxConcurrent (a sweep never takes an interactive triage's
	// place); 0 means 16. At most 4 batches run at once; more get 503.
	SweepConcurrent int
	// SweepRatePerMinute is how many batch requests a client may start a minute, and
	// SweepBurst how many at once; 0 means 12 and 4.
	SweepRatePerMinute int
	SweepBurst         int
	// BatchDeadline bounds how long a batch's host waits for a sweep slot once its
	// turn in the batch has come (not since the batch began, so a batch of many hosts
	// is not cut short): a host not started by then gets a 503 line, which the
	// client's Sweep asks for again in a later batch; 0 means 30 minutes.
	BatchDeadline time.Duration
	// KeepAlive is how long a batch's stream may be silent before the agent writes a
	// blank line, which clients skip, so that they tell hosts running to their
	// Deadline from a stalled stream; 0 means 15s.
	KeepAlive time.Duration
	// WriteTimeout bounds writing one host's lines of a batch to the client; a client
	// that reads no faster ends the batch. 0 means 30s.
	WriteTimeout time.Duration
	Version      string // the build, as GET /v1/version reports it
	// Rules are the diagnosis rules clients apply to what the checks saw
	// (diagnosis.Rules()). With them, the agent's run of the checks diagnoses too, and
	// the audit records each check's status and the verdict as a client's report shows
	// them for the agent's checks (pass, warn or fail from the findings); without them,
	// the statuses the stream carries. The stream carries no verdict either way.
	Rules []triage.Rule
}

// A Server answers triage requests for the hosts of its inventory. Every request is
// audited in its log: who asked, for which host, and how it ended.
type Server struct {
	hosts        map[string]triage.Target // by lower-case name
	checks       func(triage.Target, time.Duration) []triage.Check
	allowed      map[string]bool // lower-case identities
	checkTimeout time.Duration   // bounds each check
	deadline     time.Duration   // bounds each triage request
	limiter      *limiter
	rate         int
	slots        chan struct{} // one token per triage running
	sweep        sweepBudget
	version      string
	rules        []triage.Rule
	log          *slog.Logger
}

// NewServer returns a server for cfg, or every problem of cfg at once. A nil log
// discards the audit.
func NewServer(cfg ServerConfig, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if cfg.Checks == nil {
		errs = append(errs, errors.New("no checks"))
	}
	if len(cfg.Hosts) == 0 {
		errs = append(errs, errors.New("no hosts in the inventory"))
	}
	hosts := make(map[string]triage.Target, len(cfg.Hosts))
	for name, t := range cfg.Hosts {
		if err := triage.ValidHostName(name); err != nil {
			errs = append(errs, fmt.Errorf("inventory: %w", err))
			continue
		}
		k := strings.ToLower(name)
		if _, dup := hosts[k]; dup {
			errs = append(errs, fmt.Errorf("inventory: host %q is listed twice (names are matched ignoring case)", name))
		}
		hosts[k] = t
	}
	if len(cfg.AllowedClients) == 0 {
		errs = append(errs, errors.New("no allowed clients"))
	}
	allowed := map[string]bool{}
	for _, c := range cfg.AllowedClients {
		if c == "" {
			errs = append(errs, errors.New("an allowed client identity is empty"))
		}
		allowed[strings.ToLower(c)] = true
	}
	for _, v := range []struct {
		name string
		val  int64
	}{
		{"deadline", int64(cfg.Deadline)}, {"check timeout", int64(cfg.CheckTimeout)},
		{"max concurrent", int64(cfg.MaxConcurrent)}, {"rate per minute", int64(cfg.RatePerMinute)}, {"burst", int64(cfg.Burst)},
		{"sweep concurrent", int64(cfg.SweepConcurrent)}, {"sweep rate per minute", int64(cfg.SweepRatePerMinute)},
		{"sweep burst", int64(cfg.SweepBurst)}, {"batch deadline", int64(cfg.BatchDeadline)}, {"write timeout", int64(cfg.WriteTimeout)},
		{"keep-alive", int64(cfg.KeepAlive)},
	} {
		if v.val < 0 {
			errs = append(errs, fmt.Errorf("%s is negative", v.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	rate := cmp.Or(cfg.RatePerMinute, 30)
	sweepRate := cmp.Or(cfg.SweepRatePerMinute, 12)
	return &Server{
		hosts:        hosts,
		checks:       cfg.Checks,
		allowed:      allowed,
		checkTimeout: cmp.Or(cfg.CheckTimeout, 30*time.Second),
		deadline:     cmp.Or(cfg.Deadline, 60*time.Second),
		limiter:      newLimiter(rate, cmp.Or(cfg.Burst, 5), time.Now),
		rate:         rate,
		slots:        make(chan struct{}, cmp.Or(cfg.MaxConcurrent, 4)),
		sweep: sweepBudget{
			limiter:      newLimiter(sweepRate, cmp.Or(cfg.SweepBurst, 4), time.Now),
			rate:         sweepRate,
			slots:        make(chan struct{}, cmp.Or(cfg.SweepConcurrent, 16)),
			batches:      make(chan struct{}, maxBatches),
			deadline:     cmp.Or(cfg.BatchDeadline, 30*time.Minute),
			writeTimeout: cmp.Or(cfg.WriteTimeout, 30*time.Second),
			keepAlive:    cmp.Or(cfg.KeepAlive, 15*time.Second),
		},
		version: cfg.Version,
		rules:   cfg.Rules,
		log:     log,
	}, nil
}

// shutdownGrace is how long Serve lets running triages finish once asked to stop.
const shutdownGrace = 10 * time.Second

// Serve answers requests on ln over TLS until ctx is done, then stops accepting, lets
// running triages finish for up to 10 seconds, cancels the rest and returns nil.
// tlsCfg must require and verify client certificates (see ServerTLS). Connections
// refused in the TLS handshake are logged as warnings.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsCfg *tls.Config) error {
	if tlsCfg == nil || tlsCfg.ClientAuth != tls.RequireAndVerifyClientCert {
		return errors.New("agent: the TLS configuration must require and verify client certificates")
	}
	base, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	hs := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsCfg.Clone(),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.deadline + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	s.log.InfoContext(ctx, "agent listening", "addr", ln.Addr().String(), "hosts", len(s.hosts))
	select {
	case err := <-errc: // the listener failed
		stop()
		hs.Close()
		return fmt.Errorf("agent: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(base, shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Cancel the checks still running: their streams end with the checks' errors.
		s.log.WarnContext(base, "agent stopping with triages running; canceling them", "err", err)
		stop()
		last, cancelLast := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		hs.Shutdown(last) // its error repeats the listener's closing
		cancelLast()
		hs.Close()
	}
	<-errc // http.ErrServerClosed
	s.log.InfoContext(base, "agent stopped")
	return nil
}

// Handler returns the agent's HTTP handler. It expects requests from a TLS server that
// verified the client's certificate, as Serve runs it; a request without a verified
// certificate is refused with 401.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// audit is what the log records about one request.
type audit struct {
	client string
	host   string
	reason string               // why it was refused, or how the stream ended
	batch  string               // how a batch's hosts ended; "" for other requests
	checks []triage.CheckResult // as the stream carried them
	// judged is the report of the agent's run, which is the report a client draws
	// from a complete stream: its checks' statuses and verdict; nil when the stream
	// was cut or there are no rules.
	judged *triage.Report
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	a := &audit{}
	defer func() { s.audit(r, a, w.code(), time.Since(start)) }()

	id, err := identity(r.TLS)
	if err != nil {
		s.refuse(w, a, http.StatusUnauthorized, err.Error())
		return
	}
	a.client = id
	if !s.allowed[strings.ToLower(id)] {
		s.refuse(w, a, http.StatusForbidden, fmt.Sprintf("client %q is not allowed to use this agent", printable(id)))
		return
	}
	route := func(method string, h func()) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			s.refuse(w, a, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s", r.URL.Path, method))
			return
		}
		h()
	}
	switch r.URL.Path {
	case PathTriage:
		route(http.MethodPost, func() { s.triage(w, r, a) })
	case PathBatch:
		route(http.MethodPost, func() { s.batch(w, r, a) })
	case PathHealth:
		route(http.MethodGet, func() { writeJSON(w, http.StatusOK, Health{Status: "ok"}) })
	case PathVersion:
		route(http.MethodGet, func() { writeJSON(w, http.StatusOK, Version{Version: s.version, API: "v1"}) })
	default:
		s.refuse(w, a, http.StatusNotFound, "no such endpoint")
	}
}

// limited refuses the request with 429 and Retry-After when the client's bucket of l,
// which allows perMinute requests of what a minute, is empty, and reports whether it
// did.
func (s *Server) limited(w http.ResponseWriter, a *audit, l *limiter, perMinute int, what string) bool {
	ok, wait := l.allow(strings.ToLower(a.client))
	if ok {
		return false
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.refuse(w, a, http.StatusTooManyRequests,
		fmt.Sprintf("rate limit of %d %s a minute reached; retry in %ds", perMinute, what, secs))
	return true
}

// startStream answers 200 with an NDJSON stream, flushed at once so that the client
// knows the work started and stops retrying, and returns its controller. The body is
// read by then: the server's ReadTimeout, left on the connection, would end the
// request's context while the work runs, so it is lifted; the caller's own deadlines
// bound the stream instead.
func startStream(w http.ResponseWriter) *http.ResponseController {
	h := w.Header()
	h.Set("Content-Type", ContentNDJSON)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Time{})
	return rc
}

// triage serves POST /v1/triage.
func (s *Server) triage(w http.ResponseWriter, r *http.Request, a *audit) {
	if s.limited(w, a, s.limiter, s.rate, "triages") {
		return
	}
	req, since, code, err := decodeRequest(w, r)
	a.host = printable(req.Host)
	if err != nil {
		s.refuse(w, a, code, err.Error())
		return
	}
	t, ok := s.hosts[strings.ToLower(req.Host)]
	if !ok {
		s.refuse(w, a, http.StatusNotFound, fmt.Sprintf("host %q is not in this agent's inventory", req.Host))
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		w.Header().Set("Retry-After", "1")
		s.refuse(w, a, http.StatusServiceUnavailable, fmt.Sprintf("%d triages are running, the most this agent runs at once", cap(s.slots)))
		return
	}

	rc := startStream(w)
	emit := func(l Line) error {
		b, err := encodeLine(l)
		if err != nil { // cannot happen with triage's types; say so rather than cut the stream
			cr := triage.CheckResult{Name: l.Check.Name, Status: triage.CheckError, Detail: "internal error: encode observations: " + err.Error()}
			b, _ = encodeLine(Line{Check: &cr})
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The checks run under this request: when the client goes away, or a line cannot
	// be written, they are canceled.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var cut error // why the stream could not be written
	run := triage.Runner{
		Checks:       s.checks(t, since),
		Rules:        s.rules,
		CheckTimeout: s.checkTimeout,
		Deadline:     s.deadline,
		NewID:        func() string { return "" }, // the report stays here
		Log:          s.log,
		OnResult: func(cr triage.CheckResult, res triage.Result) {
			if cut != nil {
				return
			}
			a.checks = append(a.checks, cr)
			if cut = emit(lineOf(cr, res)); cut != nil {
				cancel()
			}
		},
	}
	rep := run.Run(ctx, t)
	canceled := r.Context().Err() // the client went away, or the agent is stopping
	if cut == nil && canceled == nil {
		// Only a run that was not cut short ends with the end marker: a client reading a
		// stream without it knows the agent stopped halfway (agent.unreachable).
		cut = emit(Line{Done: true})
	}
	switch {
	case cut != nil:
		a.reason = "stream cut: " + cut.Error()
	case canceled != nil:
		a.reason = "canceled: " + context.Cause(r.Context()).Error()
	default:
		a.reason = "complete"
		if s.rules != nil {
			a.judged = &rep
		}
	}
}

// lineOf returns the stream's line for a check's result as the Runner first knows it:
// status pass, skipped or error (the agent sends no verdict: warn and fail are for the
// client's rules to find), the duration in whole milliseconds, and what the check saw.
func lineOf(cr triage.CheckResult, res triage.Result) Line {
	cr.Duration = cr.Duration.Truncate(time.Millisecond)
	l := Line{Check: &cr}
	if !reflect.ValueOf(res.Obs).IsZero() {
		l.Observations = &res.Obs
	}
	return l
}

// decodeRequest reads and checks the body of a triage request. On error it returns the
// HTTP status that says what is wrong.
func decodeRequest(w http.ResponseWriter, r *http.Request) (TriageRequest, time.Duration, int, error) {
	var req TriageRequest
	if code, err := decodeBody(w, r, MaxRequestBytes, &req); err != nil {
		return TriageRequest{}, 0, code, err
	}
	if err := triage.ValidHostName(req.Host); err != nil {
		return req, 0, http.StatusBadRequest, err
	}
	var since time.Duration
	if req.Since != "" {
		var err error
		since, err = time.ParseDuration(req.Since)
		if err != nil || since <= 0 || since > MaxSince {
			return req, 0, http.StatusBadRequest, fmt.Errorf("since %q is not a positive duration of at most 2160h (90 days), such as 24h", printable(req.Since))
		}
	}
	return req, since, 0, nil
}

// decodeBody reads r's body, application/json of at most limit bytes, into the struct
// v points to: strictly (strictKeys), without unknown fields or data after the value.
// On error it returns the HTTP status that says what is wrong.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) (int, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != ContentJSON {
		return http.StatusUnsupportedMediaType, errors.New("the body must be application/json")
	}
	tooBig := fmt.Errorf("the body is larger than %d bytes", limit)
	if r.ContentLength > limit {
		return http.StatusRequestEntityTooLarge, tooBig
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err == nil {
		err = strictKeys(body, jsonFields(reflect.TypeOf(v).Elem()))
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil {
			if _, err = dec.Token(); err == io.EOF {
				err = nil
			} else if err == nil {
				err = errors.New("data after the JSON object")
			}
		}
	}
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, tooBig
	case err != nil:
		return http.StatusBadRequest, fmt.Errorf("malformed request: %s", clip(err.Error()))
	}
	return 0, nil
}

// strictKeys refuses JSON that encoding/json would read other than as written.
// It matches an object's keys to a struct's fields ignoring case (by Unicode
// simple folding, so "hoſt" is host too), and a later key overrides an earlier
// one: {"host":"a","HOST":"b"} reads as host b. So in every object of data, no
// two keys may be equal ignoring case; and the keys of the outermost object that
// name one of fields must be spelt exactly as it is. Other keys are left to the
// decoder (DisallowUnknownFields). Only data's first value is read; its syntax
// errors are reported.
func strictKeys(data []byte, fields []string) error {
	type object struct {
		seen map[string]string // the keys so far by their folded form; nil for an array
		key  bool              // the next token is a key (or the end)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []object
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].key {
			if key, ok := tok.(string); ok {
				top := &stack[n-1]
				top.key = false
				f := fold(key)
				if prev, dup := top.seen[f]; dup {
					if prev == key {
						return fmt.Errorf("key %q appears twice in an object", printable(key))
					}
					return fmt.Errorf("keys %q and %q are the same key: keys are matched ignoring case", printable(prev), printable(key))
				}
				top.seen[f] = key
				if n == 1 {
					for _, field := range fields {
						if fold(field) == f && field != key {
							return fmt.Errorf("key %q must be spelt %q", printable(key), field)
						}
					}
				}
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, object{seen: map[string]string{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, object{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object, a key comes next.
		if n := len(stack); n == 0 {
			return nil
		} else if stack[n-1].seen != nil {
			stack[n-1].key = true
		}
	}
}

// fold returns the form of s that encoding/json compares keys with: each
// character replaced by the smallest of those equal to it under Unicode simple
// case folding, so that fold(a) == fold(b) exactly when strings.EqualFold(a, b).
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				return next
			}
			r = next
		}
	}, s)
}

// jsonFields returns the JSON names of struct type t's fields.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		names = append(names, cmp.Or(name, f.Name))
	}
	return names
}

// clip shortens a message that may quote what the client sent.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// refuse answers with an error status and records why.
func (s *Server) refuse(w http.ResponseWriter, a *audit, code int, reason string) {
	a.reason = reason
	writeJSON(w, code, errorBody{Error: reason})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v) // the API's own small types
	h := w.Header()
	h.Set("Content-Type", ContentJSON)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// audit logs one request: who asked, for which host (as the request and the client's
// report name it), the HTTP status, how each check ended and how long it all took.
// When the server has rules and the stream was complete, checks holds each check's
// status as the client's report shows it (pass, warn, fail, error, skipped), verdict
// the report's status for these checks (ok, warning, critical, unknown) and findings
// its causes; else checks holds the statuses the stream carried. Refusals are warnings.
func (s *Server) audit(r *http.Request, a *audit, code int, took time.Duration) {
	level := slog.LevelInfo
	if code >= 400 {
		level = slog.LevelWarn
	}
	checks := a.checks
	var verdict string
	var causes []string
	if a.judged != nil {
		checks, verdict = a.judged.Checks, string(a.judged.Status)
		for _, f := range a.judged.Findings {
			causes = append(causes, string(f.Cause))
		}
	}
	results := make([]string, len(checks))
	for i, c := range checks {
		results[i] = c.Name + "=" + string(c.Status)
	}
	attrs := []any{
		"client", a.client,
		"remote", r.RemoteAddr,
		"method", r.Method,
		"path", printable(r.URL.Path),
		"host", a.host,
		"status", code,
		"checks", strings.Join(results, ","),
	}
	if a.judged != nil {
		attrs = append(attrs, "verdict", verdict, "findings", strings.Join(causes, ","))
	}
	if a.batch != "" {
		attrs = append(attrs, "batch", a.batch)
	}
	attrs = append(attrs, "reason", a.reason, "took_ms", took.Milliseconds())
	s.log.Log(r.Context(), level, "request", attrs...)
}

// statusWriter remembers the status of a response for the audit.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection to flush it.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
