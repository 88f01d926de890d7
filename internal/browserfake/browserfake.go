// Package browserfake is a fake SQL Server Browser for tests: a real UDP socket that
// answers real SQL Server Resolution Protocol ([MC-SQLR]) requests from a fixed list of
// instances. It answers CLNT_UCAST_EX with every instance and CLNT_UCAST_INST with the
// named one (names compared without regard to case), and, as the protocol says, ignores
// a request it does not understand or about an instance it does not have
// ([MC-SQLR] 3.1.5.2 Waiting For Request From Client).
// https://learn.microsoft.com/en-us/openspecs/windows_protocols/mc-sqlr/4eea5b65-a848-4deb-99ca-280ebd4e3dc8
package browserfake

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// An Instance is one instance the fake reports.
type Instance struct {
	Server    string // ServerName: the host's NetBIOS name, or a cluster's virtual name
	Name      string // InstanceName: "MSSQLSERVER" for the default instance
	Clustered bool   // IsClustered
	Version   string // "16.0.1000.6"; "" sends "16.0.1000.6"
	TCPPort   int    // 0: no tcp transport (TCP disabled)
	Pipe      string // "": no np transport
}

// Config says what the fake is and how it behaves.
type Config struct {
	Addr      string // where to listen; "" means 127.0.0.1:0
	Instances []Instance
	// Silent reads requests and never answers: a stopped Browser or a blocked port, as
	// the client sees it.
	Silent bool
	// Garbage answers every request with a datagram that is not a well-formed
	// SVR_RESP (its RESP_SIZE says more than follows).
	Garbage bool
	// AnswerFrom is where answers are sent from, "127.0.0.2:0": another address of the
	// host than the one asked, as a multi-homed or cluster host may answer. "" means
	// the address listened on.
	AnswerFrom string
}

// Garbage returns the datagram a Config with Garbage set answers with, a new slice at
// each call.
func Garbage() []byte {
	return []byte{0x05, 0xff, 0x00, 'S', 'e', 'r', 'v', 'e', 'r', 'N', 'a', 'm', 'e', ';'}
}

// A Server is a running fake. It closes when the test that started it ends.
type Server struct {
	conn net.PacketConn
	out  net.PacketConn // where answers are sent from: conn, or Config.AnswerFrom's
	cfg  Config
	done chan struct{}

	mu      sync.Mutex
	reqs    []string
	changed chan struct{} // closed and replaced at each request
}

// Start starts a fake SQL Server Browser that closes at the end of the test.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("browserfake: listen on %s: %v", addr, err)
	}
	s := &Server{conn: conn, out: conn, cfg: cfg, done: make(chan struct{}), changed: make(chan struct{})}
	if cfg.AnswerFrom != "" {
		out, err := net.ListenPacket("udp", cfg.AnswerFrom)
		if err != nil {
			conn.Close()
			t.Fatalf("browserfake: listen on %s to answer from: %v", cfg.AnswerFrom, err)
		}
		s.out = out
	}
	go s.serve()
	t.Cleanup(func() {
		conn.Close()
		<-s.done
		s.out.Close()
	})
	return s
}

// Port returns the UDP port the fake listens on.
func (s *Server) Port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

// Addr returns the address the fake listens on, "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// Requests returns the requests received so far, oldest first: "CLNT_UCAST_EX",
// "CLNT_UCAST_INST SALES", or "invalid 0x.. (N bytes)" for what the fake did not
// understand.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// WaitRequests waits until the fake has received at least n requests, or ctx is done.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, changed := len(s.reqs), s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("browserfake: %d of %d requests arrived: %w", got, n, ctx.Err())
		}
	}
}

// serve answers requests until the socket closes.
func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 2048)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		req := append([]byte(nil), buf[:n]...)
		answer, what := s.answer(req)
		// The request is recorded before it is answered: a client that has its answer
		// finds its request in Requests.
		s.mu.Lock()
		s.reqs = append(s.reqs, what)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		if answer != nil && !s.cfg.Silent {
			s.out.WriteTo(answer, from)
		}
	}
}

// answer returns the datagram answering req (nil for none) and how the request reads.
func (s *Server) answer(req []byte) ([]byte, string) {
	switch {
	case len(req) == 1 && req[0] == 0x03:
		if s.cfg.Garbage {
			return Garbage(), "CLNT_UCAST_EX"
		}
		if len(s.cfg.Instances) == 0 {
			return nil, "CLNT_UCAST_EX"
		}
		return Response(s.cfg.Instances...), "CLNT_UCAST_EX"
	case len(req) >= 3 && req[0] == 0x04 && req[len(req)-1] == 0 && len(req)-2 <= 32 && bytes.IndexByte(req[1:len(req)-1], 0) < 0:
		name := string(req[1 : len(req)-1])
		what := "CLNT_UCAST_INST " + name
		if s.cfg.Garbage {
			return Garbage(), what
		}
		for _, in := range s.cfg.Instances {
			if strings.EqualFold(in.Name, name) {
				return Response(in), what
			}
		}
		return nil, what
	}
	first := byte(0)
	if len(req) > 0 {
		first = req[0]
	}
	return nil, fmt.Sprintf("invalid 0x%02x (%d bytes)", first, len(req))
}

// Record returns the RESP_DATA record of one instance, ";;" included:
// "ServerName;SQLHOST01;InstanceName;SALES;IsClustered;No;Version;16.0.1000.6;np;...;tcp;50123;;".
func Record(in Instance) string {
	clustered := "No"
	if in.Clustered {
		clustered = "Yes"
	}
	version := in.Version
	if version == "" {
		version = "16.0.1000.6"
	}
	rec := "ServerName;" + in.Server + ";InstanceName;" + in.Name + ";IsClustered;" + clustered + ";Version;" + version
	if in.Pipe != "" {
		rec += ";np;" + in.Pipe
	}
	if in.TCPPort != 0 {
		rec += ";tcp;" + strconv.Itoa(in.TCPPort)
	}
	return rec + ";;"
}

// Response returns the SVR_RESP datagram listing the instances.
func Response(ins ...Instance) []byte {
	var data strings.Builder
	for _, in := range ins {
		data.WriteString(Record(in))
	}
	return Datagram(data.String())
}

// Datagram returns an SVR_RESP datagram carrying data as RESP_DATA, its RESP_SIZE
// the length of data (cut to 16 bits, as a careless server would).
func Datagram(data string) []byte {
	b := make([]byte, 3, 3+len(data))
	b[0] = 0x05
	binary.LittleEndian.PutUint16(b[1:], uint16(len(data)))
	return append(b, data...)
}
