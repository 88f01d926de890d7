//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAccountAccess judges a user's access from owners, groups and modes alone, so
// it needs no second user: the accounts are made up around this process's IDs.
func TestAccountAccess(t *testing.T) {
	uid, gid := os.Getuid(), os.Getgid()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir's folders are the owner's alone
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	closed := filepath.Join(dir, "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ownerOnly, groupRead, worldRead := write("key-0600.pem", 0o600), write("key-0640.pem", 0o640), write("cert.pem", 0o644)
	inClosed := filepath.Join(closed, "key.pem")
	if err := os.WriteFile(inClosed, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if uid == 0 {
		t.Log("running as root; the made-up accounts are others")
	}
	owner := &Account{Name: "owner", UID: uid, GIDs: []int{gid}}
	member := &Account{Name: "member", UID: uid + 1000, GIDs: []int{gid + 1000, gid}}
	other := &Account{Name: "other", UID: uid + 1000, GIDs: []int{gid + 1000}}
	root := &Account{Name: "root", UID: 0}
	tests := []struct {
		a    *Account
		file string
		want string // "" for readable
	}{
		{owner, ownerOnly, ""},
		{member, ownerOnly, "user member cannot read"},
		{member, groupRead, ""},
		{other, groupRead, "user other cannot read"},
		{other, worldRead, ""},
		{other, inClosed, "user other cannot enter folder"},
		{root, ownerOnly, ""},
	}
	for _, tt := range tests {
		if tt.a.UID == uid+1000 && uid+1000 == 0 {
			continue
		}
		err := tt.a.canRead(tt.file)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s reading %s: %v", tt.a.Name, filepath.Base(tt.file), err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s reading %s: %v; want %q", tt.a.Name, filepath.Base(tt.file), err, tt.want)
		}
	}
	if err := member.canRead(ownerOnly); err == nil || !strings.Contains(err.Error(), "(-rw-------") || !strings.Contains(err.Error(), "chmod g+r") {
		t.Errorf("the message does not show the mode and the fix: %v", err)
	}
	if err := writableDir(dir, other); err == nil {
		t.Error("another user may create files in a 0755 folder of ours")
	}
	if err := writableDir(dir, owner); err != nil {
		t.Errorf("the owner cannot create files in its folder: %v", err)
	}
}
