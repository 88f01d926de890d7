package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestDeploySmoke runs scripts/deploy-smoke.sh: the README's install and deploy steps
// in a fresh directory laid out like a host, as the units' user (a throwaway system
// user), ending with the agent answering /v1/health over mutual TLS with the files
// `agent certs` wrote. It needs root, as `make test` has; elsewhere it skips.
func TestDeploySmoke(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the deploy steps are Linux's (systemd units, useradd)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create the units' throwaway user and give files to its group: run make test, or sudo bash scripts/deploy-smoke.sh")
	}
	for _, tool := range []string{"bash", "useradd", "userdel", "setpriv", "install"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // a first build of the binary may take minutes
	defer cancel()
	// go test puts its own go first in PATH, which the script builds with.
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", "deploy-smoke.sh"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy-smoke.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"agent-east https://127.0.0.1:", ": ok, ", "deploy-smoke: ok"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	t.Logf("%s", out)
}
