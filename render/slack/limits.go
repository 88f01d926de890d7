package slackrender

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/slack-go/slack"
)

// Slack's limits on a message posted with chat.postMessage, which Slack enforces by
// rejecting the message (invalid_blocks, msg_too_long) and test fakes do not enforce
// at all, so our code does: Thread keeps within them and Validate checks them.
//
// Sources (Slack's reference pages, docs.slack.dev, formerly api.slack.com):
//   - blocks per message: https://docs.slack.dev/reference/block-kit/blocks
//     ("You can include up to 50 blocks in each message")
//   - section text 3000, fields 10 of 2000 each, block_id 255:
//     https://docs.slack.dev/reference/block-kit/blocks/section-block
//   - header text 150, plain_text only:
//     https://docs.slack.dev/reference/block-kit/blocks/header-block
//   - context elements 10: https://docs.slack.dev/reference/block-kit/blocks/context-block
//   - actions elements 25: https://docs.slack.dev/reference/block-kit/blocks/actions-block
//   - button text 75, action_id 255, value 2000, url 3000:
//     https://docs.slack.dev/reference/block-kit/block-elements/button-element
//   - text objects need at least 1 character:
//     https://docs.slack.dev/reference/block-kit/composition-objects/text-object
//   - message text is truncated beyond 40,000 characters and should stay under 4,000:
//     https://docs.slack.dev/reference/methods/chat.postMessage ("Truncating content"),
//     https://api.slack.com/changelog/2018-04-truncating-really-long-messages
//
// Slack counts characters; we count UTF-16 code units (as JavaScript does), which
// is never fewer than Unicode characters, so a text we accept Slack accepts.
const (
	MaxBlocks          = 50
	MaxSectionText     = 3000
	MaxSectionFields   = 10
	MaxFieldText       = 2000
	MaxHeaderText      = 150
	MaxContextElements = 10
	MaxActionElements  = 25
	MaxButtonText      = 75
	MaxActionID        = 255
	MaxBlockID         = 255
	MaxURL             = 3000
	// MaxButtonValue is ours: Slack allows 2000, our values are report IDs, and 255
	// keeps them in line with action_id.
	MaxButtonValue = 255
	// MaxText is Slack's recommended maximum for a message's text, a tenth of the
	// 40,000 at which Slack truncates. Thread's fallback texts stay under 300.
	MaxText = 4000
	// MaxMessageBytes is ours: the size of a message's JSON ({"text":...,"blocks":[...]},
	// as encoding/json writes it). Slack documents no byte limit for chat.postMessage,
	// but Socket Mode refuses response payloads of 20 KB or more (slack-go v0.21.0 on,
	// see research/chatops.md C.2), and a message may travel as one. 16 KB leaves room
	// for the envelope and keeps every message well within what Slack renders.
	MaxMessageBytes = 16 << 10
)

// Validate checks a message against Slack's limits and ours (see MaxBlocks and the
// constants after it). It returns every problem found, joined. Section, header,
// context, actions and divider blocks are checked in full, as are buttons; blocks of
// other types are only counted and measured.
func Validate(m Message) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch n := textLen(m.Text); {
	case isBlank(m.Text):
		bad("text (the notification fallback) is empty")
	case n > MaxText:
		bad("text is %d characters; at most %d", n, MaxText)
	}
	if len(m.Blocks) > MaxBlocks {
		bad("%d blocks; at most %d", len(m.Blocks), MaxBlocks)
	}
	blockIDs := map[string]bool{}
	for i, b := range m.Blocks {
		if b == nil {
			bad("block %d is nil", i)
			continue
		}
		where := fmt.Sprintf("block %d (%s)", i, b.BlockType())
		if id := b.ID(); id != "" {
			if textLen(id) > MaxBlockID {
				bad("%s: block_id is %d characters; at most %d", where, textLen(id), MaxBlockID)
			}
			if blockIDs[id] {
				bad("%s: block_id %q is used twice", where, id)
			}
			blockIDs[id] = true
		}
		for _, err := range validateBlock(b) {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if n, err := messageSize(m); err != nil {
		bad("cannot encode as JSON: %v", err)
	} else if n > MaxMessageBytes {
		bad("message JSON is %d bytes; at most %d", n, MaxMessageBytes)
	}
	return errors.Join(errs...)
}

func validateBlock(b slack.Block) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	text := func(what string, t *slack.TextBlockObject, max int, plainOnly bool) {
		switch {
		case t == nil:
			bad("%s is missing", what)
		case t.Type != slack.PlainTextType && t.Type != slack.MarkdownType:
			bad("%s has type %q; want plain_text or mrkdwn", what, t.Type)
		case plainOnly && t.Type != slack.PlainTextType:
			bad("%s must be plain_text", what)
		case isBlank(t.Text):
			bad("%s is empty", what)
		case textLen(t.Text) > max:
			bad("%s is %d characters; at most %d", what, textLen(t.Text), max)
		}
	}
	switch b := b.(type) {
	case *slack.SectionBlock:
		validateSection(b, text, bad)
	case slack.SectionBlock:
		validateSection(&b, text, bad)
	case *slack.HeaderBlock:
		text("text", b.Text, MaxHeaderText, true)
	case slack.HeaderBlock:
		text("text", b.Text, MaxHeaderText, true)
	case *slack.ContextBlock:
		validateContext(b, text, bad)
	case slack.ContextBlock:
		validateContext(&b, text, bad)
	case *slack.ActionBlock:
		validateActions(b, text, bad)
	case slack.ActionBlock:
		validateActions(&b, text, bad)
	}
	return errs
}

