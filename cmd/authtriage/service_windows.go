//go:build windows

package main

import (
	"context"
	"os"

	"golang.org/x/sys/windows/svc"
)

// runAsService runs the command as a Windows service when the Service Control Manager
// started the process (sc.exe create ... binPath= "authtriage.exe agent --config ..."):
// a stop or shutdown request cancels the command's context. It reports false when the
// process is not a service.
func runAsService(args []string) (code int, handled bool) {
	isService, err := svc.IsWindowsService()
	if err != nil || !isService {
		return 0, false
	}
	h := &service{args: args}
	if err := svc.Run("authtriage", h); err != nil {
		return exitUnknown, true
	}
	return h.code, true
}

type service struct {
	args []string
	code int
}

// Execute runs the command until it returns or the service is asked to stop.
func (s *service) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(ctx, s.args, os.Getenv, os.Stdout, os.Stderr) }()
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
