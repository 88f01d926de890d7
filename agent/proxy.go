package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// Checks returns one triage.Check per name (duplicates dropped), each standing for the
// agent's check of that name on host, looking since back in the logs (0: the agent's
// default). Run them with a triage.Runner as if they were local.
//
// The first of them to run starts a single triage stream on the agent; each returns as
// soon as its own line arrives. A check the agent reports skipped returns a
// triage.Skip error, one it reports as an error returns an error with the agent's
// words, and one that ran returns its detail and observations with a nil error: the
// verdict (pass, warn, fail) comes from the findings the local rules draw from the
// merged observations, as for a local check.
//
// When the stream fails (no connection, TLS refused, timeout, stream cut, or a check the
// agent never reported), each check whose line never arrived returns an error saying the
// agent did not answer and why, and the first of them also returns, in its
// Observations.Agents, the agent's name and URL, the reason and every missing check. The
// stream ends a little before the first check's deadline, so that they hear why.
func (c *Client) Checks(host string, since time.Duration, names []string) []triage.Check {
	s := &stream{c: c, host: host, since: since, arrived: map[string]chan struct{}{}, ended: make(chan struct{}), lines: map[string]Line{}}
	var out []triage.Check
	for _, n := range names {
		if _, dup := s.arrived[n]; dup {
			continue
		}
		s.arrived[n] = make(chan struct{})
		s.names = append(s.names, n)
		out = append(out, proxy{s: s, name: n})
	}
	s.running = len(out)
	return out
}

// A proxy is one remote check.
type proxy struct {
	s    *stream
	name string
}

// Name returns the remote check's name.
func (p proxy) Name() string { return p.name }

// Agent returns the name of the agent that runs the check, as reports show it.
func (p proxy) Agent() string { return p.s.c.name }

// Run waits for the check's line from the agent, starting the stream if it is the
// first to run. The target is the agent's business: it triages the host by its own
// inventory.
func (p proxy) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	s := p.s
	defer s.release()
	s.begin(ctx)
	select {
	case <-s.arrived[p.name]:
	case <-s.ended:
	case <-ctx.Done():
		// The stream ends before ctx does (see begin), and ending it may take a moment:
		// wait that moment for it to say why, well within the Runner's grace.
		settle := time.NewTimer(settleTime)
		defer settle.Stop()
		select {
		case <-s.arrived[p.name]:
		case <-s.ended:
		case <-settle.C:
			return triage.Result{}, ctx.Err()
		}
	}
	return s.result(p.name)
}

// settleTime is how long a proxy whose context ended waits for the stream to end.
const settleTime = 150 * time.Millisecond

// A stream is one triage request shared by the proxies of one Checks call.
type stream struct {
	c     *Client
	host  string
	since time.Duration
	names []string
	// arrived has a channel per name, closed when that check's line arrives; the map
	// is not modified after Checks returns.
	arrived map[string]chan struct{}
	ended   chan struct{} // closed when the stream is over
	start   sync.Once

	mu         sync.Mutex
	cancel     context.CancelFunc // ends the stream; nil before it starts
	lines      map[string]Line
	err        error    // why the stream ended early; nil when every line arrived
	missing    []string // checks whose lines never arrived
	factsGiven bool     // the AgentFacts were returned by a proxy
	running    int      // proxies that have not returned
}

// begin starts the stream once, detached from ctx (which ends when the first check
// returns) but ending shortly before ctx's deadline.
func (s *stream) begin(ctx context.Context) {
	s.start.Do(func() {
		sctx := context.WithoutCancel(ctx)
		var cancel context.CancelFunc
		if dl, ok := ctx.Deadline(); ok {
			dl = dl.Add(-min(500*time.Millisecond, time.Until(dl)/10))
			sctx, cancel = context.WithDeadline(sctx, dl)
		} else {
			sctx, cancel = context.WithCancel(sctx)
		}
		s.mu.Lock()
		s.cancel = cancel
		s.mu.Unlock()
		go s.run(sctx, cancel)
	})
}

// run reads the stream to its end. Its goroutine ends with the stream: at the end
// marker, on failure, at the deadline, or when every proxy has returned.
func (s *stream) run(ctx context.Context, cancel context.CancelFunc) {
	defer close(s.ended)
	defer cancel()
	err := s.c.Triage(ctx, s.host, s.since, s.deliver)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.names {
		if _, ok := s.lines[n]; !ok {
			s.missing = append(s.missing, n)
		}
	}
	if err == nil && len(s.missing) > 0 {
		err = fmt.Errorf("its answer had no result for %s", strings.Join(s.missing, ", "))
	}
	s.err = err
	if err != nil {
		s.c.log.WarnContext(ctx, "agent did not answer", "agent", s.c.name, "host", s.host,
			"reason", err.Error(), "arrived", len(s.lines), "missing", strings.Join(s.missing, ","))
	}
}

// deliver records one check's line; lines of checks nobody asked for, and repeats, are
// dropped.
func (s *stream) deliver(l Line) {
	ch, wanted := s.arrived[l.Check.Name]
	if !wanted {
		return
	}
	s.mu.Lock()
	_, dup := s.lines[l.Check.Name]
	if !dup {
		s.lines[l.Check.Name] = l
	}
	s.mu.Unlock()
	if !dup {
		close(ch)
	}
}

// release notes that a proxy returned. When the last has returned with lines still
// missing, nobody waits for them: the stream is canceled. (With every line in, the
// stream is left to read the end marker, so that the agent sees a complete triage.)
func (s *stream) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	if s.running == 0 && len(s.lines) < len(s.names) && s.cancel != nil {
		s.cancel()
	}
}

// result returns check name's outcome once its line arrived or the stream ended.
func (s *stream) result(name string) (triage.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.lines[name]; ok {
		return fromLine(l)
	}
	var res triage.Result
	if !s.factsGiven {
		s.factsGiven = true
		res.Obs.Agents = []triage.AgentFacts{{Agent: s.c.name, URL: s.c.url, Err: s.err.Error(), Missing: slices.Clone(s.missing)}}
	}
	return res, fmt.Errorf("agent %s did not answer: %v", s.c.name, s.err)
}

// fromLine returns what the local check would have returned.
func fromLine(l Line) (triage.Result, error) {
	res := triage.Result{Detail: l.Check.Detail}
	if l.Observations != nil {
		res.Obs = *l.Observations
	}
	switch l.Check.Status {
	case triage.CheckSkipped:
		return res, triage.Skip("%s", l.Check.Detail)
	case triage.CheckError:
		return res, errors.New(l.Check.Detail)
	}
	return res, nil
}
