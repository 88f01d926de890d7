package browser_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/internal/browserfake"
	"github.com/authtriage/authtriage/sources/browser"
	"github.com/authtriage/authtriage/triage"
)

// fleet is what the fake Browser of these tests reports.
var fleet = []browserfake.Instance{
	{Server: "SQLHOST01", Name: "MSSQLSERVER", Version: "16.0.1000.6", TCPPort: 1433, Pipe: `\\SQLHOST01\pipe\sql\query`},
	{Server: "SQLHOST01", Name: "SALES", Version: "16.0.1000.6", TCPPort: 50123},
	{Server: "SQLFCI01", Name: "HR", Clustered: true, Version: "15.0.2000.5", TCPPort: 1500, Pipe: `\\SQLFCI01\pipe\MSSQL$HR\sql\query`},
}

// resolver resolves every name to its addresses.
type resolver []string

func (r resolver) LookupHost(ctx context.Context, host string) ([]string, error) { return r, nil }

// client returns a Client that asks the fake.
func client(fake *browserfake.Server) browser.Client {
	return browser.Client{Port: fake.Port(), Resolver: resolver{"127.0.0.1"}}
}

func TestInstances(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet})
	got, err := client(fake).Instances(t.Context(), "sqlhost01.corp.example")
	if err != nil {
		t.Fatalf("Instances: %v", err)
	}
	want := []triage.InstanceView{
		view("SQLHOST01", "MSSQLSERVER", false, "16.0.1000.6", `\\SQLHOST01\pipe\sql\query`, 1433),
		view("SQLHOST01", "SALES", false, "16.0.1000.6", "", 50123),
		view("SQLFCI01", "HR", true, "15.0.2000.5", `\\SQLFCI01\pipe\MSSQL$HR\sql\query`, 1500),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Instances (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CLNT_UCAST_EX"}, fake.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestInstance(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet})
	c := client(fake)
	tests := []struct {
		ask  string
		want triage.InstanceView
	}{
		{"SALES", view("SQLHOST01", "SALES", false, "16.0.1000.6", "", 50123)},
		{"hr", view("SQLFCI01", "HR", true, "15.0.2000.5", `\\SQLFCI01\pipe\MSSQL$HR\sql\query`, 1500)},
		{"MSSQLSERVER", view("SQLHOST01", "MSSQLSERVER", false, "16.0.1000.6", `\\SQLHOST01\pipe\sql\query`, 1433)},
	}
	for _, tt := range tests {
		got, err := c.Instance(t.Context(), "127.0.0.1", tt.ask)
		if err != nil {
			t.Fatalf("Instance(%s): %v", tt.ask, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Instance(%s) (-want +got):\n%s", tt.ask, diff)
		}
	}
	want := []string{"CLNT_UCAST_INST SALES", "CLNT_UCAST_INST hr", "CLNT_UCAST_INST MSSQLSERVER"}
	if diff := cmp.Diff(want, fake.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestInstanceUnknownIsSilence(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet})
	c := client(fake)
	c.Timeout = 100 * time.Millisecond
	_, err := c.Instance(t.Context(), "sqlhost01", "PAYROLL")
	var na *browser.NoAnswerError
	if !errors.As(err, &na) || !errors.Is(err, browser.ErrNoAnswer) {
		t.Fatalf("Instance(PAYROLL) error = %v; want a *NoAnswerError", err)
	}
	if na.Instance != "PAYROLL" || na.Refused {
		t.Errorf("NoAnswerError = %+v", na)
	}
	for _, s := range []string{"did not answer about instance PAYROLL within 100ms", "may run no instance PAYROLL", "SQL Server Browser may be stopped"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if err := fake.WaitRequests(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if got := fake.Requests(); len(got) != 1 || got[0] != "CLNT_UCAST_INST PAYROLL" {
		t.Errorf("requests = %q", got)
	}
}

func TestSilentBrowser(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet, Silent: true})
	c := client(fake)
	c.Timeout = 50 * time.Millisecond
	views, err := c.Instances(t.Context(), "sqlhost01")
	if !errors.Is(err, browser.ErrNoAnswer) {
		t.Fatalf("Instances = %+v, %v; want ErrNoAnswer", views, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v matches context.DeadlineExceeded; the context had no deadline", err)
	}
	want := "SQL Server Browser on sqlhost01 (127.0.0.1:" + portOf(fake) + ") did not answer within 50ms: SQL Server Browser may be stopped, or UDP " + portOf(fake) + " blocked on the way"
	if err.Error() != want {
		t.Errorf("error:\n got %q\nwant %q", err, want)
	}
	if err := fake.WaitRequests(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
}

func TestContextDeadlineFirst(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Silent: true})
	c := client(fake)
	c.Timeout = time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Instances(ctx, "sqlhost01")
	if !errors.Is(err, browser.ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Instances error = %v; want ErrNoAnswer and context.DeadlineExceeded", err)
	}
}

func TestContextCanceled(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Silent: true})
	c := client(fake)
	c.Timeout = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := c.Instances(ctx, "sqlhost01")
		done <- err
	}()
	if err := fake.WaitRequests(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || errors.Is(err, browser.ErrNoAnswer) {
		t.Fatalf("Instances error = %v; want context.Canceled", err)
	}
}

