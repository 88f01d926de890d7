package slackrender

import (
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// FuzzThread renders reports decoded from arbitrary JSON and checks that Thread never
// panics, that every thread it returns has the properties checkThread checks, and
// that the other renderers take any report. The JSON's "front_ends", when it has
// them, are the thread's FrontEnds.
func FuzzThread(f *testing.F) {
	if b, err := os.ReadFile("testdata/demo.json"); err == nil {
		f.Add(b, uint8(1))
	}
	for _, rep := range []triage.Report{okReport(), unknownReport(), hostileReport(), longReport(), frontEndReport(), backEndReport()} {
		b, err := json.Marshal(rep)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(7))
	}
	f.Add([]byte(`{"id":"x","findings":[{"cause":"<!channel>","severity":"critical","evidence":[{"text":"`+"```"+`"}]}]}`), uint8(3))
	f.Add([]byte(`{}`), uint8(0))
	f.Add([]byte(`{"id":"x","host":"sqlbe","delegation":{"paths":[{"front_end":"<!here>","account":"a`+"```"+`","back_end":"sqlbe"}]},`+
		`"front_ends":[{"Host":"<@U1>","ReportID":"&","Status":"critical","Link":"https://x.example/a"},{"Host":"b","Unread":true}]}`), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		var rep triage.Report
		if err := json.Unmarshal(data, &rep); err != nil {
			return
		}
		var extra struct {
			FrontEnds []FrontEnd `json:"front_ends"`
		}
		_ = json.Unmarshal(data, &extra) // data is a report; front_ends are optional
		opt := ThreadOptions{Buttons: flags&1 != 0, Progress: flags&2 != 0, MaxMessages: int(flags >> 2), FrontEnds: extra.FrontEnds}
		msgs, err := Thread(rep, opt)
		if err != nil {
			if rep.ID != "" && !(opt.Buttons && textLen(rep.ID) > MaxButtonValue) {
				t.Fatalf("Thread: %v", err)
			}
			return
		}
		checkThread(t, rep, opt, msgs)
		_ = ThreadText(msgs)
		if err := BlocksJSON(io.Discard, msgs); err != nil {
			t.Fatalf("BlocksJSON: %v", err)
		}
	})
}
