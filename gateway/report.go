package gateway

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
	"github.com/davgate/davgate/adapters/filter"
	"github.com/davgate/davgate/adapters/icalfix"
)

var (
	rCalQuery     = n(nsCalDAV, "calendar-query")
	rCalMultiget  = n(nsCalDAV, "calendar-multiget")
	rFreeBusy     = n(nsCalDAV, "free-busy-query")
	rCardQuery    = n(nsCardDAV, "addressbook-query")
	rCardMultiget = n(nsCardDAV, "addressbook-multiget")
	rSync         = n(nsDAV, "sync-collection")
)

func (s *Server) report(w http.ResponseWriter, r *http.Request, t target) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	root, err := reportRoot(body)
	if err != nil {
		return err
	}
	if t.level != lvCollection && t.level != lvObject {
		return errPrecond(http.StatusForbidden, "<d:supported-report/>", "this REPORT is served on collections only")
	}
	c, err := s.resolveColl(r.Context(), t)
	if err != nil {
		return err
	}
	kindOK := func(card bool) error {
		if c.card != card {
			return errPrecond(http.StatusForbidden, "<d:supported-report/>", fmt.Sprintf("REPORT %s is not supported on this collection", root.Local))
		}
		return nil
	}
	switch root {
	case rCalQuery:
		if err := kindOK(false); err != nil {
			return err
		}
		return s.calendarQuery(w, r, c, body)
	case rCalMultiget, rCardMultiget:
		if err := kindOK(root == rCardMultiget); err != nil {
			return err
		}
		return s.multiget(w, r, c, body)
	case rCardQuery:
		if err := kindOK(true); err != nil {
			return err
		}
		return s.cardQuery(w, r, c, body)
	case rFreeBusy:
		if err := kindOK(false); err != nil {
			return err
		}
		return s.freeBusy(w, r, c, body)
	case rSync:
		return s.syncCollection(w, r, c, body)
	}
	return errPrecond(http.StatusForbidden, "<d:supported-report/>", fmt.Sprintf("REPORT %s is not supported", root.Local))
}

// calendarOf returns an object's parsed calendar, decoding Raw if the
// adapter did not keep the parsed form.
func calendarOf(o adapters.Object) (*ical.Calendar, error) { return o.Calendar() }

func cardOf(o adapters.Object) (vcard.Card, error) { return o.VCard() }

// rangeOf extracts the time range of a query's first-level comp-filter, so
// adapters can narrow their listing.
func rangeOf(f filter.CompFilter) adapters.Query {
	if len(f.Comps) != 1 || f.Comps[0].TimeRange == nil || f.Comps[0].IsNotDefined || f.IsNotDefined {
		return adapters.Query{}
	}
	tr := f.Comps[0].TimeRange
	return adapters.Query{Start: tr.Start, End: tr.End}
}

func (s *Server) calendarQuery(w http.ResponseWriter, r *http.Request, c *collRef, body []byte) error {
	var q calQueryXML
	if err := xml.Unmarshal(body, &q); err != nil {
		return badXML(err)
	}
	f, err := q.Filter.conv()
	if err != nil {
		return err
	}
	if f.Name != "VCALENDAR" {
		return errPrecond(http.StatusForbidden, "<c:valid-filter/>", "the filter must start with comp-filter VCALENDAR")
	}
	if err := f.Validate(); err != nil {
		return &davError{status: http.StatusForbidden, precond: "<c:supported-collation/>", msg: "unsupported collation or filter", cause: err}
	}
	loc, err := s.queryZone(q.Timezone, c)
	if err != nil {
		return err
	}
	req := propsOf(q.AllProp, q.Prop)
	ctx := r.Context()
	objs, err := c.src.Adapter.Objects(ctx, c.meta.ID, rangeOf(f))
	if err != nil {
		return err
	}
	ms := newMultistatus(w)
	skipped := 0
	quick := namesOnly(f)
	rq := rangeOf(f)
	for _, o := range objs {
		ok := false
		var err error
		if !rq.IsZero() && !s.mayMatch(c.meta.ID, o, loc, rq.Start, rq.End) {
			continue
		}
		if raw, rerr := o.Encode(); quick && rerr == nil && hasComponents(raw, f) {
			// Present in the text: a match. Absent: parse to be sure.
			ok = true
		} else if p, perr := s.prepared(c.meta.ID, o, loc); perr != nil {
			err = perr
		} else {
			ok, err = p.Match(f)
		}
		if err != nil {
			// One bad object never fails the report. Over-returning is
			// safer than omitting: sync clients delete what is missing.
			skipped++
			s.log.Debug("object not evaluable in calendar-query; returned anyway", "source", c.src.Name, "collection", c.meta.ID, "object", o.ID, "err", err)
			ok = true
		}
		if ok {
			s.answerObject(ms, c, req, o)
		}
	}
	if skipped > 0 {
		s.log.Info("calendar-query returned objects it could not evaluate", "source", c.src.Name, "collection", c.meta.ID, "count", skipped)
	}
	return ms.finish("")
}

