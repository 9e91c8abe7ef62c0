package ics

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/adaptertest"
)

func TestConformance(t *testing.T) {
	adaptertest.RunCalendar(t, newHarness)
}

// harness serves seeded objects as one feed from a feedServer; each Seed
// moves the clock past the refresh interval so the next read refetches.
type harness struct {
	t     *testing.T
	srv   *feedServer
	clock *clock
	mu    sync.Mutex
	objs  map[string]adapters.Object
	order []string
	a     *Adapter
}

func newHarness(t *testing.T) adaptertest.Harness {
	h := &harness{t: t, clock: newClock(), objs: map[string]adapters.Object{}}
	h.srv = newFeedServer(t, "")
	h.a = NewWith(Options{URL: h.srv.URL, AllowPrivate: true, Refresh: time.Hour}, testEnv(h.clock, nil))
	return h
}

func (h *harness) Adapter(context.Context) (adapters.Reader, error) { return h.a, nil }

func (h *harness) Seed(_ context.Context, kind adapters.Kind, objs ...adapters.Object) (string, error) {
	if kind != adapters.KindCalendar {
		return "", adapters.ErrUnsupported
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range objs {
		if _, ok := h.objs[o.ID]; !ok {
			h.order = append(h.order, o.ID)
		}
		h.objs[o.ID] = o
	}
	feed := &ical.Calendar{Component: ical.NewComponent(ical.CompCalendar)}
	feed.Props.SetText(ical.PropVersion, "2.0")
	feed.Props.SetText(ical.PropProductID, "-//davgate//ics harness//EN")
	zones := map[string]bool{}
	for _, id := range h.order {
		for _, c := range h.objs[id].Data.Children {
			if c.Name == ical.CompTimezone {
				tzid := c.Props.Get(ical.PropTimezoneID).Value
				if zones[tzid] {
					continue
				}
				zones[tzid] = true
			}
			feed.Children = append(feed.Children, c)
		}
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(feed); err != nil {
		return "", err
	}
	h.srv.set(buf.String())
	h.clock.advance(2 * time.Hour)
	return "", nil
}

func (h *harness) Close() { _ = h.a.Close() }
