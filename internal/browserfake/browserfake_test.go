package browserfake_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/internal/browserfake"
)

func TestRequestsAndAnswers(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{Instances: []browserfake.Instance{
		{Server: "SQLHOST01", Name: "SALES", TCPPort: 50123, Pipe: `\\SQLHOST01\pipe\MSSQL$SALES\sql\query`},
	}})
	conn, err := net.Dial("udp", fake.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ask := func(req []byte) {
		t.Helper()
		if _, err := conn.Write(req); err != nil {
			t.Fatal(err)
		}
	}
	// Requests the fake ignores, then one it answers: the answer read is the last one's.
	ask([]byte{0x02})                           // CLNT_BCAST_EX, sent unicast
	ask([]byte{0x04, 'N', 'O', 'N', 'E', 0x00}) // an instance it does not have
	ask([]byte{0x04, 'S', 'A', 'L', 'E', 'S'})  // no terminating NUL
	ask([]byte{0x04, 's', 'a', 'l', 'e', 's', 0x00})
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := "\x05\x80\x00ServerName;SQLHOST01;InstanceName;SALES;IsClustered;No;Version;16.0.1000.6;np;\\\\SQLHOST01\\pipe\\MSSQL$SALES\\sql\\query;tcp;50123;;"
	if got := string(buf[:n]); got != want {
		t.Errorf("answer:\n got %q\nwant %q", got, want)
	}
	if err := fake.WaitRequests(t.Context(), 4); err != nil {
		t.Fatal(err)
	}
	wantReqs := []string{"invalid 0x02 (1 bytes)", "CLNT_UCAST_INST NONE", "invalid 0x04 (6 bytes)", "CLNT_UCAST_INST sales"}
	if diff := cmp.Diff(wantReqs, fake.Requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestWaitRequestsGivesUp(t *testing.T) {
	fake := browserfake.Start(t, browserfake.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := fake.WaitRequests(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitRequests = %v; want context.Canceled", err)
	}
	if err := fake.WaitRequests(ctx, 0); err != nil {
		t.Fatalf("WaitRequests(0) = %v", err)
	}
}
