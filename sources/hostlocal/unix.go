//go:build !windows

package hostlocal

import (
	"context"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// EventLog is Windows-only.
func EventLog(context.Context, string, time.Duration) ([]byte, error) { return nil, ErrUnsupported }

// ProbeLSA is Windows-only; elsewhere it reports ErrUnsupported.
func ProbeLSA(context.Context) triage.LSAProbe { return triage.LSAProbe{Err: ErrUnsupported.Error()} }
