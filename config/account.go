package config

import "os/user"

// An Account is the user a command runs as, when Check is run by another (root,
// usually): Check judges its access to each file from the file's owner, group and
// permission bits and those of the folders above it, as the kernel does for a
// process of that user and its groups. Access control lists, capabilities and
// mandatory access control (SELinux, AppArmor) are not evaluated. The superuser
// may read and write everything. On Windows, where access is decided by access
// control lists, LookupAccount refuses: run the check as the service's account.
type Account struct {
	Name string
	UID  int
	GIDs []int // its primary group first, then the others
}

// processUser names the user this process runs as, for messages.
func processUser() string {
	u, err := user.Current()
	if err != nil {
		return "this process"
	}
	return "user " + u.Username + " (this process)"
}
