package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/davgate/davgate/adapters"
)

func (s *Server) get(w http.ResponseWriter, r *http.Request, t target) error {
	ctx := r.Context()
	switch t.level {
	case lvObject:
	case lvCollection:
		return s.exportCollection(w, r, t)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "davgate CalDAV/CardDAV endpoint. Point your client at %s://%s/ with your davgate user name and password.\n", scheme(r), r.Host)
		return nil
	}
	c, err := s.resolveColl(ctx, t)
	if err != nil {
		return err
	}
	o, err := c.src.Adapter.Object(ctx, c.meta.ID, t.obj)
	if err != nil {
		return err
	}
	b, err := o.Encode()
	if err != nil {
		return err
	}
	etag := `"` + etagOf(c.meta.ID, o) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	if !o.Updated.IsZero() {
		h.Set("Last-Modified", o.Updated.UTC().Format(http.TimeFormat))
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && matchETags(inm, etag[1:len(etag)-1], true) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", contentType(c.card))
	h.Set("Content-Length", fmt.Sprint(len(b)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(b)
	return err
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// exportCollection answers GET on a collection with the whole calendar as
// one iCalendar file (or all vCards), for subscription and backup.
func (s *Server) exportCollection(w http.ResponseWriter, r *http.Request, t target) error {
	ctx := r.Context()
	c, err := s.resolveColl(ctx, t)
	if err != nil {
		return err
	}
	objs, err := c.src.Adapter.Objects(ctx, c.meta.ID, adapters.Query{})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if c.card {
		for _, o := range objs {
			if b, err := o.Encode(); err == nil {
				buf.Write(b)
			}
		}
	} else {
		out := ical.NewCalendar()
		out.Props.SetText(ical.PropVersion, "2.0")
		out.Props.SetText(ical.PropProductID, "-//davgate//davgate//EN")
		out.Props.SetText("X-WR-CALNAME", c.displayName())
		seenTZ := map[string]bool{}
		for _, o := range objs {
			cal, err := calendarOf(o)
			if err != nil {
				continue
			}
			for _, child := range cal.Children {
				if child.Name == ical.CompTimezone {
					id := child.Props.Get(ical.PropTimezoneID)
					if id == nil || seenTZ[id.Value] {
						continue
					}
					seenTZ[id.Value] = true
				}
				out.Children = append(out.Children, child)
			}
		}
		if len(out.Children) > 0 {
			if err := ical.NewEncoder(&buf).Encode(out); err != nil {
				return fmt.Errorf("export %q: %w", c.href, err)
			}
		}
	}
	w.Header().Set("Content-Type", contentType(c.card))
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// condFor evaluates If-Match / If-None-Match against the current object and
// returns the adapter condition that makes the write atomic upstream.
func (s *Server) condFor(r *http.Request, c *collRef, id string) (adapters.Cond, bool, error) {
	ctx := r.Context()
	cur, err := c.src.Adapter.Object(ctx, c.meta.ID, id)
	exists := err == nil
	if err != nil && !errors.Is(err, adapters.ErrNotFound) {
		return adapters.Cond{}, false, err
	}
	etag := ""
	if exists {
		etag = etagOf(c.meta.ID, cur)
	}
	var cond adapters.Cond
	if im := r.Header.Get("If-Match"); im != "" {
		if !matchETags(im, etag, exists) {
			return cond, exists, errStatus(http.StatusPreconditionFailed, "If-Match does not match the current ETag: fetch the object again")
		}
		cond.IfVersion = cur.Version
		if cond.IfVersion == "" {
			cond.IfVersion = "\x00" // never matches a real version: the adapter has none to compare
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if matchETags(inm, etag, exists) {
			return cond, exists, errStatus(http.StatusPreconditionFailed, "If-None-Match matched: the object exists")
		}
		if strings.TrimSpace(inm) == "*" {
			cond.IfAbsent = true
		}
	}
	if cond.IfVersion == "\x00" {
		cond.IfVersion = ""
	}
	return cond, exists, nil
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, t target) error {
	if t.level != lvObject {
		return errStatus(http.StatusMethodNotAllowed, "PUT is allowed on objects only")
	}
	ctx := r.Context()
	c, err := s.resolveColl(ctx, t)
	if err != nil {
		return err
	}
	href := objPath(c.href, c.card, t.obj)
	if c.readOnly() {
		return needPrivileges(c.href, "write-content")
	}
	if err := checkContentType(r, c.card); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	obj := adapters.Object{ID: t.obj, Updated: time.Now().UTC().Truncate(time.Second)}
	var canon []byte
	if c.card {
		card, err := vcard.NewDecoder(bytes.NewReader(body)).Decode()
		if err != nil || card.Value(vcard.FieldUID) == "" && card.Value(vcard.FieldFormattedName) == "" {
			return &davError{status: http.StatusBadRequest, precond: "<card:valid-address-data/>", msg: "the body is not a valid vCard", cause: err}
		}
		if card.Value(vcard.FieldVersion) == "" {
			card.SetValue(vcard.FieldVersion, "3.0")
		}
		obj.Card = card
	} else {
		cal, err := safeDecodeCal(body)
		if err != nil {
			return &davError{status: http.StatusBadRequest, precond: "<c:valid-calendar-data/>", msg: "the body is not valid iCalendar", cause: err}
		}
		uid, comp, err := validateResource(cal, obj.Updated)
		if err != nil {
			return err
		}
		if !supportsComp(c.meta.Components, comp) {
			return errPrecond(http.StatusForbidden, "<c:supported-calendar-component/>", comp+" is not accepted by this calendar")
		}
		if other, err := s.uidHolder(r, c, uid, t.obj); err != nil {
			return err
		} else if other != "" {
			return errPrecond(http.StatusConflict, "<c:no-uid-conflict><d:href>"+xmlEscape(objPath(c.href, false, other))+"</d:href></c:no-uid-conflict>",
				"another object in this calendar has the same UID")
		}
		obj.Data = cal
	}
	if canon, err = obj.Encode(); err != nil {
		return &davError{status: http.StatusBadRequest, msg: "the object cannot be stored as sent", cause: err}
	}
	cond, exists, err := s.condFor(r, c, t.obj)
	if err != nil {
		return err
	}
	stored, err := c.src.Adapter.(adapters.Writer).Put(ctx, c.meta.ID, obj, cond)
	if err != nil {
		return err
	}
	// RFC 4791 §5.3.4: send the ETag only if what is stored is what the
	// client sent (up to go-ical's canonical formatting), so clients whose
	// data the upstream rewrote fetch it again.
	if b, err := stored.Encode(); err == nil && bytes.Equal(b, canon) {
		w.Header().Set("ETag", `"`+etagOf(c.meta.ID, stored)+`"`)
	}
	if exists {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Location", href)
	w.WriteHeader(http.StatusCreated)
	return nil
}

func checkContentType(r *http.Request, card bool) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errStatus(http.StatusUnsupportedMediaType, "malformed Content-Type")
	}
	ok := mt == "text/calendar"
	if card {
		ok = mt == "text/vcard" || mt == "text/x-vcard" || mt == "text/directory"
	}
	if !ok {
		return errStatus(http.StatusUnsupportedMediaType, "unsupported Content-Type "+mt)
	}
	return nil
}

func supportsComp(comps []string, comp string) bool {
	if len(comps) == 0 {
		comps = []string{ical.CompEvent}
	}
	for _, c := range comps {
		if strings.EqualFold(c, comp) {
			return true
		}
	}
	return false
}

// validateResource applies RFC 4791 §4.1: one UID, one component type, no
// METHOD. It fills what go-ical needs to encode (PRODID, VERSION, DTSTAMP).
func validateResource(cal *ical.Calendar, now time.Time) (uid, comp string, err error) {
	bad := func(msg string) error {
		return errPrecond(http.StatusForbidden, "<c:valid-calendar-object-resource/>", msg)
	}
	cal.Props.Del(ical.PropMethod)
	if cal.Props.Get(ical.PropVersion) == nil {
		cal.Props.SetText(ical.PropVersion, "2.0")
	}
	if cal.Props.Get(ical.PropProductID) == nil {
		cal.Props.SetText(ical.PropProductID, "-//davgate//davgate//EN")
	}
	for _, child := range cal.Children {
		switch child.Name {
		case ical.CompTimezone:
			continue
		case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
		default:
			if !strings.HasPrefix(child.Name, "X-") {
				return "", "", bad(child.Name + " cannot be stored in a calendar object")
			}
			continue
		}
		if comp == "" {
			comp = child.Name
		} else if comp != child.Name {
			return "", "", bad("a calendar object holds one component type")
		}
		p := child.Props.Get(ical.PropUID)
		if p == nil || p.Value == "" {
			return "", "", bad(child.Name + " has no UID")
		}
		if uid == "" {
			uid = p.Value
		} else if uid != p.Value {
			return "", "", bad("a calendar object holds one UID")
		}
		if child.Props.Get(ical.PropDateTimeStamp) == nil {
			stamp := now
			if lm := child.Props.Get(ical.PropLastModified); lm != nil {
				if t, err := lm.DateTime(time.UTC); err == nil {
					stamp = t
				}
			}
			child.Props.SetDateTime(ical.PropDateTimeStamp, stamp.UTC())
		}
	}
	if comp == "" {
		return "", "", bad("no VEVENT, VTODO or VJOURNAL in the object")
	}
	return uid, comp, nil
}

// uidHolder returns the ID of another object in c holding uid, or "".
func (s *Server) uidHolder(r *http.Request, c *collRef, uid, self string) (string, error) {
	objs, err := c.src.Adapter.Objects(r.Context(), c.meta.ID, adapters.Query{})
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		if o.ID == self {
			continue
		}
		cal, err := calendarOf(o)
		if err != nil {
			continue
		}
		for _, child := range cal.Children {
			if p := child.Props.Get(ical.PropUID); p != nil && p.Value == uid {
				return o.ID, nil
			}
		}
	}
	return "", nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, t target) error {
	ctx := r.Context()
	switch t.level {
	case lvObject:
		c, err := s.resolveColl(ctx, t)
		if err != nil {
			return err
		}
		if c.readOnly() {
			return needPrivileges(c.href, "unbind")
		}
		cond, exists, err := s.condFor(r, c, t.obj)
		if err != nil {
			return err
		}
		if !exists {
			return errStatus(http.StatusNotFound, "no such object")
		}
		if err := c.src.Adapter.(adapters.Writer).Delete(ctx, c.meta.ID, t.obj, cond); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case lvCollection:
		c, err := s.resolveColl(ctx, t)
		if err != nil {
			return err
		}
		cw, ok := c.src.Adapter.(adapters.CollectionWriter)
		if !ok || !c.src.caps.CollectionWrite || c.meta.ReadOnly {
			return needPrivileges(homePath(t.card, scopeOf(ctx).user), "unbind")
		}
		if err := cw.DeleteCollection(ctx, c.meta.ID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return errStatus(http.StatusForbidden, "this resource cannot be deleted")
}

// allow lists the methods a target accepts, for OPTIONS and 405 answers.
func (s *Server) allow(ctx context.Context, t target) []string {
	base := []string{"OPTIONS", "GET", "HEAD", "PROPFIND"}
	switch t.level {
	case lvCollection:
		m := append(base, "REPORT")
		if c, err := s.resolveColl(ctx, t); err == nil {
			if !c.readOnly() {
				m = append(m, "PROPPATCH", "DELETE")
			}
			return m
		}
		return append(m, "PROPPATCH", "DELETE", "MKCOL", "MKCALENDAR")
	case lvObject:
		m := append(base, "REPORT")
		if c, err := s.resolveColl(ctx, t); err == nil && c.readOnly() {
			return m
		}
		return append(m, "PUT", "DELETE")
	}
	return base
}

func (s *Server) serveOptions(w http.ResponseWriter, r *http.Request, t target) {
	h := w.Header()
	h.Set("DAV", "1, 3, access-control, calendar-access, addressbook, extended-mkcol")
	h.Set("Allow", strings.Join(s.allow(r.Context(), t), ", "))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// safeDecodeCal decodes one VCALENDAR, turning decoder panics on malformed
// input into errors.
func safeDecodeCal(b []byte) (*ical.Calendar, error) {
	// One strict decoder for the whole project (adapters.Object.Calendar):
	// a client's PUT is refused, not repaired, when it is malformed.
	return adapters.Object{Raw: bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))}.Calendar()
}