type textCheck func(what string, t *slack.TextBlockObject, max int, plainOnly bool)
type problem func(format string, args ...any)

func validateSection(b *slack.SectionBlock, text textCheck, bad problem) {
	if b.Text == nil && len(b.Fields) == 0 {
		bad("has neither text nor fields")
	}
	if b.Text != nil {
		text("text", b.Text, MaxSectionText, false)
	}
	if len(b.Fields) > MaxSectionFields {
		bad("%d fields; at most %d", len(b.Fields), MaxSectionFields)
	}
	for i, f := range b.Fields {
		text(fmt.Sprintf("field %d", i), f, MaxFieldText, false)
	}
	if b.Accessory != nil && b.Accessory.ButtonElement != nil {
		validateButton("accessory", b.Accessory.ButtonElement, text, bad)
	}
}

func validateContext(b *slack.ContextBlock, text textCheck, bad problem) {
	els := b.ContextElements.Elements
	if len(els) == 0 || len(els) > MaxContextElements {
		bad("%d elements; want 1 to %d", len(els), MaxContextElements)
	}
	for i, e := range els {
		switch t := e.(type) {
		case *slack.TextBlockObject:
			text(fmt.Sprintf("element %d", i), t, MaxSectionText, false)
		case slack.TextBlockObject:
			text(fmt.Sprintf("element %d", i), &t, MaxSectionText, false)
		}
	}
}

func validateActions(b *slack.ActionBlock, text textCheck, bad problem) {
	if b.Elements == nil || len(b.Elements.ElementSet) == 0 {
		bad("has no elements")
		return
	}
	els := b.Elements.ElementSet
	if len(els) > MaxActionElements {
		bad("%d elements; at most %d", len(els), MaxActionElements)
	}
	ids := map[string]bool{}
	for i, e := range els {
		btn, ok := e.(*slack.ButtonBlockElement)
		if !ok {
			continue
		}
		where := fmt.Sprintf("element %d", i)
		validateButton(where, btn, text, bad)
		if btn.ActionID != "" {
			if ids[btn.ActionID] {
				bad("%s: action_id %q is used twice", where, btn.ActionID)
			}
			ids[btn.ActionID] = true
		}
	}
}

func validateButton(where string, btn *slack.ButtonBlockElement, text textCheck, bad problem) {
	text(where+" text", btn.Text, MaxButtonText, true)
	if n := textLen(btn.ActionID); n > MaxActionID {
		bad("%s: action_id is %d characters; at most %d", where, n, MaxActionID)
	}
	if n := textLen(btn.Value); n > MaxButtonValue {
		bad("%s: value is %d characters; at most %d", where, n, MaxButtonValue)
	}
	if n := textLen(btn.URL); n > MaxURL {
		bad("%s: url is %d characters; at most %d", where, n, MaxURL)
	}
}

// messageSize returns the length of the message's JSON as slack-go sends it
// (encoding/json, which escapes <, > and & as \u003c and so on).
func messageSize(m Message) (int, error) {
	b, err := json.Marshal(struct {
		Text   string        `json:"text"`
		Blocks []slack.Block `json:"blocks"`
	}{m.Text, m.Blocks})
	return len(b), err
}

// textLen returns the length of s in UTF-16 code units.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func isBlank(s string) bool {
	for _, r := range s {
		if !isSpace(r) {
			return false
		}
	}
	return true
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\u00a0', '\u200b', '\u2028', '\u2029', '\u3000', '\ufeff':
		return true
	}
	return r >= '\u2000' && r <= '\u200a'
}