func TestCanceledBeforeAsking(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := client(fake).Instances(ctx, "sqlhost01"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Instances error = %v; want context.Canceled", err)
	}
	if got := fake.Requests(); len(got) != 0 {
		t.Errorf("requests = %q; want none", got)
	}
}

func TestGarbage(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet, Garbage: true})
	c := client(fake)
	_, err := c.Instances(t.Context(), "sqlhost01")
	if !errors.Is(err, browser.ErrMalformed) || errors.Is(err, browser.ErrNoAnswer) {
		t.Fatalf("Instances error = %v; want ErrMalformed", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "truncated") {
		t.Errorf("error %q does not say what is wrong", err)
	}
	if _, err := c.Instance(t.Context(), "sqlhost01", "SALES"); !errors.Is(err, browser.ErrMalformed) {
		t.Fatalf("Instance error = %v; want ErrMalformed", err)
	}
}

func TestRefused(t *testing.T) {
	// A port nothing listens on: the loopback answers with ICMP port unreachable,
	// which the unconnected socket is told of on few systems; elsewhere the wait ends
	// at the timeout. Both are no answer.
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	conn.Close()
	c := browser.Client{Port: port, Timeout: 200 * time.Millisecond}
	_, err = c.Instances(t.Context(), "127.0.0.1")
	if !errors.Is(err, browser.ErrNoAnswer) {
		t.Fatalf("Instances error = %v; want ErrNoAnswer", err)
	}
	t.Log(err)
}

func TestInstanceNameChecked(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet})
	for _, name := range []string{"", "SALES:1433", "SALES\x00X", "A\u202eB", strings.Repeat("A", 33), "1SALES"} {
		if _, err := client(fake).Instance(t.Context(), "sqlhost01", name); err == nil {
			t.Errorf("Instance(%q) asked; want an error", name)
		}
	}
	if got := fake.Requests(); len(got) != 0 {
		t.Errorf("requests = %q; want none", got)
	}
}

func TestHostChecked(t *testing.T) {
	for _, host := range []string{"", "sql host", "host;rm -rf", "-x"} {
		if _, err := (browser.Client{Resolver: resolver{"127.0.0.1"}}).Instances(t.Context(), host); err == nil {
			t.Errorf("Instances(%q) asked; want an error", host)
		}
	}
	if _, err := (browser.Client{Resolver: resolver{"not an address"}}).Instances(t.Context(), "sqlhost01"); err == nil || !strings.Contains(err.Error(), "resolves to no IP address") {
		t.Errorf("Instances with no address = %v", err)
	}
}

func TestAnotherInstanceAnswered(t *testing.T) {
	// A Browser that answers CLNT_UCAST_INST about an instance it was not asked about.
	srv, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 64)
		_, from, err := srv.ReadFrom(buf)
		if err == nil {
			srv.WriteTo(browserfake.Response(fleet[1]), from)
		}
	}()
	c := browser.Client{Port: srv.LocalAddr().(*net.UDPAddr).Port}
	_, err = c.Instance(t.Context(), "127.0.0.1", "HR")
	if !errors.Is(err, browser.ErrMalformed) || !strings.Contains(err.Error(), "asked about instance HR, it answered about SALES") {
		t.Fatalf("Instance error = %v", err)
	}
}

func portOf(fake *browserfake.Server) string {
	_, port, _ := net.SplitHostPort(fake.Addr())
	return port
}

// TestAnswerFromAnotherAddress: a host may answer from another of its addresses than
// the one asked (a cluster node, a multi-homed server): that answer is taken. An
// answer from an address that is none of the host's is ignored, and named.
func TestAnswerFromAnotherAddress(t *testing.T) {
	probe, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 is not a loopback address here: %v", err)
	}
	probe.Close()
	fake := browserfake.Start(t, browserfake.Config{Instances: fleet, AnswerFrom: "127.0.0.2:0"})

	c := browser.Client{Port: fake.Port(), Resolver: resolver{"127.0.0.1", "127.0.0.2"}}
	got, err := c.Instances(t.Context(), "sqlhost01")
	if err != nil || len(got) != len(fleet) {
		t.Fatalf("Instances = %+v, %v; want the fleet, answered from the host's other address", got, err)
	}

	c = browser.Client{Port: fake.Port(), Resolver: resolver{"127.0.0.1"}, Timeout: 100 * time.Millisecond}
	_, err = c.Instances(t.Context(), "sqlhost01")
	var na *browser.NoAnswerError
	if !errors.As(err, &na) || len(na.Ignored) != 1 || !strings.HasPrefix(na.Ignored[0], "127.0.0.2:") ||
		!strings.Contains(err.Error(), "which is none of sqlhost01's addresses, and was ignored") {
		t.Fatalf("Instances error = %v; want no answer, the stranger's named", err)
	}
}
