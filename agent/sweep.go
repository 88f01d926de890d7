package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// SweepOptions say how Client.Sweep asks the agent and how it makes each host's report.
type SweepOptions struct {
	Since time.Duration // how far back the logs are read, as Triage's; 0 means the agent's default
	// Rules diagnose each host's report, as a single triage's runner does
	// (diagnosis.Rules()): the agent sends what its checks saw, the verdict is ours.
	Rules []triage.Rule
	// Target returns a host's target as this side's inventory has it, which the rules
	// judge against; nil means triage.Target{Host: host}.
	Target func(host string) triage.Target
	// NewID gives each report its ID; nil means triage.NewID.
	NewID func() string
	// BatchSize is how many hosts one request names: 0 means 250; more than
	// MaxBatchHosts means MaxBatchHosts.
	BatchSize int
	// Batches is how many requests run at once: 0 means 2, so that the last hosts of
	// one batch overlap the first of the next. The agent's sweep concurrency bounds
	// the hosts that run at once, whatever this is.
	Batches int
}

// Sweep triages hosts, all behind this agent, in batch requests (POST
// /v1/triage/batch), within the agent's sweep budget and not its interactive one, and
// calls onReport once for each host (names equal ignoring case are one host, called by
// its first spelling), in the order their triages end. The calls are never concurrent
// and should be quick: the stream waits for them.
//
// A host's report is what a single triage of the host through this agent gives: its
// checks as the agent ran them (with the agent's durations), diagnosed here by
// o.Rules against o.Target(host). A host the agent could not triage (not in its
// inventory, no answer, a stream cut or stalled, a host answered with no check
// results) gets a report whose "agent" check failed with the reason in
// Observations.Agents, so the rules find agent.unreachable, with err nil. err is
// non-nil only when the host was not triaged because ctx ended (context.Cause(ctx))
// or its name is not a host name (a *triage.InputError); the report is then the zero
// Report.
//
// A busy agent is not an unreachable one: a batch the agent refuses for want of room
// (429, 503) is asked for again, as Retry-After says, until ctx ends; a host it
// answers with 503 (no sweep slot came free in time) is asked for again in a later
// batch, twice at most. Each request is bounded by ctx and by the client's timeout
// and a quarter between two lines: the agent writes each host's lines when its
// triage is over, and a blank line every 15 s while none is, so a stream silent for
// longer than one triage may take is stalled, and is cut. When the agent predates
// batches (404 for the path), the hosts are triaged one by one with Triage, within
// the agent's interactive limits. Sweep returns once every host has been reported,
// with the reasons requests failed (joined), or nil when every batch was answered in
// full.
func (c *Client) Sweep(ctx context.Context, hosts []string, o SweepOptions, onReport func(host string, rep triage.Report, err error)) error {
	var mu sync.Mutex
	report := func(host string, rep triage.Report, err error) {
		mu.Lock()
		defer mu.Unlock()
		onReport(host, rep, err)
	}
	var names []string
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		k := strings.ToLower(h)
		if seen[k] {
			continue
		}
		seen[k] = true
		if err := triage.ValidHostName(h); err != nil {
			report(h, triage.Report{}, &triage.InputError{Err: err})
			continue
		}
		names = append(names, h)
	}
	size := o.BatchSize
	if size <= 0 {
		size = 250
	}
	size = min(size, MaxBatchHosts)
	batches := make(chan []string)
	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
	)
	parallel := o.Batches
	if parallel <= 0 {
		parallel = 2
	}
	for range parallel {
		wg.Go(func() {
			for b := range batches {
				if err := c.sweepBatch(ctx, b, o, report); err != nil {
					emu.Lock()
					errs = append(errs, err)
					emu.Unlock()
				}
			}
		})
	}
	for chunk := range slicesChunk(names, size) {
		batches <- chunk
	}
	close(batches)
	wg.Wait()
	return errors.Join(errs...)
}

// slicesChunk yields consecutive pieces of s of at most n elements.
func slicesChunk(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for i := 0; i < len(s); i += n {
			if !yield(s[i:min(i+n, len(s))]) {
				return
			}
		}
	}
}

// errStalled is the cause of a batch stream cut for its silence.
var errStalled = errors.New("the agent sent nothing for longer than a triage takes")

// Bounds of a sweep's batches.
const (
	// maxHostLines bounds the check lines one host of a batch may have: more than any
	// agent runs, so that what the client holds of a host is bounded.
	maxHostLines = 64
	// requeues is how many more batches ask for a host the agent answered with 503
	// (no sweep slot came free in time) before its refusal is its report.
	requeues = 2
)

// stallAfter is how long a batch's stream may be silent: the client's timeout (a
// triage's Deadline) and a quarter more. The agent writes a host's lines when its
// triage ends, within its Deadline, and a blank line every 15 s in between, so a
// stream silent that long has stalled; the margin keeps a host that runs to the
// Deadline from racing the cut.
func (c *Client) stallAfter() time.Duration { return c.timeout + c.timeout/4 }