// hrefTarget parses a multiget href (absolute URL or path).
func hrefTarget(href string) target {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return target{}
	}
	return parsePath(u.EscapedPath())
}

// multigetIndexMin is the href count from which one listing beats one
// Object call per href.
const multigetIndexMin = 8

func (s *Server) multiget(w http.ResponseWriter, r *http.Request, c *collRef, body []byte) error {
	var q multigetXML
	if err := xml.Unmarshal(body, &q); err != nil {
		return badXML(err)
	}
	req := propsOf(q.AllProp, q.Prop)
	ctx := r.Context()
	user := scopeOf(ctx).user
	var index map[string]adapters.Object
	if len(q.Hrefs) >= multigetIndexMin {
		objs, err := c.src.Adapter.Objects(ctx, c.meta.ID, adapters.Query{})
		if err != nil {
			return err
		}
		index = make(map[string]adapters.Object, len(objs))
		for _, o := range objs {
			index[o.ID] = o
		}
	}
	ms := newMultistatus(w)
	for _, href := range q.Hrefs {
		t := hrefTarget(href)
		if t.level != lvObject || t.user != user || t.card != c.card {
			ms.status(href, http.StatusNotFound)
			continue
		}
		oc := c
		if homePath(t.card, user)+url.PathEscape(t.seg)+"/" != c.href {
			var err error
			if oc, err = s.resolveColl(ctx, t); err != nil {
				ms.status(href, fromAdapter(err).status)
				continue
			}
		}
		var o adapters.Object
		var err error
		if oc == c && index != nil {
			var ok bool
			if o, ok = index[t.obj]; !ok {
				err = adapters.ErrNotFound
			}
		} else {
			o, err = oc.src.Adapter.Object(ctx, oc.meta.ID, t.obj)
		}
		if err != nil {
			ms.status(href, fromAdapter(err).status)
			continue
		}
		s.answerObject(ms, oc, req, o)
	}
	return ms.finish("")
}

func (s *Server) cardQuery(w http.ResponseWriter, r *http.Request, c *collRef, body []byte) error {
	var q cardQueryXML
	if err := xml.Unmarshal(body, &q); err != nil {
		return badXML(err)
	}
	f := filter.CardFilter{AllOf: q.Filter.Test == "allof"}
	for _, p := range q.Filter.Props {
		pf := filter.CardPropFilter{Name: p.Name, IsNotDefined: p.IsNotDefined != nil, AllOf: p.Test == "allof", Params: convParams(p.Params)}
		for i := range p.TextMatch {
			pf.TextMatches = append(pf.TextMatches, *p.TextMatch[i].conv())
		}
		f.Props = append(f.Props, pf)
	}
	limit := 0
	if q.Limit != nil {
		limit = q.Limit.NResults
	}
	req := propsOf(q.AllProp, q.Prop)
	objs, err := c.src.Adapter.Objects(r.Context(), c.meta.ID, adapters.Query{})
	if err != nil {
		return err
	}
	ms := newMultistatus(w)
	count := 0
	for _, o := range objs {
		card, err := cardOf(o)
		if err != nil {
			s.log.Debug("vCard not evaluable in addressbook-query; returned anyway", "source", c.src.Name, "object", o.ID, "err", err)
		} else if !filter.MatchCard(card, f) {
			continue
		}
		if limit > 0 && count == limit {
			// RFC 6352 §8.6.1: say the result was truncated.
			ms.s("<d:response><d:href>" + xmlEscape(c.href) + "</d:href><d:status>" + statusLine(http.StatusInsufficientStorage) +
				"</d:status><d:error><d:number-of-matches-within-limits/></d:error></d:response>")
			break
		}
		count++
		s.answerObject(ms, c, req, o)
	}
	return ms.finish("")
}

func (s *Server) syncCollection(w http.ResponseWriter, r *http.Request, c *collRef, body []byte) error {
	var q syncXML
	if err := xml.Unmarshal(body, &q); err != nil {
		return badXML(err)
	}
	if lv := strings.TrimSpace(q.Level); lv != "" && lv != "1" {
		return errPrecond(http.StatusForbidden, "<d:supported-report/>", "only sync-level 1 is supported")
	}
	req := propsOf(nil, q.Prop)
	if q.Prop == nil {
		req = &propReq{names: []xml.Name{pGetETag}}
	}
	tok := strings.TrimSpace(q.Token)
	invalid := errPrecond(http.StatusForbidden, "<d:valid-sync-token/>", "unknown or expired sync token: synchronise again from scratch")
	if tok != "" {
		var ok bool
		if tok, ok = strings.CutPrefix(tok, syncTokenPrefix); !ok || tok == "" {
			return invalid
		}
	}
	ctx := r.Context()
	ch, err := s.changes(ctx, c, tok)
	if err != nil {
		return err
	}
	ms := newMultistatus(w)
	for _, o := range ch.Updated {
		s.answerObject(ms, c, req, o)
	}
	for _, id := range ch.Deleted {
		ms.status(objPath(c.href, c.card, id), http.StatusNotFound)
	}
	return ms.finish("<d:sync-token>" + xmlEscape(syncTokenPrefix+ch.Token) + "</d:sync-token>")
}

