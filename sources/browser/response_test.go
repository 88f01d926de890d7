package browser_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/internal/browserfake"
	"github.com/authtriage/authtriage/sources/browser"
	"github.com/authtriage/authtriage/triage"
)

func ptr[T any](v T) *T { return &v }

// view builds the view ParseResponse returns for a record of the fake's form.
func view(server, name string, clustered bool, version, pipe string, port int) triage.InstanceView {
	v := triage.InstanceView{Name: name, BrowserServer: server, Clustered: ptr(clustered), Version: version, Pipe: pipe, TCPEnabled: ptr(port != 0)}
	if port != 0 {
		v.Ports = []triage.PortClaim{{Source: triage.PortBrowser, Port: port}}
	}
	return v
}

// The examples of [MC-SQLR] 4.1 CLNT_UCAST_EX and 4.2 CLNT_UCAST_INST: RESP_DATA as
// printed there, and the RESP_SIZE the datagrams carry (05 47 01 and 05 58 00).
const (
	specExData = `ServerName;ILSUNG1;InstanceName;YUKONSTD;IsClustered;No;Version;9.00.1399.06;tcp;57137;;` +
		`ServerName;ILSUNG1;InstanceName;YUKONDEV;IsClustered;No;Version;9.00.1399.06;np;\\ILSUNG1\pipe\MSSQL$YUKONDEV\sql\query;;` +
		`ServerName;ILSUNG1;InstanceName;MSSQLSERVER;IsClustered;No;Version;9.00.1399.06;tcp;1433;np;\\ILSUNG1\pipe\sql\query;;`
	specExSize   = 0x0147
	specInstData = `ServerName;ILSUNG1;InstanceName;YUKONSTD;IsClustered;No;Version;9.00.1399.06;tcp;57137;;`
	specInstSize = 0x58
)

