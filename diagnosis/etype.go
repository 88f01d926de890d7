package diagnosis

import (
	"fmt"
	"strings"

	"authtriage/triage"
)

// etypeRule reports a service account that shares no usable encryption type with the
// KDC and clients: msDS-SupportedEncryptionTypes without AES (RC4-only or DES-only),
// the USE_DES_KEY_ONLY flag, or a ticket request the KDC refused with
// KDC_ERR_ETYPE_NOTSUPP. RC4-only without a refusal is a warning: it works until the
// domain enforces AES (the 2026 RC4 hardening).
type etypeRule struct{}

func (etypeRule) Name() string { return "etype" }

func (etypeRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil {
		return nil
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
	if a := d.ServiceAccount; a != nil {
		account = a.Name()
		switch {
		case a.UAC&triage.UACUseDESKeyOnly != 0:
			ev = append([]triage.Evidence{{Check: "account", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s userAccountControl has USE_DES_KEY_ONLY (0x200000)", a.DN)}}, ev...)
			refused = true // DES is disabled by default since Windows 7 / Server 2008 R2
		case a.EncTypes != triage.EncTypesUnset && a.EncTypes&triage.EtypeAESAll == 0:
			ev = append([]triage.Evidence{{Check: "account", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s msDS-SupportedEncryptionTypes is 0x%x (%s): no AES", a.DN, a.EncTypes, etypeNames(a.EncTypes))}}, ev...)
		}
	}
	if len(ev) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.KerberosEtypeMismatch, n.with(triage.PHAccount, account))
	f.Evidence = ev
	if !refused {
		f.Severity = triage.Warning
		f.Summary = fmt.Sprintf("The service account %s allows no AES encryption: tickets for it use RC4, which domains enforcing AES refuse", account)
	} else {
		f.Summary = fmt.Sprintf("The KDC and the service account %s share no usable Kerberos encryption type, so no ticket can be issued for it", account)
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
