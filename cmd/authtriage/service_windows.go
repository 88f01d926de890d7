//go:build windows

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/display"
)

// defaultServiceName is the service agent install creates, and its event-log source.
const defaultServiceName = "authtriage-agent"

// runAsService runs the command as a Windows service when the Service Control Manager
// started the process (as agent install sets it up): a stop or shutdown request
// cancels the command's context, and its log lines go to the Application event log
// under the service's event source when there is one. It reports false when the
// process is not a service.
func runAsService(args []string) (code int, handled bool) {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		return 0, false
	}
	h := &service{args: args}
	if err := svc.Run(defaultServiceName, h); err != nil {
		return exitUnknown, true
	}
	return h.code, true
}

type service struct {
	args []string
	code int
}

// Execute runs the command until it returns or the service is asked to stop. Its
// first argument is the service's name, which names the event-log source.
func (s *service) Execute(svcArgs []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr io.Writer = os.Stderr
	if len(svcArgs) > 0 {
		if l, err := eventlog.Open(svcArgs[0]); err == nil {
			defer l.Close()
			stderr = &eventLogWriter{log: l}
		}
	}
	done := make(chan int, 1)
	go func() { done <- run(ctx, s.args, os.Getenv, os.Stdout, stderr) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case s.code = <-done:
			return false, uint32(s.code)
		case r := <-requests:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				s.code = <-done
				return false, uint32(s.code)
			}
		}
	}
}

// eventLogWriter writes each JSON log line slog writes as one event of its level.
// Event IDs are 1: the source's message file is EventCreate.exe's, whose IDs go
// from 1 to 1000 ("eventcreate",
// https://learn.microsoft.com/windows-server/administration/windows-commands/eventcreate).
type eventLogWriter struct {
	mu   sync.Mutex
	log  *eventlog.Log
	line []byte
}

// maxEventText bounds one event's text; longer lines are cut, saying so.
const maxEventText = 16 << 10

func (w *eventLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		w.event(w.line[:i])
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

func (w *eventLogWriter) event(line []byte) {
	var rec struct{ Level string }
	json.Unmarshal(line, &rec)
	msg := string(line)
	if len(msg) > maxEventText {
		msg = msg[:maxEventText] + "... (cut)"
	}
	switch rec.Level {
	case "ERROR":
		w.log.Error(1, msg)
	case "WARN":
		w.log.Warning(1, msg)
	default:
		w.log.Info(1, msg)
	}
}

// runAgentInstall creates the Windows service that runs `authtriage agent --config
// FILE` from this executable, started automatically, with its event-log source. It
// checks the configuration first, as the agent does at start, and installs nothing
// on a problem.
func runAgentInstall(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("agent install", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	configPath := fs.String("config", "", "the agent's configuration `FILE`, e.g. C:\\ProgramData\\authtriage\\agent.yaml")
	name := fs.String("name", defaultServiceName, "the service's `NAME`, also its event-log source")
	account := fs.String("account", "", "the `ACCOUNT` the service runs as: a group managed service account (CORP\\svc_authtriage$), a virtual account (NT SERVICE\\NAME), or NT AUTHORITY\\LocalService; default LocalSystem")
	if code, done := parseNoArgs(fs, args, e); done {
		return code
	}
	if *configPath == "" {
		return usageError(e, "agent install needs --config FILE")
	}
	path, err := filepath.Abs(*configPath)
	if err != nil {
		return usageError(e, "%v", err)
	}
	r := config.Check(ctx, []string{path}, config.RoleAgent, e.getenv, config.CheckOptions{})[0]
	for _, p := range r.Problems {
		fmt.Fprintln(e.stderr, display.Text(p.String()))
	}
	if r.Config == nil {
		return usageError(e, "not installing: %s has problems (authtriage config check --config %s)", path, path)
	}
	exe, err := os.Executable()
	if err != nil {
		return usageError(e, "find this executable: %v", err)
	}
	m, err := mgr.Connect()
	if err != nil {
		return usageError(e, "connect to the Service Control Manager: %v%s", err, elevateHint(err))
	}
	defer m.Disconnect()
	// A managed service account or a virtual account takes no password
	// (CreateServiceW, lpPassword: "must be NULL"; mgr passes "" as NULL):
	// https://learn.microsoft.com/windows/win32/api/winsvc/nf-winsvc-createservicew
	s, err := m.CreateService(*name, exe, mgr.Config{
		DisplayName:      "authtriage agent",
		Description:      "Read-only SQL Server authentication checks for the authtriage bot and CLI, over mutual TLS.",
		StartType:        mgr.StartAutomatic,
		ServiceStartName: *account,
	}, "agent", "--config", path)
	if err != nil {
		return usageError(e, "create service %s: %v%s", *name, err, elevateHint(err))
	}
	defer s.Close()
	if err := eventlog.InstallAsEventCreate(*name, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		s.Delete()
		return usageError(e, "install the event-log source %s: %v (the service was removed again)", *name, err)
	}
	fmt.Fprintf(e.stdout, "Installed service %s: %s agent --config %s, started automatically at boot", *name, exe, path)
	if *account != "" {
		fmt.Fprintf(e.stdout, ", as %s", *account)
	}
	fmt.Fprintf(e.stdout, ".\nIts log goes to the Application event log, source %s.\nStart it now: sc.exe start %s\n", *name, *name)
	return exitOK
}

// runAgentUninstall stops and deletes the service agent install created, and its
// event-log source.
func runAgentUninstall(args []string, e env) int {
	fs := flag.NewFlagSet("agent uninstall", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	name := fs.String("name", defaultServiceName, "the service's `NAME`, also its event-log source")
	if code, done := parseNoArgs(fs, args, e); done {
		return code
	}
	m, err := mgr.Connect()
	if err != nil {
		return usageError(e, "connect to the Service Control Manager: %v%s", err, elevateHint(err))
	}
	defer m.Disconnect()
	s, err := m.OpenService(*name)
	if err != nil {
		return usageError(e, "open service %s: %v%s", *name, err, elevateHint(err))
	}
	defer s.Close()
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		if _, err := s.Control(svc.Stop); err != nil {
			return usageError(e, "stop service %s: %v", *name, err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for st.State != svc.Stopped && time.Now().Before(deadline) {
			time.Sleep(300 * time.Millisecond) // the Service Control Manager has no stop notification to wait on here
			if st, err = s.Query(); err != nil {
				break
			}
		}
		if st.State != svc.Stopped {
			return usageError(e, "service %s did not stop within 60 s; nothing was removed", *name)
		}
	}
	if err := s.Delete(); err != nil {
		return usageError(e, "delete service %s: %v", *name, err)
	}
	if err := eventlog.Remove(*name); err != nil {
		fmt.Fprintf(e.stderr, "authtriage: remove the event-log source %s: %v\n", *name, err)
	}
	fmt.Fprintf(e.stdout, "Removed service %s and its event-log source.\n", *name)
	return exitOK
}

// elevateHint explains an access-denied error of the Service Control Manager.
func elevateHint(err error) string {
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return " (run it from an elevated prompt: Run as administrator)"
	}
	return ""
}

// lookupGroup refuses: Windows decides file access with access control lists.
func lookupGroup(string) (int, error) {
	return 0, errors.New("works on Unix only: on Windows, file access is decided by access control lists; keep the files in a folder only administrators and the service's account may read")
}
