package safefile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/internal/safefile/safefiletest"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ERRORLOG")
	if err := os.WriteFile(file, []byte("evidence"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "ERRORLOG.1")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	fifo := safefiletest.FIFO(t)
	fifoLink := filepath.Join(dir, "fifo-link")
	if err := os.Symlink(fifo, fifoLink); err != nil {
		t.Fatal(err)
	}
	zeroLink := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zeroLink); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       string // error text; "" for success
	}{
		{"regular file", file, ""},
		{"symlink to a regular file", link, ""},
		{"FIFO", fifo, fifo + " is not a regular file (a FIFO)"},
		{"symlink to a FIFO", fifoLink, fifoLink + " is not a regular file (a FIFO)"},
		{"device", "/dev/zero", "/dev/zero is not a regular file (a device)"},
		{"symlink to a device", zeroLink, zeroLink + " is not a regular file (a device)"},
		{"directory", dir, dir + " is not a regular file (a directory)"},
		{"missing", filepath.Join(dir, "nothing"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == "/dev/zero" || tt.path == zeroLink {
				if _, err := os.Stat("/dev/zero"); err != nil {
					t.Skip("no /dev/zero here")
				}
			}
			f, err := safefile.Open(t.Context(), tt.path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer f.Close()
				buf := make([]byte, 16)
				n, err := f.Read(buf)
				if err != nil || string(buf[:n]) != "evidence" {
					t.Fatalf("Read = %q, %v; want %q", buf[:n], err, "evidence")
				}
				return
			}
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded; want an error with %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open error = %q; want it to contain %q", err, tt.want)
			}
			if strings.Contains(tt.want, "not a regular file") != errors.Is(err, safefile.ErrNotRegular) {
				t.Errorf("errors.Is(%q, ErrNotRegular) = %v", err, !strings.Contains(tt.want, "not a regular file"))
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(file, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		max  int64
		want string
		err  string
	}{
		{"fits", file, 10, "0123456789", ""},
		{"too large", file, 9, "", file + " is larger than 9 bytes"},
		{"FIFO", safefiletest.FIFO(t), 10, "", "is not a regular file (a FIFO)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := safefile.ReadFile(t.Context(), tt.path, tt.max)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ReadFile = %q, %v; want an error with %q", got, err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOpenDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := safefile.Open(ctx, "ERRORLOG")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a done context: %v; want context.Canceled", err)
	}
}

// TestFIFOThreadsStable opens a FIFO many times: each open is refused at once and
// leaves no thread behind.
func TestFIFOThreadsStable(t *testing.T) {
	fifo := safefiletest.FIFO(t)
	open := func() {
		f, err := safefile.Open(t.Context(), fifo)
		if err == nil {
			f.Close()
			t.Fatal("Open of a FIFO succeeded")
		}
		if _, err := safefile.ReadFile(t.Context(), fifo, 1<<20); !errors.Is(err, safefile.ErrNotRegular) {
			t.Fatalf("ReadFile of a FIFO: %v; want ErrNotRegular", err)
		}
	}
	open()
	runtime.GC()
	before := safefiletest.Threads(t)
	for range 500 {
		open()
	}
	if after := safefiletest.Threads(t); after > before+2 {
		t.Errorf("threads: %d after the first open of a FIFO, %d after 500 more", before, after)
	}
}
