package caldav

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/davgate/davgate/adapters"
)

// setProps renders the properties of c (or of a patch) for MKCALENDAR,
// extended MKCOL and PROPPATCH.
func setProps(kind adapters.Kind, name, desc, color *string, comps []string) (set, remove string) {
	var s, r strings.Builder
	add := func(v *string, el string) {
		if v == nil {
			return
		}
		if *v == "" {
			r.WriteString("<" + el + "/>")
			return
		}
		local := el
		if i := strings.IndexByte(el, ' '); i > 0 {
			local = el[:i]
		}
		s.WriteString("<" + el + ">" + xmlText(*v) + "</" + local + ">")
	}
	add(name, "d:displayname")
	if kind == adapters.KindAddressBook {
		add(desc, "card:addressbook-description")
	} else {
		add(desc, "c:calendar-description")
		add(color, "a:calendar-color")
		if len(comps) > 0 {
			s.WriteString("<c:supported-calendar-component-set>")
			for _, c := range comps {
				s.WriteString(`<c:comp name="` + xmlText(c) + `"/>`)
			}
			s.WriteString("</c:supported-calendar-component-set>")
		}
	}
	return s.String(), r.String()
}

const nsDecl = `xmlns:d="DAV:" xmlns:c="` + nsCalDAV + `" xmlns:card="` + nsCardAV + `" xmlns:a="` + nsApple + `"`

// CreateCollection implements adapters.CollectionWriter. Calendars are
// made with MKCALENDAR, address books with extended MKCOL (RFC 5689);
// when the server refuses those, a plain MKCOL (with the resource type in
// an extended body) is tried, and properties the server did not take are
// set with PROPPATCH. It returns an error matching ErrPrecondition if
// the ID is taken and ErrUnsupported if the account has no home for the
// kind.
func (a *Adapter) CreateCollection(ctx context.Context, meta adapters.Collection) (adapters.Collection, error) {
	if _, err := a.ensure(ctx, false); err != nil {
		return adapters.Collection{}, err
	}
	if meta.ID == "" || strings.Contains(meta.ID, "..") {
		return adapters.Collection{}, fmt.Errorf("caldav: collection ID %q: %w", meta.ID, adapters.ErrInvalid)
	}
	a.mu.Lock()
	home := a.calHome
	if meta.Kind == adapters.KindAddressBook {
		home = a.cardHome
	}
	a.mu.Unlock()
	if home == "" {
		return adapters.Collection{}, fmt.Errorf("caldav: no %s home on this account: %w", meta.Kind, adapters.ErrUnsupported)
	}
	target := a.base.ResolveReference(&url.URL{Path: withSlash(home + strings.Trim(meta.ID, "/"))}).String()
	what := fmt.Sprintf("create collection %q", meta.ID)

	// MKCOL on an existing resource is 405, which also means "method
	// not offered"; asking first tells the two apart.
	// Xandikos answers a PROPFIND of a missing path with a 207 holding
	// a 404 response, so the answer's statuses decide.
	if ms, err := a.propfind(ctx, target, "0", what, "<d:resourcetype/>"); err == nil && exists(ms) {
		return adapters.Collection{}, fmt.Errorf("caldav: %s: exists: %w", what, adapters.ErrPrecondition)
	} else if err != nil && !errors.Is(err, adapters.ErrNotFound) {
		return adapters.Collection{}, err
	}

	comps := meta.Components
	set, _ := setProps(meta.Kind, &meta.Name, &meta.Description, &meta.Color, comps)
	var err error
	if meta.Kind == adapters.KindCalendar {
		body := `<?xml version="1.0" encoding="utf-8"?><c:mkcalendar ` + nsDecl + `><d:set><d:prop>` + set + `</d:prop></d:set></c:mkcalendar>`
		err = a.send1(ctx, request{method: "MKCALENDAR", url: target, body: []byte(body), what: what,
			header: http.Header{"Content-Type": {`application/xml; charset="utf-8"`}}})
	}
	if meta.Kind == adapters.KindAddressBook || errors.Is(err, adapters.ErrUnsupported) {
		rt := "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
		if meta.Kind == adapters.KindAddressBook {
			rt = "<d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>"
		}
		body := `<?xml version="1.0" encoding="utf-8"?><d:mkcol ` + nsDecl + `><d:set><d:prop>` + rt + set + `</d:prop></d:set></d:mkcol>`
		err = a.send1(ctx, request{method: "MKCOL", url: target, body: []byte(body), what: what,
			header: http.Header{"Content-Type": {`application/xml; charset="utf-8"`}}})
		if errors.Is(err, adapters.ErrUnsupported) || errors.Is(err, adapters.ErrInvalid) {
			// RFC 4918 MKCOL with a body it does not know is 415.
			err = a.send1(ctx, request{method: "MKCOL", url: target, what: what})
			if err == nil {
				rtOnly := `<?xml version="1.0" encoding="utf-8"?><d:propertyupdate ` + nsDecl + `><d:set><d:prop>` + rt + `</d:prop></d:set></d:propertyupdate>`
				err = a.proppatch(ctx, target, what, []byte(rtOnly))
			}
		}
	}
	if err != nil {
		return adapters.Collection{}, err
	}
	got, err := a.refreshOne(ctx, target)
	if err != nil {
		return adapters.Collection{}, err
	}
	// Servers may ignore properties in MKCALENDAR/MKCOL bodies.
	p := adapters.CollectionPatch{}
	if meta.Name != "" && got.meta.Name != meta.Name {
		p.Name = &meta.Name
	}
	if meta.Description != "" && got.meta.Description != meta.Description {
		p.Description = &meta.Description
	}
	if meta.Color != "" && meta.Kind == adapters.KindCalendar && !sameColor(got.meta.Color, meta.Color) {
		p.Color = &meta.Color
	}
	if p.Name != nil || p.Description != nil || p.Color != nil {
		up, err := a.UpdateCollection(ctx, got.meta.ID, p)
		if !errors.Is(err, adapters.ErrUnsupported) {
			return up, err
		}
		// PROPPATCH is all or nothing, so one refused property
		// (Xandikos has no calendar-description) sinks the others:
		// set them one by one. The collection exists, and a cosmetic
		// property must not fail a migration; the returned metadata
		// shows what the server kept.
		up = got.meta
		for _, one := range []adapters.CollectionPatch{{Name: p.Name}, {Description: p.Description}, {Color: p.Color}} {
			if one.Name == nil && one.Description == nil && one.Color == nil {
				continue
			}
			c, err := a.UpdateCollection(ctx, got.meta.ID, one)
			if err != nil && !errors.Is(err, adapters.ErrUnsupported) {
				return adapters.Collection{}, err
			}
			if err != nil {
				a.log.WarnContext(ctx, "server refused a collection property", "collection", meta.ID, "err", err)
				continue
			}
			up = c
		}
		return up, nil
	}
	return got.meta, nil
}

