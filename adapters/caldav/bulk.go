package caldav

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/davgate/davgate/adapters"
)

// Bulk loading.
//
// Servers that store one file per object pay for each PUT in proportion
// to the collection's size: Radicale 3.1 scans every object of the
// collection for a UID conflict on each new object (BaseCollection.has_uid
// reads and hashes every file), so filling an empty calendar object by
// object is quadratic, about 0.75 s per PUT at 10,000 objects. Radicale
// also accepts a PUT of a whole VCALENDAR on a collection URL: it replaces
// the collection with one object per UID, named "<UID>.ics", in linear
// time. PutAll uses that for a collection the caller has just created
// (so there is nothing to replace), and checks with a listing that the
// server stored every object under the href a one-by-one PUT would have
// used; anything else is reported as an error so that the caller falls
// back to per-object PUTs. Servers without whole-collection PUT refuse it
// (405/403/415) and nothing changes.

// bulkPerObject is the extra time a bulk PUT may take per object on top
// of the request timeout: Radicale regenerates each event's VTIMEZONE
// from its parsed rules, up to ~100 ms an object on a busy machine.
const bulkPerObject = 200 * time.Millisecond

// PutAll stores objs in coll, which the caller created and which must be
// empty: a whole collection PUT replaces what is there. Objects that cannot
// go into a collection PUT unchanged (IDs that are not their UID, extra
// calendar properties, several UIDs, a VTIMEZONE that differs from
// another object's of the same TZID) are left out. It returns the objects
// stored, with ID and Version, once a listing shows each under its usual
// href; the rest (and every object of an address book) are for the
// caller to PUT one by one. An error means the
// bulk path did not work as intended: ErrUnsupported if the server
// refused it or stored something else (the caller must list the
// collection again), ErrUnavailable if the request failed in flight: the
// server may then still be storing the collection, and replace whatever
// is written meanwhile.
func (a *Adapter) PutAll(ctx context.Context, coll string, objs []adapters.Object) ([]adapters.Object, error) {
	c, err := a.lookup(ctx, coll)
	if err != nil {
		return nil, err
	}
	if c.meta.ReadOnly {
		return nil, fmt.Errorf("caldav: bulk put in %q: %w", coll, adapters.ErrReadOnly)
	}
	if c.meta.Kind != adapters.KindCalendar {
		return nil, nil // address books go one by one
	}
	f, err := os.CreateTemp("", "davgate-bulk-*.ics")
	if err != nil {
		return nil, fmt.Errorf("caldav: bulk put: spool: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	ids, size, err := spoolCalendar(f, objs)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("caldav: bulk put: spool: %w", err)
	}
	before := c.meta
	what := fmt.Sprintf("bulk put of %d objects in %q", len(ids), coll)
	timeout := a.opts.Timeout + time.Duration(len(ids))*bulkPerObject
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodPut, c.url, bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return nil, fmt.Errorf("caldav: %s: %w: %v", what, adapters.ErrInvalid, err)
	}
	// Content-Length is required: Radicale reads no body without it.
	req.ContentLength = size
	req.Header.Set("Content-Type", "text/calendar; charset=utf-8")
	if a.username != "" {
		req.SetBasicAuth(a.username, a.password)
	}
	// The server answers only once it has split and stored everything:
	// pctx bounds the request, not the per-request timeouts.
	hc := *a.http
	hc.Timeout = 0
	if tr, ok := hc.Transport.(*http.Transport); ok && tr.ResponseHeaderTimeout > 0 {
		tr = tr.Clone()
		tr.ResponseHeaderTimeout = 0
		hc.Transport = tr
		defer tr.CloseIdleConnections()
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("caldav: %s: %w", what, ctx.Err())
		}
		return nil, fmt.Errorf("caldav: %s: %w: %v", what, adapters.ErrUnavailable, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		err := errorFromResponse(what, resp)
		if errors.Is(err, adapters.ErrUnavailable) || errors.Is(err, adapters.ErrUnauthorized) {
			return nil, err
		}
		return nil, fmt.Errorf("caldav: %s: refused: %w (%v)", what, adapters.ErrUnsupported, err)
	}
	resp.Body.Close()

	// The collection must still be a calendar, holding exactly the
	// objects sent, each under <segment>.ics.
	got, err := a.refreshOne(ctx, c.url)
	if err != nil {
		return nil, fmt.Errorf("caldav: %s: the collection is no calendar afterwards: %w", what, errors.Join(adapters.ErrUnsupported, err))
	}
	ms, err := a.members(ctx, got)
	if err != nil {
		return nil, err
	}
	byPath := make(map[string]string, len(ms))
	for _, m := range ms {
		byPath[mustPath(m.url)] = m.etag
	}
	stored := make([]adapters.Object, 0, len(ids))
	for _, id := range ids {
		u := got.objectURL(id)
		etag, ok := byPath[mustPath(u)]
		if !ok || etag == "" {
			return nil, fmt.Errorf("caldav: %s: the server did not store %q as %s (%d objects listed, %d sent): %w",
				what, id, mustPath(u), len(ms), len(ids), adapters.ErrUnsupported)
		}
		delete(byPath, mustPath(u))
		got.remember(id, u)
		stored = append(stored, adapters.Object{ID: id, Version: etag})
	}
	if len(byPath) > 0 {
		return nil, fmt.Errorf("caldav: %s: the server listed %d objects more than sent: %w", what, len(byPath), adapters.ErrUnsupported)
	}
	a.restoreMeta(ctx, before, got.meta)
	return stored, nil
}

