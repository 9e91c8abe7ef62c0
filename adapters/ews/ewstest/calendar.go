package ewstest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/davgate/davgate/adapters/filter"
	"github.com/davgate/davgate/adapters/icalfix"
)

type attendee struct {
	name, email, role, partstat, cutype string
}

// calInfo is what the fake derives from a calendar item's iCalendar.
type calInfo struct {
	master    *ical.Component
	overrides []*ical.Component
	uid       string
	start     time.Time
	end       time.Time
	allDay    bool
	tzid      string
	recurring bool
	rrule     string
	exdates   []time.Time
	organizer *attendee
	attendees []attendee
	resolve   func(string) (*time.Location, error)
}

func propText(c *ical.Component, name string) string {
	if c == nil {
		return ""
	}
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return ""
}

func mailto(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "mailto:") {
		return v[7:]
	}
	return v
}

// parseCalTime parses a DATE / DATE-TIME property; date reports VALUE=DATE.
func parseCalTime(p *ical.Prop, resolve func(string) (*time.Location, error), floating *time.Location) (time.Time, bool, error) {
	if p == nil {
		return time.Time{}, false, fmt.Errorf("missing")
	}
	v := strings.TrimSpace(p.Value)
	date := len(v) == 8 || strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE")
	loc := floating
	if tz := p.Params.Get(ical.PropTimezoneID); tz != "" && !strings.HasSuffix(v, "Z") && !date {
		l, err := resolve(tz)
		if err != nil {
			return time.Time{}, false, err
		}
		loc = l
	}
	if date {
		t, err := time.ParseInLocation("20060102", v[:8], loc)
		return t, true, err
	}
	if strings.HasSuffix(v, "Z") {
		t, err := time.Parse("20060102T150405Z", v)
		return t, false, err
	}
	t, err := time.ParseInLocation("20060102T150405", v, loc)
	return t, false, err
}

func (c *requestCtx) floating() *time.Location {
	if c != nil && c.tz != "" {
		if l, err := icalfix.LoadLocation(c.tz); err == nil {
			return l
		}
	}
	return time.UTC
}

func deriveCal(cal *ical.Calendar) (*calInfo, error) {
	ci := &calInfo{resolve: icalfix.NewResolver(cal)}
	for _, ch := range cal.Children {
		if ch.Name != ical.CompEvent {
			continue
		}
		if ch.Props.Get(ical.PropRecurrenceID) != nil {
			ci.overrides = append(ci.overrides, ch)
		} else if ci.master == nil {
			ci.master = ch
		}
	}
	if ci.master == nil && len(ci.overrides) > 0 {
		ci.master = ci.overrides[0]
	}
	if ci.master == nil {
		return nil, fmt.Errorf("no VEVENT")
	}
	m := ci.master
	ci.uid = propText(m, ical.PropUID)
	st, date, err := parseCalTime(m.Props.Get(ical.PropDateTimeStart), ci.resolve, time.UTC)
	if err != nil {
		return nil, fmt.Errorf("DTSTART: %v", err)
	}
	ci.start, ci.allDay = st.UTC(), date
	if p := m.Props.Get(ical.PropDateTimeStart); p != nil {
		ci.tzid = p.Params.Get(ical.PropTimezoneID)
	}
	switch {
	case m.Props.Get(ical.PropDateTimeEnd) != nil:
		en, _, err := parseCalTime(m.Props.Get(ical.PropDateTimeEnd), ci.resolve, time.UTC)
		if err != nil {
			return nil, fmt.Errorf("DTEND: %v", err)
		}
		ci.end = en.UTC()
	case m.Props.Get(ical.PropDuration) != nil:
		d, err := m.Props.Get(ical.PropDuration).Duration()
		if err != nil {
			return nil, fmt.Errorf("DURATION: %v", err)
		}
		ci.end = ci.start.Add(d)
	case date:
		ci.end = ci.start.AddDate(0, 0, 1)
	default:
		ci.end = ci.start
	}
	if p := m.Props.Get(ical.PropRecurrenceRule); p != nil {
		ci.recurring, ci.rrule = true, p.Value
	}
	if len(m.Props.Values(ical.PropRecurrenceDates)) > 0 {
		ci.recurring = true
	}
	for _, p := range m.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(p.Value, ",") {
			q := ical.Prop{Name: p.Name, Params: p.Params, Value: v}
			if t, _, err := parseCalTime(&q, ci.resolve, time.UTC); err == nil {
				ci.exdates = append(ci.exdates, t.UTC())
			}
		}
	}
	if p := m.Props.Get(ical.PropOrganizer); p != nil {
		ci.organizer = &attendee{name: p.Params.Get(ical.ParamCommonName), email: mailto(p.Value)}
	}
	for _, p := range m.Props.Values(ical.PropAttendee) {
		ci.attendees = append(ci.attendees, attendee{
			name: p.Params.Get(ical.ParamCommonName), email: mailto(p.Value),
			role: strings.ToUpper(p.Params.Get(ical.ParamRole)), partstat: strings.ToUpper(p.Params.Get(ical.ParamParticipationStatus)),
			cutype: strings.ToUpper(p.Params.Get(ical.ParamCalendarUserType)),
		})
	}
	return ci, nil
}

