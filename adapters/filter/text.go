package filter

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/davgate/davgate/adapters"
)

// Collations of RFC 4790 that CalDAV and CardDAV servers must support.
const (
	collationASCII   = "i;ascii-casemap"
	collationUnicode = "i;unicode-casemap"
	collationOctet   = "i;octet"
)

// matchText evaluates a text-match on s; defColl applies when the
// text-match names no collation (CalDAV: i;ascii-casemap, CardDAV:
// i;unicode-casemap). Unknown collations and match-types are errors
// matching adapters.ErrUnsupported.
func matchText(tm TextMatch, s, defColl string) (bool, error) {
	coll := strings.ToLower(tm.Collation)
	if coll == "" {
		coll = defColl
	}
	needle := tm.Text
	switch coll {
	case collationOctet:
	case collationASCII:
		needle, s = asciiFold(needle), asciiFold(s)
	case collationUnicode:
		needle, s = unicodeFold(needle), unicodeFold(s)
	default:
		return false, fmt.Errorf("filter: collation %q: %w", tm.Collation, adapters.ErrUnsupported)
	}
	var ok bool
	switch strings.ToLower(tm.MatchType) {
	case "", "contains":
		ok = strings.Contains(s, needle)
	case "equals":
		ok = s == needle
	case "starts-with":
		ok = strings.HasPrefix(s, needle)
	case "ends-with":
		ok = strings.HasSuffix(s, needle)
	default:
		return false, fmt.Errorf("filter: match-type %q: %w", tm.MatchType, adapters.ErrUnsupported)
	}
	return ok != tm.Negate, nil
}

// asciiFold lower-cases ASCII letters only, as i;ascii-casemap does.
func asciiFold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// unicodeFold maps each rune to a canonical member of its simple case
// folding orbit, so "Ä", "ä" compare equal and Kelvin sign K matches k.
// RFC 5051 also normalises (NFKD); that is not done here, so composed and
// decomposed accents differ. Invalid UTF-8 is compared byte-wise.
func unicodeFold(s string) string {
	if !utf8.ValidString(s) {
		return asciiFold(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	// The orbit of SimpleFold is a cycle; its lower-case member (or the
	// smallest) is a stable representative.
	best := unicode.ToLower(r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return foldRune(f) // k for the Kelvin sign, s for ſ
		}
		if unicode.IsLower(f) && (f < best || !unicode.IsLower(best)) {
			best = f
		}
	}
	return best
}
