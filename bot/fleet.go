package bot

import (
	"context"
	"fmt"
	"time"

	"authtriage/schedule"
)

// PostSummary posts a fleet run's summary to the schedule's channel, its per-host
// details in the summary's thread, and refreshes the App Home tabs. It returns
// where the summary is, for the run's record. It implements schedule.Notifier.
func (b *Bot) PostSummary(ctx context.Context, s schedule.Summary) (channel, threadTS string, err error) {
	msgs, err := SummaryThread(s, time.UTC)
	if err != nil {
		return "", "", fmt.Errorf("render the summary of %s: %w", s.Schedule.Name, err)
	}
	channel = s.Schedule.Channel
	ts, err := b.post(ctx, channel, "", msgs[0])
	if err != nil {
		return "", "", fmt.Errorf("post the summary of %s: %w", s.Schedule.Name, err)
	}
	for i, m := range msgs[1:] {
		if _, err := b.post(ctx, channel, ts, m); err != nil {
			b.log.Error("summary detail not posted", "schedule", s.Schedule.Name, "reply", i+1, "err", err)
		}
	}
	b.refreshHome(ctx)
	return channel, ts, nil
}
