// Package directory reads service principal names, service accounts and domain facts
// from Active Directory, live over LDAP (Client) or offline from an LDIF export (LDIF).
//
// Both sources answer the same questions with the same semantics: FindSPN is
// "setspn -Q", ScanDuplicateSPNs is "setspn -X", Account is "setspn -L" plus the
// account's state. Everything is read-only.
//
// Names and SPNs that come from outside are validated before any query and reach
// LDAP filters only through ldap.EscapeFilter, so input can never widen a search.
// Accounts are identified by objectSid and DN, never by name.
package directory
