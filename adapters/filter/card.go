package filter

import (
	"strings"

	"github.com/emersion/go-vcard"
)

// MatchCard reports whether card matches the addressbook-query filter f
// (RFC 6352 §10.5). Property names are case-insensitive and every
// instance of a property is considered; text-matches default to the
// i;unicode-casemap collation and the "contains" match-type. A filter with
// no prop-filters matches every card. An unknown collation or match-type
// never matches; call CardFilter.Validate first to report it.
func MatchCard(card vcard.Card, f CardFilter) bool {
	if len(f.Props) == 0 {
		return true
	}
	for _, pf := range f.Props {
		ok := matchCardProp(card, pf)
		if ok && !f.AllOf {
			return true
		}
		if !ok && f.AllOf {
			return false
		}
	}
	return f.AllOf
}

// matchCardProp evaluates one prop-filter: each text-match and
// param-filter holds if some instance of the property satisfies it, and
// they combine with the filter's test.
func matchCardProp(card vcard.Card, f CardPropFilter) bool {
	var fields []*vcard.Field
	for name, fs := range card {
		if strings.EqualFold(name, f.Name) {
			fields = append(fields, fs...)
		}
	}
	if f.IsNotDefined {
		return len(fields) == 0
	}
	if len(fields) == 0 {
		return false
	}
	if len(f.TextMatches) == 0 && len(f.Params) == 0 {
		return true
	}
	for _, tm := range f.TextMatches {
		ok := false
		for _, fd := range fields {
			if fd == nil {
				continue
			}
			if m, err := matchText(tm, fd.Value, collationUnicode); err == nil && m {
				ok = true
				break
			}
		}
		if ok && !f.AllOf {
			return true
		}
		if !ok && f.AllOf {
			return false
		}
	}
	for _, pf := range f.Params {
		ok := false
		for _, fd := range fields {
			if fd == nil {
				continue
			}
			if m, err := matchParam(fd.Params, pf, collationUnicode); err == nil && m {
				ok = true
				break
			}
		}
		if ok && !f.AllOf {
			return true
		}
		if !ok && f.AllOf {
			return false
		}
	}
	return f.AllOf
}
