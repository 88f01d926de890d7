//go:build !windows

package main

// runAsService is for Windows services; elsewhere the process is never one.
func runAsService([]string) (code int, handled bool) { return 0, false }
