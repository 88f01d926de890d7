package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	slackrender "github.com/authtriage/authtriage/render/slack"
)

// call runs one Slack Web API call. When Slack answers 429, it waits the
// Retry-After Slack asked for and calls again, for as long as ctx allows: a rate
// limit delays a post, it does not drop it. A 5xx answer is retried twice after 1
// and 2 seconds. Other errors are logged with the method and returned.
func (b *Bot) call(ctx context.Context, method string, f func(ctx context.Context) error) error {
	serverRetries := 0
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		var rl *slack.RateLimitedError
		var sc slack.StatusCodeError
		wait := time.Duration(0)
		switch {
		case errors.As(err, &rl):
			wait = min(max(rl.RetryAfter, time.Second), 5*time.Minute)
		case errors.As(err, &sc) && sc.Code == 429: // a 429 without Retry-After
			wait = time.Second
		case errors.As(err, &sc) && sc.Code >= 500 && serverRetries < 2:
			serverRetries++
			wait = time.Duration(serverRetries) * time.Second
		}
		logged := any(err)
		if method == "response_url" {
			logged = errorLabel(err) // the error may quote the URL, which lets anyone post to the user
		}
		if wait == 0 {
			b.metrics.apiErrors.WithLabelValues(method, errorLabel(err)).Inc()
			b.log.ErrorContext(ctx, "Slack API call failed", "method", method, "err", logged)
			return fmt.Errorf("slack %s: %w", method, err)
		}
		b.metrics.apiRetries.WithLabelValues(method).Inc()
		b.log.WarnContext(ctx, "Slack API call to be retried", "method", method, "wait", wait, "err", logged)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			b.metrics.apiErrors.WithLabelValues(method, "gave_up").Inc()
			b.log.ErrorContext(ctx, "Slack API call given up while waiting to retry", "method", method, "err", logged)
			return fmt.Errorf("slack %s: %w (gave up waiting to retry: %w)", method, err, ctx.Err())
		case <-t.C:
		}
	}
}

// postCtx returns the context posts run in: not cancelled with the request's
// work (a triage cancelled at shutdown still posts what it has), but bounded by
// PostTimeout.
func (b *Bot) postCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.o.PostTimeout)
	stop := context.AfterFunc(b.hard, cancel)
	return ctx, func() { stop(); cancel() }
}

// storeTimeout bounds one look-up in the store, so that a store that hangs
// (a database out of reach) holds a worker for seconds, not minutes.
const storeTimeout = 10 * time.Second

// storeCtx returns the context of one look-up in the store.
func storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, storeTimeout)
}

// msgOptions returns the options that post m: its blocks and fallback text, with
// link unfurling off (Learn links would unfurl into large previews).
func msgOptions(m slackrender.Message) []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
}

// post posts m to channel, in the thread threadTS when that is set, and returns
// the new message's ts.
func (b *Bot) post(ctx context.Context, channel, threadTS string, m slackrender.Message) (string, error) {
	ctx, cancel := b.postCtx(ctx)
	defer cancel()
	opts := msgOptions(m)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	var ts string
	err := b.call(ctx, "chat.postMessage", func(ctx context.Context) error {
		var err error
		_, ts, err = b.o.API.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

// update replaces the message ts in channel with m.
func (b *Bot) update(ctx context.Context, channel, ts string, m slackrender.Message) error {
	ctx, cancel := b.postCtx(ctx)
	defer cancel()
	return b.call(ctx, "chat.update", func(ctx context.Context) error {
		_, _, _, err := b.o.API.UpdateMessageContext(ctx, channel, ts, msgOptions(m)...)
		return err
	})
}

// tell answers the person who made req so that only they see it: through the
// slash command's or button's response URL when there is one (it works in
// channels the bot is not in), else as an ephemeral message in the channel and
// thread where they asked.
func (b *Bot) tell(ctx context.Context, req Request, r Reply) {
	if r.empty() {
		return
	}
	ctx, cancel := b.postCtx(ctx)
	defer cancel()
	opts := []slack.MsgOption{slack.MsgOptionText(r.Text, false), slack.MsgOptionDisableLinkUnfurl()}
	if len(r.Blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(r.Blocks...))
	}
	var err error
	if req.ResponseURL != "" {
		opts = append(opts, slack.MsgOptionResponseURL(req.ResponseURL, slack.ResponseTypeEphemeral))
		err = b.call(ctx, "response_url", func(ctx context.Context) error {
			_, _, err := b.o.API.PostMessageContext(ctx, req.Channel, opts...)
			return err
		})
	} else {
		if req.ThreadTS != "" {
			opts = append(opts, slack.MsgOptionTS(req.ThreadTS))
		}
		err = b.call(ctx, "chat.postEphemeral", func(ctx context.Context) error {
			_, err := b.o.API.PostEphemeralContext(ctx, req.Channel, req.User, opts...)
			return err
		})
	}
	if err != nil {
		b.log.Error("could not answer the user", "user", req.User, "channel", req.Channel, "err", errorText(err))
	}
}
