package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// accountReader reads an account and the domain's password policy.
type accountReader interface {
	Account(ctx context.Context, name string) (triage.Account, error)
	MaxPwdAge(ctx context.Context) (time.Duration, error)
}

// Account reads the state of the account that must own the target's SPNs: the service
// account, or the computer account HOST$ when SQL Server runs as a virtual account.
type Account struct {
	Dir      accountReader // nil: skipped with NoSource
	NoSource string
	// NotFound tells a missing account from other errors (directory.ErrNotFound).
	NotFound error
	Now      func() time.Time
}

// Name returns "account".
func (Account) Name() string { return "account" }

// Run reads the account; a missing account is a fact, not an error.
func (c Account) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.Dir == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingDirectory, "%s", cmp.Or(c.NoSource, "no directory source"))
	}
	name := t.SPNOwner("")
	if name == "" {
		return triage.Result{}, triage.SkipLacking(triage.MissingServiceAccount, "the service account is not known")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	facts := &triage.DirectoryFacts{ReadAt: now()}
	res := triage.Result{Obs: triage.Observations{Directory: facts}}
	a, err := c.Dir.Account(ctx, name)
	switch {
	case c.NotFound != nil && errors.Is(err, c.NotFound):
		facts.ServiceAccountMissing = name
		res.Detail = name + " not found"
		return res, nil
	case err != nil:
		return res, fmt.Errorf("read account %s: %w", name, err)
	}
	facts.ServiceAccount = &a
	res.Detail = fmt.Sprintf("%s (%s), userAccountControl 0x%x", a.Name(), a.DN, a.UAC)
	age, err := c.Dir.MaxPwdAge(ctx)
	if err != nil {
		return res, fmt.Errorf("read the domain's maxPwdAge: %w", err)
	}
	facts.MaxPwdAge = age
	return res, nil
}
