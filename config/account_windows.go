//go:build windows

package config

import (
	"errors"
	"fmt"
	"os"
)

// LookupAccount refuses on Windows: access to files there is decided by access
// control lists, which Check does not evaluate. Run the check as the service's
// account instead.
func LookupAccount(name string, extra ...string) (*Account, error) {
	return nil, errors.New("checking files for another user works on Unix only: on Windows, file access is decided by access control lists; run config check as the service's account instead")
}

func (a *Account) canRead(string) error { return nil }

// writableDir checks that dir is a folder; whether this process may write it is
// left to the access control lists.
func writableDir(dir string, _ *Account) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", quotePath(dir))
	}
	return nil
}

// writableFile checks that name is a regular file.
func writableFile(name string, _ *Account) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", quotePath(name))
	}
	return nil
}
