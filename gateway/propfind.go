package gateway

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/davgate/davgate/adapters"
)

func n(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

var (
	pResourceType    = n(nsDAV, "resourcetype")
	pDisplayName     = n(nsDAV, "displayname")
	pCUP             = n(nsDAV, "current-user-principal")
	pPrincipalURL    = n(nsDAV, "principal-URL")
	pOwner           = n(nsDAV, "owner")
	pPrivSet         = n(nsDAV, "current-user-privilege-set")
	pReportSet       = n(nsDAV, "supported-report-set")
	pSyncToken       = n(nsDAV, "sync-token")
	pGetETag         = n(nsDAV, "getetag")
	pContentType     = n(nsDAV, "getcontenttype")
	pContentLength   = n(nsDAV, "getcontentlength")
	pLastModified    = n(nsDAV, "getlastmodified")
	pPrincipalColl   = n(nsDAV, "principal-collection-set")
	pCalHome         = n(nsCalDAV, "calendar-home-set")
	pCalUserAddr     = n(nsCalDAV, "calendar-user-address-set")
	pCalDesc         = n(nsCalDAV, "calendar-description")
	pCalComps        = n(nsCalDAV, "supported-calendar-component-set")
	pCalDataTypes    = n(nsCalDAV, "supported-calendar-data")
	pCalMaxSize      = n(nsCalDAV, "max-resource-size")
	pCalData         = n(nsCalDAV, "calendar-data")
	pCardHome        = n(nsCardDAV, "addressbook-home-set")
	pCardDesc        = n(nsCardDAV, "addressbook-description")
	pCardDataTypes   = n(nsCardDAV, "supported-address-data")
	pCardMaxSize     = n(nsCardDAV, "max-resource-size")
	pAddressData     = n(nsCardDAV, "address-data")
	pCTag            = n(nsCS, "getctag")
	pCalColor        = n(nsApple, "calendar-color")
	pCalOrder        = n(nsApple, "calendar-order")
	pScheduleTransp  = n(nsCalDAV, "schedule-calendar-transp")
	maxResourceBytes = "10485760"
)

// propSource answers properties of one resource: get returns a value and
// whether the resource has that property; all lists what allprop returns.
type propSource struct {
	get func(xml.Name) (prop, bool)
	all []xml.Name
}

// answer writes one response for a resource per the request.
func answer(ms *msWriter, href string, req *propReq, ps propSource) {
	if req.propname {
		var found []prop
		for _, name := range ps.all {
			found = append(found, prop{name: name})
		}
		ms.response(href, found, nil)
		return
	}
	names := req.names
	if req.allprop {
		names = append(append([]xml.Name(nil), ps.all...), req.names...)
	}
	found := make([]prop, 0, len(names))
	var missing []xml.Name
	for _, name := range names {
		if p, ok := ps.get(name); ok {
			found = append(found, p)
		} else {
			missing = append(missing, name)
		}
	}
	ms.response(href, found, missing)
}

func hrefProp(name xml.Name, href string) prop {
	return prop{name: name, inner: "<d:href>" + xmlEscape(href) + "</d:href>"}
}

func (s *Server) propfind(w http.ResponseWriter, r *http.Request, t target) error {
	depth := r.Header.Get("Depth")
	switch depth {
	case "", "0", "1":
	case "infinity":
		return errPrecond(http.StatusForbidden, "<d:propfind-finite-depth/>", "Depth: infinity is not supported; use Depth: 0 or 1")
	default:
		return errStatus(http.StatusBadRequest, "Depth must be 0, 1 or infinity")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	req, err := parsePropfind(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	user := scopeOf(ctx).user
	switch t.level {
	case lvRoot:
		ms := newMultistatus(w)
		answer(ms, r.URL.EscapedPath(), req, s.rootProps(user))
		return ms.finish("")
	case lvPrincipal:
		ms := newMultistatus(w)
		answer(ms, principalPath(user), req, s.principalProps(user))
		return ms.finish("")
	case lvHome:
		var colls []*collRef
		if depth == "1" {
			if colls, err = s.listColls(ctx, t.card); err != nil {
				return err
			}
		}
		ms := newMultistatus(w)
		answer(ms, homePath(t.card, user), req, s.homeProps(user, t.card))
		for _, c := range colls {
			answer(ms, c.href, req, s.collProps(ctx, c))
		}
		return ms.finish("")
	case lvCollection:
		c, err := s.resolveColl(ctx, t)
		if err != nil {
			return err
		}
		var objs []adapters.Object
		if depth == "1" {
			if objs, err = c.src.Adapter.Objects(ctx, c.meta.ID, adapters.Query{}); err != nil {
				return err
			}
		}
		ms := newMultistatus(w)
		answer(ms, c.href, req, s.collProps(ctx, c))
		for _, o := range objs {
			s.answerObject(ms, c, req, o)
		}
		return ms.finish("")
	case lvObject:
		c, err := s.resolveColl(ctx, t)
		if err != nil {
			return err
		}
		o, err := c.src.Adapter.Object(ctx, c.meta.ID, t.obj)
		if err != nil {
			return err
		}
		ms := newMultistatus(w)
		s.answerObject(ms, c, req, o)
		return ms.finish("")
	}
	return errStatus(http.StatusNotFound, "not found")
}

func (s *Server) rootProps(user string) propSource {
	return propSource{
		all: []xml.Name{pResourceType, pCUP},
		get: func(name xml.Name) (prop, bool) {
			switch name {
			case pResourceType:
				return prop{name: name, inner: "<d:collection/>"}, true
			case pCUP, pPrincipalURL:
				return hrefProp(name, principalPath(user)), true
			case pCalHome:
				return hrefProp(name, homePath(false, user)), true
			case pCardHome:
				return hrefProp(name, homePath(true, user)), true
			case pDisplayName:
				return prop{name: name, inner: "davgate"}, true
			}
			return prop{}, false
		},
	}
}

func (s *Server) principalProps(user string) propSource {
	return propSource{
		all: []xml.Name{pResourceType, pDisplayName, pCUP, pPrincipalURL, pCalHome, pCardHome, pPrincipalColl},
		get: func(name xml.Name) (prop, bool) {
			switch name {
			case pResourceType:
				return prop{name: name, inner: "<d:collection/><d:principal/>"}, true
			case pDisplayName:
				return prop{name: name, inner: xmlEscape(user)}, true
			case pCUP, pPrincipalURL, pOwner:
				return hrefProp(name, principalPath(user)), true
			case pCalHome:
				return hrefProp(name, homePath(false, user)), true
			case pCardHome:
				return hrefProp(name, homePath(true, user)), true
			case pPrincipalColl:
				return hrefProp(name, davRoot+principalsP+"/"), true
			case pReportSet:
				return prop{name: name}, true
			case pPrivSet:
				return prop{name: name, inner: privileges(true)}, true
			}
			return prop{}, false
		},
	}
}

func (s *Server) homeProps(user string, card bool) propSource {
	u := s.users[user]
	canCreate := u != nil && u.primary != nil
	return propSource{
		all: []xml.Name{pResourceType, pDisplayName, pCUP, pOwner},
		get: func(name xml.Name) (prop, bool) {
			switch name {
			case pResourceType:
				return prop{name: name, inner: "<d:collection/>"}, true
			case pDisplayName:
				if card {
					return prop{name: name, inner: "Address books"}, true
				}
				return prop{name: name, inner: "Calendars"}, true
			case pCUP, pOwner:
				return hrefProp(name, principalPath(user)), true
			case pPrivSet:
				inner := privileges(true)
				if canCreate {
					inner += "<d:privilege><d:bind/></d:privilege><d:privilege><d:unbind/></d:privilege>"
				}
				return prop{name: name, inner: inner}, true
			case pReportSet:
				return prop{name: name}, true
			}
			return prop{}, false
		},
	}
}

func privileges(readOnly bool) string {
	out := "<d:privilege><d:read/></d:privilege><d:privilege><d:read-current-user-privilege-set/></d:privilege><d:privilege><c:read-free-busy/></d:privilege>"
	if !readOnly {
		out += "<d:privilege><d:write/></d:privilege><d:privilege><d:write-content/></d:privilege><d:privilege><d:write-properties/></d:privilege><d:privilege><d:bind/></d:privilege><d:privilege><d:unbind/></d:privilege>"
	}
	return out
}

func reportSet(card bool) string {
	rep := func(ns, local string) string {
		return "<d:supported-report><d:report><" + ns + ":" + local + "/></d:report></d:supported-report>"
	}
	if card {
		return rep("card", "addressbook-query") + rep("card", "addressbook-multiget") + rep("d", "sync-collection")
	}
	return rep("c", "calendar-query") + rep("c", "calendar-multiget") + rep("c", "free-busy-query") + rep("d", "sync-collection")
}

// collProps answers a collection's properties. The token is computed at
// most once, and only when asked for.
func (s *Server) collProps(ctx context.Context, c *collRef) propSource {
	var tok string
	var tokErr error
	tokDone := false
	token := func() (string, bool) {
		if !tokDone {
			tok, tokErr = s.token(ctx, c)
			tokDone = true
			if tokErr != nil {
				s.log.Warn("cannot compute collection token", "source", c.src.Name, "collection", c.meta.ID, "err", tokErr)
			}
		}
		return tok, tokErr == nil
	}
	user := scopeOf(ctx).user
	all := []xml.Name{pResourceType, pDisplayName, pCUP, pOwner, pCTag, pSyncToken, pReportSet, pPrivSet}
	if c.card {
		all = append(all, pCardDesc, pCardDataTypes, pCardMaxSize)
	} else {
		all = append(all, pCalDesc, pCalComps, pCalDataTypes, pCalMaxSize, pCalColor)
	}
	return propSource{
		all: all,
		get: func(name xml.Name) (prop, bool) {
			switch name {
			case pResourceType:
				if c.card {
					return prop{name: name, inner: "<d:collection/><card:addressbook/>"}, true
				}
				return prop{name: name, inner: "<d:collection/><c:calendar/>"}, true
			case pDisplayName:
				return prop{name: name, inner: xmlEscape(c.displayName())}, true
			case pCUP, pOwner:
				return hrefProp(name, principalPath(user)), true
			case pCTag:
				if tk, ok := token(); ok {
					return prop{name: name, inner: xmlEscape(syncTokenPrefix + tk)}, true
				}
			case pGetETag:
				if tk, ok := token(); ok {
					return prop{name: name, inner: xmlEscape(`"` + tk + `"`)}, true
				}
			case pSyncToken:
				if tk, ok := token(); ok {
					return prop{name: name, inner: xmlEscape(syncTokenPrefix + tk)}, true
				}
			case pReportSet:
				return prop{name: name, inner: reportSet(c.card)}, true
			case pPrivSet:
				return prop{name: name, inner: privileges(c.readOnly())}, true
			}
			if c.card {
				switch name {
				case pCardDesc:
					if c.meta.Description != "" {
						return prop{name: name, inner: xmlEscape(c.meta.Description)}, true
					}
				case pCardDataTypes:
					return prop{name: name, inner: `<card:address-data-type content-type="text/vcard" version="3.0"/><card:address-data-type content-type="text/vcard" version="4.0"/>`}, true
				case pCardMaxSize:
					return prop{name: name, inner: maxResourceBytes}, true
				}
				return prop{}, false
			}
			switch name {
			case pCalDesc:
				if c.meta.Description != "" {
					return prop{name: name, inner: xmlEscape(c.meta.Description)}, true
				}
			case pCalComps:
				comps := c.meta.Components
				if len(comps) == 0 {
					comps = []string{"VEVENT"}
				}
				var b strings.Builder
				for _, comp := range comps {
					b.WriteString(`<c:comp name="` + xmlEscape(comp) + `"/>`)
				}
				return prop{name: name, inner: b.String()}, true
			case pCalDataTypes:
				return prop{name: name, inner: `<c:calendar-data content-type="text/calendar" version="2.0"/>`}, true
			case pCalMaxSize:
				return prop{name: name, inner: maxResourceBytes}, true
			case pCalColor:
				if col := c.color(); col != "" {
					return prop{name: name, inner: xmlEscape(col)}, true
				}
			case pScheduleTransp:
				return prop{name: name, inner: "<c:opaque/>"}, true
			}
			return prop{}, false
		},
	}
}

func contentType(card bool) string {
	if card {
		return "text/vcard; charset=utf-8"
	}
	return "text/calendar; charset=utf-8"
}

// answerObject writes one object's response. It is the per-object cost of
// every listing (10,000 objects in a PROPFIND), so it writes straight into
// the stream and allocates nothing for the common properties.
func (s *Server) answerObject(ms *msWriter, c *collRef, req *propReq, o adapters.Object) {
	ext := calExt
	if c.card {
		ext = cardExt
	}
	names := req.names
	if req.allprop || req.propname {
		all := []xml.Name{pResourceType, pGetETag, pContentType, pContentLength}
		if !o.Updated.IsZero() {
			all = append(all, pLastModified)
		}
		if req.propname {
			ms.s("<d:response><d:href>" + xmlEscape(c.href) + xmlEscape(url.PathEscape(o.ID)) + ext + "</d:href><d:propstat><d:prop>")
			for _, name := range all {
				ms.empty(name)
			}
			ms.s("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>")
			return
		}
		names = append(all, req.names...)
	}
	raw, rawErr := o.Encode()
	if rawErr != nil {
		s.log.Warn("cannot encode object", "source", c.src.Name, "collection", c.meta.ID, "object", o.ID, "err", rawErr)
	}
	ms.s("<d:response><d:href>")
	ms.s(xmlEscape(c.href))
	ms.s(xmlEscape(url.PathEscape(o.ID)))
	ms.s(ext)
	ms.s("</d:href>")
	var missBuf [4]xml.Name
	missing := missBuf[:0]
	opened := false
	for _, name := range names {
		var ok bool
		switch name {
		case pResourceType, pGetETag, pContentType:
			ok = true
		case pContentLength:
			ok = rawErr == nil
		case pLastModified:
			ok = !o.Updated.IsZero()
		case pCalData:
			ok = !c.card && rawErr == nil
		case pAddressData:
			ok = c.card && rawErr == nil
		}
		if !ok {
			missing = append(missing, name)
			continue
		}
		if !opened {
			ms.s("<d:propstat><d:prop>")
			opened = true
		}
		switch name {
		case pResourceType:
			ms.s("<d:resourcetype/>")
		case pGetETag:
			ms.s(`<d:getetag>"`)
			ms.s(etagOf(c.meta.ID, o))
			ms.s(`"</d:getetag>`)
		case pContentType:
			ms.s("<d:getcontenttype>" + contentType(c.card) + "</d:getcontenttype>")
		case pContentLength:
			ms.s("<d:getcontentlength>")
			ms.s(strconv.Itoa(len(raw)))
			ms.s("</d:getcontentlength>")
		case pLastModified:
			ms.s("<d:getlastmodified>")
			ms.s(o.Updated.UTC().Format(http.TimeFormat))
			ms.s("</d:getlastmodified>")
		case pCalData:
			data := raw
			if req.expand != nil {
				if b, ok := s.expanded(o, *req.expand); ok {
					data = b
				}
			}
			ms.s("<c:calendar-data>")
			ms.esc(data)
			ms.s("</c:calendar-data>")
		case pAddressData:
			ms.s("<card:address-data>")
			ms.esc(raw)
			ms.s("</card:address-data>")
		}
	}
	if opened {
		ms.s("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>")
	} else if len(missing) == 0 {
		ms.s("<d:propstat><d:prop></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>")
	}
	ms.propstat(missing, http.StatusNotFound)
	ms.s("</d:response>")
}