func TestSpecExamplesSizes(t *testing.T) {
	if len(specExData) != specExSize {
		t.Errorf("the CLNT_UCAST_EX example is %d bytes; its RESP_SIZE says %d", len(specExData), specExSize)
	}
	if len(specInstData) != specInstSize {
		t.Errorf("the CLNT_UCAST_INST example is %d bytes; its RESP_SIZE says %d", len(specInstData), specInstSize)
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		want  []triage.InstanceView
	}{
		{
			name:  "the CLNT_UCAST_EX example of the specification",
			input: browserfake.Datagram(specExData),
			want: []triage.InstanceView{
				view("ILSUNG1", "YUKONSTD", false, "9.00.1399.06", "", 57137),
				view("ILSUNG1", "YUKONDEV", false, "9.00.1399.06", `\\ILSUNG1\pipe\MSSQL$YUKONDEV\sql\query`, 0),
				view("ILSUNG1", "MSSQLSERVER", false, "9.00.1399.06", `\\ILSUNG1\pipe\sql\query`, 1433),
			},
		},
		{
			name:  "the CLNT_UCAST_INST example of the specification",
			input: browserfake.Datagram(specInstData),
			want:  []triage.InstanceView{view("ILSUNG1", "YUKONSTD", false, "9.00.1399.06", "", 57137)},
		},
		{
			name:  "clustered instance on its virtual name",
			input: browserfake.Response(browserfake.Instance{Server: "SQLFCI01", Name: "SALES", Clustered: true, Version: "16.0.1000.6", TCPPort: 50123, Pipe: `\\SQLFCI01\pipe\MSSQL$SALES\sql\query`}),
			want:  []triage.InstanceView{view("SQLFCI01", "SALES", true, "16.0.1000.6", `\\SQLFCI01\pipe\MSSQL$SALES\sql\query`, 50123)},
		},
		{
			name:  "named pipes only: TCP disabled",
			input: browserfake.Response(browserfake.Instance{Server: "SQLHOST01", Name: "HR", Version: "15.0.2000.5", Pipe: `\\SQLHOST01\pipe\MSSQL$HR\sql\query`}),
			want:  []triage.InstanceView{view("SQLHOST01", "HR", false, "15.0.2000.5", `\\SQLHOST01\pipe\MSSQL$HR\sql\query`, 0)},
		},
		{
			name:  "keys and Yes/No in any case, transports in any order",
			input: browserfake.Datagram("servername;H;INSTANCENAME;A;isclustered;YES;version;16.0;TCP;1500;NP;\\\\H\\pipe\\sql\\query;;"),
			want:  []triage.InstanceView{view("H", "A", true, "16.0", `\\H\pipe\sql\query`, 1500)},
		},
		{
			name:  "other transports are checked and skipped",
			input: browserfake.Datagram("ServerName;H;InstanceName;A;IsClustered;No;Version;8.00.194;via;H,0:1433;rpc;H;spx;H;adsp;SQL;bv;item;group;org;tcp;1433;;"),
			want:  []triage.InstanceView{view("H", "A", false, "8.00.194", "", 1433)},
		},
		{
			name: "several instances",
			input: browserfake.Response(
				browserfake.Instance{Server: "SQLHOST01", Name: "MSSQLSERVER", TCPPort: 1433},
				browserfake.Instance{Server: "SQLHOST01", Name: "SALES", TCPPort: 50123},
				browserfake.Instance{Server: "SQLHOST01", Name: "HR", Pipe: `\\SQLHOST01\pipe\MSSQL$HR\sql\query`},
			),
			want: []triage.InstanceView{
				view("SQLHOST01", "MSSQLSERVER", false, "16.0.1000.6", "", 1433),
				view("SQLHOST01", "SALES", false, "16.0.1000.6", "", 50123),
				view("SQLHOST01", "HR", false, "16.0.1000.6", `\\SQLHOST01\pipe\MSSQL$HR\sql\query`, 0),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := browser.ParseResponse(tt.input)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseResponse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResponseRefuses(t *testing.T) {
	const head = "ServerName;H;InstanceName;A;IsClustered;No;Version;16.0"
	withSize := func(size uint16, data string) []byte {
		b := browserfake.Datagram(data)
		b[1], b[2] = byte(size), byte(size>>8)
		return b
	}
	tests := []struct {
		name  string
		input []byte
		want  string // in the error's text
	}{
		{"nothing", nil, "shorter than the 3-byte SVR_RESP header"},
		{"junk", []byte("\x00\x01junk junk"), "the first byte is 0x00, not SVR_RESP"},
		{"an HTTP answer", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), "not SVR_RESP"},
		{"the fake's garbage", browserfake.Garbage(), "truncated"},
		{"truncated", withSize(200, head+";tcp;1433;;"), "RESP_SIZE says 200 bytes of RESP_DATA but only 66 follow (truncated)"},
		{"bytes after RESP_DATA", withSize(10, head+";tcp;1433;;"), "RESP_SIZE says 10 bytes of RESP_DATA but 66 follow"},
		{"empty RESP_DATA", browserfake.Datagram(""), "RESP_DATA is empty"},
		{"no closing ;;", browserfake.Datagram(head + ";tcp;1433"), `does not end with ";;"`},
		{"a stray semicolon", browserfake.Datagram(head + ";tcp;1433;;;" + head + ";;"), "record 2: field 1 is empty"},
		{"too few fields", browserfake.Datagram("ServerName;H;InstanceName;A;;"), "4 fields"},
		{"header out of order", browserfake.Datagram("InstanceName;A;ServerName;H;IsClustered;No;Version;16.0;;"), `field 1 is "InstanceName", not ServerName`},
		{"IsClustered neither", browserfake.Datagram("ServerName;H;InstanceName;A;IsClustered;Maybe;Version;16.0;;"), `IsClustered is "Maybe"`},
		{"version not digits", browserfake.Datagram("ServerName;H;InstanceName;A;IsClustered;No;Version;16.0-beta;;"), `the version "16.0-beta" is not digits and dots`},
		{"version too long", browserfake.Datagram("ServerName;H;InstanceName;A;IsClustered;No;Version;16.0.1000.6.1.2.3.4;;"), "at most 16 bytes"},
		{"port 0", browserfake.Datagram(head + ";tcp;0;;"), "port \"0\" is not a number from 1 to 65535"},
		{"port too large", browserfake.Datagram(head + ";tcp;70000;;"), "from 1 to 65535"},
		{"port not a number", browserfake.Datagram(head + ";tcp;1433 ;;"), "from 1 to 65535"},
		{"tcp without a port", browserfake.Datagram(head + ";tcp;;"), "transport tcp has no parameters"},
		{"tcp twice", browserfake.Datagram(head + ";tcp;1433;TCP;1434;;"), "transport tcp is listed twice"},
		{"unknown transport", browserfake.Datagram(head + ";http;80;;"), `"http" is not a transport`},
		{"instance twice", browserfake.Datagram(head + ";;" + strings.Replace(head, "A", "a", 1) + ";;"), "instance a is listed twice"},
		{"instance name with a port", browserfake.Datagram("ServerName;H;InstanceName;A:1;IsClustered;No;Version;16.0;;"), "':' is not allowed"},
		{"instance name SQL Server refuses", browserfake.Datagram("ServerName;H;InstanceName;1SALES;IsClustered;No;Version;16.0;;"), "instance name \"1SALES\""},
		{"instance name too long", browserfake.Datagram("ServerName;H;InstanceName;ABCDEFGHIJKLMNOPQ;IsClustered;No;Version;16.0;;"), "longer than 16 characters"},
		{"control character in the server name", browserfake.Datagram("ServerName;H\x1b[2J;InstanceName;A;IsClustered;No;Version;16.0;;"), "unprintable character U+001B"},
		{"newline in the server name", browserfake.Datagram("ServerName;H\nfake: line;InstanceName;A;IsClustered;No;Version;16.0;;"), "U+000A"},
		{"bidi override in the pipe", browserfake.Datagram(head + ";np;\\\\H\\pipe\\\u202esql;;"), "U+202E"},
		{"not UTF-8", browserfake.Datagram("ServerName;H\xe9;InstanceName;A;IsClustered;No;Version;16.0;;"), "not UTF-8"},
		{"record over 1024 bytes", browserfake.Datagram(head + ";np;" + strings.Repeat("p", 1000) + ";;"), "more than the 1024 allowed for one instance"},
		{"pipe over 255 bytes", browserfake.Datagram(head + ";np;" + strings.Repeat("p", 256) + ";;"), "the parameters of np are 256 bytes"},
		{"bv without names", browserfake.Datagram(head + ";bv;tcp;1433;;"), "transport bv has no parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := browser.ParseResponse(tt.input)
			if err == nil {
				t.Fatalf("ParseResponse = %+v; want an error", got)
			}
			if !errors.Is(err, browser.ErrMalformed) {
				t.Errorf("error %q does not match ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\x1b\n\u202e") {
				t.Errorf("error %q carries a control character", err)
			}
		})
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add(browserfake.Datagram(specExData))
	f.Add(browserfake.Datagram(specInstData))
	f.Add(browserfake.Response(browserfake.Instance{Server: "S", Name: "A", Clustered: true, TCPPort: 1, Pipe: `\\S\pipe\sql\query`}))
	f.Add(browserfake.Datagram("ServerName;H;InstanceName;A;IsClustered;No;Version;8.0;via;H,0:1433;bv;i;g;o;;"))
	f.Add(browserfake.Garbage())
	f.Add([]byte{0x05, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		views, err := browser.ParseResponse(b)
		if err != nil {
			if !errors.Is(err, browser.ErrMalformed) {
				t.Fatalf("error %q does not match ErrMalformed", err)
			}
			if views != nil {
				t.Fatalf("views %+v with an error", views)
			}
			return
		}
		if len(views) == 0 {
			t.Fatalf("no views and no error")
		}
		for _, v := range views {
			if _, err := triage.ParseInstance(v.Name); err != nil {
				t.Errorf("instance name %q: %v", v.Name, err)
			}
			if v.Clustered == nil || v.TCPEnabled == nil {
				t.Errorf("%s: Clustered or TCPEnabled unset", v.Name)
			}
			if *v.TCPEnabled != (len(v.Ports) == 1) {
				t.Errorf("%s: TCPEnabled %v with ports %+v", v.Name, *v.TCPEnabled, v.Ports)
			}
			for _, p := range v.Ports {
				if p.Source != triage.PortBrowser || p.Port < 1 || p.Port > 65535 {
					t.Errorf("%s: port claim %+v", v.Name, p)
				}
			}
			for _, s := range []string{v.Name, v.BrowserServer, v.Version, v.Pipe} {
				if strings.ContainsAny(s, ";\x00\n\r\x1b\u202e") {
					t.Errorf("%s: field %q holds a separator or control character", v.Name, s)
				}
			}
		}
	})
}
