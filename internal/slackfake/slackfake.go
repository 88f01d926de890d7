// Package slackfake is a FAKE of Slack's Web API and Socket Mode for tests and
// benchmarks, because Slack's servers cannot run here. It speaks the wire format
// slack-go uses: form-encoded or JSON POSTs (and the odd GET) to
// APIURL()+"method.name", answered with JSON {"ok":true,...}, and a Socket Mode
// WebSocket that says hello, carries envelopes and receives acknowledgements. A
// client made with slack.New(token, slack.OptionAPIURL(fake.APIURL())) works
// against it unchanged.
//
// It is not Slack. It checks no scopes, validates no blocks and keeps no
// conversations: it records every call, answers the methods authtriage uses with
// plausible defaults (see Server.Respond to change one), and answers any other
// method {"ok":false,"error":"unknown_method"}, as Slack does. A call without a
// token gets "not_authed", so Socket Mode clients need slack.OptionAppLevelToken.
// Unlike slacktest, its message timestamps never collide, it pings its WebSocket
// clients, and it keeps no package-level state, so tests can run in parallel.
package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Call is one request the fake received.
type Call struct {
	Method string         // "chat.postMessage"; "response_url:ID" or "upload:FILEID" for those URLs
	Params url.Values     // form fields and query parameters
	JSON   map[string]any // the body, when it was JSON
	// Token is the bearer token of the request or, for a form post, its token field.
	Token string
	At    time.Time
}

// Server is a fake Slack. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server
	wg  sync.WaitGroup // WebSocket connections' goroutines

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced when calls, acks, connections or pongs change
	calls     []Call
	handlers  map[string]func(Call) (int, http.Header, any)
	groups    map[string][]string
	uploads   map[string]upload
	seq       int             // message timestamps handed out
	ids       int             // file and view IDs handed out
	messages  map[string]bool // channel+" "+ts of posted messages
	sockets   []*socket       // open WebSocket connections, newest last
	accepted  int             // WebSocket connections ever accepted
	pongs     int             // pongs the clients sent, answering the fake's pings
	pingEvery time.Duration
	acks      map[string]json.RawMessage // envelope ID -> ack payload (nil if none)
	closed    bool
}

type upload struct {
	name    string
	content []byte
}

// maxBody bounds a request body the fake reads.
const maxBody = 8 << 20

// New starts a fake on a loopback port. Close stops it.
func New() *Server {
	s := newServer()
	s.srv = httptest.NewServer(s.mux())
	return s
}

// NewAt starts a fake listening on addr ("127.0.0.1:8099"), for a fake that
// another process must find, as in a benchmark.
func NewAt(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := newServer()
	s.srv = httptest.NewUnstartedServer(s.mux())
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	return s, nil
}

func newServer() *Server {
	return &Server{
		changed:   make(chan struct{}),
		handlers:  map[string]func(Call) (int, http.Header, any){},
		groups:    map[string][]string{},
		uploads:   map[string]upload{},
		messages:  map[string]bool{},
		pingEvery: defaultPingEvery,
		acks:      map[string]json.RawMessage{},
	}
}

func (s *Server) mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/{method}", s.serveAPI)
	m.HandleFunc("POST /response/{id}", s.serveResponseURL)
	m.HandleFunc("POST /upload/{id}", s.serveUpload)
	m.HandleFunc("GET /ws", s.serveWebSocket)
	return m
}

// APIURL returns the base URL of the Web API, for slack.OptionAPIURL: the
// server's root, "http://127.0.0.1:PORT/".
func (s *Server) APIURL() string { return s.srv.URL + "/" }

// ResponseURL returns a response_url whose POSTs are recorded as calls of method
// "response_url:"+id.
func (s *Server) ResponseURL(id string) string {
	return s.srv.URL + "/response/" + url.PathEscape(id)
}

// Close closes the WebSocket connections and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	socks := s.sockets
	s.sockets = nil
	s.mu.Unlock()
	for _, k := range socks {
		k.close()
	}
	s.srv.Close()
	s.wg.Wait()
}

