package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/display"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/schedule"
)

// The Bot posts the scheduler's fleet summaries.
var _ schedule.Notifier = (*Bot)(nil)

// A summary's place, schedule.Posted, is its parent message's channel and ts:
// "CHANNEL/TS". The store's migration of runs saved before the place was one
// value writes the same form; parsePosted reads it.
func postedAt(channel, ts string) schedule.Posted { return schedule.Posted(channel + "/" + ts) }

// parsePosted returns the channel and ts of a summary's parent from its place.
func parsePosted(p schedule.Posted) (channel, ts string, err error) {
	channel, ts, ok := strings.Cut(string(p), "/")
	if !ok || channel == "" || ts == "" {
		return "", "", fmt.Errorf("%q is not where a summary was posted (CHANNEL/TS)", p)
	}
	return channel, ts, nil
}

// PostSummary posts the parent message of a fleet run's summary (see
// SummaryThread) to the schedule's channel and returns where it is. It posts
// nothing else: the scheduler records the run as soon as the parent is out,
// and then calls PostDetails. It implements schedule.Notifier.
func (b *Bot) PostSummary(ctx context.Context, s schedule.Summary) (schedule.Posted, error) {
	msgs, err := slackrender.SummaryThread(s, time.UTC)
	if err != nil {
		return "", fmt.Errorf("render the summary of %s: %w", s.Schedule.Name, err)
	}
	channel := s.Schedule.Channel
	ts, err := b.post(ctx, channel, "", msgs[0])
	if err != nil {
		return "", fmt.Errorf("post the summary of %s: %w", s.Schedule.Name, err)
	}
	for _, inc := range s.Incidents {
		b.places.remember(inc.ID, channel, ts)
	}
	return postedAt(channel, ts), nil
}

// PostDetails posts the per-host replies of a fleet run's summary in the thread
// of its parent, which PostSummary posted at at, attaches every host as a file
// when the replies could not hold them (a fleet of thousands), and refreshes
// the App Home tabs. A reply that cannot be posted does not stop the others; the error names
// how many were not posted. It implements schedule.Notifier.
func (b *Bot) PostDetails(ctx context.Context, s schedule.Summary, at schedule.Posted) error {
	defer b.refreshHome(ctx)
	channel, threadTS, err := parsePosted(at)
	if err != nil {
		return fmt.Errorf("post the details of the summary of %s: %w", s.Schedule.Name, err)
	}
	msgs, err := slackrender.SummaryThread(s, time.UTC)
	if err != nil {
		return fmt.Errorf("render the summary of %s: %w", s.Schedule.Name, err)
	}
	var (
		failed int
		first  error
	)
	for i, m := range msgs[1:] {
		if _, err := b.post(ctx, channel, threadTS, m); err != nil {
			b.log.Error("summary detail not posted", "schedule", s.Schedule.Name, "reply", i+1, "err", err)
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if len(msgs) > 1 && msgs[len(msgs)-1].Truncated {
		md := slackrender.SummaryMarkdown(s, time.UTC)
		if err := b.uploadFile(ctx, channel, threadTS, slackrender.SummaryFileName(s), "authtriage fleet health: "+display.Line(s.Schedule.Name), md); err != nil {
			b.log.Error("summary file not attached", "schedule", s.Schedule.Name, "err", err)
			return fmt.Errorf("attach every host of the summary of %s: %w", s.Schedule.Name, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d replies of the summary of %s not posted: %w", failed, len(msgs)-1, s.Schedule.Name, first)
	}
	return nil
}
