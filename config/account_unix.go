//go:build unix

package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// LookupAccount returns the account of the user name (a name or a numeric ID)
// with its groups and, added to them, the groups extra names, which a service
// manager may give it (systemd's SupplementaryGroups=).
func LookupAccount(name string, extra ...string) (*Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("no user %s on this system", quote(name))
		}
	}
	a := &Account{Name: u.Username}
	if a.UID, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %s has the ID %s, which is not a number", quote(name), quote(u.Uid))
	}
	ids := []string{u.Gid}
	if more, err := u.GroupIds(); err == nil {
		ids = append(ids, more...)
	}
	for _, g := range extra {
		grp, err := user.LookupGroup(g)
		if err != nil {
			if grp, err = user.LookupGroupId(g); err != nil {
				return nil, fmt.Errorf("no group %s on this system", quote(g))
			}
		}
		ids = append(ids, grp.Gid)
	}
	for _, id := range ids {
		if n, err := strconv.Atoi(id); err == nil && !slices.Contains(a.GIDs, n) {
			a.GIDs = append(a.GIDs, n)
		}
	}
	return a, nil
}

// Permission bits of the owner's triple.
const (
	permRead  = 4
	permWrite = 2
	permExec  = 1
)

// canRead says why a cannot read the file name, or returns nil.
func (a *Account) canRead(name string) error { return a.access(name, permRead, "read") }

// access says why a cannot open name for want (permission bits of one triple),
// or returns nil. Every folder above name, and above the file a symbolic link
// leads to, must let a pass.
func (a *Account) access(name string, want uint32, verb string) error {
	if a.UID == 0 {
		return nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return err
	}
	paths := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		paths = append(paths, real)
	}
	for _, p := range paths {
		for _, dir := range parents(p) {
			st, err := stat(dir)
			if err != nil {
				return err
			}
			if !a.permits(st, permExec) {
				return fmt.Errorf("user %s cannot enter folder %s (%s): it cannot %s %s", a.Name, quotePath(dir), describeStat(st), verb, quotePath(name))
			}
		}
	}
	st, err := stat(abs)
	if err != nil {
		return err
	}
	if !a.permits(st, want) {
		hint := ""
		if len(a.GIDs) > 0 && want == permRead {
			g := groupName(uint32(a.GIDs[0]))
			hint = fmt.Sprintf(": give it to the group (chgrp %s FILE; chmod g+r FILE)", g)
		}
		return fmt.Errorf("user %s cannot %s %s (%s)%s", a.Name, verb, quotePath(name), describeStat(st), hint)
	}
	return nil
}

// permits reports whether the owner, group or other bits of st that apply to a
// allow want.
func (a *Account) permits(st *syscall.Stat_t, want uint32) bool {
	mode := uint32(st.Mode) & 0o777
	switch {
	case int(st.Uid) == a.UID:
		return mode>>6&want == want
	case slices.Contains(a.GIDs, int(st.Gid)):
		return mode>>3&want == want
	}
	return mode&want == want
}

// parents returns the folders above an absolute path, the root first.
func parents(p string) []string {
	var out []string
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		out = append(out, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	slices.Reverse(out)
	return out
}

func stat(name string) (*syscall.Stat_t, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no owner and permission bits", quotePath(name))
	}
	return st, nil
}

// describeStat shows a file's mode, owner and group as ls does: "-rw-r----- root:authtriage".
func describeStat(st *syscall.Stat_t) string {
	m := fs.FileMode(st.Mode & 0o777)
	typ := "-"
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		typ = "d"
	}
	return typ + m.String()[1:] + " " + userName(st.Uid) + ":" + groupName(st.Gid)
}

// writableDir says why a (nil: this process) cannot create files in dir, or
// returns nil; an error wrapping fs.ErrNotExist when dir does not exist.
func writableDir(dir string, a *Account) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", quotePath(dir))
	}
	if a != nil {
		return a.access(dir, permWrite|permExec, "create files in")
	}
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("%s cannot create files in %s", processUser(), quotePath(dir))
	}
	return nil
}

// writableFile says why a (nil: this process) cannot read and write the file
// name, or returns nil; an error wrapping fs.ErrNotExist when it does not exist.
func writableFile(name string, a *Account) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", quotePath(name))
	}
	if a != nil {
		return a.access(name, permRead|permWrite, "read and write")
	}
	if err := unix.Access(name, unix.R_OK|unix.W_OK); err != nil {
		if errors.Is(err, unix.EACCES) {
			return fmt.Errorf("%s cannot read and write %s", processUser(), quotePath(name))
		}
		return err
	}
	return nil
}

// userName returns the name of the user with the numeric ID uid, or the number.
func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return strconv.FormatUint(uint64(uid), 10)
}

// groupName returns the name of the group with the numeric ID gid, or the number.
func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return g.Name
	}
	return strconv.FormatUint(uint64(gid), 10)
}
