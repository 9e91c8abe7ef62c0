package icalfix

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // hosts without zoneinfo (distroless containers)

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

// locCache holds LoadLocation results, errors included: feeds repeat the
// same few TZIDs thousands of times.
var locCache sync.Map // string → locResult

type locResult struct {
	loc *time.Location
	err error
}

// LoadLocation resolves an iCalendar TZID to a location. It accepts IANA
// names, Windows zone IDs ("W. Europe Standard Time", via CLDR), Windows
// display names ("(UTC+01:00) Amsterdam, Berlin, ..." and the older
// "(GMT+01:00) ..."), quoted TZIDs and "/vendor/version/Area/City"
// prefixes. A display name that matches no known zone gives a fixed-offset
// location named like "UTC+01:00". It returns an error matching
// adapters.ErrInvalid for anything else.
//
// Locations whose String() is an IANA name can be written back as TZID;
// fixed-offset ones cannot (go-ical resolves TZIDs with time.LoadLocation).
func LoadLocation(tzid string) (*time.Location, error) {
	if r, ok := locCache.Load(tzid); ok {
		res := r.(locResult)
		return res.loc, res.err
	}
	loc, err := loadLocation(tzid)
	if err != nil {
		err = fmt.Errorf("icalfix: unknown TZID %q: %w", tzid, adapters.ErrInvalid)
	}
	// Bound the cache: hostile feeds could send endless distinct TZIDs.
	if cacheSize.Add(1) < 10000 {
		locCache.Store(tzid, locResult{loc, err})
	}
	return loc, err
}

var cacheSize atomic.Int64

func loadLocation(tzid string) (*time.Location, error) {
	name := strings.TrimSpace(strings.Trim(strings.TrimSpace(tzid), `"'`))
	if name == "" || name == "Local" || len(name) > 200 {
		return nil, errUnknown
	}
	if loc, err := loadIANA(name); err == nil {
		return loc, nil
	}
	// "/mozilla.org/20070129_1/Europe/Berlin", "/softwarestudio.org/Olson_20011030_5/America/New_York".
	if strings.HasPrefix(name, "/") {
		rest := name
		if loc, err := loadIANA(strings.TrimPrefix(rest, "/")); err == nil {
			return loc, nil
		}
		for {
			i := strings.IndexByte(rest[1:], '/')
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			if loc, err := loadIANA(strings.TrimPrefix(rest, "/")); err == nil {
				return loc, nil
			}
		}
	}
	if z, ok := windowsFold[strings.ToLower(name)]; ok {
		return loadIANA(z)
	}
	if loc, ok := fromDisplayName(name); ok {
		return loc, nil
	}
	// A bare city list ("Amsterdam, Belgrade, Berlin, ...").
	if strings.Contains(name, ",") {
		for _, city := range strings.Split(name, ",") {
			if z, ok := cityIndex[strings.ToLower(strings.TrimSpace(city))]; ok {
				return loadIANA(z)
			}
		}
	}
	return nil, errUnknown
}

var errUnknown = fmt.Errorf("unknown time zone")

// loadIANA refuses names time.LoadLocation would take as file paths or
// that are not zone names at all.
// Results are cached: time.LoadLocation reads and parses zoneinfo on
// every call.
func loadIANA(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.ContainsAny(name, `\ `) {
		return nil, errUnknown
	}
	if r, ok := ianaCache.Load(name); ok {
		res := r.(locResult)
		return res.loc, res.err
	}
	loc, err := time.LoadLocation(name)
	if cacheSize.Add(1) < 10000 {
		ianaCache.Store(name, locResult{loc, err})
	}
	return loc, err
}

var ianaCache sync.Map // string → locResult

// ParseDateTime parses a DATE or DATE-TIME value with its TZID parameter
// (resolved with LoadLocation); floating values and DATEs are taken in
// floating. Unlike go-ical's Prop.DateTime it understands non-IANA TZIDs
// and does not read zoneinfo on every call.
func ParseDateTime(value, tzid string, floating *time.Location) (time.Time, error) {
	loc := floating
	if tzid != "" && !strings.HasSuffix(value, "Z") {
		l, err := LoadLocation(tzid)
		if err != nil {
			return time.Time{}, err
		}
		loc = l
	}
	if t, ok := parseDateTime(value, loc); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("icalfix: %q is not a DATE or DATE-TIME: %w", value, adapters.ErrInvalid)
}

var windowsFold, displayFold, cityIndex = func() (map[string]string, map[string]string, map[string]string) {
	w := make(map[string]string, len(windowsZones))
	for k, v := range windowsZones {
		w[strings.ToLower(k)] = v
	}
	d := make(map[string]string, len(displayNames))
	for k, v := range displayNames {
		d[foldDisplay(k)] = v
	}
	c := make(map[string]string, len(cldrZones))
	for _, z := range cldrZones {
		if i := strings.LastIndexByte(z, '/'); i >= 0 && !strings.HasPrefix(z, "Etc/") {
			c[strings.ToLower(strings.ReplaceAll(z[i+1:], "_", " "))] = z
		}
	}
	return w, d, c
}()

// foldDisplay normalises an Outlook display name: GMT→UTC, case, spaces.
func foldDisplay(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	if strings.HasPrefix(s, "(gmt") {
		s = "(utc" + s[4:]
	}
	return strings.Replace(s, "(utc) ", "(utc+00:00) ", 1)
}

// displayRE matches "(UTC+01:00) Amsterdam, ...", "(GMT +01:00)",
// "UTC+01" and "GMT-05.00/-04.00".
var displayRE = regexp.MustCompile(`^\(?(?:UTC|GMT)\s*(?:([+-])\s*(\d{1,2})(?:[:.]?(\d{2}))?)?\)?\s*(.*)$`)

