package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// maxBatches bounds the batch requests an agent serves at once, all clients together.
const maxBatches = 4

// A sweepBudget is what batch requests may use of the agent, apart from interactive
// triages: their own rate per client, their own slots.
type sweepBudget struct {
	limiter      *limiter
	rate         int
	slots        chan struct{} // one token per batch host running, every batch together
	batches      chan struct{} // one token per batch request being served
	deadline     time.Duration // bounds a host's wait for a slot, from its turn in its batch
	writeTimeout time.Duration // bounds writing one host's lines
	keepAlive    time.Duration // how long a batch's stream stays silent before a blank line
}

// batch serves POST /v1/triage/batch: the hosts run in the request's order, up to the
// sweep concurrency at once (shared with the other batches), each as a single triage
// runs (the same checks, CheckTimeout and Deadline), and each host's lines are written
// together once its triage is over, so that a cut stream loses whole hosts only and
// what the agent holds is bounded by the running hosts. While no host's lines are
// written, a blank line is, at least every keep-alive interval and a half (15 s: 22.5
// s at most), so that a client can tell a stream whose hosts run to their Deadline
// from a stalled one (clients skip blank lines). When the client goes away,
// or does not read a host's lines within the write timeout, every host running is
// canceled and the handler returns once they have.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, a *audit) {
	b := &s.sweep
	if s.limited(w, a, b.limiter, b.rate, "batches") {
		return
	}
	req, since, code, err := decodeBatch(w, r)
	if err != nil {
		s.refuse(w, a, code, err.Error())
		return
	}
	a.host = fmt.Sprintf("(batch of %d)", len(req.Hosts))
	select {
	case b.batches <- struct{}{}:
		defer func() { <-b.batches }()
	default:
		w.Header().Set("Retry-After", "5")
		s.refuse(w, a, http.StatusServiceUnavailable, fmt.Sprintf("%d batches are running, the most this agent serves at once", cap(b.batches)))
		return
	}

	// Bounded by the hosts' deadlines and the write timeout.
	rc := startStream(w)

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	var (
		mu   sync.Mutex
		cut  error     // why the stream could not be written
		last time.Time // of the last write
	)
	// write writes lines at once, within the write timeout; mu is held.
	write := func(lines [][]byte) error {
		if cut != nil {
			return cut
		}
		last = time.Now()
		_ = rc.SetWriteDeadline(last.Add(b.writeTimeout))
		for _, l := range lines {
			if _, cut = w.Write(l); cut != nil {
				break
			}
		}
		if cut == nil {
			cut = rc.Flush()
		}
		if cut != nil {
			cancel(fmt.Errorf("stream cut: %w", cut))
		}
		return cut
	}
	// emit writes one host's lines at once, within the write timeout.
	emit := func(lines [][]byte) error {
		mu.Lock()
		defer mu.Unlock()
		return write(lines)
	}
	last = time.Now()
	quiet := make(chan struct{})
	alive := make(chan struct{})
	go func() {
		defer close(alive)
		tick := time.NewTicker(b.keepAlive)
		defer tick.Stop()
		for {
			select {
			case <-quiet:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				mu.Lock()
				if time.Since(last) >= b.keepAlive/2 {
					_ = write([][]byte{[]byte("\n")})
				}
				mu.Unlock()
			}
		}
	}()

	var tally batchTally
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(cap(b.slots), len(req.Hosts)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(req.Hosts) {
					return
				}
				s.batchHost(ctx, a.client, req.Hosts[i], since, emit, &tally)
			}
		})
	}
	wg.Wait()
	close(quiet)
	<-alive

	canceled := r.Context().Err()
	if ctx.Err() == nil {
		emit([][]byte{[]byte("{\"done\":true}\n")})
	}
	mu.Lock()
	defer mu.Unlock()
	a.batch = tally.String()
	switch {
	case cut != nil:
		a.reason = "stream cut: " + cut.Error()
	case canceled != nil:
		a.reason = "canceled: " + context.Cause(r.Context()).Error()
	default:
		a.reason = "complete"
	}
}