func (it *item) info() *calInfo {
	if it.cal == nil {
		return nil
	}
	ci, err := deriveCal(it.cal)
	if err != nil {
		return nil
	}
	return ci
}

// freeBusy derives LegacyFreeBusyStatus.
func freeBusyOf(c *ical.Component) string {
	switch strings.ToUpper(propText(c, "X-MICROSOFT-CDO-BUSYSTATUS")) {
	case "FREE":
		return "Free"
	case "TENTATIVE":
		return "Tentative"
	case "OOF":
		return "OOF"
	case "WORKINGELSEWHERE":
		return "WorkingElsewhere"
	case "BUSY":
		return "Busy"
	}
	if strings.EqualFold(propText(c, ical.PropTransparency), "TRANSPARENT") {
		return "Free"
	}
	if strings.EqualFold(propText(c, ical.PropStatus), "TENTATIVE") {
		return "Tentative"
	}
	return "Busy"
}

func responseType(partstat string) string {
	switch partstat {
	case "ACCEPTED":
		return "Accept"
	case "DECLINED":
		return "Decline"
	case "TENTATIVE":
		return "Tentative"
	case "NEEDS-ACTION", "":
		return "NoResponseReceived"
	}
	return "Unknown"
}

func partstatOf(rt string) string {
	switch rt {
	case "Accept":
		return "ACCEPTED"
	case "Decline":
		return "DECLINED"
	case "Tentative":
		return "TENTATIVE"
	}
	return "NEEDS-ACTION"
}

// myResponseType: Organizer when the mailbox organises (or nobody does),
// else the mailbox's own PARTSTAT.
func (ci *calInfo) myResponseType(mb *Mailbox) string {
	if ci.organizer == nil || strings.EqualFold(ci.organizer.email, mb.addr) {
		return "Organizer"
	}
	for _, a := range ci.attendees {
		if strings.EqualFold(a.email, mb.addr) {
			return responseType(a.partstat)
		}
	}
	return "Unknown"
}

// ----- occurrences

type occurrence struct {
	id        string
	start     time.Time
	end       time.Time
	recID     time.Time
	exception bool
	comp      *ical.Component
	index     int
}

func occurrenceID(masterID string, recID time.Time) string {
	h := sha256.Sum256([]byte(masterID))
	b := []byte{0, 0, 0, 0x51}
	for len(b) < 106 {
		b = append(b, h[:]...)
		h = sha256.Sum256(h[:])
	}
	b = b[:106]
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(recID.Unix()))
	b = append(b, ts[:]...)
	return base64.StdEncoding.EncodeToString(b)
}

