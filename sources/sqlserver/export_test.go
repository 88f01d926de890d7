package sqlserver

// SetAuth replaces the connection-string keys of c's integrated authentication, for
// tests. The fake server accepts any SSPI token, so NTLM, which needs no KDC, stands
// in for Kerberos there; the real-server test logs in as its DSN says.
func SetAuth(c *Checker, params map[string]string) { c.auth = params }
