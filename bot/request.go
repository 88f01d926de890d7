package bot

import (
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// An Origin is how a request reached the bot.
type Origin string

const (
	FromSlash   Origin = "slash"   // the /authtriage slash command
	FromMention Origin = "mention" // @authtriage in a channel
	FromDM      Origin = "dm"      // a direct message to the bot
	FromButton  Origin = "button"  // a button or select on one of the bot's messages
)

// A Request is one thing someone asked of the bot, whichever way it came: the one
// pipeline that parses, authorizes, de-duplicates, audits and answers it starts
// here. Transports (HTTP, Socket Mode) only build Requests.
type Request struct {
	Origin Origin
	// Text is the command as Slack sent it: the slash command's text, or the
	// message's text, Slack's markup and all (commandText decodes it).
	Text string
	// Action and Value are the action ID and value of a button, or the channel
	// picked in a conversations select (Origin FromButton).
	Action, Value string
	// Block is the block ID of the clicked element (FromButton).
	Block   string
	User    string // Slack user ID of who asked
	Channel string // channel ID where they asked ("D…" for a direct message)
	// ThreadTS is the thread the request was made in; "" at the top level.
	ThreadTS string
	// MessageTS is the message that made the request (mentions, DMs) or that holds
	// the clicked button.
	MessageTS   string
	ResponseURL string // slash commands and buttons: where to answer the user
	TriggerID   string
	// Key identifies this delivery for de-duplication: Slack delivers retries and
	// the same message in two subscriptions (app_mention and message.im) under the
	// same Key. "" means never de-duplicated.
	Key      string
	Received time.Time
}

// fromSlash returns the request of a slash command. Its trigger ID is unique per
// invocation, so it is the delivery's key.
func fromSlash(s slack.SlashCommand, now time.Time) Request {
	return Request{
		Origin: FromSlash, Text: s.Text, User: s.UserID, Channel: s.ChannelID,
		ResponseURL: s.ResponseURL, TriggerID: s.TriggerID,
		Key: keyOf("slash", s.TriggerID), Received: now,
	}
}

// fromEvent returns the request an Events API callback carries, and false for
// events that are not requests: messages from bots (the bot's own included),
// edits and other message subtypes, channel messages (only app_mention counts
// there) and event types the bot does not handle. botUser is the bot's user ID.
// The key is the message's channel and ts, not the event ID, so an @mention in a
// DM, which arrives both as app_mention and as message.im, runs once.
func fromEvent(ev slackevents.EventsAPIEvent, botUser string, now time.Time) (Request, bool) {
	if ev.Type != slackevents.CallbackEvent {
		return Request{}, false
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if e.BotID != "" || e.User == "" || e.User == botUser {
			return Request{}, false
		}
		origin := FromMention
		if strings.HasPrefix(e.Channel, "D") {
			origin = FromDM
		}
		return Request{
			Origin: origin, Text: e.Text, User: e.User, Channel: e.Channel,
			ThreadTS: e.ThreadTimeStamp, MessageTS: e.TimeStamp,
			Key: keyOf("msg", e.Channel, e.TimeStamp), Received: now,
		}, true
	case *slackevents.MessageEvent:
		if e.ChannelType != "im" || e.BotID != "" || e.SubType != "" || e.User == "" || e.User == botUser {
			return Request{}, false
		}
		return Request{
			Origin: FromDM, Text: e.Text, User: e.User, Channel: e.Channel,
			ThreadTS: e.ThreadTimeStamp, MessageTS: e.TimeStamp,
			Key: keyOf("msg", e.Channel, e.TimeStamp), Received: now,
		}, true
	}
	return Request{}, false
}

// fromInteraction returns the request of a click on one of the bot's buttons or
// selects, and false for other interactions. Only the first action counts; Slack
// sends one per click.
func fromInteraction(cb slack.InteractionCallback, now time.Time) (Request, bool) {
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) == 0 {
		return Request{}, false
	}
	a := cb.ActionCallback.BlockActions[0]
	value := a.Value
	if a.SelectedConversation != "" {
		value = a.SelectedConversation
	}
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	return Request{
		Origin: FromButton, Action: a.ActionID, Value: value, Block: a.BlockID,
		User: cb.User.ID, Channel: channel,
		ThreadTS: cb.Container.ThreadTs, MessageTS: cb.Container.MessageTs,
		ResponseURL: cb.ResponseURL, TriggerID: cb.TriggerID,
		Key: keyOf("action", cb.TriggerID), Received: now,
	}, true
}

// keyOf joins parts into a de-duplication key, or returns "" when a part is
// missing (such a request is never taken for a duplicate).
func keyOf(parts ...string) string {
	for _, p := range parts {
		if p == "" {
			return ""
		}
	}
	return strings.Join(parts, ":")
}
