// Package filter evaluates CalDAV calendar-query filters (RFC 4791 §9.7,
// with the time-range semantics of §9.9), CardDAV addressbook-query filters
// (RFC 6352 §10.5), recurrence expansion and free-busy (RFC 4791 §7.10).
// It is pure: no I/O, so the gateway, the adapters and fuzzers share it.
package filter

import "time"

// TimeRange is a CalDAV time-range; a zero Start or End is open.
type TimeRange struct {
	Start, End time.Time
}

// TextMatch is a CalDAV/CardDAV text-match.
type TextMatch struct {
	Text string
	// Collation is "i;ascii-casemap" (the default when empty),
	// "i;octet" or "i;unicode-casemap".
	Collation string
	Negate    bool
	// MatchType is CardDAV's match-type: "contains" (default), "equals",
	// "starts-with" or "ends-with". CalDAV always uses "contains".
	MatchType string
}

// ParamFilter is a param-filter.
type ParamFilter struct {
	Name         string
	IsNotDefined bool
	TextMatch    *TextMatch
}

// PropFilter is a CalDAV prop-filter.
type PropFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	TextMatch    *TextMatch
	Params       []ParamFilter
}

// CompFilter is a CalDAV comp-filter; the outermost names VCALENDAR.
type CompFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	Props        []PropFilter
	Comps        []CompFilter
}

// CardPropFilter is a CardDAV prop-filter.
type CardPropFilter struct {
	Name         string
	IsNotDefined bool
	// AllOf is test="allof" (default anyof) over TextMatches and Params.
	AllOf       bool
	TextMatches []TextMatch
	Params      []ParamFilter
}

// CardFilter is a CardDAV filter.
type CardFilter struct {
	// AllOf is test="allof" (default anyof) over Props.
	AllOf bool
	Props []CardPropFilter
}

// Period is one busy period of a free-busy answer.
type Period struct {
	Start, End time.Time
	// Type is the FBTYPE: BUSY, BUSY-TENTATIVE or BUSY-UNAVAILABLE.
	Type string
}
