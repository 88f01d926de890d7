package sqlserver

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name    string
		buffer  string
		text    string
		want    ringRecord
		wantErr bool
	}{
		{
			name:   "security error",
			buffer: bufferSecurity,
			text: `<Record id="7" type="RING_BUFFER_SECURITY_ERROR" time="4940000"><Error><SPID>57</SPID>` +
				`<APIName>AcceptSecurityContext</APIName><CallingAPIName>NLShimImpersonate</CallingAPIName>` +
				`<ErrorCode>0x8009030C</ErrorCode></Error></Record>`,
			want: ringRecord{Buffer: bufferSecurity, API: "AcceptSecurityContext", CallingAPI: "NLShimImpersonate", Code: "0x8009030c"},
		},
		{
			name:   "security error with a short code, nested otherwise",
			buffer: bufferSecurity,
			text:   `<Record><Other><Error><ErrorCode>0x8C5</ErrorCode><APIName>NetValidatePwdPolicy</APIName></Error></Other></Record>`,
			want:   ringRecord{Buffer: bufferSecurity, API: "NetValidatePwdPolicy", Code: "0x8c5"},
		},
		{
			name:   "connectivity error",
			buffer: bufferConnectivity,
			text: `<Record id="5577586" type="RING_BUFFER_CONNECTIVITY" time="9300997329"><ConnectivityTraceRecord>` +
				`<RecordType>Error</RecordType><RecordSource>Tds</RecordSource><Spid>80</Spid>` +
				`<SniConnectionId>4bbb38fe-b46a-4d6e-917f-5d473464448b</SniConnectionId><OSError>0</OSError>` +
				`<SniConsumerError>18456</SniConsumerError><State>8</State><RemoteHost>10.0.0.9</RemoteHost>` +
				`<RemotePort>51234</RemotePort></ConnectivityTraceRecord></Record>`,
			want: ringRecord{Buffer: bufferConnectivity, RecordType: "Error", Number: 18456, State: 8, Client: "10.0.0.9",
				Conn: "4BBB38FE-B46A-4D6E-917F-5D473464448B"},
		},
		{
			name:   "login timers with an OS error, first element of each name",
			buffer: bufferConnectivity,
			text: `<Record><ConnectivityTraceRecord><RecordType>LoginTimers</RecordType><OSError>10054</OSError>` +
				`<SniConnectionId>00000000-0000-0000-0000-000000000000</SniConnectionId>` +
				`<SniConsumerError>17830</SniConsumerError><State>11</State><RemoteHost>&lt;local machine&gt;</RemoteHost>` +
				`<LoginTimers><SspiProcessingInMilliseconds> 14998 </SspiProcessingInMilliseconds></LoginTimers>` +
				`<State>99</State></ConnectivityTraceRecord></Record>`,
			want: ringRecord{Buffer: bufferConnectivity, RecordType: "LoginTimers", Number: 17830, State: 11,
				SSPIMillis: 14998, Code: "0x2746", Client: "<local machine>"},
		},
		{
			name:   "values that are not numbers are zero",
			buffer: bufferConnectivity,
			text: `<Record><ConnectivityTraceRecord><RecordType>Error</RecordType><SniConsumerError>x</SniConsumerError>` +
				`<State>99999999999</State><SspiProcessingInMilliseconds>-5</SspiProcessingInMilliseconds></ConnectivityTraceRecord></Record>`,
			want: ringRecord{Buffer: bufferConnectivity, RecordType: "Error"},
		},
		{
			name:   "long text is cut",
			buffer: bufferSecurity,
			text:   `<Record><APIName>` + strings.Repeat("A", 1000) + `</APIName></Record>`,
			want:   ringRecord{Buffer: bufferSecurity, API: strings.Repeat("A", maxField)},
		},
		{name: "another root", buffer: bufferSecurity, text: `<Other/>`, wantErr: true},
		{name: "empty", buffer: bufferSecurity, text: ``, wantErr: true},
		{name: "unclosed", buffer: bufferSecurity, text: `<Record><Error>`, wantErr: true},
		{name: "two roots", buffer: bufferSecurity, text: `<Record/><Record/>`, wantErr: true},
		{name: "text after the root", buffer: bufferSecurity, text: `<Record/>junk`, wantErr: true},
		{name: "DOCTYPE", buffer: bufferSecurity, text: `<!DOCTYPE Record [<!ENTITY a "b">]><Record>&a;</Record>`, wantErr: true},
		{name: "unknown entity", buffer: bufferSecurity, text: `<Record><APIName>&a;</APIName></Record>`, wantErr: true},
		{name: "other charset", buffer: bufferSecurity, text: `<?xml version="1.0" encoding="ISO-8859-1"?><Record/>`, wantErr: true},
		{name: "too deep", buffer: bufferSecurity, text: `<Record>` + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + `</Record>`, wantErr: true},
		{name: "too long", buffer: bufferSecurity, text: `<Record>` + strings.Repeat(" ", maxRecordBytes) + `</Record>`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRecord(tt.buffer, tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseRecord error = %v; want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseRecord (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHexCode(t *testing.T) {
	for in, want := range map[string]string{
		"0x8009030C": "0x8009030c", "0X8C5": "0x8c5", "2245": "0x8c5", "-2146893044": "0x8009030c",
		"0": "", "0x0": "", "": "", "0x": "", "0x1FFFFFFFF": "", "4294967296": "", "abc": "",
	} {
		if got := hexCode(in); got != want {
			t.Errorf("hexCode(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestRecordTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		ticks, stamp int64
		want         time.Time
	}{
		{5_000_000, 4_940_000, now.Add(-time.Minute)},
		{5_000_000, 5_000_000, now},
		{5_000_000, 6_000_000, now}, // stamped after the tick count was read: now
		{1 << 62, 0, now},           // older than anything believable: now
		{int64(maxAge) * 3_600_000, 0, now.Add(-time.Duration(maxAge) * time.Hour)},
	} {
		if got := recordTime(now, tt.ticks, tt.stamp); !got.Equal(tt.want) {
			t.Errorf("recordTime(now, %d, %d) = %v; want %v", tt.ticks, tt.stamp, got, tt.want)
		}
	}
}

func TestGroupRecordsClients(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	var recs []ringRecord
	for i := range 80 {
		recs = append(recs, ringRecord{Buffer: bufferConnectivity, RecordType: "Error", Number: 18456, State: 8,
			Client: "10.0." + string(rune('0'+i/10)) + "." + string(rune('0'+i%10)), Time: now.Add(time.Duration(i) * time.Second)})
	}
	got := groupRecords("SALES", recs)
	if len(got) != 1 || got[0].Count != 80 || len(got[0].Clients) != 50 || got[0].Clients[0] != "10.0.0.0" ||
		!got[0].First.Equal(now) || !got[0].Last.Equal(now.Add(79*time.Second)) {
		t.Errorf("groupRecords = %+v; want one group of 80 with the first 50 clients", got)
	}
	if groupRecords("SALES", nil) != nil {
		t.Error("groupRecords of nothing is not nil")
	}
}

func TestGroupRecordsConnection(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	rec := func(typ, conn string, sspi int, at time.Duration) ringRecord {
		return ringRecord{Buffer: bufferConnectivity, RecordType: typ, Number: 17830, State: 11, SSPIMillis: sspi,
			Client: "10.0.0.9", Conn: conn, Time: now.Add(at)}
	}
	got := groupRecords("SALES", []ringRecord{
		rec("Error", "A", 0, 0),
		rec("LoginTimers", "A", 14998, time.Millisecond), // the same failed login
		rec("LoginTimers", "B", 12000, time.Minute),
		rec("Error", "", 0, 2*time.Minute), // no connection id: counts alone
		rec("Error", "", 0, 3*time.Minute),
	})
	want := []triageEvent{{Count: 4, SSPIMillis: 14998, First: now, Last: now.Add(3 * time.Minute)}}
	var gotShort []triageEvent
	for _, ev := range got {
		gotShort = append(gotShort, triageEvent{ev.Count, ev.SSPIMillis, ev.First, ev.Last})
	}
	if diff := cmp.Diff(want, gotShort); diff != "" {
		t.Errorf("groupRecords (-want +got):\n%s", diff)
	}
}

// triageEvent is the part of a triage.RingBufferEvent TestGroupRecordsConnection checks.
type triageEvent struct {
	Count, SSPIMillis int
	First, Last       time.Time
}

func FuzzParseRecord(f *testing.F) {
	f.Add(bufferSecurity, `<Record id="7" type="RING_BUFFER_SECURITY_ERROR" time="1"><Error><SPID>57</SPID><APIName>AcceptSecurityContext</APIName><CallingAPIName>NLShimImpersonate</CallingAPIName><ErrorCode>0x8009030C</ErrorCode></Error></Record>`)
	f.Add(bufferConnectivity, `<Record><ConnectivityTraceRecord><RecordType>LoginTimers</RecordType><SniConsumerError>17830</SniConsumerError><State>11</State><RemoteHost>10.0.0.9</RemoteHost><LoginTimers><SspiProcessingInMilliseconds>14998</SspiProcessingInMilliseconds></LoginTimers></ConnectivityTraceRecord></Record>`)
	f.Add(bufferConnectivity, `<Record><ConnectivityTraceRecord><RecordType>ConnectionClose</RecordType><RemoteHost>&lt;local machine&gt;</RemoteHost></ConnectivityTraceRecord></Record>`)
	f.Add(bufferSecurity, `<!DOCTYPE r [<!ENTITY a "b">]><Record>&a;</Record>`)
	f.Add(bufferSecurity, "<Record><APIName>\u202e\x1b[2J</APIName></Record>")
	f.Fuzz(func(t *testing.T, buffer, text string) {
		rec, err := parseRecord(buffer, text)
		if err != nil {
			return
		}
		for _, s := range []string{rec.RecordType, rec.API, rec.CallingAPI, rec.Client, rec.Code} {
			if len(s) > maxField || !utf8.ValidString(s) {
				t.Errorf("parseRecord(%q) kept %q: longer than %d bytes or not UTF-8", text, s, maxField)
			}
		}
		if rec.Code != "" && (!strings.HasPrefix(rec.Code, "0x") || strings.ToLower(rec.Code) != rec.Code) {
			t.Errorf("parseRecord(%q) code %q: not lower-case hex", text, rec.Code)
		}
		if rec.SSPIMillis < 0 {
			t.Errorf("parseRecord(%q) SSPI time %d", text, rec.SSPIMillis)
		}
	})
}
