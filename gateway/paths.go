package gateway

import (
	"net/url"
	"strings"
)

// URL layout (documented in the README; clients store these URLs, so it is
// stable):
//
//	/dav/                                   root (current-user-principal)
//	/dav/principals/<user>/                 principal
//	/dav/calendars/<user>/                  calendar home
//	/dav/calendars/<user>/<coll>/           calendar collection
//	/dav/calendars/<user>/<coll>/<id>.ics   calendar object
//	/dav/addressbooks/<user>/...            the same for address books, .vcf
//
// <coll> is the source name when the collection ID is empty (an ICS feed),
// else "<source>~<collection ID>". Source names cannot contain "~", so the
// first "~" separates them. Every segment is path-escaped, so upstream IDs
// may hold any character.
const (
	davRoot      = "/dav/"
	principalsP  = "principals"
	calendarsP   = "calendars"
	addressbooks = "addressbooks"
	calExt       = ".ics"
	cardExt      = ".vcf"
)

type level int

const (
	lvNone level = iota
	lvRoot
	lvPrincipal
	lvHome
	lvCollection
	lvObject
)

// target is a parsed request path.
type target struct {
	level level
	card  bool // addressbooks tree
	user  string
	// seg is the collection segment as sent; source and coll are parsed
	// from it.
	seg, source, coll string
	hasColl           bool // the segment named an explicit collection ("src~id")
	obj               string
	objName           string // the object segment as sent (with extension)
	slash             bool   // the path ended with "/"
}

// parsePath splits an escaped URL path. It returns lvNone for paths outside
// the layout.
func parsePath(escaped string) target {
	var t target
	t.slash = strings.HasSuffix(escaped, "/")
	raw := strings.Split(strings.Trim(escaped, "/"), "/")
	segs := make([]string, 0, len(raw))
	for _, s := range raw {
		if s == "" {
			continue
		}
		u, err := url.PathUnescape(s)
		if err != nil || u == "." || u == ".." {
			return target{}
		}
		segs = append(segs, u)
	}
	if len(segs) == 0 {
		t.level = lvRoot
		return t
	}
	if segs[0] != "dav" {
		return target{}
	}
	segs = segs[1:]
	if len(segs) == 0 {
		t.level = lvRoot
		return t
	}
	switch segs[0] {
	case principalsP:
		if len(segs) != 2 {
			return target{}
		}
		t.level, t.user = lvPrincipal, segs[1]
		return t
	case calendarsP:
	case addressbooks:
		t.card = true
	default:
		return target{}
	}
	switch len(segs) {
	case 2:
		t.level, t.user = lvHome, segs[1]
	case 3, 4:
		t.level, t.user, t.seg = lvCollection, segs[1], segs[2]
		t.source, t.coll, t.hasColl = strings.Cut(t.seg, "~")
		if len(segs) == 4 {
			t.level, t.objName = lvObject, segs[3]
			ext := calExt
			if t.card {
				ext = cardExt
			}
			id, ok := strings.CutSuffix(t.objName, ext)
			if !ok || id == "" {
				// Objects live at "<id>.ics"/"<id>.vcf": other names cannot
				// map back to an ID, so they do not exist.
				return target{level: lvNone}
			}
			t.obj = id
		}
	default:
		return target{}
	}
	return t
}

func homePath(card bool, user string) string {
	tree := calendarsP
	if card {
		tree = addressbooks
	}
	return davRoot + tree + "/" + url.PathEscape(user) + "/"
}

func principalPath(user string) string {
	return davRoot + principalsP + "/" + url.PathEscape(user) + "/"
}

// collSegment renders the collection segment for (source, collection ID).
func collSegment(source, coll string) string {
	if coll == "" {
		return source
	}
	return source + "~" + coll
}

func collPath(card bool, user, source, coll string) string {
	return homePath(card, user) + url.PathEscape(collSegment(source, coll)) + "/"
}

func objPath(collHref string, card bool, id string) string {
	ext := calExt
	if card {
		ext = cardExt
	}
	return collHref + url.PathEscape(id) + ext
}
