package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// MaxRequestBody bounds the body of a request from Slack. Slack's payloads are far
// smaller; a larger body is refused with 413 before its signature is checked.
const MaxRequestBody = 1 << 20

// replayWindow is how old a request's timestamp may be (Slack's rule, enforced by
// slack.SecretsVerifier); a signature seen within it is refused as a replay.
const replayWindow = 5 * time.Minute

// HTTPHandler returns the handler of HTTP mode, Slack's Events API, slash
// commands and interactivity over HTTPS (TLS is terminated in front of it):
//
//	POST /slack/commands      slash commands
//	POST /slack/events        Events API (app_mention, message.im, app_home_opened)
//	POST /slack/interactivity buttons and selects
//
// Every request must carry a valid Slack signature made with signingSecret and a
// timestamp within five minutes, and must not repeat a signature already seen:
// otherwise 401 and nothing runs. A body over MaxRequestBody gets 413, another
// method 405, an unknown path 404, a body that does not parse 400. While the bot
// is stopping, events and clicks get 503 so that Slack delivers them again, and
// slash commands are told to retry. Each request is answered as soon as Accept
// returns; the work runs afterwards.
func (b *Bot) HTTPHandler(signingSecret string) http.Handler {
	h := &httpTransport{bot: b, secret: signingSecret, seen: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", h.verified(h.command))
	mux.HandleFunc("POST /slack/events", h.verified(h.event))
	mux.HandleFunc("POST /slack/interactivity", h.verified(h.interaction))
	return mux
}

type httpTransport struct {
	bot    *Bot
	secret string
	mu     sync.Mutex
	seen   map[string]time.Time // signatures of the last 2 replayWindows
	pruned time.Time            // when seen was last pruned
}

// verified wraps a handler with the body limit, the signature check and the
// replay check, and records how long the acknowledgement took.
func (h *httpTransport) verified(next func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		defer func() { h.bot.metrics.ObserveAck("http", time.Since(began)) }()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read request body", http.StatusBadRequest)
			return
		}
		if err := h.verify(r.Header, body); err != nil {
			h.bot.log.Warn("Slack request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
			return
		}
		if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
			h.bot.log.Info("Slack retried a delivery", "path", r.URL.Path, "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next(w, r, body)
	}
}

// verify checks the signature and timestamp (slack.SecretsVerifier) and refuses a
// signature seen before.
func (h *httpTransport) verify(header http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(header, h.secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	if err := sv.Ensure(); err != nil {
		return err
	}
	sig := header.Get("X-Slack-Signature")
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.seen[sig]; dup {
		return errors.New("replayed request (signature seen before)")
	}
	if now.Sub(h.pruned) > time.Minute { // at most once a minute: the map can be large
		for s, t := range h.seen {
			if now.Sub(t) > 2*replayWindow {
				delete(h.seen, s)
			}
		}
		h.pruned = now
	}
	h.seen[sig] = now
	return nil
}

func (h *httpTransport) command(w http.ResponseWriter, r *http.Request, _ []byte) {
	s, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	reply := h.bot.Accept(r.Context(), fromSlash(s, time.Now()))
	if reply.empty() {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(slashResponse(reply))
}

// slashResponse is a slash command's acknowledgement carrying an ephemeral reply.
func slashResponse(r Reply) map[string]any {
	m := map[string]any{"response_type": slack.ResponseTypeEphemeral, "text": r.Text}
	if len(r.Blocks) > 0 {
		m["blocks"] = r.Blocks
	}
	return m
}

func (h *httpTransport) event(w http.ResponseWriter, r *http.Request, body []byte) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	switch ev.Type {
	case slackevents.URLVerification:
		var c slackevents.ChallengeResponse
		if err := json.Unmarshal(body, &c); err != nil {
			http.Error(w, "malformed challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, c.Challenge)
		return
	case slackevents.AppRateLimited:
		h.bot.log.Warn("Slack is rate-limiting this app's events")
	}
	if !h.bot.accepting.Load() {
		// Stopping: refuse, so Slack delivers it again (to another replica).
		http.Error(w, "restarting", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
	h.bot.Event(r.Context(), ev)
}

func (h *httpTransport) interaction(w http.ResponseWriter, r *http.Request, _ []byte) {
	cb, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	if !h.bot.accepting.Load() {
		http.Error(w, "restarting", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
	if req, ok := fromInteraction(cb, time.Now()); ok {
		h.bot.Accept(r.Context(), req)
	}
}

// Event handles an Events API callback from either transport: App Home opens and
// requests. The caller has acknowledged it already.
func (b *Bot) Event(ctx context.Context, ev slackevents.EventsAPIEvent) {
	if home, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok {
		if home.Tab == "home" {
			b.HomeOpened(ctx, home.User)
		}
		return
	}
	if req, ok := fromEvent(ev, b.o.BotUserID, time.Now()); ok {
		b.Accept(ctx, req)
	}
}
