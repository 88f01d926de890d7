//go:build windows

package hostlocal

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"time"

	"golang.org/x/sys/windows"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// lsaTimeout bounds the LSA probe.
const lsaTimeout = 5 * time.Second

// EventLog exports the events of the System or Application log written in the last
// since, as `wevtutil qe LOG /q:... /f:RenderedXml` does, with a query built here from
// the log name and a whole number of milliseconds only.
func EventLog(ctx context.Context, log string, since time.Duration) ([]byte, error) {
	if log != "System" && log != "Application" {
		return nil, fmt.Errorf("event log %q is not one authtriage reads", log)
	}
	ms := since.Milliseconds()
	if ms <= 0 {
		return nil, fmt.Errorf("the window must be positive")
	}
	query := fmt.Sprintf("*[System[TimeCreated[timediff(@SystemTime) <= %d]]]", ms)
	cmd := exec.CommandContext(ctx, "wevtutil.exe", "qe", log, "/q:"+query, "/f:RenderedXml")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("wevtutil qe %s: %w", log, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("wevtutil qe %s: %w", log, err)
	}
	out, readErr := io.ReadAll(io.LimitReader(stdout, maxEventExport+1))
	if len(out) > maxEventExport {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("wevtutil qe %s: the export for the last %s is larger than %d MiB; use a shorter window", log, human.Span(since), maxEventExport>>20)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("wevtutil qe %s: %w", log, err)
	}
	if readErr != nil {
		return nil, fmt.Errorf("wevtutil qe %s: %w", log, readErr)
	}
	return out, nil
}

// maxEventExport bounds what one event-log export may hold in the agent's memory.
const maxEventExport = 256 << 20

// ProbeLSA times a call the Local Security Authority answers from memory: the name of
// the well-known SID S-1-5-18 (LocalSystem). An LSASS that has stopped answering makes it
// hang or fail, which is what 17806 with 0x80090304 reports.
func ProbeLSA(ctx context.Context) triage.LSAProbe {
	ctx, cancel := context.WithTimeout(ctx, lsaTimeout)
	defer cancel()
	done := make(chan error, 1) // buffered: a hung call never blocks its goroutine's exit
	start := time.Now()
	go func() {
		sid, err := windows.StringToSid("S-1-5-18")
		if err == nil {
			_, _, _, err = sid.LookupAccount("")
		}
		done <- err
	}()
	select {
	case err := <-done:
		p := triage.LSAProbe{Latency: time.Since(start)}
		if err != nil {
			p.Err = err.Error()
		}
		return p
	case <-ctx.Done():
		return triage.LSAProbe{Latency: time.Since(start), Err: "no answer within " + human.Span(lsaTimeout)}
	}
}
