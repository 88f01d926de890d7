package slackrender

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func TestValidate(t *testing.T) {
	ok := func() Message {
		return Message{Text: "CRITICAL sqlhost01", Blocks: []slack.Block{
			header("dc.unreachable"), section("text"), slack.NewContextBlock("", mrkdwn("Report `7kq2m9xd`")),
		}}
	}
	many := func(n int, b func() slack.Block) []slack.Block {
		var out []slack.Block
		for range n {
			out = append(out, b())
		}
		return out
	}
	button := func(action, value, text string) slack.BlockElement {
		return slack.NewButtonBlockElement(action, value, plain(text))
	}
	ctxEls := func(n int) []slack.MixedElement {
		var out []slack.MixedElement
		for range n {
			out = append(out, mrkdwn("x"))
		}
		return out
	}
	tests := []struct {
		name string
		edit func(m *Message)
		want string // "" for valid
	}{
		{"valid", func(*Message) {}, ""},
		{"3000 characters of section text", func(m *Message) { m.Blocks[1] = section(strings.Repeat("é", 3000)) }, ""},
		{"1500 emoji are 3000 UTF-16 units", func(m *Message) { m.Blocks[1] = section(strings.Repeat("🔴", 1500)) }, ""},
		{"50 blocks", func(m *Message) { m.Blocks = many(50, func() slack.Block { return slack.NewDividerBlock() }) }, ""},
		{"empty text", func(m *Message) { m.Text = " \n" }, "text (the notification fallback) is empty"},
		{"long text", func(m *Message) { m.Text = strings.Repeat("a", MaxText+1) }, "text is 4001 characters; at most 4000"},
		{"51 blocks", func(m *Message) { m.Blocks = many(51, func() slack.Block { return slack.NewDividerBlock() }) }, "51 blocks; at most 50"},
		{"nil block", func(m *Message) { m.Blocks[1] = nil }, "block 1 is nil"},
		{"section text 3001", func(m *Message) { m.Blocks[1] = section(strings.Repeat("a", 3001)) }, "block 1 (section): text is 3001 characters; at most 3000"},
		{"1501 emoji", func(m *Message) { m.Blocks[1] = section(strings.Repeat("🔴", 1501)) }, "text is 3002 characters"},
		{"empty section text", func(m *Message) { m.Blocks[1] = section("") }, "block 1 (section): text is empty"},
		{"section without text or fields", func(m *Message) { m.Blocks[1] = slack.NewSectionBlock(nil, nil, nil) }, "has neither text nor fields"},
		{"11 fields", func(m *Message) {
			var fs []*slack.TextBlockObject
			for range 11 {
				fs = append(fs, mrkdwn("f"))
			}
			m.Blocks[1] = slack.NewSectionBlock(nil, fs, nil)
		}, "11 fields; at most 10"},
		{"field 2001", func(m *Message) {
			m.Blocks[1] = slack.NewSectionBlock(nil, []*slack.TextBlockObject{mrkdwn(strings.Repeat("a", 2001))}, nil)
		}, "field 0 is 2001 characters; at most 2000"},
		{"bad text type", func(m *Message) {
			m.Blocks[1] = slack.NewSectionBlock(&slack.TextBlockObject{Type: "markdown", Text: "x"}, nil, nil)
		}, `has type "markdown"`},
		{"header 151", func(m *Message) { m.Blocks[0] = slack.NewHeaderBlock(plain(strings.Repeat("a", 151))) }, "block 0 (header): text is 151 characters; at most 150"},
		{"mrkdwn header", func(m *Message) { m.Blocks[0] = slack.NewHeaderBlock(mrkdwn("a")) }, "text must be plain_text"},
		{"context with 11 elements", func(m *Message) { m.Blocks[2] = slack.NewContextBlock("", ctxEls(11)...) }, "11 elements; want 1 to 10"},
		{"empty context", func(m *Message) { m.Blocks[2] = slack.NewContextBlock("") }, "0 elements; want 1 to 10"},
		{"button text 76", func(m *Message) {
			m.Blocks = append(m.Blocks, slack.NewActionBlock("", button("rerun", "x", strings.Repeat("b", 76))))
		}, "element 0 text is 76 characters; at most 75"},
		{"action_id 256", func(m *Message) {
			m.Blocks = append(m.Blocks, slack.NewActionBlock("", button(strings.Repeat("a", 256), "x", "Go")))
		}, "action_id is 256 characters; at most 255"},
		{"value 256", func(m *Message) {
			m.Blocks = append(m.Blocks, slack.NewActionBlock("", button("rerun", strings.Repeat("v", 256), "Go")))
		}, "value is 256 characters; at most 255"},
		{"action_id twice", func(m *Message) {
			m.Blocks = append(m.Blocks, slack.NewActionBlock("", button("rerun", "x", "Go"), button("rerun", "y", "Again")))
		}, `action_id "rerun" is used twice`},
		{"26 buttons", func(m *Message) {
			var els []slack.BlockElement
			for i := range 26 {
				els = append(els, button(strings.Repeat("a", i+1), "x", "Go"))
			}
			m.Blocks = append(m.Blocks, slack.NewActionBlock("", els...))
		}, "26 elements; at most 25"},
		{"empty actions", func(m *Message) { m.Blocks = append(m.Blocks, slack.NewActionBlock("")) }, "has no elements"},
		{"block_id twice", func(m *Message) {
			m.Blocks = append(m.Blocks, slack.NewDividerBlock(), slack.NewDividerBlock())
			m.Blocks[3].(*slack.DividerBlock).BlockID = "d"
			m.Blocks[4].(*slack.DividerBlock).BlockID = "d"
		}, `block_id "d" is used twice`},
		{"block_id 256", func(m *Message) {
			m.Blocks[1] = slack.NewSectionBlock(mrkdwn("x"), nil, nil, slack.SectionBlockOptionBlockID(strings.Repeat("i", 256)))
		}, "block_id is 256 characters; at most 255"},
		{"message over 16 KB", func(m *Message) {
			m.Blocks = many(6, func() slack.Block { return section(strings.Repeat("é", 3000)) })
		}, "message JSON is"},
		{"escaped characters count in the JSON size", func(m *Message) {
			m.Blocks = many(3, func() slack.Block { return section(strings.Repeat("&lt;", 750)) })
		}, "message JSON is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok()
			tt.edit(&m)
			err := Validate(m)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v; want no error", err)
			case tt.want != "" && err == nil:
				t.Errorf("Validate: no error; want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Validate: %v; want %q", err, tt.want)
			}
		})
	}
}

// TestValidateValueBlocks checks that blocks passed by value are checked too.
func TestValidateValueBlocks(t *testing.T) {
	m := Message{Text: "x", Blocks: []slack.Block{*slack.NewSectionBlock(mrkdwn(strings.Repeat("a", 3001)), nil, nil)}}
	if err := Validate(m); err == nil || !strings.Contains(err.Error(), "3001") {
		t.Errorf("Validate of a section by value: %v; want the text length reported", err)
	}
}

func TestValidateReportsAll(t *testing.T) {
	m := Message{Text: "", Blocks: []slack.Block{section(""), slack.NewHeaderBlock(plain(strings.Repeat("a", 200)))}}
	err := Validate(m)
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Errorf("Validate reported %d problems; want 3:\n%v", n, err)
	}
}
