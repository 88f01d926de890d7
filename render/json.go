// Package render writes reports for people and programs: terminal text and JSON,
// and the pieces the Slack renderer (package slackrender) shares with them: counts,
// zones, time ranges and the failure trend's sparklines. Renderers write to a
// buffer first and never leave half a report behind.
package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/authtriage/authtriage/triage"
)

// JSON writes the report as one indented JSON object (the public contract in the
// design notes) followed by a newline.
func JSON(w io.Writer, rep triage.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report %s: %w", rep.ID, err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
