package plan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/sources/directory"
)

// OpenLDIF reads an LDIF export of the directory, opened under ctx: a path that is not
// a regular file (a FIFO, a device) is refused at once. Its errors name the file.
func OpenLDIF(ctx context.Context, path string) (*directory.LDIF, error) {
	f, err := safefile.Open(ctx, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file", path)
	case err != nil:
		return nil, err
	}
	defer f.Close()
	return directory.LoadLDIF(f, path)
}

// regularFile checks that a file named in a request exists and is a regular file (not
// a FIFO or a device, which would block or never end), opening it under ctx.
func regularFile(ctx context.Context, path string) error {
	f, err := safefile.Open(ctx, path)
	var nr *safefile.NotRegularError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such file", path)
	case errors.As(err, &nr) && nr.Mode.IsDir():
		return fmt.Errorf("%s is a directory; name the file (for ERRORLOG, the current one: its rollover files are read with it)", path)
	case err != nil:
		return err
	}
	return f.Close()
}