// sameColor compares "#RRGGBB" with a server's "#RRGGBBAA" form.
func sameColor(have, want string) bool {
	have, want = strings.ToUpper(have), strings.ToUpper(want)
	return have == want || len(want) == 7 && have == want+"FF"
}

// send1 sends a request whose response body is not needed.
func (a *Adapter) send1(ctx context.Context, r request) error {
	resp, err := a.do(ctx, r)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// proppatch sends body and checks every propstat of the answer.
func (a *Adapter) proppatch(ctx context.Context, target, what string, body []byte) error {
	resp, err := a.do(ctx, request{method: "PROPPATCH", url: target, body: body, what: what,
		header: http.Header{"Content-Type": {`application/xml; charset="utf-8"`}}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		return nil
	}
	ms, err := decodeMultistatus(resp)
	if err != nil {
		return fmt.Errorf("caldav: %s: %w", what, err)
	}
	for _, r := range ms.Responses {
		for _, ps := range r.Propstats {
			if code := statusCode(ps.Status); code/100 != 2 {
				var names []string
				for _, c := range ps.Prop.Children {
					names = append(names, c.XMLName.Local)
				}
				return fmt.Errorf("caldav: %s: server refused %s (%s): %w", what, strings.Join(names, ", "), ps.Status, adapters.ErrUnsupported)
			}
		}
	}
	return nil
}

// refreshOne re-reads one collection and records it.
func (a *Adapter) refreshOne(ctx context.Context, target string) (*collection, error) {
	ms, err := a.propfind(ctx, target, "0", "read collection", collectionProps...)
	if err != nil {
		return nil, err
	}
	for _, r := range ms.Responses {
		if c := a.toCollection(r); c != nil {
			a.mu.Lock()
			if old, ok := a.colls[c.meta.ID]; ok && old.url == c.url {
				c.st = old.st
			}
			if a.colls != nil {
				// Copy on write: lookups read the map unlocked.
				colls := maps.Clone(a.colls)
				colls[c.meta.ID] = c
				a.colls = colls
			}
			a.mu.Unlock()
			return c, nil
		}
	}
	return nil, fmt.Errorf("caldav: %s is not a calendar or address book after creation: %w", target, adapters.ErrUnsupported)
}

// UpdateCollection implements adapters.CollectionWriter with PROPPATCH.
func (a *Adapter) UpdateCollection(ctx context.Context, coll string, p adapters.CollectionPatch) (adapters.Collection, error) {
	c, err := a.lookup(ctx, coll)
	if err != nil {
		return adapters.Collection{}, err
	}
	set, remove := setProps(c.meta.Kind, p.Name, p.Description, p.Color, nil)
	if set == "" && remove == "" {
		return c.meta, nil
	}
	body := `<?xml version="1.0" encoding="utf-8"?><d:propertyupdate ` + nsDecl + `>`
	if set != "" {
		body += `<d:set><d:prop>` + set + `</d:prop></d:set>`
	}
	if remove != "" {
		body += `<d:remove><d:prop>` + remove + `</d:prop></d:remove>`
	}
	body += `</d:propertyupdate>`
	if err := a.proppatch(ctx, c.url, fmt.Sprintf("update collection %q", coll), []byte(body)); err != nil {
		return adapters.Collection{}, err
	}
	got, err := a.refreshOne(ctx, c.url)
	if err != nil {
		return adapters.Collection{}, err
	}
	return got.meta, nil
}

// DeleteCollection implements adapters.CollectionWriter.
func (a *Adapter) DeleteCollection(ctx context.Context, coll string) error {
	c, err := a.lookup(ctx, coll)
	if err != nil {
		return err
	}
	if err := a.send1(ctx, request{method: http.MethodDelete, url: c.url, what: fmt.Sprintf("delete collection %q", coll)}); err != nil {
		return err
	}
	a.mu.Lock()
	colls := maps.Clone(a.colls)
	delete(colls, coll)
	a.colls = colls
	a.mu.Unlock()
	return nil
}

// exists reports whether a Depth 0 PROPFIND found its resource.
func exists(ms *multistatus) bool {
	for _, r := range ms.Responses {
		if statusCode(r.Status)/100 != 2 {
			continue
		}
		if len(r.Propstats) == 0 {
			return r.Status != ""
		}
		for _, ps := range r.Propstats {
			if code := statusCode(ps.Status); code/100 == 2 || code == http.StatusNotFound && ps.Status != "" {
				// A 404 propstat is a missing property of a
				// resource that exists.
				return true
			}
		}
	}
	return false
}
