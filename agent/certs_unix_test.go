//go:build unix

package agent_test

import (
	"io/fs"
	"syscall"
)

// fileGID returns the group of a file.
func fileGID(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Gid), true
}
