package gateway

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/davgate/davgate/adapters"
)

// mkcol serves MKCALENDAR (RFC 4791 §5.3.1) and extended MKCOL (RFC 5689).
func (s *Server) mkcol(w http.ResponseWriter, r *http.Request, t target) error {
	ctx := r.Context()
	if t.level != lvCollection {
		return errStatus(http.StatusForbidden, "collections can be created only directly in a calendar or address book home")
	}
	u := s.userOf(ctx)
	home := homePath(t.card, u.name)
	se, id, ok := u.resolveSource(t)
	if !ok {
		return needPrivileges(home, "bind")
	}
	cw, isCW := se.Adapter.(adapters.CollectionWriter)
	if !isCW || !se.caps.CollectionWrite {
		return needPrivileges(home, "bind")
	}
	if _, err := s.resolveColl(ctx, t); err == nil {
		if r.Method == "MKCALENDAR" {
			return errPrecond(http.StatusForbidden, "<d:resource-must-be-null/>", "a collection exists at this URL")
		}
		return errStatus(http.StatusMethodNotAllowed, "a collection exists at this URL")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	props, err := parseSetRemove(body)
	if err != nil {
		return err
	}
	meta := adapters.Collection{ID: id, Kind: adapters.KindCalendar}
	if t.card {
		meta.Kind = adapters.KindAddressBook
	}
	isCal, isCard := r.Method == "MKCALENDAR", false
	for _, p := range props {
		switch p.name {
		case pDisplayName:
			meta.Name = p.text
		case pCalDesc, pCardDesc:
			meta.Description = p.text
		case pCalColor:
			meta.Color = p.text
		case pCalComps:
			meta.Components = p.comps
		case pResourceType:
			for _, rt := range p.rtypes {
				isCal = isCal || rt == n(nsCalDAV, "calendar")
				isCard = isCard || rt == n(nsCardDAV, "addressbook")
			}
		}
	}
	if (t.card && !isCard) || (!t.card && !isCal) {
		return errPrecond(http.StatusForbidden, "<d:valid-resourcetype/>", "only calendars can be created under calendars/ and address books under addressbooks/")
	}
	created, err := cw.CreateCollection(ctx, meta)
	if err != nil {
		return err
	}
	if created.ID != id {
		// The upstream chose the ID: keep the client's URL working.
		u.setAlias(t.card, t.seg, collAlias{src: se, coll: created.ID})
		w.Header().Set("Location", collPath(t.card, u.name, se.Name, created.ID))
	}
	s.log.Info("collection created", "user", u.name, "source", se.Name, "collection", created.ID, "requested", id, "kind", meta.Kind)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// proppatch serves PROPPATCH on collections: displayname, description and
// color where the adapter can store them. It is atomic (RFC 4918 §9.2):
// one refused property fails all with 424.
func (s *Server) proppatch(w http.ResponseWriter, r *http.Request, t target) error {
	ctx := r.Context()
	body, err := readBody(r)
	if err != nil {
		return err
	}
	props, err := parseSetRemove(body)
	if err != nil {
		return err
	}
	href := r.URL.EscapedPath()
	var c *collRef
	if t.level == lvCollection {
		if c, err = s.resolveColl(ctx, t); err != nil {
			return err
		}
		href = c.href
	}
	if c != nil && (c.meta.ReadOnly || !c.src.caps.CollectionWrite) {
		return needPrivileges(c.href, "write-properties")
	}
	var patch adapters.CollectionPatch
	var refused, accepted []xml.Name
	for _, p := range props {
		text := p.text
		if p.remove {
			text = ""
		}
		switch {
		case c == nil:
			refused = append(refused, p.name)
		case p.name == pDisplayName:
			patch.Name = &text
			accepted = append(accepted, p.name)
		case p.name == pCalDesc && !c.card, p.name == pCardDesc && c.card:
			patch.Description = &text
			accepted = append(accepted, p.name)
		case p.name == pCalColor && !c.card:
			if text != "" && !validColor(text) {
				refused = append(refused, p.name)
				continue
			}
			patch.Color = &text
			accepted = append(accepted, p.name)
		default:
			refused = append(refused, p.name)
		}
	}
	ms := newMultistatus(w)
	ms.s("<d:response><d:href>" + xmlEscape(href) + "</d:href>")
	if len(refused) > 0 {
		ms.propstat(refused, http.StatusForbidden)
		ms.propstat(accepted, http.StatusFailedDependency)
	} else if len(accepted) > 0 {
		if _, err := c.src.Adapter.(adapters.CollectionWriter).UpdateCollection(ctx, c.meta.ID, patch); err != nil {
			ms.propstat(accepted, fromAdapter(err).status)
		} else {
			ms.propstat(accepted, http.StatusOK)
		}
	}
	ms.s("</d:response>")
	return ms.finish("")
}

func validColor(s string) bool {
	if !strings.HasPrefix(s, "#") || (len(s) != 7 && len(s) != 9) {
		return false
	}
	for _, r := range s[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
