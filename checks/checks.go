// Package checks holds authtriage's checks, one file each, every one a triage.Check.
package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// describeWindow returns "2025-06-01 09:22 to 2025-06-02 09:54 (24h window)".
func describeWindow(from, to time.Time, since time.Duration) string {
	if from.IsZero() && to.IsZero() {
		return "no entries"
	}
	const layout = "2006-01-02 15:04 -07:00"
	return fmt.Sprintf("%s to %s (%s window)", from.Format(layout), to.Format(layout), human.Span(since))
}

// defaultSince is the window of the log checks whose Since is 0.
const defaultSince = 24 * time.Hour

// inputError marks err as the user's input error when the files came from the user
// and the failure is not a cancellation.
func inputError(err error, fromUser bool) error {
	if err == nil || !fromUser || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &triage.InputError{Err: err}
}

// baseNames returns the last element of each path, joined by ", ".
func baseNames(paths []string) string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = p[strings.LastIndexAny(p, `/\`)+1:]
	}
	return strings.Join(names, ", ")
}

// windowEnd returns the end of the time window for a log source: zero for copied files
// (the reader then ends it at their newest entry), now for live ones.
func windowEnd(copied bool, now func() time.Time) time.Time {
	if copied {
		return time.Time{}
	}
	if now == nil {
		return time.Now()
	}
	return now()
}
