package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// etypeRule reports a service account that shares no usable encryption type with the
// KDC and clients: an explicit msDS-SupportedEncryptionTypes without AES (RC4-only or
// DES-only), the USE_DES_KEY_ONLY flag, or a ticket request the KDC refused with
// KDC_ERR_ETYPE_NOTSUPP. An account whose attribute is absent or 0 is rc4DefaultRule's:
// the domain controllers' default decides its encryption types, so a refusal for it
// means something else.
//
// An explicit RC4-only account without a refusal is a warning, not because a date
// breaks it: KB5073381 changes the default only "for accounts without an explicit
// Kerberos encryption type configuration". Kerberos to it fails wherever RC4 is
// disabled, on the clients (the policy "Network security: Configure encryption types
// allowed for Kerberos") or on the domain controllers (DefaultDomainSupportedEncTypes
// 0x38), as "Detect and remediate RC4 usage in Kerberos" shows for an account whose
// only value is RC4
// (https://learn.microsoft.com/windows-server/security/kerberos/detect-remediate-rc4-kerberos,
// "Identify authentication failures after disabling RC4").
//
// desDisabled: "Starting with Windows 7, Windows Server 2008 R2, and all later Windows
// operating systems, Data Encryption Standard (DES) encryption for Kerberos
// authentication is disabled", and services configured for DES only fail ("KDC event
// ID 16 or 27 is logged if DES for Kerberos is disabled",
// https://learn.microsoft.com/troubleshoot/windows-server/windows-security/kdc-event-16-27-des-encryption-disabled).
type etypeRule struct{}

func (etypeRule) Name() string { return "etype" }

func (etypeRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil {
		return nil
	}
	a := d.ServiceAccount
	if a != nil && triage.EncTypesDefault(a.EncTypes) && a.UAC&triage.UACUseDESKeyOnly == 0 {
		return nil // rc4DefaultRule
	}
	n := namesFor(t, obs)
	var ev []triage.Evidence
	refused := false
	for _, tr := range d.Tickets {
		if !tr.OK && tr.Code == 0xe {
			refused = true
			ev = append(ev, triage.Evidence{Check: "kerberos", Source: triage.SourceKerberos,
				Text: fmt.Sprintf("klist get %s: %s", tr.SPN, ticketError(tr))})
		}
	}
	account := n.vars[triage.PHAccount]
	rc4Only := false
	if a != nil {
		account = a.Name()
		switch {
		case a.UAC&triage.UACUseDESKeyOnly != 0:
			ev = append([]triage.Evidence{{Check: "account", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s userAccountControl has USE_DES_KEY_ONLY (0x200000)", a.DN)}}, ev...)
			refused = true // desDisabled
		case a.EncTypes&triage.EtypeAESAll == 0:
			ev = append([]triage.Evidence{{Check: "account", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s msDS-SupportedEncryptionTypes is 0x%x (%s): no AES", a.DN, a.EncTypes, etypeNames(a.EncTypes))}}, ev...)
			rc4Only = a.EncTypes&triage.EtypeRC4 != 0
			if !rc4Only && a.EncTypes&(triage.EtypeDESCRC|triage.EtypeDESMD5) != 0 {
				refused = true // desDisabled
			}
		}
	}
	if len(ev) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.KerberosEtypeMismatch, n.with(triage.PHAccount, account))
	f.Evidence = ev
	switch {
	case refused:
		f.Summary = fmt.Sprintf("The KDC and the service account %s share no usable Kerberos encryption type, so no ticket can be issued for it", account)
	case rc4Only:
		f.Severity = triage.Warning
		f.Summary = fmt.Sprintf("The service account %s allows RC4 only (msDS-SupportedEncryptionTypes 0x%x): Kerberos to it fails wherever RC4 is disabled, on clients or on domain controllers, and Microsoft recommends AES", account, a.EncTypes)
	default:
		f.Severity = triage.Warning
		f.Summary = fmt.Sprintf("The service account %s allows no AES encryption (msDS-SupportedEncryptionTypes 0x%x)", account, a.EncTypes)
	}
	return []triage.Finding{f}
}

func etypeNames(v int) string {
	var out []string
	for _, e := range []struct {
		bit  int
		name string
	}{{triage.EtypeDESCRC, "DES-CBC-CRC"}, {triage.EtypeDESMD5, "DES-CBC-MD5"}, {triage.EtypeRC4, "RC4-HMAC"},
		{triage.EtypeAES128, "AES128"}, {triage.EtypeAES256, "AES256"}, {triage.EtypeAES256SK, "AES256-SK"}} {
		if v&e.bit != 0 {
			out = append(out, e.name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
