//go:build !unix

package safefiletest

import "errors"

func mkfifo(string) error { return errors.New("named pipes in the file system are a Unix thing") }
