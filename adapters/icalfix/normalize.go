package icalfix

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

// DefaultProdID is the PRODID given to calendars that have none.
const DefaultProdID = "-//davgate//icalfix//EN"

// Options tune Normalize.
type Options struct {
	// Stamp is the DTSTAMP of components that have neither a valid
	// DTSTAMP, LAST-MODIFIED nor CREATED. Use the fetch time of the data's
	// version, never time.Now per read, so encodings stay stable. Zero
	// means the Unix epoch.
	Stamp time.Time
	// ProdID replaces a missing PRODID; empty means DefaultProdID.
	ProdID string
	// StripAlarms removes VALARM components.
	StripAlarms bool
	// Resolve resolves TZIDs; nil means NewResolver(cal).
	Resolve Resolver
	// Zones, when set (from NormalizeZones), supplies the VTIMEZONE for
	// each IANA TZID the calendar uses and lacks. They are shared, not
	// copied: callers must treat the result as read-only.
	Zones map[string]*ical.Component
}

// Report counts what Normalize changed.
type Report struct {
	TZIDsRewritten    int      // TZID params replaced by an IANA name
	TimesToUTC        int      // values in a fixed-offset zone rewritten as UTC
	UnknownTZIDs      []string // TZIDs nothing could resolve; their times became floating
	ValuesSplit       int      // multi-value EXDATE/RDATE split into one property per value
	PropsDropped      int      // duplicate, conflicting or unparsable properties removed
	PropsRepaired     int      // CR/LF in values, quotes in params, sloppy date syntax
	StampsAdded       int      // DTSTAMPs set from LAST-MODIFIED, CREATED or Stamp
	UIDsAdded         int      // UIDs derived with DerivedUID
	AlarmsStripped    int      // VALARMs removed (StripAlarms)
	ComponentsDropped int      // components removed (forbidden nesting, bad DTSTART, empty VTIMEZONE)
}

// Changed reports whether Normalize modified anything.
func (r Report) Changed() bool {
	return r.TZIDsRewritten+r.TimesToUTC+len(r.UnknownTZIDs)+r.ValuesSplit+r.PropsDropped+
		r.PropsRepaired+r.StampsAdded+r.UIDsAdded+r.AlarmsStripped+r.ComponentsDropped > 0
}

// DerivedUID is the UID given to a component without one: a hash of its
// DTSTART and SUMMARY values and its ordinal among components with the
// same two values, so that it survives refreshes of the same feed.
func DerivedUID(dtstart, summary string, ordinal int) string {
	h := sha256.Sum256([]byte(dtstart + "\x00" + summary + "\x00" + strconv.Itoa(ordinal)))
	return "davgate-" + hex.EncodeToString(h[:16])
}

// Normalize makes cal encodable by go-ical and evaluable by the matcher,
// in place: exactly one PRODID and VERSION; DTSTAMP and UID on VEVENT,
// VTODO and VJOURNAL; at most one of the properties RFC 5545 allows once
// (the first is kept); TZIDs rewritten to IANA names, or times converted
// to UTC for fixed-offset zones, or made floating when unknown; VTIMEZONEs
// renamed along and unused ones removed; EXDATE/RDATE split to one value
// per property; CR/LF in values and quotes in parameters repaired. It
// returns an error matching adapters.ErrInvalid when nothing is left to
// encode.
func Normalize(cal *ical.Calendar, o Options) (Report, error) {
	var r Report
	if cal == nil || cal.Component == nil {
		return r, fmt.Errorf("icalfix: nil calendar: %w", adapters.ErrInvalid)
	}
	if o.Resolve == nil {
		o.Resolve = NewResolver(cal)
	}
	if o.ProdID == "" {
		o.ProdID = DefaultProdID
	}
	if o.Stamp.IsZero() {
		o.Stamp = time.Unix(0, 0)
	}
	n := normalizer{o: o, r: &r, zones: map[string]zoneFix{}, ordinals: map[string]int{}}
	c := cal.Component
	c.Name = ical.CompCalendar
	n.props(c)
	if len(c.Props[ical.PropProductID]) == 0 {
		c.Props.SetText(ical.PropProductID, o.ProdID)
	}
	c.Props[ical.PropVersion] = []ical.Prop{{Name: ical.PropVersion, Params: ical.Params{}, Value: "2.0"}}
	n.keepOne(c, []string{ical.PropProductID, ical.PropCalendarScale, ical.PropMethod, ical.PropUID,
		ical.PropLastModified, ical.PropURL, ical.PropRefreshInterval, ical.PropSource, ical.PropColor})

	// Zones first, so that properties know what their TZID becomes.
	kept := c.Children[:0]
	seen := map[string]bool{}
	for _, ch := range c.Children {
		if ch.Name != ical.CompTimezone {
			kept = append(kept, ch)
			continue
		}
		if !n.timezone(ch, seen) {
			r.ComponentsDropped++
			continue
		}
		kept = append(kept, ch)
	}
	c.Children = kept

	kept = c.Children[:0]
	for _, ch := range c.Children {
		if ch.Name == ical.CompTimezone || n.component(ch) {
			kept = append(kept, ch)
		} else {
			r.ComponentsDropped++
		}
	}
	c.Children = kept

	// Drop zones nothing refers to any more (renamed to a duplicate,
	// converted to UTC, or unused in the original).
	kept = c.Children[:0]
	for _, ch := range c.Children {
		if ch.Name == ical.CompTimezone && !n.used[tzidOf(ch)] {
			continue
		}
		kept = append(kept, ch)
	}
	c.Children = kept
	if len(c.Children) == 0 {
		return r, fmt.Errorf("icalfix: calendar has no components left: %w", adapters.ErrInvalid)
	}
	if o.Zones != nil {
		var add []*ical.Component
		for _, name := range slices.Sorted(maps.Keys(n.used)) {
			if z, ok := o.Zones[name]; ok && !seen[name] {
				add = append(add, z)
			}
		}
		c.Children = append(add, c.Children...)
	}
	return r, nil
}