// Calls returns the calls received so far, in order; only those of the given
// methods, if any.
func (s *Server) Calls(method ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

func (s *Server) callsLocked(methods []string) []Call {
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until at least n calls of method have arrived and returns all of
// them, or returns ctx's error with those that arrived.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var calls []Call
	err := s.wait(ctx, func() bool {
		calls = s.callsLocked([]string{method})
		return len(calls) >= n
	})
	if err != nil {
		return calls, fmt.Errorf("%d of %d %s calls: %w", len(calls), n, method, err)
	}
	return calls, nil
}

// wait calls done with s.mu held, each time the fake's state changes, until it
// returns true or ctx is done.
func (s *Server) wait(ctx context.Context, done func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := done(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notifyLocked wakes the waiters; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Respond makes h answer the calls of method (a Web API method, or
// "response_url:ID" or "upload:FILEID") instead of the default. The fake writes
// header, then status, then body as JSON (a []byte as is). If h returns status 0,
// the call gets the default answer, so h can fail only the first call. A nil h
// restores the default.
func (s *Server) Respond(method string, h func(Call) (status int, header http.Header, body any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.handlers, method)
		return
	}
	s.handlers[method] = h
}

// SetUserGroup makes usergroups.users.list answer users for groupID.
func (s *Server) SetUserGroup(groupID string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[groupID] = append([]string{}, users...)
}

// Upload returns the name and content of the file uploaded for fileID.
func (s *Server) Upload(fileID string) (name string, content []byte, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[fileID]
	return u.name, u.content, ok
}

// record parses and records r as a call of method.
func (s *Server) record(method string, w http.ResponseWriter, r *http.Request) (Call, error) {
	c := Call{Method: method, At: time.Now()}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ctype {
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return c, err
		}
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &c.JSON); err != nil {
				return c, err
			}
		}
		c.Params = r.URL.Query()
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxBody); err != nil {
			return c, err
		}
		c.Params = r.Form
	default:
		if err := r.ParseForm(); err != nil {
			return c, err
		}
		c.Params = r.Form
	}
	c.Token = c.Params.Get("token")
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		c.Token = t
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.notifyLocked()
	s.mu.Unlock()
	return c, nil
}

// answer writes the override's answer to c, if there is one that answers, or def's.
func (s *Server) answer(w http.ResponseWriter, c Call, def func(Call) any) {
	s.mu.Lock()
	h := s.handlers[c.Method]
	s.mu.Unlock()
	if h != nil {
		if status, header, body := h(c); status != 0 {
			for k, v := range header {
				w.Header()[k] = v
			}
			writeJSON(w, status, body)
			return
		}
	}
	writeJSON(w, http.StatusOK, def(c))
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	c, err := s.record(r.PathValue("method"), w, r)
	if err != nil {
		writeJSON(w, http.StatusOK, failure("invalid_form_data"))
		return
	}
	s.answer(w, c, s.apiDefault)
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	c, err := s.record("response_url:"+r.PathValue("id"), w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, failure("invalid_payload"))
		return
	}
	s.answer(w, c, func(Call) any { return ok(nil) })
}

// serveUpload stores a file POSTed to an upload URL from files.getUploadURLExternal.
// Slack answers such a POST with plain text, "OK - " and the size.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c, err := s.record("upload:"+id, w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file field", http.StatusBadRequest)
		return
	}
	content, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.uploads[id] = upload{name: hdr.Filename, content: content}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	s.answer(w, c, func(Call) any { return []byte(fmt.Sprintf("OK - %d", len(content))) })
}

// ok returns a successful answer with fields.
func ok(fields map[string]any) map[string]any {
	m := map[string]any{"ok": true}
	for k, v := range fields {
		m[k] = v
	}
	return m
}

func failure(code string) map[string]any {
	return map[string]any{"ok": false, "error": code}
}

// Signature returns the signature Slack puts in X-Slack-Signature: "v0=" and the
// hex HMAC-SHA256, keyed with the app's signing secret, of "v0:", the request
// timestamp (Unix seconds), ":" and the body.
func Signature(secret, timestamp string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	io.WriteString(h, "v0:"+timestamp+":")
	h.Write(body)
	return "v0=" + hex.EncodeToString(h.Sum(nil))
}

// Sign sets the headers with which Slack signs a request to an app:
// X-Slack-Request-Timestamp (at) and X-Slack-Signature over body.
func Sign(req *http.Request, body []byte, secret string, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", Signature(secret, ts, body))
}
