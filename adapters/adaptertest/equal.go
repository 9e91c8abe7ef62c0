package adaptertest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"
)

// Properties that differ between two faithful copies of the same data:
// upstreams stamp their own DTSTAMP/PRODID (and REV for vCards).
var (
	calendarNoise = []string{ical.PropDateTimeStamp, ical.PropProductID}
	cardNoise     = []string{vcard.FieldProductID, vcard.FieldRevision}
)

// EqualCalendar reports whether a and b hold the same calendar data,
// compared semantically: component and property order, DTSTAMP, PRODID,
// the properties named in ignore, parameter order and default VALUE
// parameters make no difference. The migration verifier uses the same
// normalisation, so a round-trip and a migration agree on "equal".
func EqualCalendar(a, b *ical.Calendar, ignore ...string) bool {
	return DiffCalendar(a, b, ignore...) == ""
}

// DiffCalendar returns "" if EqualCalendar(a, b, ignore...) holds, else a
// short line diff of the normalised forms ("-" only in a, "+" only in b).
func DiffCalendar(a, b *ical.Calendar, ignore ...string) string {
	skip := upperSet(calendarNoise, ignore)
	var ca, cb string
	if a != nil {
		ca = canonComponent(a.Component, skip)
	}
	if b != nil {
		cb = canonComponent(b.Component, skip)
	}
	return lineDiff(ca, cb)
}

// EqualCard reports whether two vCards hold the same data, ignoring field
// and parameter order, PRODID, REV and the fields named in ignore.
func EqualCard(a, b vcard.Card, ignore ...string) bool {
	return DiffCard(a, b, ignore...) == ""
}

// DiffCard is DiffCalendar for vCards.
func DiffCard(a, b vcard.Card, ignore ...string) string {
	skip := upperSet(cardNoise, ignore)
	return lineDiff(canonCard(a, skip), canonCard(b, skip))
}

func upperSet(lists ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			m[strings.ToUpper(s)] = true
		}
	}
	return m
}

// canonComponent renders c with sorted properties and sorted children, so
// that two components are equal iff their renderings are.
func canonComponent(c *ical.Component, skip map[string]bool) string {
	if c == nil {
		return ""
	}
	var lines []string
	for name, props := range c.Props {
		if skip[strings.ToUpper(name)] {
			continue
		}
		for _, p := range props {
			value := p.Value
			if un := strings.ToUpper(name); un == "RRULE" || un == "EXRULE" {
				value = canonRule(value)
			}
			lines = append(lines, canonLine(strings.ToUpper(name), "", p.Params, value))
		}
	}
	sort.Strings(lines)
	children := make([]string, 0, len(c.Children))
	for _, ch := range c.Children {
		children = append(children, canonComponent(ch, skip))
	}
	sort.Strings(children)
	var sb strings.Builder
	sb.WriteString("BEGIN:" + strings.ToUpper(c.Name) + "\n")
	for _, l := range lines {
		sb.WriteString(l + "\n")
	}
	for _, ch := range children {
		sb.WriteString(ch)
	}
	sb.WriteString("END:" + strings.ToUpper(c.Name) + "\n")
	return sb.String()
}

func canonCard(c vcard.Card, skip map[string]bool) string {
	var lines []string
	for name, fields := range c {
		if skip[strings.ToUpper(name)] {
			continue
		}
		for _, f := range fields {
			if f == nil {
				continue
			}
			lines = append(lines, canonLine(strings.ToUpper(name), f.Group, f.Params, f.Value))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// canonLine renders one property with sorted parameters. VALUE=DATE-TIME
// and VALUE=TEXT are defaults that some encoders spell out and others omit.
func canonLine(name, group string, params map[string][]string, value string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	if group != "" {
		sb.WriteString(strings.ToUpper(group) + ".")
	}
	sb.WriteString(name)
	for _, k := range keys {
		uk := strings.ToUpper(k)
		vals := append([]string(nil), params[k]...)
		if uk == "VALUE" && len(vals) == 1 && (strings.EqualFold(vals[0], "DATE-TIME") || strings.EqualFold(vals[0], "TEXT")) {
			continue
		}
		if uk == "TYPE" {
			// vCard TYPE values are case-insensitive sets.
			for i := range vals {
				vals[i] = strings.ToLower(vals[i])
			}
			sort.Strings(vals)
		}
		fmt.Fprintf(&sb, ";%s=%s", uk, strings.Join(vals, ","))
	}
	sb.WriteString(":" + value)
	return sb.String()
}

// lineDiff returns the multiset difference of the lines of a and b.
func lineDiff(a, b string) string {
	if a == b {
		return ""
	}
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		count[l]--
	}
	var out []string
	for l, n := range count {
		for ; n > 0; n-- {
			out = append(out, "- "+l)
		}
		for ; n < 0; n++ {
			out = append(out, "+ "+l)
		}
	}
	if len(out) == 0 {
		// Same lines, different nesting.
		return "component structure differs:\n- " + strings.ReplaceAll(a, "\n", "\n- ") + "\n+ " + strings.ReplaceAll(b, "\n", "\n+ ")
	}
	sort.Slice(out, func(i, j int) bool { return out[i][2:] < out[j][2:] || (out[i][2:] == out[j][2:] && out[i] < out[j]) })
	return strings.Join(out, "\n")
}

// canonRule orders a recurrence rule's parts (RFC 5545 §3.3.10 gives them
// no order; servers such as Xandikos reorder them) and upper-cases names.
func canonRule(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		if k, val, ok := strings.Cut(p, "="); ok {
			parts[i] = strings.ToUpper(k) + "=" + strings.ToUpper(val)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}
