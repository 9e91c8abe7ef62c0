package ews

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/ews/api"
)

// busyTypes maps GetUserAvailability BusyTypes to FBTYPEs; Free,
// WorkingElsewhere and NoData are not busy.
var busyTypes = map[string]string{"Busy": "BUSY", "Tentative": "BUSY-TENTATIVE", "OOF": "BUSY-UNAVAILABLE"}

// mailboxOf returns the SMTP address whose availability stands for coll:
// the configured mailbox (or the user name when it is an address) for
// the primary calendar, the owner for a shared calendar, "" otherwise.
func (a *Adapter) mailboxOf(coll string) string {
	switch {
	case coll == PrimaryCalendar:
		if a.opts.Mailbox != "" {
			return a.opts.Mailbox
		}
		if strings.Contains(a.opts.Username, "@") {
			return a.opts.Username
		}
	case strings.HasPrefix(coll, sharedPrefix):
		return strings.TrimPrefix(coll, sharedPrefix)
	}
	return ""
}

// FreeBusy answers from one GetUserAvailability call (FreeBusy view, in
// UTC). Availability covers a mailbox's default calendar, so only the
// primary and shared calendars answer; other collections, and mailboxes
// Exchange cannot resolve, return ErrUnsupported and the gateway computes
// the answer from the events.
func (a *Adapter) FreeBusy(ctx context.Context, coll string, start, end time.Time) ([]adapters.BusyPeriod, error) {
	st, err := a.state(ctx, coll)
	if err != nil {
		return nil, err
	}
	addr := a.mailboxOf(coll)
	if st.kind != kindEvents || addr == "" {
		return nil, fmt.Errorf("ews: free-busy of %q: no mailbox availability for it: %w", coll, adapters.ErrUnsupported)
	}
	const local = "2006-01-02T15:04:05"
	resp, err := a.c.CallResponse(ctx, "GetUserAvailability", read, &api.GetUserAvailability{
		TimeZone:    api.UTCZone(),
		MailboxData: []api.MailboxData{{Email: api.MailboxAddress{Address: addr}, AttendeeType: "Required"}},
		FreeBusyViewOptions: api.FreeBusyViewOptions{StartTime: start.UTC().Format(local), EndTime: end.UTC().Format(local),
			MergedFreeBusyIntervalInMinutes: 30, RequestedView: "FreeBusy"}})
	if err != nil {
		return nil, err
	}
	if len(resp.FreeBusy) != 1 {
		return nil, fmt.Errorf("ews: GetUserAvailability: %d answers for one mailbox", len(resp.FreeBusy))
	}
	r := resp.FreeBusy[0]
	if err := check("GetUserAvailability", read, r.ResponseMessage); err != nil {
		if errors.Is(err, adapters.ErrUnavailable) || errors.Is(err, adapters.ErrUnauthorized) {
			return nil, err
		}
		return nil, fmt.Errorf("%v: %w", err, adapters.ErrUnsupported)
	}
	var out []adapters.BusyPeriod
	for _, ev := range r.Events {
		typ, busy := busyTypes[ev.BusyType]
		if !busy {
			continue
		}
		s, err1 := time.ParseInLocation(local, strings.TrimSuffix(ev.StartTime, "Z"), time.UTC)
		e, err2 := time.ParseInLocation(local, strings.TrimSuffix(ev.EndTime, "Z"), time.UTC)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ews: GetUserAvailability: bad event times %q..%q", ev.StartTime, ev.EndTime)
		}
		out = append(out, adapters.BusyPeriod{Start: s, End: e, Type: typ})
	}
	return out, nil
}

var _ adapters.FreeBusyer = (*Adapter)(nil)