// restoreMeta puts back the name, description and color a whole
// collection PUT dropped (Radicale replaces the collection's properties
// with the body's X-WR-CALNAME). Failures are cosmetic: logged only.
func (a *Adapter) restoreMeta(ctx context.Context, want, have adapters.Collection) {
	var p adapters.CollectionPatch
	if want.Name != "" && have.Name != want.Name {
		p.Name = &want.Name
	}
	if want.Description != "" && have.Description != want.Description {
		p.Description = &want.Description
	}
	if want.Color != "" && !sameColor(have.Color, want.Color) {
		p.Color = &want.Color
	}
	if p.Name == nil && p.Description == nil && p.Color == nil {
		return
	}
	if _, err := a.UpdateCollection(ctx, want.ID, p); err != nil {
		a.log.WarnContext(ctx, "restoring collection properties after a bulk put failed", "collection", want.ID, "err", err)
	}
}

// spoolCalendar writes one VCALENDAR holding the components of every
// bulk-safe object (VTIMEZONEs first, once per TZID) to w, and returns
// the IDs written and the byte count.
func spoolCalendar(f *os.File, objs []adapters.Object) ([]string, int64, error) {
	zones := map[string]string{} // TZID → VTIMEZONE text
	var zoneOrder []string
	ok := make([]bool, len(objs))
	for i, o := range objs {
		p, good := splitObject(o)
		if !good {
			continue
		}
		clash := false
		for tzid, text := range p.zones {
			if have, seen := zones[tzid]; seen && have != text {
				clash = true
			}
		}
		if clash {
			continue
		}
		for tzid, text := range p.zones {
			if _, seen := zones[tzid]; !seen {
				zones[tzid] = text
				zoneOrder = append(zoneOrder, tzid)
			}
		}
		ok[i] = true
	}
	w := bufio.NewWriterSize(f, 256<<10)
	w.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//davgate//migrate//EN\r\n")
	for _, tzid := range zoneOrder {
		w.WriteString(zones[tzid])
	}
	var ids []string
	for i, o := range objs {
		if !ok[i] {
			continue
		}
		p, _ := splitObject(o)
		w.WriteString(p.body)
		ids = append(ids, o.ID)
	}
	w.WriteString("END:VCALENDAR\r\n")
	if err := w.Flush(); err != nil {
		return nil, 0, fmt.Errorf("caldav: bulk put: spool: %w", err)
	}
	size, err := f.Seek(0, 1)
	if err != nil {
		return nil, 0, fmt.Errorf("caldav: bulk put: spool: %w", err)
	}
	return ids, size, nil
}