// changes lists changes since tok, through the adapter's change listing
// when it has one, else by comparing derived tokens.
func (s *Server) changes(ctx context.Context, c *collRef, tok string) (adapters.Changes, error) {
	if cl, ok := c.src.Adapter.(adapters.ChangeLister); ok && c.src.caps.Changes {
		return cl.Changes(ctx, c.meta.ID, tok)
	}
	cur, err := s.token(ctx, c)
	if err != nil {
		return adapters.Changes{}, err
	}
	switch tok {
	case "":
		objs, err := c.src.Adapter.Objects(ctx, c.meta.ID, adapters.Query{})
		return adapters.Changes{Token: cur, Updated: objs}, err
	case cur:
		return adapters.Changes{Token: cur}, nil
	}
	return adapters.Changes{}, fmt.Errorf("token %q: %w", tok, adapters.ErrInvalidToken)
}

func (s *Server) freeBusy(w http.ResponseWriter, r *http.Request, c *collRef, body []byte) error {
	var q freeBusyXML
	if err := xml.Unmarshal(body, &q); err != nil {
		return badXML(err)
	}
	if q.TimeRange == nil {
		return errPrecond(http.StatusBadRequest, "<c:valid-filter/>", "free-busy-query needs a time-range")
	}
	tr, err := q.TimeRange.parse()
	if err != nil {
		return err
	}
	if tr.Start.IsZero() || tr.End.IsZero() {
		return errStatus(http.StatusBadRequest, "free-busy-query needs both start and end")
	}
	periods, native, err := nativeFreeBusy(r.Context(), c, tr)
	if err != nil {
		return err
	}
	if !native {
		objs, err := c.src.Adapter.Objects(r.Context(), c.meta.ID, adapters.Query{Start: tr.Start, End: tr.End})
		if err != nil {
			return err
		}
		cals := make([]*ical.Calendar, 0, len(objs))
		for _, o := range objs {
			if cal, err := calendarOf(o); err == nil {
				cals = append(cals, cal)
			}
		}
		periods = filter.FreeBusy(cals, tr.Start, tr.End, s.filterOptions(nil)...)
	}
	out := filter.EncodeFreeBusy(periods, tr.Start, tr.End, time.Now())
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(out); err != nil {
		return fmt.Errorf("encode free-busy: %w", err)
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	_, err = w.Write(buf.Bytes())
	return err
}

// nativeFreeBusy asks the adapter for the busy periods when it answers
// free-busy itself (adapters.FreeBusyer); native is false when it does
// not, or says ErrUnsupported for this collection, and the gateway
// computes the answer from the events.
func nativeFreeBusy(ctx context.Context, c *collRef, tr filter.TimeRange) (periods []filter.Period, native bool, err error) {
	fb, ok := c.src.Adapter.(adapters.FreeBusyer)
	if !ok || !c.src.caps.FreeBusy {
		return nil, false, nil
	}
	busy, err := fb.FreeBusy(ctx, c.meta.ID, tr.Start, tr.End)
	if errors.Is(err, adapters.ErrUnsupported) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	for _, b := range busy {
		start, end := b.Start, b.End
		if start.Before(tr.Start) {
			start = tr.Start
		}
		if end.After(tr.End) {
			end = tr.End
		}
		if !end.After(start) {
			continue
		}
		typ := b.Type
		if typ == "" {
			typ = filter.FBBusy
		}
		periods = append(periods, filter.Period{Start: start, End: end, Type: typ})
	}
	return filter.MergePeriods(periods), true, nil
}

// expanded renders an object with its recurrences expanded (calendar-data
// <C:expand>).
func (s *Server) expanded(o adapters.Object, tr filter.TimeRange) ([]byte, bool) {
	cal, err := calendarOf(o)
	if err != nil {
		return nil, false
	}
	ex, err := filter.Expand(cal, tr.Start, tr.End, s.filterOptions(cal)...)
	if err != nil {
		s.log.Debug("cannot expand object", "object", o.ID, "err", err)
		return nil, false
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(ex); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// queryZone is the zone for floating times: the query's <C:timezone>, else
// the collection's, else UTC (RFC 4791 §7.3).
func (s *Server) queryZone(vtz string, c *collRef) (*time.Location, error) {
	if strings.TrimSpace(vtz) != "" {
		cal, err := safeDecodeCal([]byte(vtz))
		if err != nil {
			return nil, &davError{status: http.StatusBadRequest, precond: "<c:valid-calendar-data/>", msg: "the timezone element is not a valid VTIMEZONE", cause: err}
		}
		for _, child := range cal.Children {
			if child.Name == ical.CompTimezone {
				if id := child.Props.Get(ical.PropTimezoneID); id != nil {
					if loc, err := s.filterResolver(cal)(id.Value); err == nil {
						return loc, nil
					}
				}
			}
		}
	}
	if c.meta.TimeZone != "" {
		if loc, err := icalfix.LoadLocation(c.meta.TimeZone); err == nil {
			return loc, nil
		}
	}
	return time.UTC, nil
}