// batchHost triages one host of a batch and writes its lines; a host the agent does
// not triage gets one line saying why. Its turn has come: it waits for a slot for at
// most the batch deadline, counted from now (the slots are shared with the other
// batches, whose waiting hosts take them in turn), so that however many hosts a batch
// names, a host is refused (503) only when the slots stayed taken that long. Nothing is written once ctx has ended: the
// stream then has no end marker, and the client knows the hosts it lacks.
func (s *Server) batchHost(ctx context.Context, client, name string, since time.Duration,
	emit func([][]byte) error, tally *batchTally) {
	refuse := func(code int, why string) {
		tally.refused.Add(1)
		b, _ := encodeLine(Line{Host: name, Status: code, Error: why})
		emit([][]byte{b})
		s.log.WarnContext(ctx, "batch host", "client", client, "host", printable(name), "status", code, "reason", why)
	}
	if err := triage.ValidHostName(name); err != nil {
		refuse(http.StatusBadRequest, err.Error())
		return
	}
	t, ok := s.hosts[strings.ToLower(name)]
	if !ok {
		refuse(http.StatusNotFound, fmt.Sprintf("host %q is not in this agent's inventory", name))
		return
	}
	wait, stop := context.WithTimeout(ctx, s.sweep.deadline)
	select {
	case s.sweep.slots <- struct{}{}:
		stop()
	case <-wait.Done():
		stop()
		if ctx.Err() == nil {
			refuse(http.StatusServiceUnavailable, fmt.Sprintf("no sweep slot came free within %s of this host's turn", s.sweep.deadline))
		}
		return
	}

	// The slot is the checks': it is given back as soon as they are over, as writing
	// their lines goes at the client's pace.
	var release sync.Once
	free := func() { release.Do(func() { <-s.sweep.slots }) }
	defer free()
	start := time.Now()
	checks := s.checks(t, since)
	lines := make([][]byte, len(checks), len(checks)+1)
	order := make(map[string]int, len(checks))
	for i, c := range checks {
		order[c.Name()] = i
	}
	results := make([]triage.CheckResult, 0, len(checks))
	run := triage.Runner{
		Checks:       checks,
		Rules:        s.rules,
		CheckTimeout: s.checkTimeout,
		Deadline:     s.deadline,
		NewID:        func() string { return "" },
		Log:          s.log,
		OnResult: func(cr triage.CheckResult, res triage.Result) {
			results = append(results, cr)
			l := lineOf(cr, res)
			l.Host = name
			b, err := encodeLine(l)
			if err != nil { // cannot happen with triage's types
				b, _ = encodeLine(Line{Host: name, Check: &triage.CheckResult{Name: cr.Name, Status: triage.CheckError,
					Detail: "internal error: encode observations: " + err.Error()}})
			}
			lines[order[cr.Name]] = b
		},
	}
	rep := run.Run(ctx, t)
	free()
	if ctx.Err() != nil {
		return
	}
	end, _ := encodeLine(Line{Host: name, Done: true})
	lines = append(lines, end)
	if emit(lines) != nil {
		return
	}
	tally.complete.Add(1)
	attrs := []any{"client", client, "host", printable(name)}
	checked := results
	if s.rules != nil {
		checked = rep.Checks
	}
	statuses := make([]string, len(checked))
	for i, c := range checked {
		statuses[i] = c.Name + "=" + string(c.Status)
	}
	attrs = append(attrs, "checks", strings.Join(statuses, ","))
	if s.rules != nil {
		causes := make([]string, len(rep.Findings))
		for i, f := range rep.Findings {
			causes[i] = string(f.Cause)
		}
		attrs = append(attrs, "verdict", string(rep.Status), "findings", strings.Join(causes, ","))
	}
	attrs = append(attrs, "took_ms", time.Since(start).Milliseconds())
	s.log.Log(ctx, slog.LevelInfo, "batch host", attrs...)
}

// batchTally counts how a batch's hosts ended.
type batchTally struct{ complete, refused atomic.Int64 }

func (t *batchTally) String() string {
	return fmt.Sprintf("%d complete, %d refused", t.complete.Load(), t.refused.Load())
}

// decodeBatch reads and checks the body of a batch request, as decodeRequest does a
// triage's: its hosts are 1 to MaxBatchHosts, none twice; each host's name is checked
// as its turn comes, so that a bad one is that host's error. On error it returns the
// HTTP status that says what is wrong.
func decodeBatch(w http.ResponseWriter, r *http.Request) (BatchRequest, time.Duration, int, error) {
	var req BatchRequest
	if code, err := decodeBody(w, r, MaxBatchBytes, &req); err != nil {
		return BatchRequest{}, 0, code, err
	}
	switch {
	case len(req.Hosts) == 0:
		return req, 0, http.StatusBadRequest, errors.New("a batch names at least one host")
	case len(req.Hosts) > MaxBatchHosts:
		return req, 0, http.StatusRequestEntityTooLarge, fmt.Errorf("a batch names at most %d hosts; this one names %d", MaxBatchHosts, len(req.Hosts))
	}
	seen := make(map[string]bool, len(req.Hosts))
	for _, h := range req.Hosts {
		k := strings.ToLower(h)
		if seen[k] {
			return req, 0, http.StatusBadRequest, fmt.Errorf("host %q is named twice (names are matched ignoring case)", printable(h))
		}
		seen[k] = true
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
