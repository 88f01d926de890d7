package hostlocal

import (
	"context"

	"github.com/authtriage/authtriage/internal/safefile"
)

// readLimited reads a regular file of at most max bytes, opened under ctx with safefile.
func readLimited(ctx context.Context, path string, max int64) ([]byte, error) {
	return safefile.ReadFile(ctx, path, max)
}
