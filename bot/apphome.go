package bot

import (
	"context"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/commands"
	slackrender "github.com/authtriage/authtriage/render/slack"
)

// homeViewers are the users who opened the bot's App Home recently: their Home
// tab is republished after each triage and fleet run, so it shows the fleet as it
// is. Bounded: the least recently seen are forgotten first.
type homeViewers struct {
	mu    sync.Mutex
	users map[string]time.Time // user ID -> when they last opened the tab
}

const (
	maxHomeViewers = 500
	homeViewerTTL  = 7 * 24 * time.Hour
)

func (h *homeViewers) add(user string, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.users == nil {
		h.users = map[string]time.Time{}
	}
	h.users[user] = now
	if len(h.users) > maxHomeViewers {
		oldest, when := "", now
		for u, t := range h.users {
			if t.Before(when) {
				oldest, when = u, t
			}
		}
		delete(h.users, oldest)
	}
}

func (h *homeViewers) list(now time.Time) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var users []string
	for u, t := range h.users {
		if now.Sub(t) > homeViewerTTL {
			delete(h.users, u)
			continue
		}
		users = append(users, u)
	}
	return users
}

// HomeOpened publishes the App Home tab for a user who opened it.
func (b *Bot) HomeOpened(ctx context.Context, user string) {
	if user == "" {
		return
	}
	b.home.add(user, b.o.Now())
	j := job{req: Request{User: user}, run: func(ctx context.Context) { b.publishHome(ctx, []string{user}) }}
	b.enqueue(b.light, j, false)
}

// refreshHome queues one republishing of the Home tabs on the cheap pool and
// returns: a triage worker never waits on it, and refreshes asked for while one
// is queued are the same refresh.
func (b *Bot) refreshHome(ctx context.Context) {
	if len(b.home.list(b.o.Now())) == 0 || b.homeQueued.Swap(true) {
		return
	}
	j := job{run: func(ctx context.Context) {
		b.homeQueued.Store(false)
		if users := b.home.list(b.o.Now()); len(users) > 0 {
			b.publishHome(ctx, users)
		}
	}}
	if !b.enqueue(b.light, j, false) {
		b.homeQueued.Store(false)
	}
}

func (b *Bot) publishHome(ctx context.Context, users []string) {
	ctx, cancel := b.postCtx(ctx)
	defer cancel()
	sctx, cancel := storeCtx(ctx)
	entries, err := b.o.Store.Latest(sctx)
	cancel()
	if err != nil {
		b.log.Error("App Home not refreshed: store", "err", err)
		return
	}
	fleet := slackrender.HomeView(entries, b.o.Now(), time.UTC)
	for _, u := range users {
		view := fleet
		if !b.mayViewFleet(u) {
			view = slackrender.NoFleetView()
		}
		err := b.call(ctx, "views.publish", func(ctx context.Context) error {
			_, err := b.o.API.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: u, View: view})
			return err
		})
		if err != nil {
			b.log.Warn("App Home not published", "user", u, "err", err)
		}
	}
}

// mayViewFleet reports whether user may see every host's status in the Home
// tab: whether an access rule lets them run history somewhere.
func (b *Bot) mayViewFleet(user string) bool {
	inGroup := func(group string) bool { return b.groups.has(group, user) }
	for _, r := range b.o.Access {
		if r.AllowsUser(string(commands.VerbHistory), user, inGroup) {
			return true
		}
	}
	return false
}