// sweepBatch asks for hosts in batches until each is reported: a host the agent
// answers with 503 (no slot came free in time) is asked for again in a later batch,
// up to requeues times. Its error says why batches were not answered in full.
func (c *Client) sweepBatch(ctx context.Context, hosts []string, o SweepOptions, report func(string, triage.Report, error)) error {
	var errs []error
	for round := 0; len(hosts) > 0; round++ {
		again, err := c.batch(ctx, hosts, o, report, round < requeues)
		if err != nil {
			errs = append(errs, err)
		}
		if len(again) > 0 {
			c.log.InfoContext(ctx, "agent: hosts of a batch found no slot; asking again", "agent", c.name, "hosts", len(again))
		}
		hosts = again
	}
	return errors.Join(errs...)
}

// busy reports whether err is the agent refusing a request until it has room (429,
// 503): nothing of it ran.
func busy(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Code == http.StatusTooManyRequests || se.Code == http.StatusServiceUnavailable)
}

// batch asks for one batch and reports each of its hosts but those it returns: the
// hosts the agent answered with 503, when requeue is set. A batch the agent refuses
// for want of room (429, 503, once do's retries are spent) is asked for again, after
// a wait, until ctx ends: a busy agent is not an unreachable one. Its error says why
// the batch was not answered in full.
func (c *Client) batch(ctx context.Context, hosts []string, o SweepOptions, report func(string, triage.Report, error),
	requeue bool) (again []string, _ error) {
	began := time.Now()
	pending := make(map[string]string, len(hosts)) // the name as asked, by its lower case
	for _, h := range hosts {
		pending[strings.ToLower(h)] = h
	}
	// fail reports every host not yet reported; the batch's failure is their reason,
	// or ctx's end when it has ended.
	fail := func(err error) ([]string, error) {
		for _, h := range hosts {
			if _, open := pending[strings.ToLower(h)]; !open {
				continue
			}
			if ctx.Err() != nil {
				report(h, triage.Report{}, context.Cause(ctx))
			} else {
				report(h, c.sweptReport(ctx, h, nil, err, o), nil)
			}
		}
		clear(pending)
		return again, fmt.Errorf("agent %s: batch of %s: %w", c.name, human.Count(len(hosts), "host", "hosts"), err)
	}

	req := BatchRequest{Hosts: hosts}
	if o.Since > 0 {
		req.Since = o.Since.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fail(err)
	}
	var (
		bctx  context.Context
		cut   context.CancelCauseFunc
		stall *time.Timer
		resp  *http.Response
	)
	for waited := false; ; waited = true {
		actx, acut := context.WithCancelCause(ctx)
		astall := time.AfterFunc(c.stallAfter(), func() { acut(errStalled) })
		resp, err = c.do(actx, http.MethodPost, PathBatch, body)
		if err == nil {
			bctx, cut, stall = actx, acut, astall
			break
		}
		err = causeOf(actx, err)
		astall.Stop()
		acut(nil)
		if !busy(err) || ctx.Err() != nil {
			return fail(err)
		}
		if !waited {
			c.log.InfoContext(ctx, "agent: busy; the batch waits for it", "agent", c.name, "hosts", len(hosts), "err", err)
		}
		t := time.NewTimer(jitter(maxBackoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(context.Cause(ctx))
		case <-t.C:
		}
	}
	defer cut(nil)
	defer stall.Stop()
	if resp.StatusCode == http.StatusNotFound {
		err := refusal(resp)
		if !strings.Contains(err.Error(), "no such endpoint") {
			return fail(err)
		}
		c.log.InfoContext(ctx, "agent: no batch requests; triaging one host at a time", "agent", c.name)
		c.sweepEach(ctx, hosts, o, report)
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return fail(refusal(resp))
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != ContentNDJSON {
		return fail(fmt.Errorf("answered with %q, not a triage stream", printable(resp.Header.Get("Content-Type"))))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	var lines []Line // of the host being read
	done := 0
	for sc.Scan() {
		stall.Reset(c.stallAfter())
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		l, err := decodeBatchLine(sc.Bytes())
		if err != nil {
			return fail(fmt.Errorf("stream broken after %s: %w", human.Count(done, "host", "hosts"), err))
		}
		if l.Host == "" { // the end of the batch
			if len(pending) > 0 {
				return fail(fmt.Errorf("its answer had no result for %s", human.Count(len(pending), "host", "hosts")))
			}
			return again, nil
		}
		key := strings.ToLower(l.Host)
		h, open := pending[key]
		if !open || (len(lines) > 0 && !strings.EqualFold(lines[0].Host, l.Host)) {
			return fail(fmt.Errorf("stream broken after %s: a line for host %q, not asked or out of turn", human.Count(done, "host", "hosts"), printable(l.Host)))
		}
		switch {
		case l.Error != "" && l.Status == http.StatusServiceUnavailable && requeue:
			delete(pending, key)
			again = append(again, h)
		case l.Error != "":
			delete(pending, key)
			report(h, c.sweptReport(ctx, h, nil, &StatusError{Code: l.Status, Message: clip(l.Error)}, o), nil)
		case l.Done && len(lines) == 0:
			delete(pending, key)
			report(h, c.sweptReport(ctx, h, nil, errors.New("its answer for the host had no check results"), o), nil)
		case l.Done:
			delete(pending, key)
			report(h, c.sweptReport(ctx, h, lines, nil, o), nil)
			lines = lines[:0]
		case len(lines) == maxHostLines:
			return fail(fmt.Errorf("stream broken after %s: host %q has more than %d check results", human.Count(done, "host", "hosts"), printable(l.Host), maxHostLines))
		default:
			lines = append(lines, l)
			continue
		}
		done++
	}
	err = causeOf(bctx, sc.Err())
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		err = fmt.Errorf("stream broken after %s: a line is longer than %d MiB", human.Count(done, "host", "hosts"), maxLineBytes>>20)
	case errors.Is(err, errStalled):
		err = fmt.Errorf("stream stalled after %s (%s): %w", human.Count(done, "host", "hosts"), human.Elapsed(time.Since(began)), err)
	case err == nil:
		err = fmt.Errorf("stream ended after %s without its end marker", human.Count(done, "host", "hosts"))
	default:
		err = fmt.Errorf("stream cut after %s: %w", human.Count(done, "host", "hosts"), err)
	}
	return fail(err)
}

// sweepEach triages hosts one at a time, as an agent without batches allows.
func (c *Client) sweepEach(ctx context.Context, hosts []string, o SweepOptions, report func(string, triage.Report, error)) {
	for _, h := range hosts {
		var lines []Line
		err := c.Triage(ctx, h, o.Since, func(l Line) { lines = append(lines, l) })
		if ctx.Err() != nil {
			report(h, triage.Report{}, context.Cause(ctx))
			continue
		}
		report(h, c.sweptReport(ctx, h, lines, err, o), nil)
	}
}

// sweptReport makes host's report from the lines of its checks the agent sent and,
// when failed is not nil, a failed "agent" check saying why the rest never came.
func (c *Client) sweptReport(ctx context.Context, host string, lines []Line, failed error, o SweepOptions) triage.Report {
	checks := make([]triage.Check, 0, len(lines)+1)
	for _, l := range lines {
		checks = append(checks, answered{agent: c.name, line: l})
	}
	if failed != nil {
		checks = append(checks, unanswered{agent: c.name, url: c.url, err: failed})
	}
	t := triage.Target{Host: host}
	if o.Target != nil {
		t = o.Target(host)
	}
	// The checks return at once: the context only carries values.
	run := triage.Runner{Checks: checks, Rules: o.Rules, NewID: o.NewID, Log: c.log}
	rep := run.Run(context.WithoutCancel(ctx), t)
	for i, l := range lines {
		rep.Checks[i].Duration = l.Check.Duration
	}
	return rep
}

// answered is a check the agent ran: it returns what the agent's line says.
type answered struct {
	agent string
	line  Line
}

func (a answered) Name() string  { return a.line.Check.Name }
func (a answered) Agent() string { return a.agent }
func (a answered) Run(context.Context, triage.Target) (triage.Result, error) {
	return fromLine(a.line)
}

// unanswered stands for the checks of a host the agent did not answer for.
type unanswered struct {
	agent, url string
	err        error
}

func (u unanswered) Name() string  { return "agent" }
func (u unanswered) Agent() string { return u.agent }
func (u unanswered) Run(context.Context, triage.Target) (triage.Result, error) {
	var res triage.Result
	res.Obs.Agents = []triage.AgentFacts{{Agent: u.agent, URL: u.url, Err: u.err.Error()}}
	return res, fmt.Errorf("agent %s did not answer: %v", u.agent, u.err)
}

// decodeBatchLine parses one line of a batch's stream: a host's check (as DecodeLine
// reads it), a host's end or refusal, or the end of the batch.
func decodeBatchLine(b []byte) (Line, error) {
	var l Line
	if err := json.Unmarshal(b, &l); err != nil {
		return Line{}, fmt.Errorf("bad line: %w", err)
	}
	switch {
	case l.Host == "" && l.Done && l.Check == nil && l.Observations == nil && l.Error == "" && l.Status == 0:
		return l, nil
	case l.Host == "":
		return Line{}, errors.New("bad line: a line of a batch without its host")
	case l.Error != "" || l.Status != 0:
		if l.Error == "" || l.Status < 400 || l.Status > 599 || l.Check != nil || l.Observations != nil || l.Done {
			return Line{}, fmt.Errorf("bad line: host %q: a refusal is an error and a status from 400 to 599, alone", printable(l.Host))
		}
		return l, nil
	}
	checked, err := DecodeLine(b)
	if err != nil {
		return Line{}, fmt.Errorf("host %q: %w", printable(l.Host), err)
	}
	return checked, nil
}
