package bot

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/slack-go/slack"

	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// frontEndTimeout bounds the look-up of a back end's front ends: their latest
// reports in the store and their threads' permalinks in Slack, all of them.
const frontEndTimeout = 5 * time.Second

// reportHistory is what the second hop reads of the store: a host's reports,
// newest first (Store.History).
type reportHistory interface {
	History(ctx context.Context, host string, limit int) ([]store.Entry, error)
}

// frontEnds returns the front ends of the second hops whose back end rep's host is,
// when they are inventory hosts, with each one's latest stored report and its
// thread's permalink, for the thread to name (slackrender.ThreadOptions.FrontEnds);
// nil when the host is the back end of no such path. It reads for at most
// frontEndTimeout in all, not cancelled with ctx (a triage cancelled at shutdown
// still posts its thread) but with the bot's hard stop. A front end whose reports
// cannot be read is marked Unread and the error logged; a permalink that cannot be
// had is left out and logged.
func (b *Bot) frontEnds(ctx context.Context, rep triage.Report, log *slog.Logger) []slackrender.FrontEnd {
	hosts := frontEndHosts(rep, b.o.Inventory)
	if len(hosts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), frontEndTimeout)
	defer cancel()
	stop := context.AfterFunc(b.hard, cancel)
	defer stop()
	permalink := func(ctx context.Context, channel, ts string) (string, error) {
		var link string
		err := b.call(ctx, "chat.getPermalink", func(ctx context.Context) error {
			var err error
			link, err = b.o.API.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
			return err
		})
		return link, err
	}
	return lookUpFrontEnds(ctx, hosts, b.o.Store, permalink, log)
}

// frontEndHosts returns the inventory names of the front ends of rep's paths whose
// back end is rep's host, in the order of the paths, each once; the host itself is
// left out, as are front ends the inventory does not list (an application's
// account, or a host named only by a linked server). Names are looked up in inv,
// never used as given.
func frontEndHosts(rep triage.Report, inv Inventory) []string {
	if rep.Delegation == nil {
		return nil
	}
	is := func(name string) bool {
		if strings.EqualFold(name, rep.Host) {
			return true
		}
		h, ok := inv.Lookup(name)
		return ok && strings.EqualFold(h, rep.Host)
	}
	var out []string
	for _, p := range rep.Delegation.Paths {
		if p.FrontEnd == "" || !is(p.BackEnd) || is(p.FrontEnd) {
			continue
		}
		h, ok := inv.Lookup(p.FrontEnd)
		if !ok {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || strings.EqualFold(o, h)
		}
		if !dup {
			out = append(out, h)
		}
	}
	return out
}

// lookUpFrontEnds returns each host's latest report in st and the permalink of its
// thread, when the store has one. Only the front ends the thread shows
// (slackrender.MaxFrontEnds) are looked up; the others are passed on by name, for
// the thread to count. Store errors are logged, never shown: the front end is
// marked Unread.
func lookUpFrontEnds(ctx context.Context, hosts []string, st reportHistory, permalink func(ctx context.Context, channel, ts string) (string, error), log *slog.Logger) []slackrender.FrontEnd {
	out := make([]slackrender.FrontEnd, len(hosts))
	for i, h := range hosts {
		out[i].Host = h
		if i >= slackrender.MaxFrontEnds {
			continue
		}
		es, err := st.History(ctx, h, 1)
		if err != nil {
			log.Warn("front end's reports not read; the thread says so", "front_end", h, "err", err)
			out[i].Unread = true
			continue
		}
		if len(es) == 0 || es[0].ReportID == "" {
			continue // not triaged yet
		}
		e := es[0]
		out[i].ReportID, out[i].Status = e.ReportID, e.Status
		if e.Channel == "" || e.ThreadTS == "" {
			continue
		}
		link, err := permalink(ctx, e.Channel, e.ThreadTS)
		if err != nil {
			log.Warn("permalink of a front end's thread not found; named without it", "front_end", h, "report", e.ReportID, "err", err)
			continue
		}
		out[i].Link = link
	}
	return out
}
