package diagnosis

import (
	"fmt"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// accountRule reads the state of the account that owns the instance's SPNs (the
// service account, or the computer account for virtual accounts): missing, disabled,
// locked out, expired, or with an expired password. Any of these makes the KDC refuse
// tickets for it or SQL Server unable to start or decrypt them.
type accountRule struct{}

func (accountRule) Name() string { return "account" }

func (accountRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || runAsOf(t, obs).differ {
		return nil // the account read is not SQL Server's: accountMismatchRule says so
	}
	n := namesFor(t, obs)
	if d.ServiceAccountMissing != "" {
		f := triage.NewFinding(triage.AccountNotFound, n.with(triage.PHAccount, d.ServiceAccountMissing))
		f.Evidence = []triage.Evidence{{Check: "account", Source: triage.SourceDirectory,
			Text: fmt.Sprintf("no account named %s in the directory", d.ServiceAccountMissing)}}
		return []triage.Finding{f}
	}
	a := d.ServiceAccount
	if a == nil {
		return nil
	}
	name := a.Name()
	vars := n.with(triage.PHAccount, name)
	now := readAt(d)
	ev := func(text string, args ...any) []triage.Evidence {
		return []triage.Evidence{{Check: "account", Source: triage.SourceDirectory, Text: fmt.Sprintf(text, args...)}}
	}
	var out []triage.Finding
	add := func(id triage.CauseID, summary string, evidence []triage.Evidence) {
		f := triage.NewFinding(id, vars)
		f.Summary, f.Evidence = summary, evidence
		if who := builtinAccount(*a); who != "" {
			// Enabling, unlocking or extending the domain's built-in Administrator,
			// Guest or krbtgt account is never the fix for a SQL Server service.
			f.Remediation = []triage.Step{{Text: fmt.Sprintf("SQL Server is configured to run as the domain's built-in %s account: do not enable, unlock or extend it; run SQL Server as a dedicated service account (a group managed service account where possible) and register the SPNs on that account", who)}}
		}
		out = append(out, f)
	}
	if a.UAC&triage.UACAccountDisable != 0 {
		add(triage.AccountDisabled, fmt.Sprintf("The service account %s is disabled: the KDC refuses it (KDC_ERR_CLIENT_REVOKED)", name),
			ev("%s userAccountControl 0x%x has ACCOUNTDISABLE (0x2)", a.DN, a.UAC))
	}
	if lockedOut(*a) {
		add(triage.AccountLockedOut, fmt.Sprintf("The service account %s has been locked out since %s", name, a.LockoutTime.UTC().Format(time.RFC3339)),
			ev("%s msDS-User-Account-Control-Computed has LOCKOUT (0x10); lockoutTime %s", a.DN, a.LockoutTime.UTC().Format(time.RFC3339)))
	}
	if expired(*a, now) {
		add(triage.AccountExpired, fmt.Sprintf("The service account %s expired on %s", name, a.AccountExpires.UTC().Format(time.RFC3339)),
			ev("%s accountExpires %s", a.DN, a.AccountExpires.UTC().Format(time.RFC3339)))
	}
	if why := passwordExpired(*a, d.MaxPwdAge, now); why != "" {
		add(triage.AccountPasswordExpired, fmt.Sprintf("The password of the service account %s has expired (%s): SQL Server cannot get new tickets with it", name, why),
			ev("%s: %s", a.DN, why))
	}
	return out
}

// lockedOut reports whether the account is locked out now. AD leaves lockoutTime set
// after a lockout has run out, until the next successful logon, so only the computed
// LOCKOUT bit (msDS-User-Account-Control-Computed, merged into UAC when the directory is
// read) says so; an LDIF export without that attribute never shows a lockout.
func lockedOut(a triage.Account) bool { return a.UAC&triage.UACLockout != 0 }

// expired reports whether the account's expiry date has passed.
func expired(a triage.Account, now time.Time) bool {
	return !a.AccountExpires.IsZero() && a.AccountExpires.Before(now)
}

// unusable reports whether accountRule reports a problem with the account: disabled,
// locked out, expired or with an expired password.
func unusable(a triage.Account, maxAge time.Duration, now time.Time) bool {
	return a.UAC&triage.UACAccountDisable != 0 || lockedOut(a) || expired(a, now) || passwordExpired(a, maxAge, now) != ""
}

// passwordExpired says why an account's password counts as expired, or "" when it does
// not. Computer accounts change their own passwords and are not judged.
func passwordExpired(a triage.Account, maxAge time.Duration, now time.Time) string {
	if a.UAC&(triage.UACWorkstationTrust|triage.UACServerTrust) != 0 {
		return ""
	}
	switch {
	case a.UAC&triage.UACPasswordExpired != 0:
		return "userAccountControl has PASSWORD_EXPIRED (0x800000)"
	case a.PwdMustChange:
		return "pwdLastSet is 0: the password must be changed at next logon"
	case a.UAC&triage.UACDontExpirePassword != 0:
		return ""
	case !a.PasswordExpiry.IsZero() && a.PasswordExpiry.Before(now):
		return "msDS-UserPasswordExpiryTimeComputed " + a.PasswordExpiry.UTC().Format(time.RFC3339) + " is past"
	case maxAge > 0 && !a.PwdLastSet.IsZero() && a.PwdLastSet.Add(maxAge).Before(now):
		return fmt.Sprintf("pwdLastSet %s plus the domain's maxPwdAge of %s is past", a.PwdLastSet.UTC().Format(time.RFC3339), human.Span(maxAge))
	}
	return ""
}

// builtinAccount names the domain's built-in account a is, by the relative ID that ends
// its SID: 500 Administrator, 501 Guest, 502 krbtgt ("Security identifiers",
// https://learn.microsoft.com/windows-server/identity/ad-ds/manage/understand-security-identifiers),
// or "" for any other account.
func builtinAccount(a triage.Account) string {
	if !strings.HasPrefix(a.SID, "S-1-5-21-") {
		return ""
	}
	switch a.SID[strings.LastIndexByte(a.SID, '-')+1:] {
	case "500":
		return "Administrator"
	case "501":
		return "Guest"
	case "502":
		return "krbtgt"
	}
	return ""
}
