package plan

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/triage"
)

// dependsOnDiscovery reports whether the check name asks about the target's instances,
// listeners and names (their SPNs, their tickets, their logins, the account that owns
// them, the host name's DNS records, the linked servers an instance lists): such a
// check runs on the target as discovery describes it.
func dependsOnDiscovery(name string) bool {
	switch name {
	case "spn", "account", "kerberos", "sql", "dns", "delegation":
		return true
	}
	return false
}

// shareDiscovery makes the plan's local instances check run once for the plan, and the
// local checks that depend on it wait for it and run on the discovered target. The
// instances check still runs alongside every other check. Checks an agent runs are
// left as they are: the agent shares its own discovery. A nil log discards.
func shareDiscovery(cs []triage.Check, log *slog.Logger) []triage.Check {
	i := slices.IndexFunc(cs, func(c triage.Check) bool { _, ok := c.(checks.Instances); return ok })
	if i < 0 {
		return cs
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &discovery{check: cs[i], done: make(chan struct{}), log: log}
	out := slices.Clone(cs)
	out[i] = discoverCheck{d}
	for j, c := range out {
		if _, remote := c.(triage.Remote); !remote && dependsOnDiscovery(c.Name()) {
			out[j] = onDiscovered{check: c, d: d}
		}
	}
	return out
}

// discovery is a plan's instances check, run at most once: by the first of the
// instances check itself and the checks that wait for it to ask.
type discovery struct {
	check triage.Check
	log   *slog.Logger
	done  chan struct{} // closed when res and err are set

	mu      sync.Mutex
	started bool
	waiters int
	cancel  context.CancelFunc
	res     triage.Result
	err     error
}

// wait starts discovery of t under ctx, unless it is started, and returns its result,
// or wctx's error when wctx (ctx or a shorter wait) ends first and discovery has not
// ended. Discovery runs until
// the first caller's deadline, and is canceled when every caller has stopped waiting
// before it ends.
func (d *discovery) wait(ctx, wctx context.Context, t triage.Target) (triage.Result, error) {
	d.mu.Lock()
	if !d.started {
		d.started = true
		dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		if deadline, ok := ctx.Deadline(); ok {
			cancel()
			dctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), deadline)
		}
		d.cancel = cancel
		go d.run(dctx, t)
	}
	d.waiters++
	d.mu.Unlock()
	defer d.leave()

	select {
	case <-d.done:
		return d.res, d.err
	case <-wctx.Done():
		// Both may be ready, and select picks at random: a discovery that has ended
		// gives what it learnt.
		select {
		case <-d.done:
			return d.res, d.err
		default:
			return triage.Result{}, wctx.Err()
		}
	}
}

// leave stops discovery when its last waiter leaves before it ends.
func (d *discovery) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.waiters--
	if d.waiters == 0 {
		d.cancel()
	}
}

// run runs the instances check and records its result; a panic is its error, as the
// Runner would record it.
func (d *discovery) run(ctx context.Context, t triage.Target) {
	defer d.cancel()
	defer close(d.done)
	defer func() {
		if p := recover(); p != nil {
			d.log.ErrorContext(ctx, "check panicked", "check", d.check.Name(), "host", t.Host, "panic", p, "stack", string(debug.Stack()))
			d.res, d.err = triage.Result{}, fmt.Errorf("internal error: %v", p)
		}
	}()
	d.res, d.err = d.check.Run(ctx, t)
}

// discoverCheck is a plan's instances check: it reports the plan's one discovery.
type discoverCheck struct{ d *discovery }

func (c discoverCheck) Name() string { return c.d.check.Name() }

func (c discoverCheck) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	return c.d.wait(ctx, ctx, t)
}

// onDiscovered runs a check on the target as discovery describes it. It waits for
// discovery at most half of the time its context leaves it; when discovery fails, is
// skipped or is late, the check runs on the target as given.
type onDiscovered struct {
	check triage.Check
	d     *discovery
}

func (c onDiscovered) Name() string { return c.check.Name() }

func (c onDiscovered) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	wctx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, time.Until(deadline)/2)
		defer cancel()
	}
	res, err := c.d.wait(ctx, wctx, t)
	late := err != nil && ctx.Err() == nil && wctx.Err() != nil
	if err == nil && res.Obs.Instances != nil {
		t = discovered(t, res.Obs.Instances)
	}
	out, cerr := c.check.Run(ctx, t)
	if late {
		out.Detail = strings.TrimPrefix(out.Detail+"; discovery of the instances was late: checked the instances as configured", "; ")
	}
	return out, cerr
}

// discovered returns t as discovery describes it (Target.Discovered), with the
// service account the instances reported when t names none and all of them that
// answered agree: the account check then reads it, as it would the inventory's.
func discovered(t triage.Target, f *triage.InstanceFacts) triage.Target {
	out := t.Discovered(f)
	if out.ServiceAccount != "" {
		return out
	}
	account := ""
	for _, in := range out.Instances {
		for _, v := range f.Instances {
			if v.ServiceAccount == "" || v.IsDefault() != in.IsDefault() || (!in.IsDefault() && !strings.EqualFold(v.Name, in.Name)) {
				continue
			}
			if account != "" && !strings.EqualFold(account, v.ServiceAccount) {
				return out // the instances run as different accounts: none is the host's
			}
			account = v.ServiceAccount
		}
	}
	if account != "" && triage.ValidAccount(account) == nil {
		out.ServiceAccount = account
	}
	return out
}
