// Package safefile opens files named by users and configurations without blocking on
// what is not a file, and without letting opens that hang pile up.
//
// A path may name a FIFO, a device or a file on a network mount that no longer answers.
// An ordinary open of a FIFO waits for a writer, a read of /dev/zero never ends, and an
// open on a hung mount blocks in the kernel whatever its flags, each time holding an OS
// thread. Open refuses anything that is not a regular file before it reads a byte, and
// runs every open through an Opener that has at most a fixed number of them in flight:
// an open that has not returned by the caller's deadline is abandoned to its goroutine,
// which closes the file if the open ever returns, so the threads held by a hung file
// system never exceed that number.
package safefile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is matched (errors.Is) by a *NotRegularError.
var ErrNotRegular = errors.New("not a regular file")

// A NotRegularError is the error for a path that names something other than a regular
// file, such as a FIFO, a device, a socket or a directory (symbolic links followed).
type NotRegularError struct {
	Path string
	Mode fs.FileMode // its type bits: fs.ModeNamedPipe, fs.ModeDir, ...
}

// Error says what the path names: "PATH is not a regular file (a FIFO)".
func (e *NotRegularError) Error() string {
	kind := "a special file"
	switch {
	case e.Mode&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case e.Mode.IsDir():
		kind = "a directory"
	case e.Mode&fs.ModeSocket != 0:
		kind = "a socket"
	case e.Mode&fs.ModeDevice != 0:
		kind = "a device"
	}
	return fmt.Sprintf("%s is not a regular file (%s)", e.Path, kind)
}

// Is reports whether target is ErrNotRegular.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// DefaultLimit is the number of opens the package-level functions have in flight.
const DefaultLimit = 4

// defaultOpener is the process-wide bound behind Open and ReadFile. It is the only
// package state: a semaphore of DefaultLimit slots, shared by every caller in the process
// so that the bound holds for the process and not per caller.
var defaultOpener = NewOpener(DefaultLimit)

// Open opens path for reading with the process-wide Opener; see Opener.Open.
func Open(ctx context.Context, path string) (*os.File, error) {
	return defaultOpener.Open(ctx, path)
}

// ReadFile reads path with the process-wide Opener; see Opener.ReadFile.
func ReadFile(ctx context.Context, path string, max int64) ([]byte, error) {
	return defaultOpener.ReadFile(ctx, path, max)
}

// An Opener opens regular files for reading with at most a fixed number of opens in
// flight. It is safe for concurrent use. Its zero value is not usable; use NewOpener.
type Opener struct {
	slots chan struct{}
	// open opens a regular file for reading, or fails; openRegular except in tests.
	open func(path string) (*os.File, error)
}

// NewOpener returns an Opener with at most limit opens in flight (1 when limit < 1).
func NewOpener(limit int) *Opener {
	return &Opener{slots: make(chan struct{}, max(limit, 1)), open: openRegular}
}

// Open opens path for reading. It follows symbolic links, and refuses with a
// *NotRegularError ("PATH is not a regular file (a FIFO)") anything that is not a
// regular file, without blocking on it: on Unix the open is non-blocking and the file
// is checked with fstat before O_NONBLOCK is cleared; on Windows the path is checked
// with stat before it is opened.
//
// When the Opener's opens are all in flight and none returns before ctx is done, or
// when this open does not return before ctx is done, Open returns an error that says
// the deadline passed and wraps ctx's error; an abandoned open keeps its slot until it
// returns, and its file is closed then. Reads of the returned file are the caller's:
// use ReadFile to bound the read as well.
func (o *Opener) Open(ctx context.Context, path string) (*os.File, error) {
	return bounded(ctx, o, path, func() (*os.File, error) { return o.open(path) }, func(f *os.File) { f.Close() })
}

// ReadFile reads the regular file at path as Open opens it and returns its content,
// or an error when it holds more than max bytes. The open and the read both happen
// under o's bound and before ctx is done, else ReadFile returns an error as Open does.
func (o *Opener) ReadFile(ctx context.Context, path string, max int64) ([]byte, error) {
	return bounded(ctx, o, path, func() ([]byte, error) {
		f, err := o.open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, max+1))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if int64(len(data)) > max {
			return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
		}
		return data, nil
	}, nil)
}

// bounded runs work in a goroutine that holds one of o's slots, and returns its result,
// or an error once ctx is done first. A result that arrives after the caller has gone
// is handed to discard (when not nil).
func bounded[T any](ctx context.Context, o *Opener, path string, work func() (T, error), discard func(T)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("open %s: %w", path, err)
	}
	select {
	case o.slots <- struct{}{}:
	case <-ctx.Done():
		return zero, fmt.Errorf("open %s: gave up at the deadline waiting behind %d opens that the file system has not answered: %w",
			path, cap(o.slots), context.Cause(ctx))
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result)
	gone := make(chan struct{})
	go func() {
		defer func() { <-o.slots }()
		v, err := work()
		select {
		case done <- result{v, err}:
		case <-gone:
			if err == nil && discard != nil {
				discard(v)
			}
		}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		close(gone)
		return zero, fmt.Errorf("open %s: the file system did not answer before the deadline: %w", path, context.Cause(ctx))
	}
}

// notRegular returns the error for a path whose mode is not a regular file's.
func notRegular(path string, mode fs.FileMode) error {
	return &NotRegularError{Path: path, Mode: mode.Type()}
}
