package filter

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters"
)

// span is an iCalendar duration: nominal days (which follow wall-clock
// time across DST changes) plus exact seconds (RFC 5545 §3.3.6).
type span struct {
	days int
	secs int64
}

func (s span) add(t time.Time) time.Time {
	if s.days != 0 {
		t = t.AddDate(0, 0, s.days)
	}
	return t.Add(time.Duration(s.secs) * time.Second)
}

// max is a generous upper bound of s as an exact duration (a nominal day
// lasts at most 25 hours), for look-back windows.
func (s span) max() time.Duration {
	d := time.Duration(s.days)*25*time.Hour + time.Duration(s.secs)*time.Second
	if d < 0 {
		return -d
	}
	return d
}

func (s span) neg() span { return span{-s.days, -s.secs} }

// maxSpanDays bounds durations so that arithmetic cannot overflow.
const maxSpanDays = 1_000_000

// parseSpan parses an RFC 5545 DURATION value.
func parseSpan(v string) (span, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	bad := fmt.Errorf("duration %q: %w", v, adapters.ErrInvalid)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return span{}, bad
	}
	s = s[1:]
	var out span
	inTime := false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return span{}, bad
			}
			inTime, s = true, s[1:]
			continue
		}
		n, i := 0, 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int(s[i]-'0')
			if n > maxSpanDays*86400 {
				return span{}, bad
			}
			i++
		}
		if i == 0 || i == len(s) {
			return span{}, bad
		}
		unit := s[i]
		s = s[i+1:]
		switch {
		case !inTime && unit == 'W':
			out.days += 7 * n
		case !inTime && unit == 'D':
			out.days += n
		case inTime && unit == 'H':
			out.secs += int64(n) * 3600
		case inTime && unit == 'M':
			out.secs += int64(n) * 60
		case inTime && unit == 'S':
			out.secs += int64(n)
		default:
			return span{}, bad
		}
		if out.days > maxSpanDays || out.secs > maxSpanDays*86400 {
			return span{}, bad
		}
	}
	if neg {
		out = out.neg()
	}
	return out, nil
}

// parser turns property values into times, resolving each TZID once.
type parser struct {
	cfg *config
	tz  map[string]*time.Location
}

func (ps *parser) location(tzid string) *time.Location {
	if loc, ok := ps.tz[tzid]; ok {
		return loc
	}
	loc, err := ps.cfg.resolve(tzid)
	if err != nil || loc == nil {
		// An unknown zone is evaluated as UTC: a few hours off beats
		// dropping the object from every report.
		loc = time.UTC
	}
	if ps.tz == nil {
		ps.tz = make(map[string]*time.Location)
	}
	ps.tz[tzid] = loc
	return loc
}

// value parses one DATE or DATE-TIME value; vt is the VALUE parameter.
func (ps *parser) value(v, vt, tzid string) (t time.Time, date bool, err error) {
	v = strings.TrimSpace(v)
	if vt == "" {
		if len(v) == 8 {
			vt = "DATE"
		} else {
			vt = "DATE-TIME"
		}
	}
	switch strings.ToUpper(vt) {
	case "DATE":
		t, err = time.ParseInLocation("20060102", v, ps.cfg.floating)
		date = true
	case "DATE-TIME":
		switch {
		case strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z"):
			t, err = time.ParseInLocation("20060102T150405", v[:len(v)-1], time.UTC)
		case tzid != "":
			t, err = time.ParseInLocation("20060102T150405", v, ps.location(tzid))
		default:
			t, err = time.ParseInLocation("20060102T150405", v, ps.cfg.floating)
		}
	default:
		err = fmt.Errorf("value type %q", vt)
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("time %q: %w", v, adapters.ErrInvalid)
	}
	return t, date, nil
}

// prop parses a single-valued DATE or DATE-TIME property.
func (ps *parser) prop(p *ical.Prop) (time.Time, bool, error) {
	t, date, err := ps.value(p.Value, p.Params.Get(ical.ParamValue), p.Params.Get(ical.PropTimezoneID))
	if err != nil {
		return t, date, fmt.Errorf("%s: %w", p.Name, err)
	}
	return t, date, nil
}

// period is a time, or a PERIOD value when hasEnd.
type period struct {
	start  time.Time
	end    time.Time
	date   bool
	hasEnd bool
}

// list parses a multi-valued property (EXDATE, RDATE, FREEBUSY), which
// go-ical does not split. Values that fail are skipped and reported.
func (ps *parser) list(p *ical.Prop) ([]period, error) {
	vt := p.Params.Get(ical.ParamValue)
	tzid := p.Params.Get(ical.PropTimezoneID)
	var out []period
	var firstErr error
	for _, v := range strings.Split(p.Value, ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		var pe period
		var err error
		if a, b, ok := strings.Cut(v, "/"); ok {
			pe.start, _, err = ps.value(a, "DATE-TIME", tzid)
			if err == nil {
				if strings.ContainsAny(b, "Pp") {
					var d span
					if d, err = parseSpan(b); err == nil {
						pe.end = d.add(pe.start)
					}
				} else {
					pe.end, _, err = ps.value(b, "DATE-TIME", tzid)
				}
			}
			pe.hasEnd = true
		} else {
			if strings.EqualFold(vt, "PERIOD") {
				vt = ""
			}
			pe.start, pe.date, err = ps.value(v, vt, tzid)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", p.Name, err)
			}
			continue
		}
		out = append(out, pe)
	}
	return out, firstErr
}

// text returns a property's value as text-match compares it: unescaped
// for TEXT values, raw otherwise.
func propText(p *ical.Prop) string {
	if strings.ContainsRune(p.Value, '\\') {
		if s, err := p.Text(); err == nil {
			return s
		}
	}
	return p.Value
}
