package bot

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/authtriage/authtriage/commands"
)

// allowed reports whether the request's user may run verb in the request's
// channel. help is always allowed; everything else needs a rule.
func (b *Bot) allowed(verb commands.Verb, req Request) bool {
	if verb == commands.VerbHelp {
		return true
	}
	inGroup := func(group string) bool { return b.groups.has(group, req.User) }
	for _, r := range b.o.Access {
		if r.Allows(string(verb), req.Channel, req.User, inGroup) {
			return true
		}
	}
	return false
}

// groupCache holds the members of the user groups the access rules name. It is
// filled in the background, so deciding access never waits on Slack; until a
// group's members are known, nobody is taken to be in it.
type groupCache struct {
	// loaded is closed once every group was asked for (fetched or not) for the
	// first time, or at once when there are none.
	loaded  chan struct{}
	mu      sync.RWMutex
	members map[string][]string // group ID -> sorted user IDs
}

func (g *groupCache) has(group, user string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := slices.BinarySearch(g.members[group], user)
	return ok
}

func (g *groupCache) set(group string, users []string) {
	users = slices.Clone(users)
	slices.Sort(users)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members == nil {
		g.members = map[string][]string{}
	}
	g.members[group] = users
}

// refreshGroups fetches the groups' members now and every GroupRefresh until ctx
// is done. A group that cannot be fetched keeps its last known members.
func (b *Bot) refreshGroups(ctx context.Context) {
	loaded := sync.OnceFunc(func() { close(b.groups.loaded) })
	defer loaded()
	if len(b.o.UserGroups) == 0 {
		return
	}
	t := time.NewTicker(b.o.GroupRefresh)
	defer t.Stop()
	for {
		for _, g := range b.o.UserGroups {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			users, err := b.o.API.GetUserGroupMembersContext(cctx, g)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				b.metrics.apiErrors.WithLabelValues("usergroups.users.list", errorLabel(err)).Inc()
				b.log.Error("user group members not fetched; access through the group uses the last known members", "group", g, "err", err)
				continue
			}
			b.groups.set(g, users)
		}
		loaded()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
