package caldav

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// Object IDs and hrefs.
//
// An object's ID is the last segment of its href, percent-decoded, without
// the .ics/.vcf extension, so that copying an object keeps its href name:
// the target's href is <escaped ID> + ext. IDs are escaped into a segment
// only where a segment cannot hold them as they are: '/', '\', '%',
// control characters and a leading '.' become %XX (which goes over the
// wire as %25XX). Everything else, spaces and non-ASCII included, stays,
// so foreign hrefs survive a copy. The mapping is reversible for
// canonical names; a foreign segment that is not the canonical escaping of
// anything (say "x%zz") is its own ID.
//
// An ID whose segment would exceed maxSegment bytes is stored as
// "=<sha256 hex>"+ext; listing such a name recovers the ID from the
// object's UID when its hash matches (IDs copied from other adapters are
// usually UIDs), else the name is the ID.

const maxSegment = 200

func unsafeByte(c byte, first bool) bool {
	return c == '/' || c == '\\' || c == '%' || c < 0x20 || c == 0x7f || first && c == '.'
}

// segmentOf returns the href segment (decoded, without extension) for id.
func segmentOf(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		if c := id[i]; unsafeByte(c, i == 0) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	if b.Len() > maxSegment || strings.HasPrefix(b.String(), "=") && isHashName(b.String()) {
		return hashName(id)
	}
	return b.String()
}

func hashName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "=" + hex.EncodeToString(sum[:])
}

func isHashName(s string) bool {
	if len(s) != 65 || s[0] != '=' {
		return false
	}
	_, err := hex.DecodeString(s[1:])
	return err == nil
}

// idOfSegment inverts segmentOf for non-hashed names.
func idOfSegment(seg string) string {
	if !strings.Contains(seg, "%") {
		return seg
	}
	out := make([]byte, 0, len(seg))
	for i := 0; i < len(seg); i++ {
		if seg[i] != '%' {
			out = append(out, seg[i])
			continue
		}
		if i+2 >= len(seg) {
			return seg
		}
		v, err := hex.DecodeString(seg[i+1 : i+3])
		if err != nil {
			return seg
		}
		out = append(out, v[0])
		i += 2
	}
	if id := string(out); segmentOf(id) == seg {
		return id
	}
	return seg
}

// lastSegment returns the decoded last segment of an escaped path.
func lastSegment(escapedPath string) string {
	p := strings.TrimSuffix(escapedPath, "/")
	seg := p[strings.LastIndex(p, "/")+1:]
	if s, err := url.PathUnescape(seg); err == nil {
		return s
	}
	return seg
}

// idOfHref returns the ID for an href's decoded last segment, and whether
// it is a hash name whose ID must come from the object's UID.
func idOfHref(seg string) (id string, hashed bool) {
	base := seg
	for _, ext := range []string{".ics", ".vcf", ".ICS", ".VCF"} {
		if strings.HasSuffix(seg, ext) && len(seg) > len(ext) {
			base = strings.TrimSuffix(seg, ext)
			break
		}
	}
	if isHashName(base) {
		return base, true
	}
	return idOfSegment(base), false
}
