//go:build !unix

package agent_test

import "io/fs"

// fileGID reports no group where files have none.
func fileGID(fs.FileInfo) (int, bool) { return 0, false }