// fromDisplayName resolves "(UTC+01:00) Amsterdam, Berlin, ...": by the
// CLDR display name, else by a listed city whose zone has that offset,
// else as a fixed offset.
func fromDisplayName(name string) (*time.Location, bool) {
	m := displayRE.FindStringSubmatch(strings.TrimSpace(name))
	if m == nil {
		return nil, false
	}
	if w, ok := displayFold[foldDisplay(name)]; ok {
		if loc, err := loadIANA(windowsZones[w]); err == nil {
			return loc, true
		}
	}
	offset := 0
	if m[1] != "" {
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3]) // "" → 0
		if h > 14 || mi > 59 {
			return nil, false
		}
		offset = h*3600 + mi*60
		if m[1] == "-" {
			offset = -offset
		}
	}
	for _, city := range strings.FieldsFunc(m[4], func(r rune) bool { return r == ',' || r == '/' || r == '&' }) {
		z, ok := cityIndex[strings.ToLower(strings.TrimSpace(city))]
		if !ok {
			continue
		}
		loc, err := loadIANA(z)
		if err != nil {
			continue
		}
		// The display offset is the standard one; accept the zone if
		// either January or July has it (southern hemisphere DST).
		y := time.Now().Year()
		_, jan := time.Date(y, 1, 1, 0, 0, 0, 0, loc).Zone()
		_, jul := time.Date(y, 7, 1, 0, 0, 0, 0, loc).Zone()
		if jan == offset || jul == offset {
			return loc, true
		}
	}
	if offset == 0 {
		return time.UTC, true
	}
	return time.FixedZone(fixedName(offset), offset), true
}

func fixedName(offset int) string {
	sign := '+'
	if offset < 0 {
		sign, offset = '-', -offset
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, offset/3600, offset/60%60)
}

// IsIANA reports whether loc can be written back as a TZID that
// time.LoadLocation (and so go-ical) understands.
func IsIANA(loc *time.Location) bool {
	if loc == nil {
		return false
	}
	if loc == time.UTC {
		return true
	}
	_, err := loadIANA(loc.String())
	return err == nil
}

// Resolver resolves TZIDs in the context of one calendar.
type Resolver func(tzid string) (*time.Location, error)

// NewResolver returns a Resolver that tries LoadLocation first and then
// the calendar's own VTIMEZONE components: their X-LIC-LOCATION, their
// TZID as a Windows/display name, and finally a fixed offset taken from
// the latest STANDARD component (DST rules of custom zones are not
// modelled). cal may be nil. It returns errors matching adapters.ErrInvalid.
func NewResolver(cal *ical.Calendar) Resolver {
	var zones []*ical.Component
	if cal != nil {
		zones = cal.Children
	}
	return NewResolverFromZones(zones)
}

// NewResolverFromZones is NewResolver over a list of components, of which
// only VTIMEZONEs are used.
func NewResolverFromZones(comps []*ical.Component) Resolver {
	byID := map[string]*ical.Component{}
	for _, c := range comps {
		if c.Name != ical.CompTimezone {
			continue
		}
		if p := c.Props.Get(ical.PropTimezoneID); p != nil {
			id := strings.Trim(p.Value, `"`)
			if _, dup := byID[id]; !dup {
				byID[id] = c
			}
		}
	}
	var mu sync.Mutex
	memo := map[string]locResult{}
	return func(tzid string) (*time.Location, error) {
		if loc, err := LoadLocation(tzid); err == nil {
			return loc, nil
		}
		mu.Lock()
		defer mu.Unlock()
		if r, ok := memo[tzid]; ok {
			return r.loc, r.err
		}
		loc, err := fromVTimezone(byID[strings.Trim(strings.TrimSpace(tzid), `"`)])
		if err != nil {
			err = fmt.Errorf("icalfix: unknown TZID %q and no usable VTIMEZONE: %w", tzid, adapters.ErrInvalid)
		}
		memo[tzid] = locResult{loc, err}
		return loc, err
	}
}

func fromVTimezone(tz *ical.Component) (*time.Location, error) {
	if tz == nil {
		return nil, errUnknown
	}
	if p := tz.Props.Get("X-LIC-LOCATION"); p != nil {
		if loc, err := LoadLocation(p.Value); err == nil {
			return loc, nil
		}
	}
	var best *ical.Component
	var bestStart string
	for _, ch := range tz.Children {
		if ch.Name != ical.CompTimezoneStandard {
			continue
		}
		start := ""
		if p := ch.Props.Get(ical.PropDateTimeStart); p != nil {
			start = p.Value
		}
		if best == nil || start > bestStart {
			best, bestStart = ch, start
		}
	}
	if best == nil { // a zone without STANDARD: any observance will do
		for _, ch := range tz.Children {
			if ch.Name == ical.CompTimezoneDaylight {
				best = ch
				break
			}
		}
	}
	if best == nil {
		return nil, errUnknown
	}
	p := best.Props.Get(ical.PropTimezoneOffsetTo)
	if p == nil {
		return nil, errUnknown
	}
	off, ok := parseOffset(p.Value)
	if !ok {
		return nil, errUnknown
	}
	if off == 0 {
		return time.UTC, nil
	}
	return time.FixedZone(fixedName(off), off), nil
}

// parseOffset parses a UTC-OFFSET (+0100, -053000); unsigned offsets,
// which appear in the wild, count as positive.
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	sign := 1
	switch {
	case strings.HasPrefix(s, "-"):
		sign, s = -1, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	s = strings.ReplaceAll(s, ":", "")
	if len(s) != 4 && len(s) != 6 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	h, m, sec := n/10000, n/100%100, n%100
	if len(s) == 4 {
		h, m, sec = n/100, n%100, 0
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + sec), true
}