// occurrences expands the item within [start, end) (zero: open). Instances
// carry synthetic ids registered in the mailbox.
func (mb *Mailbox) occurrences(it *item, start, end time.Time, floating *time.Location) ([]occurrence, error) {
	ci := it.info()
	if ci == nil {
		return nil, fmt.Errorf("bad calendar data")
	}
	ov := map[int64]bool{}
	for _, o := range ci.overrides {
		if t, _, err := parseCalTime(o.Props.Get(ical.PropRecurrenceID), ci.resolve, floating); err == nil {
			ov[t.Unix()] = true
		}
	}
	opts := []filter.Option{filter.WithResolver(ci.resolve), filter.WithFloating(floating), filter.WithMaxIterations(5000)}
	exp, err := filter.Expand(it.cal, start, end, opts...)
	if err != nil {
		return nil, err
	}
	var out []occurrence
	for _, c := range exp.Children {
		if c.Name != ical.CompEvent {
			continue
		}
		st, date, err := parseCalTime(c.Props.Get(ical.PropDateTimeStart), ci.resolve, floating)
		if err != nil {
			continue
		}
		o := occurrence{start: st.UTC(), comp: c}
		switch {
		case c.Props.Get(ical.PropDateTimeEnd) != nil:
			en, _, _ := parseCalTime(c.Props.Get(ical.PropDateTimeEnd), ci.resolve, floating)
			o.end = en.UTC()
		case c.Props.Get(ical.PropDuration) != nil:
			d, _ := c.Props.Get(ical.PropDuration).Duration()
			o.end = o.start.Add(d)
		case date:
			o.end = o.start.AddDate(0, 0, 1)
		default:
			o.end = o.start
		}
		if rp := c.Props.Get(ical.PropRecurrenceID); rp != nil && ci.recurring {
			rt, _, err := parseCalTime(rp, ci.resolve, floating)
			if err == nil {
				o.recID = rt.UTC()
				o.exception = ov[rt.Unix()]
				o.id = occurrenceID(it.id, o.recID)
			}
		}
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	if ci.recurring && len(out) > 0 {
		// Instance indexes count the pattern from the first instance of the
		// series, deleted (EXDATE) instances included, as Exchange does.
		all, err := filter.Expand(withoutExdates(it.cal), time.Time{}, out[len(out)-1].recID.Add(time.Second), opts...)
		if err == nil {
			var recs []int64
			for _, c := range all.Children {
				if rp := c.Props.Get(ical.PropRecurrenceID); rp != nil {
					if t, _, err := parseCalTime(rp, ci.resolve, floating); err == nil {
						recs = append(recs, t.Unix())
					}
				}
			}
			sort.Slice(recs, func(i, j int) bool { return recs[i] < recs[j] })
			for i := range out {
				out[i].index = sort.Search(len(recs), func(k int) bool { return recs[k] >= out[i].recID.Unix() }) + 1
			}
		}
		for _, o := range out {
			if o.id != "" {
				mb.occ[o.id] = occRef{master: it.id, recID: o.recID, index: o.index}
			}
		}
	}
	return out, nil
}

func withoutExdates(cal *ical.Calendar) *ical.Calendar {
	cp := ical.NewCalendar()
	cp.Props = cal.Props
	for _, ch := range cal.Children {
		if ch.Name == ical.CompEvent && ch.Props.Get(ical.PropExceptionDates) != nil {
			c2 := ical.NewComponent(ch.Name)
			c2.Children = ch.Children
			for k, v := range ch.Props {
				if k != ical.PropExceptionDates {
					c2.Props[k] = v
				}
			}
			ch = c2
		}
		cp.Children = append(cp.Children, ch)
	}
	return cp
}

// occurrenceByIndex finds the n-th (1-based) instance of a master.
func (mb *Mailbox) occurrenceByIndex(it *item, n int, floating *time.Location) (*occurrence, bool) {
	ci := it.info()
	if ci == nil || !ci.recurring || n < 1 {
		return nil, false
	}
	end := time.Time{}
	// Expand progressively larger windows: cheap for the usual small n.
	for years := 2; years <= 128; years *= 2 {
		end = ci.start.AddDate(years, 0, 0)
		occ, err := mb.occurrences(it, time.Time{}, end, floating)
		if err != nil {
			return nil, false
		}
		for i := range occ {
			if occ[i].index == n {
				return &occ[i], true
			}
		}
	}
	return nil, false
}

// ----- editing the iCalendar

func setProp(c *ical.Component, name, value string) {
	if value == "" {
		c.Props.Del(name)
		return
	}
	p := ical.NewProp(name)
	p.Value = value
	c.Props.Set(p)
}

func setTimeProp(c *ical.Component, name string, t time.Time, date bool) {
	p := ical.NewProp(name)
	if date {
		p.SetDate(t)
	} else {
		p.SetDateTime(t.UTC())
	}
	c.Props.Set(p)
}

// parseEWSTime parses xs:dateTime as EWS sends it; values without an
// offset are in the request's TimeZoneContext (else UTC).
func parseEWSTime(v string, loc *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02Z", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad xs:dateTime %q", v)
}

func ewsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// newCalendar builds the iCalendar of a typed CalendarItem.
func newCalendar(uid string) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropProductID, "Microsoft Exchange Server 2010")
	ev := ical.NewComponent(ical.CompEvent)
	setProp(ev, ical.PropUID, uid)
	cal.Children = append(cal.Children, ev)
	return cal
}

// newUID makes an Outlook GlobalObjectId-style UID, as Exchange assigns to
// items created without one.
func (s *Server) newUID() string {
	h := sha256.Sum256([]byte(fmt.Sprint(s.idSalt, s.bump())))
	return "040000008200E00074C5B7101A82E00800000000" + strings.ToUpper(fmt.Sprintf("%x", h[:28]))
}

// ----- EWS Recurrence ⇄ RRULE

var ewsDays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
var icalDays = []string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}
var ewsWeekIndex = map[string]string{"1": "First", "2": "Second", "3": "Third", "4": "Fourth", "-1": "Last"}
var months = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

func dayName(ical string) string {
	for i, d := range icalDays {
		if d == ical {
			return ewsDays[i]
		}
	}
	return ""
}

// writeRecurrence emits t:Recurrence for an RRULE (patterns EWS can
// express; others degrade to the closest pattern).
func writeRecurrence(w *xw, rrule string, start time.Time) {
	parts := map[string]string{}
	for _, kv := range strings.Split(rrule, ";") {
		k, v, _ := strings.Cut(kv, "=")
		parts[strings.ToUpper(k)] = v
	}
	interval := parts["INTERVAL"]
	if interval == "" {
		interval = "1"
	}
	var days []string
	var setpos string
	for _, d := range strings.Split(parts["BYDAY"], ",") {
		if d == "" {
			continue
		}
		i := len(d) - 2
		if i > 0 {
			setpos = d[:i]
		}
		days = append(days, dayName(d[i:]))
	}
	if parts["BYSETPOS"] != "" {
		setpos = parts["BYSETPOS"]
	}
	month := int(start.Month())
	if m, err := strconv.Atoi(parts["BYMONTH"]); err == nil {
		month = m
	}
	mday := strconv.Itoa(start.Day())
	if parts["BYMONTHDAY"] != "" {
		mday = parts["BYMONTHDAY"]
	}
	w.open("t:Recurrence")
	switch parts["FREQ"] {
	case "DAILY":
		w.open("t:DailyRecurrence")
		w.leaf("t:Interval", interval)
		w.close("t:DailyRecurrence")
	case "WEEKLY":
		if len(days) == 0 {
			days = []string{ewsDays[start.Weekday()]}
		}
		w.open("t:WeeklyRecurrence")
		w.leaf("t:Interval", interval)
		w.leaf("t:DaysOfWeek", strings.Join(days, " "))
		if wk := parts["WKST"]; wk != "" {
			w.leaf("t:FirstDayOfWeek", dayName(wk))
		}
		w.close("t:WeeklyRecurrence")
	case "MONTHLY":
		if len(days) > 0 && setpos != "" {
			w.open("t:RelativeMonthlyRecurrence")
			w.leaf("t:Interval", interval)
			w.leaf("t:DaysOfWeek", strings.Join(days, " "))
			w.leaf("t:DayOfWeekIndex", ewsWeekIndex[strings.TrimPrefix(setpos, "+")])
			w.close("t:RelativeMonthlyRecurrence")
		} else {
			w.open("t:AbsoluteMonthlyRecurrence")
			w.leaf("t:Interval", interval)
			w.leaf("t:DayOfMonth", mday)
			w.close("t:AbsoluteMonthlyRecurrence")
		}
	default: // YEARLY
		if len(days) > 0 && setpos != "" {
			w.open("t:RelativeYearlyRecurrence")
			w.leaf("t:DaysOfWeek", strings.Join(days, " "))
			w.leaf("t:DayOfWeekIndex", ewsWeekIndex[strings.TrimPrefix(setpos, "+")])
			w.leaf("t:Month", months[month-1])
			w.close("t:RelativeYearlyRecurrence")
		} else {
			w.open("t:AbsoluteYearlyRecurrence")
			w.leaf("t:DayOfMonth", mday)
			w.leaf("t:Month", months[month-1])
			w.close("t:AbsoluteYearlyRecurrence")
		}
	}
	startDate := start.UTC().Format("2006-01-02") + "Z"
	switch {
	case parts["COUNT"] != "":
		w.open("t:NumberedRecurrence")
		w.leaf("t:StartDate", startDate)
		w.leaf("t:NumberOfOccurrences", parts["COUNT"])
		w.close("t:NumberedRecurrence")
	case parts["UNTIL"] != "":
		u := parts["UNTIL"]
		until := u
		if len(u) >= 8 {
			until = u[:4] + "-" + u[4:6] + "-" + u[6:8] + "Z"
		}
		w.open("t:EndDateRecurrence")
		w.leaf("t:StartDate", startDate)
		w.leaf("t:EndDate", until)
		w.close("t:EndDateRecurrence")
	default:
		w.open("t:NoEndRecurrence")
		w.leaf("t:StartDate", startDate)
		w.close("t:NoEndRecurrence")
	}
	w.close("t:Recurrence")
}

