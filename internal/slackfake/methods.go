package slackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
)

// The identity auth.test reports.
const (
	BotUserID = "UBOT"
	BotID     = "BBOT"
	TeamID    = "T0001"
)

// firstTS is the Unix time of the first message's ts.
const firstTS = 1764000000

// apiDefault is the answer to a Web API call that no Respond override answers.
// Like Slack, it refuses a call without a token and tells an unknown method in
// the body of a 200.
func (s *Server) apiDefault(c Call) any {
	if c.Token == "" {
		return failure("not_authed")
	}
	p := c.Params
	ch, ts := p.Get("channel"), p.Get("ts")
	switch c.Method {
	case "auth.test":
		return ok(map[string]any{"url": "https://example.slack.com/", "team": "Example", "user": "authtriage",
			"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID})
	case "apps.connections.open":
		return ok(map[string]any{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws"})
	case "chat.postMessage":
		switch {
		case ch == "":
			return failure("channel_not_found")
		case p.Get("text") == "" && p.Get("blocks") == "" && p.Get("attachments") == "":
			return failure("no_text")
		}
		ts := s.post(ch)
		return ok(map[string]any{"channel": ch, "ts": ts, "message": message(p, ts)})
	case "chat.update":
		if !s.posted(ch, ts) {
			return failure("message_not_found")
		}
		return ok(map[string]any{"channel": ch, "ts": ts, "text": p.Get("text"), "message": message(p, ts)})
	case "chat.delete":
		if !s.posted(ch, ts) {
			return failure("message_not_found")
		}
		return ok(map[string]any{"channel": ch, "ts": ts})
	case "chat.postEphemeral":
		if ch == "" || p.Get("user") == "" {
			return failure("channel_not_found")
		}
		return ok(map[string]any{"message_ts": s.nextTS()})
	case "chat.getPermalink":
		ts := p.Get("message_ts")
		if !s.posted(ch, ts) {
			return failure("message_not_found")
		}
		return ok(map[string]any{"channel": ch,
			"permalink": "https://example.slack.com/archives/" + ch + "/p" + strings.ReplaceAll(ts, ".", "")})
	case "conversations.info":
		if ch == "" {
			return failure("channel_not_found")
		}
		return ok(map[string]any{"channel": map[string]any{"id": ch, "name": strings.ToLower(ch),
			"is_channel": true, "is_member": true}})
	case "usergroups.users.list":
		s.mu.Lock()
		users, found := s.groups[p.Get("usergroup")]
		s.mu.Unlock()
		if !found {
			return failure("no_such_subteam")
		}
		return ok(map[string]any{"users": users})
	case "views.publish":
		view, _ := c.JSON["view"].(map[string]any)
		if c.JSON["user_id"] == nil || view == nil {
			return failure("invalid_arguments")
		}
		view = maps.Clone(view)
		view["id"], view["team_id"] = s.nextID("V"), TeamID
		return ok(map[string]any{"view": view})
	case "files.getUploadURLExternal":
		if p.Get("filename") == "" || p.Get("length") == "" {
			return failure("invalid_arguments")
		}
		id := s.nextID("F")
		return ok(map[string]any{"upload_url": s.srv.URL + "/upload/" + id, "file_id": id})
	case "files.completeUploadExternal":
		var files []map[string]any
		if json.Unmarshal([]byte(p.Get("files")), &files) != nil || len(files) == 0 {
			return failure("invalid_arguments")
		}
		return ok(map[string]any{"files": files})
	}
	return failure("unknown_method")
}

// message is the message object chat.postMessage and chat.update answer with.
func message(p url.Values, ts string) map[string]any {
	m := map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "text": p.Get("text"), "ts": ts}
	if b := p.Get("blocks"); json.Valid([]byte(b)) {
		m["blocks"] = json.RawMessage(b)
	}
	if t := p.Get("thread_ts"); t != "" {
		m["thread_ts"] = t
	}
	return m
}

// nextTS returns a new message timestamp, later than every earlier one:
// "1764000000.000100", "1764000000.000200", ...
func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	micros := s.seq * 100
	return fmt.Sprintf("%d.%06d", firstTS+micros/1e6, micros%1e6)
}

// post returns the ts of a new message in channel, which chat.update, chat.delete
// and chat.getPermalink then find.
func (s *Server) post(channel string) string {
	ts := s.nextTS()
	s.mu.Lock()
	s.messages[channel+" "+ts] = true
	s.mu.Unlock()
	return ts
}

func (s *Server) posted(channel, ts string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages[channel+" "+ts]
}

// nextID returns a new ID: "F00000001" for prefix "F".
func (s *Server) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids++
	return fmt.Sprintf("%s%08d", prefix, s.ids)
}