// NormalizeZones repairs VTIMEZONE components once so that many objects
// can share them through Options.Zones. It returns them keyed by the IANA
// name Normalize writes as TZID for times in them; zones that resolve to
// no IANA name are left out, since Normalize converts their times to UTC.
// The input components are not modified.
func NormalizeZones(zones []*ical.Component, resolve Resolver) map[string]*ical.Component {
	if resolve == nil {
		resolve = NewResolverFromZones(zones)
	}
	var r Report
	n := normalizer{o: Options{Resolve: resolve}, r: &r, zones: map[string]zoneFix{}}
	seen := map[string]bool{}
	out := map[string]*ical.Component{}
	for _, z := range zones {
		if z.Name != ical.CompTimezone {
			continue
		}
		c := Clone(z)
		if !n.timezone(c, seen) {
			continue
		}
		name := tzidOf(c)
		if loc, err := loadIANA(name); err == nil && loc != time.UTC {
			out[name] = c
		}
	}
	return out
}

// Clone deep-copies a component.
func Clone(c *ical.Component) *ical.Component {
	out := &ical.Component{Name: c.Name, Props: make(ical.Props, len(c.Props))}
	for name, ps := range c.Props {
		cp := make([]ical.Prop, len(ps))
		for i, p := range ps {
			cp[i] = ical.Prop{Name: p.Name, Value: p.Value, Params: cloneParams(p.Params)}
		}
		out.Props[name] = cp
	}
	for _, ch := range c.Children {
		out.Children = append(out.Children, Clone(ch))
	}
	return out
}

type zoneFix struct {
	loc  *time.Location
	name string // IANA name to write, or "" to convert to UTC
	err  error
}

type normalizer struct {
	o        Options
	r        *Report
	zones    map[string]zoneFix
	used     map[string]bool
	ordinals map[string]int
}

func tzidOf(c *ical.Component) string {
	if p := c.Props.Get(ical.PropTimezoneID); p != nil {
		return p.Value
	}
	return ""
}

func (n *normalizer) zone(tzid string) zoneFix {
	if z, ok := n.zones[tzid]; ok {
		return z
	}
	loc, err := n.o.Resolve(tzid)
	z := zoneFix{loc: loc, err: err}
	if err == nil && loc != time.UTC && IsIANA(loc) {
		z.name = loc.String()
	}
	n.zones[tzid] = z
	return z
}