// rruleFromEWS converts a t:Recurrence element into an RRULE value.
func rruleFromEWS(rec *node) (string, error) {
	var parts []string
	byday := func(n *node) string {
		var out []string
		for _, d := range strings.Fields(n.kid("DaysOfWeek").text()) {
			for i, e := range ewsDays {
				if e == d {
					out = append(out, icalDays[i])
				}
			}
		}
		return strings.Join(out, ",")
	}
	idx := func(n *node) string {
		for k, v := range ewsWeekIndex {
			if v == n.kid("DayOfWeekIndex").text() {
				return k
			}
		}
		return "1"
	}
	month := func(n *node) string {
		for i, m := range months {
			if m == n.kid("Month").text() {
				return strconv.Itoa(i + 1)
			}
		}
		return "1"
	}
	var found bool
	for _, p := range rec.Kids {
		iv := p.kid("Interval").text()
		withInterval := func(s ...string) {
			parts = append(parts, s...)
			if iv != "" && iv != "1" {
				parts = append(parts, "INTERVAL="+iv)
			}
		}
		switch p.Local {
		case "DailyRecurrence":
			withInterval("FREQ=DAILY")
		case "WeeklyRecurrence":
			withInterval("FREQ=WEEKLY", "BYDAY="+byday(p))
		case "AbsoluteMonthlyRecurrence":
			withInterval("FREQ=MONTHLY", "BYMONTHDAY="+p.kid("DayOfMonth").text())
		case "RelativeMonthlyRecurrence":
			withInterval("FREQ=MONTHLY", "BYDAY="+byday(p), "BYSETPOS="+idx(p))
		case "AbsoluteYearlyRecurrence":
			parts = append(parts, "FREQ=YEARLY", "BYMONTH="+month(p), "BYMONTHDAY="+p.kid("DayOfMonth").text())
		case "RelativeYearlyRecurrence":
			parts = append(parts, "FREQ=YEARLY", "BYMONTH="+month(p), "BYDAY="+byday(p), "BYSETPOS="+idx(p))
		case "NumberedRecurrence":
			parts = append(parts, "COUNT="+p.kid("NumberOfOccurrences").text())
		case "EndDateRecurrence":
			d := strings.TrimSuffix(p.kid("EndDate").text(), "Z")
			d = strings.ReplaceAll(d, "-", "")
			if len(d) >= 8 {
				parts = append(parts, "UNTIL="+d[:8]+"T235959Z")
			}
		default:
			continue
		}
		found = true
	}
	if !found || len(parts) == 0 {
		return "", fmt.Errorf("no recurrence pattern")
	}
	return strings.Join(parts, ";"), nil
}
