// Package agent runs authtriage's fixed, read-only checks on behalf of a remote triage,
// over mutual TLS: Server answers inside the Windows network, Client asks for the bot
// or the CLI, and the wire types between them are defined once, here.
//
// The API is versioned by path. Version 1:
//
//	POST /v1/triage   {"host":"sqlhost01","since":"24h"}
//	                  -> 200 application/x-ndjson, one Line per finished check, in the
//	                     order they finish, then {"done":true}
//	POST /v1/triage/batch {"hosts":["sqlhost01","sqlhost02"],"since":"24h"}
//	                  -> 200 application/x-ndjson: per host, when its triage is over, its
//	                     Lines tagged {"host":...} in the order of its checks, then
//	                     {"host":"sqlhost01","done":true}; or, for a host the agent will
//	                     not triage, one {"host":...,"status":404,"error":"..."}; after
//	                     every host, {"done":true}
//	GET  /v1/health   -> {"status":"ok"}
//	GET  /v1/version  -> {"version":"...","api":"v1"}
//
// Interactive triages (/v1/triage) and sweeps (/v1/triage/batch) have budgets of their
// own, so that a sweep never takes the place of a person's check: a batch takes one
// token of the client's sweep rate, and its hosts run within the agent's sweep
// concurrency, shared by every batch; a host's error in a batch (not in the inventory,
// not a host name, its turn past the batch's time) is that host's line, not a refusal.
//
// Refusals carry {"error":"..."}: 400 malformed request or bad host name, 401 no client
// certificate, 403 a client identity not allowed, 404 a host not in the inventory, 405
// wrong method, 413 body over MaxRequestBytes, 415 not JSON, 429 rate limited and 503
// too many triages at once (both with Retry-After).
package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// API paths and media types of version 1.
const (
	PathTriage    = "/v1/triage"
	PathBatch     = "/v1/triage/batch"
	PathHealth    = "/v1/health"
	PathVersion   = "/v1/version"
	ContentNDJSON = "application/x-ndjson"
	ContentJSON   = "application/json"
)

// MaxRequestBytes bounds the body of a triage request.
const MaxRequestBytes = 4 << 10

// MaxBatchHosts bounds the hosts of one batch request, and MaxBatchBytes its body.
const (
	MaxBatchHosts = 1000
	MaxBatchBytes = 512 << 10
)

// MaxSince bounds the time window a triage request may ask for.
const MaxSince = 90 * 24 * time.Hour

// maxLineBytes bounds one line of the stream the client accepts.
const maxLineBytes = 16 << 20

// TriageRequest is the body of POST /v1/triage.
type TriageRequest struct {
	Host string `json:"host"` // an inventory name of the agent; matched ignoring case
	// Since is how far back the log checks look, as a Go duration ("24h", "90m"); empty
	// means the checks' default. At most MaxSince.
	Since string `json:"since,omitempty"`
}

// BatchRequest is the body of POST /v1/triage/batch.
type BatchRequest struct {
	// Hosts are inventory names of the agent, 1 to MaxBatchHosts of them, none twice
	// (ignoring case). The agent triages them in this order, as many at once as its
	// sweep concurrency allows; each line of the answer names its host as written here.
	Hosts []string `json:"hosts"`
	Since string   `json:"since,omitempty"` // as TriageRequest's, for every host
}

// A Line is one line of the triage stream: one finished check with what it saw, or
// the end of the stream.
//
// A check's status is skipped or error as a local run would record it, or pass for a
// check that ran: the agent does not diagnose, so warn and fail are for the client to
// derive from the findings over the merged observations. Observations travel with
// triage's Go field names ("Logs", "Directory", "Trend"), so renaming one there
// changes this wire format; a trend inside them has the report's JSON form.
//
// In a batch's stream a line of a host's triage also names the host, and so does the
// end of it ({"host":...,"done":true}) and a host's refusal (Status and Error, which
// say what a single triage's refusal would); the end of the batch names none.
type Line struct {
	Host         string               `json:"host,omitempty"`
	Check        *triage.CheckResult  `json:"check,omitempty"`
	Observations *triage.Observations `json:"observations,omitempty"`
	Done         bool                 `json:"done,omitempty"`
	Status       int                  `json:"status,omitempty"` // an HTTP status, with Error
	Error        string               `json:"error,omitempty"`
}

// Health is the body of GET /v1/health.
type Health struct {
	Status string `json:"status"` // "ok"
}

// Version is the body of GET /v1/version.
type Version struct {
	Version string `json:"version"` // the agent's build
	API     string `json:"api"`     // "v1"
}

// errorBody is the body of every refusal.
type errorBody struct {
	Error string `json:"error"`
}

// maxCheckDuration bounds the duration a line may claim; longer ones are garbage.
const maxCheckDuration = 24 * time.Hour

// DecodeLine parses one line of the triage stream. Fields it does not know are
// ignored, so that an agent may add some; a line must be either a check with a name
// and a known status, or the end marker, and nothing may follow the JSON value. A
// trend (Observations.Trend) must pass triage.Trend.Validate; the instances
// discovered (Observations.Instances) must keep within bounds, and their strings are
// sanitized (checkInstances).
func DecodeLine(b []byte) (Line, error) {
	var l Line
	if err := json.Unmarshal(b, &l); err != nil { // also refuses data after the value
		return Line{}, fmt.Errorf("bad line: %w", err)
	}
	switch {
	case l.Done && (l.Check != nil || l.Observations != nil):
		return Line{}, errors.New("bad line: the end marker carries a check")
	case l.Done:
		return l, nil
	case l.Check == nil:
		return Line{}, errors.New("bad line: neither a check nor the end marker")
	case l.Check.Name == "":
		return Line{}, errors.New("bad line: a check without a name")
	case l.Check.Duration < 0 || l.Check.Duration > maxCheckDuration || l.Check.Duration%time.Millisecond != 0:
		return Line{}, fmt.Errorf("bad line: check %q: duration out of range", l.Check.Name)
	case l.Observations != nil && l.Observations.Trend != nil && l.Observations.Trend.Validate() != nil:
		return Line{}, fmt.Errorf("bad line: check %q: trend: %w", l.Check.Name, l.Observations.Trend.Validate())
	}
	switch l.Check.Status {
	case triage.CheckPass, triage.CheckWarn, triage.CheckFail, triage.CheckError, triage.CheckSkipped:
	default:
		return Line{}, fmt.Errorf("bad line: check %q: unknown status %q", l.Check.Name, printable(string(l.Check.Status)))
	}
	if l.Observations != nil && l.Observations.Instances != nil {
		if err := checkInstances(l.Observations.Instances); err != nil {
			return Line{}, fmt.Errorf("bad line: check %q: instances: %w", l.Check.Name, err)
		}
	}
	return l, nil
}

// encodeLine writes l as one line of the stream.
func encodeLine(l Line) ([]byte, error) {
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// printable shortens a string received from the network for a message or log.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return string(bytes.ToValidUTF8([]byte(s), []byte("?")))
}