// timezone repairs a VTIMEZONE and renames it to its IANA name; it
// returns false when the zone must go (unusable or a duplicate).
func (n *normalizer) timezone(tz *ical.Component, seen map[string]bool) bool {
	n.props(tz)
	n.keepOne(tz, []string{ical.PropTimezoneID, ical.PropLastModified, ical.PropTimezoneURL})
	id := strings.Trim(tzidOf(tz), `"`)
	if id == "" {
		return false
	}
	kids := tz.Children[:0]
	for _, ob := range tz.Children {
		if ob.Name != ical.CompTimezoneStandard && ob.Name != ical.CompTimezoneDaylight {
			continue
		}
		n.props(ob)
		to := ob.Props.Get(ical.PropTimezoneOffsetTo)
		if to == nil {
			continue
		}
		if ob.Props.Get(ical.PropTimezoneOffsetFrom) == nil {
			ob.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: to.Value})
			n.r.PropsRepaired++
		}
		if ob.Props.Get(ical.PropDateTimeStart) == nil {
			ob.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: "19700101T000000"})
			n.r.PropsRepaired++
		}
		n.keepOne(ob, []string{ical.PropDateTimeStart, ical.PropTimezoneOffsetTo, ical.PropTimezoneOffsetFrom})
		kids = append(kids, ob)
	}
	tz.Children = kids
	if len(kids) == 0 {
		return false
	}
	z := n.zone(id)
	name := id
	if z.err == nil && z.name != "" {
		name = z.name
	}
	if seen[name] {
		return false
	}
	seen[name] = true
	tz.Props[ical.PropTimezoneID] = []ical.Prop{{Name: ical.PropTimezoneID, Params: ical.Params{}, Value: name}}
	return true
}

var (
	onceEvent = []string{ical.PropDateTimeStamp, ical.PropUID, ical.PropDateTimeStart, ical.PropClass, ical.PropCreated,
		ical.PropDescription, ical.PropGeo, ical.PropLastModified, ical.PropLocation, ical.PropOrganizer,
		ical.PropPriority, ical.PropRecurrenceRule, ical.PropSequence, ical.PropStatus, ical.PropSummary,
		ical.PropTransparency, ical.PropURL, ical.PropRecurrenceID, ical.PropDateTimeEnd, ical.PropDuration, ical.PropColor}
	onceToDo = []string{ical.PropDateTimeStamp, ical.PropUID, ical.PropClass, ical.PropCompleted, ical.PropCreated,
		ical.PropDescription, ical.PropDateTimeStart, ical.PropGeo, ical.PropLastModified, ical.PropLocation,
		ical.PropOrganizer, ical.PropPercentComplete, ical.PropPriority, ical.PropRecurrenceID, ical.PropSequence,
		ical.PropStatus, ical.PropSummary, ical.PropURL, ical.PropDue, ical.PropDuration, ical.PropColor,
		ical.PropRecurrenceRule}
	onceJournal = []string{ical.PropDateTimeStamp, ical.PropUID, ical.PropClass, ical.PropCreated,
		ical.PropDateTimeStart, ical.PropLastModified, ical.PropOrganizer, ical.PropRecurrenceID, ical.PropSequence,
		ical.PropStatus, ical.PropSummary, ical.PropURL, ical.PropColor, ical.PropRecurrenceRule}
	onceFreeBusy = []string{ical.PropDateTimeStamp, ical.PropUID, ical.PropContact, ical.PropDateTimeStart,
		ical.PropDateTimeEnd, ical.PropOrganizer, ical.PropURL}
)

// component repairs one top-level component other than VTIMEZONE; it
// returns false when the component must be dropped.
func (n *normalizer) component(c *ical.Component) bool {
	var once []string
	switch c.Name {
	case ical.CompEvent:
		once = onceEvent
	case ical.CompToDo:
		once = onceToDo
	case ical.CompJournal:
		once = onceJournal
	case ical.CompFreeBusy:
		once = onceFreeBusy
	case ical.CompTimezoneStandard, ical.CompTimezoneDaylight, ical.CompCalendar:
		return false // only meaningful inside a VTIMEZONE, or at the top
	case ical.CompTimezone: // nested in a custom component
		return n.timezone(c, map[string]bool{})
	}
	// Nested components: VEVENT and VTODO allow VALARM only; the others none.
	kids := c.Children[:0]
	for _, ch := range c.Children {
		switch {
		case ch.Name == ical.CompAlarm && n.o.StripAlarms:
			n.r.AlarmsStripped++
		case ch.Name == ical.CompAlarm && (c.Name == ical.CompEvent || c.Name == ical.CompToDo || once == nil):
			n.props(ch)
			n.times(ch)
			kids = append(kids, ch)
		case once == nil && ch.Name != ical.CompAlarm:
			// Custom components may nest standard ones, which need
			// the same repairs to encode.
			if n.component(ch) {
				kids = append(kids, ch)
			} else {
				n.r.ComponentsDropped++
			}
		default:
			n.r.ComponentsDropped++
		}
	}
	c.Children = kids
	n.props(c)
	if !n.times(c) {
		return false
	}
	if once == nil {
		return true
	}
	n.keepOne(c, once)
	if c.Props.Get(ical.PropDuration) != nil {
		if c.Props.Get(ical.PropDateTimeEnd) != nil || c.Props.Get(ical.PropDue) != nil ||
			(c.Name == ical.CompToDo && c.Props.Get(ical.PropDateTimeStart) == nil) {
			delete(c.Props, ical.PropDuration)
			n.r.PropsDropped++
		}
	}
	n.stamp(c)
	if p := c.Props.Get(ical.PropUID); p == nil || strings.TrimSpace(p.Value) == "" {
		var start, summary string
		if p := c.Props.Get(ical.PropDateTimeStart); p != nil {
			start = p.Value
		}
		if p := c.Props.Get(ical.PropSummary); p != nil {
			summary = p.Value
		}
		key := start + "\x00" + summary
		c.Props.SetText(ical.PropUID, DerivedUID(start, summary, n.ordinals[key]))
		n.ordinals[key]++
		n.r.UIDsAdded++
	}
	return true
}

