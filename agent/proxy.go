package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// Checks returns one triage.Check per name (duplicates dropped), each standing for the
// agent's check of that name on host, looking since back in the logs (0: the agent's
// default). Run them together under one triage.Runner, as if they were local.
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
// Observations.Agents, the agent's name and URL, the reason and every missing check.
//
// The checks keep no time of their own. The stream is bounded by the client's timeout
// and by the checks' context: when the context of a check still waiting for its line
// ends (its timeout, the triage's deadline or a cancel, which come at the same moment
// for every check of one Runner), that check cuts the stream, which stops at once and
// says why, and every check still waiting returns with that reason, well within the
// grace the Runner gives a check past its limits.
func (c *Client) Checks(host string, since time.Duration, names []string) []triage.Check {
	s := &stream{c: c, host: host, since: since, lines: map[string]*pending{}, ended: make(chan struct{})}
	var out []triage.Check
	for _, n := range names {
		if _, dup := s.lines[n]; dup {
			continue
		}
		s.lines[n] = &pending{arrived: make(chan struct{})}
		s.names = append(s.names, n)
		out = append(out, proxy{s: s, name: n})
	}
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
	s.begin(ctx)
	select {
	case <-s.lines[p.name].arrived:
	case <-s.ended:
	case <-ctx.Done():
		s.cut(context.Cause(ctx))
		<-s.ended
	}
	return s.result(p.name)
}

// A stream is one triage request shared by the proxies of one Checks call. Its
// goroutine writes each line before closing that line's arrived, and err and missing
// before closing ended: a proxy reads them after, without a lock.
type stream struct {
	c     *Client
	host  string
	since time.Duration
	names []string
	lines map[string]*pending // by name; the map is not modified after Checks returns
	start sync.Once
	cut   context.CancelCauseFunc // ends the stream with a cause; set by begin
	ended chan struct{}           // closed when the stream is over

	err     error       // why the stream ended early; nil when every line arrived
	missing []string    // checks whose lines never arrived
	told    atomic.Bool // a proxy has returned the AgentFacts
}

// pending is one check's line, set before arrived is closed.
type pending struct {
	arrived chan struct{}
	line    Line
}

// begin starts the stream once, detached from ctx, which ends when the first check
// returns; the proxies cut it when their contexts end.
func (s *stream) begin(ctx context.Context) {
	s.start.Do(func() {
		sctx, cut := context.WithCancelCause(context.WithoutCancel(ctx))
		s.cut = cut
		go s.run(sctx)
	})
}

// run reads the stream to its end: the end marker, a failure, the client's timeout or
// a cut.
func (s *stream) run(ctx context.Context) {
	defer close(s.ended)
	defer s.cut(nil)
	err := s.c.Triage(ctx, s.host, s.since, s.deliver)
	for _, n := range s.names {
		if !s.lines[n].in() {
			s.missing = append(s.missing, n)
		}
	}
	if err == nil && len(s.missing) > 0 {
		err = fmt.Errorf("its answer had no result for %s", strings.Join(s.missing, ", "))
	}
	if s.err = err; err != nil {
		s.c.log.WarnContext(ctx, "agent did not answer", "agent", s.c.name, "host", s.host,
			"reason", err.Error(), "arrived", len(s.names)-len(s.missing), "missing", strings.Join(s.missing, ","))
	}
}

// deliver records one check's line; lines of checks nobody asked for, and repeats, are
// dropped.
func (s *stream) deliver(l Line) {
	if p, wanted := s.lines[l.Check.Name]; wanted && !p.in() {
		p.line = l
		close(p.arrived)
	}
}

// in reports whether the line has arrived.
func (p *pending) in() bool {
	select {
	case <-p.arrived:
		return true
	default:
		return false
	}
}

// result returns check name's outcome once its line arrived or the stream ended.
func (s *stream) result(name string) (triage.Result, error) {
	if p := s.lines[name]; p.in() {
		return fromLine(p.line)
	}
	var res triage.Result
	if !s.told.Swap(true) {
		res.Obs.Agents = []triage.AgentFacts{{Agent: s.c.name, URL: s.c.url, Err: s.err.Error(), Missing: s.missing}}
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