// objectParts is one calendar object taken apart for a collection body.
type objectParts struct {
	zones map[string]string // TZID → VTIMEZONE text
	body  string            // the other components
}

// splitObject takes o apart; good is false when the object cannot go into
// a collection PUT and come back the same under the same href: its ID must
// be its UID and a plain file name, its calendar properties only VERSION,
// PRODID and CALSCALE:GREGORIAN, and its components events, tasks or
// journals of that one UID, plus VTIMEZONEs.
func splitObject(o adapters.Object) (p objectParts, good bool) {
	if o.ID == "" || segmentOf(o.ID) != o.ID || strings.ContainsAny(o.ID, `;,\:"`) ||
		strings.HasSuffix(strings.ToLower(o.ID), ".ics") || isHashName(o.ID) {
		return p, false
	}
	raw, err := o.Encode()
	if err != nil {
		return p, false
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) < 2 || !strings.EqualFold(lines[0], "BEGIN:VCALENDAR") || !strings.EqualFold(lines[len(lines)-1], "END:VCALENDAR") {
		return p, false
	}
	p.zones = map[string]string{}
	var body, comp strings.Builder
	depth, name, tzid, uids := 0, "", "", 0
	for _, l := range lines[1 : len(lines)-1] {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			if depth == 0 {
				continue // a folded calendar property, already judged
			}
			comp.WriteString(l + "\r\n")
			continue
		}
		up := strings.ToUpper(l)
		switch {
		case strings.HasPrefix(up, "BEGIN:"):
			if depth == 0 {
				name, tzid = strings.TrimSpace(up[len("BEGIN:"):]), ""
				if name != "VTIMEZONE" && name != "VEVENT" && name != "VTODO" && name != "VJOURNAL" {
					return p, false
				}
				comp.Reset()
			}
			depth++
		case strings.HasPrefix(up, "END:"):
			depth--
			if depth < 0 {
				return p, false
			}
		case depth == 0:
			if !strings.HasPrefix(up, "VERSION:") && !strings.HasPrefix(up, "PRODID:") && up != "CALSCALE:GREGORIAN" {
				return p, false
			}
			continue
		case depth == 1 && name == "VTIMEZONE" && (strings.HasPrefix(up, "TZID:") || strings.HasPrefix(up, "TZID;")):
			tzid = l[strings.IndexByte(l, ':')+1:]
		case depth >= 1 && name != "VTIMEZONE" && strings.Contains(up, ";TZID=") && before2000(l):
			// Radicale rewrites the VTIMEZONE from 2000 on: a local
			// time before that might move. Such objects go one by one.
			return p, false
		case depth == 1 && name != "VTIMEZONE" && (strings.HasPrefix(up, "UID:") || strings.HasPrefix(up, "UID;")):
			if l[strings.IndexByte(l, ':')+1:] != o.ID {
				return p, false
			}
			uids++
		}
		comp.WriteString(l + "\r\n")
		if depth == 0 {
			if name == "VTIMEZONE" {
				if tzid == "" {
					return p, false
				}
				p.zones[tzid] = comp.String()
			} else {
				body.WriteString(comp.String())
			}
		}
	}
	if depth != 0 || uids == 0 {
		return p, false
	}
	// Every event, task or journal must carry the UID: count BEGINs.
	if n := strings.Count(strings.ToUpper(body.String()), "\r\nEND:VEVENT\r\n") +
		strings.Count(strings.ToUpper(body.String()), "\r\nEND:VTODO\r\n") +
		strings.Count(strings.ToUpper(body.String()), "\r\nEND:VJOURNAL\r\n"); n != uids {
		return p, false
	}
	p.body = body.String()
	return p, true
}

// before2000 reports whether a property line's value (the first of a
// list) is a date before 2000.
func before2000(l string) bool {
	i := strings.LastIndexByte(l, ':')
	if i < 0 || len(l) < i+5 {
		return false
	}
	return l[i+1:i+5] < "2000"
}