// stamp sets a valid UTC DTSTAMP.
func (n *normalizer) stamp(c *ical.Component) {
	if p := c.Props.Get(ical.PropDateTimeStamp); p != nil {
		if t, ok := parseDateTime(p.Value, time.UTC); ok {
			if v := t.UTC().Format(utcLayout); v != p.Value || len(p.Params) > 0 {
				c.Props[ical.PropDateTimeStamp] = []ical.Prop{{Name: ical.PropDateTimeStamp, Params: ical.Params{}, Value: v}}
				n.r.PropsRepaired++
			}
			return
		}
	}
	t := n.o.Stamp
	for _, name := range []string{ical.PropLastModified, ical.PropCreated} {
		if p := c.Props.Get(name); p != nil {
			if v, ok := parseDateTime(p.Value, time.UTC); ok {
				t = v
				break
			}
		}
	}
	c.Props[ical.PropDateTimeStamp] = []ical.Prop{{Name: ical.PropDateTimeStamp, Params: ical.Params{}, Value: t.UTC().Format(utcLayout)}}
	n.r.StampsAdded++
}

// keepOne keeps the first of each property allowed once.
func (n *normalizer) keepOne(c *ical.Component, names []string) {
	for _, name := range names {
		if ps := c.Props[name]; len(ps) > 1 {
			c.Props[name] = ps[:1]
			n.r.PropsDropped += len(ps) - 1
		}
	}
}

// props repairs what go-ical's encoder refuses: CR/LF in values and
// double quotes in parameter values; it drops empty parameter lists.
func (n *normalizer) props(c *ical.Component) {
	for name, ps := range c.Props {
		for i := range ps {
			p := &ps[i]
			if strings.ContainsAny(p.Value, "\r\n") {
				p.Value = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(p.Value)
				n.r.PropsRepaired++
			}
			for k, vs := range p.Params {
				for j, v := range vs {
					if strings.ContainsAny(v, "\"\r\n") {
						vs[j] = strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(v)
						n.r.PropsRepaired++
					}
				}
				if k == "" {
					delete(p.Params, k)
				}
			}
			if p.Name != name {
				p.Name = name
			}
		}
	}
}

// dateProps are the properties whose values are dates or date-times that
// the matcher evaluates.
var dateProps = []string{ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDue, ical.PropRecurrenceID,
	ical.PropExceptionDates, ical.PropRecurrenceDates}

// times fixes date/time values and TZIDs. It returns false when the
// component's DTSTART or RECURRENCE-ID is unusable.
func (n *normalizer) times(c *ical.Component) bool {
	for _, name := range dateProps {
		ps := c.Props[name]
		if len(ps) == 0 {
			continue
		}
		multi := name == ical.PropExceptionDates || name == ical.PropRecurrenceDates
		out := make([]ical.Prop, 0, len(ps))
		for _, p := range ps {
			values := []string{p.Value}
			if multi && strings.Contains(p.Value, ",") {
				values = strings.Split(p.Value, ",")
				n.r.ValuesSplit += len(values) - 1
			}
			for _, v := range values {
				q := ical.Prop{Name: name, Params: cloneParams(p.Params), Value: strings.TrimSpace(v)}
				if q.Value == "" {
					n.r.PropsDropped++
					continue
				}
				if !n.fixTime(&q) {
					if name == ical.PropDateTimeStart || name == ical.PropRecurrenceID {
						return false
					}
					n.r.PropsDropped++
					continue
				}
				out = append(out, q)
			}
		}
		if len(out) == 0 {
			delete(c.Props, name)
		} else {
			c.Props[name] = out
		}
	}
	return true
}

