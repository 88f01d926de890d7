package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/authtriage/authtriage/render"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/triage"
)

func validOutput(s string) error {
	switch s {
	case "text", "json", "blocks", "slack", "markdown":
		return nil
	}
	return fmt.Errorf("--output must be text, json, blocks, slack or markdown, not %q", printable(s))
}

// write renders the report in the chosen format; text gets colour only on a terminal
// that has not asked for none (NO_COLOR, TERM=dumb).
func write(w io.Writer, rep triage.Report, format string, e env) error {
	switch format {
	case "json":
		return render.JSON(w, rep)
	case "markdown":
		_, err := io.WriteString(w, slackrender.Markdown(rep))
		return err
	case "blocks", "slack":
		msgs, err := slackrender.Thread(rep, slackrender.ThreadOptions{Buttons: true})
		if err != nil {
			return fmt.Errorf("render the Slack thread: %w", err)
		}
		if format == "slack" {
			_, err = io.WriteString(w, slackrender.ThreadText(msgs))
			return err
		}
		return slackrender.BlocksJSON(w, msgs)
	}
	color := isTerminal(w) && e.getenv("NO_COLOR") == "" && e.getenv("TERM") != "dumb"
	return render.Text(w, rep, render.TextOptions{Color: color})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress shows how far a long scan is, on one line of a terminal's stderr, at most
// ten times a second. On anything but a terminal it prints nothing.
type progress struct {
	w       io.Writer
	on      bool
	mu      sync.Mutex
	last    time.Time
	printed bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w, on: isTerminal(w)} }

// update is an errorlog.Options.Progress callback; it may be called concurrently.
func (p *progress) update(done, total int64) {
	if !p.on || total < 64<<20 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.printed = true
	fmt.Fprintf(p.w, "\rreading error log: %3d%% of %d MiB", done*100/total, total>>20)
}

// hosts shows how many hosts of a check of several have been triaged; it may be
// called concurrently.
func (p *progress) hosts(done, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if done < total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.printed = true
	fmt.Fprintf(p.w, "\rchecked %d of %d hosts", done, total)
}

// done clears the progress line, if one was printed.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.printed = false
	}
}
