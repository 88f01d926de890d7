package slackrender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/slack-go/slack"
)

// BlocksJSON writes the thread as `authtriage check --output blocks` prints it: one
// JSON object {"blocks":[...]} per line, a message each, the parent first, each line
// ready to paste into Slack's Block Kit Builder. The fallback texts are left out, as
// the builder takes only blocks.
func BlocksJSON(w io.Writer, msgs []Message) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, m := range msgs {
		blocks := m.Blocks
		if blocks == nil {
			blocks = []slack.Block{}
		}
		if err := enc.Encode(struct {
			Blocks []slack.Block `json:"blocks"`
		}{blocks}); err != nil {
			return fmt.Errorf("encode message %d: %w", i, err)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