const (
	utcLayout      = "20060102T150405Z"
	localLayout    = "20060102T150405"
	dateOnlyLayout = "20060102"
)

func cloneParams(p ical.Params) ical.Params {
	out := make(ical.Params, len(p))
	for k, v := range p {
		out[k] = slices.Clone(v)
	}
	return out
}

// fixTime repairs one date or date-time value and its TZID. PERIOD values
// (RDATE) keep their text, with the TZID still rewritten.
func (n *normalizer) fixTime(p *ical.Prop) bool {
	valueType := strings.ToUpper(p.Params.Get(ical.ParamValue))
	if valueType == "PERIOD" || strings.Contains(p.Value, "/") {
		n.fixTZID(p, nil)
		return true
	}
	v := p.Value
	if !isDateTimeText(v) {
		fixed := strings.NewReplacer("-", "", ":", "").Replace(v)
		if !isDateTimeText(fixed) {
			return false
		}
		p.Value, v = fixed, fixed
		n.r.PropsRepaired++
	}
	if len(v) == 8 { // DATE
		if valueType != "DATE" {
			p.Params.Set(ical.ParamValue, "DATE")
		}
		if p.Params.Get(ical.ParamTimezoneID) != "" {
			delete(p.Params, ical.ParamTimezoneID)
			n.r.PropsRepaired++
		}
		return true
	}
	if valueType == "DATE" {
		delete(p.Params, ical.ParamValue)
		n.r.PropsRepaired++
	}
	if strings.HasSuffix(v, "Z") {
		if p.Params.Get(ical.ParamTimezoneID) != "" {
			delete(p.Params, ical.ParamTimezoneID)
			n.r.PropsRepaired++
		}
		return true
	}
	n.fixTZID(p, func(loc *time.Location) {
		t, err := time.ParseInLocation(localLayout, v, loc)
		if err == nil {
			p.Value = t.UTC().Format(utcLayout)
		}
	})
	return true
}

// fixTZID rewrites p's TZID to an IANA name; for fixed-offset zones it
// calls toUTC (nil for PERIOD values, which then go floating).
func (n *normalizer) fixTZID(p *ical.Prop, toUTC func(*time.Location)) {
	tzid := p.Params.Get(ical.ParamTimezoneID)
	if tzid == "" {
		return
	}
	z := n.zone(tzid)
	switch {
	case z.err != nil:
		if !slices.Contains(n.r.UnknownTZIDs, tzid) {
			n.r.UnknownTZIDs = append(n.r.UnknownTZIDs, tzid)
		}
		delete(p.Params, ical.ParamTimezoneID)
	case z.name != "":
		if z.name != tzid {
			p.Params.Set(ical.ParamTimezoneID, z.name)
			n.r.TZIDsRewritten++
		}
		if n.used == nil {
			n.used = map[string]bool{}
		}
		n.used[z.name] = true
	default:
		if toUTC != nil {
			toUTC(z.loc)
			n.r.TimesToUTC++
		}
		delete(p.Params, ical.ParamTimezoneID)
	}
}

// isDateTimeText matches DATE (20060102) and DATE-TIME (20060102T150405,
// optionally with Z) with plausible field ranges.
func isDateTimeText(v string) bool {
	switch len(v) {
	case 8, 15, 16:
	default:
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case i == 8:
			if c != 'T' {
				return false
			}
		case i == 15:
			if c != 'Z' {
				return false
			}
		case c < '0' || c > '9':
			return false
		}
	}
	layout := localLayout
	switch len(v) {
	case 8:
		layout = dateOnlyLayout
	case 16:
		layout = utcLayout
	}
	_, err := time.Parse(layout, v)
	return err == nil
}

// parseDateTime parses DATE, floating DATE-TIME (in loc) and UTC DATE-TIME.
func parseDateTime(v string, loc *time.Location) (time.Time, bool) {
	if !isDateTimeText(v) {
		return time.Time{}, false
	}
	switch len(v) {
	case 8:
		t, err := time.ParseInLocation(dateOnlyLayout, v, loc)
		return t, err == nil
	case 16:
		t, err := time.Parse(utcLayout, v)
		return t, err == nil
	}
	t, err := time.ParseInLocation(localLayout, v, loc)
	return t, err == nil
}
